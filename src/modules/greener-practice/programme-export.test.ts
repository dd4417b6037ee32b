import { describe, expect, it } from 'vitest';
import { parseCsvWithHeader } from '../../lib/csv.ts';
import { exportColumns, programmeCsv } from './programme-export.ts';
import type { ProgrammeRow } from './programme.service.ts';

const row: ProgrammeRow = {
  code: 'C82001',
  name: '=HYPERLINK("https://example.test","Open me")',
  participating: true,
  status: 'in_progress',
  points: 12,
  award: null,
  pcnCode: 'U12345',
  pcnName: 'Market Harborough, Lutterworth and Kibworth PCN',
  subIcbCode: '04V',
  subIcbName: null,
  registeredPatients: 14_230,
  imd2019Score: 9.5,
  imd2019Quintile: 5,
  approxLatitude: 52.54,
  approxLongitude: -0.97,
  levelReached: null,
  awardedAt: null,
  isExample: false,
  measures: {
    'mdi-share-non-salbutamol': { value: 0.25, decile: 2, numerator: 25, denominator: 100 },
  },
};

describe('programmeCsv', () => {
  it('writes one row per practice, guarding formulas, quoting commas, numbers as written', () => {
    const csv = programmeCsv([row], '2026-03');
    expect(csv.startsWith('\uFEFF')).toBe(true);
    const [header, line, end] = csv.slice(1).split('\r\n');
    expect(end).toBe('');
    const names = exportColumns('2026-03').map((column) => column.name);
    expect(header).toBe(names.join(','));
    // A name a spreadsheet would run as a formula is kept as text.
    expect(line).toContain(`C82001,"'=HYPERLINK(""https://example.test"",""Open me"")"`);
    expect(line).toContain('"Market Harborough, Lutterworth and Kibworth PCN",04V,,14230,9.5,5');
    // Read back, every cell is what the row holds.
    const [record] = parseCsvWithHeader(csv, 'export.csv', names);
    expect(record!.values).toMatchObject({
      practice_name: `'${row.name}`,
      sub_icb_name: '',
      registered_patients: '14230',
      'mdi-share-non-salbutamol': '0.25',
      'mdi-share-non-salbutamol-decile': '2',
    });
  });
});
