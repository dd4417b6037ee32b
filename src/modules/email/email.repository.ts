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

    /**
     * Extends a worker's lease on one message before it is sent; false if the lease was lost (it
     * ran out and another worker took the message), and the message must be left to that worker.
     */
    async renewLease(id: string, heldLease: string, newLease: string): Promise<boolean> {
      const result = await db
        .updateTable('email_messages')
        .set({ locked_until: newLease })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .where('locked_until', '=', heldLease)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /**
     * Records a delivery, by the worker that still holds the message's lease only: a worker whose
     * lease ran out while it sent must not undo what the worker that took over recorded.
     */
    async markSent(id: string, at: string, heldLease: string): Promise<boolean> {
      const result = await db
        .updateTable('email_messages')
        .set((eb) => ({
          status: 'sent',
          sent_at: at,
          locked_until: null,
          last_error: null,
          attempts: eb('attempts', '+', 1),
        }))
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .where('locked_until', '=', heldLease)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /** Records a failed attempt, by the worker that still holds the lease only (see markSent). */
    async markAttemptFailed(
      id: string,
      attempts: number,
      nextAttemptAt: string,
      error: string,
      giveUp: boolean,
      heldLease: string,
    ): Promise<boolean> {
      const result = await db
        .updateTable('email_messages')
        .set({
          status: giveUp ? 'failed' : 'pending',
          attempts,
          next_attempt_at: nextAttemptAt,
          locked_until: null,
          last_error: error.slice(0, 500),
        })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .where('locked_until', '=', heldLease)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
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
