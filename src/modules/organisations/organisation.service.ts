import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { InputFileError, type InputProblem } from '../../lib/csv.ts';
import type { OrganisationRow, OrganisationType } from '../../db/schema.ts';
import type {
  OrganisationListItem,
  OrganisationRepository,
  PracticeProfileListRow,
  PracticeSummaryRow,
} from './organisation.repository.ts';
import { formatOrganisationName } from './organisation-name.ts';
import {
  buildOrganisationRecords,
  referenceFiles,
  type ReferenceFileKey,
  type ReferenceFileTexts,
} from './reference-data.parser.ts';
import { planOrganisationSync } from './reference-data.sync.ts';

/** The ICB whose practices the Greener General Practice programme covers. */
export const LLR_ICB_CODE = 'QK1';

export const organisationTypeLabels: Record<
  OrganisationType,
  { singular: string; plural: string }
> = {
  region: { singular: 'NHS region', plural: 'NHS regions' },
  icb: { singular: 'Integrated care board', plural: 'Integrated care boards' },
  sub_icb_location: { singular: 'Sub-ICB location', plural: 'Sub-ICB locations' },
  pcn: { singular: 'Primary care network', plural: 'Primary care networks' },
  gp_practice: { singular: 'GP practice', plural: 'GP practices' },
  nhs_trust: { singular: 'NHS trust', plural: 'NHS trusts' },
  local_authority: { singular: 'Local authority', plural: 'Local authorities' },
};

export interface OrganisationSummary {
  code: string;
  type: OrganisationType;
  typeLabel: string;
  name: string;
}

export interface OrganisationDetails extends OrganisationSummary {
  publishedName: string;
  onsCode: string | null;
  addressLines: string[];
  postcode: string | null;
  telephone: string | null;
  openedOn: string | null;
  sourceDataset: string;
}

export interface PracticeDetails {
  registeredPatients: number | null;
  registeredPatientsOn: string | null;
  imd2019Score: number | null;
  imd2019Decile: number | null;
  imd2019Quintile: number | null;
  approxLatitude: number | null;
  approxLongitude: number | null;
  locationBasis: string | null;
  pcn: OrganisationSummary | null;
  subIcb: OrganisationSummary | null;
}

/** A practice with everything programme dashboards group and map it by. */
export interface PracticeProfileEntry {
  code: string;
  name: string;
  postcode: string | null;
  subIcbCode: string | null;
  subIcbName: string | null;
  pcnCode: string | null;
  pcnName: string | null;
  registeredPatients: number | null;
  imd2019Score: number | null;
  imd2019Decile: number | null;
  /** National quintile among GP practices, 1 = most deprived. */
  imd2019Quintile: number | null;
  approxLatitude: number | null;
  approxLongitude: number | null;
}

export interface PracticeListEntry {
  code: string;
  name: string;
  postcode: string | null;
  registeredPatients: number | null;
  imd2019Score: number | null;
  imd2019Quintile: number | null;
}

export interface OrganisationPage {
  organisation: OrganisationDetails;
  /** Root first; for a practice the chain is region, ICB, sub-ICB location, then its PCN. */
  ancestors: OrganisationSummary[];
  practice: PracticeDetails | null;
  childGroups: { type: OrganisationType; label: string; members: OrganisationSummary[] }[];
  practices: PracticeListEntry[];
  practicesTotalPatients: number;
}

export interface DirectoryQuery {
  text?: string;
  type?: OrganisationType;
  icb?: string;
  subIcb?: string;
  page: number;
  pageSize: number;
}

export interface DirectoryResult {
  items: (OrganisationSummary & {
    parentName: string | null;
    postcode: string | null;
    registeredPatients: number | null;
  })[];
  total: number;
  page: number;
  pageCount: number;
}

export interface ReferenceLoadSummary {
  organisations: { inserted: number; updated: number; retired: number; unchanged: number };
  practiceProfiles: { written: number; unchanged: number };
  datasets: { key: string; rows: number; changed: boolean }[];
}

const datasetMetadataSchema = z.record(
  z.string(),
  z.object({
    title: z.string().min(1),
    publisher: z.string().min(1),
    licence: z.string().min(1),
    dataDate: z.string().min(1),
  }),
);

export interface OrganisationServiceOptions {
  now?: () => Date;
}

export function createOrganisationService(
  repository: OrganisationRepository,
  options: OrganisationServiceOptions = {},
) {
  const now = options.now ?? (() => new Date());

  function summarise(
    row: Pick<OrganisationRow, 'code' | 'org_type' | 'name'>,
  ): OrganisationSummary {
    return {
      code: row.code,
      type: row.org_type,
      typeLabel: organisationTypeLabels[row.org_type].singular,
      name: formatOrganisationName(row.name),
    };
  }

  function toPracticeEntry(row: PracticeSummaryRow): PracticeListEntry {
    return {
      code: row.code,
      name: formatOrganisationName(row.name),
      postcode: row.postcode,
      registeredPatients: row.registered_patients,
      imd2019Score: row.imd2019_score,
      imd2019Quintile: row.imd2019_quintile,
    };
  }

  return {
    /**
     * Loads the organisation reference files in one transaction: all of them validate, or nothing
     * changes. Rows that match what is stored are not touched, so a second run writes nothing.
     */
    async loadReferenceData(referenceDataDir: string): Promise<ReferenceLoadSummary> {
      const { texts, hashes, metadata } = await readReferenceFiles(referenceDataDir);
      const records = buildOrganisationRecords(texts);
      const loadedAt = now().toISOString();
      const managedDatasets = new Set<string>(Object.values(referenceFiles));

      return repository.transaction(async (trx) => {
        const stored = await repository.findAllOrganisations(trx);
        const storedProfiles = await repository.findAllPracticeProfiles(trx);
        const plan = planOrganisationSync(stored, storedProfiles, records, managedDatasets);

        for (const organisation of plan.inserts) {
          await repository.insertOrganisation(trx, {
            ...organisation,
            retired_at: null,
            created_at: loadedAt,
            updated_at: loadedAt,
          });
        }
        for (const { code, changes } of plan.updates) {
          await repository.updateOrganisation(trx, code, { ...changes, updated_at: loadedAt });
        }
        for (const code of plan.retirements) {
          await repository.updateOrganisation(trx, code, {
            retired_at: loadedAt,
            updated_at: loadedAt,
          });
        }
        for (const profile of plan.profileWrites) {
          await repository.upsertPracticeProfile(trx, { ...profile, updated_at: loadedAt });
        }

        const storedDatasets = new Map(
          (await repository.findReferenceDatasets(trx)).map((row) => [row.dataset_key, row]),
        );
        const datasets: ReferenceLoadSummary['datasets'] = [];
        for (const key of Object.keys(referenceFiles) as ReferenceFileKey[]) {
          const datasetKey = referenceFiles[key];
          const meta = metadata[datasetKey]!;
          const existing = storedDatasets.get(datasetKey);
          const changed = existing?.sha256 !== hashes[key];
          if (changed) {
            await repository.upsertReferenceDataset(trx, {
              dataset_key: datasetKey,
              title: meta.title,
              publisher: meta.publisher,
              licence: meta.licence,
              data_date: meta.dataDate,
              sha256: hashes[key],
              row_count: records.rowCounts[key],
              loaded_at: loadedAt,
            });
          }
          datasets.push({ key: datasetKey, rows: records.rowCounts[key], changed });
        }
        return {
          organisations: {
            inserted: plan.inserts.length,
            updated: plan.updates.length,
            retired: plan.retirements.length,
            unchanged: plan.unchanged,
          },
          practiceProfiles: {
            written: plan.profileWrites.length,
            unchanged: plan.profilesUnchanged,
          },
          datasets,
        };
      });
    },

    /** Name, type and place in the hierarchy of a current organisation, for other modules' checks. */
    async findOrganisationSummary(
      code: string,
    ): Promise<(OrganisationSummary & { ancestorPath: string }) | undefined> {
      const row = await repository.findOrganisation(code);
      return row ? { ...summarise(row), ancestorPath: row.ancestor_path } : undefined;
    },

    /** True when no organisation has been loaded yet (a brand new database). */
    async isEmpty(): Promise<boolean> {
      return (await repository.countOrganisations()) === 0;
    },

    /** Everything the organisation page shows, or undefined for an unknown or retired code. */
    async getOrganisationPage(code: string): Promise<OrganisationPage | undefined> {
      const row = await repository.findOrganisation(code);
      if (!row) return undefined;
      const ancestorCodes = row.ancestor_path.split('/').filter(Boolean);
      const ancestorRows = await repository.findOrganisationsByCodes(ancestorCodes);
      const ancestors = ancestorCodes
        .map((ancestorCode) => ancestorRows.find((ancestor) => ancestor.code === ancestorCode))
        .filter((ancestor): ancestor is OrganisationRow => ancestor !== undefined)
        .map(summarise);

      let practice: PracticeDetails | null = null;
      if (row.org_type === 'gp_practice') {
        const profile = await repository.findPracticeProfile(code);
        const pcnRow = profile?.pcn_code
          ? await repository.findOrganisation(profile.pcn_code)
          : undefined;
        const subIcb = ancestors.find((ancestor) => ancestor.type === 'sub_icb_location') ?? null;
        const pcn = pcnRow ? summarise(pcnRow) : null;
        if (pcn) ancestors.push(pcn);
        practice = {
          registeredPatients: profile?.registered_patients ?? null,
          registeredPatientsOn: profile?.registered_patients_on ?? null,
          imd2019Score: profile?.imd2019_score ?? null,
          imd2019Decile: profile?.imd2019_decile ?? null,
          imd2019Quintile: profile?.imd2019_quintile ?? null,
          approxLatitude: profile?.approx_latitude ?? null,
          approxLongitude: profile?.approx_longitude ?? null,
          locationBasis: profile?.location_basis ?? null,
          pcn,
          subIcb,
        };
      }

      const children = await repository.findChildren(code);
      const childGroups: OrganisationPage['childGroups'] = [];
      for (const child of children) {
        if (child.org_type === 'gp_practice') continue;
        let group = childGroups.find((candidate) => candidate.type === child.org_type);
        if (!group) {
          group = {
            type: child.org_type,
            label: organisationTypeLabels[child.org_type].plural,
            members: [],
          };
          childGroups.push(group);
        }
        group.members.push(summarise(child));
      }

      let practiceRows: PracticeSummaryRow[] = [];
      if (row.org_type === 'pcn') practiceRows = await repository.findPracticesOfPcn(code);
      if (row.org_type === 'sub_icb_location')
        practiceRows = await repository.findPracticesOfSubIcb(code);
      const practices = practiceRows.map(toPracticeEntry);

      return {
        organisation: {
          ...summarise(row),
          publishedName: row.name,
          onsCode: row.ons_code,
          addressLines: row.address ? row.address.split('\n') : [],
          postcode: row.postcode,
          telephone: row.telephone,
          openedOn: row.opened_on,
          sourceDataset: row.source_dataset,
        },
        ancestors,
        practice,
        childGroups,
        practices,
        practicesTotalPatients: practices.reduce(
          (sum, entry) => sum + (entry.registeredPatients ?? 0),
          0,
        ),
      };
    },

    /** The organisation directory: text search and filters, a page at a time. */
    async searchDirectory(query: DirectoryQuery): Promise<DirectoryResult> {
      let underAncestorPath: string | undefined;
      if (query.icb) {
        const icb = await repository.findOrganisation(query.icb);
        // An ICB code that is well formed but unknown matches nothing rather than everything.
        underAncestorPath =
          icb && icb.org_type === 'icb' ? `${icb.ancestor_path}${icb.code}/` : '/no-such-icb/';
      }
      const { items, total } = await repository.searchOrganisations({
        text: query.text,
        type: query.type,
        underAncestorPath,
        subIcbCode: query.subIcb,
        limit: query.pageSize,
        offset: (query.page - 1) * query.pageSize,
      });
      return {
        items: items.map((item: OrganisationListItem) => ({
          ...summarise(item),
          parentName: item.parent_name ? formatOrganisationName(item.parent_name) : null,
          postcode: item.postcode,
          registeredPatients: item.registered_patients,
        })),
        total,
        page: query.page,
        pageCount: Math.max(1, Math.ceil(total / query.pageSize)),
      };
    },

    /**
     * Every current GP practice under an organisation (an ICB, a sub-ICB location) with its PCN,
     * list size, deprivation and approximate location; empty for an unknown code.
     */
    async listPracticeProfilesUnder(code: string): Promise<PracticeProfileEntry[]> {
      const row = await repository.findOrganisation(code);
      if (!row) return [];
      const rows = await repository.findPracticesUnder(`${row.ancestor_path}${row.code}/`);
      return rows.map((practice: PracticeProfileListRow) => ({
        code: practice.code,
        name: formatOrganisationName(practice.name),
        postcode: practice.postcode,
        subIcbCode: practice.sub_icb_code,
        subIcbName: practice.sub_icb_name ? formatOrganisationName(practice.sub_icb_name) : null,
        pcnCode: practice.pcn_code,
        pcnName: practice.pcn_name ? formatOrganisationName(practice.pcn_name) : null,
        registeredPatients: practice.registered_patients,
        imd2019Score: practice.imd2019_score,
        imd2019Decile: practice.imd2019_decile,
        imd2019Quintile: practice.imd2019_quintile,
        approxLatitude: practice.approx_latitude,
        approxLongitude: practice.approx_longitude,
      }));
    },

    /** ICBs and sub-ICB locations for the directory's filter menus. */
    async getDirectoryFilterOptions(): Promise<{
      icbs: OrganisationSummary[];
      subIcbs: OrganisationSummary[];
    }> {
      const [icbs, subIcbs] = await Promise.all([
        repository.findOrganisationsOfType('icb'),
        repository.findOrganisationsOfType('sub_icb_location'),
      ]);
      return { icbs: icbs.map(summarise), subIcbs: subIcbs.map(summarise) };
    },

    /** Practice count and registered patients under an ICB, computed from the reference data. */
    async getPracticeTotals(icbCode: string = LLR_ICB_CODE) {
      const icb = await repository.findOrganisation(icbCode);
      if (!icb)
        return {
          practices: 0,
          practicesWithListSize: 0,
          registeredPatients: 0,
          listSizeDate: null,
        };
      return repository.summariseRegisteredPatients(`${icb.ancestor_path}${icb.code}/`);
    },

    /** Where the reference data came from, for the data sources page and diagnostics. */
    async listReferenceDatasets() {
      return repository.findReferenceDatasets();
    },
  };
}

export type OrganisationService = ReturnType<typeof createOrganisationService>;

async function readReferenceFiles(referenceDataDir: string): Promise<{
  texts: ReferenceFileTexts;
  hashes: Record<ReferenceFileKey, string>;
  metadata: z.infer<typeof datasetMetadataSchema>;
}> {
  const problems: InputProblem[] = [];
  const metadataFile = 'datasets.json';
  let metadata: z.infer<typeof datasetMetadataSchema> = {};
  try {
    const parsed = datasetMetadataSchema.safeParse(
      JSON.parse(await fs.readFile(path.join(referenceDataDir, metadataFile), 'utf8')),
    );
    if (parsed.success) metadata = parsed.data;
    else {
      for (const issue of parsed.error.issues) {
        problems.push({ file: metadataFile, field: issue.path.join('.'), message: issue.message });
      }
    }
  } catch (error) {
    problems.push({ file: metadataFile, message: describeReadError(error) });
  }

  const texts = {} as ReferenceFileTexts;
  const hashes = {} as Record<ReferenceFileKey, string>;
  for (const key of Object.keys(referenceFiles) as ReferenceFileKey[]) {
    const file = referenceFiles[key];
    try {
      const buffer = await fs.readFile(path.join(referenceDataDir, file));
      texts[key] = buffer.toString('utf8');
      hashes[key] = createHash('sha256').update(buffer).digest('hex');
    } catch (error) {
      problems.push({ file, message: describeReadError(error) });
    }
    if (problems.length === 0 && !metadata[file]) {
      problems.push({ file: metadataFile, message: `no entry describes ${file}` });
    }
  }
  if (problems.length > 0) throw new InputFileError(problems);
  return { texts, hashes, metadata };
}

function describeReadError(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'ENOENT') return 'file not found';
  if (error instanceof SyntaxError) return `not valid JSON (${error.message})`;
  return error instanceof Error ? error.message : String(error);
}
