import { randomUUID } from 'node:crypto';
import type { Actor } from '../../src/modules/access/policy.ts';
import { roleDefinitions, type OrganisationRole } from '../../src/modules/access/roles.ts';
import { timeStepAt, totpCode } from '../../src/modules/accounts/totp.ts';
import type { ContentInput } from '../../src/modules/content/content.service.ts';
import type { Services } from '../../src/services.ts';

/** A password that passes the rules, for test accounts. */
export const TEST_PASSWORD = 'Correct horse battery staple 42';

export interface TestUser {
  id: string;
  email: string;
  password: string;
  displayName: string;
  /** The @handle others mention them by. */
  handle: string;
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
  /** Workspaces (by slug) to add the user to, directly. */
  workspaces?: { slug: string; role?: 'member' | 'manager' }[];
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
  for (const workspace of overrides.workspaces ?? []) {
    const row = await services.workspaces.findBySlug(workspace.slug);
    if (!row) throw new Error(`No workspace ${workspace.slug}`);
    await services.database.db
      .transaction()
      .execute((trx) =>
        services.workspaces.addMember(trx, row.id, created.userId, workspace.role ?? 'member'),
      );
  }
  const stored = await services.accounts.findUserById(created.userId);
  const user: TestUser = {
    id: created.userId,
    email,
    password,
    displayName,
    handle: stored!.handle!,
  };
  const needsTwoFactor =
    overrides.twoFactor ??
    (overrides.platformAdmin === true ||
      (overrides.memberships ?? []).some((m) => roleDefinitions[m.role].requiresTwoFactor));
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
  const actor = await services.actors.load(userId);
  if (!actor) throw new Error(`No active user ${userId}`);
  return actor;
}

/** The current code of a test user's authenticator app. */
export function currentTotp(user: TestUser, offsetSteps = 0): string {
  if (!user.totpSecret) throw new Error(`${user.email} has no two-factor authentication`);
  return totpCode(user.totpSecret, timeStepAt(Date.now()) + offsetSteps);
}

/** A private workspace (by invitation only), created directly for tests. */
export async function createPrivateWorkspace(services: Services, slug: string) {
  const at = new Date().toISOString();
  const row = {
    id: randomUUID(),
    slug,
    name: `Private workspace ${slug}`,
    description: 'A private workspace for tests.',
    privacy: 'private' as const,
    organisation_code: null,
    created_at: at,
    updated_at: at,
  };
  await services.database.db.insertInto('workspaces').values(row).execute();
  return row;
}

/** The fields of a content item, public and owned by C82001 unless the test says otherwise. */
export function contentInput(overrides: Partial<ContentInput> = {}): ContentInput {
  return {
    title: 'A title',
    summary: 'A summary',
    body: 'The text of the item.',
    privacy: 'public',
    workspaceId: '',
    organisationCode: 'C82001',
    areas: [],
    organisationTags: '',
    tags: '',
    details: {},
    ...overrides,
  };
}
