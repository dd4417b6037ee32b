import { describe, expect, it } from 'vitest';
import {
  isOrganisationRole,
  organisationPermissions,
  organisationRoles,
  permissionsReachingBelow,
  roleDefinitions,
  rolesAllowedFor,
  type OrganisationPermission,
} from './roles.ts';

describe('rolesAllowedFor', () => {
  it('offers the ICS roles, and not the green champion, in an ICB', () => {
    expect(rolesAllowedFor('icb')).toEqual([
      'member',
      'editor',
      'org_admin',
      'ics_verifier',
      'ics_admin',
    ]);
  });

  it('offers the green champion role in a GP practice only', () => {
    expect(rolesAllowedFor('gp_practice')).toEqual([
      'member',
      'green_champion',
      'editor',
      'org_admin',
    ]);
  });

  it.each(['pcn', 'sub_icb_location', 'trust', ''])(
    'offers member, editor and org admin in an organisation of type "%s"',
    (organisationType) => {
      const roles = rolesAllowedFor(organisationType);
      expect(roles).toEqual(['member', 'editor', 'org_admin']);
      expect(roles).not.toContain('ics_admin');
    },
  );

  it('matches the ICB type exactly, not case-insensitively or by prefix', () => {
    expect(rolesAllowedFor('ICB')).not.toContain('ics_admin');
    expect(rolesAllowedFor('icb_region')).not.toContain('ics_admin');
  });
});

describe('isOrganisationRole', () => {
  it.each(organisationRoles)('accepts %s', (role) => {
    expect(isOrganisationRole(role)).toBe(true);
  });

  it.each(['admin', 'platform_admin', 'Member', ' member', '', 'toString', '__proto__'])(
    'refuses "%s"',
    (value) => {
      expect(isOrganisationRole(value)).toBe(false);
    },
  );
});

describe('roleDefinitions', () => {
  const known = new Set<string>(organisationPermissions);

  it('defines exactly the organisation roles', () => {
    expect(Object.keys(roleDefinitions).sort()).toEqual([...organisationRoles].sort());
  });

  it.each(organisationRoles)("%s's permissions are all organisation permissions", (role) => {
    const permissions: readonly string[] = roleDefinitions[role].permissions;
    expect(permissions.length).toBeGreaterThan(0);
    for (const permission of permissions) expect(known.has(permission), permission).toBe(true);
    expect(new Set(permissions).size).toBe(permissions.length);
  });

  it('grants each role at least what the role below it has', () => {
    const ladder = ['member', 'editor', 'org_admin', 'ics_admin'] as const;
    for (let index = 1; index < ladder.length; index++) {
      const lower: readonly OrganisationPermission[] =
        roleDefinitions[ladder[index - 1]!].permissions;
      const higher: readonly OrganisationPermission[] = roleDefinitions[ladder[index]!].permissions;
      for (const permission of lower)
        expect(higher, `${ladder[index]} ⊇ ${permission}`).toContain(permission);
    }
  });

  it('lets every member read members-only content', () => {
    for (const role of organisationRoles) {
      expect(roleDefinitions[role].permissions).toContain('organisation.read_members_only');
    }
  });

  it('requires two-factor for exactly the roles that manage people, read the audit log or verify awards', () => {
    for (const role of organisationRoles) {
      const permissions: readonly OrganisationPermission[] = roleDefinitions[role].permissions;
      const administers =
        permissions.includes('organisation.manage_members') ||
        permissions.includes('organisation.view_audit') ||
        permissions.includes('organisation.verify_assessments');
      expect(roleDefinitions[role].requiresTwoFactor, role).toBe(administers);
    }
  });

  it('lets only the ICS roles reach the organisations below, the verifier only to verify', () => {
    const reaching = organisationRoles.filter((role) => roleDefinitions[role].reachesDescendants);
    expect(reaching).toEqual(['ics_verifier', 'ics_admin']);
    expect(permissionsReachingBelow('ics_verifier')).toEqual(['organisation.verify_assessments']);
    expect(permissionsReachingBelow('ics_admin')).toEqual(roleDefinitions.ics_admin.permissions);
    expect(permissionsReachingBelow('org_admin')).toEqual([]);
  });

  it('gives every role a label and a description for the admin forms', () => {
    for (const role of organisationRoles) {
      expect(roleDefinitions[role].label.trim()).not.toBe('');
      expect(roleDefinitions[role].description.trim()).not.toBe('');
    }
  });
});
