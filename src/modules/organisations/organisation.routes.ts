import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { organisationTypes } from '../../db/schema.ts';
import type { Services } from '../../services.ts';
import { NotFoundError } from '../../web/http-errors.ts';
import { buildPageHref, buildPagination } from '../../web/pagination.ts';
import {
  optionalChoice,
  optionalCode,
  optionalText,
  pageNumber,
  parseQuery,
} from '../../web/query.ts';
import { roleDefinitions } from '../access/roles.ts';
import { organisationTypeLabels } from './organisation.service.ts';

const DIRECTORY_PAGE_SIZE = 25;

const directoryQuery = z.object({
  q: optionalText(100),
  type: optionalChoice(organisationTypes),
  icb: optionalCode(/^Q[A-Z0-9]{2}$/, 'an ICB ODS code such as QK1'),
  subIcb: optionalCode(/^[0-9A-Z]{3,5}$/, 'a sub-ICB location code such as 04C'),
  page: pageNumber,
});

/** ODS codes and ONS codes are short runs of capitals and digits. */
const organisationCodePattern = /^[A-Za-z0-9]{2,9}$/;

export function registerOrganisationRoutes(app: FastifyInstance, services: Services): void {
  app.get('/organisations', { config: { access: 'public' } }, async (request, reply) => {
    const query = parseQuery(directoryQuery, request.query);
    const [result, filterOptions] = await Promise.all([
      services.organisations.searchDirectory({
        text: query.q,
        type: query.type,
        icb: query.icb,
        subIcb: query.subIcb,
        page: query.page,
        pageSize: DIRECTORY_PAGE_SIZE,
      }),
      services.organisations.getDirectoryFilterOptions(),
    ]);
    const pageOutOfRange = query.page > result.pageCount;
    const filters = { q: query.q, type: query.type, icb: query.icb, subIcb: query.subIcb };
    return reply.code(pageOutOfRange ? 404 : 200).render('organisations/views/directory.njk', {
      query: filters,
      result,
      pageOutOfRange,
      typeOptions: organisationTypes.map((type) => ({
        value: type,
        text: organisationTypeLabels[type].singular,
      })),
      filterOptions,
      paginationParams: buildPagination('/organisations', filters, result.page, result.pageCount),
      firstPageHref: buildPageHref('/organisations', filters, 1),
      breadcrumbs: [{ href: '/', text: 'Home' }],
    });
  });

  app.get<{ Params: { code: string } }>(
    '/organisations/:code',
    { config: { access: 'public' } },
    async (request, reply) => {
      const { code } = request.params;
      if (!organisationCodePattern.test(code)) throw new NotFoundError();
      const canonical = code.toUpperCase();
      if (canonical !== code) return reply.redirect(`/organisations/${canonical}`, 301);
      const page = await services.organisations.getOrganisationPage(canonical);
      if (!page) {
        throw new NotFoundError(`No organisation with the code ${canonical} is in Greenspace.`);
      }
      const query = request.query as { requested?: string; joined?: string };
      const access = await services.memberships.describeAccess(request.actor, canonical);
      return reply.render('organisations/views/organisation.njk', {
        ...page,
        access,
        membershipRoleLabel: access.membership
          ? roleDefinitions[access.membership.role].label
          : null,
        notice:
          // Said only where true, so that a link cannot show anyone a confirmation of their own.
          query.requested === '1' && access.hasPendingRequest
            ? 'Your request has been sent. An admin will reply by email.'
            : query.joined === '1' && access.membership
              ? `You are now a member of ${page.organisation.name}.`
              : query.joined === 'already' && access.membership
                ? `You were already a member of ${page.organisation.name}, as ${roleDefinitions[access.membership.role].inSentence}. Your role has not changed: ask one of its admins if it should.`
                : undefined,
        breadcrumbs: [
          { href: '/', text: 'Home' },
          { href: '/organisations', text: 'Organisations' },
          ...page.ancestors.map((ancestor) => ({
            href: `/organisations/${ancestor.code}`,
            text: ancestor.name,
          })),
        ],
      });
    },
  );
}
