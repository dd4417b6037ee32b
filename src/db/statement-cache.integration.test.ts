import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, StatementCachingSqlite } from './database.ts';

describe('the SQLite statement cache', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  function memory(): StatementCachingSqlite {
    const cache = new StatementCachingSqlite(new BetterSqlite3(':memory:'));
    cleanups.push(() => cache.close());
    return cache;
  }

  it('hands back the statement it prepared for the same text', () => {
    const cache = memory();
    const first = cache.prepare('select 1 as one');
    expect(cache.prepare('select 1 as one')).toBe(first);
    expect(cache.prepare('select 2 as two')).not.toBe(first);
    expect(first.all([])).toEqual([{ one: 1 }]);
    expect(cache.size).toBe(2);
  });

  it('prepares a fresh statement while the cached one is still being iterated', () => {
    const cache = memory();
    cache.prepare('create table t (n integer)').run([]);
    cache.prepare('insert into t values (1), (2), (3)').run([]);
    const text = 'select n from t where n >= ? order by n';
    const outer = cache.prepare(text).iterate([1]);
    const seen: number[] = [];
    for (const row of outer as IterableIterator<{ n: number }>) {
      // The outer statement is busy here: asking again must not return it.
      const inner = cache.prepare(text).all([row.n]) as { n: number }[];
      seen.push(row.n * 10 + inner.length);
    }
    expect(seen).toEqual([13, 22, 31]);
  });

  it('keeps at most its capacity, dropping the least recently used', () => {
    const cache = memory();
    const kept = cache.prepare('select 0 as n');
    for (let index = 1; index <= StatementCachingSqlite.capacity + 10; index += 1) {
      cache.prepare(`select ${index} as n`);
      // Using the first statement again keeps it at the recent end.
      if (index % 100 === 0) expect(cache.prepare('select 0 as n')).toBe(kept);
    }
    expect(cache.size).toBe(StatementCachingSqlite.capacity);
    expect(cache.prepare('select 0 as n')).toBe(kept);
    const evicted = cache.prepare('select 1 as n');
    expect(evicted.all([])).toEqual([{ n: 1 }]);
  });

  it('gives the right answers through Kysely when the schema changes between runs', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-statements-'));
    const handle = openDatabase({ kind: 'sqlite', filename: path.join(dir, 'test.sqlite') });
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    try {
      await sql`create table notes (id integer primary key, body text)`.execute(handle.db);
      await sql`insert into notes (body) values (${'first'})`.execute(handle.db);
      const read = () => sql`select * from notes order by id`.execute(handle.db);
      expect((await read()).rows).toEqual([{ id: 1, body: 'first' }]);
      await sql`alter table notes add column tag text default 'none'`.execute(handle.db);
      expect((await read()).rows).toEqual([{ id: 1, body: 'first', tag: 'none' }]);
      await handle.db.transaction().execute(async (trx) => {
        await sql`insert into notes (body) values (${'second'})`.execute(trx);
      });
      await expect(
        handle.db.transaction().execute(async (trx) => {
          await sql`insert into notes (body) values (${'third'})`.execute(trx);
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect((await read()).rows.map((row) => (row as { body: string }).body)).toEqual([
        'first',
        'second',
      ]);
    } finally {
      await handle.close();
    }
  });
});
