import { z } from 'zod';
import { isCalendarDate } from '../lib/uk-time.ts';
import { checkedText } from './forms.ts';
import { BadRequestError } from './http-errors.ts';

/**
 * Parses query parameters with a zod schema. Each problem names the parameter, what it must be and
 * what was given, so the 400 page can say exactly what to fix.
 */
export function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.output<T> {
  const values = (query ?? {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(values))
    for (const text of Array.isArray(value) ? value : [value])
      if (typeof text === 'string') checkedText(name, text, 'parameter');
  const result = schema.safeParse(values);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? 'query');
    const given = values[name];
    const shown = Array.isArray(given) ? given.join(', ') : given;
    const suffix = shown === undefined ? '' : ` (the address has "${String(shown).slice(0, 60)}")`;
    return `The "${name}" parameter ${issue.message}${suffix}.`;
  });
  throw new BadRequestError(problems);
}

/** An optional text parameter: blank means absent; repeated parameters are refused. */
export const optionalText = (maxLength: number) =>
  z
    .string({ error: 'must be given once' })
    .max(maxLength, `must be at most ${maxLength} characters`)
    .transform((value) => value.trim())
    .transform((value) => (value === '' ? undefined : value))
    .optional();

/** A page number: absent or blank means 1. */
export const pageNumber = z
  .string({ error: 'must be given once' })
  .refine(
    (value) => value === '' || /^\d{1,6}$/.test(value),
    'must be a whole number from 1 upwards',
  )
  .transform((value) => (value === '' ? 1 : Number(value)))
  .refine((value) => value >= 1, 'must be a whole number from 1 upwards')
  .optional()
  .transform((value) => value ?? 1);

/** One of a fixed set of values; blank means absent. */
export const optionalChoice = <const T extends readonly [string, ...string[]]>(choices: T) =>
  z
    .string({ error: 'must be given once' })
    .transform((value) => (value.trim() === '' ? undefined : value.trim()))
    .pipe(z.enum(choices, { error: `must be one of: ${choices.join(', ')}` }).optional())
    .optional();

/** A code matching a pattern; blank means absent. */
export const optionalCode = (pattern: RegExp, description: string) =>
  z
    .string({ error: 'must be given once' })
    .transform((value) => value.trim().toUpperCase())
    .refine((value) => value === '' || pattern.test(value), `must be ${description}`)
    .transform((value) => (value === '' ? undefined : value))
    .optional();

/**
 * An optional UK calendar day for a filter, `YYYY-MM-DD`; blank means absent. Years run from 1900
 * to 2099: a filter's day has a day after it (for "up to and including"), and nothing Greenspace
 * holds is dated outside them.
 */
export const optionalDay = z
  .string({ error: 'must be given once' })
  .refine(
    (value) => value === '' || /^\d{4}-\d{2}-\d{2}$/.test(value),
    'must be a date written YYYY-MM-DD',
  )
  .refine(
    (value) => value === '' || !/^\d{4}-\d{2}-\d{2}$/.test(value) || isCalendarDate(value),
    'must be a real date, such as 2026-06-11',
  )
  .refine(
    (value) => value === '' || !isCalendarDate(value) || /^(19|20)\d\d-/.test(value),
    'must be a date from 1900 to 2099',
  )
  .transform((value) => (value === '' ? undefined : value))
  .optional();
