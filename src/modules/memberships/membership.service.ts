import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { randomToken, sha256Hex } from '../../lib/crypto.ts';
import { isPlausibleEmail, normaliseEmail, ValidationFailed } from '../../lib/validation.ts';
import type { Database } from '../../db/schema.ts';
import { isUniqueViolation } from '../../db/unique-violation.ts';
import { NotFoundError } from '../../web/http-errors.ts';
import type { RequestContext } from '../../web/request-context.ts';
import {
  assertCan,
  can,
  ForbiddenError,
  organisationScope,
  type Actor,
  type ActorMembership,
  type OrganisationResource,
} from '../access/policy.ts';
import {
  adminRoles,
  isOrganisationRole,
  roleDefinitions,
  rolesAllowedFor,
  type OrganisationRole,
} from '../access/roles.ts';
import type { AuditEvent, AuditService } from '../audit/audit.service.ts';
import type { EmailService } from '../email/email.service.ts';
import type { OrganisationService } from '../organisations/organisation.service.ts';
import {
  enforceRateLimit,
  sharedLimitExplanations,
  type RateLimitService,
} from '../security/rate-limit.service.ts';
import type { MembershipRepository } from './membership.repository.ts';

/** Invitation links work for 28 days. */
export const INVITATION_LIFETIME_DAYS = 28;
export const INVALID_INVITATION_MESSAGE =
  'This invitation has expired, has been withdrawn or has already been used. Ask the person who invited you for a new one.';

export interface MembershipServiceDependencies {
  repository: MembershipRepository;
  organisations: OrganisationService;
  email: EmailService;
  audit: AuditService;
  rateLimits: RateLimitService;
  publicUrl: string;
  /** Someone's rights as they are now (null for an account that is gone or disabled). */
  loadActor?: (userId: string) => Promise<Actor | null>;
  now?: () => Date;
}

const signature = '\n\nGreenspace – the collaboration workspace for a greener NHS';
const ALREADY_ASKED_MESSAGE =
  'You have already asked to join this organisation. An admin will reply by email';

/**
 * Who belongs to which organisation, in which role, and how they join: by asking (an admin
 * approves or declines) or by an emailed invitation. Every change is audited.
 */
/** A role as people read it ("Organisation admin"); a role no longer defined, as stored. */
function roleLabelOf(role: string): string {
  return isOrganisationRole(role) ? roleDefinitions[role].label : role;
}

/** A role as a sentence names it ("an ICS admin"); a role no longer defined, by what is stored. */
function roleInSentenceOf(role: string): string {
  return isOrganisationRole(role)
    ? roleDefinitions[role].inSentence
    : `a member with the role ${role}`;
}

export function createMembershipService(deps: MembershipServiceDependencies) {
  const { repository, email, audit } = deps;
  const now = deps.now ?? (() => new Date());

  async function organisationResource(
    code: string,
  ): Promise<OrganisationResource & { name: string; type: string }> {
    const organisation = await deps.organisations.findOrganisationSummary(code);
    if (!organisation)
      throw new NotFoundError(`No organisation with the code ${code} is in Greenspace.`);
    return {
      kind: 'organisation',
      code: organisation.code,
      ancestorPath: organisation.ancestorPath,
      name: organisation.name,
      type: organisation.type,
    };
  }

  /** Refuses with 404 rather than 403 to people who may not even see the organisation's members. */
  async function requirePermission(
    actor: Actor | null,
    permission: 'organisation.manage_members' | 'organisation.read_members_only',
    code: string,
  ) {
    const organisation = await organisationResource(code);
    assertCan(actor, permission, organisation);
    return organisation;
  }

  /** The admins to tell about a join request: the organisation's admins and the ICS admins above it. */
  async function adminsToNotify(organisation: OrganisationResource) {
    const ancestors = organisation.ancestorPath.split('/').filter(Boolean);
    const [orgAdmins, icsAdmins] = await Promise.all([
      repository.findMembersWithRoles([organisation.code], ['org_admin']),
      repository.findMembersWithRoles([organisation.code, ...ancestors], ['ics_admin']),
    ]);
    const byId = new Map([...orgAdmins, ...icsAdmins].map((member) => [member.user_id, member]));
    return [...byId.values()].filter((member) => member.email);
  }

  /** Whether the actor may hand out a role here: roles that reach below need an ICS admin or platform admin. */
  function canGiveRole(
    actor: Actor,
    organisation: OrganisationResource & { type: string },
    role: OrganisationRole,
  ): boolean {
    if (!rolesAllowedFor(organisation.type).includes(role)) return false;
    if (!roleDefinitions[role].reachesDescendants)
      return can(actor, 'organisation.manage_members', organisation);
    if (!actor.twoFactorEnabled) return false;
    if (actor.isPlatformAdmin) return true;
    return actor.memberships.some(
      (membership) =>
        roleDefinitions[membership.role].reachesDescendants &&
        (membership.organisationCode === organisation.code ||
          organisation.ancestorPath.includes(`/${membership.organisationCode}/`)),
    );
  }

  /**
   * Whether taking this member's admin role away leaves the organisation with no admin who can
   * still sign in: the only admin may not step down or leave, or nobody would be left to manage
   * its members. A disabled admin's going leaves the others as they were.
   */
  async function isOnlyActiveAdmin(
    trx: Transaction<Database>,
    code: string,
    member: { user_id: string; role: string },
  ): Promise<boolean> {
    if (!isOrganisationRole(member.role) || !adminRoles.includes(member.role)) return false;
    return (
      (await repository.countActiveMembersWithRoles(code, adminRoles, trx, member.user_id)) === 0
    );
  }

  /** Whether the actor manages the organisation's members from above it, not as one of them. */
  function managesFromAbove(actor: Actor, organisation: OrganisationResource): boolean {
    const fromElsewhere = {
      ...actor,
      memberships: actor.memberships.filter(
        (membership) => membership.organisationCode !== organisation.code,
      ),
    };
    return can(fromElsewhere, 'organisation.manage_members', organisation);
  }

  /**
   * Holds the organisation's row (`holdOrganisations`), then checks that the actor still manages its
   * members. Their rights were read before the transaction, and another admin may have taken
   * them away meanwhile (two admins demoting each other at once).
   */
  async function requireStillManaging(
    trx: Transaction<Database>,
    actor: Actor,
    organisation: OrganisationResource,
  ): Promise<void> {
    await repository.holdOrganisations(trx, [organisation.code]);
    if (managesFromAbove(actor, organisation)) return;
    const own = await repository.findMember(organisation.code, actor.userId, trx);
    if (!own || !isOrganisationRole(own.role) || !adminRoles.includes(own.role))
      throw new ForbiddenError('Not allowed: manage the members of this organisation');
  }

  /**
   * Refuses a change that takes the organisation's last active admin away, unless it is made by
   * someone who manages the organisation from above, who stays answerable for it.
   */
  async function refuseLeavingNoAdmin(
    trx: Transaction<Database>,
    actor: Actor,
    organisation: OrganisationResource,
    member: { user_id: string; role: string },
    field: string,
  ): Promise<void> {
    if (!(await isOnlyActiveAdmin(trx, organisation.code, member))) return;
    if (member.user_id === actor.userId)
      throw new ValidationFailed({
        [field]: 'You are the only admin. Make someone else an admin first',
      });
    if (!managesFromAbove(actor, organisation))
      throw new ValidationFailed({
        [field]: 'This is the only admin left. Make someone else an admin first',
      });
  }

  /** The role, if it exists, fits the organisation and the actor may give it; otherwise a form error. */
  function checkRoleCanBeGiven(
    actor: Actor,
    organisation: OrganisationResource & { type: string },
    role: string,
  ): OrganisationRole {
    if (!isOrganisationRole(role) || !rolesAllowedFor(organisation.type).includes(role)) {
      throw new ValidationFailed({ role: 'Choose a role that this organisation can have' });
    }
    if (!canGiveRole(actor, organisation, role))
      throw new ValidationFailed({ role: 'You cannot give this role' });
    return role;
  }

  return {
    /**
     * Active people who hold one of these roles in any of these organisations, for other modules'
     * emails (the Greener General Practice programme tells verifiers of a new submission).
     */
    async findPeopleWithRoles(organisationCodes: string[], roles: OrganisationRole[]) {
      return repository.findMembersWithRoles(organisationCodes, roles);
    },

    /** The actor's memberships, with what the policy needs to know of each organisation. */
    async loadActorMemberships(userId: string): Promise<ActorMembership[]> {
      const rows = await repository.findMembershipsOfUser(userId);
      return rows
        .filter((row) => isOrganisationRole(row.role))
        .map((row) => ({
          organisationCode: row.organisation_code,
          organisationName: row.organisation_name,
          organisationType: row.organisation_type,
          ancestorPath: row.ancestor_path,
          role: row.role as OrganisationRole,
        }));
    },

    /** What a visitor may do on an organisation's page, for showing the right links and buttons. */
    async describeAccess(actor: Actor | null, code: string) {
      const organisation = await organisationResource(code);
      const membership =
        actor?.memberships.find((candidate) => candidate.organisationCode === code) ?? null;
      const pendingRequest =
        actor && !membership
          ? await repository.findPendingJoinRequestOfUser(actor.userId, code)
          : undefined;
      return {
        membership,
        hasPendingRequest: pendingRequest !== undefined,
        canRequestToJoin:
          can(actor, 'organisation.request_to_join', organisation) && !pendingRequest,
        canSeeMembers: can(actor, 'organisation.read_members_only', organisation),
        canManageMembers: can(actor, 'organisation.manage_members', organisation),
      };
    },

    async requestToJoin(
      actor: Actor | null,
      code: string,
      message: string,
      context: RequestContext,
    ): Promise<void> {
      const organisation = await organisationResource(code);
      assertCan(actor, 'organisation.request_to_join', organisation);
      const trimmed = message.trim();
      if (trimmed.length > 1000)
        throw new ValidationFailed({ message: 'Your message must be 1,000 characters or fewer' });
      if (await repository.findPendingJoinRequestOfUser(actor!.userId, code)) {
        throw new ValidationFailed({ message: ALREADY_ASKED_MESSAGE });
      }
      await enforceRateLimit(
        { rateLimits: deps.rateLimits, audit },
        'joinRequestPerUser',
        actor!.userId,
        { action: 'membership.join_requested', actorUserId: actor!.userId, organisationCode: code },
        context,
        sharedLimitExplanations.joinRequestPerUser,
        'Your request has not been sent.',
      );
      const admins = await adminsToNotify(organisation);
      await repository.transaction(async (trx) => {
        const id = randomUUID();
        try {
          await repository.insertJoinRequest(trx, {
            id,
            userId: actor!.userId,
            organisationCode: code,
            message: trimmed || null,
            now: now().toISOString(),
          });
        } catch (error) {
          // The same request sent twice at once (a double click): the database keeps one pending
          // request per person and organisation, and the second is told of the first.
          if (!isUniqueViolation(error)) throw error;
          throw new ValidationFailed({ message: ALREADY_ASKED_MESSAGE });
        }
        for (const admin of admins) {
          await email.queue(trx, {
            kind: 'join_request_received',
            to: admin.email!,
            subject: `${actor!.displayName} has asked to join ${organisation.name} on Greenspace`,
            text: `Dear ${admin.display_name},\n\n${actor!.displayName} (${actor!.email}) has asked to join ${organisation.name}.${trimmed ? `\n\nTheir message:\n${trimmed}` : ''}\n\nApprove or decline the request here:\n\n${deps.publicUrl}/organisations/${code}/join-requests${signature}`,
          });
        }
        await audit.record(
          {
            action: 'membership.join_requested',
            actorUserId: actor!.userId,
            targetType: 'join_request',
            targetId: id,
            organisationCode: code,
          },
          context,
          trx,
        );
      });
      email.nudge();
    },

    async listJoinRequests(actor: Actor | null, code: string) {
      await requirePermission(actor, 'organisation.manage_members', code);
      return repository.findPendingJoinRequests(code);
    },

    /** Every pending request the actor may decide, across their organisations. */
    async listJoinRequestsToDecide(actor: Actor | null) {
      return repository.findPendingJoinRequestsInScope(
        organisationScope(actor, 'organisation.manage_members'),
      );
    },

    async decideJoinRequest(
      actor: Actor | null,
      code: string,
      requestId: string,
      decision: { approve: boolean; role?: string; note?: string },
      context: RequestContext,
    ): Promise<void> {
      const organisation = await requirePermission(actor, 'organisation.manage_members', code);
      const role = decision.role ?? 'member';
      const approvedRole = decision.approve
        ? checkRoleCanBeGiven(actor!, organisation, role)
        : 'member';
      const note = decision.note?.trim() || null;
      if (note && note.length > 1000)
        throw new ValidationFailed({ note: 'The note must be 1,000 characters or fewer' });
      await repository.transaction(async (trx) => {
        // The actor's rights were read before the transaction: another admin may have taken
        // them away meanwhile, and approving gives a role.
        await requireStillManaging(trx, actor!, organisation);
        const request = await repository.findJoinRequest(code, requestId, trx);
        if (!request) throw new NotFoundError('That request to join was not found.');
        const at = now().toISOString();
        const decided = await repository.decideJoinRequest(trx, code, requestId, {
          status: decision.approve ? 'approved' : 'declined',
          decidedBy: actor!.userId,
          note,
          at,
        });
        if (!decided)
          throw new ValidationFailed({ request: 'This request has already been decided' });
        const requester = await repository.findUserContact(request.user_id, trx);
        if (decision.approve) {
          if (!(await repository.findMember(code, request.user_id, trx))) {
            await repository.insertMembership(trx, {
              id: randomUUID(),
              userId: request.user_id,
              organisationCode: code,
              role: approvedRole,
              now: at,
            });
          }
        }
        if (requester?.email && requester.status === 'active') {
          await email.queue(trx, {
            kind: decision.approve ? 'join_request_approved' : 'join_request_declined',
            to: requester.email,
            subject: decision.approve
              ? `You are now a member of ${organisation.name} on Greenspace`
              : `Your request to join ${organisation.name} on Greenspace`,
            text: decision.approve
              ? `Dear ${requester.display_name},\n\nYour request to join ${organisation.name} has been approved. You are now ${roleDefinitions[approvedRole].inSentence}.${note ? `\n\nA note from the admin:\n${note}` : ''}\n\n${deps.publicUrl}/organisations/${code}${signature}`
              : `Dear ${requester.display_name},\n\nYour request to join ${organisation.name} has been declined.${note ? `\n\nA note from the admin:\n${note}` : ''}${signature}`,
          });
        }
        await audit.record(
          {
            action: decision.approve ? 'membership.join_approved' : 'membership.join_declined',
            actorUserId: actor!.userId,
            targetType: 'user',
            targetId: request.user_id,
            organisationCode: code,
            details: decision.approve ? { role } : undefined,
          },
          context,
          trx,
        );
      });
      email.nudge();
    },

    async listMembers(actor: Actor | null, code: string) {
      const organisation = await requirePermission(actor, 'organisation.read_members_only', code);
      const members = await repository.findMembers(code);
      return {
        organisation,
        members: members.map((member) => ({
          userId: member.user_id,
          displayName: member.display_name,
          // Email addresses are for the people who manage members, not for every member.
          email: can(actor, 'organisation.manage_members', organisation) ? member.email : null,
          role: member.role as OrganisationRole,
          roleLabel: roleLabelOf(member.role),
          status: member.status,
          since: member.created_at,
        })),
        canManage: can(actor, 'organisation.manage_members', organisation),
        assignableRoles: rolesAllowedFor(organisation.type).filter((role) =>
          canGiveRole(actor!, organisation, role),
        ),
      };
    },

    async changeRole(
      actor: Actor | null,
      code: string,
      userId: string,
      role: string,
      context: RequestContext,
    ): Promise<void> {
      const organisation = await requirePermission(actor, 'organisation.manage_members', code);
      const newRole = checkRoleCanBeGiven(actor!, organisation, role);
      await repository.transaction(async (trx) => {
        await requireStillManaging(trx, actor!, organisation);
        const member = await repository.findMember(code, userId, trx);
        if (!member) throw new NotFoundError('That member was not found.');
        if (member.role === newRole) return;
        if (isOrganisationRole(member.role) && !canGiveRole(actor!, organisation, member.role)) {
          throw new ValidationFailed({ role: 'You cannot change the role of this member' });
        }
        if (!adminRoles.includes(newRole))
          await refuseLeavingNoAdmin(trx, actor!, organisation, member, 'role');
        await repository.updateRole(trx, code, userId, newRole, now().toISOString());
        await audit.record(
          {
            action: 'membership.role_changed',
            actorUserId: actor!.userId,
            targetType: 'user',
            targetId: userId,
            organisationCode: code,
            details: { from: member.role, to: role },
          },
          context,
          trx,
        );
      });
    },

    /** The confirmation page before removing a member: who, from where, in what role. */
    async getMemberForRemoval(actor: Actor | null, code: string, userId: string) {
      const organisation = await requirePermission(actor, 'organisation.manage_members', code);
      const member = await repository.findMember(code, userId);
      if (!member) throw new NotFoundError('That member was not found.');
      // The same rule as the removal itself: no page asks to confirm what would be refused.
      if (isOrganisationRole(member.role) && !canGiveRole(actor!, organisation, member.role))
        throw new ForbiddenError('Not allowed: remove this member');
      return {
        organisation,
        member: {
          userId: member.user_id,
          displayName: member.display_name,
          roleLabel: roleLabelOf(member.role),
          isSelf: member.user_id === actor!.userId,
        },
      };
    },

    async removeMember(
      actor: Actor | null,
      code: string,
      userId: string,
      context: RequestContext,
    ): Promise<void> {
      const organisation = await requirePermission(actor, 'organisation.manage_members', code);
      await repository.transaction(async (trx) => {
        await requireStillManaging(trx, actor!, organisation);
        const member = await repository.findMember(code, userId, trx);
        if (!member) throw new NotFoundError('That member was not found.');
        if (isOrganisationRole(member.role) && !canGiveRole(actor!, organisation, member.role)) {
          throw new ValidationFailed({ member: 'You cannot remove this member' });
        }
        await refuseLeavingNoAdmin(trx, actor!, organisation, member, 'member');
        await repository.deleteMembership(trx, code, userId);
        await audit.record(
          {
            action: 'membership.removed',
            actorUserId: actor!.userId,
            targetType: 'user',
            targetId: userId,
            organisationCode: code,
            details: { role: member.role },
          },
          context,
          trx,
        );
      });
    },

    /** Sends an invitation link that works for 28 days, once, for the invited address only. */
    async invite(
      actor: Actor | null,
      code: string,
      input: { email: string; role: string },
      context: RequestContext,
    ): Promise<string> {
      const organisation = await requirePermission(actor, 'organisation.manage_members', code);
      const address = normaliseEmail(input.email);
      const errors: Record<string, string> = {};
      if (!isPlausibleEmail(address))
        errors.email = 'Enter an email address in the correct format, like name@nhs.net';
      try {
        checkRoleCanBeGiven(actor!, organisation, input.role);
      } catch (error) {
        if (error instanceof ValidationFailed) Object.assign(errors, error.fieldErrors);
        else throw error;
      }
      if (Object.keys(errors).length > 0) throw new ValidationFailed(errors);
      await enforceRateLimit(
        { rateLimits: deps.rateLimits, audit },
        'invitationPerUser',
        actor!.userId,
        { action: 'membership.invited', actorUserId: actor!.userId, organisationCode: code },
        context,
        sharedLimitExplanations.invitationPerUser,
        'This invitation has not been sent.',
      );
      const token = randomToken();
      const at = now();
      const id = randomUUID();
      await repository.transaction(async (trx) => {
        // As for approving a request: an invitation hands out a role, so the rights to send it
        // are checked again once the organisation is held.
        await requireStillManaging(trx, actor!, organisation);
        await repository.insertInvitation(trx, {
          id,
          organisation_code: code,
          email: address,
          role: input.role,
          token_hash: sha256Hex(token),
          invited_by: actor!.userId,
          created_at: at.toISOString(),
          expires_at: new Date(at.getTime() + INVITATION_LIFETIME_DAYS * 86_400_000).toISOString(),
          accepted_at: null,
          accepted_by: null,
          revoked_at: null,
        });
        await email.queue(trx, {
          kind: 'invitation',
          to: address,
          subject: `${actor!.displayName} has invited you to join ${organisation.name} on Greenspace`,
          text: `${actor!.displayName} has invited you to join ${organisation.name} on Greenspace, the collaboration workspace for a greener NHS, as ${roleInSentenceOf(input.role)}.\n\nAccept the invitation here:\n\n${deps.publicUrl}/invitations/accept?token=${encodeURIComponent(token)}\n\nThe link works for ${INVITATION_LIFETIME_DAYS} days. If you do not have a Greenspace account yet, create one with this email address first.${signature}`,
        });
        await audit.record(
          {
            action: 'membership.invited',
            actorUserId: actor!.userId,
            targetType: 'invitation',
            targetId: id,
            organisationCode: code,
            details: { role: input.role },
          },
          context,
          trx,
        );
      });
      email.nudge();
      return id;
    },

    async listInvitations(actor: Actor | null, code: string) {
      await requirePermission(actor, 'organisation.manage_members', code);
      const rows = await repository.findInvitations(code);
      const at = now().toISOString();
      return rows.map((row) => ({
        id: row.id,
        email: row.email,
        role: row.role,
        roleLabel: roleLabelOf(row.role),
        invitedBy: row.invited_by_name,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
        state: row.accepted_at
          ? 'accepted'
          : row.revoked_at
            ? 'withdrawn'
            : row.expires_at <= at
              ? 'expired'
              : 'open',
      }));
    },

    async revokeInvitation(
      actor: Actor | null,
      code: string,
      invitationId: string,
      context: RequestContext,
    ): Promise<void> {
      const organisation = await requirePermission(actor, 'organisation.manage_members', code);
      const invitation = /^[0-9a-f-]{36}$/.test(invitationId)
        ? await repository.findInvitation(code, invitationId)
        : undefined;
      // Withdrawing is the other half of sending: only someone who could send it may take it back.
      if (
        invitation &&
        isOrganisationRole(invitation.role) &&
        !canGiveRole(actor!, organisation, invitation.role)
      )
        throw new ForbiddenError('Not allowed: withdraw an invitation to this role');
      await repository.transaction(async (trx) => {
        await requireStillManaging(trx, actor!, organisation);
        if (!(await repository.revokeInvitation(trx, code, invitationId, now().toISOString()))) {
          throw new NotFoundError('That invitation was not found, or is no longer open.');
        }
        await audit.record(
          {
            action: 'membership.invitation_withdrawn',
            actorUserId: actor!.userId,
            targetType: 'invitation',
            targetId: invitationId,
            organisationCode: code,
          },
          context,
          trx,
        );
      });
    },

    /** What the invitation page shows before the invitee accepts; null for any unusable link. */
    async describeInvitation(token: string) {
      if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return null;
      const invitation = await repository.findInvitationByTokenHash(sha256Hex(token));
      const at = now().toISOString();
      if (
        !invitation ||
        invitation.accepted_at ||
        invitation.revoked_at ||
        invitation.expires_at <= at
      )
        return null;
      return {
        organisationCode: invitation.organisation_code,
        organisationName: invitation.organisation_name,
        roleLabel: roleLabelOf(invitation.role),
        roleInSentence: roleInSentenceOf(invitation.role),
        email: invitation.email,
      };
    },

    /** Accepts an invitation for the signed-in user, whose email must be the invited one. */
    async acceptInvitation(
      actor: Actor | null,
      token: string,
      context: RequestContext,
    ): Promise<{ organisationCode: string; alreadyMemberAs: string | null }> {
      if (!actor) throw new ValidationFailed({ token: 'Sign in to accept the invitation' });
      if (!/^[A-Za-z0-9_-]{20,100}$/.test(token))
        throw new ValidationFailed({ token: INVALID_INVITATION_MESSAGE });
      // The role is given now, so the person who sent the invitation must still be able to give
      // it: one demoted or gone since cannot hand out what they no longer hold. Their rights are
      // read before the transaction, which cannot read outside itself on SQLite.
      const sent = await repository.findInvitationByTokenHash(sha256Hex(token));
      const inviterMayGive =
        sent && isOrganisationRole(sent.role) && deps.loadActor
          ? await deps
              .loadActor(sent.invited_by)
              .then(async (inviter) =>
                inviter
                  ? canGiveRole(
                      inviter,
                      await organisationResource(sent.organisation_code),
                      sent.role as OrganisationRole,
                    )
                  : false,
              )
          : true;
      // A refusal is recorded after its transaction has ended: recorded inside it, it would be
      // undone with everything else the refused acceptance did.
      type Refusal = { event: AuditEvent; message: string };
      const outcome = await repository.transaction(
        async (
          trx,
        ): Promise<
          | { refused: Refusal }
          | { accepted: { organisationCode: string; alreadyMemberAs: string | null } }
        > => {
          const invitation = await repository.findInvitationByTokenHash(sha256Hex(token), trx);
          const at = now().toISOString();
          if (
            !invitation ||
            invitation.accepted_at ||
            invitation.revoked_at ||
            invitation.expires_at <= at
          ) {
            return {
              refused: {
                event: {
                  action: 'membership.invitation_accepted',
                  outcome: 'failure',
                  actorUserId: actor.userId,
                  details: { reason: 'invalid_link' },
                },
                message: INVALID_INVITATION_MESSAGE,
              },
            };
          }
          if (invitation.email !== actor.email.toLowerCase()) {
            return {
              refused: {
                event: {
                  action: 'membership.invitation_accepted',
                  outcome: 'failure',
                  actorUserId: actor.userId,
                  organisationCode: invitation.organisation_code,
                  details: { reason: 'different_email' },
                },
                message:
                  'This invitation was sent to a different email address. Sign in with the account for that address to accept it',
              },
            };
          }
          if (invitation.id === sent?.id && !inviterMayGive) {
            return {
              refused: {
                event: {
                  action: 'membership.invitation_accepted',
                  outcome: 'refused',
                  actorUserId: actor.userId,
                  targetType: 'invitation',
                  targetId: invitation.id,
                  organisationCode: invitation.organisation_code,
                  details: { reason: 'inviter_no_longer_allowed', role: invitation.role },
                },
                message: `The person who sent this invitation can no longer invite people to join as ${roleInSentenceOf(invitation.role)}, so it cannot be accepted. Ask an admin of ${invitation.organisation_name} to invite you again`,
              },
            };
          }
          if (!(await repository.acceptInvitation(trx, invitation.id, actor.userId, at))) {
            throw new ValidationFailed({ token: INVALID_INVITATION_MESSAGE });
          }
          const existing = await repository.findMember(
            invitation.organisation_code,
            actor.userId,
            trx,
          );
          // Already a member: the role they have is kept (an invitation is not the way to change
          // it, and could take an admin's away), and they are told so.
          const alreadyMemberAs =
            existing && existing.role !== invitation.role ? existing.role : null;
          if (!existing && isOrganisationRole(invitation.role)) {
            await repository.insertMembership(trx, {
              id: randomUUID(),
              userId: actor.userId,
              organisationCode: invitation.organisation_code,
              role: invitation.role,
              now: at,
            });
          }
          // A request to join sent before is answered by the invitation: left open, an admin
          // would be asked to decide it, and its approval would tell of a role not given.
          await repository.withdrawPendingJoinRequests(
            trx,
            actor.userId,
            at,
            invitation.organisation_code,
          );
          await audit.record(
            {
              action: 'membership.invitation_accepted',
              actorUserId: actor.userId,
              targetType: 'invitation',
              targetId: invitation.id,
              organisationCode: invitation.organisation_code,
              details: {
                role: invitation.role,
                ...(alreadyMemberAs ? { keptRole: alreadyMemberAs } : {}),
              },
            },
            context,
            trx,
          );
          return {
            accepted: {
              organisationCode: invitation.organisation_code,
              alreadyMemberAs: alreadyMemberAs ? roleLabelOf(alreadyMemberAs) : null,
            },
          };
        },
      );
      if ('refused' in outcome) {
        await audit.record(outcome.refused.event, context);
        throw new ValidationFailed({ token: outcome.refused.message });
      }
      return outcome.accepted;
    },

    /** Adds a member directly (command line, seeds and tests): no request, no invitation. */
    async addMemberDirectly(
      userId: string,
      code: string,
      role: OrganisationRole,
      context: RequestContext | null,
      actorUserId: string | null = null,
    ) {
      const organisation = await organisationResource(code);
      const allowed = rolesAllowedFor(organisation.type);
      if (!allowed.includes(role))
        throw new ValidationFailed({
          role: `${role} cannot be given in ${organisation.name} (${code}); its roles are ${allowed.join(', ')}`,
        });
      await repository.transaction(async (trx) => {
        const existing = await repository.findMember(code, userId, trx);
        if (existing) await repository.updateRole(trx, code, userId, role, now().toISOString());
        else
          await repository.insertMembership(trx, {
            id: randomUUID(),
            userId,
            organisationCode: code,
            role,
            now: now().toISOString(),
          });
        await audit.record(
          {
            action: 'membership.added',
            actorUserId,
            targetType: 'user',
            targetId: userId,
            organisationCode: code,
            details: { role },
          },
          context,
          trx,
        );
      });
    },

    /** Organisations that would be left without an admin if this user went. */
    /**
     * Organisations that would be left without an admin if this user went. In a transaction, the
     * organisations they administer are held first, so two admins leaving at once are counted one
     * after the other.
     */
    async organisationsOnlyAdministeredBy(userId: string, executor?: Transaction<Database>) {
      if (executor)
        await repository.holdOrganisations(
          executor,
          await repository.findOrganisationCodesWithRole(userId, adminRoles, executor),
        );
      return repository.findOrganisationsWhereOnlyHolder(userId, adminRoles, executor);
    },

    /** Called when an account is deleted, inside its transaction. */
    async removeEverythingOfUser(trx: Transaction<Database>, userId: string): Promise<void> {
      // Each organisation's own audit log shows that a member (perhaps one of its admins) went;
      // the account's deletion record names no organisation.
      for (const membership of await repository.findMembershipsOfUser(userId, trx)) {
        await audit.record(
          {
            action: 'membership.removed',
            actorUserId: userId,
            targetType: 'user',
            targetId: userId,
            organisationCode: membership.organisation_code,
            details: { role: membership.role, reason: 'account_deleted' },
          },
          null,
          trx,
        );
      }
      await repository.deleteMembershipsOfUser(trx, userId);
      await repository.withdrawPendingJoinRequests(trx, userId, now().toISOString());
    },

    /** This module's part of a user's personal data download. */
    async collectPersonalData(
      userId: string,
      email: string | null,
    ): Promise<Record<string, unknown>> {
      const [memberships, joinRequests, invitations] = await Promise.all([
        repository.findMembershipsOfUser(userId),
        repository.findJoinRequestsOfUser(userId),
        email ? repository.findInvitationsForEmail(email) : Promise.resolve([]),
      ]);
      return {
        memberships: memberships.map((row) => ({
          organisationCode: row.organisation_code,
          organisationName: row.organisation_name,
          role: row.role,
          since: row.created_at,
        })),
        joinRequests: joinRequests.map((row) => ({
          organisationCode: row.organisation_code,
          organisationName: row.organisation_name,
          message: row.message,
          status: row.status,
          createdAt: row.created_at,
          decidedAt: row.decided_at,
          note: row.decision_note,
        })),
        invitationsReceived: invitations.map((row) => ({
          organisationCode: row.organisation_code,
          organisationName: row.organisation_name,
          role: row.role,
          sentAt: row.created_at,
          expiresAt: row.expires_at,
          acceptedAt: row.accepted_at,
          withdrawnAt: row.revoked_at,
        })),
      };
    },
  };
}

export type MembershipService = ReturnType<typeof createMembershipService>;
