import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';

/** An inclusive byte range, as in an HTTP Range header. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where uploaded bytes live. Files are written and read as streams, so no file is ever held whole
 * in memory, whichever store is used.
 */
export interface FileStore {
  readonly kind: 'disk' | 'database';
  /** Writes a stream under a new generated key; returns the key. Nothing is left behind on failure. */
  write(source: Readable): Promise<string>;
  read(key: string, range?: ByteRange): Promise<Readable>;
  remove(key: string): Promise<void>;
}

/**
 * The local disk, outside the web root, under generated names in two levels of folders. A file is
 * written to a temporary name and renamed when complete, so a reader never sees half a file.
 */
export function createDiskFileStore(root: string): FileStore {
  const locate = (key: string) => {
    if (!/^[0-9a-f-]{36}$/.test(key)) throw new Error('Not a storage key');
    return path.join(root, key.slice(0, 2), key.slice(2, 4), key);
  };
  return {
    kind: 'disk',
    async write(source) {
      const key = randomUUID();
      const target = locate(key);
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      const partial = `${target}.partial`;
      try {
        await pipeline(source, fs.createWriteStream(partial, { flags: 'wx', mode: 0o600 }));
        await fs.promises.rename(partial, target);
      } catch (error) {
        await fs.promises.rm(partial, { force: true });
        throw error;
      }
      return key;
    },
    async read(key, range) {
      const file = locate(key);
      await fs.promises.access(file);
      return fs.createReadStream(file, range ? { start: range.start, end: range.end } : undefined);
    },
    async remove(key) {
      await fs.promises.rm(locate(key), { force: true });
    },
  };
}

/** Chunks of 256 KiB: big enough to keep the number of rows low, small enough to stream. */
export const DATABASE_CHUNK_BYTES = 256 * 1024;

/**
 * The database itself, for deployments where several app instances need one shared store: each
 * file is a series of rows in `file_chunks`, written and read one chunk at a time.
 */
export function createDatabaseFileStore(db: Kysely<Database>): FileStore {
  async function removeChunks(key: string) {
    await db.deleteFrom('file_chunks').where('storage_key', '=', key).execute();
  }

  return {
    kind: 'database',
    async write(source) {
      const key = randomUUID();
      let index = 0;
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = async (final: boolean) => {
        while (pendingBytes >= DATABASE_CHUNK_BYTES || (final && pendingBytes > 0)) {
          const joined = Buffer.concat(pending);
          const chunk = joined.subarray(0, DATABASE_CHUNK_BYTES);
          const rest = joined.subarray(chunk.length);
          await db
            .insertInto('file_chunks')
            .values({ storage_key: key, chunk_index: index++, data: Buffer.from(chunk) })
            .execute();
          pending = rest.length > 0 ? [rest] : [];
          pendingBytes = rest.length;
        }
      };
      // The insert under way when the source fails must finish before the clean-up, or its chunk
      // would land after the delete and be left behind.
      let inFlight: Promise<void> = Promise.resolve();
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          pending.push(chunk);
          pendingBytes += chunk.length;
          inFlight = flush(false);
          inFlight.then(() => done(), done);
        },
        final(done) {
          inFlight = flush(true);
          inFlight.then(() => done(), done);
        },
      });
      try {
        await pipeline(source, sink);
      } catch (error) {
        await inFlight.catch(() => undefined);
        await removeChunks(key);
        throw error;
      }
      return key;
    },
    async read(key, range) {
      const first = await db
        .selectFrom('file_chunks')
        .select('chunk_index')
        .where('storage_key', '=', key)
        .where('chunk_index', '=', 0)
        .executeTakeFirst();
      if (!first) throw Object.assign(new Error('No such stored file'), { code: 'ENOENT' });
      const start = range?.start ?? 0;
      const end = range?.end ?? Number.POSITIVE_INFINITY;
      let index = Math.floor(start / DATABASE_CHUNK_BYTES);
      async function* chunks() {
        while (index * DATABASE_CHUNK_BYTES <= end) {
          const row = await db
            .selectFrom('file_chunks')
            .select('data')
            .where('storage_key', '=', key)
            .where('chunk_index', '=', index)
            .executeTakeFirst();
          if (!row) return;
          const data = Buffer.from(row.data);
          const chunkStart = index * DATABASE_CHUNK_BYTES;
          const from = Math.max(0, start - chunkStart);
          const to = Math.min(data.length, end - chunkStart + 1);
          if (from < to) yield data.subarray(from, to);
          index++;
        }
      }
      return Readable.from(chunks());
    },
    remove: removeChunks,
  };
}
