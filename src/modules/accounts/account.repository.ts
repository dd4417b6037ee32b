import { sql, type Kysely, type Transaction } from 'kysely';
import type {
  Database,
  EmailTokenPurpose,
  SessionRow,
  UserRow,
  UserStatus,
} from '../../db/schema.ts';

export type Executor = Kysely<Database> | Transaction<Database>;

export interface NewUser {
  id: string;
  handle: string;
  email: string;
  displayName: string;
  passwordHash: string | null;
  emailVerifiedAt: string | null;
  isPlatformAdmin: boolean;
  now: string;
}

export interface UserListItem {
  id: string;
  email: string | null;
  display_name: string;
  status: UserStatus;
  is_platform_admin: number;
  totp_enabled_at: string | null;
  email_verified_at: string | null;
  created_at: string;
}

/** Users, sessions, emailed tokens, recovery codes and single sign-on identities. */
export function createAccountRepository(db: Kysely<Database>) {
  return {
    transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
      return db.transaction().execute(work);
    },

    // --- users ---

    async insertUser(executor: Executor, user: NewUser): Promise<void> {
      await executor
        .insertInto('users')
        .values({
          id: user.id,
          handle: user.handle,
          email: user.email,
          email_verified_at: user.emailVerifiedAt,
          display_name: user.displayName,
          password_hash: user.passwordHash,
          status: 'active',
          is_platform_admin: user.isPlatformAdmin ? 1 : 0,
          totp_secret_encrypted: null,
          totp_enabled_at: null,
          totp_last_step: null,
          created_at: user.now,
          updated_at: user.now,
          deleted_at: null,
        })
        .execute();
    },

    async findUserById(id: string, executor: Executor = db): Promise<UserRow | undefined> {
      return executor.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async findUserByHandle(handle: string, executor: Executor = db): Promise<UserRow | undefined> {
      return executor
        .selectFrom('users')
        .selectAll()
        .where('handle', '=', handle.toLowerCase())
        .executeTakeFirst();
    },

    /** A free handle from a person's name: `anna.murphy`, or `anna.murphy2` if taken. */
    async freeHandle(displayName: string, executor: Executor = db): Promise<string> {
      const base =
        displayName
          .normalize('NFKD')
          .replace(/[\u0300-\u036f]/g, '')
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '.')
          .replace(/^\.+|\.+$/g, '')
          .slice(0, 30) || 'member';
      for (let suffix = 1; ; suffix++) {
        const candidate = suffix === 1 ? base : `${base}${suffix}`;
        const taken = await executor
          .selectFrom('users')
          .select('id')
          .where('handle', '=', candidate)
          .executeTakeFirst();
        if (!taken) return candidate;
      }
    },

    async findUserByEmail(email: string, executor: Executor = db): Promise<UserRow | undefined> {
      return executor
        .selectFrom('users')
        .selectAll()
        .where('email', '=', email.toLowerCase())
        .executeTakeFirst();
    },

    async updateUser(
      executor: Executor,
      id: string,
      changes: Partial<Omit<UserRow, 'id' | 'created_at'>>,
    ): Promise<void> {
      await executor.updateTable('users').set(changes).where('id', '=', id).execute();
    },

    /**
     * Records a TOTP step as used, only if it is newer than the last one: two requests racing with
     * the same code cannot both succeed.
     */
    async claimTotpStep(id: string, step: number): Promise<boolean> {
      const result = await db
        .updateTable('users')
        .set({ totp_last_step: step })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async findUsers(filters: {
      text?: string;
      limit: number;
      offset: number;
    }): Promise<{ items: UserListItem[]; total: number }> {
      let query = db.selectFrom('users').where('status', '!=', 'deleted');
      if (filters.text) {
        const pattern = `%${filters.text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        query = query.where((eb) =>
          eb.or([
            eb(sql`lower(email)`, 'like', sql<string>`${pattern} escape '\\'`),
            eb(sql`lower(display_name)`, 'like', sql<string>`${pattern} escape '\\'`),
          ]),
        );
      }
      const countRow = await query
        .select((eb) => eb.fn.countAll<number>().as('total'))
        .executeTakeFirstOrThrow();
      const items = await query
        .select([
          'id',
          'email',
          'display_name',
          'status',
          'is_platform_admin',
          'totp_enabled_at',
          'email_verified_at',
          'created_at',
        ])
        .orderBy('display_name')
        .orderBy('id')
        .limit(filters.limit)
        .offset(filters.offset)
        .execute();
      return { items, total: Number(countRow.total) };
    },

    async countUsers(): Promise<number> {
      const row = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('total'))
        .executeTakeFirstOrThrow();
      return Number(row.total);
    },

    // --- sessions ---

    async insertSession(executor: Executor, session: SessionRow): Promise<void> {
      await executor.insertInto('sessions').values(session).execute();
    },

    async findSession(id: string): Promise<SessionRow | undefined> {
      return db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async touchSession(id: string, lastSeenAt: string): Promise<void> {
      await db
        .updateTable('sessions')
        .set({ last_seen_at: lastSeenAt })
        .where('id', '=', id)
        .execute();
    },

    async deleteSession(id: string, executor: Executor = db): Promise<void> {
      await executor.deleteFrom('sessions').where('id', '=', id).execute();
    },

    async deleteSessionsOfUser(
      executor: Executor,
      userId: string,
      exceptSessionId?: string,
    ): Promise<number> {
      let query = executor.deleteFrom('sessions').where('user_id', '=', userId);
      if (exceptSessionId) query = query.where('id', '!=', exceptSessionId);
      const result = await query.executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async findSessionsOfUser(userId: string): Promise<SessionRow[]> {
      return db
        .selectFrom('sessions')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('last_seen_at', 'desc')
        .execute();
    },

    async deleteExpiredSessions(before: string, idleBefore: string): Promise<void> {
      await db
        .deleteFrom('sessions')
        .where((eb) => eb.or([eb('expires_at', '<', before), eb('last_seen_at', '<', idleBefore)]))
        .execute();
    },

    // --- emailed tokens ---

    async insertEmailToken(
      executor: Executor,
      token: {
        id: string;
        userId: string;
        purpose: EmailTokenPurpose;
        newEmail: string | null;
        now: string;
        expiresAt: string;
      },
    ): Promise<void> {
      await executor
        .insertInto('email_tokens')
        .values({
          id: token.id,
          user_id: token.userId,
          purpose: token.purpose,
          new_email: token.newEmail,
          created_at: token.now,
          expires_at: token.expiresAt,
          used_at: null,
        })
        .execute();
    },

    async findEmailToken(id: string, purpose: EmailTokenPurpose, executor: Executor = db) {
      return executor
        .selectFrom('email_tokens')
        .selectAll()
        .where('id', '=', id)
        .where('purpose', '=', purpose)
        .executeTakeFirst();
    },

    /** Marks a token used only if it was unused: a token works once, even under a race. */
    async useEmailToken(executor: Executor, id: string, at: string): Promise<boolean> {
      const result = await executor
        .updateTable('email_tokens')
        .set({ used_at: at })
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /** Retires a user's other unused tokens of one purpose when a new one is sent or one is used. */
    async expireEmailTokens(
      executor: Executor,
      userId: string,
      purpose: EmailTokenPurpose,
      at: string,
    ): Promise<number> {
      const result = await executor
        .updateTable('email_tokens')
        .set({ used_at: at })
        .where('user_id', '=', userId)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    /** The change of email address a user asked for and has not confirmed, if one still works. */
    async findPendingEmailChange(userId: string, at: string) {
      return db
        .selectFrom('email_tokens')
        .select(['new_email', 'expires_at'])
        .where('user_id', '=', userId)
        .where('purpose', '=', 'change_email')
        .where('used_at', 'is', null)
        .where('expires_at', '>', at)
        .orderBy('expires_at', 'desc')
        .executeTakeFirst();
    },

    // --- recovery codes ---

    async replaceRecoveryCodes(
      executor: Executor,
      userId: string,
      codes: { id: string; codeHash: string }[],
      now: string,
    ) {
      await executor.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
      if (codes.length === 0) return;
      await executor
        .insertInto('recovery_codes')
        .values(
          codes.map((code) => ({
            id: code.id,
            user_id: userId,
            code_hash: code.codeHash,
            created_at: now,
            used_at: null,
          })),
        )
        .execute();
    },

    async useRecoveryCode(userId: string, codeHash: string, at: string): Promise<boolean> {
      const result = await db
        .updateTable('recovery_codes')
        .set({ used_at: at })
        .where('user_id', '=', userId)
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async countUnusedRecoveryCodes(userId: string): Promise<number> {
      const row = await db
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<number>().as('total'))
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(row.total);
    },

    // --- single sign-on identities ---

    async findExternalIdentity(issuer: string, subject: string) {
      return db
        .selectFrom('external_identities')
        .selectAll()
        .where('issuer', '=', issuer)
        .where('subject', '=', subject)
        .executeTakeFirst();
    },

    async findExternalIdentitiesOfUser(userId: string) {
      return db
        .selectFrom('external_identities')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .execute();
    },

    async insertExternalIdentity(
      executor: Executor,
      identity: {
        id: string;
        userId: string;
        issuer: string;
        subject: string;
        email: string | null;
        now: string;
      },
    ): Promise<void> {
      await executor
        .insertInto('external_identities')
        .values({
          id: identity.id,
          user_id: identity.userId,
          issuer: identity.issuer,
          subject: identity.subject,
          email: identity.email,
          created_at: identity.now,
        })
        .execute();
    },

    /** Removes one of a user's linked identities; false if the user has no such identity. */
    async deleteExternalIdentity(executor: Executor, userId: string, id: string): Promise<boolean> {
      const result = await executor
        .deleteFrom('external_identities')
        .where('user_id', '=', userId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },

    async deleteExternalIdentitiesOfUser(executor: Executor, userId: string): Promise<void> {
      await executor.deleteFrom('external_identities').where('user_id', '=', userId).execute();
    },

    async findEmailTokensOfUser(userId: string) {
      return db
        .selectFrom('email_tokens')
        .select(['purpose', 'new_email', 'created_at', 'expires_at', 'used_at'])
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .execute();
    },

    async deleteEmailTokensOfUser(executor: Executor, userId: string): Promise<void> {
      await executor.deleteFrom('email_tokens').where('user_id', '=', userId).execute();
    },
  };
}

export type AccountRepository = ReturnType<typeof createAccountRepository>;
