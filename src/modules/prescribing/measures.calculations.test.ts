import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  calculatePracticeMeasures,
  measureIds,
  measureValue,
  rankValues,
  rollUpMeasure,
  type ClassifiedLine,
} from './measures.calculations.ts';

const line = (
  bnfCode: string,
  deviceType: ClassifiedLine['deviceType'],
  items: number,
  inhalers: number,
  kg: number | null,
): ClassifiedLine => ({
  bnfCode,
  deviceType,
  items,
  inhalers,
  kgCo2e: kg,
});

describe('practice measures', () => {
  const lines = [
    line('0301011R0BEAIAP', 'pmdi', 10, 12, 12 * 28.26), // Ventolin Evohaler: salbutamol MDI
    line('0301011R0BEAHAQ', 'dpi', 2, 2, 2 * 0.58), // Ventolin Accuhaler: salbutamol DPI
    line('0302000C0BPABBF', 'pmdi', 5, 5, 5 * 20.35), // Clenil: MDI
    line('0302000K0BDAAAL', 'dpi', 3, 3, 3), // Symbicort Turbohaler: DPI
    line('0301020Q0BBACAC', 'smi', 1, 1, 0.78), // Spiriva Respimat: soft mist
    line('0303020G0AAABAB', null, 7, 0, null), // montelukast: not an inhaler
  ];

  it('computes each measure from its numerator and denominator', () => {
    const measures = calculatePracticeMeasures(lines, 2000);
    // Salbutamol excluded: MDI 5 / (5 + 3 + 1) items.
    expect(measures['mdi-share-non-salbutamol']).toEqual({ numerator: 5, denominator: 9 });
    const kg = 12 * 28.26 + 2 * 0.58 + 5 * 20.35 + 3 + 0.78;
    expect(measures['inhaler-kgco2e'].numerator).toBeCloseTo(kg, 10);
    expect(measures['inhaler-kgco2e-per-1000-patients'].denominator).toBe(2000);
    expect(
      measureValue(
        'inhaler-kgco2e-per-1000-patients',
        measures['inhaler-kgco2e-per-1000-patients'],
      ),
    ).toBeCloseTo((kg / 2000) * 1000, 10);
    // (12 × 28.26 + 2 × 0.58) / 14 inhalers.
    expect(measures['salbutamol-kgco2e-per-inhaler'].numerator).toBeCloseTo(12 * 28.26 + 1.16, 10);
    expect(measures['salbutamol-kgco2e-per-inhaler'].denominator).toBe(14);
    // DPI and SMI items (2 + 3 + 1) over all inhaler items (10 + 2 + 5 + 3 + 1).
    expect(measures['low-carbon-inhaler-share']).toEqual({ numerator: 6, denominator: 21 });
    expect(
      measureValue('low-carbon-inhaler-share', measures['low-carbon-inhaler-share']),
    ).toBeCloseTo((6 / 21) * 100, 10);
  });

  it('leaves the per-patient measure undefined without a list size, and empty shares undefined', () => {
    const measures = calculatePracticeMeasures([], null);
    expect(measures['inhaler-kgco2e-per-1000-patients'].denominator).toBeNull();
    expect(
      measureValue('mdi-share-non-salbutamol', measures['mdi-share-non-salbutamol']),
    ).toBeNull();
  });

  const arbitraryLine = fc.record({
    bnfCode: fc.constantFrom(
      '0301011R0BEAIAP',
      '0302000C0BPABBF',
      '0302000K0BDAAAL',
      '0301020Q0BBACAC',
      '0303020G0AAABAB',
    ),
    deviceType: fc.constantFrom('pmdi', 'ba-mdi', 'dpi', 'smi', null),
    items: fc.integer({ min: 0, max: 500 }),
    inhalers: fc.integer({ min: 0, max: 500 }),
    kgCo2e: fc.option(fc.double({ min: 0, max: 1e4, noNaN: true }), { nil: null }),
  }) as fc.Arbitrary<ClassifiedLine>;

  it('keeps every share between 0 and 100', () => {
    fc.assert(
      fc.property(fc.array(arbitraryLine, { maxLength: 30 }), (generated) => {
        const measures = calculatePracticeMeasures(generated, null);
        for (const id of ['mdi-share-non-salbutamol', 'low-carbon-inhaler-share'] as const) {
          const value = measureValue(id, measures[id]);
          if (value !== null) {
            expect(value).toBeGreaterThanOrEqual(0);
            expect(value).toBeLessThanOrEqual(100);
          }
        }
      }),
    );
  });

  it('rolls up additively: the national sums equal the measures of all lines together', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.constantFrom('P1', 'P2', 'P3'), fc.array(arbitraryLine, { maxLength: 8 })),
          {
            maxLength: 8,
          },
        ),
        (practices) => {
          const members = practices.flatMap(([, practiceLines]) => {
            const measures = calculatePracticeMeasures(practiceLines, 1000);
            return measureIds.map((id) => ({ id, fraction: measures[id] }));
          });
          const all = calculatePracticeMeasures(
            practices.flatMap(([, practiceLines]) => practiceLines),
            1000 * practices.length,
          );
          for (const id of measureIds) {
            const rolled = rollUpMeasure(
              id,
              members
                .filter((member) => member.id === id)
                .map((member) => ({ groupCode: 'ENG', fraction: member.fraction })),
            ).get('ENG');
            if (!rolled) continue;
            expect(rolled.numerator).toBeCloseTo(all[id].numerator, 6);
            expect(rolled.denominator).toBeCloseTo(all[id].denominator ?? 0, 6);
            const value = measureValue(id, rolled);
            const expected = measureValue(id, all[id]);
            if (expected === null) expect(value).toBeNull();
            else expect(value).toBeCloseTo(expected, 6);
          }
        },
      ),
    );
  });
});

describe('roll-ups of a total', () => {
  it('gives a group the total of its practices, not their average', () => {
    const practice = (kg: number) =>
      calculatePracticeMeasures([line('0302000C0BPABBF', 'pmdi', 1, 1, kg)], null)[
        'inhaler-kgco2e'
      ];
    const rolled = rollUpMeasure('inhaler-kgco2e', [
      { groupCode: 'PCN1', fraction: practice(100) },
      { groupCode: 'PCN1', fraction: practice(50) },
      { groupCode: 'PCN1', fraction: practice(30) },
    ]).get('PCN1')!;
    expect(rolled).toEqual({ numerator: 180, denominator: 1, practices: 3 });
    expect(measureValue('inhaler-kgco2e', rolled)).toBe(180);
  });
});

describe('percentiles and deciles', () => {
  it('ranks like PERCENT_RANK, ties sharing the lowest rank', () => {
    expect(rankValues([10, 20, 20, 40, null])).toEqual([
      { percentile: 0, decile: 1 },
      { percentile: (1 / 3) * 100, decile: 4 },
      { percentile: (1 / 3) * 100, decile: 4 },
      { percentile: 100, decile: 10 },
      null,
    ]);
    expect(rankValues([5])).toEqual([{ percentile: 0, decile: 1 }]);
  });

  it('keeps order: a higher value never has a lower percentile; deciles stay in 1–10', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { nil: null }), {
          maxLength: 60,
        }),
        (values) => {
          const ranks = rankValues(values);
          values.forEach((a, i) =>
            values.forEach((b, j) => {
              if (a === null || b === null) return;
              if (a < b) expect(ranks[i]!.percentile).toBeLessThanOrEqual(ranks[j]!.percentile);
              if (a === b) expect(ranks[i]).toEqual(ranks[j]);
            }),
          );
          for (const rank of ranks) {
            if (!rank) continue;
            expect(rank.decile).toBeGreaterThanOrEqual(1);
            expect(rank.decile).toBeLessThanOrEqual(10);
            expect(rank.percentile).toBeGreaterThanOrEqual(0);
            expect(rank.percentile).toBeLessThanOrEqual(100);
          }
        },
      ),
    );
  });
});
