import type { Kysely, Transaction } from 'kysely';
import type { Database, NotificationKind, NotificationRow } from '../../db/schema.ts';

type Executor = Kysely<Database> | Transaction<Database>;

export function createNotificationRepository(db: Kysely<Database>) {
  return {
    /** Inserts a notification unless this user already has one for the same event; true if inserted. */
    async insert(executor: Executor, row: NotificationRow): Promise<boolean> {
      const result = await executor
        .insertInto('notifications')
        .values(row)
        .onConflict((conflict) => conflict.columns(['user_id', 'dedupe_key']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
    },

    /**
     * Takes these notifications for a digest, marking them emailed at `at`, but only those still
     * waiting for one; says how many it took. Fewer than asked means that something else settled
     * some of them since they were read: another server's digest run, or a change of settings.
     */
    async claimForDigest(executor: Executor, ids: string[], at: string): Promise<number> {
      if (ids.length === 0) return 0;
      const result = await executor
        .updateTable('notifications')
        .set({ email_status: 'sent', emailed_at: at })
        .where('id', 'in', ids)
        .where('email_status', '=', 'digest')
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    /** Marks these notifications, those still waiting for a digest, as not to be emailed; how many. */
    async skipForDigest(executor: Executor, ids: string[]): Promise<number> {
      if (ids.length === 0) return 0;
      const result = await executor
        .updateTable('notifications')
        .set({ email_status: 'skipped' })
        .where('id', 'in', ids)
        .where('email_status', '=', 'digest')
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async findForUser(userId: string, limit: number, offset: number): Promise<NotificationRow[]> {
      return db
        .selectFrom('notifications')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(limit)
        .offset(offset)
        .execute();
    },

    async countUnread(userId: string): Promise<number> {
      const row = await db
        .selectFrom('notifications')
        .select((eb) => eb.fn.countAll<number>().as('total'))
        .where('user_id', '=', userId)
        .where('read_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(row.total);
    },

    async countAll(userId: string): Promise<number> {
      const row = await db
        .selectFrom('notifications')
        .select((eb) => eb.fn.countAll<number>().as('total'))
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow();
      return Number(row.total);
    },

    async findOneForUser(userId: string, id: string): Promise<NotificationRow | undefined> {
      return db
        .selectFrom('notifications')
        .selectAll()
        .where('user_id', '=', userId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    async markRead(userId: string, id: string | null, at: string): Promise<void> {
      let query = db
        .updateTable('notifications')
        .set({ read_at: at })
        .where('user_id', '=', userId)
        .where('read_at', 'is', null);
      if (id) query = query.where('id', '=', id);
      await query.execute();
    },

    /** Every notification a person has, oldest first, for their download. */
    async findAllForUser(userId: string) {
      return db
        .selectFrom('notifications')
        .select([
          'kind',
          'title',
          'body',
          'link',
          'created_at',
          'read_at',
          'email_status',
          'emailed_at',
        ])
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .execute();
    },

    async findPreferences(userId: string, executor: Executor = db) {
      return executor
        .selectFrom('notification_preferences')
        .selectAll()
        .where('user_id', '=', userId)
        .execute();
    },

    async setPreference(
      executor: Executor,
      userId: string,
      kind: string,
      frequency: 'immediately' | 'daily' | 'weekly' | 'off',
    ) {
      await executor
        .insertInto('notification_preferences')
        .values({ user_id: userId, kind, frequency })
        .onConflict((conflict) => conflict.columns(['user_id', 'kind']).doUpdateSet({ frequency }))
        .execute();
    },

    /** Users with notifications waiting for a digest. */
    async findUsersWithDigestNotifications(): Promise<string[]> {
      const rows = await db
        .selectFrom('notifications')
        .select('user_id')
        .distinct()
        .where('email_status', '=', 'digest')
        .execute();
      return rows.map((row) => row.user_id);
    },

    /** What waits for this user's digest, of these kinds, recorded before `before`; oldest first. */
    async findDigestNotifications(
      executor: Executor,
      userId: string,
      kinds: NotificationKind[],
      before: string,
    ): Promise<NotificationRow[]> {
      if (kinds.length === 0) return [];
      return executor
        .selectFrom('notifications')
        .selectAll()
        .where('user_id', '=', userId)
        .where('email_status', '=', 'digest')
        .where('kind', 'in', kinds)
        .where('created_at', '<', before)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
    },

    /**
     * When this user was last sent a digest with any of these kinds in it: the latest `emailed_at`
     * of a notification a digest listed. Those emailed at once are left out, telling them apart by
     * time: one emailed at once is emailed as it is recorded (`emailed_at` = `created_at`), while a
     * digest only lists what was recorded before it went.
     */
    async lastDigestAt(
      userId: string,
      kinds: NotificationKind[],
      executor: Executor = db,
    ): Promise<string | null> {
      if (kinds.length === 0) return null;
      const row = await executor
        .selectFrom('notifications')
        .select((eb) => eb.fn.max('emailed_at').as('latest'))
        .where('user_id', '=', userId)
        .where('kind', 'in', kinds)
        .where('email_status', '=', 'sent')
        .whereRef('emailed_at', '>', 'created_at')
        .executeTakeFirst();
      return (row?.latest as string | null | undefined) ?? null;
    },

    /** Marks what waits for a digest, of these kinds, as not to be emailed; how many it marked. */
    async skipWaitingForDigest(
      executor: Executor,
      userId: string,
      kinds: NotificationKind[],
    ): Promise<number> {
      if (kinds.length === 0) return 0;
      const result = await executor
        .updateTable('notifications')
        .set({ email_status: 'skipped' })
        .where('user_id', '=', userId)
        .where('email_status', '=', 'digest')
        .where('kind', 'in', kinds)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    /** Deletes everyone's notifications that lead to this path or anywhere beneath it. */
    async deleteLinkingTo(executor: Executor, path: string): Promise<number> {
      const result = await executor
        .deleteFrom('notifications')
        .where((eb) =>
          eb.or([
            eb('link', '=', path),
            eb(eb.fn('substr', ['link', eb.val(1), eb.val(path.length + 1)]), 'in', [
              `${path}/`,
              `${path}#`,
              `${path}?`,
            ]),
          ]),
        )
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async deleteForUser(executor: Executor, userId: string): Promise<void> {
      await executor.deleteFrom('notifications').where('user_id', '=', userId).execute();
      await executor.deleteFrom('notification_preferences').where('user_id', '=', userId).execute();
    },
  };
}

export type NotificationRepository = ReturnType<typeof createNotificationRepository>;
