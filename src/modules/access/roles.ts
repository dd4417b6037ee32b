/**
 * Who may do what, as data. A user holds one role in each organisation they belong to; each role
 * grants a set of permissions on that organisation. An ICS admin's permissions also reach every
 * organisation under their ICB. Platform admins hold every permission everywhere.
 */

export const organisationRoles = [
  'member',
  'green_champion',
  'editor',
  'org_admin',
  'ics_verifier',
  'ics_admin',
] as const;
export type OrganisationRole = (typeof organisationRoles)[number];

export const organisationPermissions = [
  /** See the organisation's member list and members-only content. */
  'organisation.read_members_only',
  /** Change the organisation's content and plans. */
  'organisation.edit_content',
  /** Approve or decline join requests, invite people, change roles, remove members. */
  'organisation.manage_members',
  /** Read the audit log of the organisation. */
  'organisation.view_audit',
  /**
   * Keep the practice's Greener General Practice self-assessment: mark actions, attach evidence,
   * submit for an award (see docs/greener-general-practice.md).
   */
  'organisation.manage_assessment',
  /**
   * Verify the Greener General Practice submissions of the practices: approve them or return
   * them. Never for a practice the verifier belongs to (see `assessment.verify` in policy.ts).
   */
  'organisation.verify_assessments',
] as const;
export type OrganisationPermission = (typeof organisationPermissions)[number];

export const roleDefinitions = {
  member: {
    label: 'Member',
    inSentence: 'a member',
    description: 'Reads members-only content of the organisation.',
    permissions: ['organisation.read_members_only'],
    reachesDescendants: false,
    requiresTwoFactor: false,
    allowedOrganisationTypes: 'any',
  },
  editor: {
    label: 'Editor',
    inSentence: 'an editor',
    description: "Changes the organisation's content and plans.",
    permissions: ['organisation.read_members_only', 'organisation.edit_content'],
    reachesDescendants: false,
    requiresTwoFactor: false,
    allowedOrganisationTypes: 'any',
  },
  org_admin: {
    label: 'Organisation admin',
    inSentence: 'an organisation admin',
    description: "Manages the organisation's members and their roles.",
    permissions: [
      'organisation.read_members_only',
      'organisation.edit_content',
      'organisation.manage_members',
      'organisation.view_audit',
      'organisation.manage_assessment',
    ],
    reachesDescendants: false,
    requiresTwoFactor: true,
    allowedOrganisationTypes: 'any',
  },
  ics_admin: {
    label: 'ICS admin',
    inSentence: 'an ICS admin',
    description: 'The Green Plan team: manages every organisation of the integrated care system.',
    permissions: [
      'organisation.read_members_only',
      'organisation.edit_content',
      'organisation.manage_members',
      'organisation.view_audit',
      'organisation.manage_assessment',
      'organisation.verify_assessments',
    ],
    reachesDescendants: true,
    requiresTwoFactor: true,
    allowedOrganisationTypes: ['icb'],
  },
  green_champion: {
    label: 'Green champion',
    inSentence: 'a green champion',
    description:
      "Reads members-only content and keeps the practice's Greener General Practice self-assessment.",
    permissions: ['organisation.read_members_only', 'organisation.manage_assessment'],
    reachesDescendants: false,
    requiresTwoFactor: false,
    allowedOrganisationTypes: ['gp_practice'],
  },
  ics_verifier: {
    label: 'ICS verifier',
    inSentence: 'an ICS verifier',
    description:
      "Verifies the Greener General Practice submissions of the integrated care system's practices.",
    permissions: ['organisation.read_members_only', 'organisation.verify_assessments'],
    reachesDescendants: true,
    // Only verification reaches the practices; members-only content stays the ICB's own.
    descendantPermissions: ['organisation.verify_assessments'],
    requiresTwoFactor: true,
    allowedOrganisationTypes: ['icb'],
  },
} as const satisfies Record<
  OrganisationRole,
  {
    label: string;
    /**
     * The role as a sentence names it, with its article ("You are now an ICS admin"): lower-casing
     * the label would break initialisms and "a" does not suit every role.
     */
    inSentence: string;
    description: string;
    permissions: readonly OrganisationPermission[];
    /** True when the role's permissions apply to every organisation under its own. */
    reachesDescendants: boolean;
    /** When set, only these of its permissions reach below (the rest stay on its own organisation). */
    descendantPermissions?: readonly OrganisationPermission[];
    requiresTwoFactor: boolean;
    allowedOrganisationTypes: 'any' | readonly string[];
  }
>;

/**
 * The roles that manage an organisation's members: its admins. An organisation keeps at least one
 * active admin while its admins are the ones leaving (see the membership service).
 */
export const adminRoles: readonly OrganisationRole[] = organisationRoles.filter((role) =>
  (roleDefinitions[role].permissions as readonly string[]).includes('organisation.manage_members'),
);

export function isOrganisationRole(value: string): value is OrganisationRole {
  return (organisationRoles as readonly string[]).includes(value);
}

/** Roles that may be given in an organisation of this type, for admin forms and validation. */
export function rolesAllowedFor(organisationType: string): OrganisationRole[] {
  return organisationRoles.filter((role) => {
    const allowed = roleDefinitions[role].allowedOrganisationTypes;
    return allowed === 'any' || (allowed as readonly string[]).includes(organisationType);
  });
}

/** The permissions a role holds on every organisation under its own: none unless it reaches below. */
export function permissionsReachingBelow(
  role: OrganisationRole,
): readonly OrganisationPermission[] {
  const definition = roleDefinitions[role];
  if (!definition.reachesDescendants) return [];
  return 'descendantPermissions' in definition
    ? definition.descendantPermissions
    : definition.permissions;
}
