import type { FastifyRequest } from 'fastify';

/** Where a request came from, recorded with every audit event. */
export interface RequestContext {
  ip: string | null;
  userAgent: string | null;
}

export function requestContextOf(request: FastifyRequest): RequestContext {
  const userAgent = request.headers['user-agent'];
  return {
    ip: request.ip ?? null,
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 300) : null,
  };
}
