import { sql, type Kysely } from 'kysely';

/**
 * A thread's search entry holds its opening post's text. Hiding that post now empties the entry's
 * text (and showing it again puts the text back), but entries written before kept the text of
 * opening posts already hidden, so a search could still find and quote them. This empties those.
 * The same SQL serves SQLite's FTS5 table and PostgreSQL's table, whose document is generated.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`update discussion_search set body = ''
    where thread_id in (
      select t.id from discussion_threads t
      where (
        select p.hidden_at from posts p
        where p.conversation_id = t.conversation_id
        order by p.created_at, p.id
        limit 1
      ) is not null
    )`.execute(db);
}
