import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.ts';
import { LLR_PLAN_SLUG } from '../green-plans/llr-green-plan.seed.ts';
import { nationalAreasOfFocus } from './area-of-focus.data.ts';

export function registerAreaOfFocusRoutes(app: FastifyInstance, services: Services): void {
  app.get('/areas-of-focus', { config: { access: 'public' } }, async (_request, reply) => {
    // Each area links to its page in the LLR plan's tracker, once that plan is published.
    const llrPlan = await services.greenPlans.findPublishedPlanBySlug(LLR_PLAN_SLUG);
    return reply.render('areas-of-focus/views/areas-of-focus.njk', {
      areas: nationalAreasOfFocus,
      llrPlan,
      breadcrumbs: [{ href: '/', text: 'Home' }],
    });
  });
}
