import type { InhalerProduct } from './inhaler-reference.ts';

/**
 * Above this many units per item, an inhaler quantity is taken to be in doses rather than in
 * inhalers. OpenPrescribing's inhaler views use the same threshold: "If the quantity per item is
 * more than 9, it adjusts by the smallest dm+d pack size".
 */
export const DOSES_PER_ITEM_THRESHOLD = 9;

export type QuantityRule = 'as-recorded' | 'doses-to-inhalers' | 'doses-unknown';

export interface InhalerCount {
  inhalers: number;
  rule: QuantityRule;
}

/**
 * Converts an EPD quantity to a number of inhalers. EPD records most inhalers as 1 per inhaler, but
 * some lines as doses (200 for a 200-dose inhaler) and capsule DPIs as capsules. Where the
 * quantity per item is above 9, the quantity is divided by the doses in one inhaler (the pack size).
 * Applied per practice, month and BNF code, so a practice's figure depends only on its own rows.
 * When the dose count is unknown the quantity is kept as recorded and flagged `doses-unknown`; it
 * may be doses, so it is given no carbon (see `calculateLineCarbon`).
 */
export function countInhalers(
  items: number,
  quantity: number,
  dosesPerInhaler: number | null,
): InhalerCount {
  if (items <= 0 || quantity / items <= DOSES_PER_ITEM_THRESHOLD) {
    return { inhalers: quantity, rule: 'as-recorded' };
  }
  if (dosesPerInhaler === null || dosesPerInhaler <= 0) {
    return { inhalers: quantity, rule: 'doses-unknown' };
  }
  return { inhalers: quantity / dosesPerInhaler, rule: 'doses-to-inhalers' };
}

export interface InhalerLineCarbon extends InhalerCount {
  /** Null when the reference table has no kgCO2e for the product. */
  kgCo2e: number | null;
}

/** The carbon of one practice × month × BNF code aggregate. */
export function calculateLineCarbon(
  items: number,
  quantity: number,
  product: Pick<InhalerProduct, 'dosesPerInhaler' | 'kgCo2ePerInhaler'>,
): InhalerLineCarbon {
  const { inhalers, rule } = countInhalers(items, quantity, product.dosesPerInhaler);
  // A quantity that may be doses would count a 120-dose inhaler as 120 inhalers: such a line is
  // left out of the carbon (and flagged) rather than counted a hundred times over. (Fields are
  // named, not spread: this runs for every line of a national month.)
  const kgCo2e =
    product.kgCo2ePerInhaler === null || rule === 'doses-unknown'
      ? null
      : inhalers * product.kgCo2ePerInhaler;
  return { inhalers, rule, kgCo2e };
}

/**
 * What moving a share of a practice's MDIs to dry-powder or soft-mist inhalers would save in a year:
 * for each MDI line, the inhalers moved times the difference between its kgCO2e and the
 * alternative's, scaled from the months given to twelve.
 */
export function estimateSwitchSavingKgCo2e(
  mdiLines: readonly {
    inhalers: number;
    kgCo2ePerInhaler: number;
    alternativeKgCo2ePerInhaler: number;
  }[],
  shareMoved: number,
  months: number,
): number {
  if (months <= 0) return 0;
  const saved = mdiLines.reduce(
    (sum, line) =>
      sum +
      line.inhalers *
        shareMoved *
        Math.max(0, line.kgCo2ePerInhaler - line.alternativeKgCo2ePerInhaler),
    0,
  );
  return (saved * 12) / months;
}

/** A `YYYY-MM` month as a count of months since year 0, so that months can be subtracted. */
export function monthNumber(month: string): number {
  return Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1;
}

/** The `YYYY-MM` month of a count from `monthNumber`. */
export function monthFromNumber(number: number): string {
  const year = Math.floor(number / 12);
  return `${String(year).padStart(4, '0')}-${String((number % 12) + 1).padStart(2, '0')}`;
}

/**
 * The calendar months that end with `latest` and go back `span` months in all, and which of the
 * months held fall in them. Months are imported one at a time and may have gaps: the last twelve
 * imported could span years, so a year's figures take the calendar year, not the last twelve held.
 */
export function selectMonthsWithin(
  monthsHeld: readonly string[],
  latest: string,
  span = 12,
): { from: string; to: string; months: string[] } {
  const end = monthNumber(latest);
  const start = end - span + 1;
  const months = [...new Set(monthsHeld)]
    .filter((month) => {
      const number = monthNumber(month);
      return number >= start && number <= end;
    })
    .sort();
  return { from: monthFromNumber(start), to: latest, months };
}
