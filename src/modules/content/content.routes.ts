import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ValidationFailed } from '../../lib/validation.ts';
import type { Services } from '../../services.ts';
import { checkedText, formErrorContext, formFields } from '../../web/forms.ts';
import { BadRequestError, NotFoundError } from '../../web/http-errors.ts';
import { buildPageHref, buildPagination } from '../../web/pagination.ts';
import {
  optionalChoice,
  optionalCode,
  optionalDay,
  optionalText,
  pageNumber,
  parseQuery,
} from '../../web/query.ts';
import { requestContextOf } from '../../web/request-context.ts';
import { nationalAreasOfFocus } from '../areas-of-focus/area-of-focus.data.ts';
import { ForbiddenError, organisationScope } from '../access/policy.ts';
import { UploadRejected, type PendingUpload } from '../files/file.service.ts';
import { readMultipart } from '../files/multipart-uploads.ts';
import type { ContentFileRole } from '../../db/schema.ts';
import { commentPostedNotice } from '../discussions/notices.ts';
import { contentTypes, isContentType, type ContentType } from './content-types.ts';
import {
  authoringLimits,
  ContentChangedMeanwhile,
  fileDetailErrors,
  fileRolePurposes,
  privacyLabels,
  type ContentInput,
} from './content.service.ts';
import { buildAtomFeed, buildICalendar } from './feeds.ts';

const PAGE_SIZE = 20;
const EDITABLE_PAGE_SIZE = 50;
const publicRoute = { config: { access: 'public' as const } };
const contentEditor = {
  config: { access: 'signed-in' as const, audience: 'content-editor' as const },
};

const areaSlugs = nationalAreasOfFocus.map((area) => area.slug) as [string, ...string[]];
const listingFilters = {
  area: optionalChoice(areaSlugs),
  organisation: optionalCode(/^[A-Z0-9]{2,9}$/, 'an ODS code such as QK1'),
  // Tags are kept in lower case, so a filter typed "Inhalers" finds those tagged "inhalers".
  tag: optionalText(40).transform((value) => value?.toLowerCase()),
  from: optionalDay,
  to: optionalDay,
  page: pageNumber,
};
const listingQuery = z.object({
  ...listingFilters,
  when: optionalChoice(['upcoming', 'past'] as const),
});
const searchQuery = z.object({
  q: optionalText(200),
  type: optionalChoice(Object.keys(contentTypes) as [string, ...string[]]),
  ...listingFilters,
});

const contentFields = [
  'title',
  'summary',
  'body',
  'privacy',
  'workspaceId',
  'organisationCode',
  'organisationTags',
  'tags',
  'note',
  'action',
  'type',
  'revision',
] as const;
const detailFields = [
  'problem',
  'whatWasDone',
  'results',
  'tco2eSavedPerYear',
  'moneySavedPerYearGbp',
  'benefitToPeople',
  'contactName',
  'contactEmail',
  'speaker',
  'externalUrl',
  'transcript',
  'durationMinutes',
  'documentKind',
  'startsAt',
  'endsAt',
  'location',
  'onlineUrl',
] as const;

/** Each type's own fields, in the order form.njk shows them. */
const detailFieldsInFormOrder: Record<ContentType, readonly (typeof detailFields)[number][]> = {
  case_study: [
    'problem',
    'whatWasDone',
    'results',
    'benefitToPeople',
    'tco2eSavedPerYear',
    'moneySavedPerYearGbp',
    'contactName',
    'contactEmail',
  ],
  video: ['speaker', 'externalUrl', 'durationMinutes', 'transcript'],
  document: ['documentKind'],
  news: [],
  event: ['startsAt', 'endsAt', 'location', 'onlineUrl'],
  page: [],
};

/**
 * The authoring form's fields as the page lays them out, so that the error summary lists its
 * problems in the order the reader meets the fields.
 */
function formFieldOrder(type: ContentType): string[] {
  return [
    'title',
    'summary',
    ...detailFieldsInFormOrder[type].map((name) => `details-${name}`),
    'body',
    'organisationCode',
    'privacy',
    'workspaceId',
    'areas',
    'organisationTags',
    'tags',
    'note',
  ];
}

/**
 * Reads the authoring form through the shared checks (each text field once, no NUL), the areas of
 * focus as a list of checkboxes checked the same way.
 */
function readContentForm(request: FastifyRequest): {
  input: ContentInput;
  action: string;
  type: string;
  revision: string;
} {
  const fields = formFields(request, contentFields);
  const details: Record<string, string> = {};
  const sent = formFields(
    request,
    detailFields.map((name) => `details-${name}` as const),
  );
  for (const name of detailFields) details[name] = sent[`details-${name}`];
  const areasValue = ((request.body ?? {}) as Record<string, unknown>).areas;
  const areas = (
    areasValue === undefined ? [] : Array.isArray(areasValue) ? areasValue : [areasValue]
  ).map((value: unknown) => {
    if (typeof value !== 'string')
      throw new BadRequestError(['The "areas" field must be sent as text.']);
    return checkedText('areas', value, 'field');
  });
  return {
    action: fields.action,
    type: fields.type,
    revision: fields.revision,
    input: {
      title: fields.title,
      summary: fields.summary,
      body: fields.body,
      privacy: fields.privacy,
      workspaceId: fields.workspaceId,
      organisationCode: fields.organisationCode,
      areas,
      organisationTags: fields.organisationTags,
      tags: fields.tags,
      details,
      note: fields.note,
    },
  };
}

/** The revision an edit form was opened at, from its hidden field; the form always sends one. */
function openedRevisionOf(text: string): number {
  if (!/^\d{1,9}$/.test(text))
    throw new BadRequestError([
      'The "revision" field must be sent once, as the number of the revision the form was opened at.',
    ]);
  return Number(text);
}

/** The knowledge hub's pages: listings, items, search, feeds, downloads and authoring. */
export function registerContentRoutes(app: FastifyInstance, services: Services): void {
  const { content } = services;

  async function renderListing(request: FastifyRequest, reply: FastifyReply, type: ContentType) {
    const query = parseQuery(listingQuery, request.query);
    const { items, total } = await content.list(request.actor, {
      type,
      area: query.area,
      organisation: query.organisation,
      tag: query.tag,
      from: query.from,
      to: query.to,
      timing: type === 'event' ? (query.when ?? 'upcoming') : undefined,
      limit: PAGE_SIZE,
      offset: (query.page - 1) * PAGE_SIZE,
    });
    const pageCount = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const path = `/${contentTypes[type].path}`;
    const filters = {
      area: query.area,
      organisation: query.organisation,
      tag: query.tag,
      from: query.from,
      to: query.to,
      when: query.when,
    };
    return reply.code(query.page > pageCount ? 404 : 200).render('content/views/listing.njk', {
      type,
      typeInfo: contentTypes[type],
      items,
      total,
      query: filters,
      page: query.page,
      pageCount,
      areas: nationalAreasOfFocus,
      paginationParams: buildPagination(path, filters, query.page, pageCount),
      firstPageHref: buildPageHref(path, filters, 1),
      path,
      breadcrumbs: [{ href: '/', text: 'Home' }],
    });
  }

  for (const type of Object.keys(contentTypes) as ContentType[]) {
    if (type === 'page') continue;
    app.get(`/${contentTypes[type].path}`, publicRoute, async (request, reply) =>
      renderListing(request, reply, type),
    );
  }

  app.get('/news/feed.atom', publicRoute, async (_request, reply) => {
    // The feed is public: only public news, whoever asks, so it can be shared and cached.
    const { items } = await content.list(null, { type: 'news', limit: 50, offset: 0 });
    const base = services.config.publicUrl;
    const xml = buildAtomFeed(
      {
        id: `${base}/news`,
        title: 'Greenspace news',
        url: `${base}/news`,
        selfUrl: `${base}/news/feed.atom`,
        // The feed changed when its most recently changed entry did.
        updated:
          items
            .map((item) => item.updatedAt ?? item.publishedAt)
            .filter((at): at is string => at !== null)
            .sort()
            .at(-1) ?? new Date(0).toISOString(),
      },
      items.map((item) => ({
        id: `${base}${item.href}`,
        title: item.title,
        summary: item.summary,
        url: `${base}${item.href}`,
        published: item.publishedAt ?? new Date(0).toISOString(),
        updated: item.updatedAt ?? item.publishedAt ?? new Date(0).toISOString(),
        author: item.organisationName,
      })),
    );
    return reply.type('application/atom+xml; charset=utf-8').send(xml);
  });

  for (const type of Object.keys(contentTypes) as ContentType[]) {
    app.get<{ Params: { slug: string } }>(
      `/${contentTypes[type].path}/:slug`,
      publicRoute,
      async (request, reply) => {
        if (!/^[a-z0-9-]{1,100}$/.test(request.params.slug)) throw new NotFoundError();
        return renderContentItem(request, reply, services, type, request.params.slug);
      },
    );
  }

  app.get<{ Params: { slug: string } }>(
    '/events/:slug/event.ics',
    publicRoute,
    async (request, reply) => {
      if (!/^[a-z0-9-]{1,100}$/.test(request.params.slug)) throw new NotFoundError();
      const page = await content.getPage(request.actor, 'event', request.params.slug);
      const details = page.fields as {
        startsAt: string;
        endsAt: string;
        location: string;
        onlineUrl: string;
      };
      const base = services.config.publicUrl;
      const ics = buildICalendar({
        uid: `${page.item.id}@greenspace`,
        title: page.item.title,
        description: `${page.item.summary}\n\n${base}/events/${page.item.slug}`,
        startsAt: details.startsAt,
        endsAt: details.endsAt,
        location: details.location || details.onlineUrl,
        url: `${base}/events/${page.item.slug}`,
        stamp: page.item.updated_at,
      });
      if (ics === undefined)
        throw new NotFoundError('This event has no start time yet, so it has no calendar file.');
      return reply
        .type('text/calendar; charset=utf-8')
        .header('content-disposition', `attachment; filename="${page.item.slug}.ics"`)
        .send(ics);
    },
  );

  app.get<{ Params: { id: string; fileId: string } }>(
    '/content/:id/files/:fileId',
    publicRoute,
    async (request, reply) => {
      const { file, role } = await content.findFileForDownload(
        request.actor,
        request.params.id,
        request.params.fileId,
      );
      // Videos, captions and posters are shown in the page; documents are downloads.
      return services.files.sendFile(request, reply, file, {
        inline: role === 'video' || role === 'captions' || role === 'poster',
      });
    },
  );

  app.get<{ Params: { slug: string } }>(
    '/areas-of-focus/:slug',
    publicRoute,
    async (request, reply) => {
      const area = nationalAreasOfFocus.find((candidate) => candidate.slug === request.params.slug);
      if (!area) throw new NotFoundError();
      const query = parseQuery(z.object({ page: pageNumber }), request.query);
      const { items, total } = await content.list(request.actor, {
        area: area.slug,
        limit: PAGE_SIZE,
        offset: (query.page - 1) * PAGE_SIZE,
      });
      const pageCount = Math.max(1, Math.ceil(total / PAGE_SIZE));
      return reply.code(query.page > pageCount ? 404 : 200).render('content/views/area.njk', {
        area,
        items,
        total,
        paginationParams: buildPagination(
          `/areas-of-focus/${area.slug}`,
          {},
          query.page,
          pageCount,
        ),
        breadcrumbs: [
          { href: '/', text: 'Home' },
          { href: '/areas-of-focus', text: 'Areas of focus' },
        ],
      });
    },
  );

  app.get('/search', publicRoute, async (request, reply) => {
    const query = parseQuery(searchQuery, request.query);
    const filters = {
      type: query.type,
      area: query.area,
      organisation: query.organisation,
      tag: query.tag,
      from: query.from,
      to: query.to,
    };
    const unfiltered = Object.values(filters).every((value) => value === undefined);
    const page = { limit: PAGE_SIZE, offset: (query.page - 1) * PAGE_SIZE };
    // With no words but a filter (a tag link from a workspace page, which has no listing of its
    // own), the search lists everything the filters match, newest first.
    const browsing = !query.q && !unfiltered;
    const result = query.q
      ? await content.search(request.actor, query.q, filters, page)
      : browsing
        ? { words: [], ...(await content.list(request.actor, { ...filters, ...page })) }
        : { words: [], total: 0, items: [] };
    // Discussions match too, on the first page when no content filter narrows the search.
    const discussions =
      query.q && unfiltered && query.page === 1
        ? await services.discussions.searchThreads(request.actor, query.q)
        : [];
    const pageCount = Math.max(1, Math.ceil(result.total / PAGE_SIZE));
    const linkFilters = { q: query.q, ...filters };
    return reply.render('content/views/search.njk', {
      query: linkFilters,
      browsing,
      result,
      discussions,
      types: Object.entries(contentTypes).map(([value, info]) => ({ value, text: info.plural })),
      areas: nationalAreasOfFocus,
      paginationParams: buildPagination('/search', linkFilters, query.page, pageCount),
      breadcrumbs: [{ href: '/', text: 'Home' }],
    });
  });

  // --- authoring ---

  async function renderForm(
    request: FastifyRequest,
    reply: FastifyReply,
    context: Record<string, unknown>,
    status = 200,
  ) {
    // An edit form always offers the item's current owner and workspace, selected unless the
    // author changed them.
    const item = context.item as
      { organisation_code: string; workspace_id: string | null } | undefined;
    const options = await content.authoringOptions(request.actor!, {
      currentOwnerCode: item?.organisation_code,
      currentWorkspaceId: item?.workspace_id,
    });
    return reply.code(status).render('content/views/form.njk', {
      ...options,
      privacyLabels,
      limits: authoringLimits,
      breadcrumbs: [
        { href: '/', text: 'Home' },
        { href: '/content', text: 'Your content' },
      ],
      ...context,
    });
  }

  /** Authoring pages are for people who are an editor somewhere. */
  function requireSomewhereToPublish(request: FastifyRequest) {
    const scope = organisationScope(request.actor, 'organisation.edit_content');
    if (scope.kind === 'some' && scope.codes.length === 0)
      throw new ForbiddenError('Not an editor anywhere');
  }

  app.get('/content', contentEditor, async (request, reply) => {
    requireSomewhereToPublish(request);
    const { page } = parseQuery(z.object({ page: pageNumber }), request.query);
    const { items, total } = await content.listEditable(request.actor, {
      limit: EDITABLE_PAGE_SIZE,
      offset: (page - 1) * EDITABLE_PAGE_SIZE,
    });
    const pageCount = Math.max(1, Math.ceil(total / EDITABLE_PAGE_SIZE));
    if (page > pageCount)
      throw new NotFoundError(`Your content has ${pageCount} page${pageCount === 1 ? '' : 's'}.`);
    return reply.render('content/views/dashboard.njk', {
      total,
      paginationParams: buildPagination('/content', {}, page, pageCount),
      items: items.map((item) => ({
        ...item,
        typeLabel: isContentType(item.content_type)
          ? contentTypes[item.content_type].label
          : item.content_type,
      })),
      types: Object.entries(contentTypes).map(([value, info]) => ({ value, text: info.label })),
      breadcrumbs: [{ href: '/', text: 'Home' }],
    });
  });

  app.get<{ Querystring: { type?: string } }>(
    '/content/new',
    contentEditor,
    async (request, reply) => {
      requireSomewhereToPublish(request);
      const type =
        parseQuery(
          z.object({ type: optionalChoice(Object.keys(contentTypes) as [string, ...string[]]) }),
          request.query,
        ).type ?? 'case_study';
      const options = await content.authoringOptions(request.actor!);
      return renderForm(request, reply, {
        type,
        typeInfo: contentTypes[type as ContentType],
        values: {
          privacy: 'public',
          organisationCode: options.organisations[0]?.code,
          areas: [],
          details: {},
        },
        action: '/content',
      });
    },
  );

  app.post('/content', contentEditor, async (request, reply) => {
    requireSomewhereToPublish(request);
    const form = readContentForm(request);
    if (!isContentType(form.type))
      throw new BadRequestError(['The "type" field must be a kind of content.']);
    const type = form.type;
    // The form's one-time key stays with it through a preview or a refusal.
    const { submissionKey } = formFields(request, ['submissionKey']);
    if (form.action === 'preview') {
      return renderForm(request, reply, {
        type,
        typeInfo: contentTypes[type],
        values: { ...formValues(form.input), submissionKey },
        action: '/content',
        preview: content.preview(type, form.input),
      });
    }
    try {
      const item = await content.create(
        request.actor,
        type,
        form.input,
        requestContextOf(request),
        {
          submissionKey,
        },
      );
      return reply.redirect(`/content/${item.id}?saved=1`, 303);
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      return renderForm(
        request,
        reply,
        {
          type,
          typeInfo: contentTypes[type],
          values: { ...formValues(form.input), submissionKey },
          action: '/content',
          ...formErrorContext(error.fieldErrors, formFieldOrder(type)),
        },
        400,
      );
    }
  });

  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>(
    '/content/:id',
    contentEditor,
    async (request, reply) => {
      const page = await content.getForEditing(request.actor, request.params.id);
      const notices: Record<string, string> = {
        saved: 'Your changes have been saved.',
        published: 'Published.',
        unpublished: 'Unpublished: it is a draft again.',
        uploaded: 'The file has been added.',
      };
      const notice = Object.keys(notices).find((key) => request.query[key] === '1');
      return reply.render('content/views/manage.njk', {
        ...page,
        notice: notice ? notices[notice] : undefined,
        fileRoles: fileRolesFor(page.type),
        limits: authoringLimits,
        breadcrumbs: [
          { href: '/', text: 'Home' },
          { href: '/content', text: 'Your content' },
        ],
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/content/:id/edit',
    contentEditor,
    async (request, reply) => {
      const page = await content.getForEditing(request.actor, request.params.id);
      return renderForm(request, reply, {
        type: page.type,
        typeInfo: page.typeInfo,
        item: page.item,
        values: {
          title: page.item.title,
          summary: page.item.summary,
          body: page.item.body,
          privacy: page.item.privacy,
          workspaceId: page.item.workspace_id,
          organisationCode: page.item.organisation_code,
          areas: page.tags.areas.map((area) => area.slug),
          organisationTags: page.tags.organisations
            .map((organisation) => organisation.code)
            .join(', '),
          tags: page.tags.tags.join(', '),
          details: page.formFields,
        },
        openedRevision: page.item.revision,
        action: `/content/${page.item.id}`,
      });
    },
  );

  app.post<{ Params: { id: string } }>('/content/:id', contentEditor, async (request, reply) => {
    const page = await content.getForEditing(request.actor, request.params.id);
    const form = readContentForm(request);
    const openedRevision = openedRevisionOf(form.revision);
    // A preview or a refused save keeps the revision the form was opened at, so that a save made
    // after someone else's is still found.
    const context = {
      type: page.type,
      typeInfo: page.typeInfo,
      item: page.item,
      values: formValues(form.input),
      openedRevision,
      action: `/content/${page.item.id}`,
    };
    if (form.action === 'preview')
      return renderForm(request, reply, {
        ...context,
        preview: content.preview(page.type, form.input),
      });
    try {
      await content.update(request.actor, page.item.id, form.input, requestContextOf(request), {
        openedRevision,
      });
    } catch (error) {
      if (error instanceof ContentChangedMeanwhile) {
        // The form again with what was entered, now opened at the newer revision: the page says
        // what saving it would replace and links to what changed, so sent again it is taken.
        const current = (await content.getForEditing(request.actor, page.item.id)).item;
        return renderForm(
          request,
          reply,
          {
            ...context,
            item: current,
            openedRevision: current.revision,
            savedMeanwhile: {
              openedRevision: error.openedRevision,
              savedRevision: current.revision,
              compareHref:
                error.openedRevision < current.revision
                  ? `/content/${current.id}/revisions/compare?from=${error.openedRevision}&to=${current.revision}`
                  : undefined,
            },
            ...formErrorContext({
              'saved-meanwhile': `This ${page.typeInfo.label.toLowerCase()} was saved again after you opened this form. Nothing has been saved.`,
            }),
          },
          409,
        );
      }
      if (!(error instanceof ValidationFailed)) throw error;
      return renderForm(
        request,
        reply,
        { ...context, ...formErrorContext(error.fieldErrors, formFieldOrder(page.type)) },
        400,
      );
    }
    return reply.redirect(`/content/${page.item.id}?saved=1`, 303);
  });

  for (const [path, operation] of [
    ['publish', 'published'],
    ['unpublish', 'unpublished'],
  ] as const) {
    app.post<{ Params: { id: string } }>(
      `/content/:id/${path}`,
      contentEditor,
      async (request, reply) => {
        try {
          if (path === 'publish')
            await content.publish(request.actor, request.params.id, requestContextOf(request));
          else await content.unpublish(request.actor, request.params.id, requestContextOf(request));
        } catch (error) {
          if (!(error instanceof ValidationFailed)) throw error;
          const page = await content.getForEditing(request.actor, request.params.id);
          return reply.code(400).render('content/views/manage.njk', {
            ...page,
            fileRoles: fileRolesFor(page.type),
            limits: authoringLimits,
            ...formErrorContext(error.fieldErrors),
            breadcrumbs: [
              { href: '/', text: 'Home' },
              { href: '/content', text: 'Your content' },
            ],
          });
        }
        return reply.redirect(`/content/${request.params.id}?${operation}=1`, 303);
      },
    );
  }

  app.post<{ Params: { id: string } }>(
    '/content/:id/files',
    contentEditor,
    async (request, reply) => {
      const page = await content.getForEditing(request.actor, request.params.id);
      const roles = fileRolesFor(page.type);
      const problems: Record<string, string> = {};
      let upload: PendingUpload | undefined;
      let fileSent = false;
      let fields: Record<string, string>;
      try {
        fields = await readMultipart(request, async (part) => {
          fileSent = true;
          if (upload || problems.role || problems.file) {
            part.file.resume();
            if (upload) problems.file = 'Select one file';
            return;
          }
          // What kind of file it is decides how it is checked, so the form sends the role first;
          // the shared reader has already refused it sent twice or holding a NUL.
          const sentRole = part.fields.role;
          const role =
            sentRole && !Array.isArray(sentRole) && sentRole.type === 'field'
              ? String(sentRole.value)
              : '';
          const chosen = roles.find((option) => option.value === role);
          if (!chosen) {
            part.file.resume();
            problems.role = 'Choose what kind of file this is';
            return;
          }
          try {
            upload = await services.files.receiveUpload(
              part.file,
              fileRolePurposes[chosen.value],
              part.filename,
            );
          } catch (error) {
            if (!(error instanceof UploadRejected)) throw error;
            problems.file = error.message;
          }
        });
      } catch (error) {
        if (upload) await services.files.discardUpload(upload);
        throw error;
      }
      const values = {
        role: fields.role ?? '',
        title: fields.title ?? '',
        note: fields.note ?? '',
      };
      if (!problems.role && !roles.some((option) => option.value === values.role))
        problems.role = 'Choose what kind of file this is';
      if (!fileSent) problems.file = 'Select a file';
      Object.assign(problems, fileDetailErrors(values.title, values.note));
      if (Object.keys(problems).length === 0 && upload) {
        try {
          await content.attachFile(
            request.actor,
            page.item.id,
            values.role as ContentFileRole,
            upload,
            values.title,
            values.note,
            requestContextOf(request),
          );
          return reply.redirect(`/content/${page.item.id}?uploaded=1`, 303);
        } catch (error) {
          // The service has removed the upload.
          if (!(error instanceof ValidationFailed)) throw error;
          Object.assign(problems, error.fieldErrors);
        }
      } else if (upload) {
        await services.files.discardUpload(upload);
      }
      return reply.code(400).render('content/views/manage.njk', {
        ...page,
        fileRoles: roles,
        uploadValues: values,
        limits: authoringLimits,
        ...formErrorContext(problems, ['role', 'file-title', 'file-note', 'file']),
        breadcrumbs: [
          { href: '/', text: 'Home' },
          { href: '/content', text: 'Your content' },
        ],
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/content/:id/revisions',
    contentEditor,
    async (request, reply) => {
      const { item, revisions } = await content.listRevisions(request.actor, request.params.id);
      return reply.render('content/views/revisions.njk', {
        item,
        revisions,
        breadcrumbs: [
          { href: '/', text: 'Home' },
          { href: '/content', text: 'Your content' },
          { href: `/content/${item.id}`, text: item.title },
        ],
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/content/:id/revisions/compare',
    contentEditor,
    async (request, reply) => {
      // Who may see the revisions is decided before what the address asks for is looked at.
      await content.listRevisions(request.actor, request.params.id);
      const revisionNumber = z
        .string({ error: 'must be given once' })
        .regex(/^\d{1,6}$/, 'must be a revision number')
        .transform(Number);
      const query = parseQuery(
        z.object({ from: revisionNumber, to: revisionNumber }),
        request.query,
      );
      const comparison = await content.compareRevisions(
        request.actor,
        request.params.id,
        query.from,
        query.to,
      );
      return reply.render('content/views/compare.njk', {
        ...comparison,
        breadcrumbs: [
          { href: '/', text: 'Home' },
          { href: '/content', text: 'Your content' },
          { href: `/content/${comparison.item.id}`, text: comparison.item.title },
          { href: `/content/${comparison.item.id}/revisions`, text: 'Revisions' },
        ],
      });
    },
  );
}

/** Content people can comment on, with the same posts as a workspace's discussions. */
const commentableTypes: ReadonlySet<ContentType> = new Set([
  'case_study',
  'video',
  'news',
  'document',
]);

/**
 * A content item's page, with its comments. Also used to show the page again with the problem
 * when a comment could not be posted.
 */
export async function renderContentItem(
  request: FastifyRequest,
  reply: FastifyReply,
  services: Services,
  type: ContentType,
  slug: string,
  context: Record<string, unknown> = {},
  status = 200,
) {
  const page = await services.content.getPage(request.actor, type, slug);
  const query = (request.query ?? {}) as Record<string, unknown>;
  const comments = commentableTypes.has(type)
    ? await services.discussions.commentsFor(request.actor, 'content', page.item.id)
    : undefined;
  const quoted =
    comments && typeof query.quote === 'string'
      ? comments.posts.find((post) => post.id === query.quote && !post.hidden)
      : undefined;
  return reply.code(status).render('content/views/item.njk', {
    ...page,
    comments,
    quoted,
    ...commentPostedNotice(query.done),
    pageTitle: page.item.title,
    breadcrumbs: [
      { href: '/', text: 'Home' },
      ...(type === 'page'
        ? []
        : [{ href: `/${contentTypes[type].path}`, text: contentTypes[type].plural }]),
    ],
    ...context,
  });
}

function formValues(input: ContentInput) {
  return { ...input, details: input.details };
}

function fileRolesFor(type: ContentType): { value: ContentFileRole; text: string }[] {
  const attachment = {
    value: 'attachment' as const,
    text: 'A document to go with it (PDF or Office file)',
  };
  switch (type) {
    case 'document':
      return [
        { value: 'document_version', text: 'A new version of the document (PDF or Office file)' },
        attachment,
      ];
    case 'video':
      return [
        { value: 'video', text: 'The video (MP4 or WebM)' },
        { value: 'captions', text: 'Captions (WebVTT)' },
        { value: 'poster', text: 'Poster image (PNG, JPEG, GIF or WebP)' },
        attachment,
      ];
    default:
      return [attachment];
  }
}
