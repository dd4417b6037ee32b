import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { z } from 'zod';
import { BadRequestError } from './http-errors.ts';
import {
  optionalChoice,
  optionalCode,
  optionalDay,
  optionalText,
  pageNumber,
  parseQuery,
} from './query.ts';

/** A schema like the organisation directory's: every helper, each under its own name. */
const directoryQuery = z.object({
  q: optionalText(20),
  page: pageNumber,
  type: optionalChoice(['gp_practice', 'pcn', 'icb']),
  code: optionalCode(/^[A-Z]\d{5}$/, 'a GP practice code like C82001'),
});

/** Parses expecting a BadRequestError, and returns the problems it lists. */
function problemsFor(query: unknown): string[] {
  try {
    parseQuery(directoryQuery, query);
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).statusCode).toBe(400);
    return (error as BadRequestError).problems;
  }
  throw new Error(`expected a BadRequestError for ${JSON.stringify(query)}`);
}

describe('parseQuery', () => {
  it.each([
    ['no query at all', undefined],
    ['a null query', null],
    ['an empty query', {}],
  ])('starts at page 1 with no filters for %s', (_description, query) => {
    expect(parseQuery(directoryQuery, query)).toEqual({ page: 1 });
  });

  it('reads every parameter, trimming text and upper-casing codes', () => {
    expect(
      parseQuery(directoryQuery, { q: '  blaby ', page: '3', type: ' pcn ', code: ' c82001 ' }),
    ).toEqual({ q: 'blaby', page: 3, type: 'pcn', code: 'C82001' });
  });

  it('treats blank and whitespace-only filters as absent', () => {
    const parsed = parseQuery(directoryQuery, { q: '   ', type: '', code: ' ' });
    expect(parsed).toEqual({ page: 1 });
    expect(parsed.q).toBeUndefined();
    expect(parsed.type).toBeUndefined();
    expect(parsed.code).toBeUndefined();
  });

  it('ignores parameters the schema does not mention', () => {
    expect(parseQuery(directoryQuery, { utm_source: 'email', page: '2' })).toEqual({ page: 2 });
  });

  it.each(['1', '2', '999999'])('accepts page %j', (page) => {
    expect(parseQuery(directoryQuery, { page }).page).toBe(Number(page));
  });

  it.each(['abc', '0', '-1', '1.5', '2e3', ' 2', '1234567', '00'])(
    'refuses page %j, naming the parameter and quoting the value',
    (page) => {
      expect(problemsFor({ page })).toEqual([
        `The "page" parameter must be a whole number from 1 upwards (the address has "${page}").`,
      ]);
    },
  );

  it('puts every problem in the error message too', () => {
    expect(() => parseQuery(directoryQuery, { page: 'abc' })).toThrow(
      'The "page" parameter must be a whole number from 1 upwards (the address has "abc").',
    );
  });

  it.each([
    ['q', ['blaby', 'hinckley'], 'blaby, hinckley'],
    ['page', ['1', '2'], '1, 2'],
    ['type', ['pcn', 'icb'], 'pcn, icb'],
    ['code', ['C82001', 'C82002'], 'C82001, C82002'],
  ])('refuses the parameter %s given more than once', (name, values, shown) => {
    expect(problemsFor({ [name]: values })).toEqual([
      `The "${name}" parameter must be given once (the address has "${shown}").`,
    ]);
  });

  it('refuses a choice outside the list, naming the choices', () => {
    expect(problemsFor({ type: 'hospital' })).toEqual([
      'The "type" parameter must be one of: gp_practice, pcn, icb (the address has "hospital").',
    ]);
  });

  it('refuses a code that does not match, describing what a code looks like', () => {
    expect(problemsFor({ code: 'C8200' })).toEqual([
      'The "code" parameter must be a GP practice code like C82001 (the address has "C8200").',
    ]);
  });

  it('refuses text longer than allowed, quoting only the start of what was given', () => {
    const long = 'x'.repeat(100);
    const [problem] = problemsFor({ q: long });
    expect(problem).toBe(
      `The "q" parameter must be at most 20 characters (the address has "${'x'.repeat(60)}").`,
    );
  });

  it('measures text length before trimming, so padding cannot smuggle in a long value', () => {
    expect(problemsFor({ q: ` ${'x'.repeat(20)}` })).toHaveLength(1);
    expect(parseQuery(directoryQuery, { q: 'x'.repeat(20) }).q).toBe('x'.repeat(20));
  });

  it('lists every problem, not only the first', () => {
    const problems = problemsFor({ page: '0', type: 'x', code: 'y', q: ['a', 'b'] });
    expect(problems).toHaveLength(4);
    expect(problems.join(' ')).toMatch(/"q".*"page".*"type".*"code"/);
  });

  it('never lets a bad value through: it either parses to a valid result or names the parameter', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            q: fc.oneof(fc.string({ maxLength: 30 }), fc.array(fc.string(), { minLength: 2 })),
            page: fc.oneof(fc.string({ maxLength: 8 }), fc.nat().map(String)),
            type: fc.oneof(fc.constantFrom('gp_practice', 'pcn', 'icb', ''), fc.string()),
            code: fc.oneof(fc.stringMatching(/^[A-Za-z]\d{5}$/), fc.string({ maxLength: 8 })),
          },
          { requiredKeys: [] },
        ),
        (query) => {
          let parsed;
          try {
            parsed = parseQuery(directoryQuery, query);
          } catch (error) {
            expect(error).toBeInstanceOf(BadRequestError);
            for (const problem of (error as BadRequestError).problems) {
              expect(problem).toMatch(/^The "(q|page|type|code)" parameter /);
            }
            return;
          }
          expect(Number.isInteger(parsed.page) && parsed.page >= 1).toBe(true);
          if (parsed.q !== undefined) {
            expect(parsed.q).toBe(parsed.q.trim());
            expect(parsed.q).not.toBe('');
          }
          if (parsed.type !== undefined)
            expect(['gp_practice', 'pcn', 'icb']).toContain(parsed.type);
          if (parsed.code !== undefined) expect(parsed.code).toMatch(/^[A-Z]\d{5}$/);
        },
      ),
    );
  });
});

describe('a blank page parameter', () => {
  it('means the first page, as a blank filter means no filter', () => {
    expect(parseQuery(z.object({ page: pageNumber }), { page: '' })).toEqual({ page: 1 });
  });
});

describe('a day for a filter', () => {
  const schema = z.object({ from: optionalDay });
  const problemsOf = (from: string) => {
    try {
      parseQuery(schema, { from });
      return [];
    } catch (error) {
      return (error as BadRequestError).problems;
    }
  };

  it('is a real date from 1900 to 2099, or blank for no filter', () => {
    expect(parseQuery(schema, { from: '2026-06-11' })).toEqual({ from: '2026-06-11' });
    expect(parseQuery(schema, { from: '1900-01-01' })).toEqual({ from: '1900-01-01' });
    expect(parseQuery(schema, { from: '2099-12-31' })).toEqual({ from: '2099-12-31' });
    expect(parseQuery(schema, { from: '' })).toEqual({ from: undefined });
    expect(problemsOf('2026-02-30')).toEqual([
      'The "from" parameter must be a real date, such as 2026-06-11 (the address has "2026-02-30").',
    ]);
    expect(problemsOf('9999-12-31')).toEqual([
      'The "from" parameter must be a date from 1900 to 2099 (the address has "9999-12-31").',
    ]);
    expect(problemsOf('1899-12-31')).toHaveLength(1);
    expect(problemsOf('tomorrow')).toEqual([
      'The "from" parameter must be a date written YYYY-MM-DD (the address has "tomorrow").',
    ]);
  });
});

describe('a NUL character in a parameter', () => {
  it('is refused, naming the parameter, whatever the schema', () => {
    expect(() => parseQuery(z.object({ q: optionalText(200) }), { q: 'a\u0000b' })).toThrow(
      BadRequestError,
    );
    try {
      parseQuery(z.object({}), { q: ['fine', 'not\u0000fine'] });
    } catch (error) {
      expect((error as BadRequestError).problems).toEqual([
        'The "q" parameter holds a character that cannot be saved (a NUL, code 0).',
      ]);
      return;
    }
    throw new Error('expected a BadRequestError');
  });
});
