import type { FastifyInstance } from 'fastify';
import { nationalAreasOfFocus } from './area-of-focus.data.ts';

export function registerAreaOfFocusRoutes(app: FastifyInstance): void {
  app.get('/areas-of-focus', { config: { access: 'public' } }, async (_request, reply) => {
    return reply.render('areas-of-focus/views/areas-of-focus.njk', {
      areas: nationalAreasOfFocus,
      breadcrumbs: [{ href: '/', text: 'Home' }],
    });
  });
}
