import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig, type AppConfig } from '../../src/config.ts';
import { createServices } from '../../src/services.ts';
import { createTestDatabase } from '../../test/support/test-database.ts';
import { referenceDataDir } from '../../test/support/templates.ts';

/** The whole application, listening on a free loopback port, on a private copy of the seeded database. */
export interface E2eServer {
  /** `http://127.0.0.1:<port>`, with no trailing slash. */
  baseUrl: string;
  app: FastifyInstance;
  /** The absolute address of a path on this server. */
  url(pathAndQuery: string): string;
  /** Stops listening, then deletes the database copy. */
  stop(): Promise<void>;
}

export async function startE2eServer(): Promise<E2eServer> {
  const database = await createTestDatabase('sqlite');
  const config: AppConfig = {
    ...loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }),
    host: '127.0.0.1',
    port: 0,
    database: database.config,
    referenceDataDir,
  };
  let app: FastifyInstance | undefined;
  try {
    app = await buildApp(config, createServices(database.handle, config), { logger: false });
    const address = await app.listen({ host: config.host, port: config.port });
    const baseUrl = address.replace(/\/$/, '');
    const listening = app;
    return {
      baseUrl,
      app: listening,
      url: (pathAndQuery) => new URL(pathAndQuery, `${baseUrl}/`).toString(),
      async stop() {
        try {
          await listening.close();
        } finally {
          await database.destroy();
        }
      },
    };
  } catch (error) {
    await app?.close();
    await database.destroy();
    throw error;
  }
}
