import type { Kysely, Transaction } from 'kysely';
import type {
  Database,
  InvitationRow,
  JoinRequestRow,
  JoinRequestStatus,
} from '../../db/schema.ts';
import type { OrganisationScope } from '../access/policy.ts';
import type { OrganisationRole } from '../access/roles.ts';

type Executor = Kysely<Database> | Transaction<Database>;

export interface MembershipWithOrganisation {
  organisation_code: string;
  organisation_name: string;
  organisation_type: string;
  ancestor_path: string;
  role: string;
  created_at: string;
}

export interface MemberRow {
  user_id: string;
  display_name: string;
  email: string | null;
  status: string;
  role: string;
  created_at: string;
}

export interface JoinRequestListItem extends JoinRequestRow {
  display_name: string;
  email: string | null;
  organisation_name: string;
}

/**
 * Memberships, join requests and invitations. Every lookup by id also takes the organisation
 * code, so an id from another organisation finds nothing: access across organisations is
 * impossible by construction, not only refused by a check.
 */
export function createMembershipRepository(db: Kysely<Database>) {
  return {
    transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
      return db.transaction().execute(work);
    },

    async findMembershipsOfUser(
      userId: string,
      executor: Executor = db,
    ): Promise<MembershipWithOrganisation[]> {
      return executor
        .selectFrom('memberships as m')
        .innerJoin('organisations as o', 'o.code', 'm.organisation_code')
        .where('m.user_id', '=', userId)
        .select([
          'm.organisation_code',
          'o.name as organisation_name',
          'o.org_type as organisation_type',
          'o.ancestor_path',
          'm.role',
          'm.created_at',
        ])
        .orderBy('o.name')
        .execute();
    },

    async findMembers(organisationCode: string): Promise<MemberRow[]> {
      return db
        .selectFrom('memberships as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .where('m.organisation_code', '=', organisationCode)
        .where('u.status', '!=', 'deleted')
        .select(['m.user_id', 'u.display_name', 'u.email', 'u.status', 'm.role', 'm.created_at'])
        .orderBy('u.display_name')
        .execute();
    },

    async findMember(
      organisationCode: string,
      userId: string,
      executor: Executor = db,
    ): Promise<MemberRow | undefined> {
      return executor
        .selectFrom('memberships as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .where('m.organisation_code', '=', organisationCode)
        .where('m.user_id', '=', userId)
        .where('u.status', '!=', 'deleted')
        .select(['m.user_id', 'u.display_name', 'u.email', 'u.status', 'm.role', 'm.created_at'])
        .executeTakeFirst();
    },

    /** Active members holding one of these roles in one of these organisations: who to notify. */
    async findMembersWithRoles(
      organisationCodes: string[],
      roles: OrganisationRole[],
    ): Promise<MemberRow[]> {
      if (organisationCodes.length === 0) return [];
      return db
        .selectFrom('memberships as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .where('m.organisation_code', 'in', organisationCodes)
        .where('m.role', 'in', roles)
        .where('u.status', '=', 'active')
        .select(['m.user_id', 'u.display_name', 'u.email', 'u.status', 'm.role', 'm.created_at'])
        .execute();
    },

    /** How many people who can still sign in hold one of these roles in the organisation. */
    /**
     * Holds organisations' rows until the transaction ends, one at a time in code order (so two
     * transactions holding several never wait on each other in a circle): two changes to who runs
     * an organisation then happen one after the other, the second counting what the first left.
     */
    async holdOrganisations(trx: Transaction<Database>, codes: readonly string[]): Promise<void> {
      for (const code of [...new Set(codes)].sort()) {
        await trx
          .updateTable('organisations')
          .set((eb) => ({ name: eb.ref('name') }))
          .where('code', '=', code)
          .execute();
      }
    },

    /** The organisations in which a user holds one of these roles. */
    async findOrganisationCodesWithRole(
      userId: string,
      roles: readonly OrganisationRole[],
      executor: Executor = db,
    ): Promise<string[]> {
      const rows = await executor
        .selectFrom('memberships')
        .select('organisation_code')
        .where('user_id', '=', userId)
        .where('role', 'in', roles)
        .execute();
      return rows.map((row) => row.organisation_code);
    },

    async countActiveMembersWithRoles(
      organisationCode: string,
      roles: readonly OrganisationRole[],
      executor: Executor = db,
      excludingUserId?: string,
    ): Promise<number> {
      let query = executor
        .selectFrom('memberships as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select((eb) => eb.fn.countAll<number>().as('total'))
        .where('m.organisation_code', '=', organisationCode)
        .where('m.role', 'in', roles)
        .where('u.status', '=', 'active');
      if (excludingUserId) query = query.where('m.user_id', '<>', excludingUserId);
      const row = await query.executeTakeFirstOrThrow();
      return Number(row.total);
    },

    /** The organisations where this user holds one of the roles and no other active user does. */
    async findOrganisationsWhereOnlyHolder(
      userId: string,
      roles: readonly OrganisationRole[],
      executor: Executor = db,
    ): Promise<{ code: string; name: string }[]> {
      return executor
        .selectFrom('memberships as m')
        .innerJoin('organisations as o', 'o.code', 'm.organisation_code')
        .select(['o.code', 'o.name'])
        .where('m.user_id', '=', userId)
        .where('m.role', 'in', roles)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('memberships as other')
                .innerJoin('users as u', 'u.id', 'other.user_id')
                .select('other.id')
                .whereRef('other.organisation_code', '=', 'm.organisation_code')
                .where('other.role', 'in', roles)
                .where('other.user_id', '<>', userId)
                .where('u.status', '=', 'active'),
            ),
          ),
        )
        .orderBy('o.name')
        .execute();
    },

    async insertMembership(
      executor: Executor,
      membership: {
        id: string;
        userId: string;
        organisationCode: string;
        role: OrganisationRole;
        now: string;
      },
    ): Promise<void> {
      await executor
        .insertInto('memberships')
        .values({
          id: membership.id,
          user_id: membership.userId,
          organisation_code: membership.organisationCode,
          role: membership.role,
          created_at: membership.now,
          updated_at: membership.now,
        })
        .execute();
    },

    async updateRole(
      executor: Executor,
      organisationCode: string,
      userId: string,
      role: OrganisationRole,
      at: string,
    ) {
      await executor
        .updateTable('memberships')
        .set({ role, updated_at: at })
        .where('organisation_code', '=', organisationCode)
        .where('user_id', '=', userId)
        .execute();
    },

    async deleteMembership(
      executor: Executor,
      organisationCode: string,
      userId: string,
    ): Promise<void> {
      await executor
        .deleteFrom('memberships')
        .where('organisation_code', '=', organisationCode)
        .where('user_id', '=', userId)
        .execute();
    },

    async deleteMembershipsOfUser(executor: Executor, userId: string): Promise<void> {
      await executor.deleteFrom('memberships').where('user_id', '=', userId).execute();
    },

    async findUserContact(userId: string, executor: Executor = db) {
      return executor
        .selectFrom('users')
        .select(['email', 'display_name', 'status'])
        .where('id', '=', userId)
        .executeTakeFirst();
    },

    // --- join requests ---

    async insertJoinRequest(
      executor: Executor,
      request: {
        id: string;
        userId: string;
        organisationCode: string;
        message: string | null;
        now: string;
      },
    ): Promise<void> {
      await executor
        .insertInto('join_requests')
        .values({
          id: request.id,
          user_id: request.userId,
          organisation_code: request.organisationCode,
          message: request.message,
          status: 'pending',
          created_at: request.now,
          decided_at: null,
          decided_by: null,
          decision_note: null,
        })
        .execute();
    },

    async findPendingJoinRequestOfUser(
      userId: string,
      organisationCode: string,
    ): Promise<JoinRequestRow | undefined> {
      return db
        .selectFrom('join_requests')
        .selectAll()
        .where('user_id', '=', userId)
        .where('organisation_code', '=', organisationCode)
        .where('status', '=', 'pending')
        .executeTakeFirst();
    },

    async findJoinRequest(
      organisationCode: string,
      id: string,
      executor: Executor = db,
    ): Promise<JoinRequestRow | undefined> {
      return executor
        .selectFrom('join_requests')
        .selectAll()
        .where('organisation_code', '=', organisationCode)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    async findPendingJoinRequests(organisationCode: string): Promise<JoinRequestListItem[]> {
      return db
        .selectFrom('join_requests as r')
        .innerJoin('users as u', 'u.id', 'r.user_id')
        .innerJoin('organisations as o', 'o.code', 'r.organisation_code')
        .where('r.organisation_code', '=', organisationCode)
        .where('r.status', '=', 'pending')
        .selectAll('r')
        .select(['u.display_name', 'u.email', 'o.name as organisation_name'])
        .orderBy('r.created_at')
        .execute();
    },

    /** Pending requests across every organisation in a scope, for an admin's to-do list. */
    async findPendingJoinRequestsInScope(scope: OrganisationScope): Promise<JoinRequestListItem[]> {
      let query = db
        .selectFrom('join_requests as r')
        .innerJoin('users as u', 'u.id', 'r.user_id')
        .innerJoin('organisations as o', 'o.code', 'r.organisation_code')
        .where('r.status', '=', 'pending');
      if (scope.kind === 'some') {
        query = query.where((eb) => {
          const conditions = [
            eb('r.organisation_code', 'in', scope.codes.length > 0 ? scope.codes : ['-']),
          ];
          for (const ancestor of scope.underAncestors)
            conditions.push(eb('o.ancestor_path', 'like', `%/${ancestor}/%`));
          return eb.or(conditions);
        });
      }
      return query
        .selectAll('r')
        .select(['u.display_name', 'u.email', 'o.name as organisation_name'])
        .orderBy('r.created_at')
        .limit(200)
        .execute();
    },

    /** Decides a request only if it is still pending, so two admins cannot both decide it. */
    async decideJoinRequest(
      executor: Executor,
      organisationCode: string,
      id: string,
      decision: { status: JoinRequestStatus; decidedBy: string; note: string | null; at: string },
    ): Promise<boolean> {
      const result = await executor
        .updateTable('join_requests')
        .set({
          status: decision.status,
          decided_by: decision.decidedBy,
          decision_note: decision.note,
          decided_at: decision.at,
        })
        .where('organisation_code', '=', organisationCode)
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /**
     * Closes a person's pending requests to join: to one organisation once they are in it, or to
     * every organisation when their account goes.
     */
    async withdrawPendingJoinRequests(
      executor: Executor,
      userId: string,
      at: string,
      organisationCode?: string,
    ): Promise<void> {
      let update = executor
        .updateTable('join_requests')
        .set({ status: 'withdrawn', decided_at: at })
        .where('user_id', '=', userId)
        .where('status', '=', 'pending');
      if (organisationCode) update = update.where('organisation_code', '=', organisationCode);
      await update.execute();
    },

    async findJoinRequestsOfUser(userId: string) {
      return db
        .selectFrom('join_requests as r')
        .innerJoin('organisations as o', 'o.code', 'r.organisation_code')
        .where('r.user_id', '=', userId)
        .select([
          'r.organisation_code',
          'o.name as organisation_name',
          'r.message',
          'r.status',
          'r.created_at',
          'r.decided_at',
          'r.decision_note',
        ])
        .orderBy('r.created_at')
        .execute();
    },

    // --- invitations ---

    async insertInvitation(executor: Executor, invitation: InvitationRow): Promise<void> {
      await executor.insertInto('invitations').values(invitation).execute();
    },

    async findInvitationByTokenHash(
      tokenHash: string,
      executor: Executor = db,
    ): Promise<(InvitationRow & { organisation_name: string }) | undefined> {
      return executor
        .selectFrom('invitations as i')
        .innerJoin('organisations as o', 'o.code', 'i.organisation_code')
        .where('i.token_hash', '=', tokenHash)
        .selectAll('i')
        .select('o.name as organisation_name')
        .executeTakeFirst();
    },

    async findInvitations(
      organisationCode: string,
    ): Promise<(InvitationRow & { invited_by_name: string })[]> {
      return db
        .selectFrom('invitations as i')
        .innerJoin('users as u', 'u.id', 'i.invited_by')
        .where('i.organisation_code', '=', organisationCode)
        .selectAll('i')
        .select('u.display_name as invited_by_name')
        .orderBy('i.created_at', 'desc')
        .limit(200)
        .execute();
    },

    async findInvitation(organisationCode: string, id: string): Promise<InvitationRow | undefined> {
      return db
        .selectFrom('invitations')
        .selectAll()
        .where('organisation_code', '=', organisationCode)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    /** Accepts only an invitation that is still open, once. */
    async acceptInvitation(
      executor: Executor,
      id: string,
      userId: string,
      at: string,
    ): Promise<boolean> {
      const result = await executor
        .updateTable('invitations')
        .set({ accepted_at: at, accepted_by: userId })
        .where('id', '=', id)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', at)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async revokeInvitation(
      executor: Executor,
      organisationCode: string,
      id: string,
      at: string,
    ): Promise<boolean> {
      const result = await executor
        .updateTable('invitations')
        .set({ revoked_at: at })
        .where('organisation_code', '=', organisationCode)
        .where('id', '=', id)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async findInvitationsForEmail(address: string) {
      return db
        .selectFrom('invitations as i')
        .innerJoin('organisations as o', 'o.code', 'i.organisation_code')
        .where('i.email', '=', address)
        .select([
          'i.organisation_code',
          'o.name as organisation_name',
          'i.role',
          'i.created_at',
          'i.expires_at',
          'i.accepted_at',
          'i.revoked_at',
        ])
        .orderBy('i.created_at')
        .execute();
    },
  };
}

export type MembershipRepository = ReturnType<typeof createMembershipRepository>;
