import { expect, it } from 'vitest';
import { readOutbox } from '../src/modules/email/mail-transport.ts';
import { actorFor, buildUser } from '../test/support/factories.ts';
import { describeJourneys } from './support/journeys.ts';
import {
  NewThreadPage,
  NotificationSettingsPage,
  NotificationsPage,
  ThreadPage,
  WorkspacePage,
} from './support/pages/discussion-pages.ts';
import { signInThrough } from './support/pages/green-plan-pages.ts';
import { SiteHeader } from './support/pages/site-header.ts';
import { textOf } from './support/pages/text.ts';

const workspaceSlug = 'llr';
const workspaceName = 'Leicester, Leicestershire and Rutland Green Plan';

describeJourneys('discussion journeys', (suite) => {
  it('a manager hides a post in their own words, after a page that asks why, with the reason as the summary links to', async () => {
    const { server } = suite;
    const author = await buildUser(server.services, {
      displayName: 'Ola Adeyemi',
      workspaces: [{ slug: workspaceSlug }],
    });
    const manager = await buildUser(server.services, {
      displayName: 'Mina Patel',
      workspaces: [{ slug: workspaceSlug, role: 'manager' }],
    });
    const { threadId } = await server.services.discussions.createThread(
      await actorFor(server.services, author.id),
      workspaceSlug,
      {
        title: 'Selling surplus inhalers',
        kind: 'discussion',
        body: 'Anyone want to buy our surplus stock?',
        area: '',
      },
      { ip: '127.0.0.1', userAgent: 'e2e' },
    );
    const threadPath = `/workspaces/${workspaceSlug}/threads/${threadId}`;
    const visitor = await suite.openVisitor();
    await signInThrough(visitor, manager, threadPath);
    await visitor.checkPage();
    const { page } = visitor;
    await visitor.navigate(
      () =>
        page
          .getByRole('link', { name: `Hide the post by ${author.displayName}`, exact: true })
          .click(),
      (url) => /^\/posts\/[0-9a-f-]+\/hide$/.test(url.pathname),
    );
    await visitor.checkPage();
    // Without a reason, the summary links to the reason field.
    await visitor.navigate(
      () => page.getByRole('button', { name: 'Hide the post' }).click(),
      (url) => url.pathname.endsWith('/visibility'),
    );
    expect(visitor.status()).toBe(400);
    await visitor.checkPage();
    expect(await page.locator('.nhsuk-error-summary a').getAttribute('href')).toBe('#reason');
    await page.getByLabel('Why are you hiding it?').fill('Medicines cannot be sold here.');
    await visitor.navigate(
      () => page.getByRole('button', { name: 'Hide the post' }).click(),
      (url) => url.pathname === threadPath,
    );
    await visitor.checkPage();
    expect(await page.locator('main').textContent()).toContain('Medicines cannot be sold here.');
  });

  it('a member asks a question mentioning a colleague, who follows the notification and replies without JavaScript; the asker accepts the answer and both are told', async () => {
    const { server } = suite;
    const asker = await buildUser(server.services, {
      displayName: 'Nadia Hussain',
      workspaces: [{ slug: workspaceSlug }],
    });
    const colleague = await buildUser(server.services, {
      displayName: 'Gareth Lewis',
      workspaces: [{ slug: workspaceSlug }],
    });
    const title = 'How did you switch patients to dry powder inhalers?';
    const question =
      'Our practice wants to move suitable patients from metered-dose to dry powder inhalers. ' +
      `@${colleague.handle}, you led this at your practice: how did you plan the reviews?`;
    const answer =
      'We searched for patients with stable asthma on metered-dose inhalers and booked reviews ' +
      'with our clinical pharmacist. About half **switched within six months**.';
    const answerAsRead =
      'We searched for patients with stable asthma on metered-dose inhalers and booked reviews ' +
      'with our clinical pharmacist. About half switched within six months.';
    const mentionSubject = `${asker.displayName} mentioned you: ${title}`;
    const replySubject = `${colleague.displayName} replied: ${title}`;
    const acceptedSubject = `Your answer was accepted: ${title}`;

    // 1. The asker signs in to the restricted LLR workspace, where they are a member.
    const askerVisitor = await suite.openVisitor();
    const askerHeader = new SiteHeader(askerVisitor);
    await signInThrough(askerVisitor, asker, `/workspaces/${workspaceSlug}`);
    expect(askerVisitor.status()).toBe(200);
    await askerVisitor.checkPage();
    const workspace = new WorkspacePage(askerVisitor, workspaceSlug);
    expect(await workspace.heading()).toBe(workspaceName);
    expect(await workspace.privacyAndMembers()).toMatch(
      /^Restricted: members only; anyone signed in can ask to join\. \d+ members\.$/,
    );
    expect(await workspace.membership()).toContain('You are a member of this workspace.');
    expect((await workspace.threads()).map((thread) => thread.title)).not.toContain(title);
    expect(await askerHeader.accountLinks()).toEqual([
      asker.displayName,
      'Notifications',
      'Sign out',
    ]);

    // 2. …asks a question, mentioning their colleague by @handle, and previews it first.
    await workspace.startDiscussion();
    expect(askerVisitor.status()).toBe(200);
    await askerVisitor.checkPage();
    const newThread = new NewThreadPage(askerVisitor, workspaceSlug);
    expect(await newThread.heading()).toBe('Start a discussion or ask a question');
    await newThread.fill({ title, kind: 'A question', area: 'Medicines', message: question });
    await newThread.preview();
    expect(askerVisitor.status()).toBe(200);
    await askerVisitor.checkPage();
    expect(await newThread.values()).toEqual({ title, kind: 'question', message: question });
    const mentionLink = newThread.previewRegion.getByRole('link', {
      name: `@${colleague.handle}`,
      exact: true,
    });
    expect(await mentionLink.getAttribute('href')).toBe(`/people/${colleague.handle}`);

    const threadPath = await newThread.post();
    expect(askerVisitor.status()).toBe(200);
    await askerVisitor.checkPage();
    const askerThread = new ThreadPage(askerVisitor);
    expect(await askerThread.notice()).toBe('Your post has been published.');
    expect(await askerThread.heading()).toBe(title);
    expect(await askerVisitor.page.title()).toBe(`${title} – Greenspace – NHS`);
    expect(await askerThread.caption()).toBe(`Question in ${workspaceName}`);
    expect(await askerThread.summaryTags()).toBe('Medicines');
    const [questionPost, ...noReplies] = await askerThread.posts();
    expect(noReplies).toEqual([]);
    expect(questionPost).toMatchObject({ author: asker.displayName, tags: [], text: question });
    expect(await askerThread.followStatus()).toBe('You are told about new replies.');

    // The mention was emailed at once, with a link to the question.
    const mentionEmail = await server.waitForEmail(colleague.email, mentionSubject);
    expect(mentionEmail.text).toContain(server.url(`${threadPath}#post-${questionPost!.id}`));

    // 3. The colleague, in a browser without JavaScript, signs in and sees one unread notification.
    const colleagueVisitor = await suite.openVisitor({ javaScriptEnabled: false });
    const colleagueHeader = new SiteHeader(colleagueVisitor);
    await signInThrough(colleagueVisitor, colleague, '/');
    expect(colleagueVisitor.status()).toBe(200);
    await colleagueVisitor.checkPage();
    expect(await colleagueHeader.accountLinks()).toEqual([
      colleague.displayName,
      'Notifications 1 unread',
      'Sign out',
    ]);
    await colleagueHeader.followAccountLink('Notifications 1 unread', '/notifications');
    expect(colleagueVisitor.status()).toBe(200);
    await colleagueVisitor.checkPage();
    const colleagueNotifications = new NotificationsPage(colleagueVisitor);
    expect(await colleagueNotifications.heading()).toBe('Notifications');
    expect(await colleagueNotifications.unreadSummary()).toBe('You have 1 unread notification.');
    const [mention, ...nothingElse] = await colleagueNotifications.items();
    expect(nothingElse).toEqual([]);
    // Unread, it is a button: opening it marks it read, which takes a form and its CSRF token.
    expect(mention).toMatchObject({
      title: mentionSubject,
      href: null,
      opens: expect.stringMatching(/^\/notifications\/[0-9a-f-]{36}\/open$/),
      unread: true,
    });
    expect(mention!.meta).toMatch(/^Mentions · /);

    // 4. …opens it, landing on the question, previews a reply and posts it, all without JavaScript.
    await colleagueNotifications.follow(mentionSubject, (url) => url.pathname === threadPath);
    expect(colleagueVisitor.status()).toBe(200);
    await colleagueVisitor.checkPage();
    expect(colleagueVisitor.url.hash).toBe(`#post-${questionPost!.id}`);
    const colleagueThread = new ThreadPage(colleagueVisitor);
    expect(await colleagueThread.heading()).toBe(title);
    expect((await colleagueThread.posts()).map((post) => post.text)).toEqual([question]);
    expect(await colleagueThread.followStatus()).toBe('Follow to be told about new replies.');
    // Only the asker can accept an answer.
    expect(
      await colleagueVisitor.page.getByRole('button', { name: /^Accept this answer/ }).count(),
    ).toBe(0);

    await colleagueThread.previewReply(threadPath, answer);
    expect(colleagueVisitor.status()).toBe(200);
    await colleagueVisitor.checkPage();
    expect(await textOf(colleagueThread.previewRegion.locator('strong'))).toBe(
      'switched within six months',
    );
    expect(await colleagueThread.replyField.inputValue()).toBe(answer);
    expect(await colleagueThread.posts()).toHaveLength(1);

    const replyId = await colleagueThread.postReply(threadPath);
    expect(colleagueVisitor.status()).toBe(200);
    await colleagueVisitor.checkPage();
    expect(await colleagueThread.notice()).toBe('Your post has been published.');
    const afterReply = await colleagueThread.posts();
    expect(afterReply.map(({ author, tags, text }) => ({ author, tags, text }))).toEqual([
      { author: asker.displayName, tags: [], text: question },
      { author: colleague.displayName, tags: [], text: answerAsRead },
    ]);
    expect(afterReply[1]!.id).toBe(replyId);
    expect(await colleagueThread.followStatus()).toBe('You are told about new replies.');
    expect(await colleagueThread.replyField.inputValue()).toBe('');

    // 5. The asker is told of the reply, follows the notification and accepts the answer.
    await server.waitForEmail(asker.email, replySubject);
    expect(await askerVisitor.goto('/')).toBe(200);
    await askerVisitor.checkPage();
    expect(await askerHeader.accountLinks()).toEqual([
      asker.displayName,
      'Notifications 1 unread',
      'Sign out',
    ]);
    await askerHeader.followAccountLink('Notifications 1 unread', '/notifications');
    expect(askerVisitor.status()).toBe(200);
    await askerVisitor.checkPage();
    const askerNotifications = new NotificationsPage(askerVisitor);
    expect(await askerNotifications.unreadSummary()).toBe('You have 1 unread notification.');
    const [reply, ...noMore] = await askerNotifications.items();
    expect(noMore).toEqual([]);
    expect(reply).toMatchObject({ title: replySubject, href: null, unread: true });
    expect(reply!.meta).toMatch(/^Replies · /);

    await askerNotifications.follow(replySubject, (url) => url.pathname === threadPath);
    expect(askerVisitor.status()).toBe(200);
    await askerVisitor.checkPage();
    expect(askerVisitor.url.hash).toBe(`#post-${replyId}`);
    // The question itself cannot be its own answer: the one offer is under the reply.
    const acceptButtons = askerVisitor.page.getByRole('button', { name: /^Accept this answer/ });
    expect(await acceptButtons.count()).toBe(1);
    expect(
      await askerThread
        .post(answerAsRead)
        .getByRole('button', {
          name: `Accept this answer by ${colleague.displayName}`,
          exact: true,
        })
        .count(),
    ).toBe(1);

    await askerThread.acceptAnswerBy(threadPath, colleague.displayName);
    expect(askerVisitor.status()).toBe(200);
    await askerVisitor.checkPage();
    expect(askerVisitor.url.hash).toBe(`#post-${replyId}`);
    expect((await askerThread.posts()).map(({ author, tags }) => ({ author, tags }))).toEqual([
      { author: asker.displayName, tags: [] },
      { author: colleague.displayName, tags: ['Accepted answer'] },
    ]);
    expect(await askerThread.summaryTags()).toBe('Answered Go to the accepted answer Medicines');
    expect((await askerThread.posts())[1]!.meta).toMatch(
      new RegExp(`^${colleague.displayName} wrote on .+ Accepted answer$`),
    );
    expect(
      await askerVisitor.page
        .getByRole('link', { name: 'Answered Go to the accepted answer', exact: true })
        .getAttribute('href'),
    ).toBe(`#post-${replyId}`);
    expect(
      await askerVisitor.page
        .getByRole('button', {
          name: `Remove accepted answer by ${colleague.displayName}`,
          exact: true,
        })
        .count(),
    ).toBe(1);

    // 6. The colleague sees both of their notifications, the newest first: the mention they opened
    // is read, the accepted answer is new. They mark it read without opening it, without JavaScript,
    // and it becomes a plain link to the answer.
    await server.waitForEmail(colleague.email, acceptedSubject);
    expect(await colleagueNotifications.open()).toBe(200);
    await colleagueVisitor.checkPage();
    expect(await colleagueHeader.accountLinks()).toContain('Notifications 1 unread');
    expect(await colleagueNotifications.unreadSummary()).toBe('You have 1 unread notification.');
    const told = await colleagueNotifications.items();
    expect(told.map(({ title: text, href, unread }) => ({ text, href, unread }))).toEqual([
      { text: acceptedSubject, href: null, unread: true },
      { text: mentionSubject, href: `${threadPath}#post-${questionPost!.id}`, unread: false },
    ]);
    expect(told[0]!.meta).toMatch(/^Replies · /);
    await colleagueNotifications.markAllAsRead();
    expect(colleagueVisitor.status()).toBe(200);
    await colleagueVisitor.checkPage();
    expect(await colleagueNotifications.notice()).toBe('Marked as read.');
    expect(await colleagueNotifications.unreadSummary()).toBe('You have no unread notifications.');
    expect(await colleagueNotifications.items()).toEqual([
      expect.objectContaining({
        title: acceptedSubject,
        href: `${threadPath}#post-${replyId}`,
        opens: null,
        unread: false,
      }),
      expect.objectContaining({ title: mentionSubject, unread: false }),
    ]);
    expect(await colleagueHeader.accountLinks()).toEqual([
      colleague.displayName,
      'Notifications',
      'Sign out',
    ]);

    await colleagueNotifications.follow(acceptedSubject, (url) => url.pathname === threadPath);
    expect(colleagueVisitor.status()).toBe(200);
    await colleagueVisitor.checkPage();
    expect((await colleagueThread.posts()).map(({ tags }) => tags)).toEqual([
      [],
      ['Accepted answer'],
    ]);
    expect(await colleagueThread.summaryTags()).toBe(
      'Answered Go to the accepted answer Medicines',
    );
    expect(
      await colleagueVisitor.page
        .getByRole('button', { name: /accepted answer|Accept this answer/ })
        .count(),
    ).toBe(0);

    // The workspace lists the question as answered.
    const colleagueWorkspace = new WorkspacePage(colleagueVisitor, workspaceSlug);
    expect(await colleagueWorkspace.open()).toBe(200);
    await colleagueVisitor.checkPage();
    const listed = (await colleagueWorkspace.threads()).find((thread) => thread.title === title);
    expect(listed).toEqual({
      title,
      tags: ['Question', 'Answered'],
      href: threadPath,
      summary: `Discussion ${title} Question Answered Started by ${asker.displayName}`,
    });

    // 7. The asker opened their reply notification in step 5, which marked it read.
    expect(await askerNotifications.open()).toBe(200);
    await askerVisitor.checkPage();
    expect(await askerNotifications.unreadSummary()).toBe('You have no unread notifications.');
    expect(await askerNotifications.items()).toEqual([
      expect.objectContaining({
        title: replySubject,
        href: `${threadPath}#post-${replyId}`,
        unread: false,
      }),
    ]);

    // …and chooses a daily digest of replies instead of an email each time.
    await askerNotifications.openSettings();
    expect(askerVisitor.status()).toBe(200);
    await askerVisitor.checkPage();
    const settings = new NotificationSettingsPage(askerVisitor);
    expect(await settings.heading()).toBe('Notification settings');
    expect(await settings.chosen('Mentions')).toBe('Email me straight away');
    expect(await settings.chosen('Replies')).toBe('Email me straight away');
    expect(await settings.chosen('What you follow')).toBe('Email me a daily digest');
    await settings.choose('Replies', 'Email me a daily digest');
    await settings.save();
    expect(askerVisitor.status()).toBe(200);
    await askerVisitor.checkPage();
    expect(await askerNotifications.notice()).toBe('Your notification settings have been saved.');
    await askerNotifications.openSettings();
    await askerVisitor.checkPage();
    expect(await settings.chosen('Replies')).toBe('Email me a daily digest');
    expect(await settings.chosen('Mentions')).toBe('Email me straight away');

    // Leaving is confirmed first, on a page that says how to come back; the asker stays.
    expect(await askerVisitor.goto(`/workspaces/${workspaceSlug}`)).toBe(200);
    await askerVisitor.checkPage();
    await askerVisitor.navigate(
      () => askerVisitor.page.getByRole('link', { name: 'Leave this workspace' }).click(),
      `/workspaces/${workspaceSlug}/leave`,
    );
    await askerVisitor.checkPage();
    expect(
      await askerVisitor.page.getByText('To come back, you will need to ask to join again').count(),
    ).toBe(1);
    await askerVisitor.navigate(
      () =>
        askerVisitor.page
          .getByRole('link', { name: 'Cancel and go back to the workspace' })
          .click(),
      `/workspaces/${workspaceSlug}`,
    );
    await askerVisitor.checkPage();

    // Each person was emailed once per event: no second email for following the thread as well.
    const outbox = await readOutbox(server.outboxDir);
    const subjectsTo = (email: string) =>
      outbox
        .filter((message) => message.to === email && message.subject.endsWith(title))
        .map((message) => message.subject)
        .sort();
    expect(subjectsTo(colleague.email)).toEqual([mentionSubject, acceptedSubject].sort());
    expect(subjectsTo(asker.email)).toEqual([replySubject]);
  }, 180_000);
});
