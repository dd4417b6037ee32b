import type { Kysely, Transaction } from 'kysely';
import type { Database, WorkspaceRow } from '../../db/schema.ts';

type Executor = Kysely<Database> | Transaction<Database>;

export function createWorkspaceRepository(db: Kysely<Database>) {
  return {
    async findAll(): Promise<WorkspaceRow[]> {
      return db.selectFrom('workspaces').selectAll().orderBy('name').execute();
    },

    async findBySlug(slug: string): Promise<WorkspaceRow | undefined> {
      return db.selectFrom('workspaces').selectAll().where('slug', '=', slug).executeTakeFirst();
    },

    async findById(id: string): Promise<WorkspaceRow | undefined> {
      return db.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async findWorkspaceRolesOfUser(userId: string) {
      return db
        .selectFrom('workspace_members')
        .select(['workspace_id', 'role'])
        .where('user_id', '=', userId)
        .execute();
    },

    async findWorkspaceIdsOfUser(userId: string): Promise<string[]> {
      const rows = await db
        .selectFrom('workspace_members')
        .select('workspace_id')
        .where('user_id', '=', userId)
        .execute();
      return rows.map((row) => row.workspace_id);
    },

    /**
     * Adds a workspace unless one with its slug exists. One that exists is left exactly as it is:
     * its managers may have changed its description or privacy since.
     */
    async createWorkspaceIfMissing(
      executor: Executor,
      row: WorkspaceRow,
    ): Promise<'created' | 'kept'> {
      const existing = await executor
        .selectFrom('workspaces')
        .select('id')
        .where('slug', '=', row.slug)
        .executeTakeFirst();
      if (existing) return 'kept';
      await executor.insertInto('workspaces').values(row).execute();
      return 'created';
    },

    /** The workspaces this user manages where no other active user is a manager. */
    async findWorkspacesWhereOnlyManager(
      userId: string,
      executor: Executor = db,
    ): Promise<{ slug: string; name: string }[]> {
      return executor
        .selectFrom('workspace_members as m')
        .innerJoin('workspaces as w', 'w.id', 'm.workspace_id')
        .select(['w.slug', 'w.name'])
        .where('m.user_id', '=', userId)
        .where('m.role', '=', 'manager')
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('workspace_members as other')
                .innerJoin('users as u', 'u.id', 'other.user_id')
                .select('other.user_id')
                .whereRef('other.workspace_id', '=', 'm.workspace_id')
                .where('other.role', '=', 'manager')
                .where('other.user_id', '<>', userId)
                .where('u.status', '=', 'active'),
            ),
          ),
        )
        .orderBy('w.name')
        .execute();
    },

    async addMember(
      executor: Executor,
      workspaceId: string,
      userId: string,
      role: 'member' | 'manager',
      at: string,
    ): Promise<void> {
      await executor
        .insertInto('workspace_members')
        .values({ workspace_id: workspaceId, user_id: userId, role, joined_at: at })
        .onConflict((conflict) =>
          conflict.columns(['workspace_id', 'user_id']).doUpdateSet({ role }),
        )
        .execute();
    },

    /** A person's workspace memberships and their requests and invitations, for their download. */
    async findPersonalData(userId: string) {
      const [memberships, requests] = await Promise.all([
        db
          .selectFrom('workspace_members as m')
          .innerJoin('workspaces as w', 'w.id', 'm.workspace_id')
          .select(['w.slug', 'w.name', 'm.role', 'm.joined_at'])
          .where('m.user_id', '=', userId)
          .orderBy('m.joined_at')
          .execute(),
        db
          .selectFrom('workspace_requests as r')
          .innerJoin('workspaces as w', 'w.id', 'r.workspace_id')
          .select([
            'w.slug',
            'w.name',
            'r.kind',
            'r.status',
            'r.created_at',
            'r.expires_at',
            'r.decided_at',
          ])
          .where('r.user_id', '=', userId)
          .orderBy('r.created_at')
          .execute(),
      ]);
      return { memberships, requests };
    },

    async removeMembershipsOfUser(executor: Executor, userId: string): Promise<void> {
      await executor.deleteFrom('workspace_members').where('user_id', '=', userId).execute();
    },
  };
}

export type WorkspaceRepository = ReturnType<typeof createWorkspaceRepository>;
