import { normaliseSubIcbCode } from './epd-layout.ts';
import type { EpdPracticeInfo } from './epd-reader.ts';

export const rollupLevels = ['pcn', 'sub-icb', 'icb', 'region', 'national'] as const;
export type RollupLevel = (typeof rollupLevels)[number];

/** The levels a group of practices can be asked for by: every roll-up level but England. */
export const groupLevels = ['pcn', 'sub-icb', 'icb', 'region'] as const;
export type GroupLevel = (typeof groupLevels)[number];

/** A group to keep rows within: the practices, or the groups of a lower level, placed in it. */
export interface WithinGroup {
  level: GroupLevel;
  code: string;
}

/**
 * Reads `LEVEL:CODE` (e.g. `icb:QK1`) for rows of `level`; the group must be above that level.
 * Returns the problem as text when the value is not one.
 */
export function parseWithinGroup(
  text: string,
  level: RollupLevel | 'practice',
): WithinGroup | string {
  const match = /^([A-Za-z-]+):([0-9A-Za-z]{2,9})$/.exec(text.trim());
  const groupLevel = match?.[1]!.toLowerCase() as GroupLevel | undefined;
  if (!match || !groupLevels.includes(groupLevel!)) {
    return `must be LEVEL:CODE with a level of ${groupLevels.join(', ')}, for example icb:QK1`;
  }
  const order = ['practice', ...groupLevels, 'national'];
  if (order.indexOf(groupLevel!) <= order.indexOf(level)) {
    return `must be a group above the ${level} level (${order.slice(order.indexOf(level) + 1, -1).join(', ') || 'none'})`;
  }
  return { level: groupLevel!, code: match[2]!.toUpperCase() };
}

export const NATIONAL_CODE = 'ENG';
export const NATIONAL_NAME = 'England';

/** What Greenspace's organisation reference data knows about a practice. */
export interface KnownPractice {
  code: string;
  pcnCode: string | null;
  pcnName: string | null;
  subIcbCode: string | null;
  subIcbName: string | null;
  /** `/Y60/QK1/04C/`: region, ICB, sub-ICB location. */
  ancestorPath: string;
  registeredPatients: number | null;
}

export interface ResolvedPractice {
  practiceCode: string;
  practiceName: string;
  postcode: string | null;
  pcnCode: string | null;
  pcnName: string | null;
  subIcbCode: string | null;
  subIcbName: string | null;
  icbCode: string | null;
  icbName: string | null;
  regionCode: string | null;
  regionName: string | null;
  hierarchySource: 'organisations' | 'epd';
  listSize: number | null;
}

/**
 * Decides where a practice rolls up to. Practices in Greenspace's reference data use the current
 * ODS hierarchy (PCN, sub-ICB location, ICB, region) and their published list size. Others use the
 * hierarchy printed in the month's EPD rows: PCO_CODE as the sub-ICB location, ICB_CODE (ICB-era
 * layouts only) and REGIONAL_OFFICE_CODE; they have no PCN and no list size.
 */
export function resolvePracticeHierarchy(
  epd: EpdPracticeInfo,
  known: KnownPractice | undefined,
  organisationNames: ReadonlyMap<string, string>,
): ResolvedPractice {
  if (known) {
    const [regionCode, icbCode] = known.ancestorPath.split('/').filter(Boolean);
    return {
      practiceCode: epd.practiceCode,
      practiceName: epd.practiceName,
      postcode: epd.postcode || null,
      pcnCode: known.pcnCode,
      pcnName: known.pcnName,
      subIcbCode: known.subIcbCode,
      subIcbName: known.subIcbName,
      icbCode: icbCode ?? null,
      icbName: icbCode ? (organisationNames.get(icbCode) ?? icbCode) : null,
      regionCode: regionCode ?? null,
      regionName: regionCode ? (organisationNames.get(regionCode) ?? regionCode) : null,
      hierarchySource: 'organisations',
      listSize: known.registeredPatients,
    };
  }
  return {
    practiceCode: epd.practiceCode,
    practiceName: epd.practiceName,
    postcode: epd.postcode || null,
    pcnCode: null,
    pcnName: null,
    subIcbCode: epd.pcoCode ? normaliseSubIcbCode(epd.pcoCode) : null,
    subIcbName: epd.pcoName || null,
    icbCode: epd.icbCode || null,
    icbName: epd.icbName || null,
    regionCode: epd.regionCode || null,
    regionName: epd.regionName || null,
    hierarchySource: 'epd',
    listSize: null,
  };
}

/** The group a practice belongs to at each level, or null where it has none. */
export function groupAt(
  practice: ResolvedPractice,
  level: RollupLevel,
): { code: string; name: string } | null {
  switch (level) {
    case 'pcn':
      return practice.pcnCode
        ? { code: practice.pcnCode, name: practice.pcnName ?? practice.pcnCode }
        : null;
    case 'sub-icb':
      return practice.subIcbCode
        ? { code: practice.subIcbCode, name: practice.subIcbName ?? practice.subIcbCode }
        : null;
    case 'icb':
      return practice.icbCode
        ? { code: practice.icbCode, name: practice.icbName ?? practice.icbCode }
        : null;
    case 'region':
      return practice.regionCode
        ? { code: practice.regionCode, name: practice.regionName ?? practice.regionCode }
        : null;
    case 'national':
      return { code: NATIONAL_CODE, name: NATIONAL_NAME };
  }
}
