import fs from 'node:fs';
import { isUtf8 } from 'node:buffer';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { findTextNotUtf8, firstInvalidUtf8 } from './epd-encoding.ts';

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-encoding-test-'));
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

function write(name: string, bytes: Buffer): { path: string; compression: 'none' | 'gzip' } {
  const file = path.join(workDir, name);
  const gzip = name.endsWith('.gz');
  fs.writeFileSync(file, gzip ? zlib.gzipSync(bytes) : bytes);
  return { path: file, compression: gzip ? 'gzip' : 'none' };
}

const header = 'YEAR_MONTH,PRACTICE_NAME,ADDRESS_1,BNF_DESCRIPTION,ITEMS\n';
const row = (name: string, address: string, description: string) =>
  `202401,${name},${address},${description},3\n`;
/** Text written in Latin-1, as a file saved in another encoding would hold it. */
const latin1 = (text: string) => Buffer.from(text, 'latin1');

describe('the first byte that is not UTF-8', () => {
  it('is found in a lead byte, a missing continuation, a truncated, overlong or surrogate form', () => {
    expect(firstInvalidUtf8(Buffer.from('Café – 💨 ok'))).toBe(-1);
    expect(firstInvalidUtf8(latin1('Caf\u00e9'))).toBe(3);
    expect(firstInvalidUtf8(Buffer.from([0x41, 0xe2, 0x80]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0x41, 0xc3, 0x41]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0xc0, 0xaf]))).toBe(0);
    expect(firstInvalidUtf8(Buffer.from([0xe0, 0x80, 0xaf]))).toBe(0);
    expect(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0);
    expect(firstInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0);
    expect(firstInvalidUtf8(Buffer.from([0x80]))).toBe(0);
    // From an offset: the next one after the first.
    expect(firstInvalidUtf8(latin1('\u00e9 and \u00e9'), 1)).toBe(6);
  });

  it('agrees with Node’s own check on any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const buffer = Buffer.from(bytes);
        expect(firstInvalidUtf8(buffer) === -1).toBe(isUtf8(buffer));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        expect(firstInvalidUtf8(Buffer.from(text))).toBe(-1);
      }),
    );
  });
});

describe('finding text that is not UTF-8 in a file', () => {
  it('names the line and column, plain or gzip, and finds nothing in a clean file', async () => {
    const clean = header + row('DR CHAN', 'CAFÉ ROAD', 'Senna_Oral Soln') + row('A', 'B', 'C');
    for (const name of ['clean.csv', 'clean.csv.gz']) {
      expect(await findTextNotUtf8(write(name, Buffer.from(clean)))).toBeUndefined();
    }
    const bytes = Buffer.concat([
      Buffer.from(header + row('DR CHAN', 'HIGH ST', 'Senna')),
      latin1(row('DR CH\u00c9N', 'HIGH ST', 'Senna')),
    ]);
    for (const name of ['name.csv', 'name.csv.gz']) {
      expect(await findTextNotUtf8(write(name, bytes))).toEqual({
        line: 3,
        column: 'PRACTICE_NAME',
      });
    }
  });

  it('passes over columns nothing reads, and counts commas inside quotes as text', async () => {
    const bytes = Buffer.concat([
      Buffer.from(header),
      latin1(row('DR CHAN', '"1, CAF\u00c9 ROAD"', 'Senna')),
      latin1(row('"SMITH, JONES"', '"2, CAF\u00c9 ROAD"', '"Senna, S/F \u00e9"')),
    ]);
    const read = new Set(['YEAR_MONTH', 'PRACTICE_NAME', 'BNF_DESCRIPTION', 'ITEMS']);
    expect(await findTextNotUtf8(write('quoted.csv', bytes), read)).toEqual({
      line: 3,
      column: 'BNF_DESCRIPTION',
    });
    // Without a choice of columns, the first is the address.
    expect(await findTextNotUtf8(write('quoted.csv', bytes))).toEqual({
      line: 2,
      column: 'ADDRESS_1',
    });
    // Only in unread columns: nothing to report.
    const addressOnly = Buffer.concat([Buffer.from(header), latin1(row('A', 'CAF\u00c9', 'B'))]);
    expect(await findTextNotUtf8(write('address.csv', addressOnly), read)).toBeUndefined();
  });

  it('counts lines across the chunks it reads, with a last line that has no newline', async () => {
    // More than one chunk of a megabyte before the bad line, whose line straddles a chunk's end.
    const filler = row('DR CHAN', 'HIGH ST', 'x'.repeat(60));
    const count = Math.ceil((1 << 20) / filler.length) + 5;
    const bytes = Buffer.concat([
      Buffer.from(header + filler.repeat(count)),
      latin1(`202401,DR CHAN,HIGH ST,${'y'.repeat(3000)}\u00e9,3`),
    ]);
    for (const name of ['long.csv', 'long.csv.gz']) {
      expect(await findTextNotUtf8(write(name, bytes))).toEqual({
        line: count + 2,
        column: 'BNF_DESCRIPTION',
      });
    }
  });

  it('follows rows whose quoted fields hold newlines, and counts lines as an editor does', async () => {
    const read = new Set(['YEAR_MONTH', 'PRACTICE_NAME', 'BNF_DESCRIPTION', 'ITEMS']);
    // An address over two lines whose second holds a Latin-1 byte: not read, so not a fault.
    const address = Buffer.concat([
      Buffer.from(header),
      latin1('202401,DR CHAN,"1 HIGH ST\nCAF\u00c9 CORNER",Senna,3\n'),
      Buffer.from(row('A', 'B', 'C')),
    ]);
    for (const name of ['multiline.csv', 'multiline.csv.gz']) {
      expect(await findTextNotUtf8(write(name, address), read)).toBeUndefined();
      expect(await findTextNotUtf8(write(name, address))).toEqual({
        line: 3,
        column: 'ADDRESS_1',
      });
    }
    // After such a row, and on the continuation line of a quoted description.
    const description = Buffer.concat([
      Buffer.from(header),
      Buffer.from('202401,DR CHAN,"1 HIGH ST\nCORNER",Senna,3\n'),
      latin1('202401,DR CHAN,HIGH ST,"Senna\nS\u00e9nna",3\n'),
    ]);
    expect(await findTextNotUtf8(write('continued.csv', description), read)).toEqual({
      line: 5,
      column: 'BNF_DESCRIPTION',
    });
    // CRLF line ends and a byte-order mark: the same lines and columns.
    const crlf = Buffer.concat([
      Buffer.from(
        '\ufeff' + header.replace('\n', '\r\n') + row('A', 'B', 'C').replace('\n', '\r\n'),
      ),
      latin1(row('A', 'B', 'S\u00e9nna').replace('\n', '\r\n')),
    ]);
    expect(await findTextNotUtf8(write('crlf.csv', crlf), read)).toEqual({
      line: 3,
      column: 'BNF_DESCRIPTION',
    });
  });

  it('follows a quoted field across the chunks it reads', async () => {
    const filler = row('DR CHAN', 'HIGH ST', 'x'.repeat(60));
    // A quoted field with a newline in it that ends in the next megabyte.
    const before = Buffer.from(
      header +
        filler.repeat(Math.floor((1 << 20) / filler.length) - 1) +
        '202401,DR CHAN,"HIGH ST\n',
    );
    const bytes = Buffer.concat([
      before,
      Buffer.from('x'.repeat((1 << 20) - (before.length % (1 << 20)) + 100) + '\nCORNER",'),
      latin1('S\u00e9nna,3\n'),
    ]);
    const lines = bytes.subarray(0, bytes.indexOf(0xe9)).toString('latin1').split('\n').length;
    const read = new Set(['BNF_DESCRIPTION']);
    for (const name of ['across.csv', 'across.csv.gz']) {
      expect(await findTextNotUtf8(write(name, bytes), read)).toEqual({
        line: lines,
        column: 'BNF_DESCRIPTION',
      });
    }
  });

  it('fails, rather than finding nothing, when the file cannot be read', async () => {
    for (const compression of ['none', 'gzip'] as const) {
      await expect(
        findTextNotUtf8({ path: path.join(workDir, 'missing.csv'), compression }),
      ).rejects.toMatchObject({ code: 'ENOENT' });
    }
    // A gzip file that breaks off.
    const broken = write('broken.csv.gz', Buffer.from(header + row('A', 'B', 'C').repeat(500)));
    fs.truncateSync(broken.path, 40);
    await expect(findTextNotUtf8(broken)).rejects.toThrow();
  });

  it('names line 1 without a column when the header itself is not UTF-8', async () => {
    const bytes = Buffer.concat([latin1('YEAR_MONTH,PR\u00c9CTICE\n'), Buffer.from('1,2\n')]);
    expect(await findTextNotUtf8(write('header.csv', bytes))).toEqual({
      line: 1,
      column: undefined,
    });
  });
});
