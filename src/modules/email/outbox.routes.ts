import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.ts';
import { readOutbox } from './mail-transport.ts';

/**
 * With no mail server configured, every email Greenspace sends is written to the outbox folder and
 * listed here, so sign-up, password reset and invitations work end to end on a laptop. The page
 * does not exist in production.
 */
export function registerOutboxRoutes(app: FastifyInstance, services: Services): void {
  app.get('/dev/outbox', { config: { access: 'development-only' } }, async (_request, reply) => {
    const { email } = services.config;
    const messages = email.smtpUrl ? [] : await readOutbox(email.outboxDir);
    return reply.render('email/views/outbox.njk', {
      messages: messages.map((message) => ({
        ...message,
        // Split into text and links so links are real, clickable anchors and nothing else is HTML.
        parts: message.text
          .split(/(https?:\/\/\S+)/g)
          .map((part) => ({ text: part, isLink: /^https?:\/\//.test(part) })),
      })),
      smtp: Boolean(email.smtpUrl),
      breadcrumbs: [{ href: '/', text: 'Home' }],
    });
  });
}
