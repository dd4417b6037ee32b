import type { Multipart } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { BadRequestError, unreadableForm } from '../../web/http-errors.ts';
import { checkedText } from '../../web/forms.ts';
import type { UploadPurpose } from './file-types.ts';
import { UploadRejected, type FileService, type PendingUpload } from './file.service.ts';

/**
 * Reads the rest of a multipart form (after the CSRF token the authentication hook has checked):
 * text fields, each sent once, and files handed to `onFile` as they stream. A file input left
 * empty is skipped.
 */
export async function readMultipart(
  request: FastifyRequest,
  onFile: (part: Multipart & { type: 'file' }) => Promise<void>,
): Promise<Record<string, string>> {
  if (!request.multipartParts)
    throw new BadRequestError(['The form must be sent as multipart/form-data.']);
  const fields: Record<string, string> = {};
  const parts = request.multipartParts[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Multipart>;
    try {
      next = await parts.next();
    } catch (error) {
      throw unreadableForm(error);
    }
    if (next.done) break;
    const part = next.value;
    if (part.type === 'file') {
      if (!part.filename) {
        part.file.resume();
        continue;
      }
      await onFile(part as Multipart & { type: 'file' });
    } else {
      if (Object.hasOwn(fields, part.fieldname))
        throw new BadRequestError([`The "${part.fieldname}" field must be sent once.`]);
      // A part sent as JSON arrives parsed; our forms send text only, so anything else is refused
      // rather than stored as "[object Object]".
      if (typeof part.value !== 'string')
        throw new BadRequestError([`The "${part.fieldname}" field must be sent as plain text.`]);
      fields[part.fieldname] = checkedText(part.fieldname, part.value, 'field');
    }
  }
  return fields;
}

/**
 * A form with text fields and up to `maxFiles` files: each file is checked and stored as it
 * arrives; the first refusal (a wrong type, too big, too many) is kept as `problem` and the rest of
 * the files are drained unread. If reading the form fails, every file already stored is removed.
 * The caller discards `uploads` too when it refuses the form for any other reason.
 */
export async function receiveFormWithUploads(
  request: FastifyRequest,
  files: FileService,
  options: { purpose: UploadPurpose; maxFiles: number; tooManyMessage: string },
): Promise<{ fields: Record<string, string>; uploads: PendingUpload[]; problem?: string }> {
  const uploads: PendingUpload[] = [];
  let problem: string | undefined;
  try {
    const fields = await readMultipart(request, async (part) => {
      if (problem || uploads.length >= options.maxFiles) {
        part.file.resume();
        problem ??= options.tooManyMessage;
        return;
      }
      try {
        uploads.push(await files.receiveUpload(part.file, options.purpose, part.filename));
      } catch (error) {
        if (!(error instanceof UploadRejected)) throw error;
        problem = `${part.filename}: ${error.message}`;
      }
    });
    return { fields, uploads, problem };
  } catch (error) {
    await Promise.all(uploads.map((upload) => files.discardUpload(upload)));
    throw error;
  }
}

/**
 * A form that carries one file (an import), read as `receiveFormWithUploads` reads one: either the
 * stored file, or why there is none (refused, or more than one sent), with nothing left stored.
 */
export async function receiveOneUpload(
  request: FastifyRequest,
  files: FileService,
  purpose: UploadPurpose,
): Promise<{ upload?: PendingUpload; refusal?: string }> {
  const { uploads, problem } = await receiveFormWithUploads(request, files, {
    purpose,
    maxFiles: 1,
    tooManyMessage: 'Select one file',
  });
  if (problem) {
    await Promise.all(uploads.map((upload) => files.discardUpload(upload)));
    return { refusal: problem };
  }
  return { upload: uploads[0] };
}
