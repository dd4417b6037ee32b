import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  actorFor,
  buildUser,
  createPrivateWorkspace,
  type TestUser,
} from '../../../test/support/factories.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';
import { connectDatabase } from '../../db/database.ts';
import type { NotificationKind } from '../../db/schema.ts';
import { createServices, type Services } from '../../services.ts';
import type { EmailService } from '../email/email.service.ts';
import {
  createNotificationRepository,
  type NotificationRepository,
} from './notification.repository.ts';
import { createNotificationService } from './notification.service.ts';

const context = { ip: '127.0.0.1', userAgent: 'notification digest tests' };
const MINUTE_MS = 60_000;

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
});
