import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ValidationFailed } from '../../lib/validation.ts';
import type { Services } from '../../services.ts';
import { formErrorContext, formFields } from '../../web/forms.ts';
import { NotFoundError } from '../../web/http-errors.ts';
import { buildPagination } from '../../web/pagination.ts';
import { optionalText, pageNumber, parseQuery } from '../../web/query.ts';
import { requestContextOf } from '../../web/request-context.ts';
import { nationalAreasOfFocus } from '../areas-of-focus/area-of-focus.data.ts';
import { isContentType } from '../content/content-types.ts';
import { renderContentItem } from '../content/content.routes.ts';
import { renderMarkdown } from '../content/markdown.ts';
import { linkMentions, MAX_MENTIONS_NOTIFIED, mentionsToNotify, postedDone } from './mentions.ts';
import { discussionNotice } from './notices.ts';

const THREADS_PER_PAGE = 20;
const publicRoute = { config: { access: 'public' as const } };
const anyUser = { config: { access: 'signed-in' as const, audience: 'any-user' as const } };
const author = { config: { access: 'signed-in' as const, audience: 'self' as const } };
const workspaceMember = {
  config: { access: 'signed-in' as const, audience: 'workspace-member' as const },
};
const workspaceManager = {
  config: { access: 'signed-in' as const, audience: 'workspace-manager' as const },
};

type SlugParams = { Params: { slug: string } };
type ThreadParams = { Params: { slug: string; threadId: string } };
type PostParams = { Params: { postId: string } };

const privacyLabels = {
  open: 'Open: anyone can read it; anyone signed in can join',
  restricted: 'Restricted: members only; anyone signed in can ask to join',
  private: 'Private: members only, by invitation; hidden from everyone else',
} as const;

function noticeOf(request: FastifyRequest): string | undefined {
  return discussionNotice((request.query as Record<string, unknown> | undefined)?.done);
}

/** What a preview shows of a post: the text as it will look, and whether mentions will be left out. */
function previewOf(body: string) {
  return {
    previewHtml: renderMarkdown(linkMentions(body)),
    mentionsLeftOut: mentionsToNotify(body).leftOut,
    maxMentions: MAX_MENTIONS_NOTIFIED,
  };
}

/**
 * The moderation queue a decision was made from, to go back to: only a queue's own path is taken,
 * so the field cannot send a moderator elsewhere.
 */
function queueToReturnTo(value: string | undefined): string | undefined {
  return value && /^\/(?:admin|workspaces\/[a-z0-9-]{1,100})\/moderation$/.test(value)
    ? value
    : undefined;
}

/**
 * Where a moderator's decision on a post lands: the queue it was made from, for the next report,
 * or else the post itself; with the notice saying what was done.
 */
function redirectAfterDecision(reply: FastifyReply, link: string, done: string, from: string) {
  const queue = queueToReturnTo(from);
  return reply.redirect(queue ? `${queue}?done=${done}` : link.replace('#', `?done=${done}#`), 303);
}

/** Whether a form's yes/no field says yes. */
function isYes(value: string): boolean {
  return value === '1' || value === 'true' || value === 'yes';
}

/**
 * Workspaces and their forums, comments on content, moderation and people's profiles. Pages
 * parse and render; every rule (who may read, post, moderate) lives in the discussion service.
 */
export function registerDiscussionRoutes(app: FastifyInstance, services: Services): void {
  const { discussions } = services;

  app.get('/workspaces', publicRoute, async (request, reply) => {
    const workspaces = await discussions.listWorkspaces(request.actor);
    return reply.render('discussions/views/workspaces.njk', {
      workspaces: workspaces.map((workspace) => ({
        ...workspace,
        privacyLabel: privacyLabels[workspace.privacy],
      })),
      breadcrumbs: [{ href: '/', text: 'Home' }],
    });
  });

  async function renderWorkspace(
    request: FastifyRequest<SlugParams>,
    reply: FastifyReply,
    context: Record<string, unknown> = {},
    status = 200,
  ) {
    const query = parseQuery(z.object({ page: pageNumber }), request.query);
    const page = await discussions.workspacePage(
      request.actor,
      request.params.slug,
      query.page,
      THREADS_PER_PAGE,
    );
    const pageCount = Math.max(1, Math.ceil(page.total / THREADS_PER_PAGE));
    if (query.page > pageCount) throw new NotFoundError();
    return reply.code(status).render('discussions/views/workspace.njk', {
      ...page,
      descriptionHtml: renderMarkdown(page.workspace.description),
      privacyLabel: privacyLabels[page.workspace.privacy],
      notice: noticeOf(request),
      paginationParams: buildPagination(
        `/workspaces/${page.workspace.slug}`,
        {},
        query.page,
        pageCount,
      ),
      breadcrumbs: [
        { href: '/', text: 'Home' },
        { href: '/workspaces', text: 'Workspaces' },
      ],
      ...context,
    });
  }

  app.get<SlugParams>('/workspaces/:slug', publicRoute, async (request, reply) =>
    renderWorkspace(request, reply),
  );

  // Refused for a reason (the only manager leaving, asking twice), the workspace's page says why
  // beside the button, or where the pending request is shown.
  for (const [path, operation, done, options] of [
    ['join', 'join', 'joined', anyUser],
    ['request', 'requestToJoin', 'requested', anyUser],
  ] as const) {
    app.post<SlugParams>(`/workspaces/:slug/${path}`, options, async (request, reply) => {
      try {
        await discussions[operation](request.actor, request.params.slug, requestContextOf(request));
      } catch (error) {
        if (!(error instanceof ValidationFailed)) throw error;
        return renderWorkspace(request, reply, formErrorContext(error.fieldErrors), 400);
      }
      return reply.redirect(`/workspaces/${request.params.slug}?done=${done}`, 303);
    });
  }

  // Leaving is confirmed on a page of its own, which says how to come back (for a private
  // workspace, only by a new invitation) and, for the only manager, why they cannot leave yet.
  async function renderLeaving(
    request: FastifyRequest<SlugParams>,
    reply: FastifyReply,
    context: Record<string, unknown> = {},
    status = 200,
  ) {
    const leaving = await discussions.getLeaving(request.actor, request.params.slug);
    return reply.code(status).render('discussions/views/leave.njk', {
      ...leaving,
      breadcrumbs: [
        { href: '/', text: 'Home' },
        { href: '/workspaces', text: 'Workspaces' },
        { href: `/workspaces/${leaving.workspace.slug}`, text: leaving.workspace.name },
      ],
      ...context,
    });
  }

  app.get<SlugParams>('/workspaces/:slug/leave', workspaceMember, async (request, reply) =>
    renderLeaving(request, reply),
  );

  app.post<SlugParams>('/workspaces/:slug/leave', workspaceMember, async (request, reply) => {
    try {
      await discussions.leave(request.actor, request.params.slug, requestContextOf(request));
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      return renderLeaving(request, reply, formErrorContext(error.fieldErrors), 400);
    }
    return reply.redirect(`/workspaces/${request.params.slug}?done=left`, 303);
  });

  app.get<SlugParams>('/workspaces/:slug/members', workspaceMember, async (request, reply) => {
    const page = await discussions.workspaceMembers(request.actor, request.params.slug);
    return renderMembers(request, reply, page);
  });

  async function renderMembers(
    request: FastifyRequest,
    reply: FastifyReply,
    page: Awaited<ReturnType<typeof discussions.workspaceMembers>>,
    context: Record<string, unknown> = {},
    status = 200,
  ) {
    return reply.code(status).render('discussions/views/members.njk', {
      ...page,
      notice: noticeOf(request),
      breadcrumbs: [
        { href: '/', text: 'Home' },
        { href: '/workspaces', text: 'Workspaces' },
        { href: `/workspaces/${page.workspace.slug}`, text: page.workspace.name },
      ],
      ...context,
    });
  }

  /**
   * A manager's change on the members page: done, back to the page with a notice; refused for a
   * reason, the page again with the reason beside the field.
   */
  async function changeMembers(
    request: FastifyRequest<SlugParams>,
    reply: FastifyReply,
    change: () => Promise<void>,
    done: string,
    options: { values?: Record<string, string>; fieldIds?: Record<string, string> } = {},
  ) {
    try {
      await change();
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      const page = await discussions.workspaceMembers(request.actor, request.params.slug);
      // A field that appears once per row is named after its row on the page.
      const fieldErrors = Object.fromEntries(
        Object.entries(error.fieldErrors).map(([field, message]) => [
          options.fieldIds?.[field] ?? field,
          message,
        ]),
      );
      return renderMembers(
        request,
        reply,
        page,
        { ...formErrorContext(fieldErrors), values: options.values ?? {} },
        400,
      );
    }
    return reply.redirect(`/workspaces/${request.params.slug}/members?done=${done}`, 303);
  }

  app.post<{ Params: { slug: string; workspaceRequestId: string } }>(
    '/workspaces/:slug/requests/:workspaceRequestId',
    workspaceManager,
    async (request, reply) => {
      const fields = formFields(request, ['decision']);
      return changeMembers(
        request,
        reply,
        () =>
          discussions.decideRequest(
            request.actor,
            request.params.slug,
            request.params.workspaceRequestId,
            fields.decision,
            requestContextOf(request),
          ),
        'decided',
      );
    },
  );

  app.post<SlugParams>(
    '/workspaces/:slug/invitations',
    workspaceManager,
    async (request, reply) => {
      const fields = formFields(request, ['email']);
      return changeMembers(
        request,
        reply,
        () =>
          discussions.invite(
            request.actor,
            request.params.slug,
            fields.email,
            requestContextOf(request),
          ),
        'invited',
        { values: fields },
      );
    },
  );

  app.post<{ Params: { slug: string; userId: string } }>(
    '/workspaces/:slug/members/:userId/role',
    workspaceManager,
    async (request, reply) => {
      const fields = formFields(request, ['role']);
      return changeMembers(
        request,
        reply,
        () =>
          discussions.setMemberRole(
            request.actor,
            request.params.slug,
            request.params.userId,
            fields.role,
            requestContextOf(request),
          ),
        'role',
        { fieldIds: { role: `role-${request.params.userId}` } },
      );
    },
  );

  async function renderSettings(
    request: FastifyRequest<SlugParams>,
    reply: FastifyReply,
    context: Record<string, unknown>,
    status = 200,
  ) {
    const workspace = await discussions.workspaceFor(
      request.actor,
      request.params.slug,
      'workspace.manage',
    );
    return reply.code(status).render('discussions/views/settings.njk', {
      workspace,
      privacyOptions: Object.entries(privacyLabels).map(([value, text]) => ({ value, text })),
      values: { description: workspace.description, privacy: workspace.privacy },
      breadcrumbs: [
        { href: '/', text: 'Home' },
        { href: '/workspaces', text: 'Workspaces' },
        { href: `/workspaces/${workspace.slug}`, text: workspace.name },
      ],
      ...context,
    });
  }

  app.get<SlugParams>('/workspaces/:slug/settings', workspaceManager, async (request, reply) =>
    renderSettings(request, reply, {}),
  );

  app.post<SlugParams>('/workspaces/:slug/settings', workspaceManager, async (request, reply) => {
    const fields = formFields(request, ['description', 'privacy']);
    try {
      await discussions.updateSettings(
        request.actor,
        request.params.slug,
        fields,
        requestContextOf(request),
      );
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      return renderSettings(
        request,
        reply,
        { values: fields, ...formErrorContext(error.fieldErrors, ['description', 'privacy']) },
        400,
      );
    }
    return reply.redirect(`/workspaces/${request.params.slug}?done=settings`, 303);
  });

  app.get<SlugParams>('/workspaces/:slug/invitation', publicRoute, async (request, reply) => {
    const query = parseQuery(
      z.object({ token: optionalText(200), email: optionalText(320) }),
      request.query,
    );
    const token = query.token ?? '';
    const email = query.email ?? '';
    const workspace = await discussions.invitationWorkspace(
      request.actor,
      request.params.slug,
      token,
      email,
    );
    return reply.render('discussions/views/invitation.njk', {
      workspace,
      token,
      email,
      returnTo: request.url,
    });
  });

  app.post<SlugParams>('/workspaces/:slug/invitation', anyUser, async (request, reply) => {
    const fields = formFields(request, ['token', 'email']);
    try {
      await discussions.acceptInvitation(
        request.actor,
        request.params.slug,
        fields.token,
        fields.email,
        requestContextOf(request),
      );
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      // Why a link failed is said only where the page may name the workspace.
      const workspace = await discussions.invitationWorkspace(
        request.actor,
        request.params.slug,
        fields.token,
        fields.email,
      );
      return reply.code(400).render('discussions/views/invitation.njk', {
        workspace,
        problem: Object.values(error.fieldErrors)[0],
        // The page says what is wrong as its main text, not beside a field: its title says so too.
        pageError: true,
      });
    }
    return reply.redirect(`/workspaces/${request.params.slug}?done=accepted`, 303);
  });

  // --- threads ---

  async function renderNewThread(
    request: FastifyRequest<SlugParams>,
    reply: FastifyReply,
    context: Record<string, unknown>,
    status = 200,
  ) {
    const workspace = await discussions.workspaceFor(
      request.actor,
      request.params.slug,
      'workspace.post',
    );
    return reply.code(status).render('discussions/views/new-thread.njk', {
      workspace,
      areas: nationalAreasOfFocus,
      values: { kind: 'question' },
      breadcrumbs: [
        { href: '/', text: 'Home' },
        { href: '/workspaces', text: 'Workspaces' },
        { href: `/workspaces/${workspace.slug}`, text: workspace.name },
      ],
      ...context,
    });
  }

  app.get<SlugParams>('/workspaces/:slug/threads/new', workspaceMember, async (request, reply) =>
    renderNewThread(request, reply, {}),
  );

  app.post<SlugParams>('/workspaces/:slug/threads', workspaceMember, async (request, reply) => {
    const fields = formFields(request, [
      'title',
      'kind',
      'body',
      'area',
      'action',
      'submissionKey',
    ]);
    if (fields.action === 'preview') {
      return renderNewThread(request, reply, { values: fields, ...previewOf(fields.body) });
    }
    try {
      const created = await discussions.createThread(
        request.actor,
        request.params.slug,
        fields,
        requestContextOf(request),
      );
      return reply.redirect(
        `/workspaces/${request.params.slug}/threads/${created.threadId}?done=${postedDone(created)}`,
        303,
      );
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      return renderNewThread(
        request,
        reply,
        {
          values: fields,
          ...formErrorContext(error.fieldErrors, ['title', 'kind', 'area', 'body']),
        },
        400,
      );
    }
  });

  async function renderThread(
    request: FastifyRequest<ThreadParams>,
    reply: FastifyReply,
    context: Record<string, unknown> = {},
    status = 200,
  ) {
    const query = parseQuery(
      z.object({ quote: optionalText(36), done: optionalText(40) }),
      request.query,
    );
    const page = await discussions.threadPage(
      request.actor,
      request.params.slug,
      request.params.threadId,
    );
    const quoted = query.quote
      ? page.posts.find((post) => post.id === query.quote && !post.hidden)
      : undefined;
    return reply.code(status).render('discussions/views/thread.njk', {
      ...page,
      pageTitle: page.thread.title,
      quoted,
      notice: noticeOf(request),
      breadcrumbs: [
        { href: '/', text: 'Home' },
        { href: '/workspaces', text: 'Workspaces' },
        { href: `/workspaces/${page.workspace.slug}`, text: page.workspace.name },
      ],
      ...context,
    });
  }

  app.get<ThreadParams>(
    '/workspaces/:slug/threads/:threadId',
    publicRoute,
    async (request, reply) => renderThread(request, reply),
  );

  app.post<ThreadParams>(
    '/workspaces/:slug/threads/:threadId/replies',
    workspaceMember,
    async (request, reply) => {
      const fields = formFields(request, ['body', 'quotedPostId', 'action', 'submissionKey']);
      if (fields.action === 'preview') {
        return renderThread(request, reply, { values: fields, ...previewOf(fields.body) });
      }
      try {
        const posted = await discussions.reply(
          request.actor,
          { threadSlug: request.params.slug, threadId: request.params.threadId },
          {
            body: fields.body,
            quotedPostId: fields.quotedPostId || undefined,
            submissionKey: fields.submissionKey,
          },
          requestContextOf(request),
        );
        return reply.redirect(posted.link.replace('#', `?done=${postedDone(posted)}#`), 303);
      } catch (error) {
        if (!(error instanceof ValidationFailed)) throw error;
        return renderThread(
          request,
          reply,
          { values: fields, ...formErrorContext(error.fieldErrors, ['body']) },
          400,
        );
      }
    },
  );

  app.post<ThreadParams>(
    '/workspaces/:slug/threads/:threadId/accepted-answer',
    workspaceMember,
    async (request, reply) => {
      const fields = formFields(request, ['postId', 'accept']);
      try {
        await discussions.acceptAnswer(
          request.actor,
          request.params.slug,
          request.params.threadId,
          fields.postId,
          fields.accept,
          requestContextOf(request),
        );
      } catch (error) {
        if (!(error instanceof ValidationFailed)) throw error;
        return renderThread(request, reply, formErrorContext(error.fieldErrors), 400);
      }
      return reply.redirect(
        `/workspaces/${request.params.slug}/threads/${request.params.threadId}#post-${fields.postId}`,
        303,
      );
    },
  );

  app.post<ThreadParams>(
    '/workspaces/:slug/threads/:threadId/moderation',
    workspaceManager,
    async (request, reply) => {
      const fields = formFields(request, ['flag', 'value']);
      let done: string;
      try {
        const { changed } = await discussions.setThreadFlag(
          request.actor,
          request.params.slug,
          request.params.threadId,
          fields.flag,
          fields.value,
          requestContextOf(request),
        );
        // Only hiding or restoring a discussion tells its author.
        done = !changed
          ? 'thread-unchanged'
          : fields.flag === 'hidden'
            ? 'moderated'
            : 'thread-changed';
      } catch (error) {
        if (!(error instanceof ValidationFailed)) throw error;
        return renderThread(request, reply, formErrorContext(error.fieldErrors), 400);
      }
      return reply.redirect(
        `/workspaces/${request.params.slug}/threads/${request.params.threadId}?done=${done}`,
        303,
      );
    },
  );

  app.get<SlugParams>('/workspaces/:slug/moderation', workspaceManager, async (request, reply) => {
    const queue = await discussions.moderationQueue(request.actor, request.params.slug);
    return reply.render('discussions/views/moderation.njk', {
      ...queue,
      notice: noticeOf(request),
      breadcrumbs: [
        { href: '/', text: 'Home' },
        { href: '/workspaces', text: 'Workspaces' },
        { href: `/workspaces/${queue.workspace.slug}`, text: queue.workspace.name },
      ],
    });
  });

  app.get(
    '/admin/moderation',
    { config: { access: 'signed-in', audience: 'platform-admin' } },
    async (request, reply) => {
      const queue = await discussions.moderationQueueAll(request.actor);
      return reply.render('discussions/views/moderation.njk', {
        ...queue,
        notice: noticeOf(request),
        breadcrumbs: [
          { href: '/', text: 'Home' },
          { href: '/admin', text: 'Admin' },
        ],
      });
    },
  );

  // --- following ---

  app.post('/follows', anyUser, async (request, reply) => {
    const fields = formFields(request, ['type', 'id', 'follow', 'returnTo']);
    if (fields.type !== 'conversation' && fields.type !== 'area' && fields.type !== 'workspace') {
      throw new NotFoundError();
    }
    const follow = isYes(fields.follow);
    await discussions.setFollowing(request.actor, { type: fields.type, id: fields.id }, follow);
    // Only a local path is a place to return to.
    const back = /^\/(?![/\\])[\x21-\x7e]*$/.test(fields.returnTo) ? fields.returnTo : '/';
    const [path, anchor] = back.split('#');
    const separator = path!.includes('?') ? '&' : '?';
    return reply.redirect(
      `${path}${separator}done=${follow ? 'followed' : 'unfollowed'}${anchor ? `#${anchor}` : ''}`,
      303,
    );
  });

  // --- posts ---

  app.get<PostParams>('/posts/:postId/edit', author, async (request, reply) => {
    const post = await discussions.postForEditing(request.actor, request.params.postId);
    return reply.render('discussions/views/edit-post.njk', { post, values: { body: post.body } });
  });

  app.post<PostParams>('/posts/:postId/edit', author, async (request, reply) => {
    const fields = formFields(request, ['body', 'action']);
    const post = await discussions.postForEditing(request.actor, request.params.postId);
    if (fields.action === 'preview') {
      return reply.render('discussions/views/edit-post.njk', {
        post,
        values: fields,
        previewHtml: renderMarkdown(linkMentions(fields.body)),
      });
    }
    try {
      const link = await discussions.editPost(
        request.actor,
        request.params.postId,
        fields.body,
        requestContextOf(request),
      );
      return reply.redirect(link.replace('#', '?done=edited#'), 303);
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      return reply.code(400).render('discussions/views/edit-post.njk', {
        post,
        values: fields,
        ...formErrorContext(error.fieldErrors, ['body']),
      });
    }
  });

  app.get<PostParams>('/posts/:postId/history', publicRoute, async (request, reply) => {
    const history = await discussions.postHistory(request.actor, request.params.postId);
    return reply.render('discussions/views/post-history.njk', history);
  });

  app.post<PostParams>('/posts/:postId/useful', anyUser, async (request, reply) => {
    const fields = formFields(request, ['useful']);
    const link = await discussions.setUseful(
      request.actor,
      request.params.postId,
      fields.useful,
      requestContextOf(request),
    );
    return reply.redirect(link, 303);
  });

  app.get<PostParams>('/posts/:postId/report', anyUser, async (request, reply) => {
    const post = await discussions.postForReporting(request.actor, request.params.postId);
    return reply.render('discussions/views/report.njk', { post, values: {} });
  });

  app.post<PostParams>('/posts/:postId/report', anyUser, async (request, reply) => {
    const fields = formFields(request, ['reason']);
    try {
      const link = await discussions.report(
        request.actor,
        request.params.postId,
        fields.reason,
        requestContextOf(request),
      );
      return reply.redirect(link.replace('#', '?done=reported#'), 303);
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      const post = await discussions.postForReporting(request.actor, request.params.postId);
      return reply.code(400).render('discussions/views/report.njk', {
        post,
        values: fields,
        ...formErrorContext(error.fieldErrors, ['reason']),
      });
    }
  });

  // Hiding asks the moderator why, on a page of its own: the reason is what the author is told.
  app.get<PostParams>('/posts/:postId/hide', workspaceManager, async (request, reply) => {
    const post = await discussions.postForHiding(request.actor, request.params.postId);
    const query = parseQuery(z.object({ from: optionalText(200) }), request.query);
    return reply.render('discussions/views/hide-post.njk', {
      post,
      values: { from: queueToReturnTo(query.from) },
    });
  });

  app.post<PostParams>('/posts/:postId/visibility', workspaceManager, async (request, reply) => {
    const fields = formFields(request, ['hidden', 'reason', 'from']);
    try {
      const hidden = isYes(fields.hidden);
      const { link, changed } = await discussions.setPostHidden(
        request.actor,
        request.params.postId,
        hidden,
        fields.reason,
        requestContextOf(request),
      );
      const done = changed ? 'moderated' : hidden ? 'already-hidden' : 'already-visible';
      return redirectAfterDecision(reply, link, done, fields.from);
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      const post = await discussions.postForHiding(request.actor, request.params.postId);
      return reply.code(400).render('discussions/views/hide-post.njk', {
        post,
        values: { ...fields, from: queueToReturnTo(fields.from) },
        ...formErrorContext(error.fieldErrors, ['reason']),
      });
    }
  });

  // "Keep" in a queue, and closing the report on a post already hidden: the reports close and the
  // post stays as it is now, whatever the page showed when it was read.
  app.post<PostParams>('/posts/:postId/reports/close', workspaceManager, async (request, reply) => {
    const fields = formFields(request, ['from']);
    const { link, closedReports, hidden } = await discussions.closeReportsOfPost(
      request.actor,
      request.params.postId,
      requestContextOf(request),
    );
    const done =
      closedReports > 0 ? 'dismissed' : hidden ? 'no-open-reports-hidden' : 'no-open-reports';
    return redirectAfterDecision(reply, link, done, fields.from);
  });

  // --- comments on content ---

  app.post<{ Params: { id: string } }>('/content/:id/comments', anyUser, async (request, reply) => {
    const fields = formFields(request, ['body', 'quotedPostId', 'submissionKey']);
    try {
      const posted = await discussions.reply(
        request.actor,
        { subject: 'content', id: request.params.id },
        {
          body: fields.body,
          quotedPostId: fields.quotedPostId || undefined,
          submissionKey: fields.submissionKey,
        },
        requestContextOf(request),
      );
      return reply.redirect(posted.link.replace('#', `?done=${postedDone(posted)}#`), 303);
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      const item = await services.content.findById(request.params.id);
      if (!item || !isContentType(item.content_type)) throw new NotFoundError();
      return renderContentItem(
        request,
        reply,
        services,
        item.content_type,
        item.slug,
        { values: fields, ...formErrorContext(error.fieldErrors, ['body']) },
        400,
      );
    }
  });

  // --- people ---

  app.get<{ Params: { handle: string } }>(
    '/people/:handle',
    publicRoute,
    async (request, reply) => {
      const profile = await discussions.profile(request.actor, request.params.handle);
      return reply.render('discussions/views/profile.njk', {
        profile,
        breadcrumbs: [{ href: '/', text: 'Home' }],
      });
    },
  );
}
