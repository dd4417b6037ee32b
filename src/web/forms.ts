import type { FastifyRequest } from 'fastify';
import { BadRequestError } from './http-errors.ts';

/**
 * A submitted form as plain strings. A field sent twice, or anything that is not text, is refused:
 * our forms never do that, so it can only be tampering.
 */
export function formFields<const K extends string>(
  request: FastifyRequest,
  allowed: readonly K[],
): Record<K, string> {
  const body = (request.body ?? {}) as Record<string, unknown>;
  const fields = {} as Record<K, string>;
  for (const name of allowed) {
    const value = body[name];
    if (value === undefined) {
      fields[name] = '';
    } else if (typeof value === 'string') {
      fields[name] = checkedText(name, value, 'field');
    } else {
      throw new BadRequestError([`The "${name}" field must be sent once, as text.`]);
    }
  }
  return fields;
}

/**
 * Refuses a NUL character, which no keyboard types: PostgreSQL cannot store it in text (a 500
 * there, while SQLite would keep it), so it is refused the same way on both, naming the input.
 */
export function checkedText(name: string, value: string, kind: 'field' | 'parameter'): string {
  if (value.includes('\u0000'))
    throw new BadRequestError([
      `The "${name}" ${kind} holds a character that cannot be saved (a NUL, code 0).`,
    ]);
  return value;
}

/** What a page needs to show the NHS error summary and the message beside each field. */
export function formErrorContext(
  fieldErrors: Record<string, string>,
  fieldOrder: readonly string[] = [],
) {
  const ordered = [
    ...new Set([
      ...fieldOrder.filter((field) => Object.hasOwn(fieldErrors, field)),
      ...Object.keys(fieldErrors),
    ]),
  ];
  return {
    errors: fieldErrors,
    errorList: ordered.map((field) => ({ text: fieldErrors[field], href: `#${field}` })),
    pageError: ordered.length > 0,
  };
}
