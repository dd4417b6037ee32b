import { z } from 'zod';
import { InputFileError, parseCsvWithHeader, type InputProblem } from '../../lib/csv.ts';
import type { NewOrganisation, NewPracticeProfile, OrganisationType } from '../../db/schema.ts';
import { bandByNationalRank } from './deprivation.calculations.ts';

/**
 * Turns the organisation reference files shipped in data/reference/organisations into validated
 * rows for the organisations and practice_profiles tables. Everything here is pure: the caller
 * reads the files and writes the result, so a problem anywhere is found before anything is stored.
 */

export const referenceFiles = {
  regions: 'organisations/nhs_regions.csv',
  icbs: 'organisations/midlands_icbs.csv',
  llrOrganisations: 'organisations/llr_organisations.csv',
  practices: 'organisations/llr_gp_practices_active.csv',
  listSizes: 'organisations/llr_gp_list_sizes_2026-04.csv',
  pcnMap: 'organisations/llr_practice_pcn_map_2022-01.csv',
  deprivation: 'organisations/gp_practice_imd2019_england.csv',
  locations: 'organisations/llr_practice_locations_approx.csv',
} as const;

export type ReferenceOrganisation = Omit<
  NewOrganisation,
  'created_at' | 'updated_at' | 'retired_at' | 'ancestor_path'
> & { ancestor_path: string };

export type ReferenceFileKey = keyof typeof referenceFiles;
export type ReferenceFileTexts = Record<ReferenceFileKey, string>;

export interface OrganisationRecords {
  /** Parents always come before their children, so rows can be inserted in order. */
  organisations: ReferenceOrganisation[];
  practiceProfiles: Omit<NewPracticeProfile, 'updated_at'>[];
  rowCounts: Record<ReferenceFileKey, number>;
}

const odsPracticeCode = z
  .string()
  .regex(/^[A-Z]\d{5}$/, 'must be a GP practice ODS code like C82001');
const icbCode = z.string().regex(/^Q[A-Z0-9]{2}$/, 'must be an ICB ODS code like QK1');
const regionCode = z.string().regex(/^Y\d{2}$/, 'must be an NHS region ODS code like Y60');
const subIcbCode = z.string().regex(/^[0-9A-Z]{3,5}$/, 'must be a sub-ICB location code like 04C');
const onsCode = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}\\d{6}$`), `must be an ONS code starting ${prefix}`);
const nonEmpty = z.string().min(1, 'must not be empty');
const optionalText = z.string().transform((value) => (value === '' ? null : value));
const postcode = z
  .string()
  .regex(/^([A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})?$/, 'must be a UK postcode')
  .transform((value) => (value === '' ? null : value));

const regionRow = z.object({ code: regionCode, ons_code: onsCode('E40'), name: nonEmpty });

const icbRow = z.object({
  icb_ods_code: icbCode,
  icb_ons_code: onsCode('E54'),
  icb_name: nonEmpty,
  nhs_region_ods: regionCode,
});

const llrOrganisationRow = z.object({
  org_type: z.enum(['icb', 'sub_icb_location', 'nhs_trust', 'local_authority']),
  ods_code: z.string().regex(/^[A-Z0-9]{3,9}$/, 'must be an ODS or ONS code'),
  ons_code: z
    .string()
    .regex(/^(E\d{8})?$/, 'must be an ONS code like E38000097')
    .transform((value) => (value === '' ? null : value)),
  name: nonEmpty,
  parent_ods_code: z.string().regex(/^[A-Z0-9]{2,9}$/, 'must name the parent organisation'),
  postcode,
});

const compactDate = z
  .string()
  .regex(/^(\d{8})?$/, 'must be a date written YYYYMMDD')
  .transform((value) =>
    value === '' ? null : `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}`,
  )
  .refine((value) => value === null || isRealDate(value), 'is not a real calendar date');

const practiceRow = z.object({
  practice_code: odsPracticeCode,
  practice_name: nonEmpty,
  postcode,
  sub_icb_code: subIcbCode,
  icb_code: icbCode,
  nhs_region_code: regionCode,
  open_date: compactDate,
  address_line_1: optionalText,
  address_line_2: optionalText,
  address_line_3: optionalText,
  address_line_4: optionalText,
  address_line_5: optionalText,
  telephone: optionalText,
});

// The list is stored as the practice's whole registered population, so only the totals row will do:
// NHS England also publishes the same columns broken down by sex and age, and one band of those
// would otherwise be stored as the practice's list size without complaint.
const wholeList = (breakdown: string) =>
  z
    .string()
    .refine(
      (value) => value === 'ALL',
      `must be ALL: one row per practice for its whole list, not a breakdown by ${breakdown}`,
    );

const listSizeRow = z.object({
  CODE: odsPracticeCode,
  SEX: wholeList('sex'),
  AGE: wholeList('age'),
  EXTRACT_DATE: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date written YYYY-MM-DD')
    .refine(isRealDate, 'is not a real calendar date'),
  NUMBER_OF_PATIENTS: z
    .string()
    .regex(/^\d+$/, 'must be a whole number of patients')
    .transform(Number),
});

const pcnMapRow = z.object({
  PRACTICE_CODE: odsPracticeCode,
  PCN_CODE: z.string().regex(/^U(\d{5})?$/, 'must be a PCN code like U30213, or U for unallocated'),
  PCN_NAME: nonEmpty,
});

const deprivationRow = z.object({
  practice_code: z.string().regex(/^[A-Z0-9]{5,6}$/, 'must be a GP practice code'),
  imd2019_score: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'must be a number')
    .transform(Number)
    .refine((value) => value >= 0 && value <= 100, 'must be between 0 and 100'),
});

const coordinate = (min: number, max: number, label: string) =>
  z
    .string()
    .regex(/^(-?\d+(\.\d+)?)?$/, `must be a ${label} in decimal degrees`)
    .transform((value) => (value === '' ? null : Number(value)))
    .refine(
      (value) => value === null || (value >= min && value <= max),
      `must be a ${label} in England`,
    );

const locationRow = z.object({
  practice_code: odsPracticeCode,
  approx_latitude: coordinate(49, 56, 'latitude'),
  approx_longitude: coordinate(-7, 2, 'longitude'),
});

const requiredColumns: Record<ReferenceFileKey, readonly string[]> = {
  regions: Object.keys(regionRow.shape),
  icbs: Object.keys(icbRow.shape),
  llrOrganisations: Object.keys(llrOrganisationRow.shape),
  practices: Object.keys(practiceRow.shape),
  listSizes: Object.keys(listSizeRow.shape),
  pcnMap: Object.keys(pcnMapRow.shape),
  deprivation: Object.keys(deprivationRow.shape),
  locations: Object.keys(locationRow.shape),
};

interface Located<T> {
  line: number;
  row: T;
}

/**
 * Validates every file and builds the rows to store. Throws an InputFileError listing every
 * problem, each with its file, line and field, when anything is wrong.
 */
export function buildOrganisationRecords(texts: ReferenceFileTexts): OrganisationRecords {
  const problems: InputProblem[] = [];
  /**
   * Reads one file's rows. `uniqueField` names the column that must not repeat: each file lists a
   * practice once, and a second row would otherwise silently replace the first (or, in the national
   * deprivation file, also shift every other practice's rank).
   */
  const read = <T extends z.ZodType>(
    key: ReferenceFileKey,
    schema: T,
    uniqueField?: keyof z.input<T> & string,
  ): Located<z.output<T>>[] => {
    const file = referenceFiles[key];
    let records;
    try {
      records = parseCsvWithHeader(texts[key], file, requiredColumns[key]);
    } catch (error) {
      if (error instanceof InputFileError) {
        problems.push(...error.problems);
        return [];
      }
      throw error;
    }
    const rows: Located<z.output<T>>[] = [];
    const firstLineOf = new Map<string, number>();
    for (const record of records) {
      // Checked on the value as written, so that a repeat is found even when either row also has
      // another problem.
      const code = uniqueField === undefined ? '' : (record.values[uniqueField] ?? '');
      if (code !== '') {
        const firstLine = firstLineOf.get(code);
        if (firstLine === undefined) {
          firstLineOf.set(code, record.line);
        } else {
          problems.push({
            file,
            line: record.line,
            field: uniqueField,
            message: `practice ${code} is listed more than once: first on line ${firstLine}`,
          });
        }
      }
      const result = schema.safeParse(record.values);
      if (result.success) {
        rows.push({ line: record.line, row: result.data });
      } else {
        for (const issue of result.error.issues) {
          const field = String(issue.path[0] ?? '');
          const value = record.values[field];
          problems.push({
            file,
            line: record.line,
            field,
            message: `${issue.message}${value === undefined ? '' : ` (found "${value}")`}`,
          });
        }
      }
    }
    return rows;
  };

  const regions = read('regions', regionRow);
  const icbs = read('icbs', icbRow);
  const llrOrganisations = read('llrOrganisations', llrOrganisationRow);
  const practices = read('practices', practiceRow);
  const listSizes = read('listSizes', listSizeRow, 'CODE');
  const pcnMap = read('pcnMap', pcnMapRow, 'PRACTICE_CODE');
  const deprivation = read('deprivation', deprivationRow, 'practice_code');
  const locations = read('locations', locationRow, 'practice_code');
  if (problems.length > 0) throw new InputFileError(problems);

  const organisations: OrganisationRecords['organisations'] = [];
  const typeOf = new Map<string, OrganisationType>();
  const pathOf = new Map<string, string>();
  const add = (
    key: ReferenceFileKey,
    line: number,
    organisation: Omit<ReferenceOrganisation, 'ancestor_path'>,
    expectedParentTypes: readonly OrganisationType[],
  ) => {
    const file = referenceFiles[key];
    if (typeOf.has(organisation.code)) {
      problems.push({ file, line, message: `organisation ${organisation.code} is listed twice` });
      return;
    }
    const parentType = organisation.parent_code ? typeOf.get(organisation.parent_code) : undefined;
    if (organisation.parent_code && !parentType) {
      problems.push({
        file,
        line,
        message: `parent organisation ${organisation.parent_code} of ${organisation.code} is not in the reference data`,
      });
      return;
    }
    if (parentType && !expectedParentTypes.includes(parentType)) {
      problems.push({
        file,
        line,
        message: `${organisation.code} cannot sit under ${organisation.parent_code}, which is a ${parentType}`,
      });
      return;
    }
    const ancestorPath = organisation.parent_code
      ? `${pathOf.get(organisation.parent_code)}${organisation.parent_code}/`
      : '/';
    typeOf.set(organisation.code, organisation.org_type);
    pathOf.set(organisation.code, ancestorPath);
    organisations.push({ ...organisation, ancestor_path: ancestorPath });
  };

  for (const { line, row } of regions) {
    add(
      'regions',
      line,
      {
        code: row.code,
        org_type: 'region',
        name: row.name,
        ons_code: row.ons_code,
        parent_code: null,
        address: null,
        postcode: null,
        telephone: null,
        opened_on: null,
        source_dataset: referenceFiles.regions,
      },
      [],
    );
  }
  for (const { line, row } of icbs) {
    add(
      'icbs',
      line,
      {
        code: row.icb_ods_code,
        org_type: 'icb',
        name: row.icb_name,
        ons_code: row.icb_ons_code,
        parent_code: row.nhs_region_ods,
        address: null,
        postcode: null,
        telephone: null,
        opened_on: null,
        source_dataset: referenceFiles.icbs,
      },
      ['region'],
    );
  }

  // The LLR file repeats the ICB row; it must agree with the Midlands list, which owns it. Rows are
  // taken parents first (a district names its county, listed in the same file), keeping file order
  // otherwise; a row whose parent never appears is reported by `add`.
  const llrSorted = parentsFirst(llrOrganisations);
  for (const { line, row } of llrSorted) {
    if (row.org_type === 'icb') {
      const known = organisations.find((organisation) => organisation.code === row.ods_code);
      if (!known) {
        problems.push({
          file: referenceFiles.llrOrganisations,
          line,
          message: `ICB ${row.ods_code} is not in ${referenceFiles.icbs}`,
        });
      } else if (known.ons_code !== row.ons_code) {
        problems.push({
          file: referenceFiles.llrOrganisations,
          line,
          field: 'ons_code',
          message: `ICB ${row.ods_code} has ONS code ${known.ons_code} in ${referenceFiles.icbs}, not ${row.ons_code}`,
        });
      }
      continue;
    }
    const parentTypes: Record<typeof row.org_type, readonly OrganisationType[]> = {
      sub_icb_location: ['icb'],
      nhs_trust: ['icb'],
      local_authority: ['icb', 'local_authority'],
    };
    add(
      'llrOrganisations',
      line,
      {
        code: row.ods_code,
        org_type: row.org_type,
        name: row.name,
        ons_code: row.ons_code,
        parent_code: row.parent_ods_code,
        address: null,
        postcode: row.postcode,
        telephone: null,
        opened_on: null,
        source_dataset: referenceFiles.llrOrganisations,
      },
      parentTypes[row.org_type],
    );
  }

  // PCNs: only those with at least one active practice. A PCN may span sub-ICB locations
  // (North Blaby PCN does), so it sits under the ICB of its practices.
  const activePractice = new Map(
    practices.map((practice) => [practice.row.practice_code, practice]),
  );
  const pcnOfPractice = new Map<string, string>();
  for (const { line, row } of pcnMap) {
    const practice = activePractice.get(row.PRACTICE_CODE);
    if (!practice || row.PCN_CODE === 'U') continue;
    pcnOfPractice.set(row.PRACTICE_CODE, row.PCN_CODE);
    if (typeOf.has(row.PCN_CODE)) continue;
    add(
      'pcnMap',
      line,
      {
        code: row.PCN_CODE,
        org_type: 'pcn',
        name: row.PCN_NAME,
        ons_code: null,
        parent_code: practice.row.icb_code,
        address: null,
        postcode: null,
        telephone: null,
        opened_on: null,
        source_dataset: referenceFiles.pcnMap,
      },
      ['icb'],
    );
  }

  for (const { line, row } of practices) {
    const icbOfSubIcb = organisations.find(
      (organisation) => organisation.code === row.sub_icb_code,
    )?.parent_code;
    if (icbOfSubIcb !== undefined && icbOfSubIcb !== row.icb_code) {
      problems.push({
        file: referenceFiles.practices,
        line,
        field: 'icb_code',
        message: `sub-ICB location ${row.sub_icb_code} belongs to ${icbOfSubIcb}, not ${row.icb_code}`,
      });
      continue;
    }
    const address = [
      row.address_line_1,
      row.address_line_2,
      row.address_line_3,
      row.address_line_4,
      row.address_line_5,
    ]
      .filter((part): part is string => part !== null)
      .join('\n');
    add(
      'practices',
      line,
      {
        code: row.practice_code,
        org_type: 'gp_practice',
        name: row.practice_name,
        ons_code: null,
        parent_code: row.sub_icb_code,
        address: address === '' ? null : address,
        postcode: row.postcode,
        telephone: row.telephone,
        opened_on: row.open_date,
        source_dataset: referenceFiles.practices,
      },
      ['sub_icb_location'],
    );
  }

  const nationalScores = deprivation.map(({ row }) => row.imd2019_score);
  const bands = bandByNationalRank(nationalScores);
  const bandOfPractice = new Map(
    deprivation.map(({ row }, index) => [
      row.practice_code,
      { score: row.imd2019_score, band: bands[index]! },
    ]),
  );
  const listSizeOfPractice = new Map(listSizes.map(({ row }) => [row.CODE, row]));
  const locationOfPractice = new Map(locations.map(({ row }) => [row.practice_code, row]));

  const practiceProfiles: OrganisationRecords['practiceProfiles'] = practices
    .filter(({ row }) => typeOf.get(row.practice_code) === 'gp_practice')
    .map(({ row }) => {
      const listSize = listSizeOfPractice.get(row.practice_code);
      const deprivationOfPractice = bandOfPractice.get(row.practice_code);
      const location = locationOfPractice.get(row.practice_code);
      const hasLocation = location?.approx_latitude != null && location.approx_longitude != null;
      return {
        practice_code: row.practice_code,
        pcn_code: pcnOfPractice.get(row.practice_code) ?? null,
        registered_patients: listSize?.NUMBER_OF_PATIENTS ?? null,
        registered_patients_on: listSize?.EXTRACT_DATE ?? null,
        imd2019_score: deprivationOfPractice?.score ?? null,
        imd2019_decile: deprivationOfPractice?.band.decile ?? null,
        imd2019_quintile: deprivationOfPractice?.band.quintile ?? null,
        approx_latitude: hasLocation ? location!.approx_latitude : null,
        approx_longitude: hasLocation ? location!.approx_longitude : null,
        location_basis: hasLocation ? 'postcode outcode centroid' : null,
      };
    });

  if (problems.length > 0) throw new InputFileError(problems);

  return {
    organisations,
    practiceProfiles,
    rowCounts: {
      regions: regions.length,
      icbs: icbs.length,
      llrOrganisations: llrOrganisations.length,
      practices: practices.length,
      listSizes: listSizes.length,
      pcnMap: pcnMap.length,
      deprivation: deprivation.length,
      locations: locations.length,
    },
  };
}

function parentsFirst<T extends { row: { ods_code: string; parent_ods_code: string } }>(
  rows: readonly T[],
): T[] {
  const codesInFile = new Set(rows.map(({ row }) => row.ods_code));
  const placed = new Set<string>();
  const ordered: T[] = [];
  let pending = [...rows];
  let progress = true;
  while (pending.length > 0 && progress) {
    progress = false;
    const stillPending: T[] = [];
    for (const entry of pending) {
      const parent = entry.row.parent_ods_code;
      if (!codesInFile.has(parent) || parent === entry.row.ods_code || placed.has(parent)) {
        ordered.push(entry);
        placed.add(entry.row.ods_code);
        progress = true;
      } else {
        stillPending.push(entry);
      }
    }
    pending = stillPending;
  }
  // Rows in a cycle of parents: left in file order, so that `add` reports the missing parent.
  return [...ordered, ...pending];
}

function isRealDate(value: string): boolean {
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}
