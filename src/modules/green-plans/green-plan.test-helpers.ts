import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { HttpAgent } from '../../../test/support/http-agent.ts';
import { importColumnNames, type ImportColumn } from './plan-import.ts';

/** Test helpers for the Green Plan tests: spreadsheets, zip archives and multipart bodies. */

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * A zip archive built by hand, so a test can make one that real tools would not: an entry whose
 * directory understates its size, or one that inflates a thousandfold.
 */
export function buildZip(entries: { name: string; data: Buffer; declaredSize?: number }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name);
    const compressed = deflateRawSync(entry.data);
    const crc = crc32(entry.data);
    const size = entry.declaredSize ?? entry.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(0, 10);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, compressed);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(0, 12);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + name.length + compressed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** The first parts of a workbook, so content sniffing takes the archive for an XLSX file. */
export function workbookLikeEntries(): { name: string; data: Buffer }[] {
  return [
    {
      name: '[Content_Types].xml',
      data: Buffer.from(
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>',
      ),
    },
    { name: 'xl/workbook.xml', data: Buffer.from('<workbook/>') },
  ];
}

/** An XLSX workbook with an Actions sheet holding these rows under the import header. */
export async function buildActionsWorkbook(
  rows: Record<ImportColumn, string>[],
  columns: readonly ImportColumn[] = importColumnNames,
): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('Actions');
  sheet.addRow([...columns]);
  for (const row of rows) sheet.addRow(columns.map((column) => row[column]));
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

/** A multipart body with the CSRF token first, as the service's forms send it. */
export function multipartBody(
  csrf: string | null,
  fields: Record<string, string>,
  files: { field: string; name: string; type: string; bytes: Buffer }[],
): { payload: Buffer; contentType: string } {
  const boundary = `----greenspace${randomBytes(8).toString('hex')}`;
  const parts: Buffer[] = [];
  const field = (name: string, value: string) =>
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
    );
  if (csrf !== null) parts.push(field('_csrf', csrf));
  for (const [name, value] of Object.entries(fields)) parts.push(field(name, value));
  for (const file of files) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n`,
      ),
      file.bytes,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(parts),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

/** A small valid PDF. */
export const SMALL_PDF = Buffer.concat([
  Buffer.from('%PDF-1.7\n%âãÏÓ\n1 0 obj\n<< /Type /Catalog >>\nendobj\n'),
  Buffer.alloc(5000, 0x20),
  Buffer.from('\n%%EOF\n'),
]);

/**
 * Posts one file as its form would, with the agent's cookies and its CSRF token (or `csrf` in its
 * place, to send a forged form).
 */
export async function postFile(
  app: FastifyInstance,
  agent: HttpAgent,
  url: string,
  file: { field: string; name: string; type: string; bytes: Buffer },
  csrf?: string,
) {
  const body = multipartBody(csrf ?? (await agent.csrfToken()), {}, [file]);
  return app.inject({
    method: 'POST',
    url,
    headers: {
      'content-type': body.contentType,
      cookie: [...agent.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
    },
    payload: body.payload,
  });
}

/** How many files are recorded as kept. */
export async function countStoredFiles(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('stored_files')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Stored bytes that no recorded file owns: uploads that were neither kept nor discarded. Needs the
 * database file store, whose bytes are rows that can be counted.
 */
export async function countUnownedUploads(db: Kysely<Database>): Promise<number> {
  const rows = await db
    .selectFrom('file_chunks')
    .select('storage_key')
    .distinct()
    .where('storage_key', 'not in', (eb) => eb.selectFrom('stored_files').select('storage_key'))
    .execute();
  return rows.length;
}

/**
 * Opens an action's edit form as a browser would and gives the values it was opened with, which a
 * save of the form sends back (a save without them is refused as a conflict).
 */
export async function openActionEditForm(agent: HttpAgent, editUrl: string): Promise<string> {
  const form = await agent.get(editUrl);
  const opened = /name="opened" value="([^"]+)"/.exec(form.body)?.[1];
  if (form.statusCode !== 200 || !opened)
    throw new Error(`${editUrl} gave ${form.statusCode} and no opened values`);
  return opened;
}
