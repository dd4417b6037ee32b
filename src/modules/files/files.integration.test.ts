import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { buildUser } from '../../../test/support/factories.ts';
import { HttpAgent, signInAs } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { receiveFormWithUploads } from './multipart-uploads.ts';
import {
  createTestDatabase,
  testDialects,
  type TestDatabase,
} from '../../../test/support/test-database.ts';
import {
  createDatabaseFileStore,
  createDiskFileStore,
  DATABASE_CHUNK_BYTES,
  type FileStore,
} from './file-store.ts';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A stream of `size` bytes delivered in uneven pieces, as a network would. */
function streamOf(bytes: Buffer, pieceSize = 65_537): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < bytes.length; offset += pieceSize)
        yield bytes.subarray(offset, offset + pieceSize);
    })(),
  );
}

function failingStream(bytesBeforeFailure: number): Readable {
  return Readable.from(
    (async function* () {
      yield randomBytes(bytesBeforeFailure);
      throw new Error('connection lost');
    })(),
  );
}

const stores: { name: string; make: (database: TestDatabase, dir: string) => FileStore }[] = [
  { name: 'disk store', make: (_database, dir) => createDiskFileStore(dir) },
  { name: 'database store', make: (database) => createDatabaseFileStore(database.handle.db) },
];

describe.each(testDialects)('file stores on %s', (dialect) => {
  describe.each(stores)('the $name', ({ name, make }) => {
    let database: TestDatabase;
    let dir: string;
    let store: FileStore;

    beforeAll(async () => {
      database = await createTestDatabase(dialect);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-files-'));
      store = make(database, dir);
    });

    afterAll(async () => {
      await database.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('writes a stream and reads it back byte for byte', async () => {
      const bytes = randomBytes(DATABASE_CHUNK_BYTES * 3 + 12_345);
      const key = await store.write(streamOf(bytes));
      const back = await readAll(await store.read(key));
      expect(createHash('sha256').update(back).digest('hex')).toBe(
        createHash('sha256').update(bytes).digest('hex'),
      );
    });

    it('reads any byte range, across chunk boundaries', async () => {
      const bytes = randomBytes(DATABASE_CHUNK_BYTES * 2 + 777);
      const key = await store.write(streamOf(bytes));
      await fc.assert(
        fc.asyncProperty(fc.nat(bytes.length - 1), fc.nat(bytes.length - 1), async (a, b) => {
          const start = Math.min(a, b);
          const end = Math.max(a, b);
          const part = await readAll(await store.read(key, { start, end }));
          expect(part.equals(bytes.subarray(start, end + 1))).toBe(true);
        }),
        { numRuns: 25 },
      );
      const edge = await readAll(
        await store.read(key, { start: DATABASE_CHUNK_BYTES - 1, end: DATABASE_CHUNK_BYTES }),
      );
      expect(edge.equals(bytes.subarray(DATABASE_CHUNK_BYTES - 1, DATABASE_CHUNK_BYTES + 1))).toBe(
        true,
      );
    });

    it('leaves nothing behind when the incoming stream breaks', async () => {
      const chunkKeys = async () =>
        new Set(
          (await database.handle.db.selectFrom('file_chunks').select('storage_key').execute()).map(
            (row) => row.storage_key,
          ),
        );
      const before = await chunkKeys();
      await expect(store.write(failingStream(DATABASE_CHUNK_BYTES * 2 + 10))).rejects.toThrow(
        'connection lost',
      );
      if (name === 'database store') {
        // Not a chunk more than before, even one whose insert was under way when the stream broke.
        expect(await chunkKeys()).toEqual(before);
      } else {
        const leftovers: string[] = [];
        const walk = (folder: string) => {
          for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
            if (entry.isDirectory()) walk(path.join(folder, entry.name));
            else leftovers.push(entry.name);
          }
        };
        walk(dir);
        expect(leftovers.filter((file) => file.endsWith('.partial'))).toEqual([]);
      }
    });

    it('removes a file, after which it cannot be read', async () => {
      const key = await store.write(streamOf(randomBytes(1000)));
      await store.remove(key);
      await expect(store.read(key)).rejects.toThrow();
    });
  });
});

const PNG_SIGNATURE = Buffer.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
]);
const PDF = Buffer.concat([
  Buffer.from('%PDF-1.7\n%âãÏÓ\n1 0 obj\n<< /Type /Catalog >>\nendobj\n'),
  randomBytes(5000),
  Buffer.from('\n%%EOF\n'),
]);

/** A multipart body with the CSRF token first, as our forms send it. */
function multipart(
  csrf: string | null,
  file: { name: string; type: string; bytes: Buffer },
  purpose: string,
  fieldsAfter: Record<string, string> = {},
) {
  const boundary = `----greenspace${randomBytes(8).toString('hex')}`;
  const parts: Buffer[] = [];
  if (csrf !== null)
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${csrf}\r\n`,
      ),
    );
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n${purpose}\r\n`,
    ),
  );
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n`,
    ),
  );
  parts.push(file.bytes, Buffer.from('\r\n'));
  for (const [name, value] of Object.entries(fieldsAfter))
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
      ),
    );
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(parts),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

describe.each(testDialects)('uploads and downloads on %s', (dialect) => {
  let testApp: TestApp;
  /** Stands the service's clock still while set. */
  let clock: Date | undefined;
  let dir: string;

  /** Everything the store holds: files in the folder, or chunks in the database. */
  async function bytesStored(): Promise<string[]> {
    if (dialect === 'postgres')
      return (
        await testApp.services.database.db.selectFrom('file_chunks').select('storage_key').execute()
      ).map((row) => row.storage_key);
    const found: string[] = [];
    const walk = (folder: string) => {
      for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(path.join(folder, entry.name));
        else found.push(entry.name);
      }
    };
    walk(dir);
    return found;
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-uploads-'));
    testApp = await createTestApp(dialect, {
      configOverrides: { files: { store: dialect === 'postgres' ? 'database' : 'disk', dir } },
      services: { now: () => clock ?? new Date() },
    });
    const { app, services } = testApp;
    // A minimal upload route, as feature modules build theirs: checked, stored, recorded.
    app.post('/__test/upload', { config: { access: 'public' } }, async (request, reply) => {
      let purpose = 'evidence';
      for await (const part of request.multipartParts!) {
        if (part.type === 'field' && part.fieldname === 'purpose') purpose = String(part.value);
        if (part.type === 'file') {
          try {
            const pending = await services.files.receiveUpload(
              part.file,
              purpose as 'evidence',
              part.filename,
            );
            const row = await services.files.recordUpload(services.database.db, pending, null);
            return reply.send({ id: row.id, contentType: row.content_type, size: row.size_bytes });
          } catch (error) {
            return reply.code(400).send({ error: (error as Error).message });
          }
        }
      }
      return reply.code(400).send({ error: 'no file' });
    });
    // A form with a file and fields, as the feature modules read theirs.
    app.post('/__test/form', { config: { access: 'public' } }, async (request, reply) => {
      const form = await receiveFormWithUploads(request, services.files, {
        purpose: 'image',
        maxFiles: 1,
        tooManyMessage: 'one file only',
      });
      await Promise.all(form.uploads.map((pending) => services.files.discardUpload(pending)));
      return reply.send({ fields: form.fields, problem: form.problem ?? null });
    });
    // The same, for signed-in people, whose forms with files are rate limited.
    app.post(
      '/__test/signed-in-upload',
      { config: { access: 'signed-in', audience: 'self' } },
      async (request, reply) => {
        for await (const part of request.multipartParts!) {
          if (part.type === 'file') {
            const pending = await services.files.receiveUpload(
              part.file,
              'evidence',
              part.filename,
            );
            await services.files.discardUpload(pending);
          }
        }
        return reply.send({ ok: true });
      },
    );
    app.get<{ Params: { id: string } }>(
      '/__test/files/:id',
      { config: { access: 'public' } },
      async (request, reply) => {
        const file = await services.files.findFile(request.params.id);
        if (!file) return reply.code(404).send();
        return services.files.sendFile(request, reply, file);
      },
    );
  });

  afterAll(async () => {
    await testApp.close();
  });

  async function upload(
    file: { name: string; type: string; bytes: Buffer },
    purpose = 'evidence',
    csrf: 'valid' | 'missing' = 'valid',
    options: {
      browser?: HttpAgent;
      url?: string;
      fieldsAfter?: Record<string, string>;
      inPieces?: boolean;
    } = {},
  ) {
    const browser = options.browser ?? new HttpAgent(testApp.app);
    const token = csrf === 'valid' ? await browser.csrfToken() : null;
    const body = multipart(token, file, purpose, options.fieldsAfter);
    return testApp.app.inject({
      method: 'POST',
      url: options.url ?? '/__test/upload',
      headers: {
        'content-type': body.contentType,
        cookie: [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      },
      // In pieces, as a network delivers it: the parser then reads each part as it arrives.
      payload: options.inPieces ? streamOf(body.payload, 16_384) : body.payload,
    });
  }

  it('accepts a PDF by its content and serves it back as a download, with byte ranges', async () => {
    const response = await upload({
      name: 'Board report.pdf',
      type: 'application/pdf',
      bytes: PDF,
    });
    expect(response.statusCode).toBe(200);
    const { id, contentType, size } = response.json();
    expect(contentType).toBe('application/pdf');
    expect(size).toBe(PDF.length);

    const download = await testApp.app.inject({ method: 'GET', url: `/__test/files/${id}` });
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toBe('application/pdf');
    expect(download.headers['content-disposition']).toBe(
      `attachment; filename="Board report.pdf"; filename*=UTF-8''Board%20report.pdf`,
    );
    expect(download.rawPayload.equals(PDF)).toBe(true);

    // Saved under the extension of what it is, whatever name it came with.
    const renamed = (
      await upload({ name: 'agenda.html', type: 'text/html', bytes: PDF })
    ).json() as { id: string };
    const saved = await testApp.app.inject({ method: 'GET', url: `/__test/files/${renamed.id}` });
    expect(saved.headers['content-type']).toBe('application/pdf');
    expect(saved.headers['content-disposition']).toBe(
      `attachment; filename="agenda.pdf"; filename*=UTF-8''agenda.pdf`,
    );

    const partial = await testApp.app.inject({
      method: 'GET',
      url: `/__test/files/${id}`,
      headers: { range: 'bytes=100-199' },
    });
    expect(partial.statusCode).toBe(206);
    expect(partial.headers['content-range']).toBe(`bytes 100-199/${PDF.length}`);
    expect(partial.rawPayload.equals(PDF.subarray(100, 200))).toBe(true);
    const tail = await testApp.app.inject({
      method: 'GET',
      url: `/__test/files/${id}`,
      headers: { range: 'bytes=-10' },
    });
    expect(tail.rawPayload.equals(PDF.subarray(PDF.length - 10))).toBe(true);
    const beyond = await testApp.app.inject({
      method: 'GET',
      url: `/__test/files/${id}`,
      headers: { range: `bytes=${PDF.length}-` },
    });
    expect(beyond.statusCode).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${PDF.length}`);
  });

  it('refuses a file whose content is not the type its name claims', async () => {
    const response = await upload({
      name: 'evidence.pdf',
      type: 'application/pdf',
      bytes: Buffer.from('<html><script>alert(1)</script></html>'),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatch(
      /^The selected file must be a PDF, PNG image, JPEG image/,
    );
    const executable = await upload({
      name: 'photo.png',
      type: 'image/png',
      bytes: Buffer.concat([Buffer.from('MZ'), randomBytes(5000)]),
    });
    expect(executable.statusCode).toBe(400);
  });

  it('refuses a file over the size limit of its purpose, storing none of it', async () => {
    const before = await testApp.services.database.db
      .selectFrom('stored_files')
      .select('id')
      .execute();
    const bytesBefore = await bytesStored();
    const big = Buffer.concat([PNG_SIGNATURE, randomBytes(5 * 1024 * 1024 + 1)]);
    const response = await upload({ name: 'huge.png', type: 'image/png', bytes: big }, 'image');
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('The selected file must be smaller than 5 MB');
    const after = await testApp.services.database.db
      .selectFrom('stored_files')
      .select('id')
      .execute();
    expect(after).toHaveLength(before.length);
    // Nor a byte of it in the store: the part written before the limit was reached is removed.
    expect((await bytesStored()).sort()).toEqual(bytesBefore.sort());
  });

  it('reads the fields after a refused file, so that the form comes back whole', async () => {
    const bytesBefore = await bytesStored();
    const fieldsAfter = { openedAt: '2026-12-01T09:00:00.000Z', note: 'kept' };
    // Refused by its content (past the first 4,100 bytes read before a type is decided) and by
    // its size: either way the file is skipped, not cut off, and the form read to its end.
    for (const [file, problem] of [
      [
        {
          name: 'photo.png',
          type: 'image/png',
          bytes: Buffer.concat([Buffer.from('MZ'), randomBytes(50_000)]),
        },
        /^photo\.png: The selected file must be a PNG image/,
      ],
      [
        {
          name: 'huge.png',
          type: 'image/png',
          // The header chunk, then an image data chunk: a PNG to the type check at once, however
          // the bytes after it arrive.
          bytes: Buffer.concat([
            PNG_SIGNATURE,
            Buffer.alloc(13 + 4),
            Buffer.from([0, 0, 0, 0]),
            Buffer.from('IDAT'),
            Buffer.alloc(5 * 1024 * 1024 + 1),
          ]),
        },
        /^huge\.png: The selected file must be smaller than 5 MB$/,
      ],
    ] as const) {
      const response = await upload(file, 'image', 'valid', {
        url: '/__test/form',
        fieldsAfter,
        inPieces: true,
      });
      expect(response.statusCode).toBe(200);
      const body = response.json();
      expect(body.problem).toMatch(problem);
      expect(body.fields).toMatchObject(fieldsAfter);
    }
    expect((await bytesStored()).sort()).toEqual(bytesBefore.sort());
  });

  it('answers a form cut off part way with 400, storing nothing', async () => {
    const bytesBefore = await bytesStored();
    const browser = new HttpAgent(testApp.app);
    const token = await browser.csrfToken();
    const whole = multipart(
      token,
      { name: 'photo.png', type: 'image/png', bytes: Buffer.alloc(60_000, 1) },
      'image',
      { note: 'after the file' },
    ).payload;
    // Cut inside the file, and inside the field after it: neither ends with its boundary.
    for (const cut of [30_000, whole.length - 20]) {
      const body = whole.subarray(0, cut);
      const boundary = /^--(\S+)\r\n/.exec(body.toString('latin1'))![1]!;
      const response = await testApp.app.inject({
        method: 'POST',
        url: '/__test/form',
        headers: {
          'content-type': `multipart/form-data; boundary=${boundary}`,
          cookie: [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        },
        payload: streamOf(body, 16_384),
      });
      expect(response.statusCode, `cut at ${cut}`).toBe(400);
    }
    expect((await bytesStored()).sort()).toEqual(bytesBefore.sort());
  });

  it('refuses an empty file', async () => {
    const response = await upload({
      name: 'empty.pdf',
      type: 'application/pdf',
      bytes: Buffer.alloc(0),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('The selected file is empty');
  });

  it('accepts WebVTT captions as text that starts with WEBVTT, and refuses other text', async () => {
    const captions = Buffer.from('WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nHello\n');
    expect(
      (await upload({ name: 'captions.vtt', type: 'text/vtt', bytes: captions }, 'captions'))
        .statusCode,
    ).toBe(200);
    expect(
      (
        await upload(
          {
            name: 'captions.vtt',
            type: 'text/vtt',
            bytes: Buffer.from('1\n00:00:00,000 --> 00:00:02,000\nHi\n'),
          },
          'captions',
        )
      ).statusCode,
    ).toBe(400);
  });

  it('limits each person to 60 forms with files an hour, and says so', async () => {
    const signedIn = async () => {
      const browser = new HttpAgent(testApp.app);
      await signInAs(browser, await buildUser(testApp.services));
      return browser;
    };
    const senderUser = await buildUser(testApp.services);
    const sender = new HttpAgent(testApp.app);
    await signInAs(sender, senderUser);
    const send = (browser: HttpAgent) =>
      upload({ name: 'minutes.pdf', type: 'application/pdf', bytes: PDF }, 'evidence', 'valid', {
        browser,
        url: '/__test/signed-in-upload',
      });
    // The limit counts in fixed hours: the clock stands still so that the hour cannot turn
    // between the sixtieth form and the sixty-first.
    clock = new Date();
    onTestFinished(() => {
      clock = undefined;
    });
    for (let form = 1; form <= 60; form += 1) {
      const response = await send(sender);
      expect(response.statusCode, `form ${form}`).toBe(200);
    }
    const refused = await send(sender);
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.body).toContain(
      'You have sent 60 forms with files in the last hour, which is the most anyone can send in an hour.',
    );
    expect(refused.body).toContain('Nothing in this form has been saved.');
    expect(refused.body).not.toContain('has not been posted');
    const refusals = await testApp.services.database.db
      .selectFrom('audit_events')
      .select(['outcome', 'details'])
      .where('action', '=', 'files.upload')
      .where('actor_user_id', '=', senderUser.id)
      .execute();
    expect(refusals).toHaveLength(1);
    expect(refusals[0]!.outcome).toBe('refused');
    expect(String(refusals[0]!.details)).toContain('rate_limited');
    // The limit is per person: someone else sends theirs.
    expect((await send(await signedIn())).statusCode).toBe(200);
  });

  it('refuses an upload whose first part is not the CSRF token', async () => {
    const response = await upload(
      { name: 'a.pdf', type: 'application/pdf', bytes: PDF },
      'evidence',
      'missing',
    );
    expect(response.statusCode).toBe(403);
  });
});
