import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.ts';

type Executor = Kysely<Database> | Transaction<Database>;

export interface FormSubmissionRow {
  user_id: string;
  submission_key: string;
  content_hash: string;
  result_link: string;
  created_at: string;
}

/** What forms sent with a one-time key have already done (table `form_submissions`). */
export function createFormSubmissionRepository(db: Kysely<Database>) {
  return {
    async findResultLink(
      userId: string,
      submissionKey: string,
      contentHash: string,
    ): Promise<string | undefined> {
      const row = await db
        .selectFrom('form_submissions')
        .select('result_link')
        .where('user_id', '=', userId)
        .where('submission_key', '=', submissionKey)
        .where('content_hash', '=', contentHash)
        .executeTakeFirst();
      return row?.result_link;
    },

    /** Fails with a unique violation when the same submission was recorded first. */
    async insert(executor: Executor, row: FormSubmissionRow): Promise<void> {
      await executor.insertInto('form_submissions').values(row).execute();
    },

    async removeOfUser(executor: Executor, userId: string): Promise<void> {
      await executor.deleteFrom('form_submissions').where('user_id', '=', userId).execute();
    },

    async deleteOlderThan(at: string): Promise<void> {
      await db.deleteFrom('form_submissions').where('created_at', '<', at).execute();
    },
  };
}

export type FormSubmissionRepository = ReturnType<typeof createFormSubmissionRepository>;
