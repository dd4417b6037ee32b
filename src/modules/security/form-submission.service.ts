import type { Transaction } from 'kysely';
import { randomToken, sha256Hex } from '../../lib/crypto.ts';
import type { Database } from '../../db/schema.ts';
import { isUniqueViolation } from '../../db/unique-violation.ts';
import type { FormSubmissionRepository } from './form-submission.repository.ts';

/** How long a form's key is remembered: far longer than any double click or resent page. */
const REMEMBERED_FOR_MS = 24 * 3_600_000;

const KEY_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

/** A new key, for a form about to be drawn (templates call it as `newSubmissionKey()`). */
export function newSubmissionKey(): string {
  return randomToken(24);
}

/** One request made by a form with a one-time key: who sent it, its key and what it asked for. */
export interface FormSubmission {
  userId: string;
  key: string;
  contentHash: string;
}

/** What became of a form's request: done now, or done already by an earlier one with its key. */
export type SubmissionOutcome<T> = { done: T } | { repeated: string };

/**
 * One-time submission keys for forms whose effect must happen once: a new discussion, a reply, a
 * comment. JavaScript stops a second click on such a form's button, but a browser without it sends
 * the form again, and so does a page resent after a slow answer. Each form carries a key made when
 * its page is drawn; the request that records the key first does the work, and any other with the
 * same key and the same content is sent to what the first one made. The same key with other
 * content (a page reached with Back and written again) is a new request.
 */
export function createFormSubmissionService(deps: {
  repository: FormSubmissionRepository;
  now?: () => Date;
}) {
  const { repository } = deps;
  const now = deps.now ?? (() => new Date());

  /** Where an earlier request with this key and content left its result, if one did. */
  async function earlierResult(submission: FormSubmission | null): Promise<string | undefined> {
    if (!submission) return undefined;
    return repository.findResultLink(submission.userId, submission.key, submission.contentHash);
  }

  return {
    /**
     * The submission a form's request stands for, or null when it carries no usable key: a form
     * drawn before keys existed, or a client that sends none, is served as before, without the
     * check.
     */
    submissionOf(
      userId: string,
      rawKey: string | undefined,
      content: readonly unknown[],
    ): FormSubmission | null {
      if (!rawKey || !KEY_PATTERN.test(rawKey)) return null;
      return { userId, key: rawKey, contentHash: sha256Hex(JSON.stringify(content)) };
    },

    /**
     * Runs `work`, which opens its own transaction and calls `record` in it before it changes
     * anything, so that of two requests with one key the second waits for the first and then
     * finds its result. Answers `{ repeated: link }` when an earlier request with this key and
     * content has done the work, before or while this one ran.
     */
    async once<T>(
      submission: FormSubmission | null,
      work: (
        record: (trx: Transaction<Database>, resultLink: string) => Promise<void>,
      ) => Promise<T>,
    ): Promise<SubmissionOutcome<T>> {
      const earlier = await earlierResult(submission);
      if (earlier) return { repeated: earlier };
      const record = async (trx: Transaction<Database>, resultLink: string) => {
        if (!submission) return;
        await repository.insert(trx, {
          user_id: submission.userId,
          submission_key: submission.key,
          content_hash: submission.contentHash,
          result_link: resultLink,
          created_at: now().toISOString(),
        });
      };
      try {
        return { done: await work(record) };
      } catch (error) {
        if (submission && isUniqueViolation(error)) {
          const landed = await earlierResult(submission);
          if (landed) return { repeated: landed };
        }
        throw error;
      }
    },

    removeOfUser: (trx: Transaction<Database>, userId: string) =>
      repository.removeOfUser(trx, userId),

    /** Forgets keys older than a day (run hourly with the other tidying). */
    async prune(): Promise<void> {
      await repository.deleteOlderThan(new Date(now().getTime() - REMEMBERED_FOR_MS).toISOString());
    },
  };
}

export type FormSubmissionService = ReturnType<typeof createFormSubmissionService>;
