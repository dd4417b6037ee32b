import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatProblem, InputFileError, parseCsvWithHeader, type InputProblem } from './csv.ts';

const file = 'organisations/example.csv';

/** Runs the parser expecting an InputFileError, and returns its problems for closer inspection. */
function problemsFrom(text: string, requiredColumns: readonly string[] = ['a', 'b']) {
  try {
    parseCsvWithHeader(text, file, requiredColumns);
  } catch (error) {
    expect(error).toBeInstanceOf(InputFileError);
    return (error as InputFileError).problems;
  }
  throw new Error('expected an InputFileError, but the text parsed');
}

describe('parseCsvWithHeader', () => {
  describe('line numbers (the header is line 1)', () => {
    it('numbers the first data row 2 and counts on from there', () => {
      const records = parseCsvWithHeader('a,b\n1,2\n3,4\n', file, ['a', 'b']);
      expect(records).toEqual([
        { line: 2, values: { a: '1', b: '2' } },
        { line: 3, values: { a: '3', b: '4' } },
      ]);
    });

    it('does not count a byte-order mark as a line, nor let it stick to the first column name', () => {
      const records = parseCsvWithHeader('\uFEFFa,b\n1,2\n3,4', file, ['a', 'b']);
      expect(records.map((record) => record.line)).toEqual([2, 3]);
      expect(Object.keys(records[0]!.values)).toEqual(['a', 'b']);
    });

    it('accepts CRLF line ends, without leaving a carriage return in the last field', () => {
      const records = parseCsvWithHeader('a,b\r\n1,2\r\n3,4\r\n', file, ['a', 'b']);
      expect(records).toEqual([
        { line: 2, values: { a: '1', b: '2' } },
        { line: 3, values: { a: '3', b: '4' } },
      ]);
    });

    it('skips blank lines but still counts them, so later rows keep their place in the file', () => {
      const records = parseCsvWithHeader('a,b\n\n1,2\n\n\n3,4\n\n', file, ['a', 'b']);
      expect(records.map((record) => record.line)).toEqual([3, 6]);
    });

    it('skips blank CRLF lines and keeps counting', () => {
      const records = parseCsvWithHeader('a,b\r\n1,2\r\n\r\n3,4\r\n', file, ['a', 'b']);
      expect(records.map((record) => record.line)).toEqual([2, 4]);
    });

    it('gives a record whose quoted field spans lines the line it starts on', () => {
      const records = parseCsvWithHeader('a,b\n"x,\ny",2\n3,4\n', file, ['a', 'b']);
      expect(records).toEqual([
        { line: 2, values: { a: 'x,\ny', b: '2' } },
        { line: 4, values: { a: '3', b: '4' } },
      ]);
    });

    it('handles a quoted field with several newlines, including an empty line inside the quotes', () => {
      const records = parseCsvWithHeader('a,b\n"x\n\ny",2\n3,4\n', file, ['a', 'b']);
      expect(records).toEqual([
        { line: 2, values: { a: 'x\n\ny', b: '2' } },
        { line: 5, values: { a: '3', b: '4' } },
      ]);
    });

    // csv-parse counts the CR and the LF of a CRLF inside quotes as two lines.
    it('gives the right lines around a quoted field that spans a CRLF line end', () => {
      const records = parseCsvWithHeader('a,b\r\n"x,\r\ny",2\r\n3,4\r\n', file, ['a', 'b']);
      expect(records.map((record) => record.line)).toEqual([2, 4]);
    });

    it('numbers rows correctly whatever mix of blank lines separates them (property)', () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              blankLinesBefore: fc.nat({ max: 3 }),
              values: fc.tuple(
                fc.stringMatching(/^[A-Za-z0-9 ]{0,8}$/),
                fc.stringMatching(/^[A-Za-z0-9 ]{0,8}$/),
              ),
            }),
            { maxLength: 20 },
          ),
          fc.constantFrom('\n', '\r\n'),
          (rows, lineEnd) => {
            // A row of two blank fields is just "," which is not an empty line, so it is kept.
            const lines = ['a,b'];
            const expectedLines: number[] = [];
            for (const row of rows) {
              for (let blank = 0; blank < row.blankLinesBefore; blank++) lines.push('');
              lines.push(row.values.join(','));
              expectedLines.push(lines.length);
            }
            const records = parseCsvWithHeader(lines.join(lineEnd) + lineEnd, file, ['a', 'b']);
            expect(records.map((record) => record.line)).toEqual(expectedLines);
            expect(records.map((record) => [record.values.a, record.values.b])).toEqual(
              rows.map((row) => row.values.map((value) => value.trim())),
            );
          },
        ),
      );
    });
  });

  describe('values', () => {
    it('keeps commas and newlines inside quoted fields and unescapes doubled quotes', () => {
      const records = parseCsvWithHeader(
        'name,address\n"Smith, Jones & Co","1 High Street\nKibworth"\n"The ""Limes""",x\n',
        file,
        ['name', 'address'],
      );
      expect(records[0]!.values).toEqual({
        name: 'Smith, Jones & Co',
        address: '1 High Street\nKibworth',
      });
      expect(records[1]!.values.name).toBe('The "Limes"');
    });

    it('trims spaces around values', () => {
      const [record] = parseCsvWithHeader('a,b\n  1 , 2  \n', file, ['a', 'b']);
      expect(record!.values).toEqual({ a: '1', b: '2' });
    });

    it('keeps columns that are not required, keyed by their header', () => {
      const [record] = parseCsvWithHeader('a,extra,b\n1,more,2\n', file, ['b']);
      expect(record!.values).toEqual({ a: '1', extra: 'more', b: '2' });
    });

    it('returns no records for a file with only a header', () => {
      expect(parseCsvWithHeader('a,b\n', file, ['a', 'b'])).toEqual([]);
    });
  });

  describe('problems', () => {
    it('reports a row with too many fields, naming the file and its line', () => {
      const problems = problemsFrom('a,b\n1,2\n3,4,5\n6,7\n');
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({ file, line: 3 });
      expect(problems[0]!.message).toMatch(/^not valid CSV: .*expect 2, got 3/);
    });

    it('reports a row with too few fields, naming the file and its line', () => {
      const problems = problemsFrom('a,b\n1,2\n3\n');
      expect(problems).toEqual([
        expect.objectContaining({ file, line: 3, message: expect.stringMatching(/got 1/) }),
      ]);
    });

    it('locates a bad row after a byte-order mark and blank lines by its real line', () => {
      const problems = problemsFrom('\uFEFFa,b\n1,2\n\n\n4,5,6\n');
      expect(problems[0]).toMatchObject({ file, line: 5 });
    });

    it('locates a bad row in a CRLF file by its real line', () => {
      const problems = problemsFrom('a,b\r\n1,2\r\n3,4\r\n5\r\n');
      expect(problems[0]).toMatchObject({ file, line: 4 });
    });

    it('reports a quote left open on the last row at that row', () => {
      const problems = problemsFrom('a,b\n1,2\n"3,4\n');
      expect(problems).toEqual([
        expect.objectContaining({
          file,
          line: 3,
          message: expect.stringMatching(/^not valid CSV: /),
        }),
      ]);
    });

    it('reports a quote left open earlier at the line where the quote opened', () => {
      // Everything after the quote is swallowed into one field, so the end of the file is no
      // help to whoever has to fix it; the opening line is.
      const problems = problemsFrom('a,b\n1,2\n"3,4\n5,6\n7,8\n');
      expect(problems).toEqual([expect.objectContaining({ file, line: 3 })]);
    });

    it('reports a quote left open in a CRLF file at the line where the quote opened', () => {
      const problems = problemsFrom('a,b\r\n"3,4\r\n5,6\r\n7,8\r\n');
      expect(problems).toEqual([expect.objectContaining({ file, line: 2 })]);
    });

    it('is not misled by closed quotes and doubled quotes before the one left open', () => {
      const problems = problemsFrom('a,b\n"x ""y""",2\n"multi\nline",3\n4,"open\n5,6\n');
      expect(problems).toEqual([expect.objectContaining({ file, line: 5 })]);
    });

    it('does not repeat the line inside the message, since formatProblem already shows it', () => {
      const problems = problemsFrom('a,b\n1,2,3\n');
      expect(problems[0]!.message).not.toMatch(/ on line \d+$/);
    });

    it('reports missing columns at line 1, naming every one of them', () => {
      const problems = problemsFrom('a,x\n1,2\n', ['a', 'b', 'c']);
      expect(problems).toEqual([{ file, line: 1, message: 'missing column(s): b, c' }]);
    });

    it('reports missing columns even when the file has no data rows', () => {
      const problems = problemsFrom('x\n', ['a']);
      expect(problems).toEqual([{ file, line: 1, message: 'missing column(s): a' }]);
    });

    it.each([
      ['an empty text', ''],
      ['only blank lines', '\n\n\n'],
      ['only blank CRLF lines', '\r\n\r\n'],
      ['only a byte-order mark', '\uFEFF'],
    ])('says the file is empty for %s', (_description, text) => {
      expect(problemsFrom(text)).toEqual([{ file, message: 'the file is empty' }]);
    });
  });
});

describe('formatProblem', () => {
  it('shows file, line and field before the message', () => {
    const problem: InputProblem = {
      file: 'organisations/llr_gp_list_sizes_2026-04.csv',
      line: 12,
      field: 'NUMBER_OF_PATIENTS',
      message: 'must be a whole number of patients (found "abc")',
    };
    expect(formatProblem(problem)).toBe(
      'organisations/llr_gp_list_sizes_2026-04.csv, line 12 field "NUMBER_OF_PATIENTS": must be a whole number of patients (found "abc")',
    );
  });

  it('leaves out the line and field when they are not known', () => {
    expect(formatProblem({ file: 'a.csv', message: 'the file is empty' })).toBe(
      'a.csv: the file is empty',
    );
  });

  it('shows a line without a field', () => {
    expect(formatProblem({ file: 'a.csv', line: 1, message: 'missing column(s): b' })).toBe(
      'a.csv, line 1: missing column(s): b',
    );
  });

  it('shows a field without a line', () => {
    expect(formatProblem({ file: 'a.csv', field: 'b', message: 'wrong' })).toBe(
      'a.csv field "b": wrong',
    );
  });
});

describe('InputFileError', () => {
  const problem = (line: number): InputProblem => ({ file: 'a.csv', line, message: 'wrong' });

  it('keeps every problem and lists each one in its message', () => {
    const error = new InputFileError([problem(2), problem(3)]);
    expect(error.name).toBe('InputFileError');
    expect(error.problems).toHaveLength(2);
    expect(error.message).toBe(
      ['2 problem(s) in input files:', 'a.csv, line 2: wrong', 'a.csv, line 3: wrong'].join('\n'),
    );
  });

  it('shortens a long message but keeps every problem on the error', () => {
    const problems = Array.from({ length: 25 }, (_, index) => problem(index + 2));
    const error = new InputFileError(problems);
    const lines = error.message.split('\n');
    expect(lines[0]).toBe('25 problem(s) in input files:');
    expect(lines).toHaveLength(1 + 20 + 1);
    expect(lines.at(-2)).toBe('a.csv, line 21: wrong');
    expect(lines.at(-1)).toBe('…and 5 more');
    expect(error.problems).toHaveLength(25);
  });

  it('does not add "and more" when exactly at the limit', () => {
    const error = new InputFileError([problem(2), problem(3)], 2);
    expect(error.message).not.toContain('more');
  });
});
