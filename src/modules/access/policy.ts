import {
  permissionsReachingBelow,
  roleDefinitions,
  type OrganisationPermission,
  type OrganisationRole,
} from './roles.ts';

/**
 * The one place that decides who may do what. Routes and services ask `can` (or `assertCan`), and
 * list queries are narrowed with `organisationScope`, so what a user cannot act on they cannot
 * see either.
 */

export interface ActorMembership {
  organisationCode: string;
  organisationName: string;
  organisationType: string;
  /** The organisation's ancestor path, e.g. `/Y60/QK1/`. */
  ancestorPath: string;
  role: OrganisationRole;
}

/** A signed-in user as the policy sees them. Anonymous visitors are `null`. */
export interface Actor {
  userId: string;
  email: string;
  displayName: string;
  isPlatformAdmin: boolean;
  twoFactorEnabled: boolean;
  memberships: ActorMembership[];
  /** Workspaces the user belongs to, for content shared with "members of the workspace". */
  workspaceIds: string[];
  /** Workspaces the user manages (a subset of workspaceIds). */
  managedWorkspaceIds?: string[];
}

export type PrivacyLevel = 'public' | 'workspace' | 'organisation';
export const privacyLevels: readonly PrivacyLevel[] = ['public', 'workspace', 'organisation'];

export interface OrganisationResource {
  kind: 'organisation';
  code: string;
  ancestorPath: string;
}

export interface ContentResource {
  kind: 'content';
  privacy: PrivacyLevel;
  /** The organisation that owns the content (and, for "organisation" privacy, the only readers). */
  organisation: OrganisationResource | null;
  workspaceId: string | null;
}

export interface PlatformResource {
  kind: 'platform';
}

export interface UserResource {
  kind: 'user';
  userId: string;
}

export interface WorkspaceResource {
  kind: 'workspace';
  id: string;
  /** open: anyone may read; restricted: anyone may ask to join; private: by invitation only. */
  privacy: 'open' | 'restricted' | 'private';
}

/** A practice's Greener General Practice submission, as the verification rule sees it. */
export interface AssessmentSubmissionResource {
  kind: 'assessment_submission';
  practice: OrganisationResource;
  /** Who submitted it: they may not verify it themselves. */
  submittedBy: string | null;
  /** Who wrote the answers or added the files it claims: nor may they. */
  contributors?: readonly string[];
}

export type Resource =
  | OrganisationResource
  | ContentResource
  | PlatformResource
  | UserResource
  | WorkspaceResource
  | AssessmentSubmissionResource;

export type Action =
  | OrganisationPermission
  | 'organisation.request_to_join'
  | 'content.read'
  | 'content.edit'
  | 'platform.manage_users'
  | 'platform.view_audit'
  | 'platform.manage_frameworks'
  | 'user.manage_own_account'
  | 'workspace.read'
  | 'workspace.post'
  | 'workspace.join'
  | 'workspace.request_to_join'
  | 'workspace.manage'
  | 'assessment.verify';

/** Permissions that need a second factor: anything that manages other people or reads the audit log. */
const adminPermissions: ReadonlySet<Action> = new Set([
  'organisation.manage_members',
  'organisation.view_audit',
  'platform.manage_users',
  'platform.view_audit',
  'platform.manage_frameworks',
  'organisation.verify_assessments',
  'assessment.verify',
]);

export class ForbiddenError extends Error {
  override name = 'ForbiddenError';
  readonly statusCode = 403;
}

export function can(actor: Actor | null, action: Action, resource: Resource): boolean {
  if (actor && adminPermissions.has(action) && !actor.twoFactorEnabled) return false;

  switch (action) {
    case 'organisation.read_members_only':
    case 'organisation.edit_content':
    case 'organisation.manage_members':
    case 'organisation.view_audit':
    case 'organisation.manage_assessment':
    case 'organisation.verify_assessments':
      return resource.kind === 'organisation' && holdsPermission(actor, action, resource);

    case 'assessment.verify':
      // A verifier of the practice, who neither belongs to it nor submitted the assessment.
      return (
        resource.kind === 'assessment_submission' &&
        actor !== null &&
        holdsPermission(actor, 'organisation.verify_assessments', resource.practice) &&
        verificationConflict(actor, resource) === null
      );

    case 'organisation.request_to_join':
      return (
        actor !== null &&
        resource.kind === 'organisation' &&
        !actor.memberships.some((membership) => membership.organisationCode === resource.code)
      );

    case 'content.read':
      if (resource.kind !== 'content') return false;
      if (resource.privacy === 'public') return true;
      if (actor === null) return false;
      if (actor.isPlatformAdmin) return true;
      if (resource.privacy === 'workspace') {
        return resource.workspaceId !== null && actor.workspaceIds.includes(resource.workspaceId);
      }
      return (
        resource.organisation !== null &&
        holdsPermission(actor, 'organisation.read_members_only', resource.organisation)
      );

    case 'content.edit':
      return (
        resource.kind === 'content' &&
        resource.organisation !== null &&
        holdsPermission(actor, 'organisation.edit_content', resource.organisation)
      );

    case 'platform.manage_users':
    case 'platform.view_audit':
    case 'platform.manage_frameworks':
      return actor !== null && actor.isPlatformAdmin;

    case 'user.manage_own_account':
      return actor !== null && resource.kind === 'user' && resource.userId === actor.userId;

    case 'workspace.read':
      if (resource.kind !== 'workspace') return false;
      if (resource.privacy === 'open') return true;
      return actor !== null && (actor.isPlatformAdmin || actor.workspaceIds.includes(resource.id));

    case 'workspace.post':
      return (
        resource.kind === 'workspace' &&
        actor !== null &&
        (actor.isPlatformAdmin || actor.workspaceIds.includes(resource.id))
      );

    case 'workspace.join':
      return (
        resource.kind === 'workspace' &&
        actor !== null &&
        resource.privacy === 'open' &&
        !actor.workspaceIds.includes(resource.id)
      );

    case 'workspace.request_to_join':
      return (
        resource.kind === 'workspace' &&
        actor !== null &&
        resource.privacy === 'restricted' &&
        !actor.workspaceIds.includes(resource.id)
      );

    case 'workspace.manage':
      return (
        resource.kind === 'workspace' &&
        actor !== null &&
        (actor.isPlatformAdmin || (actor.managedWorkspaceIds ?? []).includes(resource.id))
      );
  }
}

/**
 * Why someone who may verify submissions must not verify this one, or null: a verifier never
 * verifies a practice they belong to (in any role), nor a submission they made themselves.
 */
export function verificationConflict(
  actor: Actor,
  resource: AssessmentSubmissionResource,
): 'own-practice' | 'own-submission' | 'own-answers' | null {
  if (
    actor.memberships.some((membership) => membership.organisationCode === resource.practice.code)
  )
    return 'own-practice';
  if (resource.submittedBy !== null && resource.submittedBy === actor.userId)
    return 'own-submission';
  if (resource.contributors?.includes(actor.userId)) return 'own-answers';
  return null;
}

/** Throws ForbiddenError unless `can` says yes. */
export function assertCan(actor: Actor | null, action: Action, resource: Resource): void {
  if (!can(actor, action, resource)) throw new ForbiddenError(`Not allowed: ${action}`);
}

function holdsPermission(
  actor: Actor | null,
  permission: OrganisationPermission,
  organisation: OrganisationResource,
): boolean {
  if (actor === null) return false;
  if (actor.isPlatformAdmin) return true;
  return actor.memberships.some((membership) => {
    const definition = roleDefinitions[membership.role];
    if (!(definition.permissions as readonly OrganisationPermission[]).includes(permission))
      return false;
    if (membership.organisationCode === organisation.code) return true;
    return (
      permissionsReachingBelow(membership.role).includes(permission) &&
      organisation.ancestorPath.includes(`/${membership.organisationCode}/`)
    );
  });
}

/**
 * The organisations on which an actor holds a permission, in a form a repository can put in a
 * WHERE clause: every organisation, or those with these codes, or under these ancestors.
 */
export type OrganisationScope =
  { kind: 'all' } | { kind: 'some'; codes: string[]; underAncestors: string[] };

export function organisationScope(
  actor: Actor | null,
  permission: OrganisationPermission,
): OrganisationScope {
  if (actor === null) return { kind: 'some', codes: [], underAncestors: [] };
  if (adminPermissions.has(permission) && !actor.twoFactorEnabled) {
    return { kind: 'some', codes: [], underAncestors: [] };
  }
  if (actor.isPlatformAdmin) return { kind: 'all' };
  const codes: string[] = [];
  const underAncestors: string[] = [];
  for (const membership of actor.memberships) {
    const definition = roleDefinitions[membership.role];
    if (!(definition.permissions as readonly OrganisationPermission[]).includes(permission))
      continue;
    codes.push(membership.organisationCode);
    if (permissionsReachingBelow(membership.role).includes(permission))
      underAncestors.push(membership.organisationCode);
  }
  return { kind: 'some', codes, underAncestors };
}

/** True when any of the actor's roles requires a second factor. */
export function requiresTwoFactor(actor: Actor): boolean {
  return (
    actor.isPlatformAdmin ||
    actor.memberships.some((membership) => roleDefinitions[membership.role].requiresTwoFactor)
  );
}
