import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ValidationFailed } from '../../lib/validation.ts';
import type { Services } from '../../services.ts';
import { formErrorContext, formFields } from '../../web/forms.ts';
import { NotFoundError } from '../../web/http-errors.ts';
import { requestContextOf } from '../../web/request-context.ts';
import { roleDefinitions } from '../access/roles.ts';

type CodeParams = { Params: { code: string } };
type MemberParams = { Params: { code: string; userId: string } };
type RequestParams = { Params: { code: string; requestId: string } };
type InvitationParams = { Params: { code: string; invitationId: string } };

const anyUser = { config: { access: 'signed-in' as const, audience: 'any-user' as const } };
const organisationMember = {
  config: { access: 'signed-in' as const, audience: 'organisation-member' as const },
};
const organisationAdmin = {
  config: { access: 'signed-in' as const, audience: 'organisation-admin' as const },
};
const codePattern = /^[A-Z0-9]{2,9}$/;
const idPattern = /^[0-9a-f-]{36}$/;

function checkCode(code: string): string {
  if (!codePattern.test(code)) throw new NotFoundError();
  return code;
}

function checkId(id: string): string {
  if (!idPattern.test(id)) throw new NotFoundError();
  return id;
}

/**
 * A row's errors keyed by the ids its controls have on the page (`role-<userId>`), so the error
 * summary links to the control in the row that was used: the service names the field, not the row.
 */
function errorsOfRow(
  fieldErrors: Record<string, string>,
  rowId: string,
  controlOf: (field: string) => string,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(fieldErrors).map(([field, message]) => [
      `${controlOf(field)}-${rowId}`,
      message,
    ]),
  );
}

function organisationBreadcrumbs(code: string, name: string) {
  return [
    { href: '/', text: 'Home' },
    { href: '/organisations', text: 'Organisations' },
    { href: `/organisations/${code}`, text: name },
  ];
}

/** Joining organisations, their member lists, join requests and invitations. */
export function registerMembershipRoutes(app: FastifyInstance, services: Services): void {
  async function renderMembers(
    request: FastifyRequest<CodeParams>,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const code = checkCode(request.params.code);
    const listing = await services.memberships.listMembers(request.actor, code);
    return reply.code(status).render('memberships/views/members.njk', {
      ...listing,
      // A member whose role the admin cannot give is shown, not offered for change: a select
      // without their role would show another one as theirs.
      members: listing.members.map((member) => ({
        ...member,
        canChangeRole: listing.canManage && listing.assignableRoles.includes(member.role),
      })),
      roleOptions: listing.assignableRoles.map((role) => ({
        value: role,
        text: roleDefinitions[role].label,
      })),
      breadcrumbs: organisationBreadcrumbs(code, listing.organisation.name),
      pageTitle: `Members of ${listing.organisation.name}`,
      ...extra,
    });
  }

  app.get<CodeParams>('/organisations/:code/join', anyUser, async (request, reply) => {
    const code = checkCode(request.params.code);
    const organisation = await services.organisations.findOrganisationSummary(code);
    if (!organisation) throw new NotFoundError();
    const access = await services.memberships.describeAccess(request.actor, code);
    return reply.render('memberships/views/join.njk', {
      organisation,
      access,
      values: {},
      breadcrumbs: organisationBreadcrumbs(code, organisation.name),
    });
  });

  app.post<CodeParams>('/organisations/:code/join', anyUser, async (request, reply) => {
    const code = checkCode(request.params.code);
    const fields = formFields(request, ['message']);
    try {
      await services.memberships.requestToJoin(
        request.actor,
        code,
        fields.message,
        requestContextOf(request),
      );
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      const organisation = await services.organisations.findOrganisationSummary(code);
      return reply.code(400).render('memberships/views/join.njk', {
        organisation,
        access: await services.memberships.describeAccess(request.actor, code),
        values: fields,
        breadcrumbs: organisationBreadcrumbs(code, organisation?.name ?? code),
        ...formErrorContext(error.fieldErrors, ['message']),
      });
    }
    return reply.redirect(`/organisations/${code}?requested=1`, 303);
  });

  app.get<CodeParams>('/organisations/:code/members', organisationMember, async (request, reply) =>
    renderMembers(request, reply),
  );

  app.post<MemberParams>(
    '/organisations/:code/members/:userId/role',
    organisationAdmin,
    async (request, reply) => {
      const code = checkCode(request.params.code);
      const userId = checkId(request.params.userId);
      const fields = formFields(request, ['role']);
      try {
        await services.memberships.changeRole(
          request.actor,
          code,
          userId,
          fields.role,
          requestContextOf(request),
        );
      } catch (error) {
        if (!(error instanceof ValidationFailed)) throw error;
        const errors = errorsOfRow(error.fieldErrors, userId, () => 'role');
        return renderMembers(request, reply, formErrorContext(errors), 400);
      }
      return reply.redirect(`/organisations/${code}/members`, 303);
    },
  );

  async function renderRemoval(
    request: FastifyRequest<MemberParams>,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const code = checkCode(request.params.code);
    const removal = await services.memberships.getMemberForRemoval(
      request.actor,
      code,
      checkId(request.params.userId),
    );
    return reply.code(status).render('memberships/views/remove-member.njk', {
      ...removal,
      breadcrumbs: [
        ...organisationBreadcrumbs(code, removal.organisation.name),
        { href: `/organisations/${code}/members`, text: 'Members' },
      ],
      pageTitle: `Remove ${removal.member.displayName} from ${removal.organisation.name}`,
      ...extra,
    });
  }

  // Removing someone is confirmed on a page of its own: one click on the members list is too easy.
  app.get<MemberParams>(
    '/organisations/:code/members/:userId/remove',
    organisationAdmin,
    async (request, reply) => renderRemoval(request, reply),
  );

  app.post<MemberParams>(
    '/organisations/:code/members/:userId/remove',
    organisationAdmin,
    async (request, reply) => {
      const code = checkCode(request.params.code);
      const userId = checkId(request.params.userId);
      try {
        await services.memberships.removeMember(
          request.actor,
          code,
          userId,
          requestContextOf(request),
        );
      } catch (error) {
        if (!(error instanceof ValidationFailed)) throw error;
        const errors = errorsOfRow(error.fieldErrors, userId, () => 'remove');
        return renderRemoval(request, reply, formErrorContext(errors), 400);
      }
      return reply.redirect(`/organisations/${code}/members`, 303);
    },
  );

  /** The requests still to decide; after a refused decision, its errors and values on its row. */
  async function renderJoinRequests(
    request: FastifyRequest<CodeParams>,
    reply: FastifyReply,
    refused?: {
      values: { requestId: string; role: string; note: string };
      fieldErrors: Record<string, string>;
    },
  ) {
    const code = checkCode(request.params.code);
    const requests = await services.memberships.listJoinRequests(request.actor, code);
    const listing = await services.memberships.listMembers(request.actor, code);
    let errorContext = {};
    if (refused) {
      const { requestId } = refused.values;
      const context = formErrorContext(
        errorsOfRow(refused.fieldErrors, requestId, (field) =>
          field === 'role' || field === 'note' ? field : 'decision',
        ),
      );
      // A request decided meanwhile has left the page, so its errors have nothing to link to.
      const rowShown = requests.some((joinRequest) => joinRequest.id === requestId);
      errorContext = rowShown
        ? context
        : { ...context, errorList: context.errorList.map(({ text }) => ({ text })) };
    }
    return reply.code(refused ? 400 : 200).render('memberships/views/join-requests.njk', {
      organisation: listing.organisation,
      requests,
      roleOptions: listing.assignableRoles.map((role) => ({
        value: role,
        text: roleDefinitions[role].label,
      })),
      values: refused?.values,
      breadcrumbs: organisationBreadcrumbs(code, listing.organisation.name),
      ...errorContext,
    });
  }

  app.get<CodeParams>(
    '/organisations/:code/join-requests',
    organisationAdmin,
    async (request, reply) => renderJoinRequests(request, reply),
  );

  app.post<RequestParams>(
    '/organisations/:code/join-requests/:requestId/decision',
    organisationAdmin,
    async (request, reply) => {
      const code = checkCode(request.params.code);
      const requestId = checkId(request.params.requestId);
      const fields = formFields(request, ['decision', 'role', 'note']);
      const values = { requestId, role: fields.role, note: fields.note };
      if (fields.decision !== 'approve' && fields.decision !== 'decline') {
        return renderJoinRequests(request, reply, {
          values,
          fieldErrors: { decision: 'Choose whether to approve or decline the request' },
        });
      }
      try {
        await services.memberships.decideJoinRequest(
          request.actor,
          code,
          requestId,
          {
            approve: fields.decision === 'approve',
            role: fields.role || 'member',
            note: fields.note,
          },
          requestContextOf(request),
        );
      } catch (error) {
        if (!(error instanceof ValidationFailed)) throw error;
        return renderJoinRequests(request, reply, { values, fieldErrors: error.fieldErrors });
      }
      return reply.redirect(`/organisations/${code}/join-requests`, 303);
    },
  );

  async function renderInvitations(
    request: FastifyRequest<CodeParams>,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
    status = 200,
    sentId?: string,
  ) {
    const code = checkCode(request.params.code);
    const invitations = await services.memberships.listInvitations(request.actor, code);
    const listing = await services.memberships.listMembers(request.actor, code);
    const sent = invitations.find((invitation) => invitation.id === sentId);
    return reply.code(status).render('memberships/views/invitations.njk', {
      ...(sent ? { notice: `Invitation sent to ${sent.email}.` } : {}),
      organisation: listing.organisation,
      invitations,
      roleOptions: listing.assignableRoles.map((role) => ({
        value: role,
        text: roleDefinitions[role].label,
      })),
      values: {},
      breadcrumbs: organisationBreadcrumbs(code, listing.organisation.name),
      ...extra,
    });
  }

  app.get<CodeParams & { Querystring: { sent?: string } }>(
    '/organisations/:code/invitations',
    organisationAdmin,
    async (request, reply) => renderInvitations(request, reply, {}, 200, request.query.sent),
  );

  app.post<CodeParams>(
    '/organisations/:code/invitations',
    organisationAdmin,
    async (request, reply) => {
      const code = checkCode(request.params.code);
      const fields = formFields(request, ['email', 'role']);
      let sent: string;
      try {
        sent = await services.memberships.invite(
          request.actor,
          code,
          fields,
          requestContextOf(request),
        );
      } catch (error) {
        if (!(error instanceof ValidationFailed)) throw error;
        return renderInvitations(
          request,
          reply,
          { values: fields, ...formErrorContext(error.fieldErrors, ['email', 'role']) },
          400,
        );
      }
      // A page of its own to land on, so that reloading it does not send the invitation again;
      // the address is found by the invitation's id, and stays out of the address bar.
      return reply.redirect(`/organisations/${code}/invitations?sent=${sent}`, 303);
    },
  );

  app.post<InvitationParams>(
    '/organisations/:code/invitations/:invitationId/revoke',
    organisationAdmin,
    async (request, reply) => {
      const code = checkCode(request.params.code);
      await services.memberships.revokeInvitation(
        request.actor,
        code,
        checkId(request.params.invitationId),
        requestContextOf(request),
      );
      return reply.redirect(`/organisations/${code}/invitations`, 303);
    },
  );

  app.get<{ Querystring: { token?: string } }>(
    '/invitations/accept',
    { config: { access: 'public' } },
    async (request, reply) => {
      const token = typeof request.query.token === 'string' ? request.query.token : '';
      const invitation = await services.memberships.describeInvitation(token);
      return reply.code(invitation ? 200 : 400).render('memberships/views/accept-invitation.njk', {
        invitation,
        token,
        returnTo: `/invitations/accept?token=${encodeURIComponent(token)}`,
      });
    },
  );

  app.post('/invitations/accept', anyUser, async (request, reply) => {
    const fields = formFields(request, ['token']);
    try {
      const { organisationCode, alreadyMemberAs } = await services.memberships.acceptInvitation(
        request.actor,
        fields.token,
        requestContextOf(request),
      );
      return reply.redirect(
        `/organisations/${organisationCode}?joined=${alreadyMemberAs ? 'already' : '1'}`,
        303,
      );
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      return reply.code(400).render('memberships/views/accept-invitation.njk', {
        invitation: null,
        token: fields.token,
        problem: Object.values(error.fieldErrors)[0],
      });
    }
  });
}
