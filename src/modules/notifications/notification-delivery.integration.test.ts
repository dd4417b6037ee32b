import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildUser, type TestUser } from '../../../test/support/factories.ts';
import { HttpAgent, signInAs } from '../../../test/support/http-agent.ts';
import { referenceDataDir } from '../../../test/support/templates.ts';
import {
  createTestDatabase,
  testDialects,
  type TestDatabase,
} from '../../../test/support/test-database.ts';
import { loadConfig, type AppConfig } from '../../config.ts';
import type { EmailMessageRow } from '../../db/schema.ts';
import { startServer, type RunningServer } from '../../server.ts';
import { createServices } from '../../services.ts';
import { retryDelaySeconds } from '../email/email.service.ts';

/** One message as the mail server took it: the envelope recipients and the headers the checks need. */
interface ReceivedEmail {
  recipients: string[];
  messageId: string;
  subject: string;
}

/**
 * A real SMTP server on 127.0.0.1 that accepts everything and keeps what it received. Stopping it
 * and starting another on the same port is a mail server outage, as the application sees one.
 */
async function startSmtpSink(port: number, received: ReceivedEmail[]): Promise<SMTPServer> {
  const sink = new SMTPServer({
    authOptional: true,
    // A plain local relay: without STARTTLS the client does not try its self-signed certificate.
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const headers = readHeaders(Buffer.concat(chunks).toString('utf8'));
        received.push({
          recipients: session.envelope.rcptTo.map((recipient) => recipient.address),
          messageId: headers.get('message-id') ?? '',
          subject: headers.get('subject') ?? '',
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    sink.once('error', reject);
    sink.listen(port, '127.0.0.1', () => {
      sink.off('error', reject);
      resolve();
    });
  });
  return sink;
}

function stopSmtpSink(sink: SMTPServer): Promise<void> {
  return new Promise((resolve) => sink.close(() => resolve()));
}

/** The header block of a raw message, unfolded, by lower-case name; encoded words decoded. */
function readHeaders(raw: string): Map<string, string> {
  const block = raw.split(/\r?\n\r?\n/, 1)[0]!.replace(/\r?\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers.set(line.slice(0, colon).trim().toLowerCase(), decodeWords(line.slice(colon + 1)));
  }
  return headers;
}

/** RFC 2047 encoded words (`=?UTF-8?B?…?=`, `=?UTF-8?Q?…?=`), as a mail program shows them. */
function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_word, encoding: string, text: string) =>
      encoding.toLowerCase() === 'b'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(
            text
              .replace(/_/g, ' ')
              .replace(/=([0-9a-f]{2})/gi, (_hex, code: string) =>
                String.fromCharCode(parseInt(code, 16)),
              ),
            'latin1',
          ).toString('utf8'),
    )
    .trim();
}

/** Polls for minutes rather than seconds: the first retry after a failure is 30 s away. */
const deliveryWait = { timeout: 120_000, interval: 250 };

describe.each(testDialects)(
  'notification email across a mail server outage and a restart on %s',
  (dialect) => {
    const received: ReceivedEmail[] = [];
    let database: TestDatabase;
    let config: AppConfig;
    let smtpPort: number;
    let sink: SMTPServer | undefined;
    let server: RunningServer | undefined;
    let author: TestUser;
    let mentioned: TestUser;
    let digestReader: TestUser;
    const title = `Switching the boiler fleet to heat pumps ${dialect}`;
    /** What every app process logged at warning level and above. */
    const logged: { level: number; msg: string; emailId?: string; err?: { message: string } }[] =
      [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          logged.push(JSON.parse(chunk.toString('utf8')) as (typeof logged)[number]);
          callback();
        },
      }),
    );

    /** Every message in the durable queue, oldest first. */
    const queuedEmails = (): Promise<EmailMessageRow[]> =>
      database.handle.db
        .selectFrom('email_messages')
        .selectAll()
        .orderBy('created_at')
        .orderBy('id')
        .execute();

    const receivedWithId = (id: string) =>
      received.filter((email) => email.messageId === `<${id}@greenspace>`);

    /** Each queued message arrived exactly once, to its recipient with its subject, and nothing else did. */
    async function expectEveryQueuedEmailDeliveredOnce(): Promise<EmailMessageRow[]> {
      const rows = await queuedEmails();
      for (const row of rows) {
        expect(row.status, `${row.kind} to ${row.to_address}`).toBe('sent');
        expect(receivedWithId(row.id), `${row.kind} to ${row.to_address}`).toEqual([
          {
            recipients: [row.to_address],
            messageId: `<${row.id}@greenspace>`,
            subject: row.subject,
          },
        ]);
      }
      expect(received).toHaveLength(rows.length);
      return rows;
    }

    const notificationEmailsTo = async (user: TestUser) =>
      (await queuedEmails()).filter(
        (row) => row.to_address === user.email && row.kind.startsWith('notification_'),
      );

    /** Starts the application: its own database connection, email worker and digest timer. */
    async function startApp(): Promise<RunningServer> {
      server = await startServer(config, { logger });
      return server;
    }

    async function stopApp(): Promise<void> {
      await server?.shutdown('restart');
      server = undefined;
    }

    beforeAll(async () => {
      database = await createTestDatabase(dialect);
      sink = await startSmtpSink(0, received);
      smtpPort = (sink.server.address() as AddressInfo).port;
      config = {
        ...loadConfig({
          NODE_ENV: 'test',
          LOG_LEVEL: 'silent',
          HOST: '127.0.0.1',
          PORT: '0',
          SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
          EMAIL_WORKER_INTERVAL_MS: '200',
          // A fixed key, as production has, so that a restart keeps sessions and links valid.
          SECRET_KEY: 'notification-delivery-test-secret-key-0123456789',
        }),
        database: database.config,
        referenceDataDir,
      };
      // Accounts are made through the services before the app starts; their emails wait in the
      // queue for the app's worker like any other.
      const services = createServices(database.handle, config);
      author = await buildUser(services, { workspaces: [{ slug: 'llr' }] });
      mentioned = await buildUser(services, { workspaces: [{ slug: 'llr' }] });
      digestReader = await buildUser(services, { workspaces: [{ slug: 'llr' }] });
      await services.email.stopWorker();
    });

    afterAll(async () => {
      await stopApp();
      if (sink) await stopSmtpSink(sink);
      await database?.destroy();
    });

    it('delivers what is queued while the mail server is up', async () => {
      const app = await startApp();
      const reader = new HttpAgent(app.app);
      await signInAs(reader, digestReader);
      const settings = await reader.post('/notifications/settings', { mention: 'daily' });
      expect(settings.statusCode, settings.body.slice(0, 500)).toBe(303);

      await vi.waitFor(async () => {
        const rows = await queuedEmails();
        expect(rows.length).toBeGreaterThan(0);
        expect(rows.filter((row) => row.status !== 'sent')).toEqual([]);
        expect(received).toHaveLength(rows.length);
      }, deliveryWait);
      await expectEveryQueuedEmailDeliveredOnce();
    }, 180_000);

    it('keeps notification emails queued, with the failed attempt recorded, while the mail server is down', async () => {
      await stopSmtpSink(sink!);
      sink = undefined;
      const deliveredBefore = received.length;
      const app = server!;

      const writer = new HttpAgent(app.app);
      await signInAs(writer, author);
      const created = await writer.post('/workspaces/llr/threads', {
        title,
        kind: 'discussion',
        area: '',
        body: `Has anyone costed this? @${mentioned.handle} and @${digestReader.handle}, you ran the pilots.`,
        action: 'post',
      });
      expect(created.statusCode, created.body.slice(0, 500)).toBe(303);
      const threadPath = String(created.headers.location).split('?')[0]!;

      const replier = new HttpAgent(app.app);
      await signInAs(replier, mentioned);
      const replied = await replier.post(`${threadPath}/replies`, {
        body: 'We did: the numbers are in the pilot report.',
        action: 'post',
      });
      expect(replied.statusCode, replied.body.slice(0, 500)).toBe(303);

      // Queuing nudges the worker, which tries at once and finds the mail server gone.
      await vi.waitFor(async () => {
        const waiting = [
          ...(await notificationEmailsTo(mentioned)),
          ...(await notificationEmailsTo(author)),
        ];
        expect(waiting).toHaveLength(2);
        for (const row of waiting) expect(row.attempts).toBe(1);
      }, deliveryWait);

      const mention = await notificationEmailsTo(mentioned);
      expect(mention).toMatchObject([
        {
          kind: 'notification_mention',
          subject: `${author.displayName} mentioned you: ${title}`,
          status: 'pending',
          attempts: 1,
          sent_at: null,
          last_error: expect.stringMatching(/ECONNREFUSED/),
        },
      ]);
      const reply = await notificationEmailsTo(author);
      expect(reply).toMatchObject([
        {
          kind: 'notification_reply',
          subject: `${mentioned.displayName} replied: ${title}`,
          status: 'pending',
          attempts: 1,
          sent_at: null,
          last_error: expect.stringMatching(/ECONNREFUSED/),
        },
      ]);
      // The next attempt waits out the back-off rather than hammering a server that is down.
      for (const row of [...mention, ...reply]) {
        expect(new Date(row.next_attempt_at).getTime()).toBeGreaterThanOrEqual(
          new Date(row.created_at).getTime() + retryDelaySeconds(1) * 1000,
        );
      }
      expect(received).toHaveLength(deliveredBefore);
      expect(logged).toEqual(
        expect.arrayContaining(
          [...mention, ...reply].map((row) =>
            expect.objectContaining({ msg: 'email delivery failed', emailId: row.id }),
          ),
        ),
      );
    }, 180_000);

    it('does not email at once a mention its recipient takes in a daily digest', async () => {
      const notifications = await database.handle.db
        .selectFrom('notifications')
        .selectAll()
        .where('user_id', '=', digestReader.id)
        .execute();
      expect(notifications).toMatchObject([
        {
          kind: 'mention',
          title: `${author.displayName} mentioned you: ${title}`,
          email_status: 'digest',
        },
      ]);
      expect(await notificationEmailsTo(digestReader)).toEqual([]);
      expect(
        (await queuedEmails()).filter(
          (row) => row.to_address === digestReader.email && row.kind.startsWith('digest_'),
        ),
      ).toEqual([]);
    });

    it('after restarts and the mail server’s return, delivers every queued email exactly once', async () => {
      await stopApp();
      // The first process has gone; the queue it leaves behind is intact.
      for (const user of [mentioned, author]) {
        expect(await notificationEmailsTo(user)).toMatchObject([
          { status: 'pending', attempts: 1 },
        ]);
      }

      // First a process stopped as soon as it has started, as when a deployment is rolled straight
      // back: the worker run and the digest check it begins at start-up must end within its
      // shutdown, not run on against a closed database.
      await startApp();
      await stopApp();
      await startApp();
      sink = await startSmtpSink(smtpPort, received);

      await vi.waitFor(async () => {
        const rows = await queuedEmails();
        expect(rows.filter((row) => row.status !== 'sent')).toEqual([]);
        expect(received).toHaveLength(rows.length);
      }, deliveryWait);
      await expectEveryQueuedEmailDeliveredOnce();

      const mention = await notificationEmailsTo(mentioned);
      // At least the failed attempt and the one that succeeded; more only on a very slow machine.
      expect(mention).toMatchObject([{ status: 'sent', attempts: expect.any(Number) }]);
      expect(mention[0]!.attempts).toBeGreaterThanOrEqual(2);
      expect(received.filter((email) => email.recipients.includes(mentioned.email))).toContainEqual(
        {
          recipients: [mentioned.email],
          messageId: `<${mention[0]!.id}@greenspace>`,
          subject: `${author.displayName} mentioned you: ${title}`,
        },
      );
      const reply = await notificationEmailsTo(author);
      expect(reply).toMatchObject([{ status: 'sent', attempts: expect.any(Number) }]);
      expect(reply[0]!.attempts).toBeGreaterThanOrEqual(2);
      expect(received.filter((email) => email.recipients.includes(author.email))).toContainEqual({
        recipients: [author.email],
        messageId: `<${reply[0]!.id}@greenspace>`,
        subject: `${mentioned.displayName} replied: ${title}`,
      });
      expect(logged.filter((entry) => entry.level >= pino.levels.values.error!)).toEqual([]);
    }, 180_000);

    it('sends the daily digest once, with the mention in it, and never the mention on its own', async () => {
      const toReader = (await queuedEmails()).filter(
        (row) => row.to_address === digestReader.email,
      );
      const digests = toReader.filter((row) => row.kind === 'digest_daily');
      expect(digests).toMatchObject([
        { subject: 'Your daily Greenspace digest: 1 update', status: 'sent' },
      ]);
      expect(digests[0]!.text_body).toContain(`${author.displayName} mentioned you: ${title}`);
      expect(toReader.filter((row) => row.kind.startsWith('notification_'))).toEqual([]);
      const toReaderReceived = received.filter((email) =>
        email.recipients.includes(digestReader.email),
      );
      expect(toReaderReceived).toHaveLength(toReader.length);
      expect(toReaderReceived).toEqual(
        expect.arrayContaining(
          toReader.map((row) => ({
            recipients: [digestReader.email],
            messageId: `<${row.id}@greenspace>`,
            subject: row.subject,
          })),
        ),
      );
      expect(
        received.filter(
          (email) =>
            email.subject.includes('mentioned you') &&
            email.recipients.includes(digestReader.email),
        ),
      ).toEqual([]);
    });

    it('sends nothing again on further worker runs or another restart', async () => {
      const before = await expectEveryQueuedEmailDeliveredOnce();
      // Several more runs of the running worker.
      await new Promise((resolve) => setTimeout(resolve, 5 * config.email.workerIntervalMs));
      await stopApp();
      // Another process: it runs the worker and the digest check as it starts, and its shutdown
      // waits for both to finish.
      await startApp();
      await stopApp();

      const after = await expectEveryQueuedEmailDeliveredOnce();
      expect(after.map((row) => row.id)).toEqual(before.map((row) => row.id));
      expect(received).toHaveLength(before.length);
      expect(logged.filter((entry) => entry.level >= pino.levels.values.error!)).toEqual([]);
    });
  },
);
