import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  buildUser,
  createPrivateWorkspace,
  type TestUser,
} from '../../../test/support/factories.ts';
import { HttpAgent, signInAs } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';

/**
 * The hourly limits on asking to join workspaces, inviting to them, reporting posts and posting,
 * each refusal audited.
 * The limits count in fixed hours, so each test stands the clock still half way through an hour
 * long past that no other test here uses: the hour cannot turn between the last request allowed
 * and the one refused.
 */
describe.each(testDialects)('discussion limits on %s', (dialect) => {
  let testApp: TestApp;
  let clock: Date | undefined;

  beforeAll(async () => {
    testApp = await createTestApp(dialect, { services: { now: () => clock ?? new Date() } });
  });

  afterAll(async () => {
    await testApp.close();
  });

  beforeEach(() => {
    clock = undefined;
  });

  async function signedIn(user: TestUser): Promise<HttpAgent> {
    const browser = new HttpAgent(testApp.app);
    await signInAs(browser, user);
    return browser;
  }

  function expectRefused(response: { statusCode: number; headers: Record<string, unknown> }) {
    expect(response.statusCode).toBe(429);
    expect(response.headers['retry-after']).toBe('1800');
  }

  /** The refusals the limit recorded in the audit log for this person and action. */
  async function refusalsAudited(user: TestUser, action: string) {
    const rows = await testApp.services.database.db
      .selectFrom('audit_events')
      .select(['target_type', 'target_id', 'details'])
      .where('actor_user_id', '=', user.id)
      .where('action', '=', action)
      .where('outcome', '=', 'refused')
      .execute();
    return rows.map((row) => ({
      targetType: row.target_type,
      targetId: row.target_id,
      details: JSON.parse(row.details ?? '{}') as unknown,
    }));
  }

  it('refuses a 21st request to join workspaces within an hour with 429, audits it, and records only 20', async () => {
    clock = new Date(Date.UTC(2020, 0, 6, 9, 30, 0));
    const requester = await buildUser(testApp.services);
    const browser = await signedIn(requester);
    // A request is refused before the limit if one to the same workspace is waiting, so each goes
    // to a workspace of its own.
    const slugs: string[] = [];
    for (let index = 1; index <= 21; index++) {
      const slug = `restricted-${index}`;
      await testApp.services.database.db
        .insertInto('workspaces')
        .values({
          id: randomUUID(),
          slug,
          name: `Restricted workspace ${index}`,
          description: 'A workspace people ask to join.',
          privacy: 'restricted',
          organisation_code: null,
          created_at: clock.toISOString(),
          updated_at: clock.toISOString(),
        })
        .execute();
      slugs.push(slug);
    }
    for (const slug of slugs.slice(0, 20)) {
      const asked = await browser.post(`/workspaces/${slug}/request`);
      expect(asked.headers.location, slug).toBe(`/workspaces/${slug}?done=requested`);
    }
    const refused = await browser.post(`/workspaces/${slugs[20]}/request`);
    expectRefused(refused);
    expect(refused.body).toContain(
      'You have asked to join 20 organisations or workspaces in the last hour, which is the most anyone can ask to join in an hour.',
    );
    expect(refused.body).toContain('Your request has not been sent.');
    const recorded = await testApp.services.database.db
      .selectFrom('workspace_requests')
      .select('id')
      .where('user_id', '=', requester.id)
      .where('kind', '=', 'request')
      .execute();
    expect(recorded).toHaveLength(20);
    const workspace = await testApp.services.database.db
      .selectFrom('workspaces')
      .select('id')
      .where('slug', '=', slugs[20]!)
      .executeTakeFirstOrThrow();
    expect(await refusalsAudited(requester, 'workspace.join_requested')).toEqual([
      { targetType: 'workspace', targetId: workspace.id, details: { reason: 'rate_limited' } },
    ]);
  });

  it('refuses a 51st invitation to a workspace within an hour with 429, audits it, and sends no email for it', async () => {
    clock = new Date(Date.UTC(2020, 0, 6, 10, 30, 0));
    const manager = await buildUser(testApp.services);
    const workspace = await createPrivateWorkspace(testApp.services, 'invitation-limit');
    await testApp.services.database.db
      .transaction()
      .execute((trx) =>
        testApp.services.workspaces.addMember(trx, workspace.id, manager.id, 'manager'),
      );
    const browser = await signedIn(manager);
    const address = (index: number) => `invitee.${index}.${dialect}@example.nhs.net`;
    const invite = (index: number) =>
      browser.post('/workspaces/invitation-limit/invitations', { email: address(index) });
    for (let index = 1; index <= 50; index++) {
      expect((await invite(index)).statusCode, `invitation ${index}`).toBe(303);
    }
    const refused = await invite(51);
    expectRefused(refused);
    expect(refused.body).toContain(
      'You have sent 50 invitations in the last hour, to organisations and workspaces together, which is the most anyone can send in an hour.',
    );
    expect(refused.body).toContain('This invitation has not been sent.');
    const emailed = await testApp.services.database.db
      .selectFrom('email_messages')
      .select('id')
      .where('to_address', '=', address(51))
      .execute();
    expect(emailed).toEqual([]);
    const recorded = await testApp.services.database.db
      .selectFrom('workspace_requests')
      .select('id')
      .where('workspace_id', '=', workspace.id)
      .where('kind', '=', 'invitation')
      .execute();
    expect(recorded).toHaveLength(50);
    expect(await refusalsAudited(manager, 'workspace.invited')).toEqual([
      { targetType: 'workspace', targetId: workspace.id, details: { reason: 'rate_limited' } },
    ]);
  });

  it('refuses a 31st report within an hour with 429, audits it, and records only 30', async () => {
    clock = new Date(Date.UTC(2020, 0, 6, 11, 30, 0));
    const author = await buildUser(testApp.services, { workspaces: [{ slug: 'llr' }] });
    const reporter = await buildUser(testApp.services, { workspaces: [{ slug: 'llr' }] });
    const started = await (
      await signedIn(author)
    ).post('/workspaces/llr/threads', {
      title: 'A thread to report',
      kind: 'discussion',
      area: '',
      body: 'Something worth reporting',
      action: 'post',
    });
    expect(started.statusCode).toBe(303);
    const post = await testApp.services.database.db
      .selectFrom('posts')
      .select('id')
      .where('author_id', '=', author.id)
      .executeTakeFirstOrThrow();
    const browser = await signedIn(reporter);
    for (let report = 1; report <= 30; report++) {
      const sent = await browser.post(`/posts/${post.id}/report`, { reason: `Report ${report}` });
      expect(sent.statusCode, `report ${report}`).toBe(303);
    }
    const refused = await browser.post(`/posts/${post.id}/report`, { reason: 'Report 31' });
    expectRefused(refused);
    expect(refused.body).toContain(
      'You have reported 30 posts in the last hour, which is the most anyone can report in an hour.',
    );
    expect(refused.body).toContain('This report has not been sent');
    const recorded = await testApp.services.database.db
      .selectFrom('post_reports')
      .select('reason')
      .where('reporter_id', '=', reporter.id)
      .execute();
    expect(recorded).toHaveLength(30);
    expect(recorded.map((row) => row.reason)).not.toContain('Report 31');
    expect(await refusalsAudited(reporter, 'discussion.post_reported')).toEqual([
      { targetType: 'post', targetId: post.id, details: { reason: 'rate_limited' } },
    ]);
  });

  it('stops an established account at 120 posts an hour, saying why and auditing it', async () => {
    // The account is made two weeks before it posts, so the limit for new accounts does not apply.
    clock = new Date(Date.UTC(2020, 0, 6, 8, 0, 0));
    const poster = await buildUser(testApp.services, { workspaces: [{ slug: 'llr' }] });
    clock = new Date(Date.UTC(2020, 0, 20, 12, 30, 0));
    const browser = await signedIn(poster);
    const started = await browser.post('/workspaces/llr/threads', {
      title: 'A busy thread',
      kind: 'discussion',
      area: '',
      body: 'Post 1',
      action: 'post',
    });
    expect(started.statusCode).toBe(303);
    const threadId = /threads\/([0-9a-f-]{36})/.exec(String(started.headers.location))![1]!;
    const replyWith = (body: string) =>
      browser.post(`/workspaces/llr/threads/${threadId}/replies`, { body, action: 'post' });
    for (let post = 2; post <= 120; post++) {
      expect((await replyWith(`Post ${post}`)).statusCode, `post ${post}`).toBe(303);
    }
    const refused = await replyWith('Post 121');
    expectRefused(refused);
    expect(refused.body).toContain(
      'You have posted 120 times in the last hour, which is the most anyone can post in an hour.',
    );
    expect(refused.body).toContain('What you wrote has not been posted');
    const posts = await testApp.services.database.db
      .selectFrom('posts')
      .select('body')
      .where('author_id', '=', poster.id)
      .execute();
    expect(posts).toHaveLength(120);
    expect(posts.map((row) => row.body)).not.toContain('Post 121');
    // The refusal names the conversation the reply was for.
    const { conversation_id } = await testApp.services.database.db
      .selectFrom('posts')
      .select('conversation_id')
      .where('author_id', '=', poster.id)
      .limit(1)
      .executeTakeFirstOrThrow();
    expect(await refusalsAudited(poster, 'discussion.posted')).toEqual([
      {
        targetType: 'conversation',
        targetId: conversation_id,
        details: { reason: 'rate_limited' },
      },
    ]);
  });

  it('stops a new account at 10 posts an hour, new threads included, and audits the refusal', async () => {
    clock = new Date(Date.UTC(2020, 0, 6, 13, 30, 0));
    const newcomer = await buildUser(testApp.services, { workspaces: [{ slug: 'llr' }] });
    const browser = await signedIn(newcomer);
    const start = (index: number) =>
      browser.post('/workspaces/llr/threads', {
        title: `Question ${index}`,
        kind: 'question',
        area: '',
        body: `Body ${index}`,
        action: 'post',
      });
    for (let index = 1; index <= 10; index++) {
      expect((await start(index)).statusCode, `thread ${index}`).toBe(303);
    }
    const refused = await start(11);
    expectRefused(refused);
    expect(refused.body).toContain('Accounts less than 7 days old can post up to 10 times an hour');
    const llr = await testApp.services.database.db
      .selectFrom('workspaces')
      .select('id')
      .where('slug', '=', 'llr')
      .executeTakeFirstOrThrow();
    expect(await refusalsAudited(newcomer, 'discussion.thread_created')).toEqual([
      { targetType: 'workspace', targetId: llr.id, details: { reason: 'rate_limited' } },
    ]);
    const threads = await testApp.services.database.db
      .selectFrom('posts')
      .select('id')
      .where('author_id', '=', newcomer.id)
      .execute();
    expect(threads).toHaveLength(10);
  });
});
