import type { OrganisationRow, PracticeProfileRow } from '../../db/schema.ts';
import type { OrganisationRecords, ReferenceOrganisation } from './reference-data.parser.ts';

/**
 * Works out the smallest set of writes that brings stored organisations in line with the reference
 * files. Pure, so that "re-running seed changes nothing" is a property of this function that tests
 * can check directly.
 */
export interface OrganisationSyncPlan {
  inserts: ReferenceOrganisation[];
  updates: { code: string; changes: Partial<ReferenceOrganisation> & { retired_at?: null } }[];
  /** Stored organisations that came from reference data but are no longer listed. */
  retirements: string[];
  unchanged: number;
  profileWrites: OrganisationRecords['practiceProfiles'];
  profilesUnchanged: number;
}

const comparedColumns = [
  'org_type',
  'name',
  'ons_code',
  'parent_code',
  'ancestor_path',
  'address',
  'postcode',
  'telephone',
  'opened_on',
  'source_dataset',
] as const satisfies readonly (keyof ReferenceOrganisation & keyof OrganisationRow)[];

const comparedProfileColumns = [
  'pcn_code',
  'registered_patients',
  'registered_patients_on',
  'imd2019_score',
  'imd2019_decile',
  'imd2019_quintile',
  'approx_latitude',
  'approx_longitude',
  'location_basis',
] as const satisfies readonly (keyof PracticeProfileRow)[];

export function planOrganisationSync(
  stored: readonly OrganisationRow[],
  storedProfiles: readonly PracticeProfileRow[],
  incoming: OrganisationRecords,
  managedDatasets: ReadonlySet<string>,
): OrganisationSyncPlan {
  const storedByCode = new Map(stored.map((row) => [row.code, row]));
  const plan: OrganisationSyncPlan = {
    inserts: [],
    updates: [],
    retirements: [],
    unchanged: 0,
    profileWrites: [],
    profilesUnchanged: 0,
  };
  const incomingCodes = new Set<string>();
  for (const organisation of incoming.organisations) {
    incomingCodes.add(organisation.code);
    const existing = storedByCode.get(organisation.code);
    if (!existing) {
      plan.inserts.push(organisation);
      continue;
    }
    const changes: Partial<ReferenceOrganisation> & { retired_at?: null } = {};
    for (const column of comparedColumns) {
      if ((existing[column] ?? null) !== (organisation[column] ?? null)) {
        Object.assign(changes, { [column]: organisation[column] ?? null });
      }
    }
    if (existing.retired_at !== null) changes.retired_at = null;
    if (Object.keys(changes).length > 0) plan.updates.push({ code: organisation.code, changes });
    else plan.unchanged++;
  }
  for (const row of stored) {
    if (
      !incomingCodes.has(row.code) &&
      row.retired_at === null &&
      managedDatasets.has(row.source_dataset)
    ) {
      plan.retirements.push(row.code);
    }
  }

  const storedProfileByCode = new Map(storedProfiles.map((row) => [row.practice_code, row]));
  for (const profile of incoming.practiceProfiles) {
    const existing = storedProfileByCode.get(profile.practice_code);
    const same =
      existing !== undefined &&
      comparedProfileColumns.every(
        (column) => (existing[column] ?? null) === (profile[column] ?? null),
      );
    if (same) plan.profilesUnchanged++;
    else plan.profileWrites.push(profile);
  }
  return plan;
}
