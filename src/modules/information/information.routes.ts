import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.ts';

/** Pages about the service itself: accessibility, privacy and where its data comes from. */
export function registerInformationRoutes(app: FastifyInstance, services: Services): void {
  const breadcrumbs = [{ href: '/', text: 'Home' }];

  app.get('/accessibility', { config: { access: 'public' } }, async (_request, reply) => {
    return reply.render('information/views/accessibility.njk', { breadcrumbs });
  });

  app.get('/privacy', { config: { access: 'public' } }, async (_request, reply) => {
    return reply.render('information/views/privacy.njk', { breadcrumbs });
  });

  app.get('/data-sources', { config: { access: 'public' } }, async (_request, reply) => {
    const datasets = await services.organisations.listReferenceDatasets();
    const inhalers = services.prescribing.reference;
    return reply.render('information/views/data-sources.njk', {
      breadcrumbs,
      datasets,
      inhalerReference: {
        version: inhalers.version,
        sha256: inhalers.sha256,
        sources: [...inhalers.sources.values()].length,
      },
    });
  });
}
