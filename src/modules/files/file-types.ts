/**
 * What may be uploaded for each purpose, and how big it may be. A file's type is decided by
 * reading its first bytes, never by its name or by what the browser says; the name only tells an
 * old Office document (which is a generic compound file inside) which application it belongs to.
 */

const MiB = 1024 * 1024;

export interface AllowedType {
  extension: string;
  contentType: string;
  label: string;
}

const pdf: AllowedType = { extension: 'pdf', contentType: 'application/pdf', label: 'PDF' };
const png: AllowedType = { extension: 'png', contentType: 'image/png', label: 'PNG image' };
const jpg: AllowedType = { extension: 'jpg', contentType: 'image/jpeg', label: 'JPEG image' };
const gif: AllowedType = { extension: 'gif', contentType: 'image/gif', label: 'GIF image' };
const webp: AllowedType = { extension: 'webp', contentType: 'image/webp', label: 'WebP image' };
const docx: AllowedType = {
  extension: 'docx',
  contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  label: 'Word document',
};
const xlsx: AllowedType = {
  extension: 'xlsx',
  contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  label: 'Excel workbook',
};
const pptx: AllowedType = {
  extension: 'pptx',
  contentType: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  label: 'PowerPoint presentation',
};
const doc: AllowedType = {
  extension: 'doc',
  contentType: 'application/msword',
  label: 'Word 97–2003 document',
};
const xls: AllowedType = {
  extension: 'xls',
  contentType: 'application/vnd.ms-excel',
  label: 'Excel 97–2003 workbook',
};
const ppt: AllowedType = {
  extension: 'ppt',
  contentType: 'application/vnd.ms-powerpoint',
  label: 'PowerPoint 97–2003 presentation',
};
const mp4: AllowedType = { extension: 'mp4', contentType: 'video/mp4', label: 'MP4 video' };
const webm: AllowedType = { extension: 'webm', contentType: 'video/webm', label: 'WebM video' };
const vtt: AllowedType = {
  extension: 'vtt',
  contentType: 'text/vtt',
  label: 'WebVTT captions file',
};
const csv: AllowedType = { extension: 'csv', contentType: 'text/csv', label: 'CSV file' };

const officeDocuments = [docx, xlsx, pptx, doc, xls, ppt];

export const uploadPurposes = {
  evidence: { maxBytes: 20 * MiB, types: [pdf, png, jpg, gif, webp, ...officeDocuments] },
  document: { maxBytes: 50 * MiB, types: [pdf, ...officeDocuments] },
  image: { maxBytes: 5 * MiB, types: [png, jpg, gif, webp] },
  video: { maxBytes: 500 * MiB, types: [mp4, webm] },
  captions: { maxBytes: 1 * MiB, types: [vtt] },
  spreadsheet: { maxBytes: 10 * MiB, types: [xlsx, csv] },
} as const satisfies Record<string, { maxBytes: number; types: readonly AllowedType[] }>;

export type UploadPurpose = keyof typeof uploadPurposes;

/** The largest upload of any purpose, for the multipart parser's own hard limit. */
export const LARGEST_UPLOAD_BYTES = Math.max(
  ...Object.values(uploadPurposes).map((purpose) => purpose.maxBytes),
);

/** How many leading bytes the detectors need to see. */
export const SNIFF_BYTES = 4100;

/** The allowed types as a phrase with its article: "an Excel workbook or CSV file". */
export function describeAllowedTypes(purpose: UploadPurpose): string {
  const labels = [
    ...new Set(uploadPurposes[purpose].types.map((type) => type.label.replace(/ 97–2003/, ''))),
  ];
  const list =
    labels.length === 1 ? labels[0]! : `${labels.slice(0, -1).join(', ')} or ${labels.at(-1)}`;
  // Said aloud, "MP4" begins with a vowel sound although its letter is a consonant.
  return `${/^(?:[AEIOU]|MP4)/i.test(list) ? 'an' : 'a'} ${list}`;
}

export function formatBytes(bytes: number): string {
  if (bytes >= MiB) return `${Math.round((bytes / MiB) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

/**
 * Matches what a content detector found (file-type's extension, or our text checks) against the
 * purpose's allowed types. `detected` is undefined when no binary signature matched.
 */
export function matchAllowedType(
  purpose: UploadPurpose,
  detected: { ext: string; mime: string } | undefined,
  head: Buffer,
  originalName: string,
): AllowedType | undefined {
  const allowed = uploadPurposes[purpose].types as readonly AllowedType[];
  if (detected) {
    if (detected.ext === 'cfb') {
      // Word, Excel and PowerPoint 97–2003 files are all compound files; the name says which.
      const fromName = originalName.toLowerCase().split('.').pop();
      return allowed.find(
        (type) => ['doc', 'xls', 'ppt'].includes(type.extension) && type.extension === fromName,
      );
    }
    return allowed.find(
      (type) =>
        type.extension === detected.ext || (detected.ext === 'jpeg' && type.extension === 'jpg'),
    );
  }
  if (!isPlainText(head)) return undefined;
  const text = head.toString('utf8').replace(/^\uFEFF/, '');
  if (
    allowed.some((type) => type.extension === 'vtt') &&
    /^WEBVTT(?:[ \t].*)?(?:\r?\n|$)/.test(text)
  )
    return vtt;
  if (
    allowed.some((type) => type.extension === 'csv') &&
    originalName.toLowerCase().endsWith('.csv')
  )
    return csv;
  return undefined;
}

/** UTF-8 text with no control characters other than tabs and line ends. */
export function isPlainText(head: Buffer): boolean {
  if (head.length === 0) return false;
  for (const byte of head) {
    if (byte === 0) return false;
    if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return false;
  }
  // A multi-byte character may be cut at the end of the sample; drop up to 3 bytes before decoding.
  for (let trim = 0; trim <= 3; trim++) {
    const slice = head.subarray(0, head.length - trim);
    if (Buffer.from(slice.toString('utf8'), 'utf8').equals(slice)) return true;
  }
  return false;
}
