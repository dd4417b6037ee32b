import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { RequestContext } from '../../web/request-context.ts';
import {
  assertCan,
  organisationScope,
  type Actor,
  type OrganisationScope,
} from '../access/policy.ts';
import type { AuditFilters, AuditRepository } from './audit.repository.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/** What happened, to what, and how it ended. `details` must never hold secrets or passwords. */
export interface AuditEvent {
  action: string;
  outcome?: 'success' | 'failure' | 'refused';
  actorUserId: string | null;
  targetType?: string;
  targetId?: string;
  organisationCode?: string | null;
  details?: Record<string, unknown>;
}

/**
 * The audit log: an append-only record of authentication events, membership and role changes and
 * admin actions — who, what, when, and from where.
 */
export function createAuditService(
  repository: AuditRepository,
  db: Kysely<Database>,
  options: { now?: () => Date } = {},
) {
  const now = options.now ?? (() => new Date());
  return {
    /** Records an event; pass the caller's transaction so the record commits with the change. */
    async record(
      event: AuditEvent,
      context: RequestContext | null,
      executor: Executor = db,
    ): Promise<void> {
      await repository.insert(executor, {
        occurredAt: now().toISOString(),
        actorUserId: event.actorUserId,
        action: event.action,
        outcome: event.outcome ?? 'success',
        targetType: event.targetType,
        targetId: event.targetId,
        organisationCode: event.organisationCode ?? null,
        ip: context?.ip ?? null,
        userAgent: context?.userAgent ?? null,
        details: event.details ?? null,
      });
    },

    /**
     * What was recorded with earlier events, for a module that kept nothing else: an import's file
     * is named only in its audit record.
     */
    findDetails(
      filter: { actions: readonly string[]; targetType: string; targetIds: readonly string[] },
      executor: Executor = db,
    ) {
      return repository.findDetails(executor, filter);
    },

    /**
     * When something was last done to a target, and what was recorded: a module that deletes a
     * thing keeps only this record of it, so a later visit can be told what went and when.
     */
    findLatest(
      filter: { action: string; targetType: string; targetId: string },
      executor: Executor = db,
    ) {
      return repository.findLatest(executor, filter);
    },

    /** Platform admins read everything; organisation and ICS admins read what concerns their organisations. */
    async listEvents(actor: Actor | null, filters: AuditFilters) {
      return repository.find(readableScope(actor), filters);
    },

    /** Refuses (ForbiddenError) anyone who may read no part of the log, before a filter is read. */
    assertMayRead(actor: Actor | null): void {
      readableScope(actor);
    },

    /** The actions the reader may filter by: those of the events they may read. */
    distinctActions: (actor: Actor | null) => repository.distinctActions(readableScope(actor)),
    findForUser: (userId: string) => repository.findForActorOrTarget(userId),
  };
}

/** The organisations whose events someone may read; throws ForbiddenError for none. */
function readableScope(actor: Actor | null): OrganisationScope {
  const scope: OrganisationScope =
    actor?.isPlatformAdmin && actor.twoFactorEnabled
      ? { kind: 'all' }
      : organisationScope(actor, 'organisation.view_audit');
  if (scope.kind === 'some' && scope.codes.length === 0) {
    assertCan(actor, 'platform.view_audit', { kind: 'platform' });
  }
  return scope;
}

export type AuditService = ReturnType<typeof createAuditService>;
