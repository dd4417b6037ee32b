import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig, type AppConfig } from '../../src/config.ts';
import type { Logger } from '../../src/logger.ts';
import type { Dialect } from '../../src/db/database.ts';
import { createServices, type ServiceOptions, type Services } from '../../src/services.ts';
import {
  createTestDatabase,
  type TestDatabase,
  type TestDatabaseOptions,
} from './test-database.ts';
import { referenceDataDir } from './templates.ts';

export interface TestApp {
  app: FastifyInstance;
  services: Services;
  database: TestDatabase;
  config: AppConfig;
  close(): Promise<void>;
}

/** The whole application on a private database, driven through `app.inject`. */
export async function createTestApp(
  dialect: Dialect,
  options: TestDatabaseOptions & {
    configOverrides?: Partial<AppConfig>;
    services?: ServiceOptions;
    /** A logger to capture what the app logs; silent by default. */
    logger?: Logger;
  } = {},
): Promise<TestApp> {
  const database = await createTestDatabase(dialect, options);
  const config: AppConfig = {
    ...loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }),
    database: database.config,
    referenceDataDir,
    ...options.configOverrides,
  };
  const services = createServices(database.handle, config, options.services);
  const app = await buildApp(config, services, { logger: options.logger ?? false });
  return {
    app,
    services,
    database,
    config,
    async close() {
      await app.close();
      await services.email.stopWorker();
      await database.destroy();
    },
  };
}
