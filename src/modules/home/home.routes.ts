import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.ts';
import { nationalAreasOfFocus } from '../areas-of-focus/area-of-focus.data.ts';
import { LLR_PLAN_SLUG } from '../green-plans/llr-green-plan.seed.ts';
import { LLR_ICB_CODE } from '../organisations/organisation.service.ts';
import { defaultWorkspaces } from '../workspaces/workspace.service.ts';

/** The workspaces the home page invites people into, in the order it names them. */
const featuredWorkspaceSlugs = defaultWorkspaces.map((workspace) => workspace.slug);

export function registerHomeRoutes(app: FastifyInstance, services: Services): void {
  app.get('/', { config: { access: 'public' } }, async (request, reply) => {
    const [practiceTotals, latest, llrPlan, workspaces] = await Promise.all([
      services.organisations.getPracticeTotals(LLR_ICB_CODE),
      services.content.latestForHome(request.actor),
      services.greenPlans.findPublishedPlanBySlug(LLR_PLAN_SLUG),
      services.discussions.listWorkspaces(request.actor),
    ]);
    // Managers may make a workspace private, and a private workspace must not be named to someone
    // who cannot read it, so the page names only those in the visitor's own listing.
    const featuredWorkspaces = featuredWorkspaceSlugs.flatMap((slug) =>
      workspaces.filter((workspace) => workspace.slug === slug),
    );
    return reply.render('home/views/home.njk', {
      latest,
      llrPlan,
      featuredWorkspaces,
      midlandsWorkspace: featuredWorkspaces.find((workspace) => workspace.slug === 'midlands'),
      areas: nationalAreasOfFocus,
      practiceTotals,
      llrIcbCode: LLR_ICB_CODE,
    });
  });
}
