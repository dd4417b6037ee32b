import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  actorFor,
  contentInput,
  buildUser,
  createPrivateWorkspace,
  currentTotp,
  type TestUser,
} from '../../../test/support/factories.ts';
import { xssPayloads } from '../../../test/fixtures/xss-payloads.ts';
import { findActiveContent, nonceOf } from '../../../test/support/html.ts';
import { browsersFor, HttpAgent, signInAs } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';

const context = { ip: '127.0.0.1', userAgent: 'discussion tests' };
const SECRET_WORD = 'quetiapinezebra';

describe.each(testDialects)('discussions, comments and notifications on %s', (dialect) => {
  let testApp: TestApp;
  let asker: TestUser;
  let answerer: TestUser;
  let manager: TestUser;
  let outsider: TestUser;
  let editor: TestUser;
  let newcomer: TestUser;
  let privateMember: TestUser;
  /** Stands the service's clock still while set. */
  let clock: Date | undefined;
  const as = browsersFor<TestUser>(
    () => testApp.app,
    (user) => currentTotp(user),
  );

  async function emailsTo(address: string) {
    return testApp.services.database.db
      .selectFrom('email_messages')
      .select(['subject', 'text_body', 'headers', 'kind'])
      .where('to_address', '=', address)
      .orderBy('created_at')
      .execute();
  }

  async function notificationsOf(user: TestUser) {
    return testApp.services.database.db
      .selectFrom('notifications')
      .selectAll()
      .where('user_id', '=', user.id)
      .orderBy('created_at')
      .execute();
  }

  async function startThread(user: TestUser, slug: string, fields: Record<string, string>) {
    const browser = await as(user);
    const response = await browser.post(`/workspaces/${slug}/threads`, {
      kind: 'question',
      area: '',
      action: 'post',
      ...fields,
    });
    expect(response.statusCode, response.body.slice(0, 500)).toBe(303);
    const location = String(response.headers.location);
    return { location, threadId: /threads\/([0-9a-f-]{36})/.exec(location)![1]! };
  }

  /** The text of a page's <title>, as a screen reader announces it first. */
  function titleOf(html: string): string {
    return (/<title>([^<]*)<\/title>/.exec(html)?.[1] ?? '').trim();
  }

  /** Whether an error summary's link has somewhere to go: an element with exactly that id. */
  function hasElementWithId(html: string, id: string): boolean {
    return new RegExp(`<[a-z]+\\b[^>]*\\sid="${id}"`).test(html);
  }

  async function replyTo(user: TestUser, slug: string, threadId: string, body: string) {
    return (await as(user)).post(`/workspaces/${slug}/threads/${threadId}/replies`, {
      body,
      action: 'post',
    });
  }

  beforeAll(async () => {
    testApp = await createTestApp(dialect, { services: { now: () => clock ?? new Date() } });
    const { services } = testApp;
    asker = await buildUser(services, {
      displayName: 'Asha Patel',
      workspaces: [{ slug: 'llr' }],
      memberships: [{ organisationCode: 'C82001', role: 'member' }],
    });
    answerer = await buildUser(services, {
      displayName: 'Ben Okafor',
      workspaces: [{ slug: 'llr' }],
    });
    manager = await buildUser(services, {
      displayName: 'Mina Manager',
      workspaces: [{ slug: 'llr', role: 'manager' }],
    });
    outsider = await buildUser(services, { displayName: 'Olu Outsider' });
    editor = await buildUser(services, {
      displayName: 'Eve Editor',
      memberships: [{ organisationCode: 'C82001', role: 'editor' }],
    });
    newcomer = await buildUser(services, {
      displayName: 'Nia Newcomer',
      workspaces: [{ slug: 'llr' }],
    });
    privateMember = await buildUser(services, { displayName: 'Pat Private' });
    const secret = await createPrivateWorkspace(services, 'secret-group');
    await services.database.db.transaction().execute(async (trx) => {
      await services.workspaces.addMember(trx, secret.id, privateMember.id, 'manager');
    });
  });

  afterAll(async () => testApp.close());

  describe('workspaces', () => {
    it('lists the Midlands and LLR workspaces, and hides private ones from outsiders', async () => {
      const anonymous = await as(null);
      const page = await anonymous.get('/workspaces');
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('Midlands Greener NHS Futures');
      expect(page.body).toContain('Leicester, Leicestershire and Rutland Green Plan');
      expect(page.body).not.toContain('Private workspace secret-group');
      expect((await anonymous.get('/workspaces/secret-group')).statusCode).toBe(404);
      expect((await (await as(outsider)).get('/workspaces/secret-group')).statusCode).toBe(404);
      const member = await (await as(privateMember)).get('/workspaces/secret-group');
      expect(member.statusCode).toBe(200);
      expect(member.body).toContain('Private: members only');
    });

    it('lets anyone join an open workspace, and leave it', async () => {
      const browser = await as(outsider);
      const page = await browser.get('/workspaces/midlands');
      expect(page.body).toContain('Join this workspace');
      const joined = await browser.post('/workspaces/midlands/join');
      expect(joined.headers.location).toBe('/workspaces/midlands?done=joined');
      expect((await browser.get('/workspaces/midlands?done=joined')).body).toContain(
        'You have joined the workspace.',
      );
      const members = await browser.get('/workspaces/midlands/members');
      expect(members.statusCode).toBe(200);
      expect(members.body).toContain('Olu Outsider');
      // Leaving is confirmed on its own page, which says how to come back.
      expect((await browser.get('/workspaces/midlands')).body).toContain(
        'href="/workspaces/midlands/leave"',
      );
      const confirm = await browser.get('/workspaces/midlands/leave');
      expect(confirm.statusCode).toBe(200);
      expect(confirm.body).toContain('You can join again at any time.');
      expect(confirm.body).toContain('action="/workspaces/midlands/leave"');
      expect((await browser.post('/workspaces/midlands/leave')).statusCode).toBe(303);
      expect((await browser.get('/workspaces/midlands/members')).statusCode).toBe(403);
      expect((await browser.get('/workspaces/midlands/leave')).statusCode).toBe(403);
    });

    it('shows a restricted workspace to outsiders only as its about page and a way to ask to join', async () => {
      const browser = await as(outsider);
      const page = await browser.get('/workspaces/llr');
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('About this workspace');
      expect(page.body).toContain('Ask to join');
      expect(page.body).not.toContain('Start a discussion');
      // A workspace anyone may know of refuses with 403, as its page is no secret.
      expect((await browser.get('/workspaces/llr/threads/new')).statusCode).toBe(403);
    });

    it('tells the managers of a request to join, and the requester of the decision', async () => {
      const requester = await buildUser(testApp.services, { displayName: 'Rae Requester' });
      const browser = await as(requester);
      expect((await browser.post('/workspaces/llr/request')).headers.location).toBe(
        '/workspaces/llr?done=requested',
      );
      // Asking twice is refused with a reason, not recorded twice.
      expect((await browser.post('/workspaces/llr/request')).statusCode).toBe(400);
      const managerNotifications = await notificationsOf(manager);
      expect(managerNotifications.map((entry) => entry.title)).toContain(
        'Rae Requester asked to join Leicester, Leicestershire and Rutland Green Plan',
      );
      const managerBrowser = await as(manager);
      const members = await managerBrowser.get('/workspaces/llr/members');
      expect(members.body).toContain('Rae Requester asked to join');
      const requestId = /\/workspaces\/llr\/requests\/([0-9a-f-]{36})/.exec(members.body)![1]!;
      // A member who is not a manager cannot decide.
      expect(
        (
          await (
            await as(answerer)
          ).post(`/workspaces/llr/requests/${requestId}`, {
            decision: 'approve',
          })
        ).statusCode,
      ).toBe(403);
      const decided = await managerBrowser.post(`/workspaces/llr/requests/${requestId}`, {
        decision: 'approve',
      });
      expect(decided.statusCode).toBe(303);
      expect((await notificationsOf(requester)).map((entry) => entry.title)).toEqual([
        'You are now a member of Leicester, Leicestershire and Rutland Green Plan',
      ]);
      expect(await emailsTo(requester.email)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            subject: 'You are now a member of Leicester, Leicestershire and Rutland Green Plan',
          }),
        ]),
      );
      const fresh = new HttpAgent(testApp.app);
      await signInAs(fresh, requester);
      expect((await fresh.get('/workspaces/llr/threads/new')).statusCode).toBe(200);
      // Deciding again is refused.
      expect(
        (
          await managerBrowser.post(`/workspaces/llr/requests/${requestId}`, {
            decision: 'decline',
          })
        ).statusCode,
      ).toBe(400);
    });

    it('invites by email to a private workspace; the link works once, for the invited address only', async () => {
      const invited = await buildUser(testApp.services, { displayName: 'Ivy Invited' });
      const managerBrowser = await as(privateMember);
      const bad = await managerBrowser.post('/workspaces/secret-group/invitations', {
        email: 'not an address',
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.body).toContain('Enter an email address in the correct format');
      const sent = await managerBrowser.post('/workspaces/secret-group/invitations', {
        email: invited.email,
      });
      expect(sent.statusCode).toBe(303);
      const [email] = (await emailsTo(invited.email)).filter(
        (message) => message.kind === 'workspace_invitation',
      );
      const link = /https?:\/\/\S+\/workspaces\/secret-group\/invitation\?\S+/.exec(
        email!.text_body,
      )![0];
      const url = new URL(link);
      const token = url.searchParams.get('token')!;
      // Someone else signed in cannot use it.
      const wrong = await (
        await as(outsider)
      ).post('/workspaces/secret-group/invitation', {
        token,
        email: invited.email,
      });
      expect(wrong.statusCode).toBe(400);
      expect(wrong.body).toContain('sent to a different email address');
      expect(wrong.body).toContain('<title>Error: Join ');
      const browser = await as(invited);
      const page = await browser.get(`${url.pathname}${url.search}`);
      expect(page.body).toContain('Accept the invitation');
      const accepted = await browser.post('/workspaces/secret-group/invitation', {
        token,
        email: invited.email,
      });
      expect(accepted.headers.location).toBe('/workspaces/secret-group?done=accepted');
      const fresh = new HttpAgent(testApp.app);
      await signInAs(fresh, invited);
      expect((await fresh.get('/workspaces/secret-group')).statusCode).toBe(200);
      const again = await fresh.post('/workspaces/secret-group/invitation', {
        token,
        email: invited.email,
      });
      expect(again.statusCode).toBe(400);
      expect(again.body).toContain('has expired or has already been used');
    });

    it('lets managers change the about text, privacy and roles, keeping at least one manager', async () => {
      const browser = await as(privateMember);
      const refused = await browser.post('/workspaces/secret-group/settings', {
        description: '',
        privacy: 'secret',
      });
      expect(refused.statusCode).toBe(400);
      expect(refused.body).toContain('Describe what the workspace is for');
      expect(refused.body).toContain('Choose who may read the workspace');
      expect(
        (
          await browser.post('/workspaces/secret-group/settings', {
            description: 'For **testing** private discussions.',
            privacy: 'private',
          })
        ).statusCode,
      ).toBe(303);
      expect((await browser.get('/workspaces/secret-group')).body).toContain(
        '<strong>testing</strong>',
      );
      const lastManager = await browser.post(
        `/workspaces/secret-group/members/${privateMember.id}/role`,
        { role: 'member' },
      );
      expect(lastManager.statusCode).toBe(400);
      expect(lastManager.body).toContain('A workspace needs at least one manager');
      const leaving = await browser.post('/workspaces/secret-group/leave');
      expect(leaving.statusCode).toBe(400);
    });

    it('keeps what managers made of a default workspace when the seed runs again', async () => {
      const browser = await as(manager);
      const before = (await testApp.services.workspaces.findBySlug('llr'))!;
      expect(before.privacy).toBe('restricted');
      const changed = await browser.post('/workspaces/llr/settings', {
        description: 'Changed by the **LLR** managers.',
        privacy: 'private',
      });
      expect(changed.statusCode).toBe(303);
      const again = await testApp.services.database.db
        .transaction()
        .execute((trx) => testApp.services.workspaces.ensureDefaultWorkspaces(trx));
      expect(again.created).toBe(0);
      const kept = await testApp.services.workspaces.findBySlug('llr');
      expect(kept?.description).toBe('Changed by the **LLR** managers.');
      expect(kept?.privacy).toBe('private');
      await browser.post('/workspaces/llr/settings', {
        description: before.description,
        privacy: before.privacy,
      });
    });

    it('says on the page itself why the only manager cannot leave or become a plain member', async () => {
      const browser = await as(privateMember);
      const leaving = await browser.post('/workspaces/secret-group/leave');
      expect(leaving.statusCode).toBe(400);
      expect(titleOf(leaving.body)).toMatch(/^Error: Leave /);
      expect(leaving.body).toContain('href="#leave"');
      expect(hasElementWithId(leaving.body, 'leave')).toBe(true);
      expect(leaving.body).toMatch(
        /id="leave-error"[^>]*>\s*<span class="nhsuk-u-visually-hidden">Error: <\/span>You are the only manager of this workspace/,
      );
      expect(leaving.body).toContain('aria-describedby="leave-error"');
      expect((await browser.get('/workspaces/secret-group/members')).body).toContain('Pat Private');
      // The page before leaving already says why, and offers no button.
      const confirm = await browser.get('/workspaces/secret-group/leave');
      expect(confirm.statusCode).toBe(200);
      expect(confirm.body).toContain('You are the only manager of this workspace.');
      expect(confirm.body).not.toContain('action="/workspaces/secret-group/leave"');

      const roleId = `role-${privateMember.id}`;
      const demoting = await browser.post(
        `/workspaces/secret-group/members/${privateMember.id}/role`,
        { role: 'member' },
      );
      expect(demoting.statusCode).toBe(400);
      expect(titleOf(demoting.body)).toMatch(/^Error: Members of Private workspace secret-group/);
      expect(demoting.body).not.toContain('href="#role"');
      expect(demoting.body).toContain(`href="#${roleId}"`);
      expect(hasElementWithId(demoting.body, roleId)).toBe(true);
      expect(demoting.body).toMatch(
        new RegExp(
          `id="${roleId}-error"[^>]*>\\s*<span class="nhsuk-u-visually-hidden">Error: </span>A workspace needs at least one manager`,
        ),
      );

      // Asking twice to join is refused on the workspace's page, where the request is shown.
      const requester = await buildUser(testApp.services, { displayName: 'Rex Repeat' });
      const requesterBrowser = await as(requester);
      expect((await requesterBrowser.post('/workspaces/llr/request')).statusCode).toBe(303);
      const again = await requesterBrowser.post('/workspaces/llr/request');
      expect(again.statusCode).toBe(400);
      expect(titleOf(again.body)).toMatch(/^Error: /);
      expect(again.body).toContain('href="#request"');
      expect(hasElementWithId(again.body, 'request')).toBe(true);
      expect(again.body).toContain('You have already asked to join');
    });
  });

  describe('threads', () => {
    let threadId: string;
    let replyId: string;

    it('posts a question with an @mention: the mentioned member is notified at once, by email too', async () => {
      const created = await startThread(asker, 'llr', {
        title: 'How did you switch patients to dry powder inhalers?',
        area: 'medicines',
        body: `We want to start. @${answerer.handle}, your practice did this last year: how?`,
      });
      threadId = created.threadId;
      const page = await (await as(asker)).get(created.location);
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('Your post has been published.');
      expect(page.body).toContain(`href="/people/${answerer.handle}"`);
      const [mention] = await notificationsOf(answerer);
      expect(mention).toMatchObject({
        kind: 'mention',
        title: 'Asha Patel mentioned you: How did you switch patients to dry powder inhalers?',
        read_at: null,
      });
      const emails = await emailsTo(answerer.email);
      expect(emails.filter((email) => email.kind === 'notification_mention')).toHaveLength(1);
      const headers = JSON.parse(emails.at(-1)!.headers!) as Record<string, string>;
      expect(headers['List-Unsubscribe']).toMatch(/^<http.+\/notifications\/unsubscribe\?.+>$/);
      expect(headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
      const header = await (await as(answerer)).get('/workspaces/llr');
      expect(header.body).toMatch(/Notifications <span class="gs-unread-count">1<\/span>/);
    });

    it('does not notify, or reveal anything to, someone mentioned who cannot read the thread', async () => {
      const before = (await emailsTo(outsider.email)).length;
      await startThread(asker, 'llr', {
        title: `A members-only question ${SECRET_WORD}`,
        body: `Asking @${outsider.handle} who is not a member`,
      });
      expect(await notificationsOf(outsider)).toEqual([]);
      expect(await emailsTo(outsider.email)).toHaveLength(before);
      const search = await (await as(outsider)).get(`/search?q=${SECRET_WORD}`);
      expect(search.body).not.toContain('members-only question');
    });

    it('replies, quotes, marks useful and accepts an answer, telling the people concerned', async () => {
      const browser = await as(answerer);
      const thread = await browser.get(`/workspaces/llr/threads/${threadId}`);
      const openingId = /id="post-([0-9a-f-]{36})"/.exec(thread.body)![1]!;
      const quotePage = await browser.get(`/workspaces/llr/threads/${threadId}?quote=${openingId}`);
      expect(quotePage.body).toContain('You are quoting Asha Patel');
      const replied = await browser.post(`/workspaces/llr/threads/${threadId}/replies`, {
        body: 'We ran an **inhaler review** clinic. See [our case study](/case-studies).',
        quotedPostId: openingId,
        action: 'post',
      });
      expect(replied.statusCode).toBe(303);
      replyId = /#post-([0-9a-f-]{36})$/.exec(String(replied.headers.location))![1]!;
      const page = await browser.get(`/workspaces/llr/threads/${threadId}`);
      expect(page.body).toContain('<strong>inhaler review</strong>');
      expect(page.body).toContain('Asha Patel wrote:');
      expect(page.body).toContain('href="/case-studies"');
      expect((await notificationsOf(asker)).map((entry) => entry.title)).toContain(
        'Ben Okafor replied: How did you switch patients to dry powder inhalers?',
      );

      const useful = await (await as(asker)).post(`/posts/${replyId}/useful`, { useful: '1' });
      expect(useful.statusCode).toBe(303);
      expect((await (await as(asker)).get(`/workspaces/llr/threads/${threadId}`)).body).toContain(
        'Useful (1)',
      );

      // Only the asker accepts an answer.
      expect(
        (
          await browser.post(`/workspaces/llr/threads/${threadId}/accepted-answer`, {
            postId: replyId,
            accept: '1',
          })
        ).statusCode,
      ).toBe(403);
      const accepted = await (
        await as(asker)
      ).post(`/workspaces/llr/threads/${threadId}/accepted-answer`, {
        postId: replyId,
        accept: '1',
      });
      expect(accepted.statusCode).toBe(303);
      const answered = await browser.get(`/workspaces/llr/threads/${threadId}`);
      expect(answered.body).toContain('Accepted answer');
      expect((await notificationsOf(answerer)).map((entry) => entry.title)).toContain(
        'Your answer was accepted: How did you switch patients to dry powder inhalers?',
      );
      const listing = await browser.get('/workspaces/llr');
      expect(listing.body).toContain('Answered');
      expect(listing.body).toContain('Ben Okafor posted in');
    });

    it('keeps the history of an edited post, and lets only its author edit it', async () => {
      expect((await (await as(asker)).get(`/posts/${replyId}/edit`)).statusCode).toBe(403);
      const browser = await as(answerer);
      const empty = await browser.post(`/posts/${replyId}/edit`, { body: '  ', action: 'save' });
      expect(empty.statusCode).toBe(400);
      expect(empty.body).toContain('Write your message');
      const saved = await browser.post(`/posts/${replyId}/edit`, {
        body: 'We ran an inhaler review clinic with our pharmacist.',
        action: 'save',
      });
      expect(saved.statusCode).toBe(303);
      const history = await (await as(asker)).get(`/posts/${replyId}/history`);
      expect(history.statusCode).toBe(200);
      expect(history.body).toContain('with our pharmacist');
      expect(history.body).toContain('<strong>inhaler review</strong>');
      expect((await (await as(outsider)).get(`/posts/${replyId}/history`)).statusCode).toBe(404);
    });

    it('lets members report a post; managers see the queue, hide it and its author is told', async () => {
      const reporter = await as(asker);
      const form = await reporter.get(`/posts/${replyId}/report`);
      expect(form.statusCode).toBe(200);
      const empty = await reporter.post(`/posts/${replyId}/report`, { reason: '' });
      expect(empty.statusCode).toBe(400);
      expect(empty.body).toContain('Say why you are reporting this post');
      expect(
        (await reporter.post(`/posts/${replyId}/report`, { reason: 'Names a patient' })).statusCode,
      ).toBe(303);
      expect((await notificationsOf(manager)).map((entry) => entry.title)).toContain(
        'A post was reported',
      );
      const managerBrowser = await as(manager);
      expect((await (await as(answerer)).get('/workspaces/llr/moderation')).statusCode).toBe(403);
      const queue = await managerBrowser.get('/workspaces/llr/moderation');
      expect(queue.body).toContain('Names a patient');
      expect(
        (await (await as(asker)).post(`/posts/${replyId}/visibility`, { hidden: '1' })).statusCode,
      ).toBe(403);
      const hidden = await managerBrowser.post(`/posts/${replyId}/visibility`, {
        hidden: '1',
        reason: 'Names a patient',
      });
      expect(hidden.statusCode).toBe(303);
      expect((await notificationsOf(answerer)).map((entry) => entry.title)).toContain(
        'A moderator hid your post',
      );
      const seenByMember = await (await as(asker)).get(`/workspaces/llr/threads/${threadId}`);
      expect(seenByMember.body).toContain('This post has been hidden by a moderator.');
      expect(seenByMember.body).not.toContain('with our pharmacist');
      const seenByManager = await managerBrowser.get(`/workspaces/llr/threads/${threadId}`);
      expect(seenByManager.body).toContain('with our pharmacist');
      expect((await managerBrowser.get('/workspaces/llr/moderation')).body).toContain(
        'Nothing has been reported',
      );
      // A hidden post cannot be quoted or edited.
      expect(
        (
          await (
            await as(asker)
          ).post(`/workspaces/llr/threads/${threadId}/replies`, {
            body: 'Quoting a hidden post',
            quotedPostId: replyId,
            action: 'post',
          })
        ).statusCode,
      ).toBe(400);
      expect(
        (
          await (
            await as(answerer)
          ).post(`/posts/${replyId}/edit`, {
            body: 'Changed',
            action: 'save',
          })
        ).statusCode,
      ).toBe(400);
    });

    it('refuses replies to a locked thread, and hides a hidden thread from members', async () => {
      const { threadId: lockedId } = await startThread(asker, 'llr', {
        title: 'A thread to lock',
        body: 'Opening post',
      });
      // Open, its reply form's Post button ignores a second click while the first is sent.
      expect((await (await as(answerer)).get(`/workspaces/llr/threads/${lockedId}`)).body).toMatch(
        /<button type="submit" class="nhsuk-button" name="action" value="post" data-module="nhsuk-button" data-prevent-double-click="true">Post<\/button>/,
      );
      const managerBrowser = await as(manager);
      expect(
        (
          await managerBrowser.post(`/workspaces/llr/threads/${lockedId}/moderation`, {
            flag: 'locked',
            value: '1',
          })
        ).statusCode,
      ).toBe(303);
      const refused = await replyTo(answerer, 'llr', lockedId, 'Too late');
      expect(refused.statusCode).toBe(400);
      expect(refused.body).toContain('This conversation is locked, so it cannot be replied to');
      const page = await (await as(answerer)).get(`/workspaces/llr/threads/${lockedId}`);
      expect(page.body).toContain('no more replies can be posted');
      expect(page.body).not.toContain('Your reply');

      expect(
        (
          await managerBrowser.post(`/workspaces/llr/threads/${lockedId}/moderation`, {
            flag: 'hidden',
            value: '1',
          })
        ).statusCode,
      ).toBe(303);
      expect(
        (await (await as(answerer)).get(`/workspaces/llr/threads/${lockedId}`)).statusCode,
      ).toBe(404);
      expect((await replyTo(answerer, 'llr', lockedId, 'Still there?')).statusCode).toBe(404);
      expect((await (await as(answerer)).get('/workspaces/llr')).body).not.toContain(
        'A thread to lock',
      );
      expect((await managerBrowser.get('/workspaces/llr')).body).toContain('A thread to lock');

      const pinned = await managerBrowser.post(`/workspaces/llr/threads/${threadId}/moderation`, {
        flag: 'pinned',
        value: '1',
      });
      expect(pinned.statusCode).toBe(303);
      const listing = await (await as(answerer)).get('/workspaces/llr');
      expect(listing.body.indexOf('How did you switch patients')).toBeLessThan(
        listing.body.indexOf('A members-only question'),
      );
      const badFlag = await managerBrowser.post(`/workspaces/llr/threads/${threadId}/moderation`, {
        flag: 'deleted',
        value: '1',
      });
      expect(badFlag.statusCode).toBe(400);
    });

    it('explains the problems of a bad new thread and keeps what was typed', async () => {
      const browser = await as(asker);
      const response = await browser.post('/workspaces/llr/threads', {
        title: '',
        kind: 'poll',
        area: 'not-an-area',
        body: 'Keep this text',
        action: 'post',
      });
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain('Enter a title');
      expect(response.body).toContain('Choose whether this is a question or a discussion');
      expect(response.body).toContain('Choose an area of focus from the list');
      expect(response.body).toContain('Keep this text');
      const preview = await browser.post('/workspaces/llr/threads', {
        title: 'Preview',
        kind: 'discussion',
        area: '',
        body: '**Bold** text',
        action: 'preview',
      });
      expect(preview.statusCode).toBe(200);
      expect(preview.body).toContain('<strong>Bold</strong>');
    });

    it('stops a flood of posts from a new account with a clear message', async () => {
      const { threadId: floodId } = await startThread(manager, 'llr', {
        title: 'Introduce yourself',
        kind: 'discussion',
        body: 'Say hello',
      });
      // The manager's account is new too: the thread was its first post.
      const statuses: number[] = [];
      let last = '';
      // The limit counts in fixed hours: the clock stands still so that the hour cannot turn
      // between the tenth post and the eleventh.
      clock = new Date();
      try {
        for (let attempt = 0; attempt < 11; attempt++) {
          const response = await replyTo(newcomer, 'llr', floodId, `Hello number ${attempt}`);
          statuses.push(response.statusCode);
          last = response.body;
        }
      } finally {
        clock = undefined;
      }
      expect(statuses.slice(0, 10).every((status) => status === 303)).toBe(true);
      expect(statuses[10]).toBe(429);
      expect(last).toContain('Accounts less than 7 days old can post up to 10 times an hour');
      expect(last).toContain('What you wrote has not been posted');
      const page = await (await as(manager)).get(`/workspaces/llr/threads/${floodId}`);
      expect(page.body).toContain('Hello number 9');
      expect(page.body).not.toContain('Hello number 10');
    });

    it('renders posts inertly, whatever was written', async () => {
      const { threadId: xssId } = await startThread(answerer, 'llr', {
        title: '<script>alert(1)</script> title',
        kind: 'discussion',
        body: xssPayloads.slice(0, 30).join('\n\n'),
      });
      // Reset the limit the flood above reached? The answerer is a different account.
      const reply = await replyTo(answerer, 'llr', xssId, xssPayloads.slice(30).join('\n\n'));
      expect(reply.statusCode).toBe(303);
      const page = await (await as(asker)).get(`/workspaces/llr/threads/${xssId}`);
      expect(page.statusCode).toBe(200);
      expect(findActiveContent(page.body, nonceOf(page.body))).toEqual([]);
      const listing = await (await as(asker)).get('/workspaces/llr');
      expect(findActiveContent(listing.body, nonceOf(listing.body))).toEqual([]);
    });
  });

  describe('search', () => {
    it('never finds the text of a hidden opening post, and finds it again once it is shown', async () => {
      const { services } = testApp;
      const hiddenWord = 'salbutamolquokka';
      const opener = await buildUser(services, {
        displayName: 'Orla Opener',
        workspaces: [{ slug: 'midlands' }],
      });
      const reader = await buildUser(services, {
        displayName: 'Rory Reader',
        workspaces: [{ slug: 'midlands' }],
      });
      const moderator = await buildUser(services, {
        displayName: 'Mo Moderator',
        workspaces: [{ slug: 'midlands', role: 'manager' }],
      });
      const { threadId } = await startThread(opener, 'midlands', {
        title: 'Spacers for every metered dose inhaler',
        kind: 'discussion',
        body: `Our audit found ${hiddenWord} written in the patient notes.`,
      });
      const threadLink = `/workspaces/midlands/threads/${threadId}`;
      const search = async (user: TestUser | null, words: string) =>
        (await (await as(user)).get(`/search?q=${encodeURIComponent(words)}`)).body;
      expect(await search(null, hiddenWord)).toContain(threadLink);

      const moderatorBrowser = await as(moderator);
      const page = await moderatorBrowser.get(threadLink);
      const openingId = /id="post-([0-9a-f-]{36})"/.exec(page.body)![1]!;
      const hide = (hidden: '0' | '1') =>
        moderatorBrowser.post(`/posts/${openingId}/visibility`, {
          hidden,
          reason: 'Names a patient',
        });
      expect((await hide('1')).statusCode).toBe(303);
      for (const user of [null, reader]) {
        const results = await search(user, hiddenWord);
        expect(results).not.toContain(threadLink);
        expect(results).not.toContain('in the patient notes');
        // The thread itself is not hidden: its title still finds it, with none of the post's text.
        const byTitle = await search(user, 'spacers metered');
        expect(byTitle).toContain(threadLink);
        expect(byTitle).not.toContain('in the patient notes');
      }

      // Hiding and restoring the whole thread brings back its title, not the hidden post.
      for (const value of ['1', '0']) {
        const moderated = await moderatorBrowser.post(`${threadLink}/moderation`, {
          flag: 'hidden',
          value,
        });
        expect(moderated.statusCode).toBe(303);
      }
      expect(await search(reader, hiddenWord)).not.toContain(threadLink);
      expect(await search(reader, 'spacers metered')).toContain(threadLink);

      expect((await hide('0')).statusCode).toBe(303);
      for (const user of [null, reader]) {
        const results = await search(user, hiddenWord);
        expect(results).toContain(threadLink);
        expect(results).toContain('in the patient notes');
      }
    });
  });

  describe('comments on content', () => {
    it('says after posting when a comment mentioned more people than it notifies', async () => {
      const editorActor = await actorFor(testApp.services, editor.id);
      const item = await testApp.services.content.create(
        editorActor,
        'case_study',
        contentInput({ title: 'Greener anaesthesia', summary: 'Desflurane gone' }),
        context,
      );
      await testApp.services.content.publish(editorActor, item.id, context);
      const mentioned: TestUser[] = [];
      for (let index = 0; index < 11; index++)
        mentioned.push(await buildUser(testApp.services, { displayName: `Named ${index}` }));
      const browser = await as(outsider);
      const many = await browser.post(`/content/${item.id}/comments`, {
        body: `Thanks ${mentioned.map((user) => `@${user.handle}`).join(' ')}`,
      });
      expect(String(many.headers.location)).toContain('?done=posted-mentions#post-');
      const page = await browser.get(String(many.headers.location));
      expect(page.body).toContain(
        'Your comment has been posted. Only the first 10 people you mentioned were notified.',
      );
      const told = [];
      for (const user of mentioned)
        told.push((await notificationsOf(user)).some((entry) => entry.kind === 'mention'));
      expect(told).toEqual([...Array(10).fill(true), false]);
      const few = await browser.post(`/content/${item.id}/comments`, {
        body: `And @${mentioned[0]!.handle}`,
      });
      expect(String(few.headers.location)).toContain('?done=posted#post-');
      const fewPage = await browser.get(String(few.headers.location));
      expect(fewPage.body).toContain('Your comment has been posted.</p>');
    });

    it('lets signed-in readers comment on a public case study and tells its author', async () => {
      const editorActor = await actorFor(testApp.services, editor.id);
      const item = await testApp.services.content.create(
        editorActor,
        'case_study',
        contentInput({
          title: 'Switching to dry powder inhalers',
          summary: 'How one practice did it',
        }),
        context,
      );
      await testApp.services.content.publish(editorActor, item.id, context);
      const anonymousPage = await (await as(null)).get(`/case-studies/${item.slug}`);
      expect(anonymousPage.body).toContain('Sign in</a> to comment');
      const browser = await as(outsider);
      const empty = await browser.post(`/content/${item.id}/comments`, { body: '' });
      expect(empty.statusCode).toBe(400);
      expect(empty.body).toContain('Write your message');
      expect(empty.body).toContain('Switching to dry powder inhalers');
      const posted = await browser.post(`/content/${item.id}/comments`, {
        body: 'Did you see patients return to MDIs?',
      });
      expect(posted.statusCode).toBe(303);
      expect(String(posted.headers.location)).toMatch(
        new RegExp(`^/case-studies/${item.slug}\\?done=posted#post-`),
      );
      const page = await (await as(null)).get(`/case-studies/${item.slug}`);
      expect(page.body).toContain('Comments (1)');
      expect(page.body).toContain('Did you see patients return to MDIs?');
      expect((await notificationsOf(editor)).map((entry) => entry.title)).toContain(
        'Olu Outsider replied: Switching to dry powder inhalers',
      );
      // The editor moderates the comments on their content.
      const commentId = /id="post-([0-9a-f-]{36})"/.exec(page.body)![1]!;
      const moderated = await (
        await as(editor)
      ).post(`/posts/${commentId}/visibility`, { hidden: '1', reason: 'Off topic' });
      expect(moderated.statusCode).toBe(303);
      // Back on the item's page, which says what was done, as a discussion's page does.
      const told = String(moderated.headers.location);
      expect(told).toMatch(new RegExp(`^/case-studies/${item.slug}\\?done=moderated#post-`));
      expect((await (await as(editor)).get(told.split('#')[0]!)).body).toContain(
        '<p class="gs-confirmation" role="status">Done. The author has been told.</p>',
      );
      expect((await (await as(null)).get(`/case-studies/${item.slug}`)).body).toContain(
        'This post has been hidden by a moderator.',
      );
      // A value that is not one of ours says nothing.
      expect(
        (await (await as(null)).get(`/case-studies/${item.slug}?done=anything`)).body,
      ).not.toContain('gs-confirmation');
    });

    it('keeps comments on workspace-only content to the workspace', async () => {
      const editorActor = await actorFor(testApp.services, editor.id);
      const llr = await testApp.services.workspaces.findBySlug('llr');
      await testApp.services.database.db
        .transaction()
        .execute((trx) => testApp.services.workspaces.addMember(trx, llr!.id, editor.id));
      const item = await testApp.services.content.create(
        await actorFor(testApp.services, editor.id),
        'news',
        contentInput({
          title: `Workspace news ${SECRET_WORD}`,
          privacy: 'workspace',
          workspaceId: llr!.id,
        }),
        context,
      );
      await testApp.services.content.publish(editorActor, item.id, context);
      expect(
        (await (await as(outsider)).post(`/content/${item.id}/comments`, { body: 'Hi' }))
          .statusCode,
      ).toBe(404);
      expect(
        (await (await as(asker)).post(`/content/${item.id}/comments`, { body: 'Members only' }))
          .statusCode,
      ).toBe(303);
    });
  });

  describe('privacy of private workspaces', () => {
    it('never shows private workspace discussions or content to non-members: search, feeds, profiles, notifications, emails', async () => {
      const { services } = testApp;
      // Someone follows the area of focus and the private workspace's member mentions them.
      const follower = await buildUser(services, { displayName: 'Fay Follower' });
      await (
        await as(follower)
      ).post('/notifications/settings', {
        areas: 'travel-and-transport',
      });
      const { threadId } = await startThread(privateMember, 'secret-group', {
        title: `Private plans ${SECRET_WORD}`,
        area: 'travel-and-transport',
        body: `Only for us, @${follower.handle} and @${outsider.handle}. ${SECRET_WORD}`,
      });
      // Content shared with the private workspace, tagged with the followed area.
      const secret = await services.workspaces.findBySlug('secret-group');
      const author = await buildUser(services, {
        memberships: [{ organisationCode: 'C82001', role: 'editor' }],
      });
      await services.database.db
        .transaction()
        .execute((trx) => services.workspaces.addMember(trx, secret!.id, author.id));
      const authorActor = await actorFor(services, author.id);
      const item = await services.content.create(
        authorActor,
        'news',
        contentInput({
          title: `Private news ${SECRET_WORD}`,
          privacy: 'workspace',
          workspaceId: secret!.id,
          areas: ['travel-and-transport'],
        }),
        context,
      );
      await services.content.publish(authorActor, item.id, context);

      for (const user of [follower, outsider]) {
        const notifications = await notificationsOf(user);
        expect(JSON.stringify(notifications)).not.toContain(SECRET_WORD);
        const emails = await emailsTo(user.email);
        expect(JSON.stringify(emails)).not.toContain(SECRET_WORD);
        const browser = await as(user);
        expect((await browser.get(`/search?q=${SECRET_WORD}`)).body).not.toContain('Private');
        expect((await browser.get(`/workspaces/secret-group/threads/${threadId}`)).statusCode).toBe(
          404,
        );
        expect((await browser.get(`/people/${privateMember.handle}`)).body).not.toContain(
          SECRET_WORD,
        );
      }
      const anonymous = await as(null);
      expect((await anonymous.get('/news/feed.atom')).body).not.toContain(SECRET_WORD);
      expect((await anonymous.get(`/search?q=${SECRET_WORD}`)).body).not.toContain('Private');
      expect((await anonymous.get('/workspaces')).body).not.toContain('secret-group');

      // The member sees all of it.
      const member = await as(privateMember);
      const search = await member.get(`/search?q=${SECRET_WORD}`);
      expect(search.body).toContain(`Private plans`);
      expect((await member.get(`/people/${privateMember.handle}`)).body).toContain(SECRET_WORD);
    });
    it('names a private workspace on its invitation page only to someone holding a pending invitation', async () => {
      const name = 'Private workspace secret-group';
      const forged = `token=${'a'.repeat(43)}&email=${encodeURIComponent(outsider.email)}`;
      const anonymous = await as(null);
      const outsiderBrowser = await as(outsider);
      for (const browser of [anonymous, outsiderBrowser]) {
        for (const url of [
          '/workspaces/secret-group/invitation',
          `/workspaces/secret-group/invitation?${forged}`,
        ]) {
          const page = await browser.get(url);
          expect(page.statusCode, url).toBe(404);
          expect(page.body).not.toContain(name);
        }
      }
      // Neither does a refused acceptance name it.
      const refused = await outsiderBrowser.post('/workspaces/secret-group/invitation', {
        token: 'a'.repeat(43),
        email: outsider.email,
      });
      expect(refused.statusCode).toBe(404);
      expect(refused.body).not.toContain(name);

      const invited = await buildUser(testApp.services, { displayName: 'Ines Invitee' });
      expect(
        (
          await (
            await as(privateMember)
          ).post('/workspaces/secret-group/invitations', { email: invited.email })
        ).statusCode,
      ).toBe(303);
      const [email] = (await emailsTo(invited.email)).filter(
        (message) => message.kind === 'workspace_invitation',
      );
      const link = new URL(
        /https?:\/\/\S+\/workspaces\/secret-group\/invitation\?\S+/.exec(email!.text_body)![0],
      );
      const invitation = await anonymous.get(`${link.pathname}${link.search}`);
      expect(invitation.statusCode).toBe(200);
      expect(invitation.body).toContain(`Join ${name}`);
      // The link's token with another address is not an invitation.
      const otherAddress = await anonymous.get(
        `${link.pathname}?token=${link.searchParams.get('token')}&email=${encodeURIComponent(outsider.email)}`,
      );
      expect(otherAddress.statusCode).toBe(404);
      // Open and restricted workspaces are no secret: their invitation page shows as before.
      expect((await anonymous.get('/workspaces/llr/invitation')).statusCode).toBe(200);
    });

    it('answers an outsider on a private workspace as if it did not exist, and refuses elsewhere with 403', async () => {
      const browser = await as(outsider);
      for (const [url, fields] of [
        ['/workspaces/secret-group/join', {}],
        ['/workspaces/secret-group/request', {}],
        ['/workspaces/secret-group/leave', {}],
        ['/workspaces/secret-group/invitations', { email: 'someone@nhs.net' }],
        [`/workspaces/secret-group/members/${privateMember.id}/role`, { role: 'member' }],
        [
          '/workspaces/secret-group/requests/00000000-0000-4000-8000-000000000000',
          { decision: 'approve' },
        ],
        ['/workspaces/secret-group/settings', { description: 'Ours now', privacy: 'open' }],
        [
          '/workspaces/secret-group/threads',
          { title: 'Hello', kind: 'discussion', area: '', body: 'Hello', action: 'post' },
        ],
      ] as const) {
        const response = await browser.post(url, fields);
        expect(response.statusCode, url).toBe(404);
        expect(response.body, url).not.toContain('Private workspace secret-group');
      }
      for (const url of [
        '/workspaces/secret-group/moderation',
        '/workspaces/secret-group/members',
        '/workspaces/secret-group/settings',
      ]) {
        expect((await browser.get(url)).statusCode, url).toBe(404);
      }
      // A workspace anyone may know of refuses what the person may not do.
      expect((await browser.post('/workspaces/llr/join')).statusCode).toBe(403);
      expect((await browser.get('/workspaces/llr/moderation')).statusCode).toBe(403);
      expect((await browser.get('/workspaces/midlands/moderation')).statusCode).toBe(403);
      expect(
        (
          await browser.post('/workspaces/llr/invitations', {
            email: 'someone@nhs.net',
          })
        ).statusCode,
      ).toBe(403);
    });
  });

  describe('notifications', () => {
    it('lists notifications, marks them read, and clears the unread count', async () => {
      const browser = await as(answerer);
      const list = await browser.get('/notifications');
      expect(list.statusCode).toBe(200);
      expect(list.body).toContain('mentioned you');
      expect(list.body).toMatch(/You have \d+ unread notifications?\./);
      const one = (await notificationsOf(answerer)).find((entry) => entry.read_at === null)!;
      expect((await browser.post('/notifications/read', { id: one.id })).statusCode).toBe(303);
      expect(
        (await notificationsOf(answerer)).find((entry) => entry.id === one.id)!.read_at,
      ).not.toBeNull();
      expect((await browser.post('/notifications/read')).statusCode).toBe(303);
      expect((await notificationsOf(answerer)).every((entry) => entry.read_at !== null)).toBe(true);
      const after = await browser.get('/notifications');
      expect(after.body).toContain('You have no unread notifications.');
      expect(after.body).not.toContain('gs-unread-count');
      // Someone else's notification cannot be marked through the form.
      const others = (await notificationsOf(manager)).find((entry) => entry.read_at === null)!;
      await browser.post('/notifications/read', { id: others.id });
      expect(
        (await notificationsOf(manager)).find((entry) => entry.id === others.id)!.read_at,
      ).toBe(null);
    });

    it('opens a notification through a form: marks it read and goes to what it is about', async () => {
      const unread = (await notificationsOf(manager)).find((entry) => entry.read_at === null)!;
      const openPath = `/notifications/${unread.id}/open`;
      // Nobody else can open it, or learn where it points; signed out, nothing happens either.
      const stranger = await (await as(answerer)).post(openPath);
      expect(stranger.statusCode).toBe(404);
      expect(stranger.headers.location).toBeUndefined();
      const signedOut = await (await as(null)).post(openPath);
      expect(signedOut.headers.location).toMatch(/^\/sign-in\b/);
      // Opening is a state change: without the form's CSRF token it is refused.
      const browser = await as(manager);
      expect((await browser.post(openPath, {}, { csrf: false })).statusCode).toBe(403);
      expect(
        (await notificationsOf(manager)).find((entry) => entry.id === unread.id)!.read_at,
      ).toBe(null);

      const list = await browser.get('/notifications');
      expect(list.body).toContain(`action="${openPath}"`);
      const opened = await browser.post(openPath);
      expect(opened.statusCode).toBe(303);
      expect(opened.headers.location).toBe(unread.link);
      const read = (await notificationsOf(manager)).find((entry) => entry.id === unread.id)!;
      expect(read.read_at).not.toBeNull();
      // Once read it is a plain link, and opening it again changes nothing.
      const after = await browser.get('/notifications');
      expect(after.body).not.toContain(`action="${openPath}"`);
      expect(after.body).toContain(`href="${unread.link.replace(/&/g, '&amp;')}"`);
      const again = await browser.post(openPath);
      expect(again.headers.location).toBe(unread.link);
      expect(
        (await notificationsOf(manager)).find((entry) => entry.id === unread.id)!.read_at,
      ).toBe(read.read_at);
      expect((await browser.post('/notifications/not-a-notification/open')).statusCode).toBe(404);

      // A link that would leave the site goes to the notifications page instead, read or not.
      await testApp.services.notifications.notifyNow(
        [manager.id],
        {
          kind: 'workspace',
          title: 'Off-site link',
          body: '',
          link: '//evil.example/phish',
          actorId: null,
          dedupeKey: `off-site:${manager.id}`,
        },
        () => true,
      );
      const offSiteId = (await notificationsOf(manager)).find(
        (entry) => entry.title === 'Off-site link',
      )!.id;
      const offSite = await browser.post(`/notifications/${offSiteId}/open`);
      expect(offSite.headers.location).toBe('/notifications');
      const listed = await browser.get('/notifications');
      expect(listed.body).not.toContain('evil.example');
      expect(listed.body).toContain('href="/notifications">Off-site link</a>');
    });

    it('saves preferences and refuses values that are not choices', async () => {
      const browser = await as(asker);
      const page = await browser.get('/notifications/settings');
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('Email me a daily digest');
      const bad = await browser.post('/notifications/settings', { reply: 'hourly' });
      expect(bad.statusCode).toBe(400);
      expect(bad.body).toContain('The &quot;reply&quot; field must be one of');
      const saved = await browser.post('/notifications/settings', {
        reply: 'daily',
        mention: 'off',
        areas: 'medicines',
      });
      expect(saved.statusCode).toBe(303);
      const preferences = await testApp.services.notifications.preferences(
        await actorFor(testApp.services, asker.id),
      );
      expect(preferences.find((entry) => entry.kind === 'reply')?.frequency).toBe('daily');
      expect(preferences.find((entry) => entry.kind === 'mention')?.frequency).toBe('off');
      expect((await browser.get('/notifications/settings')).body).toMatch(
        /value="medicines" checked/,
      );
    });

    it('unsubscribes with one click from the link in an email, and refuses a forged link', async () => {
      const [email] = (await emailsTo(answerer.email)).filter(
        (message) => message.kind === 'notification_mention',
      );
      const headers = JSON.parse(email!.headers!) as Record<string, string>;
      const link = new URL(headers['List-Unsubscribe']!.slice(1, -1));
      const path = `${link.pathname}${link.search}`;
      const confirm = await (await as(null)).get(path);
      expect(confirm.statusCode).toBe(200);
      expect(confirm.body).toContain('Stop these emails?');
      const forged = new URL(link);
      forged.searchParams.set('kind', 'reply');
      const refused = await new HttpAgent(testApp.app).post(
        `${forged.pathname}${forged.search}`,
        {},
        { csrf: false },
      );
      expect(refused.statusCode).toBe(400);
      // A mail program posts without cookies or a CSRF token.
      const done = await new HttpAgent(testApp.app).post(path, {}, { csrf: false });
      expect(done.statusCode).toBe(200);
      expect(done.body).toContain('You have been unsubscribed');
      const preferences = await testApp.services.notifications.preferences(
        await actorFor(testApp.services, answerer.id),
      );
      expect(preferences.find((entry) => entry.kind === 'mention')?.frequency).toBe('off');
      expect(preferences.find((entry) => entry.kind === 'reply')?.frequency).toBe('immediately');
    });
  });

  describe('profiles and accounts', () => {
    it('shows organisations and roles to signed-in colleagues only', async () => {
      const signedIn = await (await as(answerer)).get(`/people/${asker.handle}`);
      expect(signedIn.statusCode).toBe(200);
      expect(signedIn.body).toContain('Asha Patel');
      expect(signedIn.body).toContain('/organisations/C82001');
      const anonymous = await (await as(null)).get(`/people/${asker.handle}`);
      expect(anonymous.statusCode).toBe(200);
      expect(anonymous.body).not.toContain('/organisations/C82001');
      // Contributions in a restricted workspace are for its members.
      expect(signedIn.body).toContain('We want to start');
      expect(anonymous.body).not.toContain('We want to start');
      expect((await (await as(null)).get('/people/nobody-here')).statusCode).toBe(404);
    });

    it('keeps posts of a deleted account, unsigned, and removes its notifications and follows', async () => {
      const leaver = await buildUser(testApp.services, {
        displayName: 'Lee Leaver',
        workspaces: [{ slug: 'midlands' }],
      });
      const { threadId } = await startThread(leaver, 'midlands', {
        title: 'A thread from someone leaving',
        kind: 'discussion',
        body: 'My last post',
      });
      await (await as(asker)).post('/workspaces/midlands/join');
      const thanked = await replyTo(asker, 'midlands', threadId, `Thank you @${leaver.handle}`);
      expect(thanked.statusCode).toBe(303);
      expect((await notificationsOf(leaver)).length).toBeGreaterThan(0);
      const leaverActor = await actorFor(testApp.services, leaver.id);
      await testApp.services.accounts.deleteAccount(leaverActor, leaver.password, context);
      expect(await notificationsOf(leaver)).toEqual([]);
      const follows = await testApp.services.database.db
        .selectFrom('follows')
        .select('subject_id')
        .where('user_id', '=', leaver.id)
        .execute();
      expect(follows).toEqual([]);
      const page = await (await as(null)).get(`/workspaces/midlands/threads/${threadId}`);
      expect(page.body).toContain('My last post');
      expect(page.body).toContain('Deleted user');
      expect(page.body).not.toContain('Lee Leaver');
    });
  });
});

describe.each(testDialects)('notification digests on %s', (dialect) => {
  let testApp: TestApp;
  let clock = new Date('2026-03-02T08:00:00Z');

  beforeAll(async () => {
    testApp = await createTestApp(dialect, { services: { now: () => clock } });
  });
  afterAll(async () => testApp.close());

  it('sends one daily digest per day with what waited, and nothing twice', async () => {
    const { services } = testApp;
    const author = await buildUser(services, { workspaces: [{ slug: 'llr' }] });
    const reader = await buildUser(services, { workspaces: [{ slug: 'llr' }] });
    const readerActor = await actorFor(services, reader.id);
    await services.notifications.setPreferences(readerActor, { reply: 'daily' }, context);
    const authorActor = await actorFor(services, author.id);
    const { threadId } = await services.discussions.createThread(
      readerActor,
      'llr',
      { title: 'Digest thread', kind: 'discussion', body: 'Opening', area: '' },
      context,
    );
    for (const text of ['First reply', 'Second reply']) {
      await services.discussions.reply(
        authorActor,
        { threadSlug: 'llr', threadId },
        { body: text },
        context,
      );
      clock = new Date(clock.getTime() + 60_000);
    }
    const digestsTo = async () =>
      (
        await services.database.db
          .selectFrom('email_messages')
          .select(['subject', 'text_body'])
          .where('to_address', '=', reader.email)
          .where('kind', '=', 'digest_daily')
          .execute()
      ).map((row) => row.subject);
    // Nothing was emailed at once.
    expect(
      await services.database.db
        .selectFrom('email_messages')
        .select('kind')
        .where('to_address', '=', reader.email)
        .where('kind', 'like', 'notification_%')
        .execute(),
    ).toEqual([]);
    await services.notifications.sendDueDigests();
    expect(await digestsTo()).toEqual(['Your daily Greenspace digest: 2 updates']);
    await services.notifications.sendDueDigests();
    expect(await digestsTo()).toHaveLength(1);
    // A reply the next hour waits for the next day's digest.
    clock = new Date(clock.getTime() + 3_600_000);
    await services.discussions.reply(
      authorActor,
      { threadSlug: 'llr', threadId },
      { body: 'Third reply' },
      context,
    );
    await services.notifications.sendDueDigests();
    expect(await digestsTo()).toHaveLength(1);
    clock = new Date(clock.getTime() + 86_400_000);
    await services.notifications.sendDueDigests();
    await services.notifications.sendDueDigests();
    expect(await digestsTo()).toEqual([
      'Your daily Greenspace digest: 2 updates',
      'Your daily Greenspace digest: 1 update',
    ]);
  });
});
