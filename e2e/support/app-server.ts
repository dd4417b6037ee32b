import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig, type AppConfig } from '../../src/config.ts';
import { readOutbox, type OutboxEntry } from '../../src/modules/email/mail-transport.ts';
import { createServices, type Services } from '../../src/services.ts';
import { createTestDatabase } from '../../test/support/test-database.ts';
import { referenceDataDir } from '../../test/support/templates.ts';

/** How often the email delivery worker runs: often, so a journey waits for mail in milliseconds. */
const EMAIL_WORKER_INTERVAL_MS = 100;
const EMAIL_WAIT_MS = 10_000;

/** The whole application, listening on a free loopback port, on a private copy of the seeded database. */
export interface E2eServer {
  /** `http://127.0.0.1:<port>`, with no trailing slash. Emailed links point here too. */
  baseUrl: string;
  app: FastifyInstance;
  /** The app's services, for building test data (users, memberships) through the real code paths. */
  services: Services;
  /** The private folder the email delivery worker writes messages to (listed at /dev/outbox). */
  outboxDir: string;
  /** The absolute address of a path on this server. */
  url(pathAndQuery: string): string;
  /**
   * Waits until the delivery worker has written an email to `to` with this subject to the outbox,
   * and returns it; throws, listing what the outbox holds, if none arrives within 10 seconds.
   */
  waitForEmail(to: string, subject: string): Promise<OutboxEntry>;
  /** Stops listening and the email worker, then deletes the database copy and the outbox. */
  stop(): Promise<void>;
}

/**
 * A port no one is listening on now. Emailed links carry the public address, which the services
 * learn before the app listens, so the port is chosen first rather than left to `listen(0)`.
 */
async function findFreeLoopbackPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function isAddressInUse(error: unknown): boolean {
  return (error as { code?: unknown }).code === 'EADDRINUSE';
}

export async function startE2eServer(): Promise<E2eServer> {
  const database = await createTestDatabase('sqlite');
  const outboxDir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-e2e-outbox-'));
  const removeEverything = async () => {
    try {
      await database.destroy();
    } finally {
      fs.rmSync(outboxDir, { recursive: true, force: true });
    }
  };
  // Another process may take the free port between the probe and listen: try a few ports.
  for (let attempt = 1; ; attempt++) {
    const port = await findFreeLoopbackPort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const config: AppConfig = {
      ...loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        HOST: '127.0.0.1',
        PORT: String(port),
        PUBLIC_URL: baseUrl,
        OUTBOX_DIR: outboxDir,
        EMAIL_WORKER_INTERVAL_MS: String(EMAIL_WORKER_INTERVAL_MS),
      }),
      database: database.config,
      referenceDataDir,
    };
    let app: FastifyInstance | undefined;
    const services = createServices(database.handle, config);
    try {
      app = await buildApp(config, services, { logger: false });
      await app.listen({ host: config.host, port: config.port });
      services.email.startWorker(config.email.workerIntervalMs);
    } catch (error) {
      await app?.close();
      await services.email.stopWorker();
      if (isAddressInUse(error) && attempt < 5) continue;
      await removeEverything();
      throw error;
    }
    const listening = app;
    return {
      baseUrl,
      app: listening,
      services,
      outboxDir,
      url: (pathAndQuery) => new URL(pathAndQuery, `${baseUrl}/`).toString(),
      waitForEmail: (to, subject) => waitForEmail(outboxDir, to, subject),
      async stop() {
        try {
          await listening.close();
          await services.email.stopWorker();
        } finally {
          await removeEverything();
        }
      },
    };
  }
}

async function waitForEmail(outboxDir: string, to: string, subject: string): Promise<OutboxEntry> {
  const deadline = Date.now() + EMAIL_WAIT_MS;
  for (;;) {
    const messages = await readOutbox(outboxDir);
    const found = messages.find((message) => message.to === to && message.subject === subject);
    if (found) return found;
    if (Date.now() > deadline) {
      const listing = messages.map((message) => `  to ${message.to}: ${message.subject}`);
      throw new Error(
        `No email to ${to} with the subject "${subject}" reached the outbox within ${EMAIL_WAIT_MS} ms. ` +
          `It holds ${messages.length} message(s):\n${listing.join('\n')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, EMAIL_WORKER_INTERVAL_MS));
  }
}
