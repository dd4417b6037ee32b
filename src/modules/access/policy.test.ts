import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  assertCan,
  can,
  ForbiddenError,
  organisationScope,
  requiresTwoFactor,
  verificationConflict,
  type Action,
  type Actor,
  type ActorMembership,
  type AssessmentSubmissionResource,
  type ContentResource,
  type OrganisationResource,
  type OrganisationScope,
  type PrivacyLevel,
} from './policy.ts';
import { organisationPermissions, organisationRoles, type OrganisationRole } from './roles.ts';

/*
 * A small slice of the NHS England hierarchy: the region Y60, two ICBs (QK1 and QT1), a sub-ICB
 * location under each, and practices under those. QK10 is a made-up ICB whose code starts with
 * QK1, to prove that ancestor matching is by whole path segment, not by prefix.
 */
const region = organisation('Y60', '/');
const icbQk1 = organisation('QK1', '/Y60/');
const subIcb03w = organisation('03W', '/Y60/QK1/');
const practiceC82001 = organisation('C82001', '/Y60/QK1/03W/');
const practiceC82002 = organisation('C82002', '/Y60/QK1/03W/');
const icbQt1 = organisation('QT1', '/Y60/');
const practiceUnderQt1 = organisation('C84001', '/Y60/QT1/04K/');
const practiceUnderQk10 = organisation('C99001', '/Y60/QK10/99X/');

const everyOrganisation = [
  region,
  icbQk1,
  subIcb03w,
  practiceC82001,
  practiceC82002,
  icbQt1,
  practiceUnderQt1,
  practiceUnderQk10,
];

const adminActions: Action[] = [
  'organisation.manage_members',
  'organisation.view_audit',
  'organisation.verify_assessments',
  'platform.manage_users',
  'platform.view_audit',
  'platform.manage_frameworks',
];

function organisation(code: string, ancestorPath: string): OrganisationResource {
  return { kind: 'organisation', code, ancestorPath };
}

function membership(
  of: OrganisationResource,
  role: OrganisationRole,
  organisationType = of.code.startsWith('Q') ? 'icb' : 'gp_practice',
): ActorMembership {
  return {
    organisationCode: of.code,
    organisationName: `Organisation ${of.code}`,
    organisationType,
    ancestorPath: of.ancestorPath,
    role,
  };
}

/** A signed-in user with two-factor authentication on and no memberships, unless overridden. */
function buildActor(overrides: Partial<Actor> = {}): Actor {
  return {
    userId: 'user-1',
    email: 'alice@example.nhs.uk',
    displayName: 'Alice',
    isPlatformAdmin: false,
    twoFactorEnabled: true,
    memberships: [],
    workspaceIds: [],
    ...overrides,
  };
}

function roleAt(
  of: OrganisationResource,
  role: OrganisationRole,
  overrides: Partial<Actor> = {},
): Actor {
  return buildActor({ memberships: [membership(of, role)], ...overrides });
}

function content(
  privacy: PrivacyLevel,
  owner: OrganisationResource | null,
  workspaceId: string | null = null,
): ContentResource {
  return { kind: 'content', privacy, organisation: owner, workspaceId };
}

/* Random actors and organisations over a small pool of codes, so that paths and memberships collide. */

const codePool = ['Y60', 'QK1', 'QT1', 'QK10', '03W', '04K', 'C82001', 'C82002', 'C84001'];

const arbitraryOrganisation = fc
  .record({
    code: fc.constantFrom(...codePool),
    ancestors: fc.array(fc.constantFrom(...codePool), { maxLength: 4 }),
  })
  .map(({ code, ancestors }): OrganisationResource => ({
    kind: 'organisation',
    code,
    ancestorPath: `/${ancestors.map((ancestor) => `${ancestor}/`).join('')}`,
  }));

const arbitraryMembership = fc
  .record({ of: arbitraryOrganisation, role: fc.constantFrom(...organisationRoles) })
  .map(({ of, role }) => membership(of, role));

const arbitraryActor: fc.Arbitrary<Actor> = fc
  .record({
    isPlatformAdmin: fc.nat(9).map((n) => n === 0),
    twoFactorEnabled: fc.boolean(),
    memberships: fc.array(arbitraryMembership, { maxLength: 4 }),
  })
  .map((fields) => buildActor(fields));

const platformAdmin = buildActor({ userId: 'admin-1', isPlatformAdmin: true });
const platformAdminWithoutTwoFactor = buildActor({
  userId: 'admin-2',
  isPlatformAdmin: true,
  twoFactorEnabled: false,
});

describe('can: organisation permissions held through a role', () => {
  // Hard-coded rather than read from roleDefinitions, so a change to the table shows up here.
  const expected: Record<
    OrganisationRole,
    Record<(typeof organisationPermissions)[number], boolean>
  > = {
    member: {
      'organisation.read_members_only': true,
      'organisation.edit_content': false,
      'organisation.manage_members': false,
      'organisation.view_audit': false,
      'organisation.manage_assessment': false,
      'organisation.verify_assessments': false,
    },
    green_champion: {
      'organisation.read_members_only': true,
      'organisation.edit_content': false,
      'organisation.manage_members': false,
      'organisation.view_audit': false,
      'organisation.manage_assessment': true,
      'organisation.verify_assessments': false,
    },
    editor: {
      'organisation.read_members_only': true,
      'organisation.edit_content': true,
      'organisation.manage_members': false,
      'organisation.view_audit': false,
      'organisation.manage_assessment': false,
      'organisation.verify_assessments': false,
    },
    org_admin: {
      'organisation.read_members_only': true,
      'organisation.edit_content': true,
      'organisation.manage_members': true,
      'organisation.view_audit': true,
      'organisation.manage_assessment': true,
      'organisation.verify_assessments': false,
    },
    ics_verifier: {
      'organisation.read_members_only': true,
      'organisation.edit_content': false,
      'organisation.manage_members': false,
      'organisation.view_audit': false,
      'organisation.manage_assessment': false,
      'organisation.verify_assessments': true,
    },
    ics_admin: {
      'organisation.read_members_only': true,
      'organisation.edit_content': true,
      'organisation.manage_members': true,
      'organisation.view_audit': true,
      'organisation.manage_assessment': true,
      'organisation.verify_assessments': true,
    },
  };

  for (const role of ['member', 'green_champion', 'editor', 'org_admin'] as const) {
    for (const permission of organisationPermissions) {
      it(`a practice ${role} ${expected[role][permission] ? 'holds' : 'does not hold'} ${permission} on their own practice`, () => {
        expect(can(roleAt(practiceC82001, role), permission, practiceC82001)).toBe(
          expected[role][permission],
        );
      });
    }

    it(`a practice ${role} holds nothing on a neighbouring practice, their sub-ICB or their ICB`, () => {
      const actor = roleAt(practiceC82001, role);
      for (const other of [practiceC82002, subIcb03w, icbQk1, region, practiceUnderQt1]) {
        for (const permission of organisationPermissions) {
          expect(can(actor, permission, other), `${permission} on ${other.code}`).toBe(false);
        }
      }
    });
  }

  it('an ICS admin of QK1 holds every organisation permission on the ICB itself', () => {
    const actor = roleAt(icbQk1, 'ics_admin');
    for (const permission of organisationPermissions) {
      expect(can(actor, permission, icbQk1), permission).toBe(expected.ics_admin[permission]);
    }
  });

  it.each([subIcb03w, practiceC82001, practiceC82002])(
    'an ICS admin of QK1 reaches $code (ancestor path $ancestorPath)',
    (descendant) => {
      const actor = roleAt(icbQk1, 'ics_admin');
      for (const permission of organisationPermissions) {
        expect(can(actor, permission, descendant), permission).toBe(true);
      }
    },
  );

  it.each([
    ['another ICB', icbQt1],
    ['a practice under another ICB', practiceUnderQt1],
    ['the region above the ICB', region],
    ['a practice under an ICB whose code merely starts with QK1', practiceUnderQk10],
  ])('an ICS admin of QK1 does not reach %s', (_description, outsider) => {
    const actor = roleAt(icbQk1, 'ics_admin');
    for (const permission of organisationPermissions) {
      expect(can(actor, permission, outsider), permission).toBe(false);
    }
  });

  it('an org admin of an ICB does not reach the organisations under it (only ICS admins do)', () => {
    const actor = roleAt(icbQk1, 'org_admin');
    expect(can(actor, 'organisation.manage_members', icbQk1)).toBe(true);
    for (const permission of organisationPermissions) {
      expect(can(actor, permission, practiceC82001), permission).toBe(false);
    }
  });

  it('uses the strongest of several memberships for each organisation', () => {
    const actor = buildActor({
      memberships: [membership(practiceC82001, 'member'), membership(practiceC82002, 'org_admin')],
    });
    expect(can(actor, 'organisation.edit_content', practiceC82001)).toBe(false);
    expect(can(actor, 'organisation.edit_content', practiceC82002)).toBe(true);
    expect(can(actor, 'organisation.manage_members', practiceC82002)).toBe(true);
  });

  it('a platform admin with two-factor holds every organisation permission everywhere', () => {
    for (const target of everyOrganisation) {
      for (const permission of organisationPermissions) {
        expect(can(platformAdmin, permission, target), `${permission} on ${target.code}`).toBe(
          true,
        );
      }
    }
  });

  it('organisation permissions are refused on anything that is not an organisation', () => {
    const actor = roleAt(practiceC82001, 'org_admin');
    for (const permission of organisationPermissions) {
      expect(can(actor, permission, content('organisation', practiceC82001))).toBe(false);
      expect(can(actor, permission, { kind: 'platform' })).toBe(false);
      expect(can(actor, permission, { kind: 'user', userId: actor.userId })).toBe(false);
      expect(can(platformAdmin, permission, { kind: 'platform' })).toBe(false);
    }
  });
});

describe('can: anonymous visitors', () => {
  it('may read public content and nothing else', () => {
    const resources = [
      ...everyOrganisation,
      content('workspace', practiceC82001, 'ws-1'),
      content('organisation', practiceC82001),
      { kind: 'platform' } as const,
      { kind: 'user', userId: 'user-1' } as const,
    ];
    const actions: Action[] = [
      ...organisationPermissions,
      'organisation.request_to_join',
      'content.read',
      'content.edit',
      'platform.manage_users',
      'platform.view_audit',
      'user.manage_own_account',
    ];
    for (const resource of resources) {
      for (const action of actions) {
        expect(can(null, action, resource), `${action} on ${JSON.stringify(resource)}`).toBe(false);
      }
    }
    expect(can(null, 'content.read', content('public', practiceC82001))).toBe(true);
    expect(can(null, 'content.read', content('public', null))).toBe(true);
  });
});

describe('can: two-factor authentication for admin permissions', () => {
  it('an org admin without two-factor may read and edit but not manage members or read the audit log', () => {
    const actor = roleAt(practiceC82001, 'org_admin', { twoFactorEnabled: false });
    expect(can(actor, 'organisation.read_members_only', practiceC82001)).toBe(true);
    expect(can(actor, 'organisation.edit_content', practiceC82001)).toBe(true);
    expect(can(actor, 'organisation.manage_members', practiceC82001)).toBe(false);
    expect(can(actor, 'organisation.view_audit', practiceC82001)).toBe(false);
  });

  it('an ICS admin without two-factor cannot manage members or read the audit log anywhere in the ICS', () => {
    const actor = roleAt(icbQk1, 'ics_admin', { twoFactorEnabled: false });
    for (const target of [icbQk1, subIcb03w, practiceC82001]) {
      expect(can(actor, 'organisation.read_members_only', target)).toBe(true);
      expect(can(actor, 'organisation.manage_members', target)).toBe(false);
      expect(can(actor, 'organisation.view_audit', target)).toBe(false);
    }
  });

  it('a platform admin without two-factor holds no admin permission', () => {
    expect(can(platformAdminWithoutTwoFactor, 'platform.manage_users', { kind: 'platform' })).toBe(
      false,
    );
    expect(can(platformAdminWithoutTwoFactor, 'platform.view_audit', { kind: 'platform' })).toBe(
      false,
    );
    expect(can(platformAdminWithoutTwoFactor, 'organisation.manage_members', practiceC82001)).toBe(
      false,
    );
    expect(can(platformAdminWithoutTwoFactor, 'organisation.view_audit', practiceC82001)).toBe(
      false,
    );
    // Reading and editing are not admin permissions.
    expect(can(platformAdminWithoutTwoFactor, 'organisation.read_members_only', icbQt1)).toBe(true);
    expect(can(platformAdminWithoutTwoFactor, 'organisation.edit_content', icbQt1)).toBe(true);
  });

  it('the platform permissions belong to platform admins with two-factor only', () => {
    expect(can(platformAdmin, 'platform.manage_users', { kind: 'platform' })).toBe(true);
    expect(can(platformAdmin, 'platform.view_audit', { kind: 'platform' })).toBe(true);
    const icsAdmin = roleAt(icbQk1, 'ics_admin');
    expect(can(icsAdmin, 'platform.manage_users', { kind: 'platform' })).toBe(false);
    expect(can(icsAdmin, 'platform.view_audit', { kind: 'platform' })).toBe(false);
    expect(can(platformAdmin, 'platform.manage_frameworks', { kind: 'platform' })).toBe(true);
    expect(can(icsAdmin, 'platform.manage_frameworks', { kind: 'platform' })).toBe(false);
    expect(
      can(platformAdminWithoutTwoFactor, 'platform.manage_frameworks', { kind: 'platform' }),
    ).toBe(false);
  });

  it('property: without two-factor no actor holds an admin permission on any resource', () => {
    fc.assert(
      fc.property(
        arbitraryActor.map((actor) => ({ ...actor, twoFactorEnabled: false })),
        fc.constantFrom(...adminActions),
        fc.oneof(arbitraryOrganisation, fc.constant({ kind: 'platform' } as const)),
        (actor, action, resource) => {
          expect(can(actor, action, resource)).toBe(false);
        },
      ),
    );
  });
});

describe('can: organisation.request_to_join', () => {
  it('is open to a signed-in user who is not a member', () => {
    expect(can(buildActor(), 'organisation.request_to_join', practiceC82001)).toBe(true);
    expect(
      can(roleAt(practiceC82002, 'member'), 'organisation.request_to_join', practiceC82001),
    ).toBe(true);
  });

  it.each(organisationRoles)('is refused to someone who is already a %s there', (role) => {
    expect(can(roleAt(practiceC82001, role), 'organisation.request_to_join', practiceC82001)).toBe(
      false,
    );
  });

  it('is refused to anonymous visitors and for anything but an organisation', () => {
    expect(can(null, 'organisation.request_to_join', practiceC82001)).toBe(false);
    expect(
      can(buildActor(), 'organisation.request_to_join', content('public', practiceC82001)),
    ).toBe(false);
  });

  it('does not need two-factor', () => {
    expect(
      can(buildActor({ twoFactorEnabled: false }), 'organisation.request_to_join', practiceC82001),
    ).toBe(true);
  });
});

describe('can: content.read', () => {
  it('public content is readable by everyone', () => {
    const item = content('public', practiceC82001);
    for (const actor of [null, buildActor(), roleAt(practiceUnderQt1, 'member'), platformAdmin]) {
      expect(can(actor, 'content.read', item)).toBe(true);
    }
  });

  describe('workspace content', () => {
    const item = content('workspace', practiceC82001, 'ws-1');

    it('is readable by members of the workspace', () => {
      expect(can(buildActor({ workspaceIds: ['ws-2', 'ws-1'] }), 'content.read', item)).toBe(true);
    });

    it('is not readable by members of other workspaces or anonymous visitors', () => {
      expect(can(buildActor({ workspaceIds: ['ws-2'] }), 'content.read', item)).toBe(false);
      expect(can(buildActor(), 'content.read', item)).toBe(false);
      expect(can(null, 'content.read', item)).toBe(false);
    });

    it('is not readable through membership of the owning organisation alone', () => {
      expect(can(roleAt(practiceC82001, 'org_admin'), 'content.read', item)).toBe(false);
    });

    it('without a workspace id is readable by nobody but platform admins', () => {
      const orphan = content('workspace', practiceC82001, null);
      expect(can(buildActor({ workspaceIds: ['ws-1'] }), 'content.read', orphan)).toBe(false);
      expect(can(platformAdmin, 'content.read', orphan)).toBe(true);
    });

    it('is readable by platform admins, with or without two-factor', () => {
      expect(can(platformAdmin, 'content.read', item)).toBe(true);
      expect(can(platformAdminWithoutTwoFactor, 'content.read', item)).toBe(true);
    });
  });

  describe('organisation content', () => {
    const item = content('organisation', practiceC82001);

    it.each(organisationRoles.filter((role) => role !== 'ics_admin'))(
      'is readable by a %s of the owning organisation',
      (role) => {
        expect(can(roleAt(practiceC82001, role), 'content.read', item)).toBe(true);
      },
    );

    it('is not readable by members of another organisation, even a neighbouring one', () => {
      expect(can(roleAt(practiceC82002, 'org_admin'), 'content.read', item)).toBe(false);
      expect(can(roleAt(practiceUnderQt1, 'member'), 'content.read', item)).toBe(false);
    });

    it('is not readable by members of an organisation above without a reaching role', () => {
      expect(can(roleAt(icbQk1, 'org_admin'), 'content.read', item)).toBe(false);
      expect(can(roleAt(subIcb03w, 'editor'), 'content.read', item)).toBe(false);
    });

    it('is readable by the ICS admin above, even before they set up two-factor', () => {
      expect(can(roleAt(icbQk1, 'ics_admin'), 'content.read', item)).toBe(true);
      expect(
        can(roleAt(icbQk1, 'ics_admin', { twoFactorEnabled: false }), 'content.read', item),
      ).toBe(true);
    });

    it('is not readable by the ICS admin of another ICB', () => {
      expect(can(roleAt(icbQt1, 'ics_admin'), 'content.read', item)).toBe(false);
    });

    it('is not readable by workspace members or anonymous visitors', () => {
      const withWorkspace = content('organisation', practiceC82001, 'ws-1');
      expect(can(buildActor({ workspaceIds: ['ws-1'] }), 'content.read', withWorkspace)).toBe(
        false,
      );
      expect(can(null, 'content.read', item)).toBe(false);
    });

    it('is readable by platform admins', () => {
      expect(can(platformAdmin, 'content.read', item)).toBe(true);
    });

    it('without an owning organisation is readable only by platform admins', () => {
      const orphan = content('organisation', null);
      expect(can(roleAt(practiceC82001, 'org_admin'), 'content.read', orphan)).toBe(false);
      expect(can(platformAdmin, 'content.read', orphan)).toBe(true);
    });
  });

  it('is refused on anything that is not content', () => {
    expect(can(roleAt(practiceC82001, 'member'), 'content.read', practiceC82001)).toBe(false);
    expect(can(platformAdmin, 'content.read', { kind: 'platform' })).toBe(false);
  });
});

describe('can: content.edit', () => {
  const item = content('organisation', practiceC82001);

  it('is allowed to editors and org admins of the owning organisation', () => {
    expect(can(roleAt(practiceC82001, 'editor'), 'content.edit', item)).toBe(true);
    expect(can(roleAt(practiceC82001, 'org_admin'), 'content.edit', item)).toBe(true);
  });

  it('is refused to plain members of the owning organisation', () => {
    expect(can(roleAt(practiceC82001, 'member'), 'content.edit', item)).toBe(false);
  });

  it('is refused to editors of another organisation, including the ones above', () => {
    expect(can(roleAt(practiceC82002, 'editor'), 'content.edit', item)).toBe(false);
    expect(can(roleAt(icbQk1, 'editor'), 'content.edit', item)).toBe(false);
    expect(can(roleAt(practiceUnderQt1, 'editor'), 'content.edit', item)).toBe(false);
  });

  it('is allowed to the ICS admin above and to platform admins', () => {
    expect(can(roleAt(icbQk1, 'ics_admin'), 'content.edit', item)).toBe(true);
    expect(can(roleAt(icbQt1, 'ics_admin'), 'content.edit', item)).toBe(false);
    expect(can(platformAdmin, 'content.edit', item)).toBe(true);
  });

  it('follows the owning organisation whatever the privacy level', () => {
    for (const privacy of ['public', 'workspace', 'organisation'] as const) {
      const shared = content(privacy, practiceC82001, 'ws-1');
      expect(can(roleAt(practiceC82001, 'editor'), 'content.edit', shared), privacy).toBe(true);
      expect(
        can(
          buildActor({
            memberships: [membership(practiceC82002, 'editor')],
            workspaceIds: ['ws-1'],
          }),
          'content.edit',
          shared,
        ),
        privacy,
      ).toBe(false);
    }
  });

  it('is refused to anonymous visitors, for content with no owner and for non-content', () => {
    expect(can(null, 'content.edit', item)).toBe(false);
    expect(can(roleAt(practiceC82001, 'editor'), 'content.edit', content('public', null))).toBe(
      false,
    );
    expect(can(roleAt(practiceC82001, 'editor'), 'content.edit', practiceC82001)).toBe(false);
  });
});

describe('can: user.manage_own_account', () => {
  it('is allowed for oneself only', () => {
    const actor = buildActor({ userId: 'user-7' });
    expect(can(actor, 'user.manage_own_account', { kind: 'user', userId: 'user-7' })).toBe(true);
    expect(can(actor, 'user.manage_own_account', { kind: 'user', userId: 'user-8' })).toBe(false);
  });

  it('does not let platform admins manage other people through it', () => {
    expect(can(platformAdmin, 'user.manage_own_account', { kind: 'user', userId: 'user-1' })).toBe(
      false,
    );
  });

  it('is refused to anonymous visitors and on anything but a user', () => {
    expect(can(null, 'user.manage_own_account', { kind: 'user', userId: 'user-1' })).toBe(false);
    expect(can(buildActor(), 'user.manage_own_account', { kind: 'platform' })).toBe(false);
  });

  it('does not need two-factor', () => {
    const actor = buildActor({ userId: 'user-7', twoFactorEnabled: false });
    expect(can(actor, 'user.manage_own_account', { kind: 'user', userId: 'user-7' })).toBe(true);
  });
});

describe('can: Greener General Practice champions and verifiers', () => {
  function submission(
    practice: OrganisationResource,
    submittedBy: string | null = 'champion-1',
  ): AssessmentSubmissionResource {
    return { kind: 'assessment_submission', practice, submittedBy };
  }

  it("a green champion keeps their own practice's assessment and nobody else's", () => {
    const champion = roleAt(practiceC82001, 'green_champion');
    expect(can(champion, 'organisation.manage_assessment', practiceC82001)).toBe(true);
    expect(can(champion, 'organisation.manage_assessment', practiceC82002)).toBe(false);
    expect(can(champion, 'organisation.edit_content', practiceC82001)).toBe(false);
    expect(can(champion, 'assessment.verify', submission(practiceC82001))).toBe(false);
  });

  it('an ICS verifier of QK1 verifies the practices of the ICS, and only that reaches below', () => {
    const verifier = roleAt(icbQk1, 'ics_verifier');
    for (const practice of [practiceC82001, practiceC82002]) {
      expect(can(verifier, 'organisation.verify_assessments', practice)).toBe(true);
      expect(can(verifier, 'assessment.verify', submission(practice))).toBe(true);
      expect(can(verifier, 'organisation.read_members_only', practice)).toBe(false);
      expect(can(verifier, 'organisation.manage_assessment', practice)).toBe(false);
    }
    expect(can(verifier, 'organisation.read_members_only', icbQk1)).toBe(true);
    for (const outsider of [practiceUnderQt1, practiceUnderQk10, icbQt1]) {
      expect(can(verifier, 'assessment.verify', submission(outsider))).toBe(false);
    }
  });

  it('an ICS verifier never verifies a practice they belong to, in any role', () => {
    for (const role of organisationRoles.filter((candidate) => candidate !== 'ics_admin')) {
      if (role === 'ics_verifier') continue;
      const verifier = buildActor({
        memberships: [membership(icbQk1, 'ics_verifier'), membership(practiceC82001, role)],
      });
      const resource = submission(practiceC82001);
      expect(can(verifier, 'assessment.verify', resource), role).toBe(false);
      expect(verificationConflict(verifier, resource), role).toBe('own-practice');
      expect(can(verifier, 'assessment.verify', submission(practiceC82002)), role).toBe(true);
    }
  });

  it('nobody verifies a submission they made, not even a platform admin', () => {
    expect(can(platformAdmin, 'assessment.verify', submission(practiceC82001, 'admin-1'))).toBe(
      false,
    );
    expect(verificationConflict(platformAdmin, submission(practiceC82001, 'admin-1'))).toBe(
      'own-submission',
    );
    expect(can(platformAdmin, 'assessment.verify', submission(practiceC82001, 'someone'))).toBe(
      true,
    );
  });

  it('nobody verifies a submission claiming answers or files they added, not even a platform admin', () => {
    const theirs = { ...submission(practiceC82001, 'someone'), contributors: ['admin-1'] };
    expect(can(platformAdmin, 'assessment.verify', theirs)).toBe(false);
    expect(verificationConflict(platformAdmin, theirs)).toBe('own-answers');
    const others = { ...submission(practiceC82001, 'someone'), contributors: ['someone'] };
    expect(can(platformAdmin, 'assessment.verify', others)).toBe(true);
  });

  it('verifying needs two-factor authentication and a signed-in person', () => {
    const verifier = roleAt(icbQk1, 'ics_verifier', { twoFactorEnabled: false });
    expect(can(verifier, 'organisation.verify_assessments', practiceC82001)).toBe(false);
    expect(can(verifier, 'assessment.verify', submission(practiceC82001))).toBe(false);
    expect(can(null, 'assessment.verify', submission(practiceC82001))).toBe(false);
    expect(can(roleAt(icbQk1, 'ics_admin'), 'assessment.verify', practiceC82001)).toBe(false);
  });

  it('property: whoever may verify a submission holds the permission and does not belong to the practice', () => {
    fc.assert(
      fc.property(arbitraryActor, arbitraryOrganisation, (actor, practice) => {
        const resource = submission(practice, actor.userId === 'user-1' ? null : 'someone');
        if (can(actor, 'assessment.verify', resource)) {
          expect(can(actor, 'organisation.verify_assessments', practice)).toBe(true);
          expect(actor.memberships.some((m) => m.organisationCode === practice.code)).toBe(false);
        }
      }),
    );
  });
});

describe('assertCan', () => {
  it('returns quietly when allowed', () => {
    expect(() =>
      assertCan(roleAt(practiceC82001, 'editor'), 'organisation.edit_content', practiceC82001),
    ).not.toThrow();
  });

  it('throws a 403 ForbiddenError naming the action when refused', () => {
    let caught: unknown;
    try {
      assertCan(roleAt(practiceC82001, 'member'), 'organisation.edit_content', practiceC82001);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ForbiddenError);
    expect((caught as ForbiddenError).statusCode).toBe(403);
    expect((caught as ForbiddenError).name).toBe('ForbiddenError');
    expect((caught as ForbiddenError).message).toContain('organisation.edit_content');
  });

  it('throws for anonymous visitors', () => {
    expect(() => assertCan(null, 'content.read', content('organisation', practiceC82001))).toThrow(
      ForbiddenError,
    );
  });
});

describe('organisationScope', () => {
  const nothing: OrganisationScope = { kind: 'some', codes: [], underAncestors: [] };

  it('is empty for anonymous visitors, whatever the permission', () => {
    for (const permission of organisationPermissions) {
      expect(organisationScope(null, permission)).toEqual(nothing);
    }
  });

  it('is empty for a signed-in user with no memberships', () => {
    expect(organisationScope(buildActor(), 'organisation.read_members_only')).toEqual(nothing);
  });

  it("lists a member's own organisation for reading only", () => {
    const actor = roleAt(practiceC82001, 'member');
    expect(organisationScope(actor, 'organisation.read_members_only')).toEqual({
      kind: 'some',
      codes: ['C82001'],
      underAncestors: [],
    });
    expect(organisationScope(actor, 'organisation.edit_content')).toEqual(nothing);
    expect(organisationScope(actor, 'organisation.manage_members')).toEqual(nothing);
  });

  it("lists an org admin's organisation for managing members, without descendants", () => {
    expect(
      organisationScope(roleAt(practiceC82001, 'org_admin'), 'organisation.manage_members'),
    ).toEqual({ kind: 'some', codes: ['C82001'], underAncestors: [] });
  });

  it('gives an ICS admin their ICB and everything under it', () => {
    for (const permission of organisationPermissions) {
      expect(organisationScope(roleAt(icbQk1, 'ics_admin'), permission)).toEqual({
        kind: 'some',
        codes: ['QK1'],
        underAncestors: ['QK1'],
      });
    }
  });

  it('narrows admin permissions to nothing without two-factor, but not reading', () => {
    const icsAdmin = roleAt(icbQk1, 'ics_admin', { twoFactorEnabled: false });
    expect(organisationScope(icsAdmin, 'organisation.manage_members')).toEqual(nothing);
    expect(organisationScope(icsAdmin, 'organisation.view_audit')).toEqual(nothing);
    expect(organisationScope(icsAdmin, 'organisation.read_members_only')).toEqual({
      kind: 'some',
      codes: ['QK1'],
      underAncestors: ['QK1'],
    });
  });

  it('is everything for a platform admin with two-factor', () => {
    for (const permission of organisationPermissions) {
      expect(organisationScope(platformAdmin, permission)).toEqual({ kind: 'all' });
    }
  });

  it('is nothing for admin permissions of a platform admin without two-factor', () => {
    expect(organisationScope(platformAdminWithoutTwoFactor, 'organisation.manage_members')).toEqual(
      nothing,
    );
    expect(organisationScope(platformAdminWithoutTwoFactor, 'organisation.view_audit')).toEqual(
      nothing,
    );
    expect(organisationScope(platformAdminWithoutTwoFactor, 'organisation.edit_content')).toEqual({
      kind: 'all',
    });
  });

  it('collects only the memberships whose role grants the permission', () => {
    const actor = buildActor({
      memberships: [
        membership(practiceC82001, 'member'),
        membership(practiceC82002, 'editor'),
        membership(icbQt1, 'ics_admin'),
      ],
    });
    expect(organisationScope(actor, 'organisation.edit_content')).toEqual({
      kind: 'some',
      codes: ['C82002', 'QT1'],
      underAncestors: ['QT1'],
    });
    expect(organisationScope(actor, 'organisation.read_members_only')).toEqual({
      kind: 'some',
      codes: ['C82001', 'C82002', 'QT1'],
      underAncestors: ['QT1'],
    });
  });

  it('property: can(actor, permission, organisation) holds exactly when the organisation is in scope', () => {
    fc.assert(
      fc.property(
        arbitraryActor,
        arbitraryOrganisation,
        fc.constantFrom(...organisationPermissions),
        (actor, target, permission) => {
          const scope = organisationScope(actor, permission);
          expect(can(actor, permission, target)).toBe(isInScope(scope, target));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('property: can(actor or anonymous, organisation.manage_members, organisation) matches the scope', () => {
    fc.assert(
      fc.property(
        fc.option(arbitraryActor, { nil: null }),
        arbitraryOrganisation,
        (actor, target) => {
          const scope = organisationScope(actor, 'organisation.manage_members');
          expect(can(actor, 'organisation.manage_members', target)).toBe(isInScope(scope, target));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('requiresTwoFactor', () => {
  it.each([
    ['nobody with no memberships', buildActor(), false],
    ['a member', roleAt(practiceC82001, 'member'), false],
    ['an editor', roleAt(practiceC82001, 'editor'), false],
    ['an org admin', roleAt(practiceC82001, 'org_admin'), true],
    ['an ICS admin', roleAt(icbQk1, 'ics_admin'), true],
    ['a platform admin with no memberships', platformAdmin, true],
    [
      'a member of one organisation who is org admin of another',
      buildActor({
        memberships: [
          membership(practiceC82001, 'member'),
          membership(practiceC82002, 'org_admin'),
        ],
      }),
      true,
    ],
  ])('is %s → %s', (_description, actor, expected) => {
    expect(requiresTwoFactor(actor)).toBe(expected);
  });

  it('does not depend on whether two-factor is already set up', () => {
    expect(
      requiresTwoFactor(roleAt(practiceC82001, 'org_admin', { twoFactorEnabled: false })),
    ).toBe(true);
  });
});

function isInScope(scope: OrganisationScope, target: OrganisationResource): boolean {
  if (scope.kind === 'all') return true;
  return (
    scope.codes.includes(target.code) ||
    scope.underAncestors.some((code) => target.ancestorPath.includes(`/${code}/`))
  );
}
