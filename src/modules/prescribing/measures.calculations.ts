import { countBelow } from '../../lib/sorted.ts';
import { lowCarbonDeviceTypes, mdiDeviceTypes, type DeviceType } from './inhaler-reference.ts';

export const measureIds = [
  'mdi-share-non-salbutamol',
  'inhaler-kgco2e',
  'inhaler-kgco2e-per-1000-patients',
  'salbutamol-kgco2e-per-inhaler',
  'low-carbon-inhaler-share',
] as const;
export type MeasureId = (typeof measureIds)[number];

export interface MeasureDefinition {
  id: MeasureId;
  title: string;
  numerator: string;
  denominator: string;
  /** value = numerator / denominator × scale */
  scale: number;
  unit: string;
  lowIsGood: boolean;
  /**
   * A total (denominator 1 at every level): a group's numerator is the sum of its practices' and its
   * denominator stays 1, so that its value is the group's total, not the total over its practices.
   */
  total: boolean;
}

export const measureDefinitions: Record<MeasureId, MeasureDefinition> = {
  'mdi-share-non-salbutamol': {
    id: 'mdi-share-non-salbutamol',
    title: 'Metered-dose inhalers as a share of all inhalers, salbutamol excluded',
    numerator: 'MDI items (salbutamol excluded)',
    denominator: 'MDI, dry-powder and soft-mist inhaler items (salbutamol excluded)',
    scale: 100,
    unit: '%',
    lowIsGood: true,
    total: false,
  },
  'inhaler-kgco2e': {
    id: 'inhaler-kgco2e',
    title: 'Carbon of inhalers prescribed',
    numerator: 'kgCO2e of all inhalers',
    denominator: '1 (a total)',
    scale: 1,
    unit: 'kgCO2e',
    lowIsGood: true,
    total: true,
  },
  'inhaler-kgco2e-per-1000-patients': {
    id: 'inhaler-kgco2e-per-1000-patients',
    title: 'Carbon of inhalers per 1,000 registered patients',
    numerator: 'kgCO2e of all inhalers',
    denominator: 'registered patients',
    scale: 1000,
    unit: 'kgCO2e per 1,000 patients',
    lowIsGood: true,
    total: false,
  },
  'salbutamol-kgco2e-per-inhaler': {
    id: 'salbutamol-kgco2e-per-inhaler',
    title: 'Average carbon per salbutamol inhaler',
    numerator: 'kgCO2e of salbutamol inhalers',
    denominator: 'salbutamol inhalers',
    scale: 1,
    unit: 'kgCO2e per inhaler',
    lowIsGood: true,
    total: false,
  },
  'low-carbon-inhaler-share': {
    id: 'low-carbon-inhaler-share',
    title: 'Dry-powder and soft-mist inhalers as a share of all inhalers',
    numerator: 'dry-powder and soft-mist inhaler items',
    denominator: 'MDI, dry-powder and soft-mist inhaler items',
    scale: 100,
    unit: '%',
    lowIsGood: false,
    total: false,
  },
};

/** One practice × month × BNF code aggregate, classified and converted to inhalers. */
export interface ClassifiedLine {
  bnfCode: string;
  items: number;
  /** Null for codes that are not inhalers. */
  deviceType: DeviceType | null;
  inhalers: number;
  /** Null when not an inhaler or when the product has no kgCO2e value. */
  kgCo2e: number | null;
}

export interface MeasureFraction {
  numerator: number;
  /** Null when the measure does not apply (no list size known). */
  denominator: number | null;
}

export type PracticeMeasures = Record<MeasureId, MeasureFraction>;

/** BNF chemical substance 0301011R0: salbutamol, excluded from the MDI share as OpenPrescribing does. */
export function isSalbutamol(bnfCode: string): boolean {
  return bnfCode.startsWith('0301011R0');
}

/**
 * The five measures for one practice and month, as numerator and denominator, from its classified
 * chapter 3 lines. Pure: the same lines always give the same answer.
 */
export function calculatePracticeMeasures(
  lines: readonly ClassifiedLine[],
  listSize: number | null,
): PracticeMeasures {
  let mdiItemsNonSalbutamol = 0;
  let inhalerItemsNonSalbutamol = 0;
  let inhalerItems = 0;
  let lowCarbonItems = 0;
  let kgCo2e = 0;
  let salbutamolKgCo2e = 0;
  let salbutamolInhalers = 0;
  for (const line of lines) {
    if (line.deviceType === null || line.deviceType === 'other') continue;
    const salbutamol = isSalbutamol(line.bnfCode);
    inhalerItems += line.items;
    if (lowCarbonDeviceTypes.has(line.deviceType)) lowCarbonItems += line.items;
    if (!salbutamol) {
      inhalerItemsNonSalbutamol += line.items;
      if (mdiDeviceTypes.has(line.deviceType)) mdiItemsNonSalbutamol += line.items;
    }
    if (line.kgCo2e !== null) {
      kgCo2e += line.kgCo2e;
      if (salbutamol) {
        salbutamolKgCo2e += line.kgCo2e;
        salbutamolInhalers += line.inhalers;
      }
    }
  }
  return {
    'mdi-share-non-salbutamol': {
      numerator: mdiItemsNonSalbutamol,
      denominator: inhalerItemsNonSalbutamol,
    },
    'inhaler-kgco2e': { numerator: kgCo2e, denominator: 1 },
    'inhaler-kgco2e-per-1000-patients': {
      numerator: kgCo2e,
      denominator: listSize !== null && listSize > 0 ? listSize : null,
    },
    'salbutamol-kgco2e-per-inhaler': {
      numerator: salbutamolKgCo2e,
      denominator: salbutamolInhalers,
    },
    'low-carbon-inhaler-share': { numerator: lowCarbonItems, denominator: inhalerItems },
  };
}

/** numerator / denominator × the measure's scale; null when the denominator is missing or zero. */
export function measureValue(measure: MeasureId, fraction: MeasureFraction): number | null {
  if (fraction.denominator === null || fraction.denominator === 0) return null;
  return (fraction.numerator / fraction.denominator) * measureDefinitions[measure].scale;
}

/**
 * Sums numerators and denominators over the members of each group (PCN, sub-ICB location, ICB,
 * region, nation) and recomputes the value: a group's value is never an average of practice values.
 * Members whose denominator is null are left out of both sums. A total measure keeps the
 * denominator 1: summing each practice's 1 would divide the group's total by its practice count.
 */
export function rollUpMeasure(
  measure: MeasureId,
  members: readonly { groupCode: string; fraction: MeasureFraction }[],
): Map<string, { numerator: number; denominator: number; practices: number }> {
  const total = measureDefinitions[measure].total;
  const groups = new Map<string, { numerator: number; denominator: number; practices: number }>();
  for (const { groupCode, fraction } of members) {
    if (fraction.denominator === null) continue;
    const group = groups.get(groupCode) ?? { numerator: 0, denominator: 0, practices: 0 };
    group.numerator += fraction.numerator;
    group.denominator = total ? 1 : group.denominator + fraction.denominator;
    group.practices += 1;
    groups.set(groupCode, group);
  }
  return groups;
}

export interface Ranking {
  /** 0–100: the share of the other practices with a strictly lower value (SQL PERCENT_RANK × 100). */
  percentile: number;
  /** 1–10; decile 1 holds the lowest values. */
  decile: number;
}

/**
 * Ranks values against each other. Ties share the lowest rank, as PERCENT_RANK does; the decile is
 * floor(percentile / 10) + 1, with 100 put in decile 10. Null values are not ranked.
 */
export function rankValues(values: readonly (number | null)[]): (Ranking | null)[] {
  const present = values.filter((value): value is number => value !== null).sort((a, b) => a - b);
  const n = present.length;
  return values.map((value) => {
    if (value === null) return null;
    const lower = countBelow(present, value);
    const percentile = n <= 1 ? 0 : (lower / (n - 1)) * 100;
    return { percentile, decile: Math.min(10, Math.floor(percentile / 10) + 1) };
  });
}
