import { isUtf8 } from 'node:buffer';
import fs from 'node:fs';
import { countBelow } from '../../lib/sorted.ts';
import { splitCsvFields } from './epd-layout.ts';

/**
 * Finds one row of each wanted practice and month in an uncompressed EPD file by reading single
 * lines at chosen offsets, instead of parsing every row.
 *
 * A practice's name, postcode, and the codes and names of its areas are the same on each of its
 * rows, and an EPD month lists a practice's rows together. Parsing those text columns on all 17
 * million rows of a month took about a quarter of the import's scan; one row per practice is all
 * that is needed. Lines are read at even steps through the file, then between two neighbouring
 * lines of different practices the gap is halved until every wanted practice has been seen or the
 * gap is closed.
 *
 * Nothing here is trusted blindly: a line read from the middle of a quoted field that spans lines
 * usually has the wrong number of fields or an unclosed quote, and a wanted row must also have
 * numbers in its number columns, or it is set aside; the text kept from it must be UTF-8; and a
 * practice this does not find (its rows scattered through the file, or too few to be met) is left
 * for the caller to read from the file in full. The reads are synchronous: the importer is a
 * command, and thousands of small reads from the page cache cost less this way than as separate
 * asynchronous requests.
 */

export interface RowProbeOptions {
  path: string;
  sizeBytes: number;
  /** The header's column names, in file order. */
  columns: readonly string[];
  monthColumn: string;
  practiceColumn: string;
  /** The practices to find, as `rowProbeKey(month, practice)` with the month as written. */
  wanted: ReadonlySet<string>;
  /** At most this many reads in all, so that a file in no order costs a bounded time. */
  maxReads?: number;
  /** Columns whose text is kept: a row found must have them in UTF-8 (others are not checked). */
  textColumns?: readonly string[];
  /** Columns that must hold numbers, or be empty, for a line to be taken as a row. */
  numberColumns?: readonly string[];
}

export interface RowProbeResult {
  /** Each wanted key found, with the fields of one of its rows. */
  rows: Map<string, string[]>;
  /** Rows found for wanted keys whose text columns are not UTF-8: where each starts, which column. */
  notUtf8: { key: string; offset: number; column: string }[];
  reads: number;
}

/** The longest line read; the engine reading the file refuses longer ones. */
const maxLineBytes = 1 << 20;
const firstReadBytes = 2048;
const newline = 0x0a;
const carriageReturn = 0x0d;
const comma = 0x2c;
const quoteByte = 0x22;

interface ProbedLine {
  start: number;
  /** Offset just past the line's newline (or the end of the file). */
  end: number;
  /** `rowProbeKey` of the line, or null when it is not a whole row. */
  key: string | null;
  fields: string[] | null;
  /** For a wanted line whose text columns are not all UTF-8, the first that is not. */
  notUtf8Column?: string;
}

export function rowProbeKey(month: string, practice: string): string {
  return `${month}\u0000${practice}`;
}

export function probeRows(options: RowProbeOptions): RowProbeResult {
  const rows = new Map<string, string[]>();
  const notUtf8: RowProbeResult['notUtf8'] = [];
  const remaining = new Set(options.wanted);
  if (remaining.size === 0) return { rows, notUtf8, reads: 0 };
  const monthIndex = options.columns.indexOf(options.monthColumn);
  const practiceIndex = options.columns.indexOf(options.practiceColumn);
  if (monthIndex < 0 || practiceIndex < 0)
    throw new Error('month or practice column not in the header');
  const maxReads = options.maxReads ?? 50 * remaining.size + 10_000;
  const indexesOf = (names: readonly string[] | undefined) =>
    (names ?? []).map((name) => options.columns.indexOf(name)).filter((index) => index >= 0);
  const textIndexes = indexesOf(options.textColumns);
  const numberIndexes = indexesOf(options.numberColumns);
  const descriptor = fs.openSync(options.path, 'r');
  let reads = 0;
  let buffer = Buffer.alloc(firstReadBytes);

  /** Reads `length` bytes at `position` into the shared buffer; returns how many were read. */
  const readAt = (position: number, length: number): number => {
    if (buffer.length < length) buffer = Buffer.alloc(length);
    reads += 1;
    return fs.readSync(descriptor, buffer, 0, length, position);
  };

  /** The line in `buffer` from `from` to `to`, keyed; fields are decoded only for a wanted key. */
  const parseLine = (start: number, from: number, to: number, end: number): ProbedLine => {
    // Commas, quotes and codes are ASCII, and no byte of a multi-byte UTF-8 character is ASCII, so
    // the line's shape and key can be read byte for byte; only a wanted row is decoded as UTF-8.
    if (to > from && buffer[to - 1] === carriageReturn) to -= 1;
    let key: string;
    if (buffer.subarray(from, to).indexOf(quoteByte) < 0) {
      // No quotes: the fields are what lies between the commas; only two are copied out.
      let count = 1;
      let monthFrom = -1;
      let monthTo = -1;
      let practiceFrom = -1;
      let practiceTo = -1;
      let fieldFrom = from;
      for (let at = from; at <= to; at += 1) {
        if (at < to && buffer[at] !== comma) continue;
        if (count - 1 === monthIndex) [monthFrom, monthTo] = [fieldFrom, at];
        if (count - 1 === practiceIndex) [practiceFrom, practiceTo] = [fieldFrom, at];
        count += 1;
        fieldFrom = at + 1;
      }
      if (count - 1 !== options.columns.length) {
        return { start, end, key: null, fields: null };
      }
      key = rowProbeKey(
        buffer.toString('latin1', monthFrom, monthTo),
        buffer.toString('latin1', practiceFrom, practiceTo),
      );
    } else {
      const { fields, complete } = splitCsvFields(buffer.toString('latin1', from, to));
      if (!complete || fields.length !== options.columns.length) {
        return { start, end, key: null, fields: null };
      }
      key = rowProbeKey(fields[monthIndex]!, fields[practiceIndex]!);
    }
    if (!remaining.has(key)) return { start, end, key, fields: null };
    // A wanted row is split again in full. Its numbers must be numbers: a line from the middle of
    // a quoted field that runs over three lines or more has no open quote and may have the right
    // number of commas, but it is unlikely to have numbers where the row has them.
    const raw = splitCsvFields(buffer.toString('latin1', from, to)).fields;
    if (numberIndexes.some((index) => raw[index] !== '' && !Number.isFinite(Number(raw[index])))) {
      return { start, end, key: null, fields: null };
    }
    const bad = textIndexes.find((index) => !isUtf8(Buffer.from(raw[index]!, 'latin1')));
    if (bad !== undefined) {
      return { start, end, key, fields: null, notUtf8Column: options.columns[bad] };
    }
    const fields = raw.map((field) => Buffer.from(field, 'latin1').toString('utf8'));
    return { start, end, key, fields };
  };

  /** The first line starting at or after `position`, or null past the last line. */
  const lineFrom = (position: number, dataStart: number): ProbedLine | null => {
    // A line starts just after a newline: look from the byte before `position`.
    let from = position > dataStart ? position - 1 : position;
    let length = readAt(from, firstReadBytes);
    let start = position;
    if (position > dataStart) {
      let index = buffer.subarray(0, length).indexOf(newline);
      while (index < 0) {
        if (length === 0 || from + length - position > maxLineBytes) return null;
        from += length;
        length = readAt(from, firstReadBytes);
        index = buffer.subarray(0, length).indexOf(newline);
      }
      start = from + index + 1;
    }
    if (start >= options.sizeBytes) return null;
    // Usually the whole line is in the block just read.
    const offset = start - from;
    const index = buffer.subarray(offset, length).indexOf(newline);
    if (index >= 0) return parseLine(start, offset, offset + index, start + index + 1);
    let want = firstReadBytes * 4;
    for (;;) {
      const read = readAt(start, want);
      const lineEnd = buffer.subarray(0, read).indexOf(newline);
      if (lineEnd >= 0) return parseLine(start, 0, lineEnd, start + lineEnd + 1);
      if (start + read >= options.sizeBytes) return parseLine(start, 0, read, start + read);
      if (want >= maxLineBytes) return null;
      want = Math.min(maxLineBytes, want * 4);
    }
  };

  // The keys still wanted, in code order. An EPD month lists its practices in runs of ascending
  // codes (area by area), so a practice not yet met most likely lies between the two lines whose
  // codes surround its own.
  const remainingInOrder = [...remaining].sort();
  /** Where `key` is, or would be, in `remainingInOrder`. */
  const orderIndex = (key: string) => countBelow(remainingInOrder, key);
  /** Whether a wanted key not yet met sorts between the two keys (an unknown key may hide any). */
  const mayHoldRemaining = (before: string | null, after: string | null) => {
    if (before === null || after === null) return true;
    const [low, high] = before < after ? [before, after] : [after, before];
    const next = remainingInOrder[orderIndex(low)];
    return next !== undefined && next <= high;
  };

  const record = (line: ProbedLine) => {
    if (line.key === null || !remaining.has(line.key)) return;
    remaining.delete(line.key);
    remainingInOrder.splice(orderIndex(line.key), 1);
    if (line.notUtf8Column === undefined) rows.set(line.key, line.fields!);
    else notUtf8.push({ key: line.key, offset: line.start, column: line.notUtf8Column });
  };
  const differ = (left: ProbedLine, right: ProbedLine) =>
    left.key === null || right.key === null || left.key !== right.key;

  try {
    const header = lineFrom(0, 0);
    if (!header) return { rows, notUtf8, reads };
    const dataStart = header.end;
    const step = Math.max(
      firstReadBytes,
      // Six reads per wanted practice on average, at even steps (fewer leave more practices to be
      // found by halving gaps, which costs more reads for each), and half the read limit at most.
      Math.floor((options.sizeBytes - dataStart) / Math.min(6 * remaining.size, maxReads / 2)),
    );
    const probes: ProbedLine[] = [];
    for (let position = dataStart; position < options.sizeBytes; position += step) {
      const line = lineFrom(position, dataStart);
      if (!line) break;
      if (probes.at(-1)?.start === line.start) continue;
      probes.push(line);
      record(line);
      if (remaining.size === 0) return { rows, notUtf8, reads };
    }
    // The end of the file closes the last gap, and differs from every line so that gap is halved.
    const endOfFile: ProbedLine = {
      start: options.sizeBytes,
      end: options.sizeBytes,
      key: null,
      fields: null,
    };
    const gaps: [ProbedLine, ProbedLine][] = [];
    const all = [...probes, endOfFile];
    for (let index = 0; index + 1 < all.length; index += 1) {
      if (differ(all[index]!, all[index + 1]!)) gaps.push([all[index]!, all[index + 1]!]);
    }
    // Gaps that a practice still wanted could lie in, were the file in code order, are halved
    // first; the others wait until those run out, so a file in another order is still searched.
    const later: [ProbedLine, ProbedLine][] = [];
    while (remaining.size > 0 && (gaps.length > 0 || later.length > 0) && reads < maxReads) {
      const fromLater = gaps.length === 0;
      const [before, after] = fromLater ? later.pop()! : gaps.pop()!;
      if (before.end >= after.start) continue;
      if (!fromLater && !mayHoldRemaining(before.key, after.key)) {
        later.push([before, after]);
        continue;
      }
      let middle = lineFrom(before.end + Math.floor((after.start - before.end) / 2), dataStart);
      // No line starts in the second half of the gap: take the line right after `before`.
      if (!middle || middle.start >= after.start) middle = lineFrom(before.end, dataStart);
      if (!middle || middle.start >= after.start) continue;
      record(middle);
      if (differ(before, middle)) gaps.push([before, middle]);
      if (differ(middle, after)) gaps.push([middle, after]);
    }
    return { rows, notUtf8, reads };
  } finally {
    fs.closeSync(descriptor);
  }
}

/** The number of the line holding byte `offset` of the file (the first line is 1). */
export function lineNumberAt(path: string, offset: number): number {
  const descriptor = fs.openSync(path, 'r');
  const chunk = Buffer.alloc(1 << 20);
  let line = 1;
  try {
    for (let position = 0; position < offset;) {
      const length = fs.readSync(
        descriptor,
        chunk,
        0,
        Math.min(chunk.length, offset - position),
        position,
      );
      if (length === 0) break;
      for (
        let at = chunk.indexOf(newline);
        at >= 0 && at < length;
        at = chunk.indexOf(newline, at + 1)
      ) {
        line += 1;
      }
      position += length;
    }
    return line;
  } finally {
    fs.closeSync(descriptor);
  }
}
