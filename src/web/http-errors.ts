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

/** Raised for anything that does not exist (or that the user may not know exists); a 404 page. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
  readonly statusCode = 404;

  constructor(message = 'Page not found') {
    super(message);
  }
}
