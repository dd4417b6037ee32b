import type { Insertable, Selectable, Updateable } from 'kysely';

/**
 * Column types are chosen to behave the same on SQLite and PostgreSQL (see
 * docs/decisions/0002-portable-column-types.md): timestamps are ISO 8601 UTC text, calendar dates
 * are `YYYY-MM-DD` text, and flags are integers 0/1.
 */
export interface Database {
  organisations: OrganisationsTable;
  practice_profiles: PracticeProfilesTable;
  reference_datasets: ReferenceDatasetsTable;
}

export const organisationTypes = [
  'region',
  'icb',
  'sub_icb_location',
  'pcn',
  'gp_practice',
  'nhs_trust',
  'local_authority',
] as const;
export type OrganisationType = (typeof organisationTypes)[number];

export interface OrganisationsTable {
  /** ODS code for NHS bodies; ONS code for local authorities, which have no ODS code. */
  code: string;
  org_type: OrganisationType;
  name: string;
  ons_code: string | null;
  parent_code: string | null;
  /**
   * Codes of every ancestor, root first, as `/Y60/QK1/03W/`; `/` for a root. Lets a query find
   * everything under an organisation with one LIKE on either database.
   */
  ancestor_path: string;
  /** Postal address lines joined by newlines, as published. */
  address: string | null;
  postcode: string | null;
  telephone: string | null;
  opened_on: string | null;
  /** The reference dataset the row was last loaded from. */
  source_dataset: string;
  /** Set when a later reference data load no longer lists the organisation. */
  retired_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface PracticeProfilesTable {
  practice_code: string;
  pcn_code: string | null;
  registered_patients: number | null;
  registered_patients_on: string | null;
  imd2019_score: number | null;
  /** National decile among GP practices, 1 = most deprived. */
  imd2019_decile: number | null;
  /** National quintile among GP practices, 1 = most deprived. */
  imd2019_quintile: number | null;
  approx_latitude: number | null;
  approx_longitude: number | null;
  location_basis: string | null;
  updated_at: string;
}

export interface ReferenceDatasetsTable {
  /** File path relative to the reference data folder. */
  dataset_key: string;
  title: string;
  publisher: string;
  licence: string;
  data_date: string;
  sha256: string;
  row_count: number;
  loaded_at: string;
}

export type OrganisationRow = Selectable<OrganisationsTable>;
export type NewOrganisation = Insertable<OrganisationsTable>;
export type OrganisationUpdate = Updateable<OrganisationsTable>;
export type PracticeProfileRow = Selectable<PracticeProfilesTable>;
export type NewPracticeProfile = Insertable<PracticeProfilesTable>;
export type ReferenceDatasetRow = Selectable<ReferenceDatasetsTable>;
