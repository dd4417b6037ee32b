import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  calculateLineCarbon,
  countInhalers,
  estimateSwitchSavingKgCo2e,
  monthFromNumber,
  monthNumber,
  selectMonthsWithin,
} from './inhaler.calculations.ts';

describe('quantity rule', () => {
  it('keeps quantities of up to 9 per item as inhalers', () => {
    expect(countInhalers(13, 26, 200)).toEqual({ inhalers: 26, rule: 'as-recorded' });
    expect(countInhalers(1, 9, 200)).toEqual({ inhalers: 9, rule: 'as-recorded' });
  });

  it('divides by the doses per inhaler above 9 per item', () => {
    // 8 items of Braltus capsules, 270 capsules in all: 270 / 30 = 9 packs.
    expect(countInhalers(8, 270, 30)).toEqual({ inhalers: 9, rule: 'doses-to-inhalers' });
    expect(countInhalers(2, 400, 200)).toEqual({ inhalers: 2, rule: 'doses-to-inhalers' });
  });

  it('flags doses it cannot convert', () => {
    expect(countInhalers(1, 200, null)).toEqual({ inhalers: 200, rule: 'doses-unknown' });
  });

  it('gives no carbon to a quantity that may be doses, rather than counting each dose an inhaler', () => {
    // Ciclesonide pMDI with no dose count: 120 recorded for one item may be one 120-dose inhaler.
    expect(calculateLineCarbon(1, 120, { dosesPerInhaler: null, kgCo2ePerInhaler: 20.35 })).toEqual(
      { inhalers: 120, rule: 'doses-unknown', kgCo2e: null },
    );
    expect(calculateLineCarbon(1, 120, { dosesPerInhaler: 120, kgCo2ePerInhaler: 20.35 })).toEqual({
      inhalers: 1,
      rule: 'doses-to-inhalers',
      kgCo2e: 20.35,
    });
  });

  it('never returns more inhalers than the recorded quantity, nor a negative count', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.option(fc.integer({ min: 1, max: 400 }), { nil: null }),
        (items, quantity, doses) => {
          const { inhalers } = countInhalers(items, quantity, doses);
          expect(inhalers).toBeGreaterThanOrEqual(0);
          expect(inhalers).toBeLessThanOrEqual(quantity);
        },
      ),
    );
  });

  it('multiplies inhalers by kgCO2e per inhaler', () => {
    expect(
      calculateLineCarbon(62, 93, { dosesPerInhaler: 200, kgCo2ePerInhaler: 28.26 }).kgCo2e,
    ).toBeCloseTo(2628.18, 8);
    expect(
      calculateLineCarbon(1, 1, { dosesPerInhaler: null, kgCo2ePerInhaler: null }).kgCo2e,
    ).toBeNull();
  });

  it('estimates a switch saving per year', () => {
    // 12 MDIs of 20 kg over 6 months, half moved to a 1 kg DPI: 6 × 19 kg = 114 kg; × 12/6 = 228 kg a year.
    expect(
      estimateSwitchSavingKgCo2e(
        [{ inhalers: 12, kgCo2ePerInhaler: 20, alternativeKgCo2ePerInhaler: 1 }],
        0.5,
        6,
      ),
    ).toBeCloseTo(228, 10);
    expect(estimateSwitchSavingKgCo2e([], 0.5, 0)).toBe(0);
  });
});

describe('the months of a year', () => {
  it('takes the months held within the twelve calendar months ending with the latest', () => {
    // Imported with a gap: the last twelve months held go back to 2022, the calendar year does not.
    const held = ['2022-11', '2022-12', '2023-01', '2023-02', '2023-03', '2023-04', '2023-05'];
    held.push('2023-06', '2023-07', '2024-01', '2024-02', '2024-03');
    expect(selectMonthsWithin(held, '2024-03')).toEqual({
      from: '2023-04',
      to: '2024-03',
      months: ['2023-04', '2023-05', '2023-06', '2023-07', '2024-01', '2024-02', '2024-03'],
    });
    expect(selectMonthsWithin(['2017-10', '2017-12', '2018-11'], '2018-11').months).toEqual([
      '2017-12',
      '2018-11',
    ]);
    expect(selectMonthsWithin(['2024-01'], '2024-01', 12).from).toBe('2023-02');
  });

  it('counts months across year ends', () => {
    expect(monthNumber('2024-01') - monthNumber('2023-12')).toBe(1);
    expect(monthFromNumber(monthNumber('2023-12') + 1)).toBe('2024-01');
    fc.assert(
      fc.property(fc.integer({ min: 1900 * 12, max: 2200 * 12 }), (number) => {
        expect(monthNumber(monthFromNumber(number))).toBe(number);
      }),
    );
  });

  it('never keeps a month outside the span, nor one after the latest', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 2000 * 12, max: 2030 * 12 }), { maxLength: 40 }),
        fc.integer({ min: 2000 * 12, max: 2030 * 12 }),
        fc.integer({ min: 1, max: 24 }),
        (numbers, latest, span) => {
          const { months, from } = selectMonthsWithin(
            numbers.map(monthFromNumber),
            monthFromNumber(latest),
            span,
          );
          expect(monthNumber(from)).toBe(latest - span + 1);
          for (const month of months) {
            expect(monthNumber(month)).toBeGreaterThan(latest - span);
            expect(monthNumber(month)).toBeLessThanOrEqual(latest);
          }
          expect(months.length).toBeLessThanOrEqual(span);
        },
      ),
    );
  });
});
