import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsvWithHeader } from '../../lib/csv.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';

const fixtureDir = path.join(import.meta.dirname, 'test-fixtures');
const fixture = path.join(fixtureDir, 'epd_201709_bnf_chapter3_subset.csv');
const opCodeLists = path.resolve(
  import.meta.dirname,
  '../../../data/reference/inhalers/openprescribing/bnf_codes_environmental_inhalers_measure_tcr1990.csv',
);

/** The fixture's rows, read straight from the CSV without any of the importer's code. */
function fixtureRows() {
  return parseCsvWithHeader(fs.readFileSync(fixture, 'utf8'), 'fixture', ['PRACTICE_CODE']).map(
    ({ values }) => ({
      practice: values.PRACTICE_CODE!,
      bnfCode: values.BNF_CODE!,
      items: Number(values.ITEMS),
    }),
  );
}

/**
 * OpenPrescribing's environmental inhalers measure from its published code lists: numerator = items
 * of codes in the MDI list, denominator = items of codes in the MDI_DPI list (salbutamol is already
 * left out of both lists).
 *
 * The code lists are a 2024 export and differ from the 2017 month in two documented ways, which the
 * amendments below restore:
 * - soft-mist (Respimat) codes: the measure's definition counts `inhalationsolution.inhalation`
 *   in the denominator since its 2024 review, but the exported list predates that;
 * - codes replaced since 2017 by new BNF codes for the same product: OpenPrescribing maps them to
 *   the new code before measuring, so they count as their successors do.
 */
const amendments = {
  numerator: ['0302000N0BBAXBA'], // Flixotide Evohaler 125 (now 0302000N0BBAYBA, in the MDI list)
  denominator: [
    '0301020Q0AAACAC', // Tiotropium 2.5mcg Respimat (soft mist)
    '0301020Q0BBACAC', // Spiriva Respimat (soft mist)
    '0301040X0BBAAAA', // Spiolto Respimat (soft mist)
    '0302000N0BBAXBA', // Flixotide Evohaler 125 (MDI)
    '0301011E0BEAAAE', // Formoterol Easyhaler (DPI)
    '0302000K0BFABAC', // Budelin Novolizer refill (DPI)
    '0301011V0AAALAL', // Terbutaline 500mcg breath-actuated powder inhaler (DPI, Turbohaler generic)
    '0301011V0BBAMAL', // Bricanyl Turbohaler (DPI)
  ],
};

function readOpenPrescribingLists() {
  const lines = fs.readFileSync(opCodeLists, 'utf8').trim().split(/\r?\n/).slice(1);
  const numerator = new Set<string>();
  const denominator = new Set<string>();
  for (const line of lines) {
    const [mdi, all] = line.split(',').map((cell) => cell.trim());
    if (mdi) numerator.add(mdi);
    if (all) denominator.add(all);
  }
  return { numerator, denominator };
}

describe.each(testDialects)('EPD fixture 2017-09 on %s', (dialect) => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp(dialect);
    await testApp.services.prescribing.importEpd([fixture]);
  });

  afterAll(async () => {
    await testApp?.close();
  });

  const practiceValue = async (
    measureId: Parameters<TestApp['services']['prescribing']['exportMeasure']>[0]['measureId'],
    code: string,
  ) => {
    const [row] = await testApp.services.prescribing.exportMeasure({
      measureId,
      level: 'practice',
      code,
    });
    return row!;
  };

  it('matches OpenPrescribing code lists for mdi-share-non-salbutamol at every practice', async () => {
    const lists = readOpenPrescribingLists();
    for (const code of amendments.numerator) lists.numerator.add(code);
    for (const code of amendments.denominator) lists.denominator.add(code);
    const expected = new Map<string, { numerator: number; denominator: number }>();
    for (const row of fixtureRows()) {
      const entry = expected.get(row.practice) ?? { numerator: 0, denominator: 0 };
      if (lists.numerator.has(row.bnfCode)) entry.numerator += row.items;
      if (lists.denominator.has(row.bnfCode)) entry.denominator += row.items;
      expected.set(row.practice, entry);
    }
    const exported = await testApp.services.prescribing.exportMeasure({
      measureId: 'mdi-share-non-salbutamol',
      level: 'practice',
    });
    expect(exported.map((row) => row.code).sort()).toEqual([...expected.keys()].sort());
    for (const row of exported) {
      const want = expected.get(row.code)!;
      expect({ code: row.code, numerator: row.numerator, denominator: row.denominator }).toEqual({
        code: row.code,
        ...want,
      });
      expect(row.value).toBeCloseTo((want.numerator / want.denominator) * 100, 10);
    }
  });

  it('differs from the raw code lists only in the documented amendments', async () => {
    const lists = readOpenPrescribingLists();
    const diagnostics = await testApp.services.prescribing.getMonthDiagnostics('2017-09');
    const differing = new Set<string>();
    for (const presentation of diagnostics!.presentations) {
      if (presentation.bnf_code.startsWith('0301011R0')) continue;
      const inhaler = presentation.classification === 'inhaler';
      const mdi =
        inhaler && (presentation.device_type === 'pmdi' || presentation.device_type === 'ba-mdi');
      if (mdi !== lists.numerator.has(presentation.bnf_code)) differing.add(presentation.bnf_code);
      if (inhaler !== lists.denominator.has(presentation.bnf_code))
        differing.add(presentation.bnf_code);
    }
    expect([...differing].sort()).toEqual(
      [...new Set([...amendments.numerator, ...amendments.denominator])].sort(),
    );
  });

  it('computes every measure for L84073 as checked by hand', async () => {
    // mdi-share-non-salbutamol: MDI items (salbutamol excluded) at L84073: salmeterol 4 + 1,
    // ipratropium 3 + 1, beclometasone CFF 2, Qvar 1 + 1, Clenil 4 + 22 + 4 + 3, Fostair 20 + 3,
    // fluticasone/salmeterol 1, Seretide Evohaler 2 + 3, Flutiform 10 + 8, Sirdupla 1, ciclesonide 2
    // = 96. Dry-powder and soft-mist items (salbutamol excluded) = 55, so the denominator is 151.
    const mdiShare = await practiceValue('mdi-share-non-salbutamol', 'L84073');
    expect(mdiShare).toMatchObject({ numerator: 96, denominator: 151 });
    expect(mdiShare.value).toBeCloseTo(63.5762, 4);

    // low-carbon-inhaler-share: DPI + SMI items including salbutamol DPIs: 55 + Ventolin Accuhaler 2
    // + salbutamol 200mcg DPI 1 + Easyhaler 100mcg 1 + Easyhaler 200mcg 1 = 60. All inhaler items:
    // 151 + salbutamol inhalers 47 + 1 + 3 + 2 + 62 + 2 + 1 + 1 + 1 (= 120) = 271.
    const lowCarbon = await practiceValue('low-carbon-inhaler-share', 'L84073');
    expect(lowCarbon).toMatchObject({ numerator: 60, denominator: 271 });

    // salbutamol-kgco2e-per-inhaler: quantities are 1–2 per item, so inhalers = quantity.
    // generic MDI 60 × 25.24 = 1514.40; 200mcg DPI 1 × 0.58; breath-actuated 4 × 11.79 = 47.16;
    // Ventolin Accuhaler 2 × 0.58 = 1.16; Ventolin Evohaler 93 × 28.26 = 2628.18; Salamol Easi-Breathe
    // 4 × 12.08 = 48.32; Airomir Autohaler 2 × 9.72 = 19.44; Easyhaler 100mcg and 200mcg 1 × 0.62 each.
    // Sum 4260.48 kg over 168 inhalers = 25.36 kg per inhaler.
    const salbutamol = await practiceValue('salbutamol-kgco2e-per-inhaler', 'L84073');
    expect(salbutamol.numerator).toBeCloseTo(4260.48, 8);
    expect(salbutamol.denominator).toBe(168);
    expect(salbutamol.value).toBeCloseTo(25.36, 8);

    // inhaler-kgco2e: every inhaler line's inhalers × kgCO2e per inhaler, with the quantity rule on
    // the two capsule lines (tiotropium 30 capsules / 30 = 1 pack; Braltus 270 / 30 = 9 packs).
    // Summed by hand in a spreadsheet from the 52 inhaler lines: 6883.87 kg with soft-mist inhalers
    // at 1.0 kg (reference versions before 2026-12.2); its 3 soft-mist inhalers (Spiriva Respimat 2,
    // Spiolto Respimat 1) now take 0.78 kg each (Hänsel et al. 2019): 6883.87 - 3 × 0.22 = 6883.21.
    const total = await practiceValue('inhaler-kgco2e', 'L84073');
    expect(total.numerator).toBeCloseTo(6883.21, 6);
    expect(total.denominator).toBe(1);

    // inhaler-kgco2e-per-1000-patients: L84073 (Gloucestershire) is not in the shipped list sizes.
    const perPatient = await practiceValue('inhaler-kgco2e-per-1000-patients', 'L84073');
    expect(perPatient.denominator).toBeNull();
    expect(perPatient.value).toBeNull();
  });

  it('totals kgCO2e for every practice and rolls up to the nation', async () => {
    // Per practice, from the same hand calculation as above, each less 0.22 kg for every soft-mist
    // inhaler (1.0 kg before reference 2026-12.2, 0.78 since): B85010 has 2 (Spiriva and Spiolto
    // Respimat, 1 each), B85054 9 (tiotropium Respimat 4, Spiriva Respimat 5), L84018 8 (Spiriva 7,
    // Spiolto 1), L84073 3.
    const expected: Record<string, number> = {
      B85010: 11582.64 - 2 * 0.22,
      B85054: 16572.38 - 9 * 0.22,
      L84018: 8404.95 - 8 * 0.22,
      L84073: 6883.87 - 3 * 0.22,
    };
    const rows = await testApp.services.prescribing.exportMeasure({
      measureId: 'inhaler-kgco2e',
      level: 'practice',
    });
    for (const row of rows) expect(row.numerator).toBeCloseTo(expected[row.code]!, 6);
    const [national] = await testApp.services.prescribing.exportMeasure({
      measureId: 'inhaler-kgco2e',
      level: 'national',
    });
    // 43443.84 - 22 × 0.22 = 43439.00.
    expect(national!.numerator).toBeCloseTo(43439.0, 6);
    expect(national!.code).toBe('ENG');
    // A total: the nation's value is the sum of its practices' kgCO2e, not their average.
    expect(national!.denominator).toBe(1);
    expect(national!.value).toBeCloseTo(43439.0, 6);
    // The national MDI share sums numerators and denominators, never averages practice values.
    const practices = await testApp.services.prescribing.exportMeasure({
      measureId: 'mdi-share-non-salbutamol',
      level: 'practice',
    });
    const [nation] = await testApp.services.prescribing.exportMeasure({
      measureId: 'mdi-share-non-salbutamol',
      level: 'national',
    });
    expect(nation!.numerator).toBe(practices.reduce((sum, row) => sum + row.numerator, 0));
    expect(nation!.denominator).toBe(
      practices.reduce((sum, row) => sum + (row.denominator ?? 0), 0),
    );
  });

  it('ranks the four practices: percentile 0, 33.3, 66.7, 100 and deciles 1, 4, 7, 10', async () => {
    const rows = await testApp.services.prescribing.exportMeasure({
      measureId: 'mdi-share-non-salbutamol',
      level: 'practice',
    });
    // Values: B85054 41.5 < L84018 43.8 < B85010 53.6 < L84073 63.6.
    const byCode = Object.fromEntries(rows.map((row) => [row.code, [row.percentile, row.decile]]));
    expect(byCode.B85054).toEqual([0, 1]);
    expect(byCode.L84018![0]).toBeCloseTo(100 / 3, 10);
    expect(byCode.L84018![1]).toBe(4);
    expect(byCode.B85010![0]).toBeCloseTo(200 / 3, 10);
    expect(byCode.B85010![1]).toBe(7);
    expect(byCode.L84073).toEqual([100, 10]);
  });

  it('rolls the area-team layout up by PCO (sub-ICB) and the old regional office', async () => {
    const subIcbs = await testApp.services.prescribing.exportMeasure({
      measureId: 'inhaler-kgco2e',
      level: 'sub-icb',
    });
    expect(subIcbs.map((row) => row.code).sort()).toEqual(['03A', '11M']);
    const icbs = await testApp.services.prescribing.exportMeasure({
      measureId: 'inhaler-kgco2e',
      level: 'icb',
    });
    expect(icbs).toEqual([]); // the 2017 layout names area teams, not ICBs, and these practices are not in the reference data
  });

  it('records the import with its totals, reference version and the lines converted from doses', async () => {
    const diagnostics = await testApp.services.prescribing.getMonthDiagnostics('2017-09');
    expect(diagnostics!.import).toMatchObject({
      month: '2017-09',
      layout: 'epd-area-team',
      rows_read: 597,
      chapter3_rows: 597,
      practices: 4,
      chapter3_codes: 166,
      unclassified_codes: 0,
      reference_version: testApp.services.prescribing.reference.version,
    });
    expect(diagnostics!.import.doses_converted_lines).toBeGreaterThan(0);
  });
});
