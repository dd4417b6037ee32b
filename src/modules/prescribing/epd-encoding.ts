import fs from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { pipeline } from 'node:stream';
import zlib from 'node:zlib';
import { splitCsvHeader } from './epd-layout.ts';
import type { PreparedEpdFile } from './epd-source.ts';

/** What an import says of text that is not UTF-8, wherever it is found. */
export const NOT_UTF8_MESSAGE = 'the text is not UTF-8 (is the file in another encoding?)';

export interface TextNotUtf8 {
  /** The line as a text editor numbers it (1 is the header). */
  line: number;
  /** The column the first bad byte is in, by the header's name; undefined past the header's end. */
  column: string | undefined;
}

const newline = 0x0a;
const comma = 0x2c;
const quote = 0x22;

/**
 * Where the reading of CSV rows stands after some bytes: inside double quotes or not, and which
 * field of its row it is in. A quoted field may hold newlines, so a physical line can start in the
 * middle of a row.
 */
interface RowState {
  quoted: boolean;
  column: number;
}

/** Moves `state` over `bytes[from, to)`: commas outside quotes end fields, newlines rows. */
function advance(state: RowState, bytes: Uint8Array, from: number, to: number): void {
  for (let index = from; index < to; index += 1) {
    const byte = bytes[index];
    if (byte === quote) state.quoted = !state.quoted;
    else if (!state.quoted) {
      if (byte === comma) state.column += 1;
      else if (byte === newline) state.column = 0;
    }
  }
}

/**
 * Finds the first text in a file (plain or gzip) that is not UTF-8, with its line and column;
 * undefined when there is none. Only the columns named in `columns` (upper case) count, when it is
 * given: bytes in a column nothing reads are not a fault. It reads the file once, from the start,
 * checking a megabyte of whole lines at a time with Node's own UTF-8 check and looking closer only
 * at a chunk that fails; used only after a read has failed, to name where, so speed matters less
 * than certainty. Lines are numbered as a text editor numbers them; columns follow the rows, whose
 * quoted fields may hold commas and newlines.
 */
export async function findTextNotUtf8(
  file: Pick<PreparedEpdFile, 'path' | 'compression'>,
  columns?: ReadonlySet<string>,
): Promise<TextNotUtf8 | undefined> {
  const raw = fs.createReadStream(file.path, { highWaterMark: 1 << 20 });
  // Through a pipeline, so that a read error reaches the loop below instead of going unheard.
  const stream: AsyncIterable<Buffer> =
    file.compression === 'gzip' ? pipeline(raw, zlib.createGunzip(), () => {}) : raw;
  let header: string[] | undefined;
  let line = 1;
  const state: RowState = { quoted: false, column: 0 };
  let carried: Buffer = Buffer.alloc(0);
  /** Looks at whole lines (ending in a newline, except at the end of the file). */
  const inspect = (bytes: Buffer): TextNotUtf8 | undefined => {
    if (bytes.length === 0) return undefined;
    let from = 0;
    if (header === undefined) {
      const end = bytes.indexOf(newline);
      const headerBytes = bytes.subarray(0, end < 0 ? bytes.length : end);
      // A header that is not UTF-8 is named with no column: the names themselves are in doubt.
      if (!isUtf8(headerBytes)) return { line: 1, column: undefined };
      header = splitCsvHeader(headerBytes.toString('utf8'));
      if (end < 0) return undefined;
      line += 1;
      from = end + 1;
    }
    const rest = bytes.subarray(from);
    if (isUtf8(rest)) {
      let quotes = 0;
      for (let at = rest.indexOf(quote); at >= 0; at = rest.indexOf(quote, at + 1)) quotes += 1;
      // Outside quotes before and after, the chunk ends a row (it ends in a newline): no need to
      // follow it byte by byte.
      if (state.quoted || quotes % 2 === 1) advance(state, rest, 0, rest.length);
      for (let at = rest.indexOf(newline); at >= 0; at = rest.indexOf(newline, at + 1)) line += 1;
      return undefined;
    }
    let start = 0;
    while (start < rest.length) {
      const end = rest.indexOf(newline, start);
      const stop = end < 0 ? rest.length : end;
      const lineBytes = rest.subarray(start, stop);
      for (
        let bad = firstInvalidUtf8(lineBytes);
        bad >= 0;
        bad = firstInvalidUtf8(lineBytes, bad + 1)
      ) {
        const at = { ...state };
        advance(at, lineBytes, 0, bad);
        const column = header![at.column];
        if (!columns || (column !== undefined && columns.has(column.toUpperCase())))
          return { line, column };
      }
      if (end < 0) break;
      advance(state, rest, start, end + 1);
      line += 1;
      start = end + 1;
    }
    return undefined;
  };
  try {
    for await (const chunk of stream) {
      const bytes = carried.length > 0 ? Buffer.concat([carried, chunk]) : chunk;
      // Checked up to the last newline: a character's bytes are never split, since no byte of a
      // multi-byte UTF-8 character is a newline.
      const cut = bytes.lastIndexOf(newline) + 1;
      carried = Buffer.from(bytes.subarray(cut));
      const found = inspect(bytes.subarray(0, cut));
      if (found) return found;
    }
    return inspect(carried);
  } finally {
    raw.destroy();
  }
}

/**
 * The index of the first byte of `bytes`, from `from`, that does not belong to a well-formed UTF-8
 * character; -1 when there is none.
 */
export function firstInvalidUtf8(bytes: Uint8Array, from = 0): number {
  for (let index = from; index < bytes.length;) {
    const lead = bytes[index]!;
    let length: number;
    let min: number;
    if (lead < 0x80) {
      index += 1;
      continue;
    } else if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
      min = 0x80;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      min = 0x800;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      min = 0x10000;
    } else {
      return index;
    }
    if (index + length > bytes.length) return index;
    let codePoint = lead & (0xff >> (length + 1));
    for (let next = 1; next < length; next += 1) {
      const byte = bytes[index + next]!;
      if ((byte & 0xc0) !== 0x80) return index;
      codePoint = (codePoint << 6) | (byte & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if (codePoint < min || (codePoint >= 0xd800 && codePoint <= 0xdfff) || codePoint > 0x10ffff)
      return index;
    index += length;
  }
  return -1;
}
