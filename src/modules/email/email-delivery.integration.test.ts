import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  testDialects,
  type TestDatabase,
} from '../../../test/support/test-database.ts';
import { createEmailRepository } from './email.repository.ts';
import { createEmailService } from './email.service.ts';
import type { MailTransport, OutgoingEmail } from './mail-transport.ts';

/** A mail server whose answers the test gives, one message at a time. */
function heldTransport() {
  const waiting: { email: OutgoingEmail; accept: () => void; refuse: (error: Error) => void }[] =
    [];
  const arrived: string[] = [];
  let onArrival: (() => void) | undefined;
  const transport: MailTransport = {
    description: 'a mail server the test answers for',
    send: (email) =>
      new Promise<void>((accept, refuse) => {
        arrived.push(email.subject);
        waiting.push({ email, accept, refuse });
        onArrival?.();
      }),
    close() {},
  };
  return {
    transport,
    arrived,
    /** The next message handed over, once it has been. */
    async next() {
      while (waiting.length === 0) await new Promise<void>((resolve) => (onArrival = resolve));
      return waiting.shift()!;
    },
  };
}

/**
 * Two workers (two instances of the service, as on two servers) share one queue. A worker that
 * takes longer than its lease must neither send a message the other has taken over, nor undo what
 * the other recorded.
 */
describe.each(testDialects)('email delivery by two workers on %s', (dialect) => {
  let database: TestDatabase;
  let clock = new Date('2026-01-05T09:00:00.000Z');
  const now = () => clock;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
  });

  afterAll(async () => {
    await database.destroy();
  });

  async function queueTwo(label: string) {
    const repository = createEmailRepository(database.handle.db);
    const queueing = createEmailService(repository, heldTransport().transport, { now });
    for (const subject of [`${label} first`, `${label} second`]) {
      await queueing.queue(database.handle.db, {
        kind: 'test',
        to: 'someone@example.nhs.net',
        subject,
        text: 'Hello',
      });
    }
  }

  async function statusOf(subject: string) {
    return database.handle.db
      .selectFrom('email_messages')
      .select(['status', 'attempts', 'last_error'])
      .where('subject', '=', subject)
      .executeTakeFirstOrThrow();
  }

  it('leaves a message whose lease ran out to the worker that took it over, and keeps what that worker recorded', async () => {
    await queueTwo('Lease');
    const slow = heldTransport();
    const quick = heldTransport();
    const repository = createEmailRepository(database.handle.db);
    const slowWorker = createEmailService(repository, slow.transport, { now });
    const quickWorker = createEmailService(repository, quick.transport, { now });

    // The slow worker claims both, and the mail server keeps it waiting on the first.
    const slowRun = slowWorker.deliverDue();
    const first = await slow.next();
    expect(first.email.subject).toBe('Lease first');
    // Its lease runs out; the other worker takes both over and delivers them.
    clock = new Date(clock.getTime() + 5 * 60_000);
    const quickRun = quickWorker.deliverDue();
    for (let message = 0; message < 2; message++) (await quick.next()).accept();
    expect(await quickRun).toEqual({ sent: 2, failed: 0 });
    // The slow worker's first send then fails: the message stays sent, as the other recorded it.
    first.refuse(new Error('connection reset'));
    expect(await slowRun).toEqual({ sent: 0, failed: 0 });
    expect(await statusOf('Lease first')).toEqual({
      status: 'sent',
      attempts: 1,
      last_error: null,
    });
    // And it never handed over the second, which the other worker had taken.
    expect(slow.arrived).toEqual(['Lease first']);
    expect(await statusOf('Lease second')).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('gives up a send that takes too long, inside its lease, and retries it later', async () => {
    await queueTwo('Timeout');
    const silent = heldTransport();
    const repository = createEmailRepository(database.handle.db);
    const worker = createEmailService(repository, silent.transport, { now, sendTimeoutMs: 50 });
    // The mail server never answers: each send is given up, not waited on for ever.
    const run = await worker.deliverDue();
    expect(run).toEqual({ sent: 0, failed: 2 });
    expect(await statusOf('Timeout first')).toEqual({
      status: 'pending',
      attempts: 1,
      last_error: 'The mail server took more than 0.05 s to take the message',
    });
    // Later, with a server that answers, it goes.
    clock = new Date(clock.getTime() + 60 * 60_000);
    const answering = heldTransport();
    const later = createEmailService(repository, answering.transport, { now });
    const laterRun = later.deliverDue();
    for (let message = 0; message < 2; message++) (await answering.next()).accept();
    expect(await laterRun).toEqual({ sent: 2, failed: 0 });
    expect(await statusOf('Timeout first')).toMatchObject({ status: 'sent', attempts: 2 });
  });
  it('stops after the message being sent when the worker is stopped, leaving the rest for later', async () => {
    await queueTwo('Stopping');
    const held = heldTransport();
    const repository = createEmailRepository(database.handle.db);
    const worker = createEmailService(repository, held.transport, { now });
    worker.startWorker(60_000);
    const first = await held.next();
    expect(first.email.subject).toBe('Stopping first');
    const stopped = worker.stopWorker();
    first.accept();
    await stopped;
    expect(held.arrived).toEqual(['Stopping first']);
    expect(await statusOf('Stopping first')).toMatchObject({ status: 'sent' });
    expect(await statusOf('Stopping second')).toMatchObject({ status: 'pending', attempts: 0 });
    // Once its lease has run out, the next worker sends it.
    clock = new Date(clock.getTime() + 5 * 60_000);
    const next = heldTransport();
    const later = createEmailService(repository, next.transport, { now });
    const run = later.deliverDue();
    (await next.next()).accept();
    expect(await run).toEqual({ sent: 1, failed: 0 });
    expect(await statusOf('Stopping second')).toMatchObject({ status: 'sent' });
  });
});
