import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.ts';

const READINESS_TIMEOUT_MS = 2000;

/**
 * `/healthz` says the process is up (for a liveness probe: restart me if this fails);
 * `/readyz` says the database answers (for a readiness probe: send me traffic only if this passes).
 * A database that comes back is noticed on the next probe, without a restart.
 */
export function registerHealthRoutes(app: FastifyInstance, services: Services): void {
  app.get('/healthz', { config: { access: 'public' } }, async (_request, reply) => {
    return reply.header('cache-control', 'no-store').send({ status: 'ok' });
  });

  app.get('/readyz', { config: { access: 'public' } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    try {
      await withTimeout(services.database.ping(), READINESS_TIMEOUT_MS);
      // Which database answers is not said: it tells an outsider nothing they need.
      return reply.send({ status: 'ready' });
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed: database unreachable');
      return reply.code(503).send({ status: 'unavailable', reason: 'database unreachable' });
    }
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
