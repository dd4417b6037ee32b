import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { parseCsvWithHeader } from '../../lib/csv.ts';
import { quintileChart } from './programme-charts.ts';
import { byDeprivationQuintile } from './programme.calculations.ts';
import { exportColumns, programmeCsv, programmeXlsx } from './programme-export.ts';
import { lensMeasures, type ProgrammeRow } from './programme.service.ts';

function row(overrides: Partial<ProgrammeRow> = {}): ProgrammeRow {
  return {
    code: 'C82001',
    name: 'South Leicestershire Medical Group',
    participating: true,
    status: 'awarded',
    points: 75,
    award: 'bronze',
    pcnCode: 'U30213',
    pcnName: 'Cross Counties PCN',
    subIcbCode: '03W',
    subIcbName: 'East Leicestershire and Rutland',
    registeredPatients: 25822,
    imd2019Score: 6.7,
    imd2019Quintile: 5,
    approxLatitude: 52.56,
    approxLongitude: -1.06,
    levelReached: 'bronze',
    awardedAt: '2026-06-30T10:00:00.000Z',
    isExample: false,
    measures: {
      'mdi-share-non-salbutamol': { value: 42.5, decile: 4, numerator: 85, denominator: 200 },
    },
    ...overrides,
  };
}

describe('programme export', () => {
  it('writes one CSV row per practice with a byte-order mark, CRLF and every column', () => {
    const csv = programmeCsv(
      [row(), row({ code: 'C82002', name: '=HYPERLINK("x")', award: null })],
      '2026-09',
    );
    expect(csv.startsWith('\uFEFF')).toBe(true);
    const lines = csv.slice(1).trimEnd().split('\r\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(
      exportColumns('2026-09')
        .map((column) => column.name)
        .join(','),
    );
    expect(lines[1]).toContain('C82001,South Leicestershire Medical Group,U30213');
    expect(lines[1]).toContain(',Bronze,2026-06-30,no,42.5,4,');
    // A value a spreadsheet would run as a formula is written as text.
    expect(lines[2]).toContain(`"'=HYPERLINK(""x"")"`);
  });

  it('reads back as written: commas quoted, empty cells empty, numbers as they are', () => {
    const names = exportColumns('2026-09').map((column) => column.name);
    const written = row({
      name: '=HYPERLINK("https://example.test","Open me")',
      pcnName: 'Market Harborough, Lutterworth and Kibworth PCN',
      subIcbName: null,
    });
    const [record] = parseCsvWithHeader(programmeCsv([written], '2026-09'), 'export.csv', names);
    expect(record!.values).toMatchObject({
      practice_name: `'${written.name}`,
      pcn_name: 'Market Harborough, Lutterworth and Kibworth PCN',
      sub_icb_name: '',
      registered_patients: '25822',
      imd2019_score: '6.7',
      'mdi-share-non-salbutamol': '42.5',
      'mdi-share-non-salbutamol-decile': '4',
    });
  });

  it('dates an award by the UK calendar, as the certificate does', () => {
    // Approved at 00:30 BST on 11 June.
    const csv = programmeCsv([row({ awardedAt: '2026-06-10T23:30:00.000Z' })], '2026-09');
    expect(csv).toContain(',Bronze,2026-06-11,no,');
  });

  it('writes the same rows to a workbook with a sheet describing every column', async () => {
    const bytes = await programmeXlsx([row()], '2026-09', 'Test');
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
    const sheet = workbook.getWorksheet('Practices')!;
    expect(sheet.getRow(2).getCell(1).value).toBe('C82001');
    expect(sheet.getRow(2).getCell(12).value).toBe(75);
    const guide = workbook.getWorksheet('Columns')!;
    expect(guide.rowCount).toBe(exportColumns(null).length + 1);
  });
});

describe('quintileChart', () => {
  it('draws a bar for each quintile with data and says "No data" in the table for the others', () => {
    const measure = lensMeasures.find((candidate) => candidate.id === 'points')!;
    const result = byDeprivationQuintile([
      { quintile: 1, numerator: 100, denominator: 1 },
      { quintile: 5, numerator: 300, denominator: 1 },
    ]);
    const chart = quintileChart('chart', measure, result);
    expect((chart.svg!.match(/<rect /g) ?? []).length).toBe(2);
    expect(chart.svg).toContain('Gap, most minus least deprived: -200');
    expect(chart.rows.map((cells) => cells[2]!.text)).toEqual([
      '100.0',
      'No data',
      'No data',
      'No data',
      '300.0',
    ]);
  });
});
