import { randomUUID } from 'node:crypto';
import fastifyFormbody from '@fastify/formbody';
import fastifyMultipart from '@fastify/multipart';
import { LARGEST_UPLOAD_BYTES } from './modules/files/file-types.ts';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { AppConfig } from './config.ts';
import { isUniqueViolation } from './db/unique-violation.ts';
import type { Services } from './services.ts';
import { createLogger, type Logger } from './logger.ts';
import { registerHealthRoutes } from './modules/health/health.routes.ts';
import { registerHomeRoutes } from './modules/home/home.routes.ts';
import { registerOrganisationRoutes } from './modules/organisations/organisation.routes.ts';
import { registerInformationRoutes } from './modules/information/information.routes.ts';
import { registerAreaOfFocusRoutes } from './modules/areas-of-focus/area-of-focus.routes.ts';
import { registerPrescribingRoutes } from './modules/prescribing/prescribing.routes.ts';
import { registerGreenPlanRoutes } from './modules/green-plans/plan.routes.ts';
import { registerGreenerPracticeRoutes } from './modules/greener-practice/greener-practice.routes.ts';
import { ensureAssetsBuilt } from './web/assets.ts';
import { BadRequestError, GoneError, NotFoundError } from './web/http-errors.ts';
import {
  CsrfError,
  registerAuthentication,
  requireAccessDeclarations,
} from './web/authentication.ts';
import { ValidationFailed } from './lib/validation.ts';
import { ForbiddenError, organisationScope } from './modules/access/policy.ts';
import { roleDefinitions } from './modules/access/roles.ts';
import { RateLimitedError } from './modules/security/rate-limit.service.ts';
import { registerAuthRoutes } from './modules/accounts/auth.routes.ts';
import { registerAccountRoutes } from './modules/accounts/account.routes.ts';
import { registerSingleSignOnRoutes } from './modules/accounts/oidc.routes.ts';
import { registerMembershipRoutes } from './modules/memberships/membership.routes.ts';
import { registerAdminRoutes } from './modules/admin/admin.routes.ts';
import { registerOutboxRoutes } from './modules/email/outbox.routes.ts';
import { registerContentRoutes } from './modules/content/content.routes.ts';
import { registerDiscussionRoutes } from './modules/discussions/discussion.routes.ts';
import { registerNotificationRoutes } from './modules/notifications/notification.routes.ts';
import { createViewEnvironment } from './web/views.ts';

declare module 'fastify' {
  interface FastifyReply {
    /** Renders a Nunjucks page with the shared layout context and sends it as HTML. */
    render(template: string, context?: Record<string, unknown>): FastifyReply;
  }
}

export interface BuildAppOptions {
  /** The process logger, shared with the CLI; `false` for silence (tests). Default: a new one. */
  logger?: Logger | false;
}

const requestIdPattern = /^[A-Za-z0-9._-]{8,128}$/;

/**
 * Builds the web application from its configuration and services. It does not listen: the CLI
 * does that, and tests drive it with `app.inject`.
 */
export async function buildApp(
  config: AppConfig,
  services: Services,
  options: BuildAppOptions = {},
): Promise<FastifyInstance> {
  const assets = ensureAssetsBuilt();
  const views = createViewEnvironment({ watch: false });

  const logger = options.logger ?? createLogger(config);
  const app = Fastify({
    ...(logger === false ? { logger: false } : { loggerInstance: logger as FastifyBaseLogger }),
    trustProxy: config.trustProxy,
    // Honour a well-formed request id from a proxy we trust, so one id follows a request through
    // every log; from anyone else it could put someone else's reference on an error page.
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return config.trustProxy && typeof incoming === 'string' && requestIdPattern.test(incoming)
        ? incoming
        : randomUUID();
    },
    // Requests are logged with the secrets an address can carry taken out.
    logController: new AddressSafeLogController(),
    return503OnClosing: true,
    // Forms and JSON bodies are small; uploads have their own limits where they are accepted.
    bodyLimit: 1024 * 1024,
    forceCloseConnections: 'idle',
  });

  requireAccessDeclarations(app);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(fastifyHelmet, {
    enableCSPNonces: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        mediaSrc: ["'self'"],
        manifestSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(config.environment === 'production' ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
    crossOriginEmbedderPolicy: false,
  });
  await app.register(fastifyFormbody);
  // Uploads stream straight into the file store; the parser's own limit is the largest any purpose
  // allows, and each purpose checks its own (src/modules/files/file-types.ts).
  await app.register(fastifyMultipart, {
    limits: {
      fileSize: LARGEST_UPLOAD_BYTES,
      files: 10,
      fields: 50,
      fieldSize: 100_000,
      parts: 60,
    },
  });
  await app.register(fastifyStatic, {
    root: assets.dir,
    prefix: '/assets/',
    index: false,
    maxAge: config.environment === 'production' ? '1d' : 0,
  });

  await registerAuthentication(app, services, services.secretKey);
  // The unread count in the header, for pages shown to a signed-in person.
  app.decorateRequest('unreadNotifications', 0);
  app.addHook('preHandler', async (request) => {
    if (request.actor && request.method === 'GET') {
      request.unreadNotifications = await services.notifications.countUnread(request.actor.userId);
    }
  });

  app.decorateReply('render', function render(this: FastifyReply, template: string, context = {}) {
    const request = this.request;
    const path = request.url.split('?')[0] ?? '/';
    const html = views.render(template, {
      cspNonce: (this as FastifyReply & { cspNonce?: { script: string } }).cspNonce?.script,
      currentPath: path,
      currentSection: path === '/' ? 'home' : path.split('/')[1],
      requestId: request.id,
      actor: request.actor,
      unreadNotifications: request.unreadNotifications,
      showAdminLink:
        request.actor !== null &&
        (request.actor.isPlatformAdmin ||
          organisationScope(request.actor, 'organisation.manage_members').kind === 'all' ||
          request.actor.memberships.some((membership) =>
            (roleDefinitions[membership.role].permissions as readonly string[]).includes(
              'organisation.manage_members',
            ),
          )),
      pendingSecondFactor: request.currentSession !== null && !request.currentSession.complete,
      csrfToken: request.csrfToken,
      isProduction: config.environment === 'production',
      singleSignOn: config.oidc ? { displayName: config.oidc.displayName } : null,
      ...context,
    });
    return this.type('text/html; charset=utf-8').send(html);
  });

  registerHealthRoutes(app, services);
  registerHomeRoutes(app, services);
  registerOrganisationRoutes(app, services);
  registerAreaOfFocusRoutes(app, services);
  registerPrescribingRoutes(app, services);
  registerGreenPlanRoutes(app, services);
  registerGreenerPracticeRoutes(app, services);
  registerInformationRoutes(app, services);
  registerAuthRoutes(app, services);
  registerAccountRoutes(app, services);
  registerSingleSignOnRoutes(app, services);
  registerMembershipRoutes(app, services);
  registerAdminRoutes(app, services);
  registerOutboxRoutes(app, services);
  registerContentRoutes(app, services);
  registerDiscussionRoutes(app, services);
  registerNotificationRoutes(app, services);

  app.setNotFoundHandler((request, reply) => {
    if (wantsJson(request)) return reply.code(404).send({ error: 'Not found' });
    return reply.code(404).render('errors/not-found.njk');
  });

  app.setErrorHandler(async (error, request, reply) => {
    if (error instanceof BadRequestError) {
      if (wantsJson(request))
        return reply.code(400).send({ error: 'Bad request', problems: error.problems });
      // A form's fields (a field sent twice, a NUL) are not the address: say so in other words.
      if (request.method !== 'GET' && request.method !== 'HEAD')
        return reply.code(400).render('errors/request-refused.njk', formRefusal(error.problems));
      return reply.code(400).render('errors/bad-request.njk', {
        problems: error.problems,
        retryHref: request.url.split('?')[0],
      });
    }
    if (error instanceof NotFoundError) {
      if (wantsJson(request))
        return reply.code(404).send({ error: 'Not found', message: error.message });
      return reply.code(404).render('errors/not-found.njk', { message: error.message });
    }
    if (error instanceof GoneError) {
      if (wantsJson(request))
        return reply
          .code(410)
          .send({ error: 'Gone', message: error.message, deletedAt: error.deletedAt });
      return reply.code(410).render('errors/gone.njk', {
        what: error.what,
        deletedAt: error.deletedAt,
        next: error.next,
      });
    }
    if (error instanceof CsrfError) {
      request.log.warn(
        { url: loggableUrl(request.url) },
        'refused a form without a valid CSRF token',
      );
      return reply.code(403).render('errors/form-expired.njk');
    }
    if (error instanceof ForbiddenError) {
      if (wantsJson(request))
        return request.actor
          ? reply.code(403).send({ error: 'Forbidden' })
          : reply.code(401).send({ error: 'Sign in first' });
      if (!request.actor) {
        const returnTo =
          request.method === 'GET' ? `?returnTo=${encodeURIComponent(request.url)}` : '';
        return reply.redirect(`/sign-in${returnTo}`, 303);
      }
      return reply.code(403).render('errors/forbidden.njk');
    }
    if (error instanceof RateLimitedError) {
      if (wantsJson(request))
        return reply
          .code(429)
          .header('retry-after', String(error.retryAfterSeconds))
          .send({ error: 'Too many requests' });
      return reply
        .code(429)
        .header('retry-after', String(error.retryAfterSeconds))
        .render('errors/rate-limited.njk', {
          minutes: Math.max(1, Math.ceil(error.retryAfterSeconds / 60)),
          explanation: error.explanation,
          afterwards: error.afterwards,
        });
    }
    if (error instanceof ValidationFailed) {
      if (wantsJson(request))
        return reply
          .code(400)
          .send({ error: 'Bad request', problems: Object.values(error.fieldErrors) });
      return reply
        .code(400)
        .render('errors/request-refused.njk', formRefusal(Object.values(error.fieldErrors)));
    }
    // Two people saving the same thing at once both pass the check that it is not there yet; the
    // database's unique constraint refuses the second. That is a conflict to retry, not a fault.
    if (isUniqueViolation(error)) {
      request.log.warn({ err: error }, 'refused a write that a concurrent one got to first');
      if (wantsJson(request)) return reply.code(409).send({ error: 'Conflict' });
      return reply.code(409).render('errors/conflict.njk');
    }
    const statusCode = (error as { statusCode?: number }).statusCode;
    if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
      // Errors Fastify raises itself for malformed requests (bad JSON, too large a body…).
      request.log.info({ err: error }, 'client error');
      if (wantsJson(request))
        return reply
          .code(statusCode)
          .send({ error: error instanceof Error ? error.message : 'Bad request' });
      // A browser's form gets a page that says what happened, not a line of JSON.
      return reply.code(statusCode).render('errors/request-refused.njk', refusalOf(statusCode));
    }
    const databaseUp = await services.database.ping().then(
      () => true,
      () => false,
    );
    request.log.error({ err: error, databaseUp }, 'request failed');
    if (!databaseUp) {
      reply.code(503).header('retry-after', '30');
      if (wantsJson(request)) return reply.send({ error: 'Service unavailable' });
      return reply.render('errors/unavailable.njk');
    }
    if (wantsJson(request)) return reply.code(500).send({ error: 'Server error' });
    return reply.code(500).render('errors/server-error.njk');
  });

  return app;
}

/** Fastify's request logging, with each address as `loggableUrl` gives it. */
class AddressSafeLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    // The client's address beside `req`, not inside it: Fastify passes `req` through its own
    // serializer, which reads the address from a real request and so dropped this one.
    request.log.info(
      {
        req: { method: request.method, url: loggableUrl(request.url) },
        remoteAddress: request.ip,
      },
      'incoming request',
    );
  }
}

/**
 * An address as the logs may hold it: links in emails carry secrets in their query (a password
 * reset's or an invitation's token, also inside a `returnTo`), which anyone reading the logs could
 * use, so every query value is left out and only the names are kept.
 */
export function loggableUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return url;
  const names = url
    .slice(queryStart + 1)
    .split('&')
    .filter(Boolean)
    .map((pair) => `${pair.split('=', 1)[0]}=…`);
  return `${url.slice(0, queryStart)}?${names.join('&')}`;
}

/** The page for a form refused where no page of its own could show why. */
function formRefusal(problems: readonly string[]) {
  return {
    heading: 'What you sent could not be accepted',
    explanation: 'Nothing has been saved, because of this:',
    problems,
  };
}

/** How a request Fastify refused before any route saw it is explained to a person. */
function refusalOf(statusCode: number): { heading: string; explanation: string } {
  if (statusCode === 413)
    return {
      heading: 'What you sent is too large',
      explanation:
        'What you sent is larger than this page accepts, so none of it was saved. Make it shorter, or send a smaller file.',
    };
  if (statusCode === 415)
    return {
      heading: 'What you sent could not be read',
      explanation: 'What you sent was not in a form this page accepts, so none of it was saved.',
    };
  return {
    heading: 'What you sent could not be read',
    explanation: 'What you sent could not be read, so none of it was saved.',
  };
}

function wantsJson(request: FastifyRequest): boolean {
  return request.url.startsWith('/api/') || request.url === '/healthz' || request.url === '/readyz';
}
