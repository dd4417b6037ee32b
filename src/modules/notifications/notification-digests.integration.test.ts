import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  actorFor,
  buildUser,
  contentInput,
  createPrivateWorkspace,
  type TestUser,
} from '../../../test/support/factories.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';
import { connectDatabase } from '../../db/database.ts';
import type { NotificationKind } from '../../db/schema.ts';
import { createServices, type Services } from '../../services.ts';
import type { EmailService } from '../email/email.service.ts';
import { createLinkReadCheck } from './notification-links.ts';
import {
  createNotificationRepository,
  type NotificationRepository,
} from './notification.repository.ts';
import { createNotificationService } from './notification.service.ts';

const context = { ip: '127.0.0.1', userAgent: 'notification digest tests' };
const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

describe.each(testDialects)('digests on %s', (dialect) => {
  let testApp: TestApp;
  /** Every service here, on either server, runs on this clock, moved on by the tests. */
  let clock = new Date();
  const now = () => clock;
  /** A second application on the same database, as a second server has. */
  let other: { services: Services; close(): Promise<void> };

  beforeAll(async () => {
    testApp = await createTestApp(dialect, { services: { now } });
    const handle = await connectDatabase(testApp.database.config);
    const services = createServices(handle, testApp.config, { now });
    other = {
      services,
      async close() {
        await services.email.stopWorker();
        await handle.close();
      },
    };
  });
  afterAll(async () => {
    await other?.close();
    await testApp?.close();
  });

  /**
   * A notification service of the first server with its repository or email service changed: the
   * way to stop a digest run at a chosen point, or to make it fail there.
   */
  function firstServerWith(changes: {
    repository?: (base: NotificationRepository) => NotificationRepository;
    email?: EmailService;
  }) {
    const { services } = testApp;
    const base = createNotificationRepository(services.database.db);
    const notifications = createNotificationService({
      repository: changes.repository ? changes.repository(base) : base,
      email: changes.email ?? services.email,
      actors: services.actors,
      audit: services.audit,
      db: services.database.db,
      publicUrl: services.config.publicUrl,
      secretKey: services.secretKey,
      now,
    });
    notifications.registerLinkReadCheck(createLinkReadCheck(services));
    return notifications;
  }

  /**
   * A repository that, once it has read what waits for this person's digest, lets `meanwhile` run
   * before the digest goes on: what happens between reading the notifications and marking them.
   */
  function pausingAfterReading(userId: string, meanwhile: () => Promise<unknown>) {
    let paused = false;
    return (base: NotificationRepository): NotificationRepository => ({
      ...base,
      async findDigestNotifications(...args) {
        const rows = await base.findDigestNotifications(...args);
        if (args[1] === userId && !paused) {
          paused = true;
          await meanwhile();
        }
        return rows;
      },
    });
  }

  /** Records one notification for the user, as an event in another module would. */
  async function notify(user: TestUser, kind: NotificationKind, title: string) {
    const notified = await testApp.services.notifications.notifyNow(
      [user.id],
      {
        kind,
        title,
        body: `${title}.`,
        link: '/notifications',
        actorId: null,
        dedupeKey: `test:${randomUUID()}`,
      },
      () => true,
    );
    expect(notified).toEqual([user.id]);
  }

  async function notificationsOf(user: TestUser) {
    return testApp.services.database.db
      .selectFrom('notifications')
      .select(['title', 'email_status', 'emailed_at'])
      .where('user_id', '=', user.id)
      .execute();
  }

  async function digestsTo(user: TestUser) {
    return testApp.services.database.db
      .selectFrom('email_messages')
      .select(['subject', 'text_body'])
      .where('to_address', '=', user.email)
      .where('kind', 'like', 'digest_%')
      .execute();
  }

  it('sends the next daily digest at the run that finds it a moment short of a day, not a run later', async () => {
    const user = await buildUser(testApp.services);
    await notify(user, 'followed_activity', 'Monday update');
    clock = new Date(clock.getTime() + MINUTE_MS);
    await testApp.services.notifications.sendDueDigests();
    const firstSentAt = clock.getTime();
    expect(await digestsTo(user)).toHaveLength(1);
    await notify(user, 'followed_activity', 'Tuesday update');
    // The run before, a quarter of an hour short of a day: not yet.
    clock = new Date(firstSentAt + DAY_MS - 15 * MINUTE_MS);
    await testApp.services.notifications.sendDueDigests();
    expect(await digestsTo(user)).toHaveLength(1);
    // The next run, which reached this person two seconds sooner in its run than the day before:
    // due, or each day's digest would go a run later than the last.
    clock = new Date(firstSentAt + DAY_MS - 2_000);
    await testApp.services.notifications.sendDueDigests();
    const digests = await digestsTo(user);
    expect(digests).toHaveLength(2);
    expect(digests.map((digest) => digest.text_body).join('\n')).toContain('Tuesday update');
  });

  describe('each notification in one digest', () => {
    it('sends one digest when two servers’ runs overlap, the second running while the first has read and not marked', async () => {
      const user = await buildUser(testApp.services);
      await notify(user, 'followed_activity', 'First update');
      await notify(user, 'followed_activity', 'Second update');
      clock = new Date(clock.getTime() + MINUTE_MS);

      let otherRun: Promise<number> | undefined;
      const first = firstServerWith({
        repository: pausingAfterReading(user.id, () => {
          otherRun = other.services.notifications.sendDueDigests();
          return otherRun;
        }),
      });
      await first.sendDueDigests();
      expect(otherRun).toBeDefined();
      await otherRun;

      const digests = await digestsTo(user);
      expect(digests.map((digest) => digest.subject)).toEqual([
        'Your daily Greenspace digest: 2 updates',
      ]);
      expect(digests[0]!.text_body).toContain('First update');
      expect(digests[0]!.text_body).toContain('Second update');
      const rows = await notificationsOf(user);
      expect(new Set(rows.map((row) => row.email_status))).toEqual(new Set(['sent']));
      expect(new Set(rows.map((row) => row.emailed_at)).size).toBe(1);

      // Neither server sends it again.
      await Promise.all([first.sendDueDigests(), other.services.notifications.sendDueDigests()]);
      expect(await digestsTo(user)).toHaveLength(1);
    });

    it('gives a digest up when some of what it read was settled meanwhile, and the next run sends the rest', async () => {
      const user = await buildUser(testApp.services);
      const actor = await actorFor(testApp.services, user.id);
      await testApp.services.notifications.setPreferences(actor, { mention: 'daily' }, context);
      await notify(user, 'followed_activity', 'About a thread followed');
      await notify(user, 'mention', 'About a mention');
      clock = new Date(clock.getTime() + MINUTE_MS);

      const first = firstServerWith({
        repository: pausingAfterReading(user.id, () =>
          testApp.services.notifications.setPreferences(
            actor,
            { followed_activity: 'off' },
            context,
          ),
        ),
      });
      await first.sendDueDigests();
      expect(await digestsTo(user)).toEqual([]);
      expect(
        new Set((await notificationsOf(user)).map((row) => [row.title, row.email_status].join())),
      ).toEqual(new Set(['About a thread followed,skipped', 'About a mention,digest']));

      await first.sendDueDigests();
      const digests = await digestsTo(user);
      expect(digests.map((digest) => digest.subject)).toEqual([
        'Your daily Greenspace digest: 1 update',
      ]);
      expect(digests[0]!.text_body).toContain('About a mention');
      expect(digests[0]!.text_body).not.toContain('About a thread followed');
    });

    it('leaves everything waiting for the next run when the digest cannot be queued', async () => {
      const user = await buildUser(testApp.services);
      await notify(user, 'followed_activity', 'Kept for the next run');
      clock = new Date(clock.getTime() + MINUTE_MS);

      const failing = firstServerWith({
        email: {
          ...testApp.services.email,
          queue: () => Promise.reject(new Error('the disk is full')),
        },
      });
      await expect(failing.sendDueDigests()).rejects.toThrow('the disk is full');
      expect(await notificationsOf(user)).toMatchObject([
        { email_status: 'digest', emailed_at: null },
      ]);
      expect(await digestsTo(user)).toEqual([]);

      await testApp.services.notifications.sendDueDigests();
      expect((await digestsTo(user)).map((digest) => digest.subject)).toEqual([
        'Your daily Greenspace digest: 1 update',
      ]);
      expect(await notificationsOf(user)).toMatchObject([{ email_status: 'sent' }]);
    });
  });

  describe('only what the person may still read', () => {
    it('asks each kind of page a notification leads to, and refuses a path it does not know', async () => {
      const { services } = testApp;
      const check = createLinkReadCheck(services);
      const privateSlug = `private-pages-${dialect}`;
      const privateWorkspace = await createPrivateWorkspace(services, privateSlug);
      const editor = await buildUser(services, {
        memberships: [{ organisationCode: 'C82001', role: 'editor' }],
      });
      const member = await buildUser(services, {
        memberships: [{ organisationCode: 'C82001', role: 'member' }],
        workspaces: [{ slug: 'llr' }],
      });
      const manager = await buildUser(services, {
        workspaces: [{ slug: 'llr', role: 'manager' }],
      });
      const outsider = await buildUser(services);
      await services.database.db
        .transaction()
        .execute((trx) =>
          services.workspaces.addMember(trx, privateWorkspace.id, member.id, 'member'),
        );
      const editorActor = await actorFor(services, editor.id);
      const created = await services.content.create(
        editorActor,
        'news',
        contentInput({ title: `For the practice only ${dialect}`, privacy: 'organisation' }),
        context,
      );
      await services.content.publish(editorActor, created.id, context);
      const newsLink = services.content.linkOf((await services.content.findById(created.id))!);
      const nowhere = randomUUID();

      const answers = async (user: TestUser, paths: string[]) => {
        const actor = await actorFor(services, user.id);
        const answered: Record<string, boolean> = {};
        for (const path of paths) answered[path] = await check(actor, path);
        return answered;
      };
      expect(
        await answers(member, [
          newsLink,
          `/workspaces/${privateSlug}`,
          '/workspaces/llr/members',
          '/workspaces/llr/moderation',
          '/greener-practice/practices/C82001',
          `/workspaces/llr/threads/${nowhere}`,
          `/green-plans/${nowhere}/actions/${nowhere}`,
          `/greener-practice/reviews/${nowhere}`,
          '/notifications',
          '/admin/users',
          '/',
        ]),
      ).toEqual({
        [newsLink]: true,
        [`/workspaces/${privateSlug}`]: true,
        '/workspaces/llr/members': true,
        '/workspaces/llr/moderation': false,
        '/greener-practice/practices/C82001': true,
        [`/workspaces/llr/threads/${nowhere}`]: false,
        [`/green-plans/${nowhere}/actions/${nowhere}`]: false,
        [`/greener-practice/reviews/${nowhere}`]: false,
        '/notifications': true,
        '/admin/users': false,
        '/': false,
      });
      expect(
        await answers(outsider, [
          newsLink,
          `/workspaces/${privateSlug}`,
          '/workspaces/llr',
          '/workspaces/llr/members',
          '/greener-practice/practices/C82001',
        ]),
      ).toEqual({
        [newsLink]: false,
        [`/workspaces/${privateSlug}`]: false,
        '/workspaces/llr': true,
        '/workspaces/llr/members': false,
        '/greener-practice/practices/C82001': false,
      });
      expect(await answers(manager, ['/workspaces/llr/moderation'])).toEqual({
        '/workspaces/llr/moderation': true,
      });
    });

    it('leaves out a thread hidden since, and a private workspace left since, and sends the rest', async () => {
      const { services } = testApp;
      const privateSlug = `private-digest-${dialect}`;
      const privateWorkspace = await createPrivateWorkspace(services, privateSlug);
      const author = await buildUser(services, { workspaces: [{ slug: 'llr' }] });
      const reader = await buildUser(services, { workspaces: [{ slug: 'llr' }] });
      const manager = await buildUser(services, {
        workspaces: [{ slug: 'llr', role: 'manager' }],
      });
      await services.database.db.transaction().execute(async (trx) => {
        for (const user of [author, reader])
          await services.workspaces.addMember(trx, privateWorkspace.id, user.id, 'member');
      });
      const authorActor = await actorFor(services, author.id);
      const readerActor = await actorFor(services, reader.id);
      const managerActor = await actorFor(services, manager.id);

      const titles = {
        hidden: `Discharge of patient Jane Doe, NHS number 943 476 5919 (${dialect})`,
        open: `Heat pumps at the hub (${dialect})`,
        private: `The private workspace's plans (${dialect})`,
      };
      const threads: Record<keyof typeof titles, { slug: string; id: string }> = {
        hidden: { slug: 'llr', id: '' },
        open: { slug: 'llr', id: '' },
        private: { slug: privateSlug, id: '' },
      };
      for (const key of Object.keys(titles) as (keyof typeof titles)[]) {
        const { threadId } = await services.discussions.createThread(
          authorActor,
          threads[key].slug,
          { title: titles[key], kind: 'discussion', body: 'Opening post', area: '' },
          context,
        );
        threads[key].id = threadId;
        const { conversation } = await services.discussions.threadPage(
          authorActor,
          threads[key].slug,
          threadId,
        );
        await services.discussions.setFollowing(
          readerActor,
          { type: 'conversation', id: conversation.id },
          true,
        );
        if (key === 'hidden')
          await services.discussions.setFollowing(
            managerActor,
            { type: 'conversation', id: conversation.id },
            true,
          );
        await services.discussions.reply(
          authorActor,
          { threadSlug: threads[key].slug, threadId },
          { body: 'A reply for the followers' },
          context,
        );
      }
      expect(
        new Set((await notificationsOf(reader)).map((row) => [row.title, row.email_status].join())),
      ).toEqual(new Set(Object.values(titles).map((title) => `New post: ${title},digest`)));

      // Before the digest: a manager hides one thread, and the reader leaves the private workspace.
      const { changed } = await services.discussions.setThreadFlag(
        managerActor,
        'llr',
        threads.hidden.id,
        'hidden',
        '1',
        context,
      );
      expect(changed).toBe(true);
      await services.discussions.leave(readerActor, privateSlug, context);
      clock = new Date(clock.getTime() + MINUTE_MS);
      await services.notifications.sendDueDigests();

      const digests = await digestsTo(reader);
      expect(digests.map((digest) => digest.subject)).toEqual([
        'Your daily Greenspace digest: 1 update',
      ]);
      expect(digests[0]!.text_body).toContain(`New post: ${titles.open}`);
      expect(digests[0]!.text_body).not.toContain(titles.hidden);
      expect(digests[0]!.text_body).not.toContain(titles.private);
      // Left out for good: settled as not to be emailed, so no later digest sends them either.
      expect(
        new Set((await notificationsOf(reader)).map((row) => [row.title, row.email_status].join())),
      ).toEqual(
        new Set([
          `New post: ${titles.open},sent`,
          `New post: ${titles.hidden},skipped`,
          `New post: ${titles.private},skipped`,
        ]),
      );
      const withheld = await services.database.db
        .selectFrom('audit_events')
        .select(['actor_user_id', 'details'])
        .where('action', '=', 'notifications.digest_items_withheld')
        .where('target_id', '=', reader.id)
        .execute();
      expect(
        withheld.map((row) => ({
          actor: row.actor_user_id,
          details: JSON.parse(row.details ?? '{}') as unknown,
        })),
      ).toEqual([{ actor: null, details: { digest: 'daily', items: 2 } }]);

      // A manager still reads the hidden thread, so their digest still has it.
      const toManager = await digestsTo(manager);
      expect(toManager.map((digest) => digest.subject)).toEqual([
        'Your daily Greenspace digest: 1 update',
      ]);
      expect(toManager[0]!.text_body).toContain(`New post: ${titles.hidden}`);

      // The reader's next digest, a day on, has nothing left over to send.
      clock = new Date(clock.getTime() + 25 * 60 * MINUTE_MS);
      await services.notifications.sendDueDigests();
      expect(await digestsTo(reader)).toHaveLength(1);

      // Their list of notifications keeps the places of the two, without their titles or links.
      const readerNow = await actorFor(services, reader.id);
      const listed = (await services.notifications.list(readerNow, 1, 20)).items.map((item) => [
        item.title,
        item.link,
      ]);
      expect(listed).toContainEqual([
        `New post: ${titles.open}`,
        expect.stringContaining(threads.open.id),
      ]);
      expect(
        listed.filter(([title]) => title === 'About something you can no longer open'),
      ).toEqual([
        ['About something you can no longer open', '/notifications'],
        ['About something you can no longer open', '/notifications'],
      ]);
      expect(JSON.stringify(listed)).not.toContain('Jane Doe');
      expect(JSON.stringify(listed)).not.toContain("private workspace's plans");
      // Opened (the button on an unread one), each goes back to the list, not to its address;
      // the one the reader can still open goes where it points.
      const rows = await services.database.db
        .selectFrom('notifications')
        .select(['id', 'title', 'link'])
        .where('user_id', '=', reader.id)
        .execute();
      for (const row of rows) {
        const opened = await services.notifications.open(readerNow, row.id);
        if (row.title === `New post: ${titles.open}`) expect(opened).toBe(row.link);
        else expect(opened, row.title).toBe('/notifications');
      }
      // The manager's list still names the hidden thread.
      expect(
        (await services.notifications.list(managerActor, 1, 20)).items.map((item) => item.title),
      ).toContain(`New post: ${titles.hidden}`);
    });
  });
});
