import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ValidationFailed } from '../../lib/validation.ts';
import type { Services } from '../../services.ts';
import { NotFoundError } from '../../web/http-errors.ts';
import { buildPageHref, buildPagination } from '../../web/pagination.ts';
import {
  optionalCode,
  optionalDay,
  optionalText,
  pageNumber,
  parseQuery,
} from '../../web/query.ts';
import { requestContextOf } from '../../web/request-context.ts';
import { nextCalendarDay, ukDayStart } from '../../lib/uk-time.ts';
import { assertCan, can, organisationScope } from '../access/policy.ts';

const organisationAdmin = {
  config: { access: 'signed-in' as const, audience: 'organisation-admin' as const },
};
const platformAdmin = {
  config: { access: 'signed-in' as const, audience: 'platform-admin' as const },
};
const PAGE_SIZE = 50;
const adminBreadcrumbs = [
  { href: '/', text: 'Home' },
  { href: '/admin', text: 'Admin' },
];

const auditQuery = z.object({
  actor: optionalText(254),
  action: z
    .string({ error: 'must be given once' })
    .refine(
      (value) => value === '' || /^[a-z_.]{1,60}$/.test(value),
      'must be an action name such as auth.sign_in',
    )
    .transform((value) => (value === '' ? undefined : value))
    .optional(),
  organisation: optionalCode(/^[A-Z0-9]{2,9}$/, 'an ODS code'),
  from: optionalDay,
  to: optionalDay,
  page: pageNumber,
});

const usersQuery = z.object({ q: optionalText(100), page: pageNumber });

/** Admin pages: what needs deciding, the users of the platform and the audit log. */
export function registerAdminRoutes(app: FastifyInstance, services: Services): void {
  app.get('/admin', organisationAdmin, async (request, reply) => {
    const actor = request.actor!;
    const canManageSomewhere = organisationScope(actor, 'organisation.manage_members');
    const isPlatformAdmin = can(actor, 'platform.manage_users', { kind: 'platform' });
    if (
      !isPlatformAdmin &&
      canManageSomewhere.kind === 'some' &&
      canManageSomewhere.codes.length === 0
    ) {
      return reply.code(403).render('errors/forbidden.njk');
    }
    const requests = await services.memberships.listJoinRequestsToDecide(actor);
    return reply.render('admin/views/admin-home.njk', {
      requests,
      isPlatformAdmin,
      managedOrganisations: actor.memberships.filter((membership) =>
        can(actor, 'organisation.manage_members', {
          kind: 'organisation',
          code: membership.organisationCode,
          ancestorPath: membership.ancestorPath,
        }),
      ),
      emailCounts: isPlatformAdmin ? await services.email.countByStatus() : null,
      breadcrumbs: [{ href: '/', text: 'Home' }],
    });
  });

  app.get('/admin/users', platformAdmin, async (request, reply) => {
    assertCan(request.actor, 'platform.manage_users', { kind: 'platform' });
    const query = parseQuery(usersQuery, request.query);
    const result = await services.accounts.listUsers(request.actor, {
      text: query.q,
      page: query.page,
      pageSize: PAGE_SIZE,
    });
    const pageCount = Math.max(1, Math.ceil(result.total / PAGE_SIZE));
    return reply.render('admin/views/users.njk', {
      query,
      result,
      paginationParams: buildPagination('/admin/users', { q: query.q }, query.page, pageCount),
      breadcrumbs: adminBreadcrumbs,
    });
  });

  for (const [path, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    app.post<{ Params: { userId: string } }>(
      `/admin/users/:userId/${path}`,
      platformAdmin,
      async (request, reply) => {
        if (!/^[0-9a-f-]{36}$/.test(request.params.userId)) throw new NotFoundError();
        try {
          await services.accounts.setUserDisabled(
            request.actor,
            request.params.userId,
            disabled,
            requestContextOf(request),
          );
        } catch (error) {
          if (!(error instanceof ValidationFailed)) throw error;
          return reply
            .code(400)
            .render('errors/bad-request.njk', { problems: Object.values(error.fieldErrors) });
        }
        return reply.redirect('/admin/users', 303);
      },
    );
  }

  app.get('/admin/audit', organisationAdmin, async (request, reply) => {
    services.audit.assertMayRead(request.actor);
    const query = parseQuery(auditQuery, request.query);
    // The dates are UK days, as the log shows them: from the UK midnight that starts the first to
    // the one that ends the last.
    const result = await services.audit.listEvents(request.actor, {
      actorEmail: query.actor,
      action: query.action,
      organisationCode: query.organisation,
      from: query.from ? ukDayStart(query.from).toISOString() : undefined,
      to: query.to ? ukDayStart(nextCalendarDay(query.to)).toISOString() : undefined,
      limit: PAGE_SIZE,
      offset: (query.page - 1) * PAGE_SIZE,
    });
    const filters = {
      actor: query.actor,
      action: query.action,
      organisation: query.organisation,
      from: query.from,
      to: query.to,
    };
    // As the other listings do: a page past the last is not found, but an empty log still has
    // its first page, to say there is nothing to show.
    const pageCount = Math.max(1, Math.ceil(result.total / PAGE_SIZE));
    if (query.page > pageCount) throw new NotFoundError();
    return reply.render('admin/views/audit.njk', {
      query: filters,
      result,
      actions: await services.audit.distinctActions(request.actor),
      paginationParams: buildPagination('/admin/audit', filters, query.page, pageCount),
      firstPageHref: buildPageHref('/admin/audit', filters, 1),
      breadcrumbs: adminBreadcrumbs,
    });
  });
}
