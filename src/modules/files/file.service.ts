import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fileTypeFromBuffer } from 'file-type';
import type { Kysely, Transaction } from 'kysely';
import type { Database, StoredFileRow } from '../../db/schema.ts';
import { unreadableForm } from '../../web/http-errors.ts';
import type { FileStore } from './file-store.ts';
import {
  describeAllowedTypes,
  formatBytes,
  matchAllowedType,
  SNIFF_BYTES,
  uploadPurposes,
  type AllowedType,
  type UploadPurpose,
} from './file-types.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/** An upload refused for what it is; the message is written for the person who chose the file. */
export class UploadRejected extends Error {
  override name = 'UploadRejected';
}

/** Bytes safely in the store, not yet recorded: record them in the caller's transaction, or discard. */
export interface PendingUpload {
  storageKey: string;
  purpose: UploadPurpose;
  originalName: string;
  type: AllowedType;
  sizeBytes: number;
  sha256: string;
}

/**
 * Checks a stream as it passes: its type from the first bytes, its size against the limit, and its
 * SHA-256. It fails the stream as soon as something is wrong, so a refused upload is never stored
 * whole.
 */
class UploadInspector extends Transform {
  private head: Buffer[] = [];
  private headBytes = 0;
  private checked = false;
  sizeBytes = 0;
  readonly hash = createHash('sha256');
  type: AllowedType | undefined;

  constructor(
    private readonly purpose: UploadPurpose,
    private readonly originalName: string,
  ) {
    super();
  }

  private async check(): Promise<void> {
    const head = Buffer.concat(this.head);
    const detected = await fileTypeFromBuffer(head);
    this.type = matchAllowedType(this.purpose, detected, head, this.originalName);
    this.checked = true;
    if (!this.type) {
      const found = detected ? ` It is a ${detected.ext.toUpperCase()} file.` : '';
      throw new UploadRejected(
        `The selected file must be ${describeAllowedTypes(this.purpose)}.${found}`,
      );
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.sizeBytes += chunk.length;
    const limit = uploadPurposes[this.purpose].maxBytes;
    if (this.sizeBytes > limit) {
      done(new UploadRejected(`The selected file must be smaller than ${formatBytes(limit)}`));
      return;
    }
    this.hash.update(chunk);
    if (this.checked) {
      done(null, chunk);
      return;
    }
    this.head.push(chunk);
    this.headBytes += chunk.length;
    if (this.headBytes < SNIFF_BYTES) {
      done();
      return;
    }
    const held = Buffer.concat(this.head);
    this.check().then(
      () => done(null, held),
      (error: unknown) => done(error as Error),
    );
  }

  override _flush(done: TransformCallback): void {
    if (this.checked) {
      done();
      return;
    }
    if (this.headBytes === 0) {
      done(new UploadRejected('The selected file is empty'));
      return;
    }
    const held = Buffer.concat(this.head);
    this.check().then(
      () => {
        this.push(held);
        done();
      },
      (error: unknown) => done(error as Error),
    );
  }
}

export interface FileServiceDependencies {
  db: Kysely<Database>;
  store: FileStore;
  now?: () => Date;
}

/**
 * Uploads and downloads. Files are checked by content, limited in size per purpose, stored under
 * generated names in the configured store, and served as downloads.
 */
export function createFileService(deps: FileServiceDependencies) {
  const { db, store } = deps;
  const now = deps.now ?? (() => new Date());

  async function readWhole(storageKey: string, sizeBytes: number, limitBytes: number) {
    if (sizeBytes > limitBytes) throw new Error('File too large to read whole');
    const chunks: Buffer[] = [];
    for await (const chunk of await store.read(storageKey)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  return {
    storeKind: store.kind,

    /**
     * Streams an upload into the store after checking it. Returns what was stored; the caller
     * records it (`recordUpload`) in the same transaction as whatever the file belongs to.
     */
    async receiveUpload(
      source: Readable,
      purpose: UploadPurpose,
      originalName: string,
    ): Promise<PendingUpload> {
      const name = sanitiseFileName(originalName);
      const inspector = new UploadInspector(purpose, name);
      source.on('limit', () =>
        inspector.destroy(
          new UploadRejected(
            `The selected file must be smaller than ${formatBytes(uploadPurposes[purpose].maxBytes)}`,
          ),
        ),
      );
      // A refused file (wrong type, too big) fails the inspector; the store's own pipeline then
      // fails, removes what it wrote, and rejects with the inspector's reason. The upload itself
      // is not destroyed but drained: the multipart parser takes a file stream closed before its
      // end as the end of the form, and the fields after the file (a form's `openedAt`, say)
      // would be lost. A broken upload fails the inspector in turn.
      source.pipe(inspector);
      inspector.once('error', () => {
        source.unpipe(inspector);
        source.resume();
      });
      source.once('error', (error) => inspector.destroy(unreadableForm(error) as Error));
      let storageKey: string;
      try {
        storageKey = await store.write(inspector);
      } finally {
        source.resume();
      }
      if ((source as Readable & { truncated?: boolean }).truncated) {
        await store.remove(storageKey);
        throw new UploadRejected(
          `The selected file must be smaller than ${formatBytes(uploadPurposes[purpose].maxBytes)}`,
        );
      }
      return {
        storageKey,
        purpose,
        originalName: name,
        type: inspector.type!,
        sizeBytes: inspector.sizeBytes,
        sha256: inspector.hash.digest('hex'),
      };
    },

    async recordUpload(
      executor: Executor,
      upload: PendingUpload,
      uploadedBy: string | null,
    ): Promise<StoredFileRow> {
      const row: StoredFileRow = {
        id: randomUUID(),
        store: store.kind,
        storage_key: upload.storageKey,
        purpose: upload.purpose,
        original_name: upload.originalName,
        content_type: upload.type.contentType,
        extension: upload.type.extension,
        size_bytes: upload.sizeBytes,
        sha256: upload.sha256,
        uploaded_by: uploadedBy,
        uploaded_at: now().toISOString(),
      };
      await executor.insertInto('stored_files').values(row).execute();
      return row;
    },

    /**
     * Forgets recorded files, in the caller's transaction, once nothing refers to them. Returns
     * their storage keys: the caller removes the bytes (`removeStoredBytes`) after it commits, so a
     * transaction that rolls back still has its files.
     */
    async forgetFiles(executor: Executor, fileIds: readonly string[]): Promise<string[]> {
      if (fileIds.length === 0) return [];
      const rows = await executor
        .selectFrom('stored_files')
        .select('storage_key')
        .where('id', 'in', [...fileIds])
        .execute();
      await executor
        .deleteFrom('stored_files')
        .where('id', 'in', [...fileIds])
        .execute();
      return rows.map((row) => row.storage_key);
    },

    /**
     * Removes the bytes of forgotten files. A failure is returned, not thrown: the records are
     * already gone, and the bytes left behind can be removed by hand from the list it gives.
     */
    async removeStoredBytes(storageKeys: readonly string[]): Promise<string[]> {
      const left: string[] = [];
      for (const key of storageKeys) {
        try {
          await store.remove(key);
        } catch {
          left.push(key);
        }
      }
      return left;
    },

    /** Removes stored bytes that were never recorded (the transaction they belonged to failed). */
    async discardUpload(upload: PendingUpload): Promise<void> {
      await store.remove(upload.storageKey);
    },

    /** What a person uploaded (names, types and sizes, not the bytes), for their download. */
    async collectPersonalData(userId: string): Promise<Record<string, unknown>> {
      const rows = await db
        .selectFrom('stored_files')
        .select(['original_name', 'content_type', 'size_bytes', 'purpose', 'uploaded_at'])
        .where('uploaded_by', '=', userId)
        .orderBy('uploaded_at')
        .execute();
      return {
        filesUploaded: rows.map((row) => ({
          name: row.original_name,
          contentType: row.content_type,
          sizeBytes: Number(row.size_bytes),
          purpose: row.purpose,
          uploadedAt: row.uploaded_at,
        })),
      };
    },

    async findFile(id: string): Promise<StoredFileRow | undefined> {
      if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
      return db.selectFrom('stored_files').selectAll().where('id', '=', id).executeTakeFirst();
    },

    /**
     * Sends a stored file: the detected Content-Type, a download disposition with the original
     * name, and byte ranges so that videos can seek. The caller has already checked that the
     * requester may read it.
     */
    async sendFile(
      request: FastifyRequest,
      reply: FastifyReply,
      file: StoredFileRow,
      options: { inline?: boolean } = {},
    ) {
      const size = Number(file.size_bytes);
      const range = parseRange(request.headers.range, size);
      reply
        .header('content-type', file.content_type)
        .header('accept-ranges', 'bytes')
        .header(
          'content-disposition',
          contentDisposition(
            options.inline ? 'inline' : 'attachment',
            downloadName(file.original_name, file.extension),
          ),
        )
        .header('cache-control', 'private, no-store')
        .header('etag', `"${file.sha256}"`);
      if (range === 'unsatisfiable') {
        return reply.code(416).header('content-range', `bytes */${size}`).send();
      }
      if (range) {
        const stream = await store.read(file.storage_key, range);
        return reply
          .code(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
          .header('content-length', String(range.end - range.start + 1))
          .send(stream);
      }
      const stream = await store.read(file.storage_key);
      return reply.header('content-length', String(size)).send(stream);
    },

    /** Reads a stored file whole, for small files such as captions or imports. */
    async readSmallFile(file: StoredFileRow, limitBytes = 10 * 1024 * 1024): Promise<Buffer> {
      return readWhole(file.storage_key, Number(file.size_bytes), limitBytes);
    },

    /** The same for an upload not yet recorded: a file to check before deciding to keep it. */
    async readSmallUpload(upload: PendingUpload, limitBytes = 10 * 1024 * 1024): Promise<Buffer> {
      return readWhole(upload.storageKey, upload.sizeBytes, limitBytes);
    },
  };
}

export type FileService = ReturnType<typeof createFileService>;

/** The last path segment, without control characters, at most 200 characters. */
export function sanitiseFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const clean = [...base]
    .filter((character) => character.charCodeAt(0) >= 0x20 && character !== '\u007f')
    .join('')
    .trim();
  return (clean || 'file').slice(0, 200);
}

/** An RFC 6266 Content-Disposition with an ASCII fallback and the UTF-8 name. */
export function contentDisposition(type: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  // RFC 5987 allows fewer characters unencoded than encodeURIComponent leaves alone.
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${type}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

const sameExtensions: Record<string, string[]> = { jpg: ['jpg', 'jpeg'] };

/**
 * The name a file is saved under: the uploader's name with the extension of what the file really
 * is (checked by content on upload), so that "agenda.html" holding a PDF is saved and opened as a
 * PDF, never as a page or a program.
 */
export function downloadName(originalName: string, extension: string): string {
  const dot = originalName.lastIndexOf('.');
  const stem = dot > 0 ? originalName.slice(0, dot) : originalName;
  const given = dot > 0 ? originalName.slice(dot + 1).toLowerCase() : '';
  if ((sameExtensions[extension] ?? [extension]).includes(given)) return originalName;
  return `${stem}.${extension}`;
}

/**
 * One byte range from a Range header. Several ranges, or anything malformed, are answered with the
 * whole file (as RFC 9110 allows); a range past the end is unsatisfiable.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}
