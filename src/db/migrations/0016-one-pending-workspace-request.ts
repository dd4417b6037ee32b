import { sql, type Kysely } from 'kysely';

/**
 * A person has at most one pending request to join a workspace. The check before a request is
 * stored cannot see one being stored at the same moment (a double click), so the database keeps
 * the rule. Invitations share the table and are left alone: a manager's invitations to addresses
 * without an account are all stored under the manager. Second pending requests already stored are
 * withdrawn first, keeping the earliest, which the managers were told of first; so are requests of
 * people who are members already (by an invitation accepted meanwhile), which nobody need decide.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    UPDATE workspace_requests SET status = 'withdrawn', decided_at = created_at
    WHERE kind = 'request' AND status = 'pending' AND (
      EXISTS (
        SELECT 1 FROM workspace_requests AS earlier
        WHERE earlier.user_id = workspace_requests.user_id
          AND earlier.workspace_id = workspace_requests.workspace_id
          AND earlier.kind = 'request'
          AND earlier.status = 'pending'
          AND (earlier.created_at < workspace_requests.created_at
            OR (earlier.created_at = workspace_requests.created_at
              AND earlier.id < workspace_requests.id))
      )
      OR EXISTS (
        SELECT 1 FROM workspace_members AS member
        WHERE member.user_id = workspace_requests.user_id
          AND member.workspace_id = workspace_requests.workspace_id
      )
    )`.execute(db);
  await sql`
    CREATE UNIQUE INDEX workspace_requests_one_pending_idx
    ON workspace_requests (workspace_id, user_id) WHERE kind = 'request' AND status = 'pending'`.execute(
    db,
  );
}
