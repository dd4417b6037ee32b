import type { Kysely, Transaction } from 'kysely';
import type { Database, EmailMessageRow } from '../../db/schema.ts';

export type Executor = Kysely<Database> | Transaction<Database>;

export interface NewEmail {
  id: string;
  kind: string;
  toAddress: string;
  subject: string;
  textBody: string;
  headers?: Record<string, string>;
}

/** The durable email queue: messages are rows, written in the same transaction as the change that caused them. */
export function createEmailRepository(db: Kysely<Database>) {
  return {
    async enqueue(executor: Executor, email: NewEmail, now: string): Promise<void> {
      await executor
        .insertInto('email_messages')
        .values({
          id: email.id,
          kind: email.kind,
          to_address: email.toAddress,
          subject: email.subject,
          text_body: email.textBody,
          html_body: null,
          headers: email.headers ? JSON.stringify(email.headers) : null,
          status: 'pending',
          attempts: 0,
          next_attempt_at: now,
          locked_until: null,
          last_error: null,
          created_at: now,
          sent_at: null,
        })
        .execute();
    },

    /**
     * Takes up to `limit` due messages for this worker by setting a lease. The lease condition is
     * repeated in the outer WHERE so that two instances racing for the same row cannot both win:
     * PostgreSQL re-checks it against the row as the first claimant left it.
     */
    async claimDue(now: string, leaseUntil: string, limit: number): Promise<EmailMessageRow[]> {
      return db
        .updateTable('email_messages')
        .set({ locked_until: leaseUntil })
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
        .where('id', 'in', (eb) =>
          eb
            .selectFrom('email_messages')
            .select('id')
            .where('status', '=', 'pending')
            .where('next_attempt_at', '<=', now)
            .where((inner) =>
              inner.or([inner('locked_until', 'is', null), inner('locked_until', '<', now)]),
            )
            .orderBy('created_at')
            .limit(limit),
        )
        .returningAll()
        .execute();
    },

    async markSent(id: string, at: string): Promise<void> {
      await db
        .updateTable('email_messages')
        .set((eb) => ({
          status: 'sent',
          sent_at: at,
          locked_until: null,
          last_error: null,
          attempts: eb('attempts', '+', 1),
        }))
        .where('id', '=', id)
        .execute();
    },

    async markAttemptFailed(
      id: string,
      attempts: number,
      nextAttemptAt: string,
      error: string,
      giveUp: boolean,
    ): Promise<void> {
      await db
        .updateTable('email_messages')
        .set({
          status: giveUp ? 'failed' : 'pending',
          attempts,
          next_attempt_at: nextAttemptAt,
          locked_until: null,
          last_error: error.slice(0, 500),
        })
        .where('id', '=', id)
        .execute();
    },

    async countByStatus(): Promise<Record<string, number>> {
      const rows = await db
        .selectFrom('email_messages')
        .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
        .groupBy('status')
        .execute();
      return Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
    },

    async findRecent(limit: number): Promise<EmailMessageRow[]> {
      return db
        .selectFrom('email_messages')
        .selectAll()
        .orderBy('created_at', 'desc')
        .limit(limit)
        .execute();
    },

    async findByRecipient(toAddress: string): Promise<EmailMessageRow[]> {
      return db
        .selectFrom('email_messages')
        .selectAll()
        .where('to_address', '=', toAddress)
        .orderBy('created_at')
        .execute();
    },
  };
}

export type EmailRepository = ReturnType<typeof createEmailRepository>;
