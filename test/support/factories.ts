import { randomUUID } from 'node:crypto';
import type { Actor } from '../../src/modules/access/policy.ts';
import type { OrganisationRole } from '../../src/modules/access/roles.ts';
import { timeStepAt, totpCode } from '../../src/modules/accounts/totp.ts';
import type { Services } from '../../src/services.ts';

/** A password that passes the rules, for test accounts. */
export const TEST_PASSWORD = 'Correct horse battery staple 42';

export interface TestUser {
  id: string;
  email: string;
  password: string;
  displayName: string;
  /** Set when the user has two-factor authentication on. */
  totpSecret?: string;
  recoveryCodes?: string[];
}

export interface UserOverrides {
  email?: string;
  displayName?: string;
  password?: string;
  platformAdmin?: boolean;
  memberships?: { organisationCode: string; role: OrganisationRole }[];
  twoFactor?: boolean;
}

/**
 * Builds a user through the services a real user goes through: an account created, a password
 * chosen from the emailed link, memberships added, and two-factor authentication switched on.
 */
export async function buildUser(
  services: Services,
  overrides: UserOverrides = {},
): Promise<TestUser> {
  const email = overrides.email ?? `user-${randomUUID().slice(0, 8)}@example.nhs.net`;
  const displayName = overrides.displayName ?? `Test User ${email.split('@')[0]}`;
  const password = overrides.password ?? TEST_PASSWORD;
  const created = await services.accounts.createAccountByOperator({
    email,
    displayName,
    platformAdmin: overrides.platformAdmin === true,
  });
  const token = new URL(created.setPasswordLink).searchParams.get('token')!;
  await services.accounts.resetPassword(token, password, { ip: '127.0.0.1', userAgent: 'factory' });
  for (const membership of overrides.memberships ?? []) {
    await services.memberships.addMemberDirectly(
      created.userId,
      membership.organisationCode,
      membership.role,
      null,
    );
  }
  const user: TestUser = { id: created.userId, email, password, displayName };
  const needsTwoFactor =
    overrides.twoFactor ??
    (overrides.platformAdmin === true ||
      (overrides.memberships ?? []).some((m) => m.role === 'org_admin' || m.role === 'ics_admin'));
  if (needsTwoFactor) {
    const actor = await actorFor(services, created.userId);
    const { secret } = await services.accounts.beginTwoFactorSetup(actor);
    user.totpSecret = secret;
    // Use the previous time step so the sign-in a test does next can use the current one.
    user.recoveryCodes = await services.accounts.confirmTwoFactorSetup(
      actor,
      totpCode(secret, timeStepAt(Date.now()) - 1),
      {
        ip: '127.0.0.1',
        userAgent: 'factory',
      },
    );
  }
  return user;
}

/** The policy's view of a user, as the web layer builds it for each request. */
export async function actorFor(services: Services, userId: string): Promise<Actor> {
  const user = await services.accounts.findUserById(userId);
  if (!user) throw new Error(`No user ${userId}`);
  return {
    userId: user.id,
    email: user.email ?? '',
    displayName: user.display_name,
    isPlatformAdmin: user.is_platform_admin === 1,
    twoFactorEnabled: user.totp_enabled_at !== null,
    memberships: await services.memberships.loadActorMemberships(user.id),
    workspaceIds: await services.workspaces.workspaceIdsOfUser(user.id),
  };
}

/** The current code of a test user's authenticator app. */
export function currentTotp(user: TestUser, offsetSteps = 0): string {
  if (!user.totpSecret) throw new Error(`${user.email} has no two-factor authentication`);
  return totpCode(user.totpSecret, timeStepAt(Date.now()) + offsetSteps);
}
