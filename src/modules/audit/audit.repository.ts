import { sql, type Kysely, type Transaction } from 'kysely';
import type { AuditEventRow, Database } from '../../db/schema.ts';
import type { OrganisationScope } from '../access/policy.ts';

type Executor = Kysely<Database> | Transaction<Database>;

export interface NewAuditEvent {
  occurredAt: string;
  actorUserId: string | null;
  action: string;
  outcome: 'success' | 'failure' | 'refused';
  targetType?: string | null;
  targetId?: string | null;
  organisationCode?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  details?: Record<string, unknown> | null;
}

export interface AuditFilters {
  actorEmail?: string;
  action?: string;
  organisationCode?: string;
  from?: string;
  to?: string;
  limit: number;
  offset: number;
}

export interface AuditListItem extends AuditEventRow {
  actor_email: string | null;
  actor_name: string | null;
}

/** Inserts and reads only: the table refuses updates and deletes (a trigger in migration 0002). */
export function createAuditRepository(db: Kysely<Database>) {
  /** The events (`e`, with their organisation `o`) within the scope, for every read of the log. */
  function eventsInScope(scope: OrganisationScope) {
    const query = db
      .selectFrom('audit_events as e')
      .leftJoin('organisations as o', 'o.code', 'e.organisation_code');
    if (scope.kind === 'all') return query;
    return query.where((eb) => {
      const conditions = [
        eb('e.organisation_code', 'in', scope.codes.length > 0 ? scope.codes : ['-']),
      ];
      for (const ancestor of scope.underAncestors) {
        conditions.push(eb('o.ancestor_path', 'like', `%/${ancestor}/%`));
      }
      return eb.or(conditions);
    });
  }

  return {
    async insert(executor: Executor, event: NewAuditEvent): Promise<void> {
      await executor
        .insertInto('audit_events')
        .values({
          occurred_at: event.occurredAt,
          actor_user_id: event.actorUserId,
          action: event.action,
          outcome: event.outcome,
          target_type: event.targetType ?? null,
          target_id: event.targetId ?? null,
          organisation_code: event.organisationCode ?? null,
          ip: event.ip ?? null,
          user_agent: event.userAgent ?? null,
          details: event.details ? JSON.stringify(event.details) : null,
        })
        .execute();
    },

    /** The details of successful events of these actions about these targets. */
    async findDetails(
      executor: Executor,
      filter: { actions: readonly string[]; targetType: string; targetIds: readonly string[] },
    ): Promise<Record<string, unknown>[]> {
      if (filter.actions.length === 0 || filter.targetIds.length === 0) return [];
      const rows = await executor
        .selectFrom('audit_events')
        .select('details')
        .where('action', 'in', [...filter.actions])
        .where('outcome', '=', 'success')
        .where('target_type', '=', filter.targetType)
        .where('target_id', 'in', [...filter.targetIds])
        .where('details', 'is not', null)
        .execute();
      return rows.map((row) => JSON.parse(row.details!) as Record<string, unknown>);
    },

    /** The latest successful event of this action about this target, with its details. */
    async findLatest(
      executor: Executor,
      filter: { action: string; targetType: string; targetId: string },
    ): Promise<
      | { occurredAt: string; organisationCode: string | null; details: Record<string, unknown> }
      | undefined
    > {
      const row = await executor
        .selectFrom('audit_events')
        .select(['occurred_at', 'organisation_code', 'details'])
        .where('action', '=', filter.action)
        .where('outcome', '=', 'success')
        .where('target_type', '=', filter.targetType)
        .where('target_id', '=', filter.targetId)
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (!row) return undefined;
      return {
        occurredAt: row.occurred_at,
        organisationCode: row.organisation_code,
        details: row.details ? (JSON.parse(row.details) as Record<string, unknown>) : {},
      };
    },

    /** Events within the scope: all of them, or those about organisations the reader manages. */
    async find(
      scope: OrganisationScope,
      filters: AuditFilters,
    ): Promise<{ items: AuditListItem[]; total: number }> {
      let query = eventsInScope(scope).leftJoin('users as u', 'u.id', 'e.actor_user_id');
      if (filters.actorEmail)
        query = query.where(sql`lower(u.email)`, '=', filters.actorEmail.toLowerCase());
      if (filters.action) query = query.where('e.action', '=', filters.action);
      if (filters.organisationCode)
        query = query.where('e.organisation_code', '=', filters.organisationCode);
      if (filters.from) query = query.where('e.occurred_at', '>=', filters.from);
      if (filters.to) query = query.where('e.occurred_at', '<', filters.to);
      const countRow = await query
        .select((eb) => eb.fn.countAll<number>().as('total'))
        .executeTakeFirstOrThrow();
      const items = await query
        .selectAll('e')
        .select(['u.email as actor_email', 'u.display_name as actor_name'])
        .orderBy('e.id', 'desc')
        .limit(filters.limit)
        .offset(filters.offset)
        .execute();
      return { items, total: Number(countRow.total) };
    },

    /**
     * The events a person performed or that were done to them. The IP address and user agent are
     * kept only for events they performed: on the others (an admin changing their role, a manager
     * deciding their request) those are the other person's, so they come back null.
     */
    async findForActorOrTarget(userId: string): Promise<AuditEventRow[]> {
      return db
        .selectFrom('audit_events')
        .select((eb) => [
          'id',
          'occurred_at',
          'actor_user_id',
          'action',
          'outcome',
          'target_type',
          'target_id',
          'organisation_code',
          'details',
          eb.case().when('actor_user_id', '=', userId).then(eb.ref('ip')).else(null).end().as('ip'),
          eb
            .case()
            .when('actor_user_id', '=', userId)
            .then(eb.ref('user_agent'))
            .else(null)
            .end()
            .as('user_agent'),
        ])
        .where((eb) =>
          eb.or([
            eb('actor_user_id', '=', userId),
            eb.and([eb('target_type', '=', 'user'), eb('target_id', '=', userId)]),
          ]),
        )
        .orderBy('id')
        .execute();
    },

    /**
     * The actions of the events within the scope, for the filter's choices: naming an action only
     * recorded elsewhere would tell a reader about other organisations' events.
     */
    async distinctActions(scope: OrganisationScope): Promise<string[]> {
      const rows = await eventsInScope(scope)
        .select('e.action')
        .distinct()
        .orderBy('e.action')
        .execute();
      return rows.map((row) => row.action);
    },
  };
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;
