import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonSyntaxError, parseJsonWithLines } from './json-with-lines.ts';

describe('parseJsonWithLines', () => {
  it('finds the line of every value by its path', () => {
    const text = [
      '{',
      '  "title": "Framework",',
      '  "levels": [',
      '    { "id": "bronze",',
      '      "points": 60 }',
      '  ]',
      '}',
    ].join('\n');
    const parsed = parseJsonWithLines(text);
    expect(parsed.value).toEqual({ title: 'Framework', levels: [{ id: 'bronze', points: 60 }] });
    expect(parsed.lineOf([])).toBe(1);
    expect(parsed.lineOf(['title'])).toBe(2);
    expect(parsed.lineOf(['levels'])).toBe(3);
    expect(parsed.lineOf(['levels', 0])).toBe(4);
    expect(parsed.lineOf(['levels', 0, 'id'])).toBe(4);
    expect(parsed.lineOf(['levels', 0, 'points'])).toBe(5);
  });

  it('gives the line of the nearest value that exists for a missing field', () => {
    const parsed = parseJsonWithLines('{\n "a": {\n  "b": 1\n }\n}');
    expect(parsed.lineOf(['a', 'missing'])).toBe(2);
  });

  it('ignores a byte-order mark and counts CRLF line ends once', () => {
    const parsed = parseJsonWithLines('\ufeff{\r\n"a": 1,\r\n"b": 2\r\n}');
    expect(parsed.value).toEqual({ a: 1, b: 2 });
    expect(parsed.lineOf(['b'])).toBe(3);
  });

  it.each([
    ['{"a": 1,}', 1],
    ['{\n"a": 1,\n}', 3],
    ['{"a": 1}\n{', 2],
    ['{\n\n"a": tru}', 3],
    ['{"a": "line\nbreak"}', 1],
    ['{"a": 1, "a": 2}', 1],
    ['[1 2]', 1],
    ['{"a": 01}', 1],
    ['', 1],
  ])('refuses %j with the line of the problem', (text, line) => {
    let thrown: unknown;
    try {
      parseJsonWithLines(text);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(JsonSyntaxError);
    expect((thrown as JsonSyntaxError).line).toBe(line);
  });

  it('treats "__proto__" as an ordinary key', () => {
    const parsed = parseJsonWithLines('{"__proto__": {"polluted": true}}');
    expect(Object.keys(parsed.value as object)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('property: reads what JSON.stringify writes, compact or indented, as JSON.parse does', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2, '\t'), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        expect(parseJsonWithLines(text).value).toEqual(JSON.parse(text));
      }),
    );
  });

  it('property: the line of each top-level property is where its key was written', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 8 }), (record) => {
        const text = JSON.stringify(record, null, 2);
        const parsed = parseJsonWithLines(text);
        const written = text.split('\n');
        for (const key of Object.keys(record)) {
          const line = parsed.lineOf([key]);
          expect(written[line - 1]!.trimStart().startsWith(JSON.stringify(key))).toBe(true);
        }
      }),
    );
  });
});
