import { sha256Hex } from '../../lib/crypto.ts';
import type { RequestContext } from '../../web/request-context.ts';
import type { AuditEvent, AuditService } from '../audit/audit.service.ts';
import type { RateLimitRepository } from './rate-limit.repository.ts';

/**
 * Limits on actions that an attacker would repeat: guessing passwords, creating accounts, sending
 * reset emails and invitations. Fixed windows, counted per key (an address, an email, a user).
 */
export const rateLimitRules = {
  signInPerAccount: { limit: 10, windowSeconds: 60 },
  signInPerAddress: { limit: 30, windowSeconds: 60 },
  secondFactorPerUser: { limit: 10, windowSeconds: 300 },
  signUpPerAddress: { limit: 10, windowSeconds: 3600 },
  passwordResetPerAccount: { limit: 5, windowSeconds: 3600 },
  passwordResetPerAddress: { limit: 20, windowSeconds: 3600 },
  /** Re-entering the password before a change (email, password, two-factor, deletion). */
  passwordCheckPerUser: { limit: 10, windowSeconds: 900 },
  /** Each email change request mails an address the user chose. */
  emailChangePerUser: { limit: 5, windowSeconds: 3600 },
  invitationPerUser: { limit: 50, windowSeconds: 3600 },
  joinRequestPerUser: { limit: 20, windowSeconds: 3600 },
  /** Accounts younger than a week post less, which blunts spam from new sign-ups. */
  postPerNewAccount: { limit: 10, windowSeconds: 3600 },
  postPerAccount: { limit: 120, windowSeconds: 3600 },
  reportPerUser: { limit: 30, windowSeconds: 3600 },
  /** Forms that carry files (evidence, documents, videos, imports): each can hold hundreds of MB. */
  uploadFormPerUser: { limit: 60, windowSeconds: 3600 },
} as const satisfies Record<string, { limit: number; windowSeconds: number }>;

export type RateLimitRule = keyof typeof rateLimitRules;

export interface RateLimitDecision {
  allowed: boolean;
  retryAfterSeconds: number;
}

/**
 * What a refusal page says of the limits more than one module counts against (organisations and
 * workspaces share the requests to join and the invitations), so each says it in the same words.
 */
export const sharedLimitExplanations = {
  joinRequestPerUser: `You have asked to join ${rateLimitRules.joinRequestPerUser.limit} organisations or workspaces in the last hour, which is the most anyone can ask to join in an hour.`,
  invitationPerUser: `You have sent ${rateLimitRules.invitationPerUser.limit} invitations in the last hour, to organisations and workspaces together, which is the most anyone can send in an hour.`,
} as const;

export class RateLimitedError extends Error {
  override name = 'RateLimitedError';
  readonly statusCode = 429;
  /**
   * `explanation` says, in plain words, which limit was reached, and `afterwards` what became of
   * what was sent (by default, that a post was not posted); both are shown on the 429 page.
   */
  constructor(
    readonly retryAfterSeconds: number,
    readonly explanation?: string,
    readonly afterwards?: string,
  ) {
    super('Too many attempts');
  }
}

export function createRateLimitService(
  repository: RateLimitRepository,
  options: { now?: () => Date } = {},
) {
  const now = options.now ?? (() => new Date());

  function windowOf(rule: RateLimitRule) {
    const { windowSeconds } = rateLimitRules[rule];
    const windowMs = windowSeconds * 1000;
    const current = now().getTime();
    const start = Math.floor(current / windowMs) * windowMs;
    return {
      start: new Date(start).toISOString(),
      retryAfterSeconds: Math.ceil((start + windowMs - current) / 1000),
    };
  }

  // Keys are hashed so the table holds no email addresses.
  const bucketKey = (rule: RateLimitRule, key: string) => `${rule}:${sha256Hex(key.toLowerCase())}`;

  return {
    /** Counts an attempt and says whether it is within the limit. */
    async hit(rule: RateLimitRule, key: string): Promise<RateLimitDecision> {
      const window = windowOf(rule);
      const hits = await repository.increment(bucketKey(rule, key), window.start);
      return {
        allowed: hits <= rateLimitRules[rule].limit,
        retryAfterSeconds: window.retryAfterSeconds,
      };
    },

    /** Counts an attempt against several limits at once; refused if any is exceeded. */
    async hitAll(checks: [RateLimitRule, string][]): Promise<RateLimitDecision> {
      let decision: RateLimitDecision = { allowed: true, retryAfterSeconds: 0 };
      for (const [rule, key] of checks) {
        const result = await this.hit(rule, key);
        if (!result.allowed) {
          decision = {
            allowed: false,
            retryAfterSeconds: Math.max(decision.retryAfterSeconds, result.retryAfterSeconds),
          };
        }
      }
      return decision;
    },

    /** Removes counters older than a day; run from time to time by the background worker. */
    async prune(): Promise<void> {
      await repository.deleteOlderThan(new Date(now().getTime() - 24 * 3600 * 1000).toISOString());
    },
  };
}

export type RateLimitService = ReturnType<typeof createRateLimitService>;

/**
 * Counts an attempt against its limit. Over the limit, the refusal is audited under the action it
 * refused (outcome `refused`, reason `rate_limited`), so a run of them shows on the audit page, and
 * RateLimitedError answers 429 with `explanation` on its page.
 */
export async function enforceRateLimit(
  deps: { rateLimits: RateLimitService; audit: AuditService },
  rule: RateLimitRule,
  key: string,
  refused: Omit<AuditEvent, 'outcome'>,
  context: RequestContext,
  explanation?: string,
  afterwards?: string,
): Promise<void> {
  const decision = await deps.rateLimits.hit(rule, key);
  if (decision.allowed) return;
  await deps.audit.record(
    {
      ...refused,
      outcome: 'refused',
      details: { ...refused.details, reason: 'rate_limited' },
    },
    context,
  );
  throw new RateLimitedError(decision.retryAfterSeconds, explanation, afterwards);
}
