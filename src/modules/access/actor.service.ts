import type { UserRow } from '../../db/schema.ts';
import type { MembershipService } from '../memberships/membership.service.ts';
import type { WorkspaceService } from '../workspaces/workspace.service.ts';
import type { Actor } from './policy.ts';

/**
 * Builds the policy's view of a user: their organisations and roles, and their workspaces. Used
 * for the person making each request, and for the people a notification might go to, so that both
 * are judged by the same rules.
 */
export function createActorService(deps: {
  findUser: (userId: string) => Promise<UserRow | undefined>;
  memberships: MembershipService;
  workspaces: WorkspaceService;
}) {
  async function fromUser(user: UserRow): Promise<Actor> {
    const [memberships, workspaceRoles] = await Promise.all([
      deps.memberships.loadActorMemberships(user.id),
      deps.workspaces.workspaceRolesOfUser(user.id),
    ]);
    return {
      userId: user.id,
      email: user.email ?? '',
      displayName: user.display_name,
      isPlatformAdmin: user.is_platform_admin === 1,
      twoFactorEnabled: user.totp_enabled_at !== null,
      memberships,
      workspaceIds: workspaceRoles.map((role) => role.workspace_id),
      managedWorkspaceIds: workspaceRoles
        .filter((role) => role.role === 'manager')
        .map((role) => role.workspace_id),
    };
  }

  return {
    fromUser,
    /** The actor for a user id, or null when the account no longer exists or is not active. */
    async load(userId: string): Promise<Actor | null> {
      const user = await deps.findUser(userId);
      return user && user.status === 'active' ? fromUser(user) : null;
    },
  };
}

export type ActorService = ReturnType<typeof createActorService>;
