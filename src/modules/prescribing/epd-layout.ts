/**
 * The three layouts of the NHSBSA English Prescribing Dataset, told apart by their header and
 * mapped by column name (never by position, so a reordered file still reads correctly).
 */

export type EpdLayoutId = 'epd-area-team' | 'epd-icb' | 'epd-snomed';

export interface EpdLayout {
  id: EpdLayoutId;
  label: string;
  /** Columns Greenspace reads, in addition to the common ones. */
  hierarchyColumns: { icbCode: string | null; icbName: string | null; areaTeamCode: string | null };
}

export const epdLayouts: Record<EpdLayoutId, EpdLayout> = {
  'epd-area-team': {
    id: 'epd-area-team',
    label: 'EPD with NHS England area teams (AREA_TEAM_CODE)',
    hierarchyColumns: { icbCode: null, icbName: null, areaTeamCode: 'AREA_TEAM_CODE' },
  },
  'epd-icb': {
    id: 'epd-icb',
    label: 'EPD with integrated care boards (ICB_CODE)',
    hierarchyColumns: { icbCode: 'ICB_CODE', icbName: 'ICB_NAME', areaTeamCode: null },
  },
  'epd-snomed': {
    id: 'epd-snomed',
    label: 'EPD with SNOMED code (SNOMED_CODE)',
    hierarchyColumns: { icbCode: 'ICB_CODE', icbName: 'ICB_NAME', areaTeamCode: null },
  },
};

/** Columns every layout must have; numeric ones are checked row by row during the import. */
export const requiredEpdColumns = [
  'YEAR_MONTH',
  'REGIONAL_OFFICE_NAME',
  'REGIONAL_OFFICE_CODE',
  'PCO_NAME',
  'PCO_CODE',
  'PRACTICE_NAME',
  'PRACTICE_CODE',
  'POSTCODE',
  'BNF_CODE',
  'BNF_DESCRIPTION',
  'QUANTITY',
  'ITEMS',
  'TOTAL_QUANTITY',
  'NIC',
  'ACTUAL_COST',
] as const;

export const numericEpdColumns = [
  'QUANTITY',
  'ITEMS',
  'TOTAL_QUANTITY',
  'NIC',
  'ACTUAL_COST',
] as const;

export interface DetectedLayout {
  layout: EpdLayout;
  /** Header names as they appear in the file (trimmed, BOM removed), in file order. */
  columns: string[];
}

export class EpdHeaderError extends Error {
  override name = 'EpdHeaderError';
  readonly column: string | undefined;
  constructor(message: string, column?: string) {
    super(message);
    this.column = column;
  }
}

/**
 * Splits one CSV line into its fields, read as the engine reads them: quotes are honoured (a
 * quoted field may contain a comma, and `""` stands for a quote), spaces around a quoted value are
 * dropped, and nothing else is trimmed. `complete` is false when the line ends inside a quoted
 * field: it is then only the first part of a record that goes on over the next line, or a line
 * read from the middle of such a record.
 */
export function splitCsvFields(line: string): { fields: string[]; complete: boolean } {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  let afterQuotedValue = false;
  for (let index = 0; index < line.length; index += 1) {
    const character = line[index];
    if (quoted) {
      if (character === '"' && line[index + 1] === '"') {
        current += '"';
        index += 1;
      } else if (character === '"') {
        quoted = false;
        afterQuotedValue = true;
      } else current += character;
    } else if (character === ',') {
      fields.push(current);
      current = '';
      afterQuotedValue = false;
    } else if (character === '"') {
      // Spaces before an opening quote are not part of the value.
      if (current.trim() === '') current = '';
      quoted = true;
    } else if (!(afterQuotedValue && character === ' ')) current += character;
  }
  fields.push(current);
  return { fields, complete: !quoted };
}

/**
 * Splits one CSV header line into names, each trimmed. A UTF-8 byte-order mark and a trailing CR
 * are removed.
 */
export function splitCsvHeader(line: string): string[] {
  const text = line.replace(/^\uFEFF/, '').replace(/\r$/, '');
  return splitCsvFields(text).fields.map((name) => name.trim());
}

/**
 * Chooses the layout from the header: SNOMED_CODE means the successor "EPD with SNOMED code",
 * ICB_CODE the ICB-era layout, AREA_TEAM_CODE the older one. Every required column must be there;
 * a missing one is reported with the nearest name found, which catches renamed columns.
 */
export function detectEpdLayout(headerLine: string): DetectedLayout {
  const columns = splitCsvHeader(headerLine);
  const upper = columns.map((name) => name.toUpperCase());
  const duplicates = upper.filter((name, index) => name !== '' && upper.indexOf(name) !== index);
  if (duplicates.length > 0) {
    throw new EpdHeaderError(`the header repeats column(s) ${[...new Set(duplicates)].join(', ')}`);
  }
  const id: EpdLayoutId | undefined = upper.includes('SNOMED_CODE')
    ? 'epd-snomed'
    : upper.includes('ICB_CODE')
      ? 'epd-icb'
      : upper.includes('AREA_TEAM_CODE')
        ? 'epd-area-team'
        : undefined;
  if (!id) {
    if (!upper.includes('BNF_CODE') && !upper.includes('PRACTICE_CODE')) {
      throw new EpdHeaderError(
        'this is not an English Prescribing Dataset file: the first line has no BNF_CODE or PRACTICE_CODE column',
      );
    }
    throw new EpdHeaderError(
      'cannot tell the EPD layout: the header has none of SNOMED_CODE, ICB_CODE or AREA_TEAM_CODE',
      'ICB_CODE',
    );
  }
  const layout = epdLayouts[id];
  const needed = [
    ...requiredEpdColumns,
    ...[
      layout.hierarchyColumns.icbCode,
      layout.hierarchyColumns.icbName,
      layout.hierarchyColumns.areaTeamCode,
    ].filter((name): name is string => name !== null),
  ];
  const missing = needed.filter((name) => !upper.includes(name));
  if (missing.length > 0) {
    const unknown = columns.filter((name) => !knownColumns.has(name.toUpperCase()));
    const hints = missing.map((name) => {
      const guess = nearestName(name, unknown);
      return guess ? `${name} (found "${guess}" instead?)` : name;
    });
    throw new EpdHeaderError(
      `missing column(s) for the ${layout.label} layout: ${hints.join(', ')}`,
      missing[0],
    );
  }
  return { layout, columns };
}

const knownColumns = new Set<string>([
  ...requiredEpdColumns,
  'ICB_NAME',
  'ICB_CODE',
  'AREA_TEAM_NAME',
  'AREA_TEAM_CODE',
  'ADDRESS_1',
  'ADDRESS_2',
  'ADDRESS_3',
  'ADDRESS_4',
  'BNF_CHEMICAL_SUBSTANCE',
  'CHEMICAL_SUBSTANCE_BNF_DESCR',
  'BNF_CHAPTER_PLUS_CODE',
  'SNOMED_CODE',
  'ADQUSAGE',
  'UNIDENTIFIED',
]);

function nearestName(target: string, candidates: string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(target, candidate.toUpperCase());
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  if (!best) return undefined;
  const samePrefix = best.name.toUpperCase().slice(0, 5) === target.slice(0, 5);
  const limit = samePrefix
    ? Math.ceil(target.length / 2)
    : Math.max(3, Math.floor(target.length / 3));
  return best.distance <= limit ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = previous[0]!;
    previous[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = previous[j]!;
      previous[j] = Math.min(
        above + 1,
        previous[j - 1]! + 1,
        diagonal + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      diagonal = above;
    }
  }
  return previous[b.length]!;
}

/**
 * EPD months are written `YYYYMM` by NHSBSA and `YYYY_MM` in some republished extracts; Greenspace
 * stores `YYYY-MM`. Returns undefined for anything else.
 */
export function normaliseEpdMonth(value: string): string | undefined {
  const match = /^(\d{4})[-_]?(\d{2})$/.exec(value.trim());
  if (!match) return undefined;
  const month = Number(match[2]);
  if (month < 1 || month > 12) return undefined;
  return `${match[1]}-${match[2]}`;
}

/**
 * EPD publishes a sub-ICB location (formerly CCG) as a 5-character PCO code such as `03W00`; ODS and
 * the organisations table use the 3-character code `03W`.
 */
export function normaliseSubIcbCode(pcoCode: string): string {
  const code = pcoCode.trim().toUpperCase();
  return /^[0-9A-Z]{3}00$/.test(code) ? code.slice(0, 3) : code;
}
