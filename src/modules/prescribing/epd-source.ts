import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import yauzl from 'yauzl';
import { InputFileError } from '../../lib/csv.ts';
import { makeTemporaryFolder } from '../../lib/temporary-folders.ts';

/** A local, uncompressed-or-gzip CSV ready for the engine to read, and how to tidy up after it. */
export interface PreparedEpdFile {
  /** What the user named (a path, a URL, or `archive.zip › entry.csv`), for messages. */
  displayName: string;
  path: string;
  compression: 'none' | 'gzip';
  sizeBytes: number;
}

export interface PreparedEpdSource {
  input: string;
  files: PreparedEpdFile[];
  /** Deletes every temporary file made for this source (downloads, zip extracts). */
  cleanup(): Promise<void>;
}

export interface TransferProgress {
  phase: 'download' | 'unzip';
  bytesDone: number;
  bytesTotal: number | null;
}

export interface PrepareOptions {
  /** Folder for downloads and zip extracts; a fresh folder under the OS temp dir by default. */
  tempDir?: string;
  onProgress?: (progress: TransferProgress) => void;
  /** Give up on a download that sends nothing for this long. */
  idleTimeoutMs?: number;
}

const MAX_REDIRECTS = 5;

/**
 * Turns a path or an HTTP(S) URL into local CSV files. Downloads and zip entries are streamed to a
 * temporary file (memory stays bounded whatever the size) and deleted by `cleanup`, also on error.
 */
export async function prepareEpdSource(
  input: string,
  options: PrepareOptions = {},
): Promise<PreparedEpdSource> {
  const folder = await makeTemporaryFolder(options.tempDir ?? os.tmpdir(), 'greenspace-epd-');
  const tempDir = folder.path;
  const cleanup = () => folder.remove();
  try {
    let localPath = input;
    let displayName = input;
    if (/^https?:\/\//i.test(input)) {
      const name = safeFileName(new URL(input).pathname) || 'download';
      localPath = path.join(tempDir, name);
      await download(input, localPath, options);
    } else {
      displayName = input;
      const stat = await fsp.stat(input).catch((error: unknown) => {
        const code = (error as { code?: string }).code;
        throw new InputFileError([
          { file: input, message: code === 'ENOENT' ? 'file not found' : String(error) },
        ]);
      });
      if (!stat.isFile()) throw new InputFileError([{ file: input, message: 'is not a file' }]);
    }
    const kind = await sniffCompression(localPath);
    let files: PreparedEpdFile[];
    if (kind === 'zip') {
      files = await extractZipCsvEntries(localPath, displayName, tempDir, options);
    } else {
      const { size } = await fsp.stat(localPath);
      if (size === 0)
        throw new InputFileError([{ file: displayName, message: 'the file is empty' }]);
      files = [
        {
          displayName,
          path: await withoutPatternCharacters(localPath, tempDir),
          compression: kind,
          sizeBytes: size,
        },
      ];
    }
    return { input, files, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/**
 * The engine reads a path with `*`, `?`, `[` or `{` in it as a pattern of file names, so
 * `EPD_2024[01].csv` would match nothing and `EPD_*.csv` every such file. Such a file is read
 * through a link with a plain name in the import's temporary folder instead.
 */
async function withoutPatternCharacters(file: string, tempDir: string): Promise<string> {
  if (!/[*?[\]{}]/.test(file)) return file;
  const link = path.join(tempDir, `input${path.extname(file).replace(/[^A-Za-z0-9.]/g, '')}`);
  await fsp.symlink(path.resolve(file), link);
  return link;
}

function safeFileName(urlPath: string): string {
  return path.basename(decodeURIComponent(urlPath)).replace(/[^A-Za-z0-9._-]/g, '_');
}

async function sniffCompression(file: string): Promise<'none' | 'gzip' | 'zip'> {
  const handle = await fsp.open(file, 'r');
  try {
    const buffer = Buffer.alloc(4);
    const { bytesRead } = await handle.read(buffer, 0, 4, 0);
    if (bytesRead >= 2 && buffer[0] === 0x1f && buffer[1] === 0x8b) return 'gzip';
    if (bytesRead === 4 && buffer.readUInt32LE(0) === 0x04034b50) return 'zip';
    return 'none';
  } finally {
    await handle.close();
  }
}

/** Streams an HTTP(S) response to a file, checking it arrived whole. */
async function download(url: string, target: string, options: PrepareOptions, redirects = 0) {
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http;
    const request = client.get(
      url,
      { headers: { 'user-agent': 'greenspace-epd-import' } },
      resolve,
    );
    request.on('error', (error) =>
      reject(new InputFileError([{ file: url, message: `cannot download: ${error.message}` }])),
    );
    request.setTimeout(options.idleTimeoutMs ?? 60_000, () =>
      request.destroy(new Error('no data received for too long')),
    );
  });
  const status = response.statusCode ?? 0;
  if (status >= 300 && status < 400 && response.headers.location) {
    response.resume();
    if (redirects >= MAX_REDIRECTS) {
      throw new InputFileError([{ file: url, message: 'too many redirects' }]);
    }
    return download(
      new URL(response.headers.location, url).toString(),
      target,
      options,
      redirects + 1,
    );
  }
  if (status !== 200) {
    response.resume();
    throw new InputFileError([
      {
        file: url,
        message: `the server answered ${status} ${response.statusMessage ?? ''}`.trim(),
      },
    ]);
  }
  const lengthHeader = response.headers['content-length'];
  const expected = lengthHeader === undefined ? null : Number(lengthHeader);
  let received = 0;
  response.on('data', (chunk: Buffer) => {
    received += chunk.length;
    options.onProgress?.({ phase: 'download', bytesDone: received, bytesTotal: expected });
  });
  try {
    await pipeline(response, fs.createWriteStream(target));
  } catch (error) {
    throw new InputFileError([
      {
        file: url,
        message: `the download broke after ${received} bytes${expected === null ? '' : ` of ${expected}`} (${(error as Error).message})`,
      },
    ]);
  }
  if (expected !== null && received !== expected) {
    throw new InputFileError([
      {
        file: url,
        message: `the download broke after ${received} of ${expected} bytes; nothing was imported`,
      },
    ]);
  }
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false }, (error, zip) =>
      error || !zip ? reject(error ?? new Error('cannot open')) : resolve(zip),
    ),
  );
}

/** Extracts every `.csv` entry of a zip to the temp folder, one stream at a time. */
async function extractZipCsvEntries(
  zipPath: string,
  displayName: string,
  tempDir: string,
  options: PrepareOptions,
): Promise<PreparedEpdFile[]> {
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(zipPath);
  } catch (error) {
    throw new InputFileError([
      {
        file: displayName,
        message: `not a complete zip file, it may be truncated (${(error as Error).message})`,
      },
    ]);
  }
  const files: PreparedEpdFile[] = [];
  try {
    const entries: yauzl.Entry[] = await new Promise((resolve, reject) => {
      const found: yauzl.Entry[] = [];
      zip.on('entry', (entry: yauzl.Entry) => {
        if (/\.csv(\.gz)?$/i.test(entry.fileName) && !entry.fileName.endsWith('/'))
          found.push(entry);
        zip.readEntry();
      });
      zip.on('end', () => resolve(found));
      zip.on('error', reject);
      zip.readEntry();
    });
    if (entries.length === 0) {
      throw new InputFileError([{ file: displayName, message: 'the zip file holds no .csv file' }]);
    }
    for (const [index, entry] of entries.entries()) {
      const name = `${displayName} › ${entry.fileName}`;
      const target = path.join(tempDir, `entry-${index}-${safeFileName(entry.fileName)}`);
      const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
        zip.openReadStream(entry, (error, readable) =>
          error || !readable ? reject(error ?? new Error('cannot read')) : resolve(readable),
        ),
      );
      let done = 0;
      stream.on('data', (chunk: Buffer) => {
        done += chunk.length;
        options.onProgress?.({
          phase: 'unzip',
          bytesDone: done,
          bytesTotal: entry.uncompressedSize,
        });
      });
      try {
        await pipeline(stream, fs.createWriteStream(target));
      } catch (error) {
        throw new InputFileError([
          {
            file: name,
            message: `cannot unzip: ${(error as Error).message}; the file may be truncated`,
          },
        ]);
      }
      const kind = await sniffCompression(target);
      files.push({
        displayName: name,
        path: target,
        compression: kind === 'gzip' ? 'gzip' : 'none',
        sizeBytes: (await fsp.stat(target)).size,
      });
    }
  } finally {
    zip.close();
  }
  return files;
}

/**
 * Reads the first line of a CSV (through gzip when needed) without reading the rest, plus the
 * first data line, which gives the month before the whole file is scanned.
 */
export async function readFirstLines(
  file: PreparedEpdFile,
  maxBytes = 1 << 20,
): Promise<{ header: string; firstRow: string | null }> {
  const raw = fs.createReadStream(file.path, {
    end: file.compression === 'none' ? maxBytes : undefined,
  });
  const stream = file.compression === 'gzip' ? raw.pipe(zlib.createGunzip()) : raw;
  let text = '';
  try {
    for await (const chunk of stream) {
      text += (chunk as Buffer).toString('utf8');
      const lines = text.split('\n');
      if (lines.length >= 3 || text.length >= maxBytes) break;
    }
  } catch (error) {
    throw new InputFileError([
      {
        file: file.displayName,
        line: 1,
        message: `cannot read the file: ${(error as Error).message}`,
      },
    ]);
  } finally {
    raw.destroy();
  }
  const lines = text.split('\n');
  const header = (lines[0] ?? '').replace(/\r$/, '');
  if (header.trim() === '') {
    throw new InputFileError([
      { file: file.displayName, line: 1, message: 'the file has no header line' },
    ]);
  }
  const second = lines.length > 1 ? lines[1]!.replace(/\r$/, '') : null;
  return { header, firstRow: second && second.trim() !== '' ? second : null };
}
