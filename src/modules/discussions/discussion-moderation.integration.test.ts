import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationFailed } from '../../lib/validation.ts';
import { ForbiddenError } from '../access/policy.ts';
import { createDiscussionRepository } from './discussion.repository.ts';
import { createDiscussionService } from './discussion.service.ts';
import {
  actorFor,
  buildUser,
  createPrivateWorkspace,
  currentTotp,
  type TestUser,
} from '../../../test/support/factories.ts';
import { browsersFor, type HttpAgent } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';

const context = { ip: '127.0.0.1', userAgent: 'moderation tests' };

/**
 * Moderation decisions, the limits on what one post or one manager can set off, and the pages a
 * refusal comes back to: every link of an error summary must have somewhere to go.
 */
describe.each(testDialects)('moderation and refusals on %s', (dialect) => {
  let testApp: TestApp;
  const as = browsersFor<TestUser>(
    () => testApp.app,
    (user) => currentTotp(user),
  );

  beforeAll(async () => {
    testApp = await createTestApp(dialect);
  });

  afterAll(async () => testApp.close());

  async function notificationsOf(user: TestUser) {
    return testApp.services.database.db
      .selectFrom('notifications')
      .select(['kind', 'title', 'body'])
      .where('user_id', '=', user.id)
      .orderBy('created_at')
      .execute();
  }

  async function emailsTo(user: TestUser) {
    return testApp.services.database.db
      .selectFrom('email_messages')
      .select(['subject', 'text_body'])
      .where('to_address', '=', user.email)
      .execute();
  }

  async function auditedOn(targetId: string) {
    const rows = await testApp.services.database.db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('target_id', '=', targetId)
      .execute();
    return rows.map((row) => row.action);
  }

  async function openReports(postId: string) {
    return testApp.services.database.db
      .selectFrom('post_reports')
      .select(['status', 'outcome'])
      .where('post_id', '=', postId)
      .execute();
  }

  /**
   * A discussion service over the app's own parts but the repository given: one whose reads are
   * taken before a change stands in for the second of two requests arriving at once.
   */
  function serviceReading(repository: ReturnType<typeof createDiscussionRepository>) {
    const { services } = testApp;
    return createDiscussionService({
      repository,
      workspaces: services.workspaces,
      content: services.content,
      notifications: services.notifications,
      actors: services.actors,
      audit: services.audit,
      email: services.email,
      rateLimits: services.rateLimits,
      formSubmissions: services.formSubmissions,
      findUserByHandle: async () => undefined,
      findUserByEmail: async () => undefined,
      findUserCreatedAt: async () => undefined,
      publicUrl: 'http://localhost',
    });
  }

  /** A private workspace with the given managers and members, made for one test. */
  async function workspaceWith(
    slug: string,
    people: { managers: TestUser[]; members?: TestUser[] },
  ) {
    const row = await createPrivateWorkspace(testApp.services, slug);
    await testApp.services.database.db.transaction().execute(async (trx) => {
      for (const user of people.managers)
        await testApp.services.workspaces.addMember(trx, row.id, user.id, 'manager');
      for (const user of people.members ?? [])
        await testApp.services.workspaces.addMember(trx, row.id, user.id, 'member');
    });
    return row;
  }

  async function startThread(user: TestUser, slug: string, body: string, title = 'A question') {
    const response = await (
      await as(user)
    ).post(`/workspaces/${slug}/threads`, {
      title,
      kind: 'question',
      area: '',
      body,
      action: 'post',
    });
    expect(response.statusCode, response.body.slice(0, 300)).toBe(303);
    const location = String(response.headers.location);
    return { location, threadId: /threads\/([0-9a-f-]{36})/.exec(location)![1]! };
  }

  async function postIdsOf(user: TestUser, path: string): Promise<string[]> {
    const page = await (await as(user)).get(path);
    return [...page.body.matchAll(/<li class="gs-post[^"]*" id="post-([0-9a-f-]{36})"/g)].map(
      (match) => match[1]!,
    );
  }

  /** Every link of the page's error summary, and whether an element has the id it points at. */
  function summaryTargets(html: string): { href: string; found: boolean }[] {
    const summary = /<div class="nhsuk-error-summary"[\s\S]*?<\/div>\s*<\/div>/.exec(html)?.[0];
    expect(summary, 'an error summary').toBeDefined();
    return [...summary!.matchAll(/href="#([^"]+)"/g)].map((match) => ({
      href: match[1]!,
      found: new RegExp(`<[a-z]+\\b[^>]*\\sid="${match[1]}"`).test(html),
    }));
  }

  function expectSummaryLinksResolve(html: string, expected: string) {
    const targets = summaryTargets(html);
    expect(targets.map((target) => target.href)).toEqual([expected]);
    expect(targets.every((target) => target.found)).toBe(true);
  }

  /**
   * The form on a page whose action is `action` (and, when given, whose button starts with
   * `button`), as a browser would send it: its hidden fields and its button's own name and value.
   * The CSRF token is left to the test's browser.
   */
  function formOnPage(
    html: string,
    action: string,
    button?: string,
  ): { action: string; fields: Record<string, string> } {
    for (const match of html.matchAll(/<form\b[^>]*\baction="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)) {
      const [, formAction, inner] = match as unknown as [string, string, string];
      if (formAction !== action) continue;
      if (button !== undefined && !new RegExp(`<button[^>]*>\\s*${button}`).test(inner)) continue;
      const fields: Record<string, string> = {};
      for (const input of inner.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
        if (input[1] !== '_csrf') fields[input[1]!] = input[2]!;
      const pressed = /<button[^>]*\bname="([^"]+)"[^>]*\bvalue="([^"]*)"/.exec(inner);
      if (pressed) fields[pressed[1]!] = pressed[2]!;
      return { action: formAction, fields };
    }
    throw new Error(`No form posting to ${action}${button ? ` with a "${button}" button` : ''}`);
  }

  /** Sends a form as a browser would, from the page it was read on. */
  async function send(
    browser: HttpAgent,
    form: { action: string; fields: Record<string, string> },
  ) {
    return browser.post(form.action, form.fields);
  }

  /** Posts name/value pairs as they are, so a field can be sent twice, as a tampered form might. */
  async function postPairs(browser: HttpAgent, url: string, pairs: [string, string][]) {
    const body = new URLSearchParams(pairs);
    body.set('_csrf', await browser.csrfToken());
    return testApp.app.inject({
      method: 'POST',
      url,
      headers: {
        cookie: [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: body.toString(),
    });
  }

  async function auditCount(targetId: string, action: string) {
    return (await auditedOn(targetId)).filter((entry) => entry === action).length;
  }

  /**
   * What people who never open a page do, through the service: this file signs in many people,
   * and sign-ins from one address are limited.
   */
  const quietly = {
    async startThread(user: TestUser, slug: string) {
      const { threadId } = await testApp.services.discussions.createThread(
        await actorFor(testApp.services, user.id),
        slug,
        { title: 'A question', kind: 'question', body: 'Opening post', area: '' },
        context,
      );
      return { threadId, threadPath: `/workspaces/${slug}/threads/${threadId}` };
    },
    async reply(user: TestUser, slug: string, threadId: string, body: string) {
      const { postId } = await testApp.services.discussions.reply(
        await actorFor(testApp.services, user.id),
        { threadSlug: slug, threadId },
        { body },
        context,
      );
      return postId;
    },
    async report(user: TestUser, postId: string, reason: string) {
      await testApp.services.discussions.report(
        await actorFor(testApp.services, user.id),
        postId,
        reason,
        context,
      );
    },
  };

  it('keeps a post hidden when "Keep" is pressed on a queue read before another moderator hid it', async () => {
    const hider = await buildUser(testApp.services, { displayName: 'Hope Hider' });
    const keeper = await buildUser(testApp.services, { displayName: 'Kai Keeper' });
    const author = await buildUser(testApp.services, { displayName: 'Ari Author' });
    const reporter = await buildUser(testApp.services, { displayName: 'Rae Reporter' });
    await workspaceWith('keep-stale', {
      managers: [hider, keeper],
      members: [author, reporter],
    });
    const { threadId } = await quietly.startThread(author, 'keep-stale');
    const hiddenId = await quietly.reply(author, 'keep-stale', threadId, 'Hidden meanwhile');
    const keptId = await quietly.reply(author, 'keep-stale', threadId, 'Kept twice');
    for (const postId of [hiddenId, keptId]) await quietly.report(reporter, postId, 'Please look');
    const queuePath = '/workspaces/keep-stale/moderation';
    const keeperBrowser = await as(keeper);
    const queue = (await keeperBrowser.get(queuePath)).body;
    // The Hide link goes to a page: it is a link, not a button.
    expect(queue).toMatch(new RegExp(`<a href="/posts/${hiddenId}/hide[^"]*"[^>]*>Hide`));
    expect(queue).not.toMatch(/<a [^>]*role="button"/);
    const keepHidden = formOnPage(queue, `/posts/${hiddenId}/reports/close`, 'Keep');
    const keepKept = formOnPage(queue, `/posts/${keptId}/reports/close`, 'Keep');
    expect(keepHidden.fields).toEqual({ from: queuePath });

    // Meanwhile another moderator hides the post; then the first page's "Keep" is pressed.
    const hidden = await (
      await as(hider)
    ).post(`/posts/${hiddenId}/visibility`, { hidden: '1', reason: 'Names a patient' });
    expect(hidden.statusCode).toBe(303);
    const kept = await send(keeperBrowser, keepHidden);
    expect(kept.statusCode).toBe(303);
    expect(kept.headers.location).toBe(`${queuePath}?done=no-open-reports-hidden`);
    expect((await keeperBrowser.get(String(kept.headers.location))).body).toContain(
      'The post stays hidden.',
    );
    const post = await testApp.services.database.db
      .selectFrom('posts')
      .select(['hidden_at', 'hidden_by', 'hidden_reason'])
      .where('id', '=', hiddenId)
      .executeTakeFirstOrThrow();
    expect(post.hidden_at).not.toBeNull();
    expect(post).toMatchObject({ hidden_by: hider.id, hidden_reason: 'Names a patient' });
    const told = (await notificationsOf(author)).filter((entry) => entry.kind === 'moderation');
    expect(told.map((entry) => entry.title)).toEqual(['A moderator hid your post']);
    expect(await auditedOn(hiddenId)).not.toContain('discussion.post_restored');
    expect(await auditCount(hiddenId, 'discussion.reports_dismissed')).toBe(0);
    expect(await openReports(hiddenId)).toEqual([{ status: 'resolved', outcome: 'hidden' }]);

    // "Keep" pressed twice: the reports close once, and the second press says nothing was left.
    const first = await send(keeperBrowser, keepKept);
    expect(first.headers.location).toBe(`${queuePath}?done=dismissed`);
    const second = await send(keeperBrowser, keepKept);
    expect(second.headers.location).toBe(`${queuePath}?done=no-open-reports`);
    expect((await keeperBrowser.get(String(second.headers.location))).body).toContain(
      'Nothing changed: the post had no open report left to close.',
    );
    expect(await openReports(keptId)).toEqual([{ status: 'resolved', outcome: 'kept' }]);
    expect(await auditCount(keptId, 'discussion.reports_dismissed')).toBe(1);
    expect(await notificationsOf(author)).toEqual(told);

    // Only moderators close reports.
    await expect(
      testApp.services.discussions.closeReportsOfPost(
        await actorFor(testApp.services, reporter.id),
        keptId,
        context,
      ),
    ).rejects.toBeInstanceOf(ForbiddenError);
  });

  it("does not tell a post's author who reported it or why, though they moderate it", async () => {
    const authorManager = await buildUser(testApp.services, { displayName: 'Ama Manager' });
    const otherManager = await buildUser(testApp.services, { displayName: 'Oli Manager' });
    const reporter = await buildUser(testApp.services, { displayName: 'Rhys Reportwriter' });
    await workspaceWith('own-report', {
      managers: [authorManager, otherManager],
      members: [reporter],
    });
    const { threadId } = await quietly.startThread(authorManager, 'own-report');
    const postId = await quietly.reply(authorManager, 'own-report', threadId, 'My reply');
    const reason = 'REASON-ONLY-FOR-OTHERS';
    await quietly.report(reporter, postId, reason);

    // The other manager is told, with the reporter's name and reason; the author is not.
    const toOther = (await notificationsOf(otherManager)).filter(
      (entry) => entry.kind === 'moderation',
    );
    expect(toOther).toEqual([
      {
        kind: 'moderation',
        title: 'A post was reported',
        body: `Rhys Reportwriter reported a post: ${reason}`,
      },
    ]);
    expect(
      (await notificationsOf(authorManager)).filter((entry) => entry.kind === 'moderation'),
    ).toEqual([]);
    expect(
      (await emailsTo(authorManager)).some(
        (email) => email.text_body.includes(reason) || email.text_body.includes('Reportwriter'),
      ),
    ).toBe(false);

    // In the queue, the author sees that their post was reported, but not by whom or why.
    const ownQueue = (await (await as(authorManager)).get('/workspaces/own-report/moderation'))
      .body;
    expect(ownQueue).toContain('This is your post, so who reported it and why are not shown');
    expect(ownQueue).not.toContain(reason);
    expect(ownQueue).not.toContain('Reportwriter');
    const otherQueue = (await (await as(otherManager)).get('/workspaces/own-report/moderation'))
      .body;
    expect(otherQueue).toContain(reason);
    expect(otherQueue).toContain('Rhys Reportwriter');

    // The author does not keep their own post: that is for the other manager; they may hide it.
    expect(ownQueue).toContain('another moderator decides whether to keep it');
    expect(ownQueue).not.toContain(`action="/posts/${postId}/reports/close"`);
    const ownKeep = await (await as(authorManager)).post(`/posts/${postId}/reports/close`, {});
    expect(ownKeep.statusCode).toBe(403);
    expect(await auditCount(postId, 'discussion.reports_dismissed')).toBe(0);
    const hiddenByAuthor = await (
      await as(authorManager)
    ).post(`/posts/${postId}/visibility`, { hidden: '1', reason: 'Posted by mistake' });
    expect(hiddenByAuthor.statusCode).toBe(303);
    // Nor bring it back once hidden.
    const restoredByAuthor = await (
      await as(authorManager)
    ).post(`/posts/${postId}/visibility`, { hidden: '0', reason: '' });
    expect(restoredByAuthor.statusCode).toBe(403);
  });

  it('tells the platform admins of a report on a post whose only moderator wrote it', async () => {
    const soleManager = await buildUser(testApp.services, { displayName: 'Sol Manager' });
    const reporter = await buildUser(testApp.services, { displayName: 'Rae Reporter' });
    const admin = await buildUser(testApp.services, { platformAdmin: true });
    await workspaceWith('sole-manager', { managers: [soleManager], members: [reporter] });
    const { threadId } = await quietly.startThread(soleManager, 'sole-manager');
    const postId = await quietly.reply(soleManager, 'sole-manager', threadId, 'Mine');
    await quietly.report(reporter, postId, 'Please look at this');
    expect((await notificationsOf(admin)).filter((entry) => entry.kind === 'moderation')).toEqual([
      {
        kind: 'moderation',
        title: 'A post was reported',
        body: 'Rae Reporter reported a post: Please look at this',
      },
    ]);
    expect(
      (await notificationsOf(soleManager)).filter((entry) => entry.kind === 'moderation'),
    ).toEqual([]);
    // The platform admin decides: keeping it closes the report.
    const kept = await testApp.services.discussions.closeReportsOfPost(
      await actorFor(testApp.services, admin.id),
      postId,
      context,
    );
    expect(kept.closedReports).toBe(1);
  });

  it('sets "Useful" and the accepted answer to what the form asked, so a double submit does not undo it', async () => {
    const asker = await buildUser(testApp.services, { displayName: 'Ike Asker' });
    const answerer = await buildUser(testApp.services, { displayName: 'Uma Answerer' });
    const second = await buildUser(testApp.services, { displayName: 'Sid Second' });
    await workspaceWith('double-submit', { managers: [asker], members: [answerer, second] });
    const { threadId, threadPath } = await quietly.startThread(asker, 'double-submit');
    const answerId = await quietly.reply(answerer, 'double-submit', threadId, 'I do');
    const secondId = await quietly.reply(second, 'double-submit', threadId, 'So do I');
    const browser = await as(asker);
    const reactions = async () =>
      testApp.services.database.db
        .selectFrom('post_reactions')
        .select('user_id')
        .where('post_id', '=', answerId)
        .execute();

    // "Useful", sent twice from one page: marked once, audited once.
    const useful = formOnPage((await browser.get(threadPath)).body, `/posts/${answerId}/useful`);
    expect(useful.fields).toEqual({ useful: '1' });
    for (let press = 0; press < 2; press++)
      expect((await send(browser, useful)).statusCode).toBe(303);
    expect(await reactions()).toEqual([{ user_id: asker.id }]);
    expect((await browser.get(threadPath)).body).toContain('Useful (1)');
    expect(await auditCount(answerId, 'discussion.post_marked_useful')).toBe(1);
    // Taking the mark back, twice: taken back once.
    const notUseful = formOnPage((await browser.get(threadPath)).body, `/posts/${answerId}/useful`);
    expect(notUseful.fields).toEqual({ useful: '0' });
    for (let press = 0; press < 2; press++)
      expect((await send(browser, notUseful)).statusCode).toBe(303);
    expect(await reactions()).toEqual([]);
    expect(await auditCount(answerId, 'discussion.post_unmarked_useful')).toBe(1);
    // Anything but 1 or 0, or the field sent twice, is refused and changes nothing.
    expect((await browser.post(`/posts/${answerId}/useful`, { useful: 'yes' })).statusCode).toBe(
      400,
    );
    const repeated = await postPairs(browser, `/posts/${answerId}/useful`, [
      ['useful', '1'],
      ['useful', '1'],
    ]);
    expect(repeated.statusCode).toBe(400);
    expect(repeated.body).toContain('The &quot;useful&quot; field must be sent once');
    expect(await reactions()).toEqual([]);

    // "Accept this answer", sent twice: accepted once, its author told once.
    const acceptHref = `${threadPath}/accepted-answer`;
    const acceptedPost = async () =>
      (
        await testApp.services.database.db
          .selectFrom('discussion_threads')
          .select('accepted_post_id')
          .where('id', '=', threadId)
          .executeTakeFirstOrThrow()
      ).accepted_post_id;
    const acceptButton = (name: string) =>
      `Accept this answer<span class="nhsuk-u-visually-hidden"> by ${name}`;
    const accept = formOnPage(
      (await browser.get(threadPath)).body,
      acceptHref,
      acceptButton('Uma Answerer'),
    );
    expect(accept.fields).toEqual({ postId: answerId, accept: '1' });
    for (let press = 0; press < 2; press++)
      expect((await send(browser, accept)).statusCode).toBe(303);
    expect(await acceptedPost()).toBe(answerId);
    const toldAccepted = (await notificationsOf(answerer)).filter((entry) =>
      entry.title.startsWith('Your answer was accepted'),
    );
    expect(toldAccepted).toHaveLength(1);
    expect(await auditCount(answerId, 'discussion.answer_accepted')).toBe(1);
    expect(await auditCount(answerId, 'discussion.answer_unaccepted')).toBe(0);

    // "Remove accepted answer", sent twice: removed once.
    const remove = formOnPage((await browser.get(threadPath)).body, acceptHref, 'Remove');
    expect(remove.fields).toEqual({ postId: answerId, accept: '0' });
    for (let press = 0; press < 2; press++)
      expect((await send(browser, remove)).statusCode).toBe(303);
    expect(await acceptedPost()).toBeNull();
    expect(await auditCount(answerId, 'discussion.answer_unaccepted')).toBe(1);

    // Removing an answer from a page read before another was accepted leaves the other one.
    await send(browser, accept);
    const acceptSecond = formOnPage(
      (await browser.get(threadPath)).body,
      acceptHref,
      acceptButton('Sid Second'),
    );
    await send(browser, acceptSecond);
    expect(await acceptedPost()).toBe(secondId);
    await send(browser, remove);
    expect(await acceptedPost()).toBe(secondId);
    expect(await auditCount(answerId, 'discussion.answer_unaccepted')).toBe(1);
  });

  it('hides, restores, pins and locks a discussion once however often it is asked', async () => {
    const manager = await buildUser(testApp.services, { displayName: 'Tam Threadkeeper' });
    const author = await buildUser(testApp.services, { displayName: 'Tia Threadwriter' });
    await workspaceWith('thread-twice', { managers: [manager], members: [author] });
    const { threadId, threadPath } = await quietly.startThread(author, 'thread-twice');
    const browser = await as(manager);
    const page = (await browser.get(threadPath)).body;
    const moderation = `${threadPath}/moderation`;
    const told = async () =>
      (await notificationsOf(author))
        .filter((entry) => entry.kind === 'moderation')
        .map((entry) => entry.title);

    // Each form read once, from the same page, and sent twice.
    for (const [button, done] of [
      ['Hide from members', 'moderated'],
      ['Pin to the top', 'thread-changed'],
      ['Lock: no more replies', 'thread-changed'],
    ] as const) {
      const form = formOnPage(page, moderation, button);
      expect((await send(browser, form)).headers.location).toBe(`${threadPath}?done=${done}`);
      expect((await send(browser, form)).headers.location).toBe(
        `${threadPath}?done=thread-unchanged`,
      );
    }
    expect((await browser.get(`${threadPath}?done=thread-unchanged`)).body).toContain(
      'Nothing changed: the discussion was already as you asked.',
    );
    expect(await told()).toEqual(['Your discussion was hidden: A question']);
    for (const action of ['thread_hidden', 'thread_pinned', 'thread_locked'])
      expect(await auditCount(threadId, `discussion.${action}`), action).toBe(1);

    const restore = formOnPage((await browser.get(threadPath)).body, moderation, 'Restore');
    expect(restore.fields).toEqual({ flag: 'hidden', value: '0' });
    await send(browser, restore);
    await send(browser, restore);
    expect(await told()).toEqual([
      'Your discussion was hidden: A question',
      'Your discussion was restored: A question',
    ]);
    expect(await auditCount(threadId, 'discussion.thread_hidden')).toBe(2);
    // A value that is neither 1 nor 0 is refused, not read as "off".
    const unclear = await browser.post(moderation, { flag: 'pinned', value: 'maybe' });
    expect(unclear.statusCode).toBe(400);
    expectSummaryLinksResolve(unclear.body, 'flag');
    const thread = await testApp.services.discussions.threadPage(
      await actorFor(testApp.services, manager.id),
      'thread-twice',
      threadId,
    );
    expect(thread.thread).toMatchObject({ hidden: 0, pinned: 1 });
    expect(thread.conversation.locked).toBe(1);
  });

  it('keeps a reported post without telling its author, and hides one with the moderator’s own reason', async () => {
    const manager = await buildUser(testApp.services, { displayName: 'Meg Moderator' });
    const author = await buildUser(testApp.services, { displayName: 'Art Author' });
    const reporter = await buildUser(testApp.services, { displayName: 'Ria Reporter' });
    await workspaceWith('moderated', { managers: [manager], members: [author, reporter] });
    const { location } = await startThread(author, 'moderated', 'First post');
    const threadPath = location.split('?')[0]!;
    for (const text of ['A reply to keep', 'A reply to hide']) {
      const replied = await (
        await as(author)
      ).post(`${threadPath}/replies`, { body: text, action: 'post' });
      expect(replied.statusCode).toBe(303);
    }
    const [, keptId, hiddenId] = await postIdsOf(author, threadPath);
    const reporterText = 'REPORTER-SECRET-WORDS by Ria';
    for (const postId of [keptId!, hiddenId!]) {
      const reported = await (
        await as(reporter)
      ).post(`/posts/${postId}/report`, { reason: reporterText });
      expect(reported.statusCode).toBe(303);
    }
    const managerBrowser = await as(manager);
    const queue = await managerBrowser.get('/workspaces/moderated/moderation');
    // The report's text is shown to the moderator, but not carried by any form.
    expect(queue.body).toContain(reporterText);
    expect(queue.body).not.toMatch(/<input[^>]*value="REPORTER-SECRET-WORDS/);
    expect(queue.body).toContain(
      `href="/posts/${hiddenId}/hide?from=${encodeURIComponent('/workspaces/moderated/moderation')}"`,
    );

    // Keep: the reports close, nobody is told, and it is audited as a dismissal.
    const before = await notificationsOf(author);
    const kept = await managerBrowser.post(`/posts/${keptId}/reports/close`);
    expect(kept.statusCode).toBe(303);
    expect(String(kept.headers.location)).toContain('done=dismissed');
    expect(await notificationsOf(author)).toEqual(before);
    expect(await openReports(keptId!)).toEqual([{ status: 'resolved', outcome: 'kept' }]);
    const keptAudit = await auditedOn(keptId!);
    expect(keptAudit).toContain('discussion.reports_dismissed');
    expect(keptAudit).not.toContain('discussion.post_restored');

    // Hide: the moderator must say why, in their own words, in at most 1,000 characters.
    const form = await managerBrowser.get(`/posts/${hiddenId}/hide`);
    expect(form.statusCode).toBe(200);
    expect(form.body).toMatch(/<label[^>]*for="reason"[^>]*>\s*Why are you hiding it\?/);
    expect(form.body).not.toContain(reporterText);
    expect((await (await as(reporter)).get(`/posts/${hiddenId}/hide`)).statusCode).toBe(403);
    const empty = await managerBrowser.post(`/posts/${hiddenId}/visibility`, {
      hidden: '1',
      reason: ' ',
    });
    expect(empty.statusCode).toBe(400);
    expect(empty.body).toContain('Say why you are hiding this post');
    expectSummaryLinksResolve(empty.body, 'reason');
    const tooLong = await managerBrowser.post(`/posts/${hiddenId}/visibility`, {
      hidden: '1',
      reason: 'x'.repeat(1001),
    });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.body).toContain('The reason must be 1,000 characters or fewer');
    expectSummaryLinksResolve(tooLong.body, 'reason');
    const hidden = await managerBrowser.post(`/posts/${hiddenId}/visibility`, {
      hidden: '1',
      reason: 'It names a patient',
    });
    expect(hidden.statusCode).toBe(303);
    const told = (await notificationsOf(author)).filter((entry) => entry.kind === 'moderation');
    expect(told).toEqual([
      {
        kind: 'moderation',
        title: 'A moderator hid your post',
        body: 'Your post was hidden. Reason: It names a patient',
      },
    ]);
    const emails = await emailsTo(author);
    expect(emails.some((email) => email.text_body.includes('It names a patient'))).toBe(true);
    expect(emails.some((email) => email.text_body.includes('REPORTER-SECRET'))).toBe(false);
    expect(await openReports(hiddenId!)).toEqual([{ status: 'resolved', outcome: 'hidden' }]);
    expect(await auditedOn(hiddenId!)).toContain('discussion.post_hidden');
  });

  it('notifies only the first ten people a post mentions, and says so to its author', async () => {
    const poster = await buildUser(testApp.services, { displayName: 'Pia Poster' });
    const mentioned: TestUser[] = [];
    for (let index = 0; index < 12; index++)
      mentioned.push(await buildUser(testApp.services, { displayName: `Mentioned ${index}` }));
    await workspaceWith('mentions', { managers: [poster], members: mentioned });
    const body = `Hello ${mentioned.map((user) => `@${user.handle}`).join(' ')}`;

    const preview = await (
      await as(poster)
    ).post('/workspaces/mentions/threads', {
      title: 'Many mentions',
      kind: 'discussion',
      area: '',
      body,
      action: 'preview',
    });
    expect(preview.body).toContain('Only the first 10 people you mention are notified.');
    expect(preview.body).toContain('2 more people mentioned in this post will not be told.');

    const { location } = await startThread(poster, 'mentions', body, 'Many mentions');
    expect(location).toContain('done=posted-mentions');
    expect((await (await as(poster)).get(location)).body).toContain(
      'Only the first 10 people you mentioned were notified.',
    );
    const told = [];
    for (const user of mentioned)
      told.push((await notificationsOf(user)).some((entry) => entry.kind === 'mention'));
    expect(told).toEqual([...Array(10).fill(true), false, false]);

    const few = await startThread(poster, 'mentions', `Just @${mentioned[0]!.handle}`, 'Few');
    expect(few.location).toContain('done=posted');
    expect(few.location).not.toContain('posted-mentions');
  });

  it('keeps a manager when the last two leave at the same moment', async () => {
    const first = await buildUser(testApp.services, { displayName: 'First Manager' });
    const second = await buildUser(testApp.services, { displayName: 'Second Manager' });
    const workspace = await workspaceWith('two-managers', { managers: [first, second] });
    const discussions = testApp.services.discussions;
    const results = await Promise.allSettled([
      discussions.leave(await actorFor(testApp.services, first.id), 'two-managers', context),
      discussions.leave(await actorFor(testApp.services, second.id), 'two-managers', context),
    ]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((result) => result.status === 'rejected');
    expect(refused?.reason).toBeInstanceOf(ValidationFailed);
    const managers = await testApp.services.database.db
      .selectFrom('workspace_members')
      .select('user_id')
      .where('workspace_id', '=', workspace.id)
      .where('role', '=', 'manager')
      .execute();
    expect(managers).toHaveLength(1);

    // The check before the transaction can be stale: what the other manager did meanwhile is
    // only seen inside it. A service whose list of members is read before the change stands in for
    // the second of two requests arriving at once.
    const third = await buildUser(testApp.services, { displayName: 'Third Manager' });
    const fourth = await buildUser(testApp.services, { displayName: 'Fourth Manager' });
    const other = await workspaceWith('two-more-managers', { managers: [third, fourth] });
    const { services } = testApp;
    const repository = createDiscussionRepository(services.database.db, services.database.dialect);
    const before = await repository.findWorkspaceMembers(other.id);
    const staleView = serviceReading({ ...repository, findWorkspaceMembers: async () => before });
    const thirdActor = await actorFor(services, third.id);
    const fourthActor = await actorFor(services, fourth.id);
    await discussions.setMemberRole(thirdActor, 'two-more-managers', fourth.id, 'member', context);
    // The fourth is no longer a manager, which the transaction sees too.
    await expect(
      staleView.setMemberRole(fourthActor, 'two-more-managers', third.id, 'member', context),
    ).rejects.toBeInstanceOf(ForbiddenError);
    await expect(staleView.leave(thirdActor, 'two-more-managers', context)).rejects.toBeInstanceOf(
      ValidationFailed,
    );
    const managersLeft = await services.database.db
      .selectFrom('workspace_members')
      .select('user_id')
      .where('workspace_id', '=', other.id)
      .where('role', '=', 'manager')
      .execute();
    expect(managersLeft.map((row) => row.user_id)).toEqual([third.id]);
  });

  it("tells a post's author once when two moderators hide it at the same moment", async () => {
    const first = await buildUser(testApp.services, { displayName: 'Hal Hider' });
    const second = await buildUser(testApp.services, { displayName: 'Hana Hider' });
    const author = await buildUser(testApp.services, { displayName: 'Abe Author' });
    await workspaceWith('hidden-twice', { managers: [first, second], members: [author] });
    const { location } = await startThread(author, 'hidden-twice', 'Opening post');
    const threadPath = location.split('?')[0]!;
    const replied = await (
      await as(author)
    ).post(`${threadPath}/replies`, { body: 'A reply', action: 'post' });
    expect(replied.statusCode).toBe(303);
    const [, replyId] = await postIdsOf(author, threadPath);

    // The second moderator's request read the post before the first one's hid it.
    const { services } = testApp;
    const repository = createDiscussionRepository(services.database.db, services.database.dialect);
    const asRead = (await repository.findPost(replyId!))!;
    const staleView = serviceReading({
      ...repository,
      findPost: async (id: string) => (id === replyId ? asRead : repository.findPost(id)),
    });
    const firstResult = await services.discussions.setPostHidden(
      await actorFor(services, first.id),
      replyId!,
      true,
      'First reason',
      context,
    );
    const secondResult = await staleView.setPostHidden(
      await actorFor(services, second.id),
      replyId!,
      true,
      'Second reason',
      context,
    );
    expect(firstResult.changed).toBe(true);
    expect(secondResult.changed).toBe(false);
    const told = (await notificationsOf(author)).filter((entry) => entry.kind === 'moderation');
    expect(told.map((entry) => entry.body)).toEqual(['Your post was hidden. Reason: First reason']);
    const post = await repository.findPost(replyId!);
    expect(post).toMatchObject({ hidden_by: first.id, hidden_reason: 'First reason' });
    const audited = await auditedOn(replyId!);
    expect(audited.filter((action) => action === 'discussion.post_hidden')).toHaveLength(1);
    // No report was left open to close: the second decision changed nothing, so records nothing.
    expect(audited).not.toContain('discussion.reports_dismissed');
  });

  it('goes back to the queue after a decision made from it, and only to a queue', async () => {
    const manager = await buildUser(testApp.services, { displayName: 'Quinn Queue' });
    const author = await buildUser(testApp.services, { displayName: 'Ada Author' });
    const reporter = await buildUser(testApp.services, { displayName: 'Rex Reporter' });
    await workspaceWith('queue-return', { managers: [manager], members: [author, reporter] });
    const { location } = await startThread(author, 'queue-return', 'Opening post');
    const threadPath = location.split('?')[0]!;
    for (const text of ['First reply', 'Second reply', 'Third reply']) {
      const replied = await (
        await as(author)
      ).post(`${threadPath}/replies`, { body: text, action: 'post' });
      expect(replied.statusCode).toBe(303);
    }
    const [, keepId, hideId, otherId] = await postIdsOf(author, threadPath);
    for (const postId of [keepId!, hideId!, otherId!]) {
      const reported = await (
        await as(reporter)
      ).post(`/posts/${postId}/report`, { reason: 'Please look' });
      expect(reported.statusCode).toBe(303);
    }
    const queuePath = '/workspaces/queue-return/moderation';
    const browser = await as(manager);
    const queue = await browser.get(queuePath);
    expect(queue.body).toContain(`<input type="hidden" name="from" value="${queuePath}">`);
    expect(queue.body).toContain(
      `href="/posts/${hideId}/hide?from=${encodeURIComponent(queuePath)}"`,
    );

    const kept = await browser.post(`/posts/${keepId}/reports/close`, { from: queuePath });
    expect(kept.statusCode).toBe(303);
    expect(kept.headers.location).toBe(`${queuePath}?done=dismissed`);
    const after = await browser.get(String(kept.headers.location));
    expect(after.body).toContain('The reports on the post are closed');
    expect(after.body).not.toContain(`/posts/${keepId}/hide`);

    // The hide page keeps where it came from, through a refusal too, and its back link leads there.
    const form = await browser.get(`/posts/${hideId}/hide?from=${encodeURIComponent(queuePath)}`);
    expect(form.body).toMatch(new RegExp(`class="nhsuk-back-link"[^>]*href="${queuePath}"`));
    const refused = await browser.post(`/posts/${hideId}/visibility`, {
      hidden: '1',
      reason: '',
      from: queuePath,
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain(`<input type="hidden" name="from" value="${queuePath}">`);
    const hidden = await browser.post(`/posts/${hideId}/visibility`, {
      hidden: '1',
      reason: 'Off topic',
      from: queuePath,
    });
    expect(hidden.headers.location).toBe(`${queuePath}?done=moderated`);

    // Anything but a queue's own path is ignored: the decision lands on the post, as without it.
    for (const from of ['//elsewhere.example/moderation', '/admin/users', 'javascript:alert(1)']) {
      const page = await browser.get(`/posts/${otherId}/hide?from=${encodeURIComponent(from)}`);
      expect(page.body).not.toContain(from.replace('&', '&amp;'));
    }
    const crafted = await browser.post(`/posts/${otherId}/reports/close`, {
      from: '//elsewhere.example/moderation',
    });
    expect(crafted.headers.location).toBe(`${threadPath}?done=dismissed#post-${otherId}`);
  });

  it('keeps what was typed when a reply or edit meets a lock, and every error summary link has a target', async () => {
    const manager = await buildUser(testApp.services, { displayName: 'Lou Locker' });
    const member = await buildUser(testApp.services, { displayName: 'Kit Keeper' });
    await workspaceWith('locking', { managers: [manager], members: [member] });
    const { threadId, location } = await startThread(member, 'locking', 'Opening words');
    const threadPath = location.split('?')[0]!;
    const [openingId] = await postIdsOf(member, threadPath);
    const managerBrowser = await as(manager);
    const locked = await managerBrowser.post(`/workspaces/locking/threads/${threadId}/moderation`, {
      flag: 'locked',
      value: '1',
    });
    expect(locked.statusCode).toBe(303);

    const reply = await (
      await as(member)
    ).post(`${threadPath}/replies`, { body: 'My carefully typed reply', action: 'post' });
    expect(reply.statusCode).toBe(400);
    expect(reply.body).toContain('This conversation is locked, so it cannot be replied to');
    expect(reply.body).toMatch(
      /<textarea[^>]*id="body"[^>]*readonly[^>]*>My carefully typed reply/,
    );
    expectSummaryLinksResolve(reply.body, 'body');

    const edit = await (
      await as(member)
    ).post(`/posts/${openingId}/edit`, { body: 'My carefully typed edit', action: 'save' });
    expect(edit.statusCode).toBe(400);
    expect(edit.body).toMatch(/<textarea[^>]*id="body"[^>]*readonly[^>]*>My carefully typed edit/);
    expectSummaryLinksResolve(edit.body, 'body');

    const badFlag = await managerBrowser.post(
      `/workspaces/locking/threads/${threadId}/moderation`,
      {
        flag: 'deleted',
        value: '1',
      },
    );
    expect(badFlag.statusCode).toBe(400);
    expectSummaryLinksResolve(badFlag.body, 'flag');

    // A request decided twice: the second decision is refused where the requests are listed.
    const asker = await buildUser(testApp.services, { displayName: 'Ada Asker' });
    expect((await (await as(asker)).post('/workspaces/llr/request')).statusCode).toBe(303);
    const llrManager = await buildUser(testApp.services, {
      displayName: 'Lee Manager',
      workspaces: [{ slug: 'llr', role: 'manager' }],
    });
    const members = await (await as(llrManager)).get('/workspaces/llr/members');
    const requestId = new RegExp(`/workspaces/llr/requests/([0-9a-f-]{36})`).exec(
      members.body,
    )![1]!;
    const decide = () =>
      as(llrManager).then((browser) =>
        browser.post(`/workspaces/llr/requests/${requestId}`, { decision: 'approve' }),
      );
    expect((await decide()).statusCode).toBe(303);
    const again = await decide();
    expect(again.statusCode).toBe(400);
    expect(again.body).toContain('This request has already been decided');
    expectSummaryLinksResolve(again.body, 'request');
  });

  it('does not tell someone who has left a private workspace what was hidden in it', async () => {
    const manager = await buildUser(testApp.services, { displayName: 'Hal Hider' });
    const leaver = await buildUser(testApp.services, { displayName: 'Lea Leaver' });
    await workspaceWith('left-behind', { managers: [manager], members: [leaver] });
    const { threadId, location } = await startThread(leaver, 'left-behind', 'Secret plans');
    const [openingId] = await postIdsOf(leaver, location.split('?')[0]!);
    expect((await (await as(leaver)).post('/workspaces/left-behind/leave')).statusCode).toBe(303);
    const managerBrowser = await as(manager);
    expect(
      (
        await managerBrowser.post(`/posts/${openingId}/visibility`, {
          hidden: '1',
          reason: 'Off topic',
        })
      ).statusCode,
    ).toBe(303);
    expect(
      (
        await managerBrowser.post(`/workspaces/left-behind/threads/${threadId}/moderation`, {
          flag: 'hidden',
          value: '1',
        })
      ).statusCode,
    ).toBe(303);
    expect((await notificationsOf(leaver)).filter((entry) => entry.kind === 'moderation')).toEqual(
      [],
    );
  });

  it('refuses settings and new threads with 403 where the workspace may be known, 404 where private', async () => {
    const member = await buildUser(testApp.services, {
      displayName: 'Mo Member',
      workspaces: [{ slug: 'midlands' }, { slug: 'llr' }],
    });
    const outsider = await buildUser(testApp.services, { displayName: 'Oz Outsider' });
    const privateMember = await buildUser(testApp.services, { displayName: 'Pip Private' });
    const owner = await buildUser(testApp.services, { displayName: 'Own Er' });
    await workspaceWith('statuses', { managers: [owner], members: [privateMember] });
    expect((await (await as(member)).get('/workspaces/midlands/settings')).statusCode).toBe(403);
    expect((await (await as(member)).get('/workspaces/llr/settings')).statusCode).toBe(403);
    expect((await (await as(outsider)).get('/workspaces/midlands/threads/new')).statusCode).toBe(
      403,
    );
    expect((await (await as(outsider)).get('/workspaces/llr/threads/new')).statusCode).toBe(403);
    expect((await (await as(outsider)).get('/workspaces/statuses/settings')).statusCode).toBe(404);
    expect((await (await as(outsider)).get('/workspaces/statuses/threads/new')).statusCode).toBe(
      404,
    );
    expect((await (await as(privateMember)).get('/workspaces/statuses/settings')).statusCode).toBe(
      403,
    );
    expect((await (await as(owner)).get('/workspaces/statuses/settings')).statusCode).toBe(200);
    expect((await (await as(member)).get('/workspaces/midlands/threads/new')).statusCode).toBe(200);
  });

  it('answers a page number past the last with the page-not-found page', async () => {
    const page = await (await as(null)).get('/workspaces/midlands?page=999');
    expect(page.statusCode).toBe(404);
    expect(page.body).toContain('Page not found');
    expect(page.body).not.toContain('No discussions yet');
  });

  it('applies the rule of editing to accepting an answer: not after leaving, nor once locked', async () => {
    const manager = await buildUser(testApp.services, { displayName: 'Ann Swerer' });
    const asker = await buildUser(testApp.services, {
      displayName: 'Quinn Asker',
      workspaces: [{ slug: 'midlands' }],
    });
    const { threadId, location } = await startThread(asker, 'midlands', 'Who knows?');
    const threadPath = location.split('?')[0]!;
    expect((await (await as(manager)).post('/workspaces/midlands/join')).statusCode).toBe(303);
    expect(
      (await (await as(manager)).post(`${threadPath}/replies`, { body: 'I do', action: 'post' }))
        .statusCode,
    ).toBe(303);
    const [, answerId] = await postIdsOf(asker, threadPath);
    const accept = async () =>
      (await as(asker)).post(`${threadPath}/accepted-answer`, { postId: answerId!, accept: '1' });

    // Locked: refused on the thread's page, with the reason where the summary links.
    await testApp.services.database.db
      .updateTable('conversations')
      .set({ locked: 1 })
      .where(
        'id',
        '=',
        (await testApp.services.discussions.threadPage(null, 'midlands', threadId)).conversation.id,
      )
      .execute();
    const whileLocked = await accept();
    expect(whileLocked.statusCode).toBe(400);
    expect(whileLocked.body).toContain(
      'This discussion is locked, so its answer cannot be changed',
    );
    expectSummaryLinksResolve(whileLocked.body, 'answer');
    expect(whileLocked.body).not.toContain('Accept this answer');

    // Left: refused outright, as an edit would be.
    expect((await (await as(asker)).post('/workspaces/midlands/leave')).statusCode).toBe(303);
    expect((await accept()).statusCode).toBe(403);
    const thread = await testApp.services.discussions.threadPage(null, 'midlands', threadId);
    expect(thread.thread.accepted_post_id).toBeNull();
  });

  it('refuses an edit of a post hidden, or a discussion locked, after the edit form was read', async () => {
    const manager = await buildUser(testApp.services, { displayName: 'Mo Moderator' });
    const author = await buildUser(testApp.services, { displayName: 'Eddie Editor' });
    await workspaceWith('edit-meets-hide', { managers: [manager], members: [author] });
    const { threadId } = await quietly.startThread(author, 'edit-meets-hide');
    const postId = await quietly.reply(author, 'edit-meets-hide', threadId, 'The judged text');
    const { services } = testApp;
    const managerActor = await actorFor(services, manager.id);
    const authorActor = await actorFor(services, author.id);

    // The edit read the post before the moderator hid it: only a read inside its transaction
    // can see the hide.
    const repository = createDiscussionRepository(services.database.db, services.database.dialect);
    const asRead = (await repository.findPost(postId))!;
    const staleView = serviceReading({
      ...repository,
      findPost: async (id: string, executor?: Parameters<typeof repository.findPost>[1]) =>
        id === postId && !executor ? asRead : repository.findPost(id, executor),
    });
    await services.discussions.setPostHidden(managerActor, postId, true, 'Off topic', context);
    const refused = await staleView
      .editPost(authorActor, postId, 'Unreviewed text', context)
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ValidationFailed);
    expect((refused as ValidationFailed).fieldErrors).toEqual({
      body: 'A hidden post cannot be edited',
    });
    // Restoring the post shows what the moderator judged, and nothing else was kept of the edit.
    await services.discussions.setPostHidden(managerActor, postId, false, '', context);
    expect((await repository.findPost(postId))!.body).toBe('The judged text');
    expect(await repository.findPostRevisions(postId)).toEqual([]);
    expect(await auditCount(postId, 'discussion.post_edited')).toBe(0);

    // The same with a lock: the edit read the conversation before the manager locked it.
    const conversationId = asRead.conversation_id;
    const unlocked = (await repository.findConversation(conversationId))!;
    const beforeLock = serviceReading({
      ...repository,
      findConversation: async (
        id: string,
        executor?: Parameters<typeof repository.findConversation>[1],
      ) =>
        id === conversationId && !executor ? unlocked : repository.findConversation(id, executor),
    });
    await services.discussions.setThreadFlag(
      managerActor,
      'edit-meets-hide',
      threadId,
      'locked',
      '1',
      context,
    );
    await expect(
      beforeLock.editPost(authorActor, postId, 'Edited once locked', context),
    ).rejects.toThrow('This conversation is locked');
    expect((await repository.findPost(postId))!.body).toBe('The judged text');
    expect(await repository.findPostRevisions(postId)).toEqual([]);
  });

  it('refuses decisions, invitations, role changes and settings from a manager demoted since their request began', async () => {
    const keeper = await buildUser(testApp.services, { displayName: 'Kim Keeper' });
    const demoted = await buildUser(testApp.services, { displayName: 'Dee Demoted' });
    const applicant = await buildUser(testApp.services, { displayName: 'Ali Applicant' });
    const member = await buildUser(testApp.services, { displayName: 'Mel Member' });
    const workspace = await workspaceWith('stale-manager', {
      managers: [keeper, demoted],
      members: [member],
    });
    const { services } = testApp;
    const discussions = services.discussions;
    const keeperActor = await actorFor(services, keeper.id);
    await discussions.updateSettings(
      keeperActor,
      'stale-manager',
      { description: 'As the keeper left it.', privacy: 'restricted' },
      context,
    );
    await discussions.requestToJoin(
      await actorFor(services, applicant.id),
      'stale-manager',
      context,
    );
    const db = services.database.db;
    const request = (await db
      .selectFrom('workspace_requests')
      .select('id')
      .where('workspace_id', '=', workspace.id)
      .where('user_id', '=', applicant.id)
      .executeTakeFirst())!;
    // Loaded as a manager, as a request that began before the demotion was; then demoted.
    const staleActor = await actorFor(services, demoted.id);
    await discussions.setMemberRole(keeperActor, 'stale-manager', demoted.id, 'member', context);

    const attempts = [
      () => discussions.decideRequest(staleActor, 'stale-manager', request.id, 'approve', context),
      () => discussions.invite(staleActor, 'stale-manager', 'never.sent@example.nhs.uk', context),
      () => discussions.setMemberRole(staleActor, 'stale-manager', member.id, 'manager', context),
      () =>
        discussions.updateSettings(
          staleActor,
          'stale-manager',
          { description: 'Opened by someone no longer managing.', privacy: 'open' },
          context,
        ),
    ];
    for (const attempt of attempts)
      await expect(attempt()).rejects.toThrow('Not allowed: workspace.manage');

    // Nothing changed: the request still waits, nobody was invited, the keeper alone manages and
    // the workspace is as the keeper left it.
    expect(
      await db
        .selectFrom('workspace_requests')
        .select(['kind', 'status'])
        .where('workspace_id', '=', workspace.id)
        .execute(),
    ).toEqual([{ kind: 'request', status: 'pending' }]);
    const roles = await db
      .selectFrom('workspace_members')
      .select(['user_id', 'role'])
      .where('workspace_id', '=', workspace.id)
      .execute();
    expect(roles).toHaveLength(3);
    expect(roles).toEqual(
      expect.arrayContaining([
        { user_id: keeper.id, role: 'manager' },
        { user_id: demoted.id, role: 'member' },
        { user_id: member.id, role: 'member' },
      ]),
    );
    expect(
      await db
        .selectFrom('workspaces')
        .select(['description', 'privacy'])
        .where('id', '=', workspace.id)
        .executeTakeFirst(),
    ).toEqual({ description: 'As the keeper left it.', privacy: 'restricted' });
    expect(
      await db
        .selectFrom('email_messages')
        .select('id')
        .where('to_address', '=', 'never.sent@example.nhs.uk')
        .execute(),
    ).toEqual([]);
  });

  it('refuses a reply that was checked before a lock and saved after it', async () => {
    const manager = await buildUser(testApp.services, { displayName: 'Lou Locker' });
    const member = await buildUser(testApp.services, { displayName: 'Rae Replier' });
    await workspaceWith('reply-meets-lock', { managers: [manager], members: [member] });
    const { threadId } = await quietly.startThread(member, 'reply-meets-lock');
    const { services } = testApp;
    const managerActor = await actorFor(services, manager.id);
    const memberActor = await actorFor(services, member.id);
    const repository = createDiscussionRepository(services.database.db, services.database.dialect);
    const thread = (await services.database.db
      .selectFrom('discussion_threads')
      .selectAll()
      .where('id', '=', threadId)
      .executeTakeFirst())!;
    const beforeLock = (await repository.findConversation(thread.conversation_id))!;
    expect(beforeLock.locked).toBe(0);
    // Every read of the conversation answers as it stood before the lock, inside the reply's
    // transaction too: only the statement that records the post can see the lock.
    const staleView = serviceReading({
      ...repository,
      findConversation: async (
        id: string,
        executor?: Parameters<typeof repository.findConversation>[1],
      ) => (id === thread.conversation_id ? beforeLock : repository.findConversation(id, executor)),
    });
    await services.discussions.setThreadFlag(
      managerActor,
      'reply-meets-lock',
      threadId,
      'locked',
      '1',
      context,
    );
    const before = await postIdsOf(manager, `/workspaces/reply-meets-lock/threads/${threadId}`);
    await expect(
      staleView.reply(
        memberActor,
        { threadSlug: 'reply-meets-lock', threadId },
        { body: 'Landed after the lock' },
        context,
      ),
    ).rejects.toThrow('This conversation is locked');
    expect(await postIdsOf(manager, `/workspaces/reply-meets-lock/threads/${threadId}`)).toEqual(
      before,
    );
    const posted = await services.database.db
      .selectFrom('audit_events')
      .select('id')
      .where('action', '=', 'discussion.posted')
      .where('actor_user_id', '=', member.id)
      .execute();
    // Starting the thread is audited as such; nothing was posted.
    expect(posted).toEqual([]);
  });

  it('keeps every earlier version when two edits of one post are saved at the same moment', async () => {
    const author = await buildUser(testApp.services, { displayName: 'Vera Versions' });
    const manager = await buildUser(testApp.services, { displayName: 'Vic Versions' });
    await workspaceWith('two-edits', { managers: [manager], members: [author] });
    const { threadId } = await quietly.startThread(author, 'two-edits');
    const postId = await quietly.reply(author, 'two-edits', threadId, 'Version 1');
    const { services } = testApp;
    const authorActor = await actorFor(services, author.id);

    // The second edit read the post before the first was saved, as a form sent from two tabs at
    // once can: its revision must hold the text the first edit left, not the text it read.
    const repository = createDiscussionRepository(services.database.db, services.database.dialect);
    const asRead = (await repository.findPost(postId))!;
    const staleView = serviceReading({
      ...repository,
      findPost: async (id: string, executor?: Parameters<typeof repository.findPost>[1]) =>
        id === postId && !executor ? asRead : repository.findPost(id, executor),
    });
    await services.discussions.editPost(authorActor, postId, 'Version 2', context);
    await staleView.editPost(authorActor, postId, 'Version 3', context);

    expect((await repository.findPost(postId))!.body).toBe('Version 3');
    const kept = (await repository.findPostRevisions(postId)).map((revision) => revision.body);
    expect(kept.sort()).toEqual(['Version 1', 'Version 2']);
    expect(await auditCount(postId, 'discussion.post_edited')).toBe(2);

    // Two edits sent together: whichever is saved second keeps the text of the first.
    await Promise.all(
      ['Version 4', 'Version 5'].map((text) =>
        services.discussions.editPost(authorActor, postId, text, context),
      ),
    );
    const last = (await repository.findPost(postId))!.body;
    expect(['Version 4', 'Version 5']).toContain(last);
    const all = (await repository.findPostRevisions(postId)).map((revision) => revision.body);
    expect(all.sort()).toEqual(
      ['Version 1', 'Version 2', 'Version 3', 'Version 4', 'Version 5']
        .filter((text) => text !== last)
        .sort(),
    );
  });

  it('refuses a reply to a discussion hidden after it was read, and tells no one of it', async () => {
    const manager = await buildUser(testApp.services, { displayName: 'Hettie Hider' });
    const author = await buildUser(testApp.services, { displayName: 'Orla Opener' });
    const replier = await buildUser(testApp.services, { displayName: 'Rory Replier' });
    await workspaceWith('reply-meets-hide', { managers: [manager], members: [author, replier] });
    const { threadId } = await quietly.startThread(author, 'reply-meets-hide');
    // The author follows the discussion they started, and a reply would be told to them.
    const { services } = testApp;
    const repository = createDiscussionRepository(services.database.db, services.database.dialect);
    const thread = (await repository.findThread(
      (await services.workspaces.findBySlug('reply-meets-hide'))!.id,
      threadId,
    ))!;
    const staleView = serviceReading({
      ...repository,
      findThread: async (
        workspaceId: string,
        id: string,
        executor?: Parameters<typeof repository.findThread>[2],
      ) =>
        id === threadId && !executor ? thread : repository.findThread(workspaceId, id, executor),
    });
    await services.discussions.setThreadFlag(
      await actorFor(services, manager.id),
      'reply-meets-hide',
      threadId,
      'hidden',
      '1',
      context,
    );
    const refused = await staleView
      .reply(
        await actorFor(services, replier.id),
        { threadSlug: 'reply-meets-hide', threadId },
        { body: 'A reply nobody should read' },
        context,
      )
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ValidationFailed);
    expect((refused as ValidationFailed).fieldErrors).toEqual({
      body: 'This discussion has been hidden by a moderator, so it cannot be replied to',
    });

    const posts = await services.database.db
      .selectFrom('posts')
      .select('body')
      .where('conversation_id', '=', thread.conversation_id)
      .execute();
    expect(posts.map((post) => post.body)).toEqual(['Opening post']);
    for (const user of [author, manager]) {
      expect(
        (await notificationsOf(user)).filter((entry) => entry.body.includes('nobody should read')),
      ).toEqual([]);
      expect(
        (await emailsTo(user)).filter((email) => email.text_body.includes('nobody should read')),
      ).toEqual([]);
    }
    const posted = await services.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('actor_user_id', '=', replier.id)
      .where('action', '=', 'discussion.posted')
      .execute();
    expect(posted).toEqual([]);
  });

  it('keeps one pending request to join a workspace when a second is stored at the same moment', async () => {
    const manager = await buildUser(testApp.services, { displayName: 'Rhea Requests' });
    const asker = await buildUser(testApp.services, { displayName: 'Dot Doubleclick' });
    const workspace = await workspaceWith('asked-twice', { managers: [manager] });
    const { services } = testApp;
    await services.database.db
      .updateTable('workspaces')
      .set({ privacy: 'restricted' })
      .where('id', '=', workspace.id)
      .execute();
    const askerActor = await actorFor(services, asker.id);
    await services.discussions.requestToJoin(askerActor, 'asked-twice', context);

    // A second request that passed the check before the first was stored, as a double click's
    // can: the check is made to miss the first, so only the database can refuse it.
    const repository = createDiscussionRepository(services.database.db, services.database.dialect);
    const blind = serviceReading({
      ...repository,
      findPendingWorkspaceRequest: async () => undefined,
    });
    const refused = await blind
      .requestToJoin(askerActor, 'asked-twice', context)
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ValidationFailed);
    expect((refused as ValidationFailed).fieldErrors).toEqual({
      request: 'You have already asked to join. A manager will reply',
    });

    const stored = await services.database.db
      .selectFrom('workspace_requests')
      .select(['kind', 'status'])
      .where('workspace_id', '=', workspace.id)
      .where('user_id', '=', asker.id)
      .execute();
    expect(stored).toEqual([{ kind: 'request', status: 'pending' }]);
    // Nothing else of the refused request is kept: the manager is told once, and once recorded.
    const told = (await notificationsOf(manager)).filter((entry) =>
      entry.title.startsWith('Dot Doubleclick asked to join'),
    );
    expect(told).toHaveLength(1);
    expect(await auditCount(workspace.id, 'workspace.join_requested')).toBe(1);
  });

  it('closes a pending request to join when its author comes in by an invitation, or by joining', async () => {
    const manager = await buildUser(testApp.services, { displayName: 'Ines Inviter' });
    const asker = await buildUser(testApp.services, { displayName: 'Ian Invited' });
    const workspace = await workspaceWith('invited-asker', { managers: [manager] });
    const { services } = testApp;
    const setPrivacy = (privacy: 'open' | 'restricted') =>
      services.database.db
        .updateTable('workspaces')
        .set({ privacy })
        .where('id', '=', workspace.id)
        .execute();
    const requestsOf = (userId: string) =>
      services.database.db
        .selectFrom('workspace_requests')
        .select(['id', 'status'])
        .where('workspace_id', '=', workspace.id)
        .where('user_id', '=', userId)
        .where('kind', '=', 'request')
        .execute();
    await setPrivacy('restricted');
    const managerActor = await actorFor(services, manager.id);
    await services.discussions.requestToJoin(
      await actorFor(services, asker.id),
      'invited-asker',
      context,
    );
    const [request] = await requestsOf(asker.id);
    expect(request!.status).toBe('pending');

    await services.discussions.invite(managerActor, 'invited-asker', asker.email, context);
    const invitation = (await emailsTo(asker)).find((email) =>
      email.text_body.includes('/workspaces/invited-asker/invitation?'),
    );
    const link = new URL(
      /https?:\/\/\S+\/workspaces\/invited-asker\/invitation\?\S+/.exec(invitation!.text_body)![0],
    );
    await services.discussions.acceptInvitation(
      await actorFor(services, asker.id),
      'invited-asker',
      link.searchParams.get('token')!,
      link.searchParams.get('email')!,
      context,
    );
    expect(await requestsOf(asker.id)).toEqual([{ id: request!.id, status: 'withdrawn' }]);
    // Nothing is left for a manager to decide, and a decision from a page read before is refused
    // without telling the new member they were declined.
    const page = await services.discussions.workspaceMembers(managerActor, 'invited-asker');
    expect(page.requests.filter((entry) => entry.kind === 'request')).toEqual([]);
    await expect(
      services.discussions.decideRequest(
        managerActor,
        'invited-asker',
        request!.id,
        'decline',
        context,
      ),
    ).rejects.toThrow('This request has already been decided');
    expect(
      (await notificationsOf(asker)).filter((entry) => entry.body.includes('was declined')),
    ).toEqual([]);

    // Asked while the workspace was restricted, then joined once it was opened.
    const joiner = await buildUser(testApp.services, { displayName: 'Jo Joiner' });
    await services.discussions.requestToJoin(
      await actorFor(services, joiner.id),
      'invited-asker',
      context,
    );
    await setPrivacy('open');
    await services.discussions.join(await actorFor(services, joiner.id), 'invited-asker', context);
    expect((await requestsOf(joiner.id)).map((entry) => entry.status)).toEqual(['withdrawn']);
  });
});
