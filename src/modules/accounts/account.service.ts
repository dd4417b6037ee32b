import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { decryptText, deriveKey, encryptText, randomToken, sha256Hex } from '../../lib/crypto.ts';
import { isPlausibleEmail, normaliseEmail, ValidationFailed } from '../../lib/validation.ts';
import type { Database, EmailTokenPurpose, UserRow } from '../../db/schema.ts';
import { NotFoundError } from '../../web/http-errors.ts';
import type { RequestContext } from '../../web/request-context.ts';
import { assertCan, requiresTwoFactor, type Actor } from '../access/policy.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { EmailService } from '../email/email.service.ts';
import {
  enforceRateLimit,
  RateLimitedError,
  type RateLimitService,
} from '../security/rate-limit.service.ts';
import * as emails from './account-emails.ts';
import type { AccountRepository, Executor } from './account.repository.ts';
import { findPasswordProblem, hashPassword, verifyPassword } from './password.ts';
import { newRecoveryCode } from './recovery-code.ts';
import { generateTotpSecret, totpProvisioningUri, verifyTotp } from './totp.ts';

const HOUR_MS = 3600 * 1000;
const tokenLifetimesMs: Record<EmailTokenPurpose, number> = {
  verify_email: 24 * HOUR_MS,
  reset_password: 1 * HOUR_MS,
  change_email: 24 * HOUR_MS,
};
const RECOVERY_CODE_COUNT = 10;

/** One message for every token that cannot be used, whatever the reason: it reveals nothing. */
export const INVALID_LINK_MESSAGE =
  'This link has expired or has already been used. Links in Greenspace emails work once, for a limited time.';

export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
  constructor() {
    super(INVALID_LINK_MESSAGE);
  }
}

export interface AccountServiceDependencies {
  repository: AccountRepository;
  email: EmailService;
  audit: AuditService;
  rateLimits: RateLimitService;
  publicUrl: string;
  secretKey: string;
  now?: () => Date;
  /** Removes what other modules hold about a user when the account is deleted (memberships…). */
  onAccountDeleted?: (executor: Transaction<Database>, userId: string) => Promise<void>;
  /** Everything other modules hold about a user, for the personal data download. */
  collectPersonalData?: (userId: string) => Promise<Record<string, unknown>>;
  /**
   * What would be left with nobody to run it if the user went (an organisation's only admin, a
   * workspace's only manager): the account is not deleted until someone else is given it.
   */
  findHandovers?: (userId: string, executor?: Transaction<Database>) => Promise<Handover[]>;
}

/** Something only this user runs, with the page where someone else can be given it. */
export interface Handover {
  text: string;
  href: string;
}

/** How recent a sign-in must be for a change that would ask for a password the account lacks. */
const RECENT_SIGN_IN_MS = 10 * 60_000;

export interface AccountOverview {
  id: string;
  email: string;
  displayName: string;
  emailVerified: boolean;
  twoFactorEnabled: boolean;
  twoFactorRequired: boolean;
  unusedRecoveryCodes: number;
  isPlatformAdmin: boolean;
  hasPassword: boolean;
  externalIdentities: { id: string; issuer: string; email: string | null; createdAt: string }[];
  /** A change of email address asked for and not yet confirmed, with when its link stops working. */
  pendingEmailChange: { newEmail: string; expiresAt: string } | null;
}

/**
 * Accounts: sign-up, email verification, password reset and change, change of email, two-factor
 * authentication, personal data download and account deletion. Every change is audited.
 */
export function createAccountService(deps: AccountServiceDependencies) {
  const { repository, email, audit } = deps;
  const now = deps.now ?? (() => new Date());
  const totpKey = deriveKey(deps.secretKey, 'totp-secrets');
  const link = (path: string, token: string) =>
    `${deps.publicUrl}${path}?token=${encodeURIComponent(token)}`;

  async function issueToken(
    executor: Executor,
    userId: string,
    purpose: EmailTokenPurpose,
    newEmail: string | null = null,
    lifetimeMs = tokenLifetimesMs[purpose],
  ): Promise<string> {
    const at = now();
    await repository.expireEmailTokens(executor, userId, purpose, at.toISOString());
    const token = randomToken();
    await repository.insertEmailToken(executor, {
      id: sha256Hex(token),
      userId,
      purpose,
      newEmail,
      now: at.toISOString(),
      expiresAt: new Date(at.getTime() + lifetimeMs).toISOString(),
    });
    return token;
  }

  /** Finds a usable token and marks it used, inside the caller's transaction. */
  async function redeemToken(executor: Executor, token: string, purpose: EmailTokenPurpose) {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) throw new InvalidTokenError();
    const row = await repository.findEmailToken(sha256Hex(token), purpose, executor);
    const at = now().toISOString();
    if (!row || row.used_at !== null || row.expires_at <= at) throw new InvalidTokenError();
    if (!(await repository.useEmailToken(executor, row.id, at))) throw new InvalidTokenError();
    const user = await repository.findUserById(row.user_id, executor);
    if (!user || user.status !== 'active' || !user.email) throw new InvalidTokenError();
    return { row, user };
  }

  /**
   * For an account with no password to ask for: a sign-in with single sign-on in the last few
   * minutes shows it is the account's owner, not someone holding a session left open.
   */
  async function requireRecentSignIn(currentSessionId: string | undefined, todo: string) {
    const session = currentSessionId ? await repository.findSession(currentSessionId) : undefined;
    const signedInAt = session ? Date.parse(session.created_at) : Number.NEGATIVE_INFINITY;
    if (now().getTime() - signedInAt > RECENT_SIGN_IN_MS)
      throw new ValidationFailed({
        password: `To confirm it is you, sign out, sign in again with single sign-on, then ${todo} within 10 minutes`,
      });
  }

  /** One of the user's own linked identities; any other id is not found. */
  async function requireOwnIdentity(userId: string, identityId: string) {
    const identity = (await repository.findExternalIdentitiesOfUser(userId)).find(
      (candidate) => candidate.id === identityId,
    );
    if (!identity) throw new NotFoundError('That single sign-on link was not found.');
    return identity;
  }

  async function requireUser(actor: Actor): Promise<UserRow> {
    assertCan(actor, 'user.manage_own_account', { kind: 'user', userId: actor.userId });
    const user = await repository.findUserById(actor.userId);
    if (!user || user.status !== 'active' || !user.email) throw new InvalidTokenError();
    return user;
  }

  /**
   * Asks for the password again before a change that matters. Someone holding a stolen session
   * could otherwise guess it here without the sign-in limits, so checks are limited per user and
   * each wrong password is audited under the change it was for.
   */
  async function requirePassword(
    user: UserRow,
    password: string,
    check: { field: string; action: string; context: RequestContext },
  ) {
    await enforceRateLimit(
      { rateLimits: deps.rateLimits, audit },
      'passwordCheckPerUser',
      user.id,
      { action: check.action, actorUserId: user.id, targetType: 'user', targetId: user.id },
      check.context,
      'Your password has been asked for 10 times in 15 minutes.',
      'Nothing has been changed.',
    );
    if (!user.password_hash) {
      throw new ValidationFailed({
        [check.field]:
          'You sign in with single sign-on, so you have no Greenspace password. Set one with "Forgot your password?" on the sign-in page, then try again',
      });
    }
    if (!(await verifyPassword(user.password_hash, password))) {
      await audit.record(
        {
          action: check.action,
          outcome: 'failure',
          actorUserId: user.id,
          targetType: 'user',
          targetId: user.id,
          details: { reason: 'wrong_password' },
        },
        check.context,
      );
      throw new ValidationFailed({ [check.field]: 'Your password is not correct' });
    }
  }

  function newRecoveryCodes(): { plain: string[]; rows: { id: string; codeHash: string }[] } {
    const plain = Array.from({ length: RECOVERY_CODE_COUNT }, () => newRecoveryCode());
    return { plain, rows: plain.map((code) => ({ id: randomUUID(), codeHash: sha256Hex(code) })) };
  }

  return {
    /**
     * Creates an unverified account and emails a confirmation link. When the address already has
     * an account, that account's owner is told instead; the page shown is the same either way.
     */
    async signUp(
      input: { email: string; displayName: string; password: string },
      context: RequestContext,
    ) {
      const address = normaliseEmail(input.email);
      const displayName = input.displayName.trim();
      const errors: Record<string, string> = {};
      if (displayName === '') errors.displayName = 'Enter your full name';
      else if (displayName.length > 100)
        errors.displayName = 'Full name must be 100 characters or fewer';
      if (!isPlausibleEmail(address))
        errors.email = 'Enter an email address in the correct format, like name@nhs.net';
      const passwordProblem = findPasswordProblem(input.password, { email: address });
      if (passwordProblem) errors.password = passwordProblem;
      if (Object.keys(errors).length > 0) throw new ValidationFailed(errors);

      await enforceRateLimit(
        { rateLimits: deps.rateLimits, audit },
        'signUpPerAddress',
        context.ip ?? 'unknown',
        { action: 'account.sign_up', actorUserId: null },
        context,
      );

      const passwordHash = await hashPassword(input.password);
      await repository.transaction(async (trx) => {
        const existing = await repository.findUserByEmail(address, trx);
        if (existing) {
          const message = emails.accountAlreadyExistsMessage(`${deps.publicUrl}/forgot-password`);
          await email.queue(trx, { kind: 'account_exists', to: address, ...message });
          await audit.record(
            {
              action: 'account.sign_up',
              outcome: 'refused',
              actorUserId: null,
              targetType: 'user',
              targetId: existing.id,
              details: { reason: 'email_in_use' },
            },
            context,
            trx,
          );
          return;
        }
        const id = randomUUID();
        await repository.insertUser(trx, {
          id,
          handle: await repository.freeHandle(displayName, trx),
          email: address,
          displayName,
          passwordHash,
          emailVerifiedAt: null,
          isPlatformAdmin: false,
          now: now().toISOString(),
        });
        const token = await issueToken(trx, id, 'verify_email');
        await email.queue(trx, {
          kind: 'verify_email',
          to: address,
          ...emails.verifyEmailMessage(displayName, link('/verify-email', token)),
        });
        await audit.record(
          { action: 'account.sign_up', actorUserId: id, targetType: 'user', targetId: id },
          context,
          trx,
        );
      });
      email.nudge();
    },

    /** Confirms an email address from the emailed link. */
    async verifyEmail(token: string, context: RequestContext): Promise<void> {
      await repository.transaction(async (trx) => {
        const { user } = await redeemToken(trx, token, 'verify_email');
        await repository.updateUser(trx, user.id, {
          email_verified_at: now().toISOString(),
          updated_at: now().toISOString(),
        });
        await audit.record(
          {
            action: 'account.email_verified',
            actorUserId: user.id,
            targetType: 'user',
            targetId: user.id,
          },
          context,
          trx,
        );
      });
    },

    /** Sends a new confirmation link to an account that has not confirmed its address yet. */
    async resendVerification(userId: string, context: RequestContext): Promise<void> {
      await repository.transaction(async (trx) => {
        const user = await repository.findUserById(userId, trx);
        if (!user || !user.email || user.email_verified_at) return;
        const token = await issueToken(trx, user.id, 'verify_email');
        await email.queue(trx, {
          kind: 'verify_email',
          to: user.email,
          ...emails.verifyEmailMessage(user.display_name, link('/verify-email', token)),
        });
        await audit.record(
          {
            action: 'account.verification_resent',
            actorUserId: user.id,
            targetType: 'user',
            targetId: user.id,
          },
          context,
          trx,
        );
      });
      email.nudge();
    },

    /** Emails a reset link if the account exists. The caller shows the same page either way. */
    async requestPasswordReset(rawEmail: string, context: RequestContext): Promise<void> {
      const address = normaliseEmail(rawEmail);
      if (!isPlausibleEmail(address)) {
        throw new ValidationFailed({
          email: 'Enter an email address in the correct format, like name@nhs.net',
        });
      }
      const limit = await deps.rateLimits.hitAll([
        ['passwordResetPerAccount', address],
        ['passwordResetPerAddress', context.ip ?? 'unknown'],
      ]);
      if (!limit.allowed) {
        await audit.record(
          {
            action: 'account.password_reset_requested',
            outcome: 'refused',
            actorUserId: null,
            details: { reason: 'rate_limited' },
          },
          context,
        );
        throw new RateLimitedError(limit.retryAfterSeconds);
      }
      await repository.transaction(async (trx) => {
        const user = await repository.findUserByEmail(address, trx);
        if (!user || user.status !== 'active') {
          await audit.record(
            {
              action: 'account.password_reset_requested',
              outcome: 'failure',
              actorUserId: null,
              details: { reason: 'no_such_account' },
            },
            context,
            trx,
          );
          return;
        }
        const token = await issueToken(trx, user.id, 'reset_password');
        await email.queue(trx, {
          kind: 'reset_password',
          to: address,
          ...emails.passwordResetMessage(user.display_name, link('/reset-password', token)),
        });
        await audit.record(
          {
            action: 'account.password_reset_requested',
            actorUserId: null,
            targetType: 'user',
            targetId: user.id,
          },
          context,
          trx,
        );
      });
      email.nudge();
    },

    /** Checks a reset link before showing the form, so an expired one is said at once. */
    async checkPasswordResetToken(token: string): Promise<boolean> {
      if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return false;
      const row = await repository.findEmailToken(sha256Hex(token), 'reset_password');
      return row !== undefined && row.used_at === null && row.expires_at > now().toISOString();
    },

    /** Sets a new password from a reset link; ends every session of the account. */
    async resetPassword(
      token: string,
      newPassword: string,
      context: RequestContext,
    ): Promise<void> {
      if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) throw new InvalidTokenError();
      const preview = await repository.findEmailToken(sha256Hex(token), 'reset_password');
      // A link that cannot work is refused before the new password is hashed: hashing takes a
      // fifth of a second and 19 MiB, and made-up links cost nothing to send.
      if (!preview || preview.used_at !== null || preview.expires_at <= now().toISOString())
        throw new InvalidTokenError();
      const previewUser = await repository.findUserById(preview.user_id);
      const problem = findPasswordProblem(newPassword, { email: previewUser?.email });
      if (problem) throw new ValidationFailed({ password: problem });
      const passwordHash = await hashPassword(newPassword);
      await repository.transaction(async (trx) => {
        const { user } = await redeemToken(trx, token, 'reset_password');
        const at = now().toISOString();
        await repository.updateUser(trx, user.id, {
          password_hash: passwordHash,
          // Using the emailed link proves control of the address.
          email_verified_at: user.email_verified_at ?? at,
          updated_at: at,
        });
        const ended = await repository.deleteSessionsOfUser(trx, user.id);
        // Someone who had the old password may have asked to move the account to their address.
        const emailChangesCancelled = await repository.expireEmailTokens(
          trx,
          user.id,
          'change_email',
          at,
        );
        await email.queue(trx, {
          kind: 'password_changed',
          to: user.email!,
          ...emails.passwordChangedMessage(user.display_name),
        });
        await audit.record(
          {
            action: 'account.password_reset',
            actorUserId: user.id,
            targetType: 'user',
            targetId: user.id,
            details: { sessionsEnded: ended, emailChangesCancelled },
          },
          context,
          trx,
        );
      });
      email.nudge();
    },

    /** Changes the password of the signed-in user after checking the current one. */
    async changePassword(
      actor: Actor,
      input: { currentPassword: string; newPassword: string },
      currentSessionId: string,
      context: RequestContext,
    ): Promise<void> {
      const user = await requireUser(actor);
      await requirePassword(user, input.currentPassword, {
        field: 'currentPassword',
        action: 'account.password_changed',
        context,
      });
      const problem = findPasswordProblem(input.newPassword, { email: user.email });
      if (problem) throw new ValidationFailed({ newPassword: problem });
      const passwordHash = await hashPassword(input.newPassword);
      await repository.transaction(async (trx) => {
        const at = now().toISOString();
        await repository.updateUser(trx, user.id, {
          password_hash: passwordHash,
          updated_at: at,
        });
        const ended = await repository.deleteSessionsOfUser(trx, user.id, currentSessionId);
        // A password is changed when someone else may have had the old one: what they could have
        // started with it (moving the account to their address, a reset link) goes with it.
        const emailChangesCancelled = await repository.expireEmailTokens(
          trx,
          user.id,
          'change_email',
          at,
        );
        await repository.expireEmailTokens(trx, user.id, 'reset_password', at);
        await email.queue(trx, {
          kind: 'password_changed',
          to: user.email!,
          ...emails.passwordChangedMessage(user.display_name),
        });
        await audit.record(
          {
            action: 'account.password_changed',
            actorUserId: user.id,
            targetType: 'user',
            targetId: user.id,
            details: { otherSessionsEnded: ended, emailChangesCancelled },
          },
          context,
          trx,
        );
      });
      email.nudge();
    },

    async updateDisplayName(
      actor: Actor,
      displayName: string,
      context: RequestContext,
    ): Promise<void> {
      const user = await requireUser(actor);
      const name = displayName.trim();
      if (name === '') throw new ValidationFailed({ displayName: 'Enter your full name' });
      if (name.length > 100)
        throw new ValidationFailed({ displayName: 'Full name must be 100 characters or fewer' });
      await repository.transaction(async (trx) => {
        await repository.updateUser(trx, user.id, {
          display_name: name,
          updated_at: now().toISOString(),
        });
        await audit.record(
          {
            action: 'account.name_changed',
            actorUserId: user.id,
            targetType: 'user',
            targetId: user.id,
          },
          context,
          trx,
        );
      });
    },

    /**
     * Starts a change of email: a link goes to the new address, a notice to the old one. If the
     * new address already has an account, its owner is told and nothing else happens; the page
     * shown is the same either way.
     */
    async requestEmailChange(
      actor: Actor,
      input: { newEmail: string; password: string },
      context: RequestContext,
    ): Promise<void> {
      const user = await requireUser(actor);
      const address = normaliseEmail(input.newEmail);
      if (!isPlausibleEmail(address)) {
        throw new ValidationFailed({
          newEmail: 'Enter an email address in the correct format, like name@nhs.net',
        });
      }
      if (address === user.email)
        throw new ValidationFailed({ newEmail: 'This is already your email address' });
      await requirePassword(user, input.password, {
        field: 'password',
        action: 'account.email_change_requested',
        context,
      });
      // Each request emails an address the user chose, so it is limited like invitations; only
      // requests with the right password count.
      await enforceRateLimit(
        { rateLimits: deps.rateLimits, audit },
        'emailChangePerUser',
        user.id,
        {
          action: 'account.email_change_requested',
          actorUserId: user.id,
          targetType: 'user',
          targetId: user.id,
        },
        context,
        'You have asked to change your email address 5 times in an hour.',
        'Your email address has not been changed, and no link has been sent.',
      );
      await repository.transaction(async (trx) => {
        const taken = await repository.findUserByEmail(address, trx);
        if (taken) {
          await email.queue(trx, {
            kind: 'email_in_use',
            to: address,
            ...emails.addressAlreadyInUseMessage(),
          });
        } else {
          const token = await issueToken(trx, user.id, 'change_email', address);
          await email.queue(trx, {
            kind: 'change_email',
            to: address,
            ...emails.confirmNewEmailMessage(
              user.display_name,
              link('/account/email/confirm', token),
            ),
          });
        }
        await email.queue(trx, {
          kind: 'email_change_requested',
          to: user.email!,
          ...emails.emailChangeRequestedMessage(user.display_name),
        });
        await audit.record(
          {
            action: 'account.email_change_requested',
            actorUserId: user.id,
            targetType: 'user',
            targetId: user.id,
          },
          context,
          trx,
        );
      });
      email.nudge();
    },

    async confirmEmailChange(token: string, context: RequestContext): Promise<void> {
      await repository.transaction(async (trx) => {
        const { row, user } = await redeemToken(trx, token, 'change_email');
        const newEmail = row.new_email;
        if (!newEmail || (await repository.findUserByEmail(newEmail, trx)))
          throw new InvalidTokenError();
        const oldEmail = user.email!;
        const at = now().toISOString();
        await repository.updateUser(trx, user.id, {
          email: newEmail,
          email_verified_at: at,
          updated_at: at,
        });
        // A reset link sent to the old address, or a second change asked for meanwhile, no longer
        // speaks for the account.
        await repository.expireEmailTokens(trx, user.id, 'reset_password', at);
        await repository.expireEmailTokens(trx, user.id, 'change_email', at);
        await email.queue(trx, {
          kind: 'email_changed',
          to: oldEmail,
          ...emails.emailChangedMessage(user.display_name, newEmail),
        });
        await audit.record(
          {
            action: 'account.email_changed',
            actorUserId: user.id,
            targetType: 'user',
            targetId: user.id,
          },
          context,
          trx,
        );
      });
      email.nudge();
    },

    /**
     * Asked before a single sign-on identity is linked: whoever holds a session must show they
     * know the password too, or a stolen session could add a way in that outlives a new password.
     */
    async confirmBeforeLinkingSingleSignOn(
      actor: Actor,
      password: string,
      context: RequestContext,
      currentSessionId?: string,
    ): Promise<void> {
      const user = await requireUser(actor);
      if (!user.password_hash) await requireRecentSignIn(currentSessionId, 'link another account');
      if (user.password_hash)
        await requirePassword(user, password, {
          field: 'password',
          action: 'auth.sso_linked',
          context,
        });
    },

    /** Links a single sign-on identity to an account, audited, and tells the account's owner. */
    async linkExternalIdentity(
      userId: string,
      identity: { issuer: string; subject: string; email: string | null },
      context: RequestContext,
    ): Promise<void> {
      await repository.transaction(async (trx) => {
        const user = await repository.findUserById(userId, trx);
        if (!user || user.status !== 'active' || !user.email) throw new InvalidTokenError();
        await repository.insertExternalIdentity(trx, {
          id: randomUUID(),
          userId,
          issuer: identity.issuer,
          subject: identity.subject,
          email: identity.email,
          now: now().toISOString(),
        });
        await email.queue(trx, {
          kind: 'sso_linked',
          to: user.email,
          ...emails.singleSignOnChangedMessage(
            user.display_name,
            true,
            identity.email ?? identity.issuer,
          ),
        });
        await audit.record(
          {
            action: 'auth.sso_linked',
            actorUserId: userId,
            targetType: 'user',
            targetId: userId,
            details: { issuer: identity.issuer },
          },
          context,
          trx,
        );
      });
      email.nudge();
    },

    /** A linked identity, for the page that asks before unlinking it. */
    async getExternalIdentity(actor: Actor, identityId: string) {
      const user = await requireUser(actor);
      const identity = await requireOwnIdentity(user.id, identityId);
      return {
        id: identity.id,
        account: identity.email ?? identity.issuer,
        createdAt: identity.created_at,
        hasPassword: user.password_hash !== null,
      };
    },

    /**
     * Unlinks a single sign-on identity, with the password. Someone who signs in only with single
     * sign-on sets a password first, so that the account keeps a way in.
     */
    async unlinkExternalIdentity(
      actor: Actor,
      identityId: string,
      password: string,
      context: RequestContext,
    ): Promise<void> {
      const user = await requireUser(actor);
      const identity = await requireOwnIdentity(user.id, identityId);
      if (!user.password_hash)
        throw new ValidationFailed({
          password:
            'You sign in only with single sign-on. Set a password first (use "Forgotten your password?" on the sign-in page), then unlink it',
        });
      await requirePassword(user, password, {
        field: 'password',
        action: 'auth.sso_unlinked',
        context,
      });
      await repository.transaction(async (trx) => {
        if (!(await repository.deleteExternalIdentity(trx, user.id, identityId)))
          throw new NotFoundError('That single sign-on link was not found.');
        await email.queue(trx, {
          kind: 'sso_unlinked',
          to: user.email!,
          ...emails.singleSignOnChangedMessage(
            user.display_name,
            false,
            identity.email ?? identity.issuer,
          ),
        });
        await audit.record(
          {
            action: 'auth.sso_unlinked',
            actorUserId: user.id,
            targetType: 'user',
            targetId: user.id,
            details: { issuer: identity.issuer },
          },
          context,
          trx,
        );
      });
      email.nudge();
    },

    /** Cancels a change of email address asked for and not yet confirmed; audited if there was one. */
    async cancelEmailChange(actor: Actor, context: RequestContext): Promise<boolean> {
      const user = await requireUser(actor);
      return repository.transaction(async (trx) => {
        const cancelled = await repository.expireEmailTokens(
          trx,
          user.id,
          'change_email',
          now().toISOString(),
        );
        if (cancelled === 0) return false;
        await audit.record(
          {
            action: 'account.email_change_cancelled',
            actorUserId: user.id,
            targetType: 'user',
            targetId: user.id,
          },
          context,
          trx,
        );
        return true;
      });
    },

    /** What the account page shows. */
    async getOverview(actor: Actor): Promise<AccountOverview> {
      const user = await requireUser(actor);
      const identities = await repository.findExternalIdentitiesOfUser(user.id);
      const pendingEmailChange = await repository.findPendingEmailChange(
        user.id,
        now().toISOString(),
      );
      return {
        pendingEmailChange: pendingEmailChange?.new_email
          ? { newEmail: pendingEmailChange.new_email, expiresAt: pendingEmailChange.expires_at }
          : null,
        id: user.id,
        email: user.email!,
        displayName: user.display_name,
        emailVerified: user.email_verified_at !== null,
        twoFactorEnabled: user.totp_enabled_at !== null,
        twoFactorRequired: requiresTwoFactor(actor),
        unusedRecoveryCodes: await repository.countUnusedRecoveryCodes(user.id),
        isPlatformAdmin: user.is_platform_admin === 1,
        hasPassword: user.password_hash !== null,
        externalIdentities: identities.map((identity) => ({
          id: identity.id,
          issuer: identity.issuer,
          email: identity.email,
          createdAt: identity.created_at,
        })),
      };
    },

    /**
     * Begins two-factor set-up: a new secret is kept (encrypted) but not switched on until the
     * user proves their app has it by entering a code.
     */
    async beginTwoFactorSetup(actor: Actor): Promise<{ secret: string; otpauthUri: string }> {
      const user = await requireUser(actor);
      if (user.totp_enabled_at)
        throw new ValidationFailed({ code: 'Two-factor authentication is already on' });
      const secret = generateTotpSecret();
      await repository.transaction((trx) =>
        repository.updateUser(trx, user.id, {
          totp_secret_encrypted: encryptText(totpKey, secret),
          updated_at: now().toISOString(),
        }),
      );
      return { secret, otpauthUri: totpProvisioningUri(secret, user.email!) };
    },

    /** The pending secret again (for the set-up page after a wrong code). */
    async pendingTwoFactorSecret(
      actor: Actor,
    ): Promise<{ secret: string; otpauthUri: string } | null> {
      const user = await requireUser(actor);
      if (user.totp_enabled_at || !user.totp_secret_encrypted) return null;
      const secret = decryptText(totpKey, user.totp_secret_encrypted);
      return { secret, otpauthUri: totpProvisioningUri(secret, user.email!) };
    },

    /** Switches two-factor on once the user enters a correct code; returns the recovery codes, shown once. */
    async confirmTwoFactorSetup(
      actor: Actor,
      code: string,
      context: RequestContext,
    ): Promise<string[]> {
      const user = await requireUser(actor);
      if (user.totp_enabled_at || !user.totp_secret_encrypted) {
        throw new ValidationFailed({ code: 'Start setting up two-factor authentication again' });
      }
      const secret = decryptText(totpKey, user.totp_secret_encrypted);
      const step = verifyTotp(secret, code, now().getTime(), null);
      if (step === null)
        throw new ValidationFailed({
          code: 'The code is not correct. Enter the 6-digit code your app shows now',
        });
      const codes = newRecoveryCodes();
      await repository.transaction(async (trx) => {
        const at = now().toISOString();
        await repository.updateUser(trx, user.id, {
          totp_enabled_at: at,
          totp_last_step: step,
          updated_at: at,
        });
        await repository.replaceRecoveryCodes(trx, user.id, codes.rows, at);
        await email.queue(trx, {
          kind: 'two_factor_changed',
          to: user.email!,
          ...emails.twoFactorChangedMessage(user.display_name, true),
        });
        await audit.record(
          {
            action: 'account.two_factor_enabled',
            actorUserId: user.id,
            targetType: 'user',
            targetId: user.id,
          },
          context,
          trx,
        );
      });
      email.nudge();
      return codes.plain;
    },

    /** Turns two-factor off after checking the password; refused for anyone whose role requires it. */
    async disableTwoFactor(actor: Actor, password: string, context: RequestContext): Promise<void> {
      const user = await requireUser(actor);
      if (requiresTwoFactor(actor)) {
        throw new ValidationFailed({
          password: 'Your role requires two-factor authentication, so it cannot be turned off',
        });
      }
      await requirePassword(user, password, {
        field: 'password',
        action: 'account.two_factor_disabled',
        context,
      });
      await repository.transaction(async (trx) => {
        await repository.updateUser(trx, user.id, {
          totp_secret_encrypted: null,
          totp_enabled_at: null,
          totp_last_step: null,
          updated_at: now().toISOString(),
        });
        await repository.replaceRecoveryCodes(trx, user.id, [], now().toISOString());
        await email.queue(trx, {
          kind: 'two_factor_changed',
          to: user.email!,
          ...emails.twoFactorChangedMessage(user.display_name, false),
        });
        await audit.record(
          {
            action: 'account.two_factor_disabled',
            actorUserId: user.id,
            targetType: 'user',
            targetId: user.id,
          },
          context,
          trx,
        );
      });
      email.nudge();
    },

    async regenerateRecoveryCodes(
      actor: Actor,
      password: string,
      context: RequestContext,
    ): Promise<string[]> {
      const user = await requireUser(actor);
      if (!user.totp_enabled_at)
        throw new ValidationFailed({ password: 'Turn on two-factor authentication first' });
      await requirePassword(user, password, {
        field: 'password',
        action: 'account.recovery_codes_regenerated',
        context,
      });
      const codes = newRecoveryCodes();
      await repository.transaction(async (trx) => {
        await repository.replaceRecoveryCodes(trx, user.id, codes.rows, now().toISOString());
        // Codes stand in for the second factor, so the account's owner hears of new ones.
        await email.queue(trx, {
          kind: 'recovery_codes_regenerated',
          to: user.email!,
          ...emails.recoveryCodesRegeneratedMessage(user.display_name),
        });
        await audit.record(
          {
            action: 'account.recovery_codes_regenerated',
            actorUserId: user.id,
            targetType: 'user',
            targetId: user.id,
          },
          context,
          trx,
        );
      });
      email.nudge();
      return codes.plain;
    },

    /** The two-factor secret of a user, for the sign-in check. */
    decryptTotpSecret(user: UserRow): string | null {
      return user.totp_secret_encrypted && user.totp_enabled_at
        ? decryptText(totpKey, user.totp_secret_encrypted)
        : null;
    },

    /** Everything Greenspace holds about the signed-in user, as one JSON document. */
    async exportPersonalData(
      actor: Actor,
      context: RequestContext,
    ): Promise<Record<string, unknown>> {
      const user = await requireUser(actor);
      const [sessions, identities, tokens, auditEvents, others] = await Promise.all([
        repository.findSessionsOfUser(user.id),
        repository.findExternalIdentitiesOfUser(user.id),
        repository.findEmailTokensOfUser(user.id),
        audit.findForUser(user.id),
        deps.collectPersonalData?.(user.id) ?? Promise.resolve({}),
      ]);
      // Recorded after it was gathered (so not in the download it is part of): a download of
      // everything held about someone is worth a trace, in case it was not them who asked.
      await audit.record(
        {
          action: 'account.data_exported',
          outcome: 'success',
          actorUserId: user.id,
          targetType: 'user',
          targetId: user.id,
        },
        context,
      );
      return {
        exportedAt: now().toISOString(),
        account: {
          id: user.id,
          email: user.email,
          emailVerifiedAt: user.email_verified_at,
          displayName: user.display_name,
          handle: user.handle,
          status: user.status,
          platformAdmin: user.is_platform_admin === 1,
          twoFactorEnabledAt: user.totp_enabled_at,
          createdAt: user.created_at,
          updatedAt: user.updated_at,
        },
        sessions: sessions.map((session) => ({
          createdAt: session.created_at,
          lastSeenAt: session.last_seen_at,
          expiresAt: session.expires_at,
          ip: session.ip,
          userAgent: session.user_agent,
        })),
        singleSignOnIdentities: identities.map((identity) => ({
          issuer: identity.issuer,
          email: identity.email,
          linkedAt: identity.created_at,
        })),
        emailLinks: tokens.map((token) => ({
          purpose: token.purpose,
          newEmail: token.new_email,
          sentAt: token.created_at,
          expiresAt: token.expires_at,
          usedAt: token.used_at,
        })),
        ...others,
        // Events someone else performed on the user come with a null IP address and user agent:
        // those were the other person's, not the user's.
        auditEvents: auditEvents.map((event) => ({
          occurredAt: event.occurred_at,
          action: event.action,
          outcome: event.outcome,
          organisationCode: event.organisation_code,
          performedByYou: event.actor_user_id === user.id,
          ip: event.ip,
          userAgent: event.user_agent,
        })),
      };
    },

    /** What the user must hand over before their account can be deleted. */
    async findHandovers(actor: Actor): Promise<Handover[]> {
      const user = await requireUser(actor);
      return (await deps.findHandovers?.(user.id)) ?? [];
    },

    /**
     * Deletes the account: personal details are erased and sign-in becomes impossible, while what
     * the user contributed stays, attributed to a deleted user.
     */
    async deleteAccount(
      actor: Actor,
      password: string,
      context: RequestContext,
      currentSessionId?: string,
    ): Promise<void> {
      const user = await requireUser(actor);
      // Checked before the password, whose form is not shown while something needs handing over,
      // and again in the transaction, in case another admin or manager left meanwhile.
      const refuseIfHandovers = async (trx?: Transaction<Database>) => {
        const handovers = (await deps.findHandovers?.(user.id, trx)) ?? [];
        if (handovers.length > 0)
          throw new ValidationFailed({
            handovers: `Give someone else what only you run (${handovers.map((item) => item.text).join('; ')}), then delete your account`,
          });
      };
      await refuseIfHandovers();
      if (!user.password_hash) await requireRecentSignIn(currentSessionId, 'delete your account');
      if (user.password_hash)
        await requirePassword(user, password, {
          field: 'password',
          action: 'account.deleted',
          context,
        });
      await repository.transaction(async (trx) => {
        await refuseIfHandovers(trx);
        const at = now().toISOString();
        await repository.updateUser(trx, user.id, {
          email: null,
          email_verified_at: null,
          // The whole id: handles are unique, and eight characters of it meet another's by chance.
          handle: `deleted-${user.id}`,
          display_name: 'Deleted user',
          password_hash: null,
          totp_secret_encrypted: null,
          totp_enabled_at: null,
          totp_last_step: null,
          is_platform_admin: 0,
          status: 'deleted',
          deleted_at: at,
          updated_at: at,
        });
        await repository.deleteSessionsOfUser(trx, user.id);
        await repository.deleteEmailTokensOfUser(trx, user.id);
        await repository.replaceRecoveryCodes(trx, user.id, [], at);
        await repository.deleteExternalIdentitiesOfUser(trx, user.id);
        await deps.onAccountDeleted?.(trx, user.id);
        await audit.record(
          {
            action: 'account.deleted',
            actorUserId: user.id,
            targetType: 'user',
            targetId: user.id,
          },
          context,
          trx,
        );
      });
    },

    /**
     * Creates an account from the command line (the first platform admin, for instance) and emails
     * a link to choose a password. Returns the link too, for the operator to pass on.
     */
    async createAccountByOperator(input: {
      email: string;
      displayName: string;
      platformAdmin: boolean;
    }): Promise<{ userId: string; setPasswordLink: string }> {
      const address = normaliseEmail(input.email);
      if (!isPlausibleEmail(address))
        throw new ValidationFailed({ email: `"${input.email}" is not an email address` });
      if (input.displayName.trim() === '') throw new ValidationFailed({ name: 'A name is needed' });
      return repository.transaction(async (trx) => {
        if (await repository.findUserByEmail(address, trx))
          throw new ValidationFailed({ email: `${address} already has an account` });
        const id = randomUUID();
        const at = now().toISOString();
        await repository.insertUser(trx, {
          id,
          handle: await repository.freeHandle(input.displayName.trim(), trx),
          email: address,
          displayName: input.displayName.trim(),
          passwordHash: null,
          emailVerifiedAt: at,
          isPlatformAdmin: input.platformAdmin,
          now: at,
        });
        const token = await issueToken(trx, id, 'reset_password', null, 24 * HOUR_MS);
        const setPasswordLink = link('/reset-password', token);
        await email.queue(trx, {
          kind: 'set_password',
          to: address,
          ...emails.setPasswordMessage(input.displayName.trim(), setPasswordLink),
        });
        await audit.record(
          {
            action: 'admin.user_created',
            actorUserId: null,
            targetType: 'user',
            targetId: id,
            details: { platformAdmin: input.platformAdmin, by: 'command line' },
          },
          null,
          trx,
        );
        return { userId: id, setPasswordLink };
      });
    },

    async listUsers(
      actor: Actor | null,
      filters: { text?: string; page: number; pageSize: number },
    ) {
      assertCan(actor, 'platform.manage_users', { kind: 'platform' });
      return repository.findUsers({
        text: filters.text,
        limit: filters.pageSize,
        offset: (filters.page - 1) * filters.pageSize,
      });
    },

    /** Disables or re-enables an account; disabling ends all its sessions at once. */
    async setUserDisabled(
      actor: Actor | null,
      userId: string,
      disabled: boolean,
      context: RequestContext,
    ): Promise<void> {
      assertCan(actor, 'platform.manage_users', { kind: 'platform' });
      if (actor!.userId === userId)
        throw new ValidationFailed({ user: 'You cannot disable your own account' });
      await repository.transaction(async (trx) => {
        const user = await repository.findUserById(userId, trx);
        // Deleted while the admin had the list open: the page no longer names anyone.
        if (!user || user.status === 'deleted') throw new NotFoundError('That user was not found.');
        await repository.updateUser(trx, userId, {
          status: disabled ? 'disabled' : 'active',
          updated_at: now().toISOString(),
        });
        const ended = disabled ? await repository.deleteSessionsOfUser(trx, userId) : 0;
        await audit.record(
          {
            action: disabled ? 'admin.user_disabled' : 'admin.user_enabled',
            actorUserId: actor!.userId,
            targetType: 'user',
            targetId: userId,
            details: disabled ? { sessionsEnded: ended } : undefined,
          },
          context,
          trx,
        );
      });
    },

    findUserById: (id: string) => repository.findUserById(id),
    findUserByEmail: (address: string) => repository.findUserByEmail(normaliseEmail(address)),
    countUsers: () => repository.countUsers(),
  };
}

export type AccountService = ReturnType<typeof createAccountService>;
