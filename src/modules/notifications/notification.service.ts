import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { constantTimeEqual, deriveKey, hmacSha256 } from '../../lib/crypto.ts';
import { localPathOr } from '../../lib/site-path.ts';
import type { Database, NotificationKind, NotificationRow } from '../../db/schema.ts';
import type { Actor } from '../access/policy.ts';
import type { ActorService } from '../access/actor.service.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { EmailService } from '../email/email.service.ts';
import type { RequestContext } from '../../web/request-context.ts';
import type { NotificationRepository } from './notification.repository.ts';

export type Frequency = 'immediately' | 'daily' | 'weekly' | 'off';
export const frequencies: Frequency[] = ['immediately', 'daily', 'weekly', 'off'];

/** The kinds of notification a person can tune, with their defaults. */
export const notificationKinds: Record<
  NotificationKind,
  { label: string; description: string; defaultFrequency: Frequency }
> = {
  reply: {
    label: 'Replies',
    description: 'Someone replies to something you wrote.',
    defaultFrequency: 'immediately',
  },
  mention: {
    label: 'Mentions',
    description: 'Someone mentions you with your @handle.',
    defaultFrequency: 'immediately',
  },
  followed_activity: {
    label: 'What you follow',
    description:
      'New posts in discussions you follow, and new content on areas of focus you follow.',
    defaultFrequency: 'daily',
  },
  new_content: {
    label: 'New in your workspaces',
    description: 'New discussions and content in workspaces you belong to.',
    defaultFrequency: 'weekly',
  },
  moderation: {
    label: 'Moderation',
    description: 'A post of yours is hidden or restored, or something is reported to you.',
    defaultFrequency: 'immediately',
  },
  workspace: {
    label: 'Workspace membership',
    description: 'Requests to join, invitations and decisions.',
    defaultFrequency: 'immediately',
  },
  programme: {
    label: 'Greener General Practice',
    description: 'Submissions for you to verify, and decisions on the submissions you made.',
    defaultFrequency: 'immediately',
  },
};

const DAY_MS = 86_400_000;
const signature = '\n\nGreenspace – the collaboration workspace for a greener NHS';

export interface NewNotification {
  kind: NotificationKind;
  title: string;
  body: string;
  /** A local path, such as /workspaces/llr/threads/<id>#post-<id>. */
  link: string;
  actorId: string | null;
  /** Identifies the event, so that it notifies each person once however often it is processed. */
  dedupeKey: string;
}

export interface PreparedNotification {
  userId: string;
  email: string;
  frequency: Frequency;
  notification: NewNotification;
}

export interface NotificationServiceDependencies {
  repository: NotificationRepository;
  email: EmailService;
  actors: ActorService;
  audit: AuditService;
  db: Kysely<Database>;
  publicUrl: string;
  secretKey: string;
  now?: () => Date;
}

/**
 * Notifications: in the service (a list with an unread count) and by email — at once, in a daily
 * or weekly digest, or not at all, per person and per kind. A notification is only created for
 * someone who may read what it is about, and its email is queued in the same transaction, so each
 * event notifies each person exactly once.
 */
export function createNotificationService(deps: NotificationServiceDependencies) {
  const { repository } = deps;
  const now = deps.now ?? (() => new Date());
  const unsubscribeKey = deriveKey(deps.secretKey, 'unsubscribe');

  async function frequencyOf(
    userId: string,
    kind: NotificationKind,
    executor: Kysely<Database>,
  ): Promise<Frequency> {
    const preferences = await repository.findPreferences(userId, executor);
    return (
      (preferences.find((preference) => preference.kind === kind)?.frequency as
        Frequency | undefined) ?? notificationKinds[kind].defaultFrequency
    );
  }

  function unsubscribeToken(userId: string, kind: string): string {
    return hmacSha256(unsubscribeKey, `${userId}:${kind}`);
  }

  function unsubscribeLink(userId: string, kind: string): string {
    const params = new URLSearchParams({
      user: userId,
      kind,
      token: unsubscribeToken(userId, kind),
    });
    return `${deps.publicUrl}/notifications/unsubscribe?${params.toString()}`;
  }

  function emailHeaders(userId: string, kind: string): Record<string, string> {
    return {
      'List-Unsubscribe': `<${unsubscribeLink(userId, kind)}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    };
  }

  return {
    /**
     * Works out who gets a notification: each recipient who may read what it is about
     * (`canRead`), except the person who acted, with how they want to hear of it. Runs before the
     * transaction that records the change, because it reads (and SQLite has one connection).
     */
    async prepare(
      recipients: Iterable<string>,
      notification: NewNotification,
      canRead: (actor: Actor) => Promise<boolean> | boolean,
    ): Promise<PreparedNotification[]> {
      const prepared: PreparedNotification[] = [];
      for (const userId of new Set(recipients)) {
        if (userId === notification.actorId) continue;
        const actor = await deps.actors.load(userId);
        if (!actor || !actor.email || !(await canRead(actor))) continue;
        prepared.push({
          userId,
          email: actor.email,
          frequency: await frequencyOf(userId, notification.kind, deps.db),
          notification,
        });
      }
      return prepared;
    },

    /**
     * Records prepared notifications inside the caller's transaction, and queues the emails of
     * those wanted at once in the same transaction: each event notifies each person exactly once.
     */
    async record(trx: Transaction<Database>, prepared: PreparedNotification[]): Promise<string[]> {
      const notified: string[] = [];
      for (const { userId, email, frequency, notification } of prepared) {
        if (notified.includes(userId)) continue;
        const at = now().toISOString();
        const row: NotificationRow = {
          id: randomUUID(),
          user_id: userId,
          kind: notification.kind,
          title: notification.title,
          body: notification.body,
          link: notification.link,
          actor_id: notification.actorId,
          dedupe_key: notification.dedupeKey,
          created_at: at,
          read_at: null,
          email_status:
            frequency === 'immediately' ? 'sent' : frequency === 'off' ? 'skipped' : 'digest',
          emailed_at: frequency === 'immediately' ? at : null,
        };
        if (!(await repository.insert(trx, row))) continue;
        notified.push(userId);
        if (frequency === 'immediately') {
          await deps.email.queue(trx, {
            kind: `notification_${notification.kind}`,
            to: email,
            subject: notification.title,
            text: `${notification.body}\n\n${deps.publicUrl}${localPathOr(notification.link, '/notifications')}\n\nYou get these emails at once. Change how often: ${deps.publicUrl}/notifications/settings\nStop emails like this: ${unsubscribeLink(userId, notification.kind)}${signature}`,
            headers: emailHeaders(userId, notification.kind),
          });
        }
      }
      if (notified.length > 0) deps.email.nudge();
      return notified;
    },

    /** Prepares and records in a transaction of its own, for events already committed. */
    async notifyNow(
      recipients: Iterable<string>,
      notification: NewNotification,
      canRead: (actor: Actor) => Promise<boolean> | boolean,
    ): Promise<string[]> {
      const prepared = await this.prepare(recipients, notification, canRead);
      if (prepared.length === 0) return [];
      return deps.db.transaction().execute((trx) => this.record(trx, prepared));
    },

    async list(actor: Actor, page: number, pageSize: number) {
      const [rows, total, unread] = await Promise.all([
        repository.findForUser(actor.userId, pageSize, (page - 1) * pageSize),
        repository.countAll(actor.userId),
        repository.countUnread(actor.userId),
      ]);
      // A read notification is a plain link: it goes only where opening an unread one would.
      const items = rows.map((row) => ({ ...row, link: localPathOr(row.link, '/notifications') }));
      return { items, total, unread };
    },

    countUnread: (userId: string) => repository.countUnread(userId),

    async markRead(actor: Actor, id: string | null): Promise<void> {
      await repository.markRead(actor.userId, id, now().toISOString());
    },

    /**
     * Opening a notification marks it read and says where it points; undefined if the person has
     * no such notification. Only a path on this site is given back, so that a stored link can never
     * send anyone elsewhere.
     */
    async open(actor: Actor, id: string): Promise<string | undefined> {
      const notification = await repository.findOneForUser(actor.userId, id);
      if (!notification) return undefined;
      if (!notification.read_at) await repository.markRead(actor.userId, id, now().toISOString());
      return localPathOr(notification.link, '/notifications');
    },

    preferencesOf: (userId: string) => repository.findPreferences(userId),

    async preferences(
      actor: Actor,
    ): Promise<
      { kind: NotificationKind; label: string; description: string; frequency: Frequency }[]
    > {
      const stored = await repository.findPreferences(actor.userId);
      return (Object.keys(notificationKinds) as NotificationKind[]).map((kind) => ({
        kind,
        ...notificationKinds[kind],
        frequency:
          (stored.find((preference) => preference.kind === kind)?.frequency as
            Frequency | undefined) ?? notificationKinds[kind].defaultFrequency,
      }));
    },

    async setPreferences(
      actor: Actor,
      choices: Record<string, string>,
      context: RequestContext,
      details: Record<string, string> = {},
    ): Promise<void> {
      await deps.db.transaction().execute(async (trx) => {
        for (const kind of Object.keys(notificationKinds)) {
          const frequency = choices[kind];
          if (frequency && (frequencies as string[]).includes(frequency)) {
            await repository.setPreference(trx, actor.userId, kind, frequency as Frequency);
          }
        }
        await deps.audit.record(
          {
            action: 'notifications.settings_changed',
            actorUserId: actor.userId,
            targetType: 'user',
            targetId: actor.userId,
            details: { ...choices, ...details },
          },
          context,
          trx,
        );
      });
    },

    /** Checks a one-click unsubscribe link; the token is an HMAC of the user and the kind. */
    verifyUnsubscribe(userId: string, kind: string, token: string): boolean {
      return (
        Object.hasOwn(notificationKinds, kind) &&
        /^[0-9a-f-]{36}$/.test(userId) &&
        constantTimeEqual(token, unsubscribeToken(userId, kind))
      );
    },

    /** Turns off the emails of one kind, from a verified one-click link. */
    async unsubscribe(userId: string, kind: string, context: RequestContext): Promise<void> {
      await deps.db.transaction().execute(async (trx) => {
        await repository.setPreference(trx, userId, kind, 'off');
        await deps.audit.record(
          {
            action: 'notifications.unsubscribed',
            actorUserId: null,
            targetType: 'user',
            targetId: userId,
            details: { kind },
          },
          context,
          trx,
        );
      });
    },

    unsubscribeLink,

    /**
     * Sends the daily and weekly digests that are due: one email per person listing what has
     * waited since their last digest. Safe to run as often as wanted: a digest is not due again
     * until a day (or a week) after the last.
     */
    async sendDueDigests(): Promise<number> {
      let sent = 0;
      for (const userId of await repository.findUsersWithDigestNotifications()) {
        const actor = await deps.actors.load(userId);
        if (!actor?.email) continue;
        const preferences = await repository.findPreferences(userId);
        const frequencyFor = (kind: NotificationKind) =>
          (preferences.find((preference) => preference.kind === kind)?.frequency as
            Frequency | undefined) ?? notificationKinds[kind].defaultFrequency;
        for (const frequency of ['daily', 'weekly'] as const) {
          const kinds = (Object.keys(notificationKinds) as NotificationKind[]).filter(
            (kind) => frequencyFor(kind) === frequency,
          );
          const last = await repository.lastDigestAt(userId, kinds);
          const interval = frequency === 'daily' ? DAY_MS : 7 * DAY_MS;
          if (last && now().getTime() - new Date(last).getTime() < interval) continue;
          const didSend = await deps.db.transaction().execute(async (trx) => {
            const waiting = (await repository.findDigestNotifications(trx, userId)).filter((item) =>
              kinds.includes(item.kind),
            );
            if (waiting.length === 0) return false;
            const lines = waiting.map(
              (item) =>
                `- ${item.title}\n  ${deps.publicUrl}${localPathOr(item.link, '/notifications')}`,
            );
            await deps.email.queue(trx, {
              kind: `digest_${frequency}`,
              to: actor.email,
              subject: `Your ${frequency} Greenspace digest: ${waiting.length} update${waiting.length === 1 ? '' : 's'}`,
              text: `Dear ${actor.displayName},\n\nHere is what happened since your last digest:\n\n${lines.join('\n')}\n\nChange how often you hear from us: ${deps.publicUrl}/notifications/settings${signature}`,
              headers: emailHeaders(userId, waiting[0]!.kind),
            });
            await repository.markEmailed(
              trx,
              waiting.map((item) => item.id),
              now().toISOString(),
            );
            return true;
          });
          if (didSend) sent++;
        }
      }
      if (sent > 0) deps.email.nudge();
      return sent;
    },

    /** When an account is deleted, its notifications go with it. */
    /**
     * Forgets everyone's notifications about something that no longer exists (a deleted plan),
     * read or not, emailed or not: their links would lead nowhere.
     */
    removeLinkingTo: (trx: Transaction<Database>, path: string) =>
      repository.deleteLinkingTo(trx, path),
    removeForUser: (trx: Transaction<Database>, userId: string) =>
      repository.deleteForUser(trx, userId),
  };
}

export type NotificationService = ReturnType<typeof createNotificationService>;
