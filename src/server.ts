import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import type { AppConfig } from './config.ts';
import { connectDatabase, type DatabaseHandle } from './db/database.ts';
import { createLogger, type Logger } from './logger.ts';
import { createServices } from './services.ts';

export interface RunningServer {
  app: FastifyInstance;
  database: DatabaseHandle;
  url: string;
  /** Stops taking new connections, lets in-flight requests finish, then closes the database. */
  shutdown(reason: string): Promise<void>;
}

/** Opens the database, builds the app and listens. Used by `greenspace serve` and the tests. */
export async function startServer(
  config: AppConfig,
  options: {
    logger?: Logger | false;
    database?: DatabaseHandle;
    /** Adds routes before listening; tests use it to hold a request open during shutdown. */
    extendApp?: (app: FastifyInstance) => void;
  } = {},
): Promise<RunningServer> {
  const logger =
    options.logger === false
      ? createLogger({ logLevel: 'silent' })
      : (options.logger ?? createLogger(config));
  const database =
    options.database ??
    (await connectDatabase(config.database, (error) =>
      logger.warn(
        { err: error },
        'database connection lost; it will be re-established on the next query',
      ),
    ));
  const services = createServices(database, config, { logger });
  const app = await buildApp(config, services, {
    logger: options.logger === false ? false : logger,
  });
  options.extendApp?.(app);
  let stopping = false;
  // A response finished during shutdown closes its connection; otherwise an idle keep-alive
  // connection would hold the shutdown open until the client's keep-alive timeout.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (stopping) reply.header('connection', 'close');
    return payload;
  });
  const url = await app.listen({ host: config.host, port: config.port });
  services.email.startWorker(config.email.workerIntervalMs);
  // Hourly tidying: expired sessions, old rate-limit counters and forms' day-old one-time keys.
  const maintenance = setInterval(() => {
    Promise.all([
      services.auth.pruneExpiredSessions(),
      services.rateLimits.prune(),
      services.formSubmissions.prune(),
    ]).catch((error: unknown) => logger.warn({ err: error }, 'maintenance run failed'));
  }, 3_600_000);
  maintenance.unref();
  // Daily and weekly notification digests: each person's is sent once it is due, so a check every
  // quarter of an hour sends it within fifteen minutes of the time, and a restart never repeats one.
  let digestRun: Promise<unknown> | undefined;
  const sendDigests = () => {
    digestRun ??= services.notifications
      .sendDueDigests()
      .catch((error: unknown) => logger.warn({ err: error }, 'digest run failed'))
      .finally(() => (digestRun = undefined));
  };
  const digests = setInterval(sendDigests, 900_000);
  digests.unref();
  sendDigests();
  logger.info({ url, database: database.description }, 'Greenspace is listening');

  let closing: Promise<void> | undefined;
  return {
    app,
    database,
    url,
    shutdown(reason: string) {
      closing ??= (async () => {
        stopping = true;
        logger.info({ reason }, 'shutting down: finishing in-flight requests');
        const timer = setTimeout(() => {
          logger.error(
            { timeoutMs: config.shutdownTimeoutMs },
            'in-flight requests did not finish in time',
          );
          app.server.closeAllConnections();
        }, config.shutdownTimeoutMs);
        timer.unref();
        clearInterval(maintenance);
        clearInterval(digests);
        try {
          await app.close();
          await digestRun;
          await services.email.stopWorker();
        } finally {
          clearTimeout(timer);
          if (!options.database) await database.close();
          logger.info('shutdown complete');
        }
      })();
      return closing;
    },
  };
}
