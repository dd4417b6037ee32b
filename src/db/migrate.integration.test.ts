import { Migrator, sql, type Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  testDialects,
  type TestDatabase,
} from '../../test/support/test-database.ts';
import { findPendingMigrations, migrateToLatest } from './migrate.ts';
import { migrations } from './migrations/index.ts';

describe.each(testDialects)('migrations on %s', (dialect) => {
  let database: TestDatabase | undefined;

  afterEach(async () => {
    await database?.destroy();
    database = undefined;
  });

  it('bring an empty database up to date once, and then have nothing left to do', async () => {
    database = await createTestDatabase(dialect, { contents: 'empty' });
    expect(await findPendingMigrations(database.handle)).toEqual(Object.keys(migrations));

    const firstRun = await migrateToLatest(database.handle);
    expect(firstRun).toEqual(Object.keys(migrations));
    expect(await findPendingMigrations(database.handle)).toEqual([]);
    expect(await migrateToLatest(database.handle)).toEqual([]);

    const tables = await database.handle.db.introspection.getTables();
    const names = tables.map((table) => table.name);
    expect(names).toEqual(
      expect.arrayContaining(['organisations', 'practice_profiles', 'reference_datasets']),
    );
  });

  it('leave nothing behind when one fails half way, so that the next run meets the same error', async () => {
    database = await createTestDatabase(dialect, { contents: 'empty' });
    const failing = new Migrator({
      db: database.handle.db,
      provider: {
        getMigrations: async () => ({
          '0001-half-way': {
            async up(db: Kysely<unknown>) {
              await db.schema
                .createTable('made_before_failing')
                .addColumn('id', 'text', (column) => column.primaryKey())
                .execute();
              await sql`insert into made_before_failing (id) values ('a')`.execute(db);
              throw new Error('the second step failed');
            },
          },
        }),
      },
    });
    for (let time = 0; time < 2; time++) {
      const { error } = await failing.migrateToLatest();
      expect((error as Error).message, `run ${time + 1}`).toBe('the second step failed');
    }
    const names = (await database.handle.db.introspection.getTables()).map((table) => table.name);
    expect(names).not.toContain('made_before_failing');
  });

  it('enforce foreign keys, so a practice profile cannot point at a missing organisation', async () => {
    database = await createTestDatabase(dialect, { contents: 'empty' });
    await migrateToLatest(database.handle);
    await expect(
      database.handle.db
        .insertInto('practice_profiles')
        .values({ practice_code: 'X99999', updated_at: new Date().toISOString() })
        .execute(),
    ).rejects.toThrow(/foreign key/i);
  });
});

describe.each(testDialects)('moving action comments to discussions on %s', (dialect) => {
  it('turns each comment into a post on its action’s conversation, keeping ids, authors and times', async () => {
    const database = await createTestDatabase(dialect, { contents: 'empty' });
    try {
      const migrator = new Migrator({
        db: database.handle.db,
        provider: { getMigrations: async () => migrations },
      });
      const { error } = await migrator.migrateTo('0007-discussions');
      expect(error).toBeUndefined();
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema before 0008
      const db = database.handle.db as Kysely<any>;
      const at = '2025-01-01T09:00:00.000Z';
      await db
        .insertInto('organisations')
        .values({
          code: 'QK1',
          org_type: 'icb',
          name: 'LLR ICB',
          parent_code: null,
          ancestor_path: '/QK1/',
          source_dataset: 'test',
          created_at: at,
          updated_at: at,
        })
        .execute();
      await db
        .insertInto('users')
        .values({
          id: '11111111-1111-4111-8111-111111111111',
          email: 'commenter@example.nhs.net',
          display_name: 'Commenter',
          status: 'active',
          created_at: at,
          updated_at: at,
          handle: 'commenter',
        })
        .execute();
      await db
        .insertInto('green_plans')
        .values({
          id: '22222222-2222-4222-8222-222222222222',
          slug: 'plan',
          title: 'Plan',
          description: '',
          owner_organisation_code: 'QK1',
          period_start: '2024-04-01',
          period_end: '2027-03-31',
          status: 'published',
          created_at: at,
          updated_at: at,
        })
        .execute();
      const areaId = '33333333-3333-4333-8333-333333333333';
      await db
        .insertInto('green_plan_areas')
        .values({
          id: areaId,
          plan_id: '22222222-2222-4222-8222-222222222222',
          slug: 'medicines',
          name: 'Medicines',
          national_slug: 'medicines',
          position: 1,
        })
        .execute();
      const actionId = '44444444-4444-4444-8444-444444444444';
      await db
        .insertInto('green_plan_actions')
        .values({
          id: actionId,
          plan_id: '22222222-2222-4222-8222-222222222222',
          reference: 'M-1',
          area_id: areaId,
          title: 'Inhalers',
          description: '',
          lead_organisation_code: 'QK1',
          status: 'on_track',
          progress_percent: 10,
          weight: 1,
          position: 1,
          created_at: at,
          updated_at: at,
        })
        .execute();
      const comment = (id: string, createdAt: string, deletedAt: string | null) => ({
        id,
        action_id: actionId,
        author_user_id: '11111111-1111-4111-8111-111111111111',
        body: `Comment ${id.slice(0, 4)}`,
        created_at: createdAt,
        edited_at: null,
        deleted_at: deletedAt,
      });
      await db
        .insertInto('action_comments')
        .values([
          comment('55555555-5555-4555-8555-555555555555', '2025-02-01T10:00:00.000Z', null),
          comment(
            '66666666-6666-4666-8666-666666666666',
            '2025-02-02T10:00:00.000Z',
            '2025-02-03T10:00:00.000Z',
          ),
        ])
        .execute();

      expect(await migrateToLatest(database.handle)).toContain('0008-action-comments-as-posts');

      const conversations = await database.handle.db
        .selectFrom('conversations')
        .selectAll()
        .execute();
      expect(conversations).toEqual([
        expect.objectContaining({
          subject_type: 'plan_action',
          subject_id: actionId,
          created_at: '2025-02-01T10:00:00.000Z',
          last_post_at: '2025-02-02T10:00:00.000Z',
        }),
      ]);
      const posts = await database.handle.db
        .selectFrom('posts')
        .select(['id', 'conversation_id', 'author_id', 'body', 'created_at', 'hidden_at'])
        .orderBy('created_at')
        .execute();
      expect(posts).toEqual([
        {
          id: '55555555-5555-4555-8555-555555555555',
          conversation_id: conversations[0]!.id,
          author_id: '11111111-1111-4111-8111-111111111111',
          body: 'Comment 5555',
          created_at: '2025-02-01T10:00:00.000Z',
          hidden_at: null,
        },
        {
          id: '66666666-6666-4666-8666-666666666666',
          conversation_id: conversations[0]!.id,
          author_id: '11111111-1111-4111-8111-111111111111',
          body: 'Comment 6666',
          created_at: '2025-02-02T10:00:00.000Z',
          hidden_at: '2025-02-03T10:00:00.000Z',
        },
      ]);
      const tables = (await database.handle.db.introspection.getTables()).map(
        (table) => table.name,
      );
      expect(tables).not.toContain('action_comments');
    } finally {
      await database.destroy();
    }
  });
});

describe('the embedded SQLite database', () => {
  it('uses WAL, a busy timeout and foreign keys', async () => {
    const database = await createTestDatabase('sqlite', { contents: 'empty' });
    const { db } = database.handle;
    const journal = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db);
    const busy = await sql<{ timeout: number }>`pragma busy_timeout`.execute(db);
    const foreignKeys = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db);
    expect(journal.rows[0]?.journal_mode).toBe('wal');
    expect(busy.rows[0]?.timeout).toBeGreaterThanOrEqual(5000);
    expect(foreignKeys.rows[0]?.foreign_keys).toBe(1);
    await database.destroy();
  });
});

describe.each(testDialects)(
  'chapter 3 lines keyed by month, practice and code on %s',
  (dialect) => {
    it('keeps every line, and refuses a second line with the same key', async () => {
      const database = await createTestDatabase(dialect, { contents: 'empty' });
      try {
        const migrator = new Migrator({
          db: database.handle.db,
          provider: { getMigrations: async () => migrations },
        });
        expect((await migrator.migrateTo('0009-greener-general-practice')).error).toBeUndefined();
        const line = (practice: string, bnf: string, kg: number | null) => ({
          month: '2024-01',
          practice_code: practice,
          bnf_code: bnf,
          items: 2,
          quantity: 400,
          actual_cost: 10.5,
          nic: 11,
          inhalers: kg === null ? null : 2,
          kgco2e: kg,
          quantity_rule: kg === null ? null : 'doses-to-inhalers',
        });
        const before = [
          line('C82001', '0301011R0AAAPAP', 45.8),
          line('C82001', '0302000C0AAAAAA', null),
          line('C82002', '0301011R0AAAPAP', 22.9),
        ];
        await database.handle.db.insertInto('epd_chapter3_lines').values(before).execute();

        expect((await migrator.migrateToLatest()).error).toBeUndefined();
        const after = await database.handle.db
          .selectFrom('epd_chapter3_lines')
          .selectAll()
          .orderBy('practice_code')
          .orderBy('bnf_code')
          .execute();
        expect(after).toEqual(before);
        await expect(
          database.handle.db.insertInto('epd_chapter3_lines').values(before[0]!).execute(),
        ).rejects.toThrow(/unique|duplicate/i);
        if (dialect === 'sqlite') {
          const { rows } = await sql<{ sql: string }>`select sql from sqlite_master
          where type = 'table' and name = 'epd_chapter3_lines'`.execute(database.handle.db);
          expect(rows[0]!.sql).toMatch(/without rowid\s*$/i);
        }
      } finally {
        await database.destroy();
      }
    });
  },
);

describe.each(testDialects)('search entries of hidden opening posts on %s', (dialect) => {
  it('empties the text of a thread whose opening post was hidden, and only that', async () => {
    const database = await createTestDatabase(dialect, { contents: 'empty' });
    try {
      const migrator = new Migrator({
        db: database.handle.db,
        provider: { getMigrations: async () => migrations },
      });
      expect(
        (await migrator.migrateTo('0010-prescribing-lines-without-rowid')).error,
      ).toBeUndefined();
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema before 0011
      const db = database.handle.db as Kysely<any>;
      const at = '2026-01-01T00:00:00.000Z';
      await db
        .insertInto('workspaces')
        .values({
          id: 'w1',
          slug: 'w1',
          name: 'Workspace',
          description: '',
          privacy: 'open',
          created_at: at,
          updated_at: at,
        })
        .execute();
      for (const [thread, openingHidden] of [
        ['t-hidden', true],
        ['t-shown', false],
      ] as const) {
        await db
          .insertInto('conversations')
          .values({
            id: `c-${thread}`,
            subject_type: 'thread',
            subject_id: thread,
            workspace_id: 'w1',
            locked: 0,
            created_at: at,
            last_post_at: at,
          })
          .execute();
        await db
          .insertInto('discussion_threads')
          .values({
            id: thread,
            workspace_id: 'w1',
            conversation_id: `c-${thread}`,
            title: `Title ${thread}`,
            kind: 'discussion',
            created_at: at,
          })
          .execute();
        // The opening post, then a hidden reply that must not count.
        await db
          .insertInto('posts')
          .values([
            {
              id: `p1-${thread}`,
              conversation_id: `c-${thread}`,
              body: `Opening words of ${thread}`,
              created_at: at,
              hidden_at: openingHidden ? at : null,
            },
            {
              id: `p2-${thread}`,
              conversation_id: `c-${thread}`,
              body: 'A reply',
              created_at: '2026-01-02T00:00:00.000Z',
              hidden_at: at,
            },
          ])
          .execute();
        await db
          .insertInto('discussion_search')
          .values({
            thread_id: thread,
            title: `Title ${thread}`,
            body: `Opening words of ${thread}`,
          })
          .execute();
      }

      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const entries = await db
        .selectFrom('discussion_search')
        .select(['thread_id', 'title', 'body'])
        .orderBy('thread_id')
        .execute();
      expect(entries).toEqual([
        { thread_id: 't-hidden', title: 'Title t-hidden', body: '' },
        { thread_id: 't-shown', title: 'Title t-shown', body: 'Opening words of t-shown' },
      ]);
    } finally {
      await database.destroy();
    }
  });
});

/** A database migrated up to `name`, with the migrator that takes it the rest of the way. */
async function databaseAt(dialect: (typeof testDialects)[number], name: string) {
  const database = await createTestDatabase(dialect, { contents: 'empty' });
  const migrator = new Migrator({
    db: database.handle.db,
    provider: { getMigrations: async () => migrations },
  });
  expect((await migrator.migrateTo(name)).error).toBeUndefined();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema of an earlier migration
  const db = database.handle.db as Kysely<any>;
  return { database, migrator, db };
}

/** A time on one morning, `minute` minutes past nine, so that rows sort by when they were made. */
const atMinute = (minute: number) => `2025-01-01T09:0${minute}:00.000Z`;

/** A users row as the early migrations define it. */
const userRow = (id: string, handle: string) => ({
  id,
  email: `${handle}@example.nhs.net`,
  display_name: handle,
  status: 'active',
  created_at: atMinute(0),
  updated_at: atMinute(0),
  handle,
});

describe.each(testDialects)('one pending request to join on %s', (dialect) => {
  it('withdraws second pending requests already stored, keeping the earliest, then refuses another', async () => {
    const { database, migrator, db } = await databaseAt(dialect, '0014-audit-target-index');
    const at = atMinute;
    try {
      await db
        .insertInto('organisations')
        .values({
          code: 'C82001',
          org_type: 'gp_practice',
          name: 'A practice',
          parent_code: null,
          ancestor_path: '/',
          source_dataset: 'test',
          created_at: at(0),
          updated_at: at(0),
        })
        .execute();
      await db
        .insertInto('users')
        .values(userRow('11111111-1111-4111-8111-111111111111', 'asker'))
        .execute();
      const request = (id: string, minute: number, status: string) => ({
        id,
        user_id: '11111111-1111-4111-8111-111111111111',
        organisation_code: 'C82001',
        message: null,
        status,
        created_at: at(minute),
      });
      await db
        .insertInto('join_requests')
        .values([
          request('a0000000-0000-4000-8000-000000000003', 3, 'pending'),
          request('a0000000-0000-4000-8000-000000000001', 1, 'pending'),
          request('a0000000-0000-4000-8000-000000000002', 2, 'pending'),
          request('a0000000-0000-4000-8000-000000000000', 0, 'declined'),
        ])
        .execute();
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const rows = await db
        .selectFrom('join_requests')
        .select(['id', 'status', 'decided_at'])
        .orderBy('id')
        .execute();
      expect(rows).toEqual([
        { id: 'a0000000-0000-4000-8000-000000000000', status: 'declined', decided_at: null },
        { id: 'a0000000-0000-4000-8000-000000000001', status: 'pending', decided_at: null },
        { id: 'a0000000-0000-4000-8000-000000000002', status: 'withdrawn', decided_at: at(2) },
        { id: 'a0000000-0000-4000-8000-000000000003', status: 'withdrawn', decided_at: at(3) },
      ]);
      await expect(
        db
          .insertInto('join_requests')
          .values(request('a0000000-0000-4000-8000-000000000004', 4, 'pending'))
          .execute(),
      ).rejects.toThrow(/unique/i);
      // A decided request may sit beside the pending one.
      await db
        .insertInto('join_requests')
        .values(request('a0000000-0000-4000-8000-000000000005', 5, 'approved'))
        .execute();
    } finally {
      await database.destroy();
    }
  });
});

describe.each(testDialects)('one pending request to join a workspace on %s', (dialect) => {
  it('withdraws second pending requests and those of members, keeping invitations, then refuses another', async () => {
    const { database, migrator, db } = await databaseAt(dialect, '0015-one-pending-join-request');
    const at = atMinute;
    try {
      await db
        .insertInto('workspaces')
        .values({
          id: 'w1',
          slug: 'w1',
          name: 'Workspace',
          description: '',
          privacy: 'restricted',
          created_at: at(0),
          updated_at: at(0),
        })
        .execute();
      const asker = '11111111-1111-4111-8111-111111111111';
      const member = '22222222-2222-4222-8222-222222222222';
      const manager = '33333333-3333-4333-8333-333333333333';
      await db
        .insertInto('users')
        .values([userRow(asker, 'asker'), userRow(member, 'member'), userRow(manager, 'manager')])
        .execute();
      await db
        .insertInto('workspace_members')
        .values([
          { workspace_id: 'w1', user_id: manager, role: 'manager', joined_at: at(0) },
          { workspace_id: 'w1', user_id: member, role: 'member', joined_at: at(2) },
        ])
        .execute();
      const request = (
        id: string,
        userId: string,
        minute: number,
        status: string,
        kind = 'request',
      ) => ({
        id,
        workspace_id: 'w1',
        user_id: userId,
        kind,
        status,
        token_hash: kind === 'invitation' ? `hash-${id}` : null,
        created_by: kind === 'invitation' ? manager : userId,
        created_at: at(minute),
      });
      await db
        .insertInto('workspace_requests')
        .values([
          request('a0000000-0000-4000-8000-000000000003', asker, 3, 'pending'),
          request('a0000000-0000-4000-8000-000000000001', asker, 1, 'pending'),
          request('a0000000-0000-4000-8000-000000000002', asker, 2, 'pending'),
          request('a0000000-0000-4000-8000-000000000000', asker, 0, 'declined'),
          // Asked, then came in by an invitation before this rule: nobody need decide it.
          request('b0000000-0000-4000-8000-000000000001', member, 1, 'pending'),
          // Invitations to addresses without an account are all stored under their sender.
          request('c0000000-0000-4000-8000-000000000001', manager, 4, 'pending', 'invitation'),
          request('c0000000-0000-4000-8000-000000000002', manager, 5, 'pending', 'invitation'),
        ])
        .execute();
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const rows = await db
        .selectFrom('workspace_requests')
        .select(['id', 'status', 'decided_at'])
        .orderBy('id')
        .execute();
      expect(rows).toEqual([
        { id: 'a0000000-0000-4000-8000-000000000000', status: 'declined', decided_at: null },
        { id: 'a0000000-0000-4000-8000-000000000001', status: 'pending', decided_at: null },
        { id: 'a0000000-0000-4000-8000-000000000002', status: 'withdrawn', decided_at: at(2) },
        { id: 'a0000000-0000-4000-8000-000000000003', status: 'withdrawn', decided_at: at(3) },
        { id: 'b0000000-0000-4000-8000-000000000001', status: 'withdrawn', decided_at: at(1) },
        { id: 'c0000000-0000-4000-8000-000000000001', status: 'pending', decided_at: null },
        { id: 'c0000000-0000-4000-8000-000000000002', status: 'pending', decided_at: null },
      ]);
      await expect(
        db
          .insertInto('workspace_requests')
          .values(request('a0000000-0000-4000-8000-000000000004', asker, 4, 'pending'))
          .execute(),
      ).rejects.toThrow(/unique/i);
      // A decided request may sit beside the pending one, and a sender's invitations beside each other.
      await db
        .insertInto('workspace_requests')
        .values([
          request('a0000000-0000-4000-8000-000000000005', asker, 5, 'approved'),
          request('c0000000-0000-4000-8000-000000000003', manager, 6, 'pending', 'invitation'),
        ])
        .execute();
    } finally {
      await database.destroy();
    }
  });
});
