import { randomUUID } from 'node:crypto';
import type { Logger } from '../../logger.ts';
import type { EmailRepository, Executor } from './email.repository.ts';
import type { MailTransport } from './mail-transport.ts';

export interface EmailToSend {
  kind: string;
  to: string;
  subject: string;
  text: string;
  headers?: Record<string, string>;
}

/** After this many failed attempts a message is marked failed and left for an operator. */
const MAX_ATTEMPTS = 10;
const FIRST_RETRY_SECONDS = 30;
const LONGEST_RETRY_SECONDS = 6 * 60 * 60;
const LEASE_SECONDS = 120;
/**
 * A send that takes longer than this is given up as failed (and retried later), well inside the
 * lease it was sent under, so that the lease cannot run out while a message is being sent.
 */
const SEND_TIMEOUT_MS = 45_000;

/** Seconds to wait before attempt n+1: doubling from 30 s, capped at 6 hours. */
export function retryDelaySeconds(failedAttempts: number): number {
  return Math.min(
    LONGEST_RETRY_SECONDS,
    FIRST_RETRY_SECONDS * 2 ** Math.max(0, failedAttempts - 1),
  );
}

export interface EmailServiceOptions {
  now?: () => Date;
  logger?: Logger;
  /** How long one message may take to hand over; tests shorten it. */
  sendTimeoutMs?: number;
}

/** The transport's promise, or a rejection once `ms` have passed without it settling. */
function withinTime<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`The mail server took more than ${ms / 1000} s to take the message`)),
      ms,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Email goes out from a queue in the database. Queueing happens inside the caller's transaction,
 * so an email exists if and only if the change that caused it was committed; delivery happens
 * afterwards, with retries, so a mail server outage loses nothing.
 */
export function createEmailService(
  repository: EmailRepository,
  transport: MailTransport,
  options: EmailServiceOptions = {},
) {
  const now = options.now ?? (() => new Date());
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  /** Set while the worker stops: a run then sends nothing more after the message in hand. */
  let stopping = false;

  const sendTimeoutMs = options.sendTimeoutMs ?? SEND_TIMEOUT_MS;
  const leaseFromNow = () => new Date(now().getTime() + LEASE_SECONDS * 1000).toISOString();

  /**
   * Claims due messages under a lease, then sends them one by one, renewing the lease on each just
   * before it is sent. A message whose lease was lost meanwhile (this run took longer than the
   * lease, and another worker took the message over) is left to that worker; and only the holder
   * of a message's lease records what became of it.
   */
  async function deliverDue(limit = 50): Promise<{ sent: number; failed: number }> {
    const claimed = await repository.claimDue(now().toISOString(), leaseFromNow(), limit);
    let sent = 0;
    let failed = 0;
    for (const message of claimed) {
      // Stopping waits for the message being sent, not for the rest of the run: up to 50 slow
      // sends would hold a shutdown for half an hour. The rest are claimed until their lease runs
      // out, then sent by whichever worker runs next.
      if (stopping) break;
      const lease = leaseFromNow();
      if (!(await repository.renewLease(message.id, message.locked_until!, lease))) continue;
      try {
        await withinTime(
          transport.send({
            id: message.id,
            to: message.to_address,
            subject: message.subject,
            text: message.text_body,
            headers: message.headers
              ? (JSON.parse(message.headers) as Record<string, string>)
              : undefined,
          }),
          sendTimeoutMs,
        );
        if (await repository.markSent(message.id, now().toISOString(), lease)) sent++;
      } catch (error) {
        const attempts = message.attempts + 1;
        const giveUp = attempts >= MAX_ATTEMPTS;
        const next = new Date(now().getTime() + retryDelaySeconds(attempts) * 1000).toISOString();
        const reason = error instanceof Error ? error.message : String(error);
        if (
          !(await repository.markAttemptFailed(message.id, attempts, next, reason, giveUp, lease))
        )
          continue;
        failed++;
        options.logger?.warn(
          { emailId: message.id, kind: message.kind, attempts, giveUp, reason },
          'email delivery failed',
        );
      }
    }
    return { sent, failed };
  }

  return {
    transportDescription: transport.description,

    /** Adds a message to the queue as part of the caller's transaction. */
    async queue(executor: Executor, email: EmailToSend): Promise<string> {
      const id = randomUUID();
      await repository.enqueue(
        executor,
        {
          id,
          kind: email.kind,
          toAddress: email.to,
          subject: email.subject,
          textBody: email.text,
          headers: email.headers,
        },
        now().toISOString(),
      );
      return id;
    },

    /** Sends every message that is due now. Used by the worker, and by tests to deliver at once. */
    deliverDue,

    /** Runs delivery now and then every `intervalMs`, one run at a time. */
    startWorker(intervalMs: number): void {
      if (timer) return;
      const tick = () => {
        running ??= deliverDue()
          .catch((error: unknown) =>
            options.logger?.error({ err: error }, 'email worker run failed'),
          )
          .finally(() => (running = undefined));
      };
      tick();
      timer = setInterval(tick, intervalMs);
      timer.unref();
    },

    /** Asks the worker to run soon, after a message has been queued. */
    nudge(): void {
      if (!timer) return;
      setImmediate(() => {
        // Stopped in the meantime: a run started now would outlive stopWorker() and meet a closed
        // database. The message stays queued for the next worker.
        if (!timer) return;
        running ??= deliverDue()
          .catch((error: unknown) =>
            options.logger?.error({ err: error }, 'email worker run failed'),
          )
          .finally(() => (running = undefined));
      });
    },

    async stopWorker(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      stopping = true;
      try {
        await running;
      } finally {
        stopping = false;
      }
      transport.close();
    },

    countByStatus: () => repository.countByStatus(),
    findByRecipient: (address: string) => repository.findByRecipient(address),
  };
}

export type EmailService = ReturnType<typeof createEmailService>;
