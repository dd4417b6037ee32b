import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.ts';
import { nationalAreasOfFocus } from '../areas-of-focus/area-of-focus.data.ts';
import { LLR_ICB_CODE } from '../organisations/organisation.service.ts';

export function registerHomeRoutes(app: FastifyInstance, services: Services): void {
  app.get('/', { config: { access: 'public' } }, async (request, reply) => {
    const [practiceTotals, latest] = await Promise.all([
      services.organisations.getPracticeTotals(LLR_ICB_CODE),
      services.content.latestForHome(request.actor),
    ]);
    return reply.render('home/views/home.njk', {
      latest,
      areas: nationalAreasOfFocus,
      practiceTotals,
      llrIcbCode: LLR_ICB_CODE,
    });
  });
}
