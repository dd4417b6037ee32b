import { sql, type ExpressionBuilder, type Kysely, type Transaction } from 'kysely';
import type { Dialect } from '../../db/database.ts';
import { nextCalendarDay, ukDayStart } from '../../lib/uk-time.ts';
import type {
  ContentFileRole,
  ContentFileRow,
  ContentItemRow,
  ContentRevisionRow,
  Database,
} from '../../db/schema.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Who can read what, in a form a WHERE clause can use: everything, or public content plus content
 * of these workspaces and of these organisations (and of every organisation under these ancestors).
 */
export type ReadScope =
  | { kind: 'all' }
  | { kind: 'some'; workspaceIds: string[]; organisationCodes: string[]; underAncestors: string[] };

export interface ContentListFilters {
  type?: string;
  area?: string;
  organisation?: string;
  tag?: string;
  /** Published on or after, a UK calendar day `YYYY-MM-DD`. */
  from?: string;
  /** Published before the end of, a UK calendar day `YYYY-MM-DD`. */
  to?: string;
  /** Events: only those that have not ended (`upcoming`, soonest first) or have (`past`, latest first). */
  timing?: 'upcoming' | 'past';
  limit: number;
  offset: number;
}

export interface ContentListItem {
  id: string;
  content_type: string;
  slug: string;
  title: string;
  summary: string;
  organisation_code: string;
  organisation_name: string;
  privacy: string;
  published_at: string | null;
  updated_at: string;
  starts_at: string | null;
  is_example: number;
}

export interface SearchHit extends ContentListItem {
  snippet: string;
  title_hit: number;
  rank: number;
}

/** The markers search snippets use around matched words; replaced by <mark> after escaping. */
export const HIGHLIGHT_START = '\u0001';
export const HIGHLIGHT_END = '\u0002';

type Builder = ExpressionBuilder<
  Database & { owner: Database['organisations'] },
  'content_items' | 'owner'
>;

/** Published, and readable in this scope. Used by every query that shows content to someone. */
function readable(scope: ReadScope) {
  return (eb: Builder) => {
    const published = eb('content_items.status', '=', 'published');
    if (scope.kind === 'all') return published;
    const orgConditions = [
      eb(
        'content_items.organisation_code',
        'in',
        scope.organisationCodes.length > 0 ? scope.organisationCodes : ['-'],
      ),
    ];
    for (const ancestor of scope.underAncestors)
      orgConditions.push(eb('owner.ancestor_path', 'like', `%/${ancestor}/%`));
    return eb.and([
      published,
      eb.or([
        eb('content_items.privacy', '=', 'public'),
        eb.and([
          eb('content_items.privacy', '=', 'workspace'),
          eb(
            'content_items.workspace_id',
            'in',
            scope.workspaceIds.length > 0 ? scope.workspaceIds : ['-'],
          ),
        ]),
        eb.and([eb('content_items.privacy', '=', 'organisation'), eb.or(orgConditions)]),
      ]),
    ]);
  };
}

/** Every query of the knowledge hub. Reads for display always go through `readable(scope)`. */
export function createContentRepository(db: Kysely<Database>, dialect: Dialect) {
  // When an event ends: its end from its details, or its start when it has no end.
  const eventEnd =
    dialect === 'sqlite'
      ? sql<string>`coalesce(nullif(json_extract(content_items.details, '$.endsAt'), ''), content_items.starts_at)`
      : sql<string>`coalesce(nullif(content_items.details::json ->> 'endsAt', ''), content_items.starts_at)`;

  function listBase(scope: ReadScope) {
    return db
      .selectFrom('content_items')
      .innerJoin('organisations as owner', 'owner.code', 'content_items.organisation_code')
      .where(readable(scope))
      .select([
        'content_items.id',
        'content_items.content_type',
        'content_items.slug',
        'content_items.title',
        'content_items.summary',
        'content_items.organisation_code',
        'owner.name as organisation_name',
        'content_items.privacy',
        'content_items.published_at',
        'content_items.updated_at',
        'content_items.starts_at',
        'content_items.is_example',
      ]);
  }

  type ListQuery = ReturnType<typeof listBase>;

  function applyFilters(
    query: ListQuery,
    filters: Omit<ContentListFilters, 'limit' | 'offset'>,
    ukNow: string,
  ): ListQuery {
    let result = query;
    if (filters.type) result = result.where('content_items.content_type', '=', filters.type);
    if (filters.area) {
      const area = filters.area;
      result = result.where('content_items.id', 'in', (eb) =>
        eb.selectFrom('content_areas').select('content_id').where('area_slug', '=', area),
      );
    }
    if (filters.organisation) {
      const code = filters.organisation;
      result = result.where((eb) =>
        eb.or([
          eb('content_items.organisation_code', '=', code),
          eb('content_items.id', 'in', (sub) =>
            sub
              .selectFrom('content_organisation_tags')
              .select('content_id')
              .where('organisation_code', '=', code),
          ),
        ]),
      );
    }
    if (filters.tag) {
      const tag = filters.tag;
      result = result.where('content_items.id', 'in', (eb) =>
        eb.selectFrom('content_tags').select('content_id').where('tag', '=', tag),
      );
    }
    // Days are UK calendar days, as lists show publication dates; moments are stored in UTC.
    if (filters.from)
      result = result.where(
        'content_items.published_at',
        '>=',
        ukDayStart(filters.from).toISOString(),
      );
    if (filters.to)
      result = result.where(
        'content_items.published_at',
        '<',
        ukDayStart(nextCalendarDay(filters.to)).toISOString(),
      );
    // An event is coming up until it ends (an event without an end, until it starts); times are
    // UK wall-clock text, so `ukNow` is too.
    if (filters.timing === 'upcoming') result = result.where(eventEnd, '>=', ukNow);
    if (filters.timing === 'past') result = result.where(eventEnd, '<', ukNow);
    return result;
  }

  return {
    transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
      return db.transaction().execute(work);
    },

    async insertItem(executor: Executor, row: ContentItemRow): Promise<void> {
      await executor.insertInto('content_items').values(row).execute();
    },

    async updateItem(
      executor: Executor,
      id: string,
      changes: Partial<Omit<ContentItemRow, 'id'>>,
    ): Promise<void> {
      await executor.updateTable('content_items').set(changes).where('id', '=', id).execute();
    },

    /**
     * Changes an item only if it is still at `revision`, so that a save made from an older read
     * never overwrites a newer one; says whether it did. Inside a transaction, a concurrent save
     * that committed first leaves this one changing nothing (PostgreSQL re-checks the condition on
     * the row it waited for).
     */
    async updateItemAtRevision(
      executor: Executor,
      id: string,
      revision: number,
      changes: Partial<Omit<ContentItemRow, 'id'>>,
    ): Promise<boolean> {
      const result = await executor
        .updateTable('content_items')
        .set(changes)
        .where('id', '=', id)
        .where('revision', '=', revision)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async findItem(id: string, executor: Executor = db): Promise<ContentItemRow | undefined> {
      return executor
        .selectFrom('content_items')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
    },

    async findItemBySlug(type: string, slug: string): Promise<ContentItemRow | undefined> {
      return db
        .selectFrom('content_items')
        .selectAll()
        .where('content_type', '=', type)
        .where('slug', '=', slug)
        .executeTakeFirst();
    },

    async findItemByExternalRef(
      ref: string,
      executor: Executor = db,
    ): Promise<ContentItemRow | undefined> {
      return executor
        .selectFrom('content_items')
        .selectAll()
        .where('external_ref', '=', ref)
        .executeTakeFirst();
    },

    async slugExists(type: string, slug: string, exceptId?: string): Promise<boolean> {
      let query = db
        .selectFrom('content_items')
        .select('id')
        .where('content_type', '=', type)
        .where('slug', '=', slug);
      if (exceptId) query = query.where('id', '!=', exceptId);
      return (await query.executeTakeFirst()) !== undefined;
    },

    async replaceTags(
      executor: Executor,
      contentId: string,
      tags: { areas: string[]; organisations: string[]; tags: string[] },
    ): Promise<void> {
      await executor.deleteFrom('content_areas').where('content_id', '=', contentId).execute();
      await executor
        .deleteFrom('content_organisation_tags')
        .where('content_id', '=', contentId)
        .execute();
      await executor.deleteFrom('content_tags').where('content_id', '=', contentId).execute();
      if (tags.areas.length > 0) {
        await executor
          .insertInto('content_areas')
          .values(tags.areas.map((area_slug) => ({ content_id: contentId, area_slug })))
          .execute();
      }
      if (tags.organisations.length > 0) {
        await executor
          .insertInto('content_organisation_tags')
          .values(
            tags.organisations.map((organisation_code) => ({
              content_id: contentId,
              organisation_code,
            })),
          )
          .execute();
      }
      if (tags.tags.length > 0) {
        await executor
          .insertInto('content_tags')
          .values(tags.tags.map((tag) => ({ content_id: contentId, tag })))
          .execute();
      }
    },

    /** The item's labels; pass the transaction when reading inside one. */
    async findTags(
      contentId: string,
      executor: Executor = db,
    ): Promise<{
      areas: string[];
      organisations: { code: string; name: string }[];
      tags: string[];
    }> {
      const [areas, organisations, tags] = await Promise.all([
        executor
          .selectFrom('content_areas')
          .select('area_slug')
          .where('content_id', '=', contentId)
          .orderBy('area_slug')
          .execute(),
        executor
          .selectFrom('content_organisation_tags as t')
          .innerJoin('organisations as o', 'o.code', 't.organisation_code')
          .select(['o.code', 'o.name'])
          .where('t.content_id', '=', contentId)
          .orderBy('o.name')
          .execute(),
        executor
          .selectFrom('content_tags')
          .select('tag')
          .where('content_id', '=', contentId)
          .orderBy('tag')
          .execute(),
      ]);
      return {
        areas: areas.map((row) => row.area_slug),
        organisations,
        tags: tags.map((row) => row.tag),
      };
    },

    async insertRevision(executor: Executor, row: ContentRevisionRow): Promise<void> {
      await executor.insertInto('content_revisions').values(row).execute();
    },

    async findRevisions(contentId: string) {
      return db
        .selectFrom('content_revisions as r')
        .leftJoin('users as u', 'u.id', 'r.created_by')
        .select([
          'r.revision_number',
          'r.status',
          'r.privacy',
          'r.note',
          'r.created_at',
          'r.title',
          'u.display_name as author',
        ])
        .where('r.content_id', '=', contentId)
        .orderBy('r.revision_number', 'desc')
        .execute();
    },

    async findRevision(
      contentId: string,
      revisionNumber: number,
    ): Promise<ContentRevisionRow | undefined> {
      return db
        .selectFrom('content_revisions')
        .selectAll()
        .where('content_id', '=', contentId)
        .where('revision_number', '=', revisionNumber)
        .executeTakeFirst();
    },

    async insertContentFile(executor: Executor, row: ContentFileRow): Promise<void> {
      await executor.insertInto('content_files').values(row).execute();
    },

    async deleteContentFilesOfRole(
      executor: Executor,
      contentId: string,
      role: ContentFileRole,
    ): Promise<string[]> {
      const rows = await executor
        .selectFrom('content_files')
        .select('file_id')
        .where('content_id', '=', contentId)
        .where('role', '=', role)
        .execute();
      await executor
        .deleteFrom('content_files')
        .where('content_id', '=', contentId)
        .where('role', '=', role)
        .execute();
      return rows.map((row) => row.file_id);
    },

    async findContentFiles(contentId: string) {
      return db
        .selectFrom('content_files as f')
        .innerJoin('stored_files as s', 's.id', 'f.file_id')
        .leftJoin('users as u', 'u.id', 'f.created_by')
        .select([
          'f.id',
          'f.file_id',
          'f.role',
          'f.title',
          'f.version_number',
          'f.note',
          'f.created_at',
          's.content_type',
          's.extension',
          's.size_bytes',
          's.original_name',
          'u.display_name as uploaded_by_name',
        ])
        .where('f.content_id', '=', contentId)
        .orderBy('f.role')
        .orderBy('f.version_number', 'desc')
        .orderBy('f.created_at')
        .execute();
    },

    async findContentFile(contentId: string, fileId: string) {
      return db
        .selectFrom('content_files')
        .selectAll()
        .where('content_id', '=', contentId)
        .where('file_id', '=', fileId)
        .executeTakeFirst();
    },

    /**
     * Holds an item's row until the transaction ends, so that two changes to its files (two
     * versions numbered, two videos replacing one) are made one after the other.
     */
    async holdItem(executor: Executor, contentId: string): Promise<void> {
      await executor
        .updateTable('content_items')
        .set((eb) => ({ updated_at: eb.ref('updated_at') }))
        .where('id', '=', contentId)
        .execute();
    },

    async nextVersionNumber(executor: Executor, contentId: string): Promise<number> {
      const row = await executor
        .selectFrom('content_files')
        .select((eb) => eb.fn.max('version_number').as('latest'))
        .where('content_id', '=', contentId)
        .where('role', '=', 'document_version')
        .executeTakeFirst();
      return Number(row?.latest ?? 0) + 1;
    },

    async list(
      scope: ReadScope,
      filters: ContentListFilters,
      ukNow: string,
    ): Promise<{ items: ContentListItem[]; total: number }> {
      const filtered = applyFilters(listBase(scope), filters, ukNow);
      const countRow = await filtered
        .clearSelect()
        .select((eb) => eb.fn.countAll<number>().as('total'))
        .executeTakeFirstOrThrow();
      let ordered = filtered;
      ordered =
        filters.timing === 'upcoming'
          ? ordered.orderBy('content_items.starts_at', 'asc')
          : filters.type === 'event'
            ? ordered.orderBy('content_items.starts_at', 'desc')
            : ordered.orderBy('content_items.published_at', 'desc');
      const items = await ordered
        .orderBy('content_items.id')
        .limit(filters.limit)
        .offset(filters.offset)
        .execute();
      return { items, total: Number(countRow.total) };
    },

    /** The item if the scope may read it (published and visible), for public pages. */
    async findReadable(
      scope: ReadScope,
      type: string,
      slug: string,
    ): Promise<ContentItemRow | undefined> {
      return db
        .selectFrom('content_items')
        .innerJoin('organisations as owner', 'owner.code', 'content_items.organisation_code')
        .where(readable(scope))
        .where('content_items.content_type', '=', type)
        .where('content_items.slug', '=', slug)
        .selectAll('content_items')
        .executeTakeFirst();
    },

    /**
     * Current organisations in an organisation scope, by name: those with these codes or under
     * these ancestors, or every one. The service narrows the rows further through the policy.
     */
    async findOrganisationsInScope(
      scope:
        | { kind: 'all' }
        | { kind: 'some'; codes: readonly string[]; underAncestors: readonly string[] },
    ): Promise<{ code: string; name: string; ancestor_path: string }[]> {
      if (scope.kind === 'some' && scope.codes.length === 0 && scope.underAncestors.length === 0)
        return [];
      let query = db
        .selectFrom('organisations')
        .select(['code', 'name', 'ancestor_path'])
        .where('retired_at', 'is', null);
      if (scope.kind === 'some') {
        query = query.where((eb) =>
          eb.or([
            eb('code', 'in', scope.codes.length > 0 ? [...scope.codes] : ['-']),
            ...scope.underAncestors.map((ancestor) =>
              eb('ancestor_path', 'like', `%/${ancestor}/%`),
            ),
          ]),
        );
      }
      return query.orderBy('name').orderBy('code').execute();
    },

    /** Items an editor may change: those owned by organisations in their edit scope. */
    async findEditable(scope: ReadScope, page: { limit: number; offset: number }) {
      let query = db
        .selectFrom('content_items')
        .innerJoin('organisations as owner', 'owner.code', 'content_items.organisation_code');
      if (scope.kind === 'some') {
        query = query.where((eb) => {
          const conditions = [
            eb(
              'content_items.organisation_code',
              'in',
              scope.organisationCodes.length > 0 ? scope.organisationCodes : ['-'],
            ),
          ];
          for (const ancestor of scope.underAncestors)
            conditions.push(eb('owner.ancestor_path', 'like', `%/${ancestor}/%`));
          return eb.or(conditions);
        });
      }
      const [items, countRow] = await Promise.all([
        query
          .select([
            'content_items.id',
            'content_items.content_type',
            'content_items.slug',
            'content_items.title',
            'content_items.status',
            'content_items.privacy',
            'content_items.updated_at',
            'owner.name as organisation_name',
          ])
          .orderBy('content_items.updated_at', 'desc')
          .orderBy('content_items.id')
          .limit(page.limit)
          .offset(page.offset)
          .execute(),
        query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
      ]);
      return { items, total: Number(countRow.total) };
    },

    // --- search ---

    async upsertSearchRow(
      executor: Executor,
      contentId: string,
      title: string,
      body: string,
    ): Promise<void> {
      await executor.deleteFrom('content_search').where('content_id', '=', contentId).execute();
      await executor
        .insertInto('content_search')
        .values({ content_id: contentId, title, body })
        .execute();
    },

    async deleteSearchRow(executor: Executor, contentId: string): Promise<void> {
      await executor.deleteFrom('content_search').where('content_id', '=', contentId).execute();
    },

    /**
     * Full-text search of readable content. Items whose title matches every word come first, then
     * by relevance (BM25 on SQLite, ts_rank_cd on PostgreSQL, with titles weighted above bodies).
     */
    async search(
      scope: ReadScope,
      words: string[],
      filters: Omit<ContentListFilters, 'limit' | 'offset'>,
      page: { limit: number; offset: number },
      ukNow: string,
    ): Promise<{ items: SearchHit[]; total: number }> {
      if (words.length === 0) return { items: [], total: 0 };
      const base = applyFilters(listBase(scope), filters, ukNow);
      if (dialect === 'sqlite') {
        // Each word quoted, so nothing typed is read as FTS5 syntax; the last word may be a prefix.
        const quoted = words.map(
          (word, index) => `"${word.replace(/"/g, '""')}"${index === words.length - 1 ? '*' : ''}`,
        );
        const match = quoted.join(' ');
        const titleMatch = `title : (${quoted.join(' AND ')})`;
        const query = base
          .innerJoin('content_search', 'content_search.content_id', 'content_items.id')
          .where(sql<boolean>`content_search match ${match}`);
        const countRow = await query
          .clearSelect()
          .select((eb) => eb.fn.countAll<number>().as('total'))
          .executeTakeFirstOrThrow();
        const items = await query
          .select([
            sql<string>`snippet(content_search, 2, ${HIGHLIGHT_START}, ${HIGHLIGHT_END}, '…', 24)`.as(
              'snippet',
            ),
            sql<number>`(select count(*) from content_search t where t.rowid = content_search.rowid and t.content_search match ${titleMatch})`.as(
              'title_hit',
            ),
            sql<number>`bm25(content_search, 0, 10.0, 1.0)`.as('rank'),
          ])
          .orderBy('title_hit', 'desc')
          .orderBy('rank', 'asc')
          .orderBy('content_items.id')
          .limit(page.limit)
          .offset(page.offset)
          .execute();
        return { items, total: Number(countRow.total) };
      }
      // Words are letters and digits only (the service makes sure), so they are safe tsquery terms.
      const tsQuery = sql`to_tsquery('english', ${words.map((word, index) => (index === words.length - 1 ? `${word}:*` : word)).join(' & ')})`;
      const query = base
        .innerJoin('content_search', 'content_search.content_id', 'content_items.id')
        .where(sql<boolean>`content_search.document @@ ${tsQuery}`);
      const countRow = await query
        .clearSelect()
        .select((eb) => eb.fn.countAll<number>().as('total'))
        .executeTakeFirstOrThrow();
      const items = await query
        .select([
          sql<string>`ts_headline('english', content_search.body, ${tsQuery}, ${`StartSel=${HIGHLIGHT_START}, StopSel=${HIGHLIGHT_END}, MaxWords=35, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "`})`.as(
            'snippet',
          ),
          sql<number>`case when to_tsvector('english', content_search.title) @@ ${tsQuery} then 1 else 0 end`.as(
            'title_hit',
          ),
          sql<number>`ts_rank_cd(content_search.document, ${tsQuery})`.as('rank'),
        ])
        .orderBy('title_hit', 'desc')
        .orderBy('rank', 'desc')
        .orderBy('content_items.id')
        .limit(page.limit)
        .offset(page.offset)
        .execute();
      return { items, total: Number(countRow.total) };
    },

    /** The items a person created or last changed, and the revisions they saved. */
    async findPersonalData(userId: string) {
      const [items, revisions] = await Promise.all([
        db
          .selectFrom('content_items')
          .select([
            'content_type',
            'slug',
            'title',
            'status',
            'created_by',
            'updated_by',
            'created_at',
            'updated_at',
          ])
          .where((eb) => eb.or([eb('created_by', '=', userId), eb('updated_by', '=', userId)]))
          .orderBy('created_at')
          .execute(),
        db
          .selectFrom('content_revisions as r')
          .innerJoin('content_items as c', 'c.id', 'r.content_id')
          .select(['c.slug', 'r.revision_number', 'r.title', 'r.status', 'r.note', 'r.created_at'])
          .where('r.created_by', '=', userId)
          .orderBy('r.created_at')
          .execute(),
      ]);
      return { items, revisions };
    },
  };
}

export type ContentRepository = ReturnType<typeof createContentRepository>;
