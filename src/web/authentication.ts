import fastifyCookie from '@fastify/cookie';
import type { Multipart } from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { constantTimeEqual, deriveKey, hmacSha256, randomToken, sha256Hex } from '../lib/crypto.ts';
import { localPathOr } from '../lib/site-path.ts';
import { requiresTwoFactor, type Actor } from '../modules/access/policy.ts';
import type { Services } from '../services.ts';
import { enforceRateLimit, rateLimitRules } from '../modules/security/rate-limit.service.ts';
import { requestContextOf } from './request-context.ts';

/**
 * How every route says who may reach it. A route without an `access` setting cannot be registered
 * (see `requireAccessDeclarations`), so a new route is never public by accident.
 *
 * - `public`: anyone; services still ask the policy module about the resource itself.
 * - `signed-in`: a fully signed-in user (password and, if they have one, second factor).
 * - `second-factor-pending`: someone who has given their password and now owes their code.
 * - `development-only`: outside production only (the email outbox), and 404 in production.
 */
export type RouteAccess = 'public' | 'signed-in' | 'second-factor-pending' | 'development-only';

export interface CurrentSession {
  id: string;
  userId: string;
  complete: boolean;
}

/**
 * Who a signed-in route is for, so the access tests know who must be refused: `self` (your own
 * account), `any-user` (anyone signed in may do it, e.g. ask to join), `organisation-member`,
 * `organisation-admin`, `platform-admin` and `content-editor` (editors of the organisation that owns the
 * content, or of any organisation for pages that create content).
 * `organisation-editor`: editors of the organisation that a plan or an action belongs to.
 * `workspace-member` and `workspace-manager`: members (or managers) of the workspace in the address,
 * or of the workspace a post in the address belongs to.
 * `green-champion`: those who keep the Greener General Practice self-assessment of the practice in
 * the address (its green champions and admins, ICS admins above it).
 * `assessment-verifier`: ICS verifiers (and ICS admins) of the practice a submission belongs to.
 */
export type RouteAudience =
  | 'self'
  | 'any-user'
  | 'organisation-member'
  | 'organisation-editor'
  | 'organisation-admin'
  | 'platform-admin'
  | 'content-editor'
  | 'workspace-member'
  | 'workspace-manager'
  | 'green-champion'
  | 'assessment-verifier';

export interface RouteTableEntry {
  method: string;
  url: string;
  access: RouteAccess;
  audience: RouteAudience | undefined;
  /** Set on the few state-changing routes authorised by a signed link instead of a CSRF token. */
  csrf?: 'signed-link';
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route with its declared access, for the generated access tests. */
    routeTable: RouteTableEntry[];
  }
  interface FastifyContextConfig {
    access?: RouteAccess;
    audience?: RouteAudience;
    /** Routes an admin can use before setting up the two-factor authentication their role needs. */
    allowedBeforeTwoFactorSetup?: boolean;
    /**
     * `signed-link`: a public route that changes state only when its address carries a valid HMAC
     * signature (one-click unsubscribe, which mail programs POST without a form). It needs no CSRF
     * token because a forged request cannot know the signature; the route must check it.
     */
    csrf?: 'signed-link';
  }
  interface FastifyRequest {
    actor: Actor | null;
    /** How many unread notifications the signed-in person has (shown in the header). */
    unreadNotifications: number;
    currentSession: CurrentSession | null;
    csrfToken: string;
    /**
     * The rest of a multipart form, after its first part (the CSRF token, checked here). Routes
     * that accept uploads read their fields and files from this.
     */
    multipartParts: AsyncIterableIterator<Multipart> | null;
  }
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export class CsrfError extends Error {
  override name = 'CsrfError';
  readonly statusCode = 403;
}

/** Cookie names: the `__Host-` prefix (Secure, no Domain, Path=/) whenever the request came over HTTPS. */
export function cookieNames(request: FastifyRequest) {
  const secure = request.protocol === 'https';
  return {
    secure,
    session: secure ? '__Host-gs_session' : 'gs_session',
    csrf: secure ? '__Host-gs_csrf' : 'gs_csrf',
  };
}

export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
): void {
  const names = cookieNames(request);
  reply.setCookie(names.session, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: names.secure,
  });
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  const names = cookieNames(request);
  reply.clearCookie(names.session, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: names.secure,
  });
}

export function sessionTokenOf(request: FastifyRequest): string | undefined {
  return request.cookies[cookieNames(request).session];
}

/**
 * A local path to return to after signing in; anything else (another site, `//host`, `/\\host`, or
 * a path with tabs or line breaks, which browsers strip before resolving) becomes `/`.
 */
export function safeReturnPath(value: unknown): string {
  return localPathOr(value, '/');
}

/**
 * Loads the session and the user behind it on every request, issues the CSRF token, enforces each
 * route's declared access and checks the CSRF token on every state-changing request.
 */
export async function registerAuthentication(
  app: FastifyInstance,
  services: Services,
  secretKey: string,
): Promise<void> {
  const csrfKey = deriveKey(secretKey, 'csrf');
  await app.register(fastifyCookie);
  app.decorateRequest('actor', null);
  app.decorateRequest('currentSession', null);
  app.decorateRequest('csrfToken', '');
  app.decorateRequest('multipartParts', null);

  app.addHook('onRequest', async (request, reply) => {
    if (
      request.url.startsWith('/assets/') ||
      request.url === '/healthz' ||
      request.url === '/readyz'
    )
      return;
    const names = cookieNames(request);
    const resolved = await services.auth.resolveSession(request.cookies[names.session]);
    if (resolved) {
      const complete = resolved.session.second_factor_verified === 1;
      request.currentSession = { id: resolved.session.id, userId: resolved.user.id, complete };
      if (complete) request.actor = await services.actors.fromUser(resolved.user);
    } else if (request.cookies[names.session]) {
      clearSessionCookie(request, reply);
    }

    // The CSRF token is an HMAC of a random per-browser cookie and the session, so a token from
    // before sign-in (or from another session) does not work after it.
    let browserSecret = request.cookies[names.csrf];
    if (!browserSecret || !/^[A-Za-z0-9_-]{40,60}$/.test(browserSecret)) {
      browserSecret = randomToken(32);
      reply.setCookie(names.csrf, browserSecret, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: names.secure,
      });
    }
    request.csrfToken = hmacSha256(
      csrfKey,
      `${browserSecret}|${request.currentSession?.id ?? 'anonymous'}`,
    );
  });

  app.addHook('preHandler', async (request, reply) => {
    const config = request.routeOptions.config;
    const access = config.access;
    if (access === undefined) return; // static assets and Fastify's own 404 route

    if (
      UNSAFE_METHODS.has(request.method) &&
      !(config.csrf === 'signed-link' && access === 'public')
    ) {
      let submitted: unknown;
      if (request.isMultipart()) {
        // A file upload streams, so its body is not parsed yet. Our forms put the token first;
        // read that part now and leave the rest for the route.
        const parts = request.parts();
        let first: Awaited<ReturnType<typeof parts.next>>;
        try {
          first = await parts.next();
        } catch (error) {
          // A body that says it is multipart but cannot be read as such (no boundary, say) is the
          // sender's fault: a 400, as for any body that cannot be read, not a fault of ours.
          throw Object.assign(new Error('The form could not be read'), {
            statusCode: 400,
            cause: error,
          });
        }
        if (!first.done && first.value.type === 'field' && first.value.fieldname === '_csrf') {
          submitted = first.value.value;
        }
        request.multipartParts = parts;
      } else {
        const body = request.body as Record<string, unknown> | undefined;
        submitted = typeof body?._csrf === 'string' ? body._csrf : request.headers['x-csrf-token'];
      }
      if (typeof submitted !== 'string' || !constantTimeEqual(submitted, request.csrfToken)) {
        throw new CsrfError('The form could not be accepted');
      }
    }

    if (access === 'development-only') {
      // Pages for trying the service on one's own machine (the outbox lists every emailed link,
      // password links included): never in production, and never to another machine, however
      // the server was started. The socket's own address is used, not one a proxy reports.
      if (
        services.config.environment === 'production' ||
        !isLoopbackAddress(request.socket.remoteAddress)
      )
        return reply.callNotFound();
      return;
    }
    if (access === 'second-factor-pending') {
      if (!request.currentSession || request.currentSession.complete)
        return reply.redirect('/sign-in', 303);
      return;
    }
    if (access === 'signed-in') {
      if (!request.actor) {
        if (request.currentSession && !request.currentSession.complete)
          return reply.redirect('/sign-in/two-factor', 303);
        const returnTo =
          request.method === 'GET' ? `?returnTo=${encodeURIComponent(request.url)}` : '';
        return reply.redirect(`/sign-in${returnTo}`, 303);
      }
      if (
        requiresTwoFactor(request.actor) &&
        !request.actor.twoFactorEnabled &&
        !config.allowedBeforeTwoFactorSetup
      ) {
        return reply.redirect('/account/two-factor?required=1', 303);
      }
    }
    // Every form that can carry files is limited here, in one place, before any file is read:
    // each can bring hundreds of megabytes to check and store.
    if (request.multipartParts && request.actor) {
      const { limit } = rateLimitRules.uploadFormPerUser;
      await enforceRateLimit(
        services,
        'uploadFormPerUser',
        request.actor.userId,
        {
          action: 'files.upload',
          actorUserId: request.actor.userId,
          details: { path: request.url.split('?')[0] },
        },
        requestContextOf(request),
        `You have sent ${limit} forms with files in the last hour, which is the most anyone can send in an hour.`,
        'Nothing in this form has been saved.',
      );
    }
  });

  app.addHook('onSend', async (request, reply, payload) => {
    // Pages for a signed-in user may hold personal data, and so may a page opened by an emailed
    // link (an invitation names the address it was sent to): never store them in a shared cache.
    const fromEmailedLink = /[?&]token=/.test(request.url);
    if (request.currentSession || fromEmailedLink) reply.header('cache-control', 'no-store');
    return payload;
  });
}

/**
 * Makes every route declare its access (and, when signed-in, its audience); registering one that
 * does not is a start-up error. Records each route in `app.routeTable`.
 */
export function requireAccessDeclarations(app: FastifyInstance): void {
  const table: RouteTableEntry[] = [];
  app.decorate('routeTable', table);
  app.addHook('onRoute', (route) => {
    const url = route.url ?? route.path ?? '';
    if (url === '/assets' || url.startsWith('/assets/')) return;
    const config = route.config as
      { access?: RouteAccess; audience?: RouteAudience; csrf?: 'signed-link' } | undefined;
    if (!config?.access) {
      throw new Error(
        `Route ${String(route.method)} ${url} must declare config.access (see src/web/authentication.ts)`,
      );
    }
    if (config.access === 'signed-in' && !config.audience) {
      throw new Error(
        `Signed-in route ${String(route.method)} ${url} must declare config.audience (see src/web/authentication.ts)`,
      );
    }
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      table.push({
        method,
        url,
        access: config.access,
        audience: config.audience,
        ...(config.csrf ? { csrf: config.csrf } : {}),
      });
    }
  });
}

/** The session id as stored (the SHA-256 of the cookie), for "sign out everywhere else". */
export function sessionIdOfToken(token: string): string {
  return sha256Hex(token);
}

/** Whether a connection comes from this machine (IPv4, IPv6, or IPv4 written as IPv6). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return plain === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(plain);
}
