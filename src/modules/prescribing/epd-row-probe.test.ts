import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startRowProbe } from './epd-row-probe-thread.ts';
import { lineNumberAt, probeRows, rowProbeKey, type RowProbeOptions } from './epd-row-probe.ts';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-probe-'));
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

const columns = ['YEAR_MONTH', 'PRACTICE_NAME', 'PRACTICE_CODE', 'BNF_CODE', 'ITEMS'];

interface Row {
  month: string;
  practice: string;
  name: string;
}

/** A small seeded generator, so that every run writes the same files. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function writeRows(name: string, rows: readonly Row[], lineEnd = '\n', bom = false): string {
  const file = path.join(folder, name);
  const lines = [
    (bom ? '\uFEFF' : '') + columns.join(','),
    ...rows.map((row, index) =>
      [row.month, csvField(row.name), row.practice, `0301011R0AA${index % 10}AAA`, '3'].join(','),
    ),
  ];
  fs.writeFileSync(file, lines.join(lineEnd) + lineEnd);
  return file;
}

/** Practices of very different sizes, each practice's rows together, as an EPD month lists them. */
function groupedRows(practices: number, months: readonly string[], random: () => number): Row[] {
  const rows: Row[] = [];
  for (const month of months) {
    for (let index = 0; index < practices; index += 1) {
      const practice = `P${String(index).padStart(5, '0')}`;
      // Mostly small practices (a single row for some), a few with thousands of rows.
      const count = random() < 0.1 ? 1 : Math.ceil(Math.exp(random() * 8));
      for (let row = 0; row < count; row += 1) {
        rows.push({ month, practice, name: `SURGERY ${index}, ${month}` });
      }
    }
  }
  return rows;
}

function keysOf(rows: readonly Row[]): Set<string> {
  return new Set(rows.map((row) => rowProbeKey(row.month, row.practice)));
}

function probeOptions(
  file: string,
  wanted: ReadonlySet<string>,
  extra: { maxReads?: number } = {},
): RowProbeOptions {
  return {
    path: file,
    sizeBytes: fs.statSync(file).size,
    columns,
    monthColumn: 'YEAR_MONTH',
    practiceColumn: 'PRACTICE_CODE',
    wanted,
    textColumns: ['PRACTICE_NAME'],
    numberColumns: ['ITEMS'],
    ...extra,
  };
}

function probe(file: string, wanted: ReadonlySet<string>, extra: { maxReads?: number } = {}) {
  return probeRows(probeOptions(file, wanted, extra));
}

/** Each row found must be a real row of its practice and month, field for field. */
function expectRowsOfTheirKeys(found: Map<string, string[]>, rows: readonly Row[]): void {
  const names = new Map(rows.map((row) => [rowProbeKey(row.month, row.practice), row.name]));
  for (const [key, fields] of found) {
    expect(rowProbeKey(fields[0]!, fields[2]!)).toBe(key);
    expect(fields[1]).toBe(names.get(key));
    expect(fields).toHaveLength(columns.length);
  }
}

describe('probeRows', () => {
  it('finds every practice of a grouped file, single-row ones included, in far fewer reads than rows', () => {
    const rows = groupedRows(300, ['202401', '202402'], seededRandom(7));
    const file = writeRows('grouped.csv', rows);
    const wanted = keysOf(rows);
    const result = probe(file, wanted);
    expect(result.rows.size).toBe(wanted.size);
    expect(result.notUtf8).toEqual([]);
    expectRowsOfTheirKeys(result.rows, rows);
    expect(rows.length).toBeGreaterThan(50_000);
    expect(result.reads).toBeLessThan(rows.length / 4);
  });

  it('halves first the gaps a missing practice would lie in when practices come in code order', () => {
    const rows = groupedRows(600, ['202401'], seededRandom(5));
    const inOrder = probe(writeRows('in-order.csv', rows), keysOf(rows));
    // The same blocks of rows, the practices in no order.
    const blocks = new Map<string, Row[]>();
    for (const row of rows) blocks.set(row.practice, [...(blocks.get(row.practice) ?? []), row]);
    const random = seededRandom(9);
    const shuffled = [...blocks.values()]
      .map((block) => ({ block, sortKey: random() }))
      .sort((left, right) => left.sortKey - right.sortKey)
      .flatMap(({ block }) => block);
    const outOfOrder = probe(writeRows('out-of-order.csv', shuffled), keysOf(rows));
    expect(inOrder.rows.size).toBe(blocks.size);
    expect(outOfOrder.rows.size).toBe(blocks.size);
    expectRowsOfTheirKeys(inOrder.rows, rows);
    expectRowsOfTheirKeys(outOfOrder.rows, rows);
    // Gaps that no missing practice's code falls in are left until last, so the ordered file needs
    // a third fewer reads (4,303 against 6,753 when written).
    expect(inOrder.reads).toBeLessThan(outOfOrder.reads * 0.8);
  });

  it('looks only for the practices asked for, and stops when it has them', () => {
    const rows = groupedRows(300, ['202401'], seededRandom(11));
    const file = writeRows('some.csv', rows);
    const first = rows[0]!;
    const result = probe(file, new Set([rowProbeKey(first.month, first.practice)]));
    expect([...result.rows.keys()]).toEqual([rowProbeKey(first.month, first.practice)]);
    expect(result.reads).toBeLessThan(1_000);
  });

  it('reads quoted names with commas and quotes, CRLF line ends and a byte-order mark', () => {
    const rows: Row[] = [
      { month: '202401', practice: 'A00001', name: 'THE "OLD" SURGERY, KIBWORTH' },
      { month: '202401', practice: 'A00002', name: 'Médecins, Ltd' },
      { month: '202401', practice: 'A00003', name: 'PLAIN' },
    ];
    const file = writeRows('quoted.csv', rows, '\r\n', true);
    const result = probe(file, keysOf(rows));
    expect(result.rows.get(rowProbeKey('202401', 'A00001'))![1]).toBe(
      'THE "OLD" SURGERY, KIBWORTH',
    );
    expect(result.rows.get(rowProbeKey('202401', 'A00002'))![1]).toBe('Médecins, Ltd');
    expect(result.rows.get(rowProbeKey('202401', 'A00003'))).toEqual([
      '202401',
      'PLAIN',
      'A00003',
      '0301011R0AA2AAA',
      '3',
    ]);
  });

  it('never takes the second half of a name that runs over two lines for a row', () => {
    // The second line of each A record looks like a row of B…: five fields before the quote
    // that closes the name. It must be seen as the inside of a quoted field, never as B's row;
    // the plain C practices between them are all found.
    const rows: Row[] = [];
    for (let index = 0; index < 2_000; index += 1) {
      const number = String(index).padStart(5, '0');
      rows.push({
        month: '202401',
        practice: `A${number}`,
        name: `SURGERY\n202401,X,B${number},0301,3,"`,
      });
      rows.push({ month: '202401', practice: `C${number}`, name: `PLAIN ${number}` });
    }
    const file = writeRows('multiline.csv', rows);
    const plain = keysOf(rows.filter((row) => row.practice.startsWith('C')));
    const lookalikes = rows.map((row) => rowProbeKey('202401', row.practice.replace('A', 'B')));
    const result = probe(file, new Set([...keysOf(rows), ...lookalikes]), { maxReads: 50_000 });
    for (const key of plain) expect(result.rows.has(key)).toBe(true);
    for (const key of result.rows.keys()) expect(key).not.toContain('\u0000B');
    expectRowsOfTheirKeys(result.rows, rows);
  });

  it('does not claim a practice whose rows are scattered if it cannot find one, within its read limit', () => {
    const random = seededRandom(3);
    const rows = groupedRows(400, ['202401'], random);
    for (let index = rows.length - 1; index > 0; index -= 1) {
      const other = Math.floor(random() * (index + 1));
      [rows[index], rows[other]] = [rows[other]!, rows[index]!];
    }
    const file = writeRows('shuffled.csv', rows);
    const wanted = keysOf(rows);
    const result = probe(file, wanted, { maxReads: 2_000 });
    expect(result.reads).toBeLessThanOrEqual(2_000 + 10);
    expect(result.rows.size).toBeLessThan(wanted.size);
    expectRowsOfTheirKeys(result.rows, rows);
  });

  it('reports a wanted row that is not UTF-8, and a last line without a newline', () => {
    const file = path.join(folder, 'latin1.csv');
    fs.writeFileSync(
      file,
      Buffer.concat([
        Buffer.from(`${columns.join(',')}\n202401,CAF`),
        Buffer.from([0xe9]),
        Buffer.from(',A00001,0301,3\n202401,PLAIN,A00002,0301,3'),
      ]),
    );
    const result = probe(
      file,
      new Set([rowProbeKey('202401', 'A00001'), rowProbeKey('202401', 'A00002')]),
    );
    expect(result.notUtf8).toEqual([
      {
        key: rowProbeKey('202401', 'A00001'),
        offset: columns.join(',').length + 1,
        column: 'PRACTICE_NAME',
      },
    ]);
    expect(lineNumberAt(file, result.notUtf8[0]!.offset)).toBe(2);
    expect(result.rows.get(rowProbeKey('202401', 'A00002'))![1]).toBe('PLAIN');
  });

  it('reads lines far longer than one read, wherever a read lands in them', () => {
    const random = seededRandom(19);
    const rows = groupedRows(120, ['202401'], random).map((row) => {
      // Names of 3 to 20 KB on a third of the practices: reads land inside them, and a line
      // starts beyond the first block read.
      const number = Number(row.practice.slice(1));
      const long = number % 3 === 0 ? ` ${'x'.repeat(3_000 + ((number * 997) % 17_000))}` : '';
      return { ...row, name: `${row.name}${long}` };
    });
    const file = writeRows('long.csv', rows.slice(0, 6_000));
    const wanted = keysOf(rows.slice(0, 6_000));
    const result = probe(file, wanted);
    expect(result.rows.size).toBe(wanted.size);
    expectRowsOfTheirKeys(result.rows, rows);
  });

  it('sets aside a line with too many or too few fields, quoted or not', () => {
    const file = path.join(folder, 'counts.csv');
    fs.writeFileSync(
      file,
      [
        columns.join(','),
        '202401,EXTRA,A00001,0301,3,surplus',
        '202401,"QUOTED, SHORT",A00002,3',
        '202401,PLAIN,A00003,0301,3',
        '202401,"QUOTED, EXTRA",A00004,0301,3,surplus',
      ].join('\n') + '\n',
    );
    const result = probe(
      file,
      new Set(['A00001', 'A00002', 'A00003', 'A00004'].map((code) => rowProbeKey('202401', code))),
    );
    expect([...result.rows.keys()]).toEqual([rowProbeKey('202401', 'A00003')]);
  });

  it('never takes the first line of a row whose last field runs on, cut short, for the row', () => {
    // With the name last, the first line of such a row has every field, the name cut short.
    const nameLast = ['YEAR_MONTH', 'PRACTICE_CODE', 'BNF_CODE', 'ITEMS', 'PRACTICE_NAME'];
    const file = path.join(folder, 'name-last.csv');
    fs.writeFileSync(
      file,
      `${nameLast.join(',')}\n202401,A00001,0301,3,"FIRST LINE\nSECOND LINE"\n202401,A00002,0301,3,WHOLE\n`,
    );
    const result = probeRows({
      path: file,
      sizeBytes: fs.statSync(file).size,
      columns: nameLast,
      monthColumn: 'YEAR_MONTH',
      practiceColumn: 'PRACTICE_CODE',
      wanted: new Set([rowProbeKey('202401', 'A00001'), rowProbeKey('202401', 'A00002')]),
    });
    expect([...result.rows.keys()]).toEqual([rowProbeKey('202401', 'A00002')]);
  });

  it('sets aside the middle line of a name over three lines when its numbers are not numbers', () => {
    const file = path.join(folder, 'three-lines.csv');
    const record = (index: number) =>
      `202401,"THE SURGERY\n202401,FAKE NAME,B00001,0301,see below\nEND",A${String(index).padStart(5, '0')},0301,3`;
    fs.writeFileSync(
      file,
      [
        columns.join(','),
        ...Array.from({ length: 200 }, (_, index) => record(index)),
        '202401,REAL,B00001,0301,3',
      ].join('\n') + '\n',
    );
    const result = probe(file, new Set([rowProbeKey('202401', 'B00001')]), { maxReads: 5_000 });
    expect(result.rows.get(rowProbeKey('202401', 'B00001'))).toEqual([
      '202401',
      'REAL',
      'B00001',
      '0301',
      '3',
    ]);
  });

  it('checks only the text columns kept for UTF-8, and reads spaces around quotes as the engine does', () => {
    const file = path.join(folder, 'other-columns.csv');
    fs.writeFileSync(
      file,
      Buffer.concat([
        Buffer.from(`${columns.join(',')}\n202401, "SPACED" ,A00001,0301`),
        Buffer.from([0xe9]),
        Buffer.from(',3\n'),
      ]),
    );
    const result = probe(file, new Set([rowProbeKey('202401', 'A00001')]));
    expect(result.notUtf8).toEqual([]);
    expect(result.rows.get(rowProbeKey('202401', 'A00001'))![1]).toBe('SPACED');
  });

  it('reads nothing when nothing is wanted, and handles a file with a header only', () => {
    const file = writeRows('empty.csv', []);
    expect(probe(file, new Set())).toMatchObject({ reads: 0 });
    expect(probe(file, new Set([rowProbeKey('202401', 'A00001')])).rows.size).toBe(0);
  });
});

describe('startRowProbe', () => {
  it('gives from its worker thread what probeRows gives in this one', async () => {
    const rows = groupedRows(200, ['202401', '202402'], seededRandom(11));
    const options = probeOptions(writeRows('worker.csv', rows), keysOf(rows));
    const task = startRowProbe(options);
    const inThread = probeRows(options);
    expect(inThread.rows.size).toBe(options.wanted.size);
    expect(await task.result).toEqual(inThread);
  });

  it('stops its thread when asked, and its result then says so', async () => {
    const rows = groupedRows(50, ['202401'], seededRandom(13));
    const task = startRowProbe(probeOptions(writeRows('stopped.csv', rows), keysOf(rows)));
    task.stop();
    await expect(task.result).rejects.toThrow(/stopped before it finished/);
  });
});
