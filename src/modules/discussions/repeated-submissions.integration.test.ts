import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  actorFor,
  buildUser,
  contentInput,
  currentTotp,
  type TestUser,
} from '../../../test/support/factories.ts';
import { submissionKeyOf } from '../../../test/support/html.ts';
import { browsersFor } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';

const context = { ip: '127.0.0.1', userAgent: 'repeated submission tests' };

/**
 * A form that posts, sent twice (a second click in a browser without JavaScript, a page resent
 * after a slow answer), posts once and tells everyone once: each such form carries a one-time key.
 */
describe.each(testDialects)('forms sent twice on %s', (dialect) => {
  let testApp: TestApp;
  let clock: Date | undefined;
  let author: TestUser;
  let follower: TestUser;
  let editor: TestUser;
  const as = browsersFor<TestUser>(
    () => testApp.app,
    (user) => currentTotp(user),
  );

  beforeAll(async () => {
    testApp = await createTestApp(dialect, { services: { now: () => clock ?? new Date() } });
    const { services } = testApp;
    author = await buildUser(services, {
      displayName: 'Dora Double',
      workspaces: [{ slug: 'llr' }],
    });
    follower = await buildUser(services, {
      displayName: 'Fay Follower',
      workspaces: [{ slug: 'llr' }],
    });
    editor = await buildUser(services, {
      displayName: 'Ed Itor',
      memberships: [{ organisationCode: 'C82001', role: 'editor' }],
    });
    for (const user of [author, follower, editor]) await established(user);
  });

  afterAll(async () => testApp.close());

  /**
   * Makes an account older than a week: these tests post more than a new account may in an hour,
   * and what they check is not that limit.
   */
  async function established(user: TestUser): Promise<TestUser> {
    await testApp.services.database.db
      .updateTable('users')
      .set({ created_at: '2026-01-01T00:00:00.000Z' })
      .where('id', '=', user.id)
      .execute();
    return user;
  }

  /** The one-time key of the form that posts to `action` on a page. */
  function keyOf(html: string, action: string): string {
    const key = submissionKeyOf(html, action);
    expect(key, `no submission key in the form posting to ${action}`).toBeDefined();
    return key!;
  }

  async function postsIn(threadId: string): Promise<string[]> {
    const rows = await testApp.services.database.db
      .selectFrom('posts as p')
      .innerJoin('discussion_threads as t', 't.conversation_id', 'p.conversation_id')
      .select('p.body')
      .where('t.id', '=', threadId)
      .orderBy('p.created_at')
      .execute();
    return rows.map((row) => row.body);
  }

  async function notificationsAbout(user: TestUser, link: string): Promise<number> {
    const rows = await testApp.services.database.db
      .selectFrom('notifications')
      .select('id')
      .where('user_id', '=', user.id)
      .where('link', 'like', `${link}%`)
      .execute();
    return rows.length;
  }

  async function audited(action: string, actorUserId: string): Promise<number> {
    const rows = await testApp.services.database.db
      .selectFrom('audit_events')
      .select('id')
      .where('action', '=', action)
      .where('actor_user_id', '=', actorUserId)
      .execute();
    return rows.length;
  }

  async function startThread(title: string): Promise<string> {
    const browser = await as(author);
    const form = await browser.get('/workspaces/llr/threads/new');
    const response = await browser.post('/workspaces/llr/threads', {
      title,
      kind: 'discussion',
      area: '',
      body: 'Opening words',
      action: 'post',
      submissionKey: keyOf(form.body, '/workspaces/llr/threads'),
    });
    expect(response.statusCode, response.body.slice(0, 300)).toBe(303);
    return /threads\/([0-9a-f-]{36})/.exec(String(response.headers.location))![1]!;
  }

  it('starts one discussion from a new-discussion form sent twice', async () => {
    const browser = await as(author);
    const form = await browser.get('/workspaces/llr/threads/new');
    const fields = {
      title: 'Sent twice by a slow connection',
      kind: 'question',
      area: '',
      body: 'Does anyone reuse theatre gowns?',
      action: 'post',
      submissionKey: keyOf(form.body, '/workspaces/llr/threads'),
    };
    const first = await browser.post('/workspaces/llr/threads', fields);
    const second = await browser.post('/workspaces/llr/threads', fields);
    expect(first.statusCode).toBe(303);
    expect(second.statusCode).toBe(303);
    const firstLocation = String(first.headers.location);
    expect(firstLocation).toMatch(/\?done=posted$/);
    expect(String(second.headers.location)).toBe(firstLocation.replace('posted', 'posted-once'));
    const threads = await testApp.services.database.db
      .selectFrom('discussion_threads')
      .select('id')
      .where('title', '=', fields.title)
      .execute();
    expect(threads).toHaveLength(1);
    expect(await audited('discussion.thread_created', author.id)).toBe(1);
    const page = await browser.get(String(second.headers.location));
    expect(page.body).toContain('Your post was sent more than once and has been published once.');
  });

  it('posts one reply, and tells its followers once, from a reply form sent twice', async () => {
    const threadId = await startThread('Replies sent twice');
    const path = `/workspaces/llr/threads/${threadId}`;
    // The follower follows the discussion, so each reply tells them.
    const followerBrowser = await as(follower);
    const followerPage = await followerBrowser.get(path);
    expect(followerPage.statusCode).toBe(200);
    const { conversation_id: conversationId } = await testApp.services.database.db
      .selectFrom('discussion_threads')
      .select('conversation_id')
      .where('id', '=', threadId)
      .executeTakeFirstOrThrow();
    await testApp.services.discussions.setFollowing(
      await actorFor(testApp.services, follower.id),
      { type: 'conversation', id: conversationId },
      true,
    );
    const browser = await as(author);
    const page = await browser.get(path);
    const fields = {
      body: 'We moved to reusable gowns in 2024.',
      action: 'post',
      submissionKey: keyOf(page.body, `${path}/replies`),
    };
    const results = [
      await browser.post(`${path}/replies`, fields),
      await browser.post(`${path}/replies`, fields),
    ];
    expect(results.map((result) => result.statusCode)).toEqual([303, 303]);
    const [first, second] = results.map((result) => String(result.headers.location));
    expect(first).toMatch(/\?done=posted#post-[0-9a-f-]{36}$/);
    expect(second).toBe(first!.replace('done=posted#', 'done=posted-once#'));
    expect(await postsIn(threadId)).toEqual(['Opening words', fields.body]);
    expect(await notificationsAbout(follower, path)).toBe(1);
    expect(await audited('discussion.posted', author.id)).toBe(1);

    // Two sent at the same moment: one lands, and both answers lead to it.
    const again = await browser.get(path);
    const together = {
      body: 'And we wash them on site.',
      action: 'post',
      submissionKey: keyOf(again.body, `${path}/replies`),
    };
    const both = await Promise.all([
      browser.post(`${path}/replies`, together),
      browser.post(`${path}/replies`, together),
    ]);
    expect(both.map((result) => result.statusCode)).toEqual([303, 303]);
    const landed = both.map((result) =>
      String(result.headers.location).replace(/\?done=[a-z-]+/, ''),
    );
    expect(landed[0]).toBe(landed[1]);
    expect(
      both.map((result) => /done=([a-z-]+)/.exec(String(result.headers.location))![1]).sort(),
    ).toEqual(['posted', 'posted-once']);
    expect(await postsIn(threadId)).toEqual(['Opening words', fields.body, together.body]);
    expect(await notificationsAbout(follower, path)).toBe(2);
  });

  it('posts again when a form with a used key is sent with other words, or with no key', async () => {
    const threadId = await startThread('Back and written again');
    const path = `/workspaces/llr/threads/${threadId}`;
    const browser = await as(author);
    const key = keyOf((await browser.get(path)).body, `${path}/replies`);
    // The page reached again with Back still holds the key it was drawn with.
    for (const body of ['First thought', 'Second thought'])
      expect(
        (await browser.post(`${path}/replies`, { body, action: 'post', submissionKey: key }))
          .statusCode,
      ).toBe(303);
    // A form without a key, or with one no page would draw, is served without the check.
    for (const submissionKey of ['', 'not a key'])
      for (let time = 0; time < 2; time++)
        expect(
          (await browser.post(`${path}/replies`, { body: 'No key', action: 'post', submissionKey }))
            .statusCode,
        ).toBe(303);
    expect(await postsIn(threadId)).toEqual([
      'Opening words',
      'First thought',
      'Second thought',
      'No key',
      'No key',
      'No key',
      'No key',
    ]);
  });

  it('keeps the key when a form comes back with an error, so that the corrected form posts once', async () => {
    const threadId = await startThread('Corrected then sent twice');
    const path = `/workspaces/llr/threads/${threadId}`;
    const browser = await as(author);
    const key = keyOf((await browser.get(path)).body, `${path}/replies`);
    const empty = await browser.post(`${path}/replies`, {
      body: '',
      action: 'post',
      submissionKey: key,
    });
    expect(empty.statusCode).toBe(400);
    expect(keyOf(empty.body, `${path}/replies`)).toBe(key);
    const fields = { body: 'Corrected', action: 'post', submissionKey: key };
    await browser.post(`${path}/replies`, fields);
    await browser.post(`${path}/replies`, fields);
    expect(await postsIn(threadId)).toEqual(['Opening words', 'Corrected']);
  });

  it('posts one comment on a content item from a comment form sent twice', async () => {
    const editorActor = await actorFor(testApp.services, editor.id);
    const item = await testApp.services.content.create(
      editorActor,
      'case_study',
      contentInput({ title: 'Reusable gowns', summary: 'Laundered on site' }),
      context,
    );
    await testApp.services.content.publish(editorActor, item.id, context);
    const browser = await as(author);
    const page = await browser.get(`/case-studies/${item.slug}`);
    const fields = {
      body: 'How many washes does a gown last?',
      submissionKey: keyOf(page.body, `/content/${item.id}/comments`),
    };
    const first = await browser.post(`/content/${item.id}/comments`, fields);
    const second = await browser.post(`/content/${item.id}/comments`, fields);
    expect([first.statusCode, second.statusCode]).toEqual([303, 303]);
    expect(String(second.headers.location)).toBe(
      String(first.headers.location).replace('done=posted#', 'done=posted-once#'),
    );
    const shown = await browser.get(String(second.headers.location));
    expect(shown.body).toContain('Your post was sent more than once and has been published once.');
    const comments = await testApp.services.database.db
      .selectFrom('posts as p')
      .innerJoin('conversations as c', 'c.id', 'p.conversation_id')
      .select('p.body')
      .where('c.subject_type', '=', 'content')
      .where('c.subject_id', '=', item.id)
      .execute();
    expect(comments).toEqual([{ body: fields.body }]);
  });

  it('forgets keys after a day, and with the account that sent them', async () => {
    const { db } = testApp.services.database;
    const keysOf = async (user: TestUser) =>
      (
        await db
          .selectFrom('form_submissions')
          .select('submission_key')
          .where('user_id', '=', user.id)
          .execute()
      ).length;
    const sender = await buildUser(testApp.services, {
      displayName: 'Kay Keys',
      workspaces: [{ slug: 'llr' }],
    });
    await established(sender);
    const senderActor = await actorFor(testApp.services, sender.id);
    const threadId = await startThread('Keys forgotten');
    const reply = (submissionKey: string) =>
      testApp.services.discussions.reply(
        senderActor,
        { threadSlug: 'llr', threadId },
        { body: 'Remembered for a day', submissionKey },
        context,
      );
    clock = new Date('2026-06-01T09:00:00Z');
    try {
      await reply('kept-for-a-day-000001');
      clock = new Date('2026-06-02T08:59:00Z');
      await reply('kept-for-a-day-000002');
      expect(await keysOf(sender)).toBe(2);
      clock = new Date('2026-06-02T09:00:01Z');
      await testApp.services.formSubmissions.prune();
      expect(await keysOf(sender)).toBe(1);
    } finally {
      clock = undefined;
    }
    await testApp.services.accounts.deleteAccount(senderActor, sender.password, context);
    expect(await keysOf(sender)).toBe(0);
  });
});
