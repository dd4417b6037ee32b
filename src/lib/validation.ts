/**
 * A request that a service refuses because of what the user entered. Each problem names the form
 * field it belongs to, so the page can show the NHS error summary and the message by the field.
 */
export class ValidationFailed extends Error {
  override name = 'ValidationFailed';
  readonly fieldErrors: Record<string, string>;

  constructor(fieldErrors: Record<string, string>) {
    super(Object.values(fieldErrors).join('; '));
    this.fieldErrors = fieldErrors;
  }
}

/** Email addresses are compared and stored in lower case, trimmed. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** A pragmatic check: one @, something either side, a dot in the domain, no spaces. */
export function isPlausibleEmail(email: string): boolean {
  return email.length <= 254 && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email);
}
