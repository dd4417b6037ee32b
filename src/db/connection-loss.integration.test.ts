import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { adminQuery, createTestDatabase, testDialects } from '../../test/support/test-database.ts';
import { connectDatabase } from './database.ts';

describe('a PostgreSQL connection ended by the server', () => {
  it.runIf(testDialects.includes('postgres'))(
    'fails the transaction holding it, without crashing the process, and the pool recovers',
    async () => {
      const testDatabase = await createTestDatabase('postgres', { contents: 'empty' });
      const reported: Error[] = [];
      const handle = await connectDatabase(testDatabase.config, (error) => reported.push(error));
      try {
        const held = handle.db.transaction().execute(async (trx) => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
          await adminQuery(
            process.env.TEST_DATABASE_URL!,
            `select pg_terminate_backend(${Number(rows[0]!.pid)})`,
          );
          // Between statements the client is idle but held: the server's goodbye arrives as an
          // event on it, which crashed the process while nothing listened for it.
          await new Promise((resolve) => setTimeout(resolve, 300));
          await sql`select 1`.execute(trx);
        });
        await expect(held).rejects.toThrow();
        await handle.ping();
        expect(reported).toEqual([]);
      } finally {
        await handle.close();
        await testDatabase.destroy();
      }
    },
  );
});

describe('a SQLite file damaged while the service runs', () => {
  it('fails the readiness ping, which reads the file rather than answer from memory', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'greenspace-damaged-'));
    const filename = path.join(folder, 'greenspace.sqlite');
    const handle = await connectDatabase({ kind: 'sqlite', filename });
    try {
      await sql`create table kept (id integer primary key)`.execute(handle.db);
      await handle.ping();
      // Another program, a full disk or a bad copy leaves bytes SQLite cannot read.
      for (const suffix of ['', '-wal', '-shm']) {
        const file = `${filename}${suffix}`;
        if (existsSync(file)) await writeFile(file, Buffer.alloc(64 * 1024, 0x5a));
      }
      await expect(handle.ping()).rejects.toThrow();
    } finally {
      await handle.close().catch(() => undefined);
      await rm(folder, { recursive: true, force: true });
    }
  });
});
