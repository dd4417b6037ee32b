import { sql, type Kysely } from 'kysely';

/**
 * A person has at most one pending request to join an organisation. The check before a request is
 * stored cannot see one being stored at the same moment (a double click), so the database keeps
 * the rule. Any second pending request already stored is withdrawn first, keeping the earliest,
 * which its admins were told of first.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    UPDATE join_requests SET status = 'withdrawn', decided_at = created_at
    WHERE status = 'pending' AND EXISTS (
      SELECT 1 FROM join_requests AS earlier
      WHERE earlier.user_id = join_requests.user_id
        AND earlier.organisation_code = join_requests.organisation_code
        AND earlier.status = 'pending'
        AND (earlier.created_at < join_requests.created_at
          OR (earlier.created_at = join_requests.created_at AND earlier.id < join_requests.id))
    )`.execute(db);
  await sql`
    CREATE UNIQUE INDEX join_requests_one_pending_idx
    ON join_requests (user_id, organisation_code) WHERE status = 'pending'`.execute(db);
}
