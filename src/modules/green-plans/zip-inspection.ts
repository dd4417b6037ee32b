import yauzl from 'yauzl';

/**
 * Limits for an XLSX workbook (a zip archive) before a spreadsheet parser may open it. A real plan
 * tracker of a few thousand rows unpacks to a few megabytes; a zip bomb unpacks to gigabytes from
 * a few kilobytes, so the total, each entry and the ratio of each entry are all bounded.
 */
export const zipLimits = {
  maxEntries: 500,
  maxTotalUncompressedBytes: 100 * 1024 * 1024,
  maxEntryUncompressedBytes: 50 * 1024 * 1024,
  /** Uncompressed ÷ compressed for any entry larger than `ratioCheckFromBytes`. */
  maxCompressionRatio: 100,
  ratioCheckFromBytes: 1024 * 1024,
};

export type ZipLimits = typeof zipLimits;

/** A workbook refused before parsing; the message is written for the person who chose the file. */
export class UnsafeArchiveError extends Error {
  override name = 'UnsafeArchiveError';
}

const MiB = 1024 * 1024;

function openZip(buffer: Buffer): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(
      buffer,
      { lazyEntries: true, validateEntrySizes: true, strictFileNames: false },
      (error, zip) => {
        if (error || !zip) reject(error ?? new Error('not a zip file'));
        else resolve(zip);
      },
    );
  });
}

/**
 * Reads the archive's central directory and refuses it when the sizes it declares are too large
 * or too compressed; then inflates every entry, counting real bytes (not trusting the directory),
 * and stops as soon as a limit is passed. Only an archive that passes both may be parsed.
 */
export async function inspectZipArchive(
  buffer: Buffer,
  limits: ZipLimits = zipLimits,
): Promise<{ entries: number; uncompressedBytes: number }> {
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(buffer);
  } catch {
    throw new UnsafeArchiveError('The selected file is not a valid Excel workbook (.xlsx)');
  }
  if (zip.entryCount > limits.maxEntries) {
    zip.close();
    throw new UnsafeArchiveError(
      `The selected workbook holds ${zip.entryCount} parts; a plan tracker has far fewer than ${limits.maxEntries}`,
    );
  }

  const entries: yauzl.Entry[] = [];
  let declaredTotal = 0;
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      declaredTotal += entry.uncompressedSize;
      const problem = describeEntryProblem(entry, declaredTotal, limits);
      if (problem) {
        zip.close();
        reject(new UnsafeArchiveError(problem));
        return;
      }
      entries.push(entry);
      zip.readEntry();
    });
    zip.on('end', () => resolve());
    zip.on('error', () =>
      reject(new UnsafeArchiveError('The selected file is not a valid Excel workbook (.xlsx)')),
    );
    zip.readEntry();
  });

  // The directory can lie: inflate each entry and count what really comes out.
  let realTotal = 0;
  for (const entry of entries) {
    if (entry.fileName.endsWith('/')) continue;
    realTotal += await countInflatedBytes(zip, entry, limits, realTotal);
  }
  zip.close();
  return { entries: entries.length, uncompressedBytes: realTotal };
}

function describeEntryProblem(
  entry: yauzl.Entry,
  declaredTotal: number,
  limits: ZipLimits,
): string | undefined {
  if (declaredTotal > limits.maxTotalUncompressedBytes) {
    return `The selected workbook unpacks to more than ${limits.maxTotalUncompressedBytes / MiB} MB, far more than a plan tracker needs; it may be a zip bomb`;
  }
  if (entry.uncompressedSize > limits.maxEntryUncompressedBytes) {
    return `A part of the selected workbook unpacks to more than ${limits.maxEntryUncompressedBytes / MiB} MB; it may be a zip bomb`;
  }
  if (
    entry.uncompressedSize > limits.ratioCheckFromBytes &&
    entry.uncompressedSize / Math.max(1, entry.compressedSize) > limits.maxCompressionRatio
  ) {
    return `A part of the selected workbook is compressed more than ${limits.maxCompressionRatio} to 1, as zip bombs are; it was not opened`;
  }
  return undefined;
}

function countInflatedBytes(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  limits: ZipLimits,
  totalSoFar: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => {
      if (error || !stream) {
        reject(new UnsafeArchiveError('The selected file is not a valid Excel workbook (.xlsx)'));
        return;
      }
      let bytes = 0;
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (
          bytes > limits.maxEntryUncompressedBytes ||
          totalSoFar + bytes > limits.maxTotalUncompressedBytes
        ) {
          stream.destroy();
          reject(
            new UnsafeArchiveError(
              'The selected workbook unpacks to far more than its directory says; it may be a zip bomb',
            ),
          );
        }
      });
      stream.on('error', () =>
        reject(
          new UnsafeArchiveError(
            'The selected workbook is damaged: a part does not unpack to the size it declares',
          ),
        ),
      );
      stream.on('end', () => resolve(bytes));
    });
  });
}
