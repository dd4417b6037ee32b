import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Database, WorkspaceRow } from '../../db/schema.ts';
import type { WorkspaceRepository } from './workspace.repository.ts';

/**
 * Workspaces: the Midlands Greener NHS Futures workspace and one per integrated care system. Each
 * has members; content can be shared with "members of the workspace". (Forums, joining and
 * moderation come with the discussions feature.)
 */
export const defaultWorkspaces = [
  {
    slug: 'midlands',
    name: 'Midlands Greener NHS Futures',
    description:
      'A platform to support system collaboration and the sharing of best practice across the Midlands region.',
    privacy: 'open' as const,
    organisationCode: null,
  },
  {
    slug: 'llr',
    name: 'Leicester, Leicestershire and Rutland Green Plan',
    description:
      'The workspace of the LLR Integrated Care System and its partners for the LLR ICS Green Plan.',
    privacy: 'restricted' as const,
    organisationCode: 'QK1',
  },
];

export function createWorkspaceService(
  repository: WorkspaceRepository,
  options: { now?: () => Date } = {},
) {
  const now = options.now ?? (() => new Date());
  return {
    listWorkspaces: () => repository.findAll(),
    findBySlug: (slug: string) => repository.findBySlug(slug),
    findById: (id: string) => repository.findById(id),
    workspaceIdsOfUser: (userId: string) => repository.findWorkspaceIdsOfUser(userId),
    workspaceRolesOfUser: (userId: string) => repository.findWorkspaceRolesOfUser(userId),

    async addMember(
      executor: Transaction<Database>,
      workspaceId: string,
      userId: string,
      role: 'member' | 'manager' = 'member',
    ) {
      await repository.addMember(executor, workspaceId, userId, role, now().toISOString());
    },

    /**
     * Creates the default workspaces that are missing; safe to repeat. Those that exist keep what
     * their managers made of them (description, privacy): the defaults are only a starting point.
     */
    async ensureDefaultWorkspaces(
      executor: Transaction<Database>,
    ): Promise<{ created: number; unchanged: number }> {
      let created = 0;
      let unchanged = 0;
      for (const workspace of defaultWorkspaces) {
        const at = now().toISOString();
        const row: WorkspaceRow = {
          id: randomUUID(),
          slug: workspace.slug,
          name: workspace.name,
          description: workspace.description,
          privacy: workspace.privacy,
          organisation_code: workspace.organisationCode,
          created_at: at,
          updated_at: at,
        };
        const outcome = await repository.createWorkspaceIfMissing(executor, row);
        if (outcome === 'created') created++;
        else unchanged++;
      }
      return { created, unchanged };
    },

    /** Workspaces that would be left without a manager if this user went. */
    workspacesOnlyManagedBy: (userId: string, executor?: Transaction<Database>) =>
      repository.findWorkspacesWhereOnlyManager(userId, executor),

    async collectPersonalData(userId: string): Promise<Record<string, unknown>> {
      const { memberships, requests } = await repository.findPersonalData(userId);
      return {
        workspaceMemberships: memberships.map((row) => ({
          workspace: row.name,
          slug: row.slug,
          role: row.role,
          joinedAt: row.joined_at,
        })),
        workspaceRequestsAndInvitations: requests.map((row) => ({
          workspace: row.name,
          slug: row.slug,
          kind: row.kind,
          status: row.status,
          createdAt: row.created_at,
          expiresAt: row.expires_at,
          decidedAt: row.decided_at,
        })),
      };
    },

    removeMembershipsOfUser: (executor: Transaction<Database>, userId: string) =>
      repository.removeMembershipsOfUser(executor, userId),
  };
}

export type WorkspaceService = ReturnType<typeof createWorkspaceService>;
