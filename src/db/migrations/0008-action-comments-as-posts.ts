import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';

interface ActionComment {
  id: string;
  action_id: string;
  author_user_id: string | null;
  body: string;
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
}

/**
 * Comments on Green Plan actions move to the shared discussions: each action with comments gets a
 * conversation, each comment becomes a post (keeping its id, author and times; a deleted comment
 * becomes a hidden post), and the old table goes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema of this moment, not of today
  const legacy = db as Kysely<any>;
  const comments = (await legacy
    .selectFrom('action_comments')
    .selectAll()
    .orderBy('action_id')
    .orderBy('created_at')
    .execute()) as ActionComment[];
  const byAction = new Map<string, ActionComment[]>();
  for (const comment of comments) {
    byAction.set(comment.action_id, [...(byAction.get(comment.action_id) ?? []), comment]);
  }
  for (const [actionId, actionComments] of byAction) {
    const conversationId = randomUUID();
    await legacy
      .insertInto('conversations')
      .values({
        id: conversationId,
        subject_type: 'plan_action',
        subject_id: actionId,
        workspace_id: null,
        locked: 0,
        created_at: actionComments[0]!.created_at,
        last_post_at: actionComments.at(-1)!.created_at,
      })
      .execute();
    for (const comment of actionComments) {
      await legacy
        .insertInto('posts')
        .values({
          id: comment.id,
          conversation_id: conversationId,
          author_id: comment.author_user_id,
          body: comment.body,
          quoted_post_id: null,
          created_at: comment.created_at,
          edited_at: comment.edited_at,
          hidden_at: comment.deleted_at,
          hidden_by: null,
          hidden_reason: comment.deleted_at ? 'Deleted before comments moved to discussions' : null,
        })
        .execute();
    }
  }
  await legacy.schema.dropTable('action_comments').execute();
}
