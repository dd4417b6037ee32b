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
export type DigestFrequency = Extract<Frequency, 'daily' | 'weekly'>;
const digestFrequencies: DigestFrequency[] = ['daily', 'weekly'];

/** How often someone wants each kind emailed; kinds left out keep what they had. */
export type FrequencyChoices = Partial<Record<NotificationKind, Frequency>>;

/** The query of a one-click unsubscribe link, as it arrived: nothing in it is trusted yet. */
export interface UnsubscribeLink {
  user?: string;
  /** Set on the links of single emails: that kind is turned off. */
  kind?: string;
  /** Set on the links of digests: every kind sent in that digest is turned off. */
  digest?: string;
  token?: string;
}

/** What a verified unsubscribe link turns off (or turned off): the digest it came from, if any. */
export interface UnsubscribeOutcome {
  digest: DigestFrequency | null;
  kinds: { kind: NotificationKind; label: string }[];
}

/** What one unsubscribe link covers: one kind of email, or a daily or weekly digest. */
export type UnsubscribeScope = { kind: NotificationKind } | { digest: DigestFrequency };

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
    description:
      'Someone asks to join a workspace you manage, or your own request to join is decided.',
    defaultFrequency: 'immediately',
  },
  programme: {
    label: 'Greener General Practice',
    description: 'Submissions for you to verify, and decisions on the submissions you made.',
    defaultFrequency: 'immediately',
  },
};

const allKinds = Object.keys(notificationKinds) as NotificationKind[];
type Executor = Kysely<Database> | Transaction<Database>;

const DAY_MS = 86_400_000;
/**
 * A digest is due this long before a whole day (or week) since the last. Runs come every 15
 * minutes and reach each person a varying moment into the run: due only at the exact interval, a
 * digest found a moment short would wait for the next run, and so slip a quarter of an hour later
 * each time. The margin is well under a run's period, so digests do not creep earlier either.
 */
const DIGEST_DUE_MARGIN_MS = 5 * 60_000;
const signature = '\n\nGreenspace – the collaboration workspace for a greener NHS';

/**
 * Whether someone may open a page on this site now, by the rules of the module that serves it: a
 * path with no fragment, as a notification leads to. Unknown paths must answer false.
 */
export type LinkReadCheck = (actor: Actor, path: string) => Promise<boolean>;

/** Raised in a digest's transaction when some of what it lists was taken first: it rolls back. */
class DigestTakenElsewhere extends Error {
  override name = 'DigestTakenElsewhere';
}

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
  let linkReadCheck: LinkReadCheck | undefined;

  /** Each kind's frequency for this person: their choice, or the kind's default. */
  async function frequenciesOf(
    userId: string,
    executor: Executor,
  ): Promise<Record<NotificationKind, Frequency>> {
    const stored = await repository.findPreferences(userId, executor);
    const chosen = (kind: NotificationKind) =>
      (stored.find((preference) => preference.kind === kind)?.frequency as Frequency | undefined) ??
      notificationKinds[kind].defaultFrequency;
    return Object.fromEntries(allKinds.map((kind) => [kind, chosen(kind)])) as Record<
      NotificationKind,
      Frequency
    >;
  }

  /**
   * Settles what waits for a digest but is of a kind no longer taken in one (now emailed at once,
   * or not at all): it is not emailed later, and stays on the notifications list. Left waiting, it
   * would never be sent and would come back in every digest scan.
   */
  async function settleWaiting(
    executor: Executor,
    userId: string,
    frequencyOf: Partial<Record<NotificationKind, Frequency>>,
  ): Promise<number> {
    const notDigested = allKinds.filter((kind) => {
      const frequency = frequencyOf[kind];
      return frequency !== undefined && !(digestFrequencies as string[]).includes(frequency);
    });
    return repository.skipWaitingForDigest(executor, userId, notDigested);
  }

  /**
   * Splits what waits for a digest by whether the person may still open what each item leads to:
   * access is checked when the event happens, and a digest can go days later, after a thread was
   * hidden or the person left a private workspace. Each page is asked about once.
   */
  async function sortByAccess(
    check: LinkReadCheck,
    actor: Actor,
    items: NotificationRow[],
  ): Promise<{ readable: NotificationRow[]; withheld: NotificationRow[] }> {
    const verdicts = new Map<string, boolean>();
    const readable: NotificationRow[] = [];
    const withheld: NotificationRow[] = [];
    for (const item of items) {
      // A fragment never reaches the server: the posts of one page share its answer.
      const page = localPathOr(item.link, '').split('#', 1)[0]!;
      let verdict = verdicts.get(page);
      if (verdict === undefined) {
        verdict = page !== '' && (await check(actor, page));
        verdicts.set(page, verdict);
      }
      (verdict ? readable : withheld).push(item);
    }
    return { readable, withheld };
  }

  // A kind's link signs `<user>:<kind>`, as links in emails already sent do; a digest's signs
  // `<user>:digest:<frequency>`, which no kind can be, so neither link can pass for the other.
  function unsubscribeToken(userId: string, scope: UnsubscribeScope): string {
    const signed = 'kind' in scope ? scope.kind : `digest:${scope.digest}`;
    return hmacSha256(unsubscribeKey, `${userId}:${signed}`);
  }

  function unsubscribeLink(userId: string, scope: UnsubscribeScope): string {
    const params = new URLSearchParams({
      user: userId,
      ...('kind' in scope ? { kind: scope.kind } : { digest: scope.digest }),
      token: unsubscribeToken(userId, scope),
    });
    return `${deps.publicUrl}/notifications/unsubscribe?${params.toString()}`;
  }

  function emailHeaders(userId: string, scope: UnsubscribeScope): Record<string, string> {
    return {
      'List-Unsubscribe': `<${unsubscribeLink(userId, scope)}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    };
  }

  /** The person and what the link covers, if its signature is good; undefined otherwise. */
  function verifyUnsubscribe(
    link: UnsubscribeLink,
  ): { userId: string; scope: UnsubscribeScope } | undefined {
    const userId = link.user ?? '';
    if (!/^[0-9a-f-]{36}$/.test(userId)) return undefined;
    let scope: UnsubscribeScope;
    if (link.kind !== undefined && link.digest === undefined) {
      if (!Object.hasOwn(notificationKinds, link.kind)) return undefined;
      scope = { kind: link.kind as NotificationKind };
    } else if (link.digest !== undefined && link.kind === undefined) {
      if (!(digestFrequencies as string[]).includes(link.digest)) return undefined;
      scope = { digest: link.digest as DigestFrequency };
    } else {
      return undefined;
    }
    return constantTimeEqual(link.token ?? '', unsubscribeToken(userId, scope))
      ? { userId, scope }
      : undefined;
  }

  /** The kinds a link turns off now: its kind, or every kind the person takes in that digest. */
  async function kindsCoveredBy(
    userId: string,
    scope: UnsubscribeScope,
    executor: Executor,
  ): Promise<NotificationKind[]> {
    if ('kind' in scope) return [scope.kind];
    const frequencyOf = await frequenciesOf(userId, executor);
    return allKinds.filter((kind) => frequencyOf[kind] === scope.digest);
  }

  function outcomeOf(scope: UnsubscribeScope, kinds: NotificationKind[]): UnsubscribeOutcome {
    return {
      digest: 'digest' in scope ? scope.digest : null,
      kinds: kinds.map((kind) => ({ kind, label: notificationKinds[kind].label })),
    };
  }

  /** Writes the choices and their audit record in the caller's transaction; see savePreferences. */
  async function writePreferences(
    trx: Transaction<Database>,
    actor: Actor,
    choices: FrequencyChoices,
    context: RequestContext,
    details: Record<string, string>,
  ): Promise<void> {
    for (const kind of allKinds) {
      const frequency = choices[kind];
      if (frequency !== undefined) {
        await repository.setPreference(trx, actor.userId, kind, frequency);
      }
    }
    const skipped = await settleWaiting(trx, actor.userId, choices);
    await deps.audit.record(
      {
        action: 'notifications.settings_changed',
        actorUserId: actor.userId,
        targetType: 'user',
        targetId: actor.userId,
        details: {
          ...choices,
          ...details,
          ...(skipped > 0 ? { digestItemsNotEmailed: skipped } : {}),
        },
      },
      context,
      trx,
    );
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
          frequency: (await frequenciesOf(userId, deps.db))[notification.kind],
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
            text: `${notification.body}\n\n${deps.publicUrl}${localPathOr(notification.link, '/notifications')}\n\nYou get these emails at once. Change how often: ${deps.publicUrl}/notifications/settings\nStop emails like this: ${unsubscribeLink(userId, { kind: notification.kind })}${signature}`,
            headers: emailHeaders(userId, { kind: notification.kind }),
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
      // A read notification is a plain link: it goes only where opening an unread one would. One
      // about what the person can no longer open (a discussion hidden since, a private workspace
      // they left) keeps its place in the list, but not its title, which may be why it was hidden.
      const items = await Promise.all(
        rows.map(async (row) => {
          const link = localPathOr(row.link, '/notifications');
          if (!linkReadCheck || (await linkReadCheck(actor, link))) return { ...row, link };
          return {
            ...row,
            title: 'About something you can no longer open',
            body: null,
            link: '/notifications',
          };
        }),
      );
      return { items, total, unread };
    },

    countUnread: (userId: string) => repository.countUnread(userId),

    async markRead(actor: Actor, id: string | null): Promise<void> {
      await repository.markRead(actor.userId, id, now().toISOString());
    },

    /**
     * Opening a notification marks it read and says where it points (the list, when the person can
     * no longer open what it is about); undefined if the person has no such notification. Only a path on this site is given back, so that a stored link can never
     * send anyone elsewhere.
     */
    async open(actor: Actor, id: string): Promise<string | undefined> {
      const notification = await repository.findOneForUser(actor.userId, id);
      if (!notification) return undefined;
      if (!notification.read_at) await repository.markRead(actor.userId, id, now().toISOString());
      const link = localPathOr(notification.link, '/notifications');
      // One about what the person can no longer open goes back to the list, as its entry there
      // does: the address itself (a private workspace's, a hidden thread's) is not theirs to see.
      if (linkReadCheck && !(await linkReadCheck(actor, link))) return '/notifications';
      return link;
    },

    preferencesOf: (userId: string) => repository.findPreferences(userId),

    /** A person's notifications, as they were written, for their download. */
    async collectPersonalData(userId: string): Promise<Record<string, unknown>> {
      const rows = await repository.findAllForUser(userId);
      return {
        notifications: rows.map((row) => ({
          kind: row.kind,
          title: row.title,
          body: row.body,
          link: row.link,
          createdAt: row.created_at,
          readAt: row.read_at,
          emailStatus: row.email_status,
          emailedAt: row.emailed_at,
        })),
      };
    },

    async preferences(
      actor: Actor,
    ): Promise<
      { kind: NotificationKind; label: string; description: string; frequency: Frequency }[]
    > {
      const frequencyOf = await frequenciesOf(actor.userId, deps.db);
      return allKinds.map((kind) => ({
        kind,
        ...notificationKinds[kind],
        frequency: frequencyOf[kind],
      }));
    },

    /**
     * Saves how often someone wants each kind emailed, with its audit record, inside the caller's
     * transaction (so that it commits or fails with the rest of a settings form). What waited for
     * a digest of a kind now emailed at once or not at all is not emailed afterwards — it stays on
     * the notifications list; between daily and weekly it waits for the digest now chosen.
     */
    savePreferences: (
      trx: Transaction<Database>,
      actor: Actor,
      choices: FrequencyChoices,
      context: RequestContext,
      details: Record<string, string> = {},
    ) => writePreferences(trx, actor, choices, context, details),

    /** Saves how often someone wants each kind emailed, in a transaction of its own. */
    async setPreferences(
      actor: Actor,
      choices: FrequencyChoices,
      context: RequestContext,
      details: Record<string, string> = {},
    ): Promise<void> {
      await deps.db
        .transaction()
        .execute((trx) => writePreferences(trx, actor, choices, context, details));
    },

    /**
     * What a one-click link would turn off, for its confirmation page; undefined if the link is not
     * genuine. A digest's link covers the kinds the person takes in that digest now.
     */
    async previewUnsubscribe(link: UnsubscribeLink): Promise<UnsubscribeOutcome | undefined> {
      const verified = verifyUnsubscribe(link);
      if (!verified) return undefined;
      return outcomeOf(
        verified.scope,
        await kindsCoveredBy(verified.userId, verified.scope, deps.db),
      );
    },

    /**
     * Turns off what a one-click link covers — one kind, or every kind sent in that digest — and
     * says what it turned off; undefined if the link is not genuine. What was waiting for a digest
     * of those kinds is not emailed.
     */
    async unsubscribe(
      link: UnsubscribeLink,
      context: RequestContext,
    ): Promise<UnsubscribeOutcome | undefined> {
      const verified = verifyUnsubscribe(link);
      if (!verified) return undefined;
      const { userId, scope } = verified;
      const kinds = await deps.db.transaction().execute(async (trx) => {
        const covered = await kindsCoveredBy(userId, scope, trx);
        if (covered.length === 0) return covered;
        for (const kind of covered) await repository.setPreference(trx, userId, kind, 'off');
        const skipped = await repository.skipWaitingForDigest(trx, userId, covered);
        await deps.audit.record(
          {
            action: 'notifications.unsubscribed',
            actorUserId: null,
            targetType: 'user',
            targetId: userId,
            details: {
              kinds: covered.join(','),
              ...('digest' in scope ? { digest: scope.digest } : {}),
              ...(skipped > 0 ? { digestItemsNotEmailed: skipped } : {}),
            },
          },
          context,
          trx,
        );
        return covered;
      });
      return outcomeOf(scope, kinds);
    },

    /** The one-click unsubscribe address for one kind of email, or for a daily or weekly digest. */
    unsubscribeLink,

    /**
     * Sets how digests ask whether someone may still open what a notification leads to. The modules
     * whose pages notifications lead to are built after this service, so this is set once they are.
     */
    registerLinkReadCheck(check: LinkReadCheck): void {
      linkReadCheck = check;
    },

    /**
     * Sends the daily and weekly digests that are due: one email per person listing what has
     * waited since their last digest and what they may still read. Safe to run as often as wanted,
     * on as many servers at once as there are: a digest is not due again until a day (or a week)
     * after the last, and each notification is taken by one digest only.
     */
    async sendDueDigests(): Promise<number> {
      // Without the check every waiting item would look unreadable and be settled unsent.
      const check = linkReadCheck;
      if (!check) throw new Error('Digests need a link read check: call registerLinkReadCheck');
      let sent = 0;
      for (const userId of await repository.findUsersWithDigestNotifications()) {
        const actor = await deps.actors.load(userId);
        if (!actor?.email) {
          // A disabled account is not emailed. What waited for its digest is settled as not to be
          // emailed (it stays in the service, unread), rather than looked at on every run and sent
          // as a stale digest if the account is enabled again.
          await repository.skipWaitingForDigest(deps.db, userId, allKinds);
          continue;
        }
        const frequencyOf = await frequenciesOf(userId, deps.db);
        // A notification prepared just before its kind left the digests can still be recorded as
        // waiting; it is settled here as it would have been by the change of settings.
        await settleWaiting(deps.db, userId, frequencyOf);
        for (const frequency of digestFrequencies) {
          const kinds = allKinds.filter((kind) => frequencyOf[kind] === frequency);
          if (kinds.length === 0) continue;
          const interval = frequency === 'daily' ? DAY_MS : 7 * DAY_MS;
          const isDue = async (executor: Executor) => {
            const last = await repository.lastDigestAt(userId, kinds, executor);
            return (
              !last || now().getTime() - new Date(last).getTime() >= interval - DIGEST_DUE_MARGIN_MS
            );
          };
          if (!(await isDue(deps.db))) continue;
          // Only what was recorded before this moment: a digest is always later than what it
          // lists, which is how the time of the last digest is told apart (lastDigestAt).
          const at = now().toISOString();
          const waiting = await repository.findDigestNotifications(deps.db, userId, kinds, at);
          if (waiting.length === 0) continue;
          // Asked outside the transaction: the checks read through other modules (and SQLite has
          // one connection).
          const { readable, withheld } = await sortByAccess(check, actor, waiting);
          let didSend = false;
          try {
            didSend = await deps.db.transaction().execute(async (trx) => {
              // Another server may have sent this digest since the check above.
              if (!(await isDue(trx))) return false;
              const settled = await repository.skipForDigest(
                trx,
                withheld.map((item) => item.id),
              );
              if (settled > 0)
                await deps.audit.record(
                  {
                    action: 'notifications.digest_items_withheld',
                    actorUserId: null,
                    targetType: 'user',
                    targetId: userId,
                    details: { digest: frequency, items: settled },
                  },
                  null,
                  trx,
                );
              if (readable.length === 0) return false;
              // Each notification goes in one digest: these are taken only if all of them still
              // wait. Otherwise another run took some first (or the settings changed), and this
              // digest is given up, with everything above, for the next run to build afresh.
              const taken = await repository.claimForDigest(
                trx,
                readable.map((item) => item.id),
                at,
              );
              if (taken !== readable.length) throw new DigestTakenElsewhere();
              const lines = readable.map(
                (item) =>
                  `- ${item.title}\n  ${deps.publicUrl}${localPathOr(item.link, '/notifications')}`,
              );
              const stopLink = unsubscribeLink(userId, { digest: frequency });
              await deps.email.queue(trx, {
                kind: `digest_${frequency}`,
                to: actor.email,
                subject: `Your ${frequency} Greenspace digest: ${readable.length} update${readable.length === 1 ? '' : 's'}`,
                text: `Dear ${actor.displayName},\n\nHere is what happened since your last digest:\n\n${lines.join('\n')}\n\nChange how often you hear from us: ${deps.publicUrl}/notifications/settings\nStop the ${frequency} digest (everything sent in it): ${stopLink}${signature}`,
                headers: emailHeaders(userId, { digest: frequency }),
              });
              return true;
            });
          } catch (error) {
            if (!(error instanceof DigestTakenElsewhere)) throw error;
          }
          if (didSend) sent++;
        }
      }
      if (sent > 0) deps.email.nudge();
      return sent;
    },

    /**
     * Forgets everyone's notifications about something that no longer exists (a deleted plan),
     * read or not, emailed or not: their links would lead nowhere.
     */
    removeLinkingTo: (trx: Transaction<Database>, path: string) =>
      repository.deleteLinkingTo(trx, path),
    /** When an account is deleted, its notifications go with it. */
    removeForUser: (trx: Transaction<Database>, userId: string) =>
      repository.deleteForUser(trx, userId),
  };
}

export type NotificationService = ReturnType<typeof createNotificationService>;
