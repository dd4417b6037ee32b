import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  kpiDefinitionsCsv,
  MAX_KPI_DEFINITION_ROWS,
  readKpiDefinitionTable,
} from './kpi-definitions-file.ts';
import { readSpreadsheetTable } from './plan-import.ts';

const table = (...lines: string[][]) => lines.map((cells, index) => ({ row: index + 1, cells }));
const header = [
  'Reference',
  'NAME',
  'unit',
  'direction',
  'baseline_value',
  'baseline_date',
  'targets',
];

describe('readKpiDefinitionTable', () => {
  it('reads columns by name in any case and order, the form’s words for direction, and targets a line or a semicolon apart', () => {
    const read = readKpiDefinitionTable(
      table(
        [...header, 'comments'],
        [
          'K-1',
          'Gas',
          'MWh',
          'Lower is better',
          '1000',
          '2020-04-01',
          '2025-03-31 800; 2030-03-31 200 Net',
          'x',
        ],
        [
          'K-2',
          'Trees',
          'count',
          'HIGHER',
          '10',
          '2020-04-01',
          '2025-03-31 20\r\n2030-03-31 40',
          '',
        ],
        ['', '', '', '', '', '', '', ''],
      ),
    );
    expect(read.problems).toEqual([]);
    expect(read.rows).toEqual([
      {
        row: 2,
        input: {
          reference: 'K-1',
          name: 'Gas',
          // No description column: the KPI's own is kept.
          description: null,
          unit: 'MWh',
          direction: 'decrease',
          baselineValue: '1000',
          baselineDate: '2020-04-01',
          targets: '2025-03-31 800\n2030-03-31 200 Net',
        },
        // No actions column: the KPIs' links are not the file's business.
        actions: null,
      },
      expect.objectContaining({
        row: 3,
        input: expect.objectContaining({
          direction: 'increase',
          targets: '2025-03-31 20\n2030-03-31 40',
        }),
      }),
    ]);
  });

  it('reads the actions column as references a semicolon apart, an empty cell as none', () => {
    const read = readKpiDefinitionTable(
      table(
        [...header, 'actions'],
        ['K-1', 'Gas', 'MWh', 'lower', '1', '2020-04-01', '2025-03-31 0', 'A-1; A-2 ;'],
        ['K-2', 'Oil', 'MWh', 'lower', '1', '2020-04-01', '2025-03-31 0', ''],
      ),
    );
    expect(read.rows.map((row) => row.actions)).toEqual([['A-1', 'A-2'], []]);
  });

  it('refuses a file without the columns it needs, with a column named twice, empty or too long', () => {
    expect(readKpiDefinitionTable(table(['reference', 'name'])).problems).toEqual([
      {
        row: 1,
        message:
          'The header row must name the columns "unit", "direction", "baseline_value", "baseline_date" and "targets" (found "reference", "name")',
      },
    ]);
    expect(readKpiDefinitionTable(table([...header, 'unit'])).problems).toEqual([
      {
        row: 1,
        column: 'unit',
        message: 'The header row names "unit" more than once: keep one column of each name',
      },
    ]);
    expect(readKpiDefinitionTable([]).problems[0]!.message).toMatch(/^The file is empty/);
    expect(readKpiDefinitionTable(table(header)).problems[0]!.message).toBe(
      'The file has a header row but no KPIs',
    );
    const long = readKpiDefinitionTable(
      table(
        header,
        ...Array.from({ length: MAX_KPI_DEFINITION_ROWS + 1 }, (_, index) => [`K-${index}`]),
      ),
    );
    expect(long.rows).toEqual([]);
    expect(long.problems[0]!.message).toContain(`up to ${MAX_KPI_DEFINITION_ROWS} KPIs`);
  });

  it('names a reference given twice by both its rows, and keeps the first', () => {
    const read = readKpiDefinitionTable(table(header, ['K-1', 'A'], ['K-2', 'B'], ['K-1', 'C']));
    expect(read.problems).toEqual([
      { row: 4, column: 'reference', message: 'K-1 is also on row 2: give each KPI once' },
    ]);
    expect(read.rows.map((row) => row.input.name)).toEqual(['A', 'B']);
  });
});

describe('targets in a cell', () => {
  it('splits a one-line cell only at a semicolon before a date, so a label may hold one', () => {
    const read = readKpiDefinitionTable(
      table(
        ['reference', 'name', 'unit', 'direction', 'baseline value', 'baseline date', 'targets'],
        [
          'K-1',
          'Gas',
          'MWh',
          'lower',
          '1',
          '2020-04-01',
          '2025-03-31 800 cut; phase 2; 2030-03-31 200',
        ],
        ['K-2', 'Oil', 'MWh', 'lower', '1', '2020-04-01', '2025-03-31 8 a; b\n2030-03-31 2'],
      ),
    );
    expect(read.problems).toEqual([]);
    expect(read.rows.map((row) => row.input.targets)).toEqual([
      '2025-03-31 800 cut; phase 2\n2030-03-31 200',
      '2025-03-31 8 a; b\n2030-03-31 2',
    ]);
  });
});

describe('kpiDefinitionsCsv', () => {
  it('writes a file the reader reads back the same, quoting what needs quoting and guarding formulas', async () => {
    const kpi = {
      reference: 'K-1',
      name: 'Gas, oil and "other" fuels',
      description: '=SUM(A1)',
      unit: 'MWh',
      direction: 'decrease' as const,
      baselineValue: '-5.5',
      baselineDate: '2020-04-01',
      targets: '2025-03-31 800\n2030-03-31 200 Net zero',
      actions: ['A-1', 'A-2'],
    };
    const csv = kpiDefinitionsCsv([kpi]);
    expect(csv.startsWith('\uFEFFreference,name,description,')).toBe(true);
    // A negative number is not a formula: no guard.
    expect(csv).toContain(",'=SUM(A1),MWh,lower,-5.5,");
    const read = readKpiDefinitionTable(await readSpreadsheetTable(Buffer.from(csv), 'csv'));
    expect(read.problems).toEqual([]);
    expect(read.rows).toEqual([
      {
        row: 2,
        input: {
          reference: 'K-1',
          name: kpi.name,
          description: kpi.description,
          unit: 'MWh',
          direction: 'decrease',
          baselineValue: '-5.5',
          baselineDate: '2020-04-01',
          targets: kpi.targets,
        },
        actions: ['A-1', 'A-2'],
      },
    ]);
  });
});

describe('kpiDefinitionsCsv and readKpiDefinitionTable', () => {
  // Text as people type it into the form: trimmed, with commas, quotes, semicolons and leading
  // formula characters; one line for names and labels, any lines for a description.
  const oneLine = fc
    .stringMatching(/^[A-Za-z0-9 ,;"'=+\-@%£é.()]{1,40}$/)
    .map((text) => text.trim())
    .filter((text) => text !== '');
  const label = fc
    .stringMatching(/^[A-Za-z ,;"'=+\-@%]{1,20}$/)
    .map((text) => text.trim())
    .filter((text) => text !== '');
  const number = fc
    .double({ min: -1e9, max: 1e9, noNaN: true })
    .map((value) => Math.round(value * 1000) / 1000);
  const kpi = fc.record({
    reference: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,10}$/),
    name: oneLine,
    description: fc.array(oneLine, { maxLength: 3 }).map((lines) => lines.join('\n')),
    unit: oneLine,
    direction: fc.constantFrom('decrease' as const, 'increase' as const),
    baseline: number,
    targets: fc.uniqueArray(
      fc.record({
        day: fc.integer({ min: 0, max: 5000 }),
        value: number,
        label: fc.option(label, { nil: null }),
      }),
      { minLength: 1, maxLength: 4, selector: (target) => target.day },
    ),
    actions: fc.uniqueArray(fc.stringMatching(/^[A-Z]-\d{1,3}$/), { maxLength: 3 }),
  });

  it('reads back every field of what it writes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(kpi, { minLength: 1, maxLength: 5, selector: (item) => item.reference }),
        async (kpis) => {
          const plain = (value: number) =>
            value.toLocaleString('en-GB', { useGrouping: false, maximumFractionDigits: 20 });
          const written = kpis.map((item) => ({
            reference: item.reference,
            name: item.name,
            description: item.description,
            unit: item.unit,
            direction: item.direction,
            baselineValue: plain(item.baseline),
            baselineDate: '2020-01-01',
            targets: item.targets
              .map((target) =>
                [
                  new Date(Date.UTC(2020, 0, 2 + target.day)).toISOString().slice(0, 10),
                  plain(target.value),
                  target.label,
                ]
                  .filter(Boolean)
                  .join(' '),
              )
              .join('\n'),
            actions: [...item.actions].sort(),
          }));
          const csv = kpiDefinitionsCsv(written);
          const read = readKpiDefinitionTable(await readSpreadsheetTable(Buffer.from(csv), 'csv'));
          expect(read.problems).toEqual([]);
          expect(read.rows.map((row) => ({ ...row.input, actions: row.actions }))).toEqual(
            written.map((item) => ({ ...item, actions: [...item.actions] })),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
