import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { actorFor, buildUser, type TestUser } from '../../../test/support/factories.ts';
import { HttpAgent, signInAs } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';
import type { NotificationKind } from '../../db/schema.ts';

const context = { ip: '127.0.0.1', userAgent: 'notification settings tests' };
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

describe.each(testDialects)('notification settings, digests and the list on %s', (dialect) => {
  let testApp: TestApp;
  /** Stands the service's clock still while set; sessions and pages run on the real one. */
  let clock: Date | undefined;

  beforeAll(async () => {
    testApp = await createTestApp(dialect, { services: { now: () => clock ?? new Date() } });
  });
  afterAll(async () => testApp.close());

  /** Moves the stood-still clock on (starting it now if it was not set). */
  function advance(ms: number): void {
    clock = new Date((clock ?? new Date()).getTime() + ms);
  }

  async function signedIn(user: TestUser): Promise<HttpAgent> {
    const browser = new HttpAgent(testApp.app);
    await signInAs(browser, user);
    return browser;
  }

  /** Records one notification for the user, as an event in another module would. */
  async function notify(user: TestUser, kind: NotificationKind, title = `About ${kind}`) {
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
      .select(['id', 'kind', 'title', 'email_status', 'read_at'])
      .where('user_id', '=', user.id)
      .orderBy('created_at')
      .orderBy('title')
      .execute();
  }

  /** The notification and digest emails queued for the user (not those about their account). */
  async function emailsTo(user: TestUser) {
    return testApp.services.database.db
      .selectFrom('email_messages')
      .select(['kind', 'subject', 'text_body', 'headers'])
      .where('to_address', '=', user.email)
      .where((eb) => eb.or([eb('kind', 'like', 'notification_%'), eb('kind', 'like', 'digest_%')]))
      .orderBy('created_at')
      .execute();
  }

  async function auditOf(user: TestUser, action: string) {
    const rows = await testApp.services.database.db
      .selectFrom('audit_events')
      .select(['actor_user_id', 'details'])
      .where('target_id', '=', user.id)
      .where('action', '=', action)
      .orderBy('id')
      .execute();
    return rows.map((row) => ({
      actor: row.actor_user_id,
      details: JSON.parse(row.details ?? '{}') as Record<string, unknown>,
    }));
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

  async function frequenciesOf(user: TestUser) {
    const preferences = await testApp.services.notifications.preferences(
      await actorFor(testApp.services, user.id),
    );
    return Object.fromEntries(preferences.map((entry) => [entry.kind, entry.frequency]));
  }

  async function followedAreasOf(user: TestUser): Promise<string[]> {
    const rows = await testApp.services.database.db
      .selectFrom('follows')
      .select('subject_id')
      .where('user_id', '=', user.id)
      .where('subject_type', '=', 'area')
      .orderBy('subject_id')
      .execute();
    return rows.map((row) => row.subject_id);
  }

  /** The address in a List-Unsubscribe header, as a path on this site. */
  function unsubscribePathIn(headers: string | null): string {
    const link = new URL(
      (JSON.parse(headers ?? '{}') as Record<string, string>)['List-Unsubscribe']!.slice(1, -1),
    );
    return `${link.pathname}${link.search}`;
  }

  describe('saving the settings form', () => {
    it('refuses anonymous visitors before looking at the form, and a form without its token', async () => {
      const anonymous = await new HttpAgent(testApp.app).post('/notifications/settings', {
        reply: 'hourly',
        areas: 'nowhere',
      });
      expect(anonymous.statusCode).toBe(303);
      expect(String(anonymous.headers.location)).toMatch(/^\/sign-in/);
      const user = await buildUser(testApp.services);
      const browser = await signedIn(user);
      const forged = await browser.post(
        '/notifications/settings',
        { reply: 'weekly' },
        { csrf: false },
      );
      expect(forged.statusCode).toBe(403);
      expect((await frequenciesOf(user)).reply).toBe('immediately');
    });

    it('changes follows and preferences together, with one audit record', async () => {
      const user = await buildUser(testApp.services);
      const browser = await signedIn(user);
      const body = new URLSearchParams({ _csrf: await browser.csrfToken(), reply: 'weekly' });
      body.append('areas', 'medicines');
      body.append('areas', 'travel-and-transport');
      const saved = await testApp.app.inject({
        method: 'POST',
        url: '/notifications/settings',
        headers: {
          cookie: [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
          'content-type': 'application/x-www-form-urlencoded',
        },
        payload: body.toString(),
      });
      expect(saved.statusCode).toBe(303);
      expect(saved.headers.location).toBe('/notifications?done=settings');
      expect(await followedAreasOf(user)).toEqual(['medicines', 'travel-and-transport']);
      expect((await frequenciesOf(user)).reply).toBe('weekly');
      expect(await auditOf(user, 'notifications.settings_changed')).toEqual([
        { actor: user.id, details: { reply: 'weekly', areas: 'medicines,travel-and-transport' } },
      ]);

      // Unticking an area unfollows it; the rest stays.
      const again = await browser.post('/notifications/settings', { areas: 'medicines' });
      expect(again.statusCode).toBe(303);
      expect(await followedAreasOf(user)).toEqual(['medicines']);
      expect((await frequenciesOf(user)).reply).toBe('weekly');
    });

    it('refuses an unknown area or frequency and changes nothing', async () => {
      const user = await buildUser(testApp.services);
      const browser = await signedIn(user);
      const badArea = await browser.post('/notifications/settings', {
        reply: 'daily',
        areas: 'astrology',
      });
      expect(badArea.statusCode).toBe(400);
      expect(badArea.body).toContain('&quot;astrology&quot; is not an area of focus.');
      const badFrequency = await browser.post('/notifications/settings', {
        reply: 'hourly',
        areas: 'medicines',
      });
      expect(badFrequency.statusCode).toBe(400);
      expect(badFrequency.body).toContain('The &quot;reply&quot; field must be one of');
      expect(await followedAreasOf(user)).toEqual([]);
      expect((await frequenciesOf(user)).reply).toBe('immediately');
      expect(await auditOf(user, 'notifications.settings_changed')).toEqual([]);
    });

    it('takes the areas ticked as a list, but refuses any other field sent twice, or a NUL anywhere, naming the field', async () => {
      const user = await buildUser(testApp.services);
      const browser = await signedIn(user);
      const twice = await postPairs(browser, '/notifications/settings', [
        ['reply', 'weekly'],
        ['reply', 'off'],
        ['areas', 'medicines'],
      ]);
      expect(twice.statusCode).toBe(400);
      expect(twice.body).toContain('The &quot;reply&quot; field must be sent once');
      const nul = await postPairs(browser, '/notifications/settings', [
        ['areas', 'medicines'],
        ['areas', 'travel-and-transport\u0000'],
      ]);
      expect(nul.statusCode).toBe(400);
      expect(nul.body).toContain(
        'The &quot;areas&quot; field holds a character that cannot be saved',
      );
      expect(await followedAreasOf(user)).toEqual([]);
      expect((await frequenciesOf(user)).reply).toBe('immediately');
      expect(await auditOf(user, 'notifications.settings_changed')).toEqual([]);
    });

    it('keeps neither the follows nor the preferences when the audit record cannot be written', async () => {
      const user = await buildUser(testApp.services);
      const browser = await signedIn(user);
      expect(
        (await browser.post('/notifications/settings', { areas: 'adaptation' })).statusCode,
      ).toBe(303);
      const failing = vi
        .spyOn(testApp.services.audit, 'record')
        .mockRejectedValueOnce(new Error('the audit log is unavailable'));
      try {
        const failed = await browser.post('/notifications/settings', {
          reply: 'off',
          mention: 'weekly',
          areas: 'medicines',
        });
        expect(failed.statusCode).toBe(500);
      } finally {
        failing.mockRestore();
      }
      expect(await followedAreasOf(user)).toEqual(['adaptation']);
      expect(await frequenciesOf(user)).toMatchObject({
        reply: 'immediately',
        mention: 'immediately',
      });
      // The database is free again: nothing was left holding it.
      expect((await browser.post('/notifications/settings', { reply: 'daily' })).statusCode).toBe(
        303,
      );
      expect(await followedAreasOf(user)).toEqual([]);
    });
  });

  describe('what waits for a digest when a preference changes', () => {
    it('does not email later what waited, when a kind changes to at once or off; it stays listed', async () => {
      const user = await buildUser(testApp.services);
      const actor = await actorFor(testApp.services, user.id);
      await testApp.services.notifications.setPreferences(
        actor,
        { reply: 'daily', mention: 'weekly' },
        context,
      );
      advance(0);
      await notify(user, 'reply', 'First reply');
      await notify(user, 'reply', 'Second reply');
      await notify(user, 'mention', 'A mention');
      expect((await notificationsOf(user)).map((row) => row.email_status)).toEqual([
        'digest',
        'digest',
        'digest',
      ]);

      const browser = await signedIn(user);
      expect(
        (await browser.post('/notifications/settings', { reply: 'immediately', mention: 'off' }))
          .statusCode,
      ).toBe(303);
      expect(await notificationsOf(user)).toMatchObject([
        { title: 'A mention', email_status: 'skipped', read_at: null },
        { title: 'First reply', email_status: 'skipped', read_at: null },
        { title: 'Second reply', email_status: 'skipped', read_at: null },
      ]);
      expect((await auditOf(user, 'notifications.settings_changed')).at(-1)?.details).toEqual({
        reply: 'immediately',
        mention: 'off',
        areas: '',
        digestItemsNotEmailed: 3,
      });
      // Still on the list, unread.
      const list = await browser.get('/notifications');
      expect(list.body).toContain('First reply');
      expect(list.body).toContain('You have 3 unread notifications.');
      advance(HOUR_MS);
      await testApp.services.notifications.sendDueDigests();
      expect((await emailsTo(user)).filter((email) => email.kind.startsWith('digest_'))).toEqual(
        [],
      );
    });

    it('settles what waited for the digest of an account that was disabled, and sends it no digest', async () => {
      const user = await buildUser(testApp.services);
      const actor = await actorFor(testApp.services, user.id);
      await testApp.services.notifications.setPreferences(actor, { reply: 'daily' }, context);
      advance(0);
      await notify(user, 'reply', 'Waiting while disabled');
      await testApp.services.database.db
        .updateTable('users')
        .set({ status: 'disabled' })
        .where('id', '=', user.id)
        .execute();
      advance(DAY_MS);
      await testApp.services.notifications.sendDueDigests();
      expect(await notificationsOf(user)).toMatchObject([
        { title: 'Waiting while disabled', email_status: 'skipped', read_at: null },
      ]);
      // Enabled again, nothing old arrives in a digest.
      await testApp.services.database.db
        .updateTable('users')
        .set({ status: 'active' })
        .where('id', '=', user.id)
        .execute();
      advance(DAY_MS);
      await testApp.services.notifications.sendDueDigests();
      expect((await emailsTo(user)).filter((email) => email.kind.startsWith('digest_'))).toEqual(
        [],
      );
    });

    it('keeps what waited for the new digest when a kind moves between daily and weekly', async () => {
      const user = await buildUser(testApp.services);
      const actor = await actorFor(testApp.services, user.id);
      await testApp.services.notifications.setPreferences(actor, { reply: 'daily' }, context);
      advance(0);
      await notify(user, 'reply', 'A reply that waits');
      await testApp.services.notifications.setPreferences(actor, { reply: 'weekly' }, context);
      expect((await notificationsOf(user)).map((row) => row.email_status)).toEqual(['digest']);
      advance(60_000);
      await testApp.services.notifications.sendDueDigests();
      const digests = (await emailsTo(user)).filter((email) => email.kind.startsWith('digest_'));
      expect(digests).toMatchObject([
        { kind: 'digest_weekly', subject: 'Your weekly Greenspace digest: 1 update' },
      ]);
      expect(digests[0]!.text_body).toContain('A reply that waits');
      expect((await notificationsOf(user)).map((row) => row.email_status)).toEqual(['sent']);
    });

    it('settles, at the next digest run, an item recorded as waiting after its kind left the digests', async () => {
      const user = await buildUser(testApp.services);
      advance(0);
      // As when a notification is prepared just before its kind was changed to "at once".
      await testApp.services.database.db
        .insertInto('notifications')
        .values({
          id: randomUUID(),
          user_id: user.id,
          kind: 'moderation',
          title: 'Stranded',
          body: 'Stranded.',
          link: '/notifications',
          actor_id: null,
          dedupe_key: `test:${randomUUID()}`,
          created_at: clock!.toISOString(),
          read_at: null,
          email_status: 'digest',
          emailed_at: null,
        })
        .execute();
      advance(60_000);
      await testApp.services.notifications.sendDueDigests();
      expect(await notificationsOf(user)).toMatchObject([
        { title: 'Stranded', email_status: 'skipped' },
      ]);
      expect(await emailsTo(user)).toEqual([]);
    });

    it('counts only digests as the last digest, not notifications emailed at once', async () => {
      const user = await buildUser(testApp.services);
      const actor = await actorFor(testApp.services, user.id);
      const digestsTo = async () =>
        (await emailsTo(user))
          .filter((email) => email.kind === 'digest_daily')
          .map((email) => email.subject);
      advance(0);
      await notify(user, 'reply', 'Emailed at once');
      expect((await emailsTo(user)).map((email) => email.kind)).toEqual(['notification_reply']);
      advance(HOUR_MS);
      await testApp.services.notifications.setPreferences(actor, { reply: 'daily' }, context);
      await notify(user, 'reply', 'Waits for the digest');
      advance(60_000);
      // The reply emailed at once an hour ago is no digest: the first daily digest goes now.
      await testApp.services.notifications.sendDueDigests();
      expect(await digestsTo()).toEqual(['Your daily Greenspace digest: 1 update']);
      // The digest just sent does count: the next waits for a day.
      advance(HOUR_MS);
      await notify(user, 'reply', 'Waits for tomorrow');
      advance(60_000);
      await testApp.services.notifications.sendDueDigests();
      expect(await digestsTo()).toHaveLength(1);
      advance(24 * HOUR_MS);
      await testApp.services.notifications.sendDueDigests();
      expect(await digestsTo()).toEqual([
        'Your daily Greenspace digest: 1 update',
        'Your daily Greenspace digest: 1 update',
      ]);
    });
  });

  describe('unsubscribing from a digest', () => {
    let user: TestUser;
    let digest: { text_body: string; headers: string | null };

    beforeAll(async () => {
      user = await buildUser(testApp.services);
      await testApp.services.notifications.setPreferences(
        await actorFor(testApp.services, user.id),
        { reply: 'daily', programme: 'daily', mention: 'weekly' },
        context,
      );
      advance(0);
      await notify(user, 'programme', 'A submission to verify');
      await notify(user, 'reply', 'A reply');
      advance(60_000);
      await testApp.services.notifications.sendDueDigests();
      const digests = (await emailsTo(user)).filter((email) => email.kind === 'digest_daily');
      expect(digests).toHaveLength(1);
      digest = digests[0]!;
    });

    it('signs the digest’s List-Unsubscribe for the digest, and puts the same link in its text', () => {
      const path = unsubscribePathIn(digest.headers);
      const link = new URL(path, 'http://localhost');
      expect(link.searchParams.get('digest')).toBe('daily');
      expect(link.searchParams.has('kind')).toBe(false);
      expect(digest.text_body).toContain(
        `Stop the daily digest (everything sent in it): ${testApp.config.publicUrl}${path}`,
      );
    });

    it('refuses a digest link altered to another digest, a kind’s token, or both at once', async () => {
      const path = unsubscribePathIn(digest.headers);
      const weekly = new URL(path, 'http://localhost');
      weekly.searchParams.set('digest', 'weekly');
      const kindLink = new URL(
        testApp.services.notifications.unsubscribeLink(user.id, { kind: 'reply' }),
      );
      const kindTokenOnDigest = new URL(path, 'http://localhost');
      kindTokenOnDigest.searchParams.set('token', kindLink.searchParams.get('token')!);
      const both = new URL(path, 'http://localhost');
      both.searchParams.set('kind', 'reply');
      for (const forged of [weekly, kindTokenOnDigest, both]) {
        const address = `${forged.pathname}${forged.search}`;
        expect((await new HttpAgent(testApp.app).get(address)).statusCode, address).toBe(400);
        const refused = await new HttpAgent(testApp.app).post(address, {}, { csrf: false });
        expect(refused.statusCode, address).toBe(400);
        expect(refused.body).toContain('This unsubscribe link is not valid');
      }
      expect(await frequenciesOf(user)).toMatchObject({
        reply: 'daily',
        programme: 'daily',
        followed_activity: 'daily',
      });
    });

    it('says which kinds the digest carries, with their names as written', async () => {
      const page = await new HttpAgent(testApp.app).get(unsubscribePathIn(digest.headers));
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('Stop these emails?');
      expect(page.body).toContain('This stops your daily digest.');
      expect(page.body).toContain('<li>Replies</li>');
      expect(page.body).toContain('<li>What you follow</li>');
      expect(page.body).toContain('<li>Greener General Practice</li>');
      expect(page.body).not.toContain('greener general practice');
      expect(page.body).not.toContain('<li>Mentions</li>');
    });

    it('turns off, with one click, every kind sent in that digest and what waited for it', async () => {
      advance(60_000);
      await notify(user, 'reply', 'A reply still waiting');
      await notify(user, 'mention', 'A mention for the weekly digest');
      const path = unsubscribePathIn(digest.headers);
      // A mail program posts without cookies or a CSRF token.
      const done = await new HttpAgent(testApp.app).post(path, {}, { csrf: false });
      expect(done.statusCode).toBe(200);
      expect(done.body).toContain('You have been unsubscribed');
      expect(done.body).toContain('You will no longer get a daily digest.');
      for (const label of ['Replies', 'What you follow', 'Greener General Practice']) {
        expect(done.body).toContain(`<li>${label}</li>`);
      }
      expect(await frequenciesOf(user)).toEqual({
        reply: 'off',
        mention: 'weekly',
        followed_activity: 'off',
        new_content: 'weekly',
        moderation: 'immediately',
        workspace: 'immediately',
        programme: 'off',
      });
      const waiting = await notificationsOf(user);
      expect(waiting.find((row) => row.title === 'A reply still waiting')?.email_status).toBe(
        'skipped',
      );
      expect(waiting.find((row) => row.title.startsWith('A mention'))?.email_status).toBe('digest');
      expect(await auditOf(user, 'notifications.unsubscribed')).toEqual([
        {
          actor: null,
          details: {
            kinds: 'reply,followed_activity,programme',
            digest: 'daily',
            digestItemsNotEmailed: 1,
          },
        },
      ]);
    });

    it('says truthfully that a second click changes nothing', async () => {
      const path = unsubscribePathIn(digest.headers);
      const confirm = await new HttpAgent(testApp.app).get(path);
      expect(confirm.statusCode).toBe(200);
      expect(confirm.body).toContain('There is nothing to unsubscribe from');
      expect(confirm.body).not.toContain('Unsubscribe</button>');
      const again = await new HttpAgent(testApp.app).post(path, {}, { csrf: false });
      expect(again.statusCode).toBe(200);
      expect(again.body).toContain('There is nothing to unsubscribe from');
      expect(again.body).not.toContain('You have been unsubscribed');
      expect(await auditOf(user, 'notifications.unsubscribed')).toHaveLength(1);
    });

    it('still honours the link of a single email, for that kind only', async () => {
      const path = new URL(
        testApp.services.notifications.unsubscribeLink(user.id, { kind: 'mention' }),
      );
      const done = await new HttpAgent(testApp.app).post(
        `${path.pathname}${path.search}`,
        {},
        { csrf: false },
      );
      expect(done.statusCode).toBe(200);
      expect(done.body).toContain('<li>Mentions</li>');
      expect(done.body).not.toContain('digest');
      expect(await frequenciesOf(user)).toMatchObject({ mention: 'off', new_content: 'weekly' });
    });
  });

  describe('the notification list', () => {
    let reader: TestUser;
    let browser: HttpAgent;

    beforeAll(async () => {
      clock = undefined;
      reader = await buildUser(testApp.services);
      await testApp.services.notifications.setPreferences(
        await actorFor(testApp.services, reader.id),
        { workspace: 'off' },
        context,
      );
      // 60 notifications: three pages of 25.
      for (let index = 0; index < 60; index++) {
        await notify(reader, 'workspace', `Notification ${String(index).padStart(2, '0')}`);
      }
      browser = await signedIn(reader);
    });

    it('shows the not-found page for a page past the end, not an empty list', async () => {
      const last = await browser.get('/notifications?page=3');
      expect(last.statusCode).toBe(200);
      for (const page of [4, 99]) {
        const past = await browser.get(`/notifications?page=${page}`);
        expect(past.statusCode).toBe(404);
        expect(past.body).toContain('Page not found');
        expect(past.body).toContain('Your notifications have 3 pages.');
        expect(past.body).not.toContain('Nothing yet');
      }
      const newcomer = await signedIn(await buildUser(testApp.services));
      const empty = await newcomer.get('/notifications');
      expect(empty.statusCode).toBe(200);
      expect(empty.body).toContain('Nothing yet');
      expect((await newcomer.get('/notifications?page=2')).statusCode).toBe(404);
    });

    it('returns to the page "Mark as read" was pressed on', async () => {
      const page = await browser.get('/notifications?page=3');
      expect(page.body).toContain('<input type="hidden" name="page" value="3">');
      const id = /name="id" value="([0-9a-f-]{36})"/.exec(page.body)![1]!;
      const marked = await browser.post('/notifications/read', { id, page: '3' });
      expect(marked.statusCode).toBe(303);
      expect(marked.headers.location).toBe('/notifications?done=read&page=3');
      const rows = await notificationsOf(reader);
      expect(rows.find((row) => row.id === id)?.read_at).not.toBeNull();
      expect(rows.filter((row) => row.read_at !== null)).toHaveLength(1);
      // The first page sends no page number, and comes back to the first page.
      const first = await browser.get('/notifications');
      expect(first.body).not.toContain('name="page"');
      const firstId = /name="id" value="([0-9a-f-]{36})"/.exec(first.body)![1]!;
      expect((await browser.post('/notifications/read', { id: firstId })).headers.location).toBe(
        '/notifications?done=read',
      );
    });

    it('refuses "Mark as read" with its id or page sent twice, naming the field, and marks nothing', async () => {
      const page = await browser.get('/notifications');
      const ids = [...page.body.matchAll(/name="id" value="([0-9a-f-]{36})"/g)].map(
        (match) => match[1]!,
      );
      const readBefore = (await notificationsOf(reader)).filter((row) => row.read_at !== null);
      const sentTwice: [string, [string, string][]][] = [
        [
          'id',
          [
            ['id', ids[0]!],
            ['id', ids[1]!],
          ],
        ],
        [
          'page',
          [
            ['page', '2'],
            ['page', '3'],
          ],
        ],
      ];
      for (const [field, pairs] of sentTwice) {
        const refused = await postPairs(browser, '/notifications/read', pairs);
        expect(refused.statusCode, field).toBe(400);
        expect(refused.body).toContain(`The &quot;${field}&quot; field must be sent once`);
      }
      expect((await notificationsOf(reader)).filter((row) => row.read_at !== null)).toEqual(
        readBefore,
      );
    });

    it('refuses a page that is not a page number, and marks nothing', async () => {
      for (const page of ['0', 'three', '-1', '1e3']) {
        const refused = await browser.post('/notifications/read', { page });
        expect(refused.statusCode, page).toBe(400);
        expect(refused.body).toContain('The &quot;page&quot; field must be a whole number');
      }
      expect((await notificationsOf(reader)).filter((row) => row.read_at !== null)).toHaveLength(2);
      const all = await browser.post('/notifications/read', { page: '2' });
      expect(all.headers.location).toBe('/notifications?done=read&page=2');
      expect((await notificationsOf(reader)).every((row) => row.read_at !== null)).toBe(true);
    });
  });

  describe('wording', () => {
    it('describes the settings truthfully', async () => {
      const page = await (
        await signedIn(await buildUser(testApp.services))
      ).get('/notifications/settings');
      expect(page.body).toContain('No emails (still listed on your notifications page)');
      expect(page.body).not.toContain('still listed here');
      expect(page.body).toContain(
        'Someone asks to join a workspace you manage, or your own request to join is decided.',
      );
      expect(page.body).not.toContain('invitations');
    });
  });
});
