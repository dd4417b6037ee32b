import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { checkedText, formFields } from '../../web/forms.ts';
import { BadRequestError, NotFoundError } from '../../web/http-errors.ts';
import { buildPageHref, buildPagination } from '../../web/pagination.ts';
import { optionalText, pageNumber, parseQuery } from '../../web/query.ts';
import { requestContextOf } from '../../web/request-context.ts';
import type { NotificationKind } from '../../db/schema.ts';
import {
  frequencies,
  notificationKinds,
  type Frequency,
  type FrequencyChoices,
} from './notification.service.ts';

const PAGE_SIZE = 25;
const ownAccount = { config: { access: 'signed-in' as const, audience: 'self' as const } };

const frequencyLabels = {
  immediately: 'Email me straight away',
  daily: 'Email me a daily digest',
  weekly: 'Email me a weekly digest',
  off: 'No emails (still listed on your notifications page)',
} as const;

const unsubscribeQuery = z.object({
  user: optionalText(36),
  kind: optionalText(40),
  digest: optionalText(10),
  token: optionalText(128),
});

const digestNames = { daily: 'daily digest', weekly: 'weekly digest' } as const;

/**
 * The values of a field a form sends once per ticked checkbox: none, one or several, each text
 * and each checked as every other field is (no NUL). Any other field goes through `formFields`,
 * which refuses one sent twice.
 */
function checkboxValues(request: FastifyRequest, name: string): string[] {
  const value = ((request.body ?? {}) as Record<string, unknown>)[name];
  if (value === undefined) return [];
  const list: unknown[] = Array.isArray(value) ? value : [value];
  return list.map((entry) => {
    if (typeof entry !== 'string') throw new BadRequestError([`The "${name}" field must be text.`]);
    return checkedText(name, entry, 'field');
  });
}

/** The notification list, preferences, what someone follows, and one-click unsubscribe. */
export function registerNotificationRoutes(app: FastifyInstance, services: Services): void {
  const { notifications, discussions } = services;

  app.get('/notifications', ownAccount, async (request, reply) => {
    const query = parseQuery(z.object({ page: pageNumber, done: optionalText(20) }), request.query);
    const { items, total, unread } = await notifications.list(
      request.actor!,
      query.page,
      PAGE_SIZE,
    );
    const pageCount = Math.max(1, Math.ceil(total / PAGE_SIZE));
    if (query.page > pageCount) {
      throw new NotFoundError(
        `Your notifications have ${pageCount} page${pageCount === 1 ? '' : 's'}.`,
      );
    }
    return reply.render('notifications/views/list.njk', {
      items,
      total,
      unread,
      page: query.page,
      kinds: notificationKinds,
      notice:
        query.done === 'read'
          ? 'Marked as read.'
          : query.done === 'settings'
            ? 'Your notification settings have been saved.'
            : undefined,
      paginationParams: buildPagination('/notifications', {}, query.page, pageCount),
      breadcrumbs: [{ href: '/', text: 'Home' }],
    });
  });

  app.post('/notifications/read', ownAccount, async (request, reply) => {
    const fields = formFields(request, ['id', 'page']);
    // Without an id, the form is "Mark all as read".
    const id = fields.id === '' ? undefined : fields.id;
    if (id !== undefined && !/^[0-9a-f-]{36}$/.test(id)) {
      throw new BadRequestError(['The "id" field must be a notification.']);
    }
    // The page the form was on, to go back to it rather than to the first.
    const page = pageNumber.safeParse(fields.page);
    if (!page.success) {
      throw new BadRequestError(['The "page" field must be a whole number from 1 upwards.']);
    }
    // Reading state is personal and not security-relevant, so it is not written to the audit log.
    await notifications.markRead(request.actor!, id ?? null);
    return reply.redirect(buildPageHref('/notifications', { done: 'read' }, page.data), 303);
  });

  // A notification is opened through a form, not a link, because opening it marks it read: a
  // state change, so it takes a POST with its CSRF token. It then goes on to what it is about.
  app.post<{ Params: { id: string } }>(
    '/notifications/:id/open',
    ownAccount,
    async (request, reply) => {
      const { id } = request.params;
      if (!/^[0-9a-f-]{36}$/.test(id)) throw new NotFoundError('That notification was not found.');
      const link = await notifications.open(request.actor!, id);
      if (link === undefined) throw new NotFoundError('That notification was not found.');
      return reply.redirect(link, 303);
    },
  );

  /** What the settings page shows: the frequency of each kind and the areas followed. */
  async function settingsContext(request: FastifyRequest) {
    const [preferences, areas] = await Promise.all([
      notifications.preferences(request.actor!),
      discussions.followedAreas(request.actor),
    ]);
    return {
      preferences,
      areas,
      frequencyOptions: frequencies.map((value) => ({ value, text: frequencyLabels[value] })),
      breadcrumbs: [
        { href: '/', text: 'Home' },
        { href: '/notifications', text: 'Notifications' },
      ],
    };
  }

  app.get('/notifications/settings', ownAccount, async (request, reply) => {
    return reply.render('notifications/views/settings.njk', await settingsContext(request));
  });

  app.post('/notifications/settings', ownAccount, async (request, reply) => {
    // One choice per kind (radios), and the areas of focus ticked (checkboxes, so a list).
    const kinds = Object.keys(notificationKinds) as NotificationKind[];
    const values = formFields(request, kinds);
    const areas = checkboxValues(request, 'areas');
    const choices: FrequencyChoices = {};
    const problems: string[] = [];
    for (const kind of kinds) {
      const value = values[kind];
      if (value === '') continue;
      if ((frequencies as string[]).includes(value)) choices[kind] = value as Frequency;
      else problems.push(`The "${kind}" field must be one of: ${frequencies.join(', ')}.`);
    }
    if (problems.length > 0) throw new BadRequestError(problems);
    await discussions.saveNotificationSettings(
      request.actor,
      { frequencies: choices, areas },
      requestContextOf(request),
    );
    return reply.redirect('/notifications?done=settings', 303);
  });

  app.get(
    '/notifications/unsubscribe',
    { config: { access: 'public' } },
    async (request, reply) => {
      const link = parseQuery(unsubscribeQuery, request.query);
      const outcome = await notifications.previewUnsubscribe(link);
      if (!outcome) {
        return reply.code(400).render('notifications/views/unsubscribe.njk', { valid: false });
      }
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(link)) if (value) params.set(name, value);
      return reply.render('notifications/views/unsubscribe.njk', {
        valid: true,
        kinds: outcome.kinds,
        digestName: outcome.digest ? digestNames[outcome.digest] : undefined,
        action: `/notifications/unsubscribe?${params.toString()}`,
      });
    },
  );

  // One-click unsubscribe (RFC 8058): mail programs POST to the address in the List-Unsubscribe
  // header, without a form or cookies. The signature in the address is the authority.
  app.post(
    '/notifications/unsubscribe',
    { config: { access: 'public', csrf: 'signed-link' } },
    async (request, reply) => {
      const link = parseQuery(unsubscribeQuery, request.query);
      const outcome = await notifications.unsubscribe(link, requestContextOf(request));
      if (!outcome) {
        return reply.code(400).render('notifications/views/unsubscribe.njk', { valid: false });
      }
      return reply.render('notifications/views/unsubscribe.njk', {
        valid: true,
        done: true,
        kinds: outcome.kinds,
        digestName: outcome.digest ? digestNames[outcome.digest] : undefined,
      });
    },
  );
}
