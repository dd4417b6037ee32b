import { randomUUID } from 'node:crypto';
import { randomToken, sha256Hex } from '../../lib/crypto.ts';
import { normaliseEmail, ValidationFailed } from '../../lib/validation.ts';
import type { SessionRow, UserRow } from '../../db/schema.ts';
import type { RequestContext } from '../../web/request-context.ts';
import type { Actor } from '../access/policy.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { RateLimitedError, type RateLimitService } from '../security/rate-limit.service.ts';
import type { AccountRepository, Executor } from './account.repository.ts';
import type { AccountService } from './account.service.ts';
import { decoyPasswordHash, verifyPassword } from './password.ts';
import { verifyTotp } from './totp.ts';

/** The same words for every sign-in that fails, so they reveal nothing about which accounts exist. */
export const SIGN_IN_FAILED_MESSAGE = 'Enter a correct email address and password';
export const SECOND_FACTOR_FAILED_MESSAGE =
  'The code is not correct. Enter the 6-digit code from your app, or a recovery code';

/** Sessions are written at most once a minute just to record activity. */
const TOUCH_INTERVAL_MS = 60_000;

export type SignInResult =
  | { outcome: 'signed-in'; sessionToken: string; userId: string }
  | { outcome: 'second-factor-needed'; sessionToken: string; userId: string }
  | { outcome: 'email-not-verified'; userId: string };

export interface ResolvedSession {
  session: SessionRow;
  user: UserRow;
}

export interface AuthServiceDependencies {
  repository: AccountRepository;
  accounts: AccountService;
  audit: AuditService;
  rateLimits: RateLimitService;
  idleTimeoutMinutes: number;
  absoluteTimeoutHours: number;
  now?: () => Date;
}

/**
 * Signing in and out, the second factor, and server-side sessions. A session is a random token in
 * the user's cookie and the token's SHA-256 in the database; a new token is issued at every sign-in
 * and after the second factor, so a token seen before sign-in is worthless after it.
 */
export function createAuthService(deps: AuthServiceDependencies) {
  const { repository, audit } = deps;
  const now = deps.now ?? (() => new Date());
  const idleMs = deps.idleTimeoutMinutes * 60_000;
  const absoluteMs = deps.absoluteTimeoutHours * 3_600_000;

  async function startSession(
    executor: Executor,
    userId: string,
    secondFactorVerified: boolean,
    context: RequestContext,
  ): Promise<string> {
    const token = randomToken();
    const at = now();
    await repository.insertSession(executor, {
      id: sha256Hex(token),
      user_id: userId,
      second_factor_verified: secondFactorVerified ? 1 : 0,
      created_at: at.toISOString(),
      last_seen_at: at.toISOString(),
      expires_at: new Date(at.getTime() + absoluteMs).toISOString(),
      ip: context.ip,
      user_agent: context.userAgent,
    });
    return token;
  }

  async function refuse(
    action: string,
    reason: string,
    context: RequestContext,
    userId: string | null,
    retryAfter?: number,
  ) {
    await audit.record(
      {
        action,
        outcome: retryAfter === undefined ? 'failure' : 'refused',
        actorUserId: userId,
        targetType: userId ? 'user' : undefined,
        targetId: userId ?? undefined,
        details: { reason },
      },
      context,
    );
  }

  return {
    /**
     * Checks an email and password. Every attempt counts towards the rate limits and is audited;
     * an unknown email costs as much time as a wrong password.
     */
    async signIn(
      rawEmail: string,
      password: string,
      context: RequestContext,
    ): Promise<SignInResult> {
      const address = normaliseEmail(rawEmail);
      const limit = await deps.rateLimits.hitAll([
        ['signInPerAccount', address],
        ['signInPerAddress', context.ip ?? 'unknown'],
      ]);
      const user = address ? await repository.findUserByEmail(address) : undefined;
      if (!limit.allowed) {
        await refuse(
          'auth.sign_in',
          'rate_limited',
          context,
          user?.id ?? null,
          limit.retryAfterSeconds,
        );
        throw new RateLimitedError(limit.retryAfterSeconds);
      }
      const passwordOk = await verifyPassword(
        user?.password_hash ?? (await decoyPasswordHash()),
        password,
      );
      if (!user || !passwordOk || !user.password_hash) {
        await refuse(
          'auth.sign_in',
          user ? 'wrong_password' : 'unknown_account',
          context,
          user?.id ?? null,
        );
        throw new ValidationFailed({ email: SIGN_IN_FAILED_MESSAGE });
      }
      if (user.status !== 'active') {
        await refuse('auth.sign_in', `account_${user.status}`, context, user.id);
        throw new ValidationFailed({ email: SIGN_IN_FAILED_MESSAGE });
      }
      if (!user.email_verified_at) {
        await refuse('auth.sign_in', 'email_not_verified', context, user.id);
        return { outcome: 'email-not-verified', userId: user.id };
      }
      const needsSecondFactor = user.totp_enabled_at !== null;
      const sessionToken = await repository.transaction(async (trx) => {
        const token = await startSession(trx, user.id, !needsSecondFactor, context);
        await audit.record(
          {
            action: needsSecondFactor ? 'auth.password_accepted' : 'auth.sign_in',
            actorUserId: user.id,
            targetType: 'user',
            targetId: user.id,
            details: { method: 'password' },
          },
          context,
          trx,
        );
        return token;
      });
      return {
        outcome: needsSecondFactor ? 'second-factor-needed' : 'signed-in',
        sessionToken,
        userId: user.id,
      };
    },

    /**
     * Completes sign-in with a code from the authenticator app or an unused recovery code, and
     * replaces the half-signed-in session with a new one.
     */
    async verifySecondFactor(
      pendingSessionToken: string,
      code: string,
      context: RequestContext,
    ): Promise<string> {
      const resolved = await this.resolveSession(pendingSessionToken);
      if (!resolved || resolved.session.second_factor_verified === 1)
        throw new ValidationFailed({ code: SECOND_FACTOR_FAILED_MESSAGE });
      const { user, session } = resolved;
      const limit = await deps.rateLimits.hit('secondFactorPerUser', user.id);
      if (!limit.allowed) {
        await refuse(
          'auth.second_factor',
          'rate_limited',
          context,
          user.id,
          limit.retryAfterSeconds,
        );
        throw new RateLimitedError(limit.retryAfterSeconds);
      }
      const secret = deps.accounts.decryptTotpSecret(user);
      const cleaned = code.trim().toLowerCase();
      let method: 'totp' | 'recovery_code' | null = null;
      if (secret && /^\d{3}\s?\d{3}$/.test(cleaned)) {
        const step = verifyTotp(secret, cleaned, now().getTime(), user.totp_last_step);
        if (step !== null && (await repository.claimTotpStep(user.id, step))) method = 'totp';
      } else if (/^[a-z0-9]{5}-?[a-z0-9]{5}$/.test(cleaned)) {
        const normalised = cleaned.includes('-')
          ? cleaned
          : `${cleaned.slice(0, 5)}-${cleaned.slice(5)}`;
        if (await repository.useRecoveryCode(user.id, sha256Hex(normalised), now().toISOString()))
          method = 'recovery_code';
      }
      if (!method) {
        await refuse('auth.second_factor', 'wrong_code', context, user.id);
        throw new ValidationFailed({ code: SECOND_FACTOR_FAILED_MESSAGE });
      }
      return repository.transaction(async (trx) => {
        await repository.deleteSession(session.id, trx);
        const token = await startSession(trx, user.id, true, context);
        await audit.record(
          {
            action: 'auth.sign_in',
            actorUserId: user.id,
            targetType: 'user',
            targetId: user.id,
            details: { method: `password+${method}` },
          },
          context,
          trx,
        );
        return token;
      });
    },

    /**
     * The session behind a cookie, if it is still valid: not past its absolute end, not idle too
     * long, and its user still active. Expired sessions are deleted as they are found.
     */
    async resolveSession(token: string | undefined): Promise<ResolvedSession | null> {
      if (!token || !/^[A-Za-z0-9_-]{20,100}$/.test(token)) return null;
      const session = await repository.findSession(sha256Hex(token));
      if (!session) return null;
      const at = now();
      const idleExpired = new Date(session.last_seen_at).getTime() + idleMs <= at.getTime();
      if (session.expires_at <= at.toISOString() || idleExpired) {
        await repository.deleteSession(session.id);
        return null;
      }
      const user = await repository.findUserById(session.user_id);
      if (!user || user.status !== 'active') return null;
      if (at.getTime() - new Date(session.last_seen_at).getTime() >= TOUCH_INTERVAL_MS) {
        await repository.touchSession(session.id, at.toISOString());
      }
      return { session, user };
    },

    async signOut(token: string | undefined, context: RequestContext): Promise<void> {
      const resolved = await this.resolveSession(token);
      if (!resolved) return;
      await repository.transaction(async (trx) => {
        await repository.deleteSession(resolved.session.id, trx);
        await audit.record(
          {
            action: 'auth.sign_out',
            actorUserId: resolved.user.id,
            targetType: 'user',
            targetId: resolved.user.id,
          },
          context,
          trx,
        );
      });
    },

    /** Ends every session of the user except the one they are using. */
    async signOutOtherSessions(
      actor: Actor,
      currentSessionId: string,
      context: RequestContext,
    ): Promise<number> {
      return repository.transaction(async (trx) => {
        const ended = await repository.deleteSessionsOfUser(trx, actor.userId, currentSessionId);
        await audit.record(
          {
            action: 'auth.signed_out_other_sessions',
            actorUserId: actor.userId,
            targetType: 'user',
            targetId: actor.userId,
            details: { sessionsEnded: ended },
          },
          context,
          trx,
        );
        return ended;
      });
    },

    async listSessions(actor: Actor) {
      return repository.findSessionsOfUser(actor.userId);
    },

    /**
     * Signs in a user proven by single sign-on. Users are matched by issuer and subject. A first
     * sign-in creates an account, unless the email already belongs to one: then the owner must sign
     * in with their password and link the identity from their account page, because trusting the
     * email alone would let whoever controls the identity provider take over any account.
     */
    async signInWithExternalIdentity(
      identity: {
        issuer: string;
        subject: string;
        email: string | null;
        emailVerified: boolean;
        name: string | null;
      },
      context: RequestContext,
      linkToUserId?: string,
    ): Promise<
      SignInResult | { outcome: 'email-belongs-to-another-account' } | { outcome: 'linked' }
    > {
      const existing = await repository.findExternalIdentity(identity.issuer, identity.subject);
      if (linkToUserId) {
        if (existing && existing.user_id !== linkToUserId) {
          await refuse(
            'auth.sso_linked',
            'identity_linked_to_another_account',
            context,
            linkToUserId,
          );
          return { outcome: 'email-belongs-to-another-account' };
        }
        if (!existing) await deps.accounts.linkExternalIdentity(linkToUserId, identity, context);
        return { outcome: 'linked' };
      }

      let user = existing ? await repository.findUserById(existing.user_id) : undefined;
      if (!user) {
        const address =
          identity.email && identity.emailVerified ? normaliseEmail(identity.email) : null;
        if (!address) {
          await refuse('auth.sign_in', 'sso_without_verified_email', context, null);
          throw new ValidationFailed({
            sso: 'Your organisation account did not share a verified email address, so Greenspace cannot create an account for you',
          });
        }
        if (await repository.findUserByEmail(address)) {
          await refuse('auth.sign_in', 'sso_email_belongs_to_local_account', context, null);
          return { outcome: 'email-belongs-to-another-account' };
        }
        const userId = randomUUID();
        await repository.transaction(async (trx) => {
          const at = now().toISOString();
          await repository.insertUser(trx, {
            id: userId,
            handle: await repository.freeHandle(
              identity.name?.trim() || address.split('@')[0]!,
              trx,
            ),
            email: address,
            displayName: identity.name?.trim() || address,
            passwordHash: null,
            emailVerifiedAt: at,
            isPlatformAdmin: false,
            now: at,
          });
          await repository.insertExternalIdentity(trx, {
            id: randomUUID(),
            userId,
            issuer: identity.issuer,
            subject: identity.subject,
            email: identity.email,
            now: at,
          });
          await audit.record(
            {
              action: 'account.sign_up',
              actorUserId: userId,
              targetType: 'user',
              targetId: userId,
              details: { method: 'sso', issuer: identity.issuer },
            },
            context,
            trx,
          );
        });
        user = await repository.findUserById(userId);
      }
      if (!user || user.status !== 'active') {
        await refuse(
          'auth.sign_in',
          `account_${user?.status ?? 'missing'}`,
          context,
          user?.id ?? null,
        );
        throw new ValidationFailed({
          sso: 'This account cannot sign in. Contact your organisation’s Greenspace admin',
        });
      }
      const needsSecondFactor = user.totp_enabled_at !== null;
      const signedInUser = user;
      const sessionToken = await repository.transaction(async (trx) => {
        const token = await startSession(trx, signedInUser.id, !needsSecondFactor, context);
        await audit.record(
          {
            action: needsSecondFactor ? 'auth.sso_accepted' : 'auth.sign_in',
            actorUserId: signedInUser.id,
            targetType: 'user',
            targetId: signedInUser.id,
            details: { method: 'sso', issuer: identity.issuer },
          },
          context,
          trx,
        );
        return token;
      });
      return {
        outcome: needsSecondFactor ? 'second-factor-needed' : 'signed-in',
        sessionToken,
        userId: user.id,
      };
    },

    /** Removes sessions past their end; run from time to time by the background worker. */
    async pruneExpiredSessions(): Promise<void> {
      const at = now().getTime();
      await repository.deleteExpiredSessions(
        new Date(at).toISOString(),
        new Date(at - idleMs).toISOString(),
      );
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
