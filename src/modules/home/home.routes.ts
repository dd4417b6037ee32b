import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.ts';
import { nationalAreasOfFocus } from '../areas-of-focus/area-of-focus.data.ts';
import { LLR_PLAN_SLUG } from '../green-plans/llr-green-plan.seed.ts';
import { LLR_ICB_CODE } from '../organisations/organisation.service.ts';

export function registerHomeRoutes(app: FastifyInstance, services: Services): void {
  app.get('/', { config: { access: 'public' } }, async (request, reply) => {
    const [practiceTotals, latest, llrPlan] = await Promise.all([
      services.organisations.getPracticeTotals(LLR_ICB_CODE),
      services.content.latestForHome(request.actor),
      services.greenPlans.findPublishedPlanBySlug(LLR_PLAN_SLUG),
    ]);
    return reply.render('home/views/home.njk', {
      latest,
      llrPlan,
      areas: nationalAreasOfFocus,
      practiceTotals,
      llrIcbCode: LLR_ICB_CODE,
    });
  });
}
