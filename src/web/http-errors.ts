/** Raised by routes for a request whose address or form is malformed; rendered as a 400 page. */
export class BadRequestError extends Error {
  override name = 'BadRequestError';
  readonly statusCode = 400;
  readonly problems: string[];

  constructor(problems: string[]) {
    super(problems.join('; '));
    this.problems = problems;
  }
}

/**
 * A body that stops being readable as multipart part way (cut off, a part ended early) is the
 * sender's, a 400 like any body that cannot be read; an error that already says what it is (a file
 * over the parser's own limit, 413) is kept.
 */
export function unreadableForm(error: unknown): unknown {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return error;
  return Object.assign(
    new BadRequestError(['The form could not be read: it ended before it was complete.']),
    { cause: error },
  );
}

/** Raised for anything that does not exist (or that the user may not know exists); a 404 page. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
  readonly statusCode = 404;

  constructor(message = 'Page not found') {
    super(message);
  }
}

/**
 * Raised for something that was there and has been deleted, for someone who could see it: a 410
 * page that says what it was, when it went, and where to go instead (a link from an email or a
 * bookmark, or a second click on a delete button, lands here rather than on "not found").
 */
export class GoneError extends Error {
  override name = 'GoneError';
  readonly statusCode = 410;

  constructor(
    /** What was deleted, as people knew it ("D-1.1 Heat pump at the hub"). */
    readonly what: string,
    /** When it was deleted (ISO 8601). */
    readonly deletedAt: string,
    /** Where to go instead. */
    readonly next: { href: string; text: string },
  ) {
    super(`${what} has been deleted`);
  }
}
