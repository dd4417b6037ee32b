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

    async upsertWorkspace(
      executor: Executor,
      row: WorkspaceRow,
    ): Promise<'created' | 'unchanged' | 'updated'> {
      const existing = await executor
        .selectFrom('workspaces')
        .selectAll()
        .where('slug', '=', row.slug)
        .executeTakeFirst();
      if (!existing) {
        await executor.insertInto('workspaces').values(row).execute();
        return 'created';
      }
      if (
        existing.name === row.name &&
        existing.description === row.description &&
        existing.privacy === row.privacy &&
        existing.organisation_code === row.organisation_code
      ) {
        return 'unchanged';
      }
      await executor
        .updateTable('workspaces')
        .set({
          name: row.name,
          description: row.description,
          privacy: row.privacy,
          organisation_code: row.organisation_code,
          updated_at: row.updated_at,
        })
        .where('id', '=', existing.id)
        .execute();
      return 'updated';
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

    async removeMembershipsOfUser(executor: Executor, userId: string): Promise<void> {
      await executor.deleteFrom('workspace_members').where('user_id', '=', userId).execute();
    },
  };
}

export type WorkspaceRepository = ReturnType<typeof createWorkspaceRepository>;
