import { sql, type Insertable, type Kysely, type Transaction } from 'kysely';
import type { Dialect } from '../../db/database.ts';
import type {
  ConversationRow,
  ConversationSubject,
  Database,
  DiscussionThreadRow,
  PostRow,
  WorkspaceRequestsTable,
} from '../../db/schema.ts';
import { HIGHLIGHT_END, HIGHLIGHT_START } from '../content/content.repository.ts';

type Executor = Kysely<Database> | Transaction<Database>;

export interface PostView extends PostRow {
  author_name: string | null;
  author_handle: string | null;
  author_status: string | null;
  useful_count: number;
}

export interface ThreadListItem extends DiscussionThreadRow {
  author_name: string | null;
  post_count: number;
  last_post_at: string;
  locked: number;
}

/** Forums, comments, reactions, reports, follows and workspace membership requests. */
export function createDiscussionRepository(db: Kysely<Database>, dialect: Dialect) {
  /**
   * Holds a workspace's row until the transaction ends, so that changes to who manages it are
   * made one after the other (SQLite writes one transaction at a time anyway).
   */
  async function holdWorkspace(trx: Transaction<Database>, workspaceId: string): Promise<void> {
    if (dialect === 'postgres') {
      await trx
        .selectFrom('workspaces')
        .select('id')
        .where('id', '=', workspaceId)
        .forUpdate()
        .execute();
    }
  }

  return {
    transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
      return db.transaction().execute(work);
    },

    // --- conversations ---

    async findConversation(
      id: string,
      executor: Executor = db,
    ): Promise<ConversationRow | undefined> {
      return executor
        .selectFrom('conversations')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
    },

    async findConversationBySubject(
      type: ConversationSubject,
      subjectId: string,
      executor: Executor = db,
    ) {
      return executor
        .selectFrom('conversations')
        .selectAll()
        .where('subject_type', '=', type)
        .where('subject_id', '=', subjectId)
        .executeTakeFirst();
    },

    async insertConversation(executor: Executor, row: ConversationRow): Promise<void> {
      await executor.insertInto('conversations').values(row).execute();
    },

    /**
     * Marks a conversation as posted to at `at`, only if it is not locked, and says whether it was.
     * One statement, so that a lock committed after the reply's checks still refuses it: PostgreSQL
     * evaluates the condition again on the row as the lock left it.
     */
    async recordPostIfOpen(executor: Executor, id: string, at: string): Promise<boolean> {
      const result = await executor
        .updateTable('conversations')
        .set({ last_post_at: at })
        .where('id', '=', id)
        .where('locked', '=', 0)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    // --- threads ---

    async insertThread(executor: Executor, row: DiscussionThreadRow): Promise<void> {
      await executor.insertInto('discussion_threads').values(row).execute();
    },

    async findThread(
      workspaceId: string,
      threadId: string,
      executor: Executor = db,
    ): Promise<DiscussionThreadRow | undefined> {
      return executor
        .selectFrom('discussion_threads')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', threadId)
        .executeTakeFirst();
    },

    /**
     * A thread, read in the transaction about to post in it. On PostgreSQL its row is held (shared,
     * so replies do not wait for each other) until the reply commits: a moderator hiding it then
     * waits for the reply, or the reply sees it hidden, never a reply landing in a thread hidden
     * after it was read. SQLite runs one write transaction at a time already.
     */
    async findThreadForReply(
      trx: Transaction<Database>,
      threadId: string,
    ): Promise<DiscussionThreadRow | undefined> {
      const query = trx.selectFrom('discussion_threads').selectAll().where('id', '=', threadId);
      return (dialect === 'postgres' ? query.forShare() : query).executeTakeFirst();
    },

    async findThreadByConversation(
      conversationId: string,
    ): Promise<DiscussionThreadRow | undefined> {
      return db
        .selectFrom('discussion_threads')
        .selectAll()
        .where('conversation_id', '=', conversationId)
        .executeTakeFirst();
    },

    /**
     * Pins, hides (or undoes either) a thread, or locks or unlocks its conversation, only if it is
     * not so already, and says whether it changed: of two moderators deciding at once, or one
     * pressing twice, only the first changes it (and tells its author).
     */
    async changeThreadFlag(
      executor: Executor,
      thread: Pick<DiscussionThreadRow, 'id' | 'conversation_id'>,
      flag: 'pinned' | 'locked' | 'hidden',
      value: 0 | 1,
    ): Promise<boolean> {
      const result =
        flag === 'locked'
          ? await executor
              .updateTable('conversations')
              .set({ locked: value })
              .where('id', '=', thread.conversation_id)
              .where('locked', '<>', value)
              .executeTakeFirst()
          : await executor
              .updateTable('discussion_threads')
              .set({ [flag]: value })
              .where('id', '=', thread.id)
              .where(flag, '<>', value)
              .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** Makes a post a thread's accepted answer unless it already is; says whether it changed. */
    async acceptAnswer(executor: Executor, threadId: string, postId: string): Promise<boolean> {
      const result = await executor
        .updateTable('discussion_threads')
        .set({ accepted_post_id: postId })
        .where('id', '=', threadId)
        .where((eb) =>
          eb.or([eb('accepted_post_id', 'is', null), eb('accepted_post_id', '<>', postId)]),
        )
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /**
     * Takes back a post as a thread's accepted answer if it still is; says whether it changed. Another
     * answer accepted meanwhile stays.
     */
    async withdrawAcceptedAnswer(
      executor: Executor,
      threadId: string,
      postId: string,
    ): Promise<boolean> {
      const result = await executor
        .updateTable('discussion_threads')
        .set({ accepted_post_id: null })
        .where('id', '=', threadId)
        .where('accepted_post_id', '=', postId)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async listThreads(
      workspaceId: string,
      options: { includeHidden: boolean; limit: number; offset: number },
    ) {
      let query = db
        .selectFrom('discussion_threads as t')
        .innerJoin('conversations as c', 'c.id', 't.conversation_id')
        .leftJoin('users as u', 'u.id', 't.author_id')
        .where('t.workspace_id', '=', workspaceId);
      if (!options.includeHidden) query = query.where('t.hidden', '=', 0);
      const countRow = await query
        .select((eb) => eb.fn.countAll<number>().as('total'))
        .executeTakeFirstOrThrow();
      const items = await query
        .selectAll('t')
        .select([
          'u.display_name as author_name',
          'c.last_post_at',
          'c.locked',
          (eb) =>
            eb
              .selectFrom('posts')
              .select((inner) => inner.fn.countAll<number>().as('n'))
              .whereRef('posts.conversation_id', '=', 't.conversation_id')
              .where('posts.hidden_at', 'is', null)
              .as('post_count'),
        ])
        .orderBy('t.pinned', 'desc')
        .orderBy('c.last_post_at', 'desc')
        .orderBy('t.id')
        .limit(options.limit)
        .offset(options.offset)
        .execute();
      return { items: items as ThreadListItem[], total: Number(countRow.total) };
    },

    async upsertThreadSearch(
      executor: Executor,
      threadId: string,
      title: string,
      body: string,
    ): Promise<void> {
      await executor.deleteFrom('discussion_search').where('thread_id', '=', threadId).execute();
      await executor
        .insertInto('discussion_search')
        .values({ thread_id: threadId, title, body })
        .execute();
    },

    async deleteThreadSearch(executor: Executor, threadId: string): Promise<void> {
      await executor.deleteFrom('discussion_search').where('thread_id', '=', threadId).execute();
    },

    /**
     * Threads matching every word, in the given workspaces only; hidden threads never. The index
     * holds no text of a hidden opening post (the service keeps it so), so no snippet shows it.
     */
    async searchThreads(workspaceIds: string[], words: string[], limit: number) {
      if (words.length === 0 || workspaceIds.length === 0) return [];
      const base = db
        .selectFrom('discussion_threads as t')
        .innerJoin('workspaces as w', 'w.id', 't.workspace_id')
        .innerJoin('discussion_search', 'discussion_search.thread_id', 't.id')
        .where('t.workspace_id', 'in', workspaceIds)
        .where('t.hidden', '=', 0)
        .select([
          't.id',
          't.title',
          't.workspace_id',
          'w.slug as workspace_slug',
          'w.name as workspace_name',
          't.created_at',
        ]);
      if (dialect === 'sqlite') {
        const match = words
          .map((word, index) => `"${word}"${index === words.length - 1 ? '*' : ''}`)
          .join(' ');
        return base
          .where(sql<boolean>`discussion_search match ${match}`)
          .select([
            sql<string>`snippet(discussion_search, 2, ${HIGHLIGHT_START}, ${HIGHLIGHT_END}, '…', 20)`.as(
              'snippet',
            ),
          ])
          .orderBy(sql`bm25(discussion_search, 0, 10.0, 1.0)`)
          .limit(limit)
          .execute();
      }
      const tsQuery = sql`to_tsquery('english', ${words.map((word, index) => (index === words.length - 1 ? `${word}:*` : word)).join(' & ')})`;
      return base
        .where(sql<boolean>`discussion_search.document @@ ${tsQuery}`)
        .select([
          sql<string>`ts_headline('english', discussion_search.body, ${tsQuery}, ${`StartSel=${HIGHLIGHT_START}, StopSel=${HIGHLIGHT_END}, MaxWords=30, MinWords=10`})`.as(
            'snippet',
          ),
        ])
        .orderBy(sql`ts_rank_cd(discussion_search.document, ${tsQuery})`, 'desc')
        .limit(limit)
        .execute();
    },

    // --- posts ---

    async insertPost(executor: Executor, row: PostRow): Promise<void> {
      await executor.insertInto('posts').values(row).execute();
    },

    async findPost(postId: string, executor: Executor = db): Promise<PostRow | undefined> {
      return executor.selectFrom('posts').selectAll().where('id', '=', postId).executeTakeFirst();
    },

    /**
     * A post, read in the transaction about to change it. On PostgreSQL its row is locked, so an
     * edit and a moderator's hide (or a second edit) of one post run one after the other and each
     * sees what the other left; SQLite runs one write transaction at a time already.
     */
    async findPostForUpdate(
      trx: Transaction<Database>,
      postId: string,
    ): Promise<PostRow | undefined> {
      const query = trx.selectFrom('posts').selectAll().where('id', '=', postId);
      return (dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
    },

    async listPosts(
      conversationId: string,
      viewerId: string | null,
    ): Promise<(PostView & { viewer_found_useful: number })[]> {
      const rows = await db
        .selectFrom('posts as p')
        .leftJoin('users as u', 'u.id', 'p.author_id')
        .where('p.conversation_id', '=', conversationId)
        .selectAll('p')
        .select([
          'u.display_name as author_name',
          'u.handle as author_handle',
          'u.status as author_status',
          (eb) =>
            eb
              .selectFrom('post_reactions')
              .select((inner) => inner.fn.countAll<number>().as('n'))
              .whereRef('post_reactions.post_id', '=', 'p.id')
              .as('useful_count'),
          (eb) =>
            eb
              .selectFrom('post_reactions')
              .select((inner) => inner.fn.countAll<number>().as('n'))
              .whereRef('post_reactions.post_id', '=', 'p.id')
              .where('post_reactions.user_id', '=', viewerId ?? '')
              .as('viewer_found_useful'),
        ])
        .orderBy('p.created_at')
        .orderBy('p.id')
        .execute();
      return rows.map((row) => ({
        ...row,
        useful_count: Number(row.useful_count ?? 0),
        viewer_found_useful: Number(row.viewer_found_useful ?? 0),
      }));
    },

    /** The first post of a conversation, hidden or not: for a thread, the one that opened it. */
    async findOpeningPost(
      conversationId: string,
      executor: Executor = db,
    ): Promise<PostRow | undefined> {
      return executor
        .selectFrom('posts')
        .selectAll()
        .where('conversation_id', '=', conversationId)
        .orderBy('created_at')
        .orderBy('id')
        .limit(1)
        .executeTakeFirst();
    },

    async updatePost(executor: Executor, postId: string, changes: Partial<PostRow>): Promise<void> {
      await executor.updateTable('posts').set(changes).where('id', '=', postId).execute();
    },

    /**
     * Hides or restores a post only if it is not so already, and says whether it changed: of two
     * moderators deciding at once, only one changes it (and tells its author).
     */
    async changePostVisibility(
      executor: Executor,
      postId: string,
      changes: Pick<PostRow, 'hidden_at' | 'hidden_by' | 'hidden_reason'>,
    ): Promise<boolean> {
      const result = await executor
        .updateTable('posts')
        .set(changes)
        .where('id', '=', postId)
        .where('hidden_at', changes.hidden_at === null ? 'is not' : 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async insertPostRevision(
      executor: Executor,
      row: {
        id: string;
        post_id: string;
        body: string;
        edited_by: string | null;
        edited_at: string;
      },
    ) {
      await executor.insertInto('post_revisions').values(row).execute();
    },

    async findPostRevisions(postId: string) {
      return db
        .selectFrom('post_revisions as r')
        .leftJoin('users as u', 'u.id', 'r.edited_by')
        .select(['r.body', 'r.edited_at', 'u.display_name as editor_name'])
        .where('r.post_id', '=', postId)
        .orderBy('r.edited_at', 'desc')
        .execute();
    },

    async countPostsSince(authorId: string, since: string): Promise<number> {
      const row = await db
        .selectFrom('posts')
        .select((eb) => eb.fn.countAll<number>().as('total'))
        .where('author_id', '=', authorId)
        .where('created_at', '>=', since)
        .executeTakeFirstOrThrow();
      return Number(row.total);
    },

    async findConversationParticipants(conversationId: string): Promise<string[]> {
      const rows = await db
        .selectFrom('posts')
        .select('author_id')
        .distinct()
        .where('conversation_id', '=', conversationId)
        .where('author_id', 'is not', null)
        .execute();
      return rows.map((row) => row.author_id!);
    },

    /** Posts by one person, newest first, for their profile; the caller filters by what the viewer may read. */
    async findPostsByAuthor(authorId: string, limit: number) {
      return db
        .selectFrom('posts as p')
        .innerJoin('conversations as c', 'c.id', 'p.conversation_id')
        .select([
          'p.id',
          'p.body',
          'p.created_at',
          'p.conversation_id',
          'c.subject_type',
          'c.subject_id',
          'c.workspace_id',
        ])
        .where('p.author_id', '=', authorId)
        .where('p.hidden_at', 'is', null)
        .orderBy('p.created_at', 'desc')
        .limit(limit)
        .execute();
    },

    // --- reactions ---

    /**
     * Marks a post useful for one person, or takes the mark back, only if it is not so already,
     * and says whether it changed: a form sent twice sets the same state twice.
     */
    async setUsefulReaction(
      executor: Executor,
      postId: string,
      userId: string,
      useful: boolean,
      at: string,
    ): Promise<boolean> {
      if (useful) {
        const inserted = await executor
          .insertInto('post_reactions')
          .values({ post_id: postId, user_id: userId, reaction: 'useful', created_at: at })
          .onConflict((conflict) =>
            conflict.columns(['post_id', 'user_id', 'reaction']).doNothing(),
          )
          .executeTakeFirst();
        return Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0;
      }
      const deleted = await executor
        .deleteFrom('post_reactions')
        .where('post_id', '=', postId)
        .where('user_id', '=', userId)
        .where('reaction', '=', 'useful')
        .executeTakeFirst();
      return Number(deleted.numDeletedRows) > 0;
    },

    // --- reports ---

    async insertReport(
      executor: Executor,
      row: { id: string; post_id: string; reporter_id: string; reason: string; created_at: string },
    ) {
      await executor
        .insertInto('post_reports')
        .values({ ...row, status: 'open', resolved_by: null, resolved_at: null, outcome: null })
        .execute();
    },

    /** Open reports about posts in these workspaces (threads) or, for platform admins, anywhere. */
    async findOpenReports(workspaceIds: string[] | 'all') {
      let query = db
        .selectFrom('post_reports as r')
        .innerJoin('posts as p', 'p.id', 'r.post_id')
        .innerJoin('conversations as c', 'c.id', 'p.conversation_id')
        .leftJoin('users as reporter', 'reporter.id', 'r.reporter_id')
        .leftJoin('users as author', 'author.id', 'p.author_id')
        .where('r.status', '=', 'open');
      // A workspace's managers moderate its discussions; comments on content go to its editors.
      if (workspaceIds !== 'all')
        query = query
          .where('c.subject_type', '=', 'thread')
          .where('c.workspace_id', 'in', workspaceIds.length > 0 ? workspaceIds : ['-']);
      return query
        .select([
          'r.id',
          'r.reason',
          'r.created_at',
          'p.id as post_id',
          'p.author_id as post_author_id',
          'p.body',
          'p.hidden_at',
          'p.conversation_id',
          'c.subject_type',
          'c.subject_id',
          'c.workspace_id',
          'reporter.display_name as reporter_name',
          'author.display_name as author_name',
        ])
        .orderBy('r.created_at')
        .execute();
    },

    async resolveReportsOfPost(
      executor: Executor,
      postId: string,
      by: string,
      at: string,
      outcome: string,
    ): Promise<number> {
      const result = await executor
        .updateTable('post_reports')
        .set({ status: 'resolved', resolved_by: by, resolved_at: at, outcome })
        .where('post_id', '=', postId)
        .where('status', '=', 'open')
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    // --- follows ---

    async follow(
      executor: Executor,
      userId: string,
      subjectType: 'conversation' | 'area' | 'workspace',
      subjectId: string,
      at: string,
    ) {
      await executor
        .insertInto('follows')
        .values({
          user_id: userId,
          subject_type: subjectType,
          subject_id: subjectId,
          created_at: at,
        })
        .onConflict((conflict) =>
          conflict.columns(['user_id', 'subject_type', 'subject_id']).doNothing(),
        )
        .execute();
    },

    async unfollow(executor: Executor, userId: string, subjectType: string, subjectId: string) {
      await executor
        .deleteFrom('follows')
        .where('user_id', '=', userId)
        .where('subject_type', '=', subjectType as 'conversation')
        .where('subject_id', '=', subjectId)
        .execute();
    },

    async isFollowing(userId: string, subjectType: string, subjectId: string): Promise<boolean> {
      const row = await db
        .selectFrom('follows')
        .select('user_id')
        .where('user_id', '=', userId)
        .where('subject_type', '=', subjectType as 'conversation')
        .where('subject_id', '=', subjectId)
        .executeTakeFirst();
      return row !== undefined;
    },

    async followers(
      subjectType: string,
      subjectId: string,
      executor: Executor = db,
    ): Promise<string[]> {
      const rows = await executor
        .selectFrom('follows')
        .select('user_id')
        .where('subject_type', '=', subjectType as 'conversation')
        .where('subject_id', '=', subjectId)
        .execute();
      return rows.map((row) => row.user_id);
    },

    async followedAreas(userId: string, executor: Executor = db): Promise<string[]> {
      const rows = await executor
        .selectFrom('follows')
        .select('subject_id')
        .where('user_id', '=', userId)
        .where('subject_type', '=', 'area')
        .execute();
      return rows.map((row) => row.subject_id);
    },

    // --- workspace membership ---

    async findWorkspaceMembers(workspaceId: string) {
      return db
        .selectFrom('workspace_members as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .where('m.workspace_id', '=', workspaceId)
        .where('u.status', '=', 'active')
        .select(['u.id', 'u.display_name', 'u.handle', 'm.role', 'm.joined_at'])
        .orderBy('m.role', 'desc')
        .orderBy('u.display_name')
        .execute();
    },

    /** The platform admins who can sign in: they see every report, and decide when nobody else may. */
    async findPlatformAdminIds(): Promise<string[]> {
      const rows = await db
        .selectFrom('users')
        .select('id')
        .where('is_platform_admin', '=', 1)
        .where('status', '=', 'active')
        .execute();
      return rows.map((row) => row.id);
    },

    /**
     * The managers of a workspace, read in the transaction that is about to remove or demote one.
     * On PostgreSQL the workspace's row is locked first, so two such changes to one workspace run
     * one after the other and the second counts what the first left; SQLite runs one write
     * transaction at a time already.
     */
    holdWorkspace,

    async findWorkspaceManagerIdsForUpdate(
      trx: Transaction<Database>,
      workspaceId: string,
    ): Promise<string[]> {
      await holdWorkspace(trx, workspaceId);
      const rows = await trx
        .selectFrom('workspace_members as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .where('m.workspace_id', '=', workspaceId)
        .where('m.role', '=', 'manager')
        .where('u.status', '=', 'active')
        .select('u.id')
        .execute();
      return rows.map((row) => row.id);
    },

    async findWorkspaceMember(workspaceId: string, userId: string, executor: Executor = db) {
      return executor
        .selectFrom('workspace_members')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
    },

    /** Adds a member; someone who already belongs keeps their role (a manager stays a manager). */
    async addWorkspaceMemberIfAbsent(
      executor: Executor,
      workspaceId: string,
      userId: string,
      at: string,
    ) {
      await executor
        .insertInto('workspace_members')
        .values({ workspace_id: workspaceId, user_id: userId, role: 'member', joined_at: at })
        .onConflict((conflict) => conflict.columns(['workspace_id', 'user_id']).doNothing())
        .execute();
    },

    async removeWorkspaceMember(executor: Executor, workspaceId: string, userId: string) {
      await executor
        .deleteFrom('workspace_members')
        .where('workspace_id', '=', workspaceId)
        .where('user_id', '=', userId)
        .execute();
    },

    async insertWorkspaceRequest(executor: Executor, row: Insertable<WorkspaceRequestsTable>) {
      await executor.insertInto('workspace_requests').values(row).execute();
    },

    async findPendingWorkspaceRequest(workspaceId: string, userId: string) {
      return db
        .selectFrom('workspace_requests')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('user_id', '=', userId)
        .where('kind', '=', 'request')
        .where('status', '=', 'pending')
        .executeTakeFirst();
    },

    /**
     * Closes a person's pending request to join a workspace, once they are in it another way (an
     * invitation, or joining it after it was opened): left open, a manager would still be asked to
     * decide it.
     */
    async withdrawPendingWorkspaceRequest(
      executor: Executor,
      workspaceId: string,
      userId: string,
      at: string,
    ): Promise<void> {
      await executor
        .updateTable('workspace_requests')
        .set({ status: 'withdrawn', decided_at: at })
        .where('workspace_id', '=', workspaceId)
        .where('user_id', '=', userId)
        .where('kind', '=', 'request')
        .where('status', '=', 'pending')
        .execute();
    },

    async findWorkspaceRequests(workspaceId: string) {
      return db
        .selectFrom('workspace_requests as r')
        .innerJoin('users as u', 'u.id', 'r.user_id')
        .where('r.workspace_id', '=', workspaceId)
        .where('r.status', '=', 'pending')
        .select([
          'r.id',
          'r.kind',
          'r.created_at',
          'r.expires_at',
          'u.id as user_id',
          'u.display_name',
          'u.email',
        ])
        .orderBy('r.created_at')
        .execute();
    },

    async findWorkspaceRequest(workspaceId: string, requestId: string, executor: Executor = db) {
      return executor
        .selectFrom('workspace_requests')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('id', '=', requestId)
        .executeTakeFirst();
    },

    async findWorkspaceInvitationByToken(tokenHash: string, executor: Executor = db) {
      return executor
        .selectFrom('workspace_requests')
        .selectAll()
        .where('kind', '=', 'invitation')
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
    },

    async decideWorkspaceRequest(
      executor: Executor,
      id: string,
      status: 'approved' | 'declined' | 'accepted',
      by: string,
      at: string,
    ): Promise<boolean> {
      const result = await executor
        .updateTable('workspace_requests')
        .set({ status, decided_by: by, decided_at: at })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async setWorkspaceMemberRole(
      executor: Executor,
      workspaceId: string,
      userId: string,
      role: 'member' | 'manager',
    ): Promise<boolean> {
      const result = await executor
        .updateTable('workspace_members')
        .set({ role })
        .where('workspace_id', '=', workspaceId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async updateWorkspace(
      executor: Executor,
      workspaceId: string,
      changes: {
        description: string;
        privacy: 'open' | 'restricted' | 'private';
        updated_at: string;
      },
    ) {
      await executor.updateTable('workspaces').set(changes).where('id', '=', workspaceId).execute();
    },

    /** How many posts, hidden ones too, the conversation about a subject holds. */
    async countPostsAbout(
      executor: Executor,
      subjectType: ConversationSubject,
      subjectId: string,
    ): Promise<number> {
      const row = await executor
        .selectFrom('posts as p')
        .innerJoin('conversations as c', 'c.id', 'p.conversation_id')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('c.subject_type', '=', subjectType)
        .where('c.subject_id', '=', subjectId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /** Deletes the conversations about these subjects: their posts, reactions, reports and followers. */
    async removeConversationsOf(
      executor: Executor,
      subjectType: ConversationSubject,
      subjectIds: readonly string[],
    ): Promise<number> {
      if (subjectIds.length === 0) return 0;
      const conversations = await executor
        .selectFrom('conversations')
        .select('id')
        .where('subject_type', '=', subjectType)
        .where('subject_id', 'in', [...subjectIds])
        .execute();
      const ids = conversations.map((row) => row.id);
      if (ids.length === 0) return 0;
      await executor
        .deleteFrom('follows')
        .where('subject_type', '=', 'conversation')
        .where('subject_id', 'in', ids)
        .execute();
      // Revisions, reactions and reports go with their posts.
      await executor.deleteFrom('posts').where('conversation_id', 'in', ids).execute();
      await executor.deleteFrom('conversations').where('id', 'in', ids).execute();
      return ids.length;
    },

    /** When an account is deleted: what it follows, reacted to and asked for goes; its posts stay, unsigned. */
    async removeEverythingOfUser(executor: Executor, userId: string): Promise<void> {
      await executor.deleteFrom('follows').where('user_id', '=', userId).execute();
      await executor.deleteFrom('post_reactions').where('user_id', '=', userId).execute();
      await executor
        .deleteFrom('workspace_requests')
        .where('user_id', '=', userId)
        .where('status', '=', 'pending')
        .execute();
    },

    /** Everything a person wrote or chose here, for their personal data download. */
    async collectPersonalData(userId: string) {
      const [posts, follows, reports, reactions] = await Promise.all([
        db
          .selectFrom('posts')
          .select(['id', 'conversation_id', 'body', 'created_at', 'edited_at', 'hidden_at'])
          .where('author_id', '=', userId)
          .orderBy('created_at')
          .execute(),
        db
          .selectFrom('follows')
          .select(['subject_type', 'subject_id', 'created_at'])
          .where('user_id', '=', userId)
          .execute(),
        db
          .selectFrom('post_reports')
          .select(['post_id', 'reason', 'created_at'])
          .where('reporter_id', '=', userId)
          .execute(),
        db
          .selectFrom('post_reactions')
          .select(['post_id', 'reaction', 'created_at'])
          .where('user_id', '=', userId)
          .orderBy('created_at')
          .execute(),
      ]);
      return { posts, follows, reports, reactions };
    },

    // --- activity ---

    /** Recent threads and replies of a workspace, and content shared with it, newest first. */
    async recentActivity(workspaceId: string, includeHiddenThreads: boolean, limit: number) {
      let posts = db
        .selectFrom('posts as p')
        .innerJoin('discussion_threads as t', 't.conversation_id', 'p.conversation_id')
        .leftJoin('users as u', 'u.id', 'p.author_id')
        .where('t.workspace_id', '=', workspaceId)
        .where('p.hidden_at', 'is', null)
        .select([
          'p.id',
          'p.created_at',
          't.id as thread_id',
          't.title',
          'u.display_name as author_name',
        ]);
      if (!includeHiddenThreads) posts = posts.where('t.hidden', '=', 0);
      const [postRows, contentRows] = await Promise.all([
        posts.orderBy('p.created_at', 'desc').limit(limit).execute(),
        db
          .selectFrom('content_items')
          .select(['id', 'content_type', 'slug', 'title', 'published_at'])
          .where('workspace_id', '=', workspaceId)
          .where('status', '=', 'published')
          .orderBy('published_at', 'desc')
          .limit(limit)
          .execute(),
      ]);
      return { posts: postRows, content: contentRows };
    },
  };
}

export type DiscussionRepository = ReturnType<typeof createDiscussionRepository>;
