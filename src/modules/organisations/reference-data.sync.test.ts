import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  organisationTypes,
  type OrganisationRow,
  type PracticeProfileRow,
} from '../../db/schema.ts';
import type { OrganisationRecords, ReferenceOrganisation } from './reference-data.parser.ts';
import { planOrganisationSync, type OrganisationSyncPlan } from './reference-data.sync.ts';

type PracticeProfile = OrganisationRecords['practiceProfiles'][number];

const practicesDataset = 'organisations/llr_gp_practices_active.csv';
const icbsDataset = 'organisations/midlands_icbs.csv';
/** Organisations added by hand or by another importer; seeding must never retire them. */
const unmanagedDataset = 'manual/local_additions.csv';
const managedDatasets = new Set([practicesDataset, icbsDataset]);

const loadedAt = '2026-04-01T09:00:00.000Z';

function buildOrganisation(overrides: Partial<ReferenceOrganisation> = {}): ReferenceOrganisation {
  return {
    code: 'C82001',
    org_type: 'gp_practice',
    name: 'SOUTH LEICESTERSHIRE MEDICAL GROUP',
    ons_code: null,
    parent_code: '03W',
    ancestor_path: '/Y60/QK1/03W/',
    address: 'SMEETON ROAD\nKIBWORTH',
    postcode: 'LE8 0LG',
    telephone: '0116 2793308',
    opened_on: '1974-04-01',
    source_dataset: practicesDataset,
    ...overrides,
  };
}

function buildProfile(overrides: Partial<PracticeProfile> = {}): PracticeProfile {
  return {
    practice_code: 'C82001',
    pcn_code: 'U30213',
    registered_patients: 25822,
    registered_patients_on: '2026-04-01',
    imd2019_score: 6.698853439,
    imd2019_decile: 10,
    imd2019_quintile: 5,
    approx_latitude: 52.559415,
    approx_longitude: -1.064737,
    location_basis: 'postcode outcode centroid',
    ...overrides,
  };
}

function buildRecords(
  organisations: ReferenceOrganisation[],
  practiceProfiles: PracticeProfile[] = [],
): OrganisationRecords {
  return {
    organisations,
    practiceProfiles,
    rowCounts: {
      regions: 0,
      icbs: 0,
      llrOrganisations: 0,
      practices: 0,
      listSizes: 0,
      pcnMap: 0,
      deprivation: 0,
      locations: 0,
    },
  };
}

/** A stored row as the repository would return it after loading `organisation`. */
function storedRow(
  organisation: ReferenceOrganisation,
  overrides: Partial<OrganisationRow> = {},
): OrganisationRow {
  return {
    code: organisation.code,
    org_type: organisation.org_type,
    name: organisation.name,
    ons_code: organisation.ons_code ?? null,
    parent_code: organisation.parent_code ?? null,
    ancestor_path: organisation.ancestor_path,
    address: organisation.address ?? null,
    postcode: organisation.postcode ?? null,
    telephone: organisation.telephone ?? null,
    opened_on: organisation.opened_on ?? null,
    source_dataset: organisation.source_dataset,
    retired_at: null,
    created_at: loadedAt,
    updated_at: loadedAt,
    ...overrides,
  };
}

function storedProfile(profile: PracticeProfile): PracticeProfileRow {
  return {
    practice_code: profile.practice_code,
    pcn_code: profile.pcn_code ?? null,
    registered_patients: profile.registered_patients ?? null,
    registered_patients_on: profile.registered_patients_on ?? null,
    imd2019_score: profile.imd2019_score ?? null,
    imd2019_decile: profile.imd2019_decile ?? null,
    imd2019_quintile: profile.imd2019_quintile ?? null,
    approx_latitude: profile.approx_latitude ?? null,
    approx_longitude: profile.approx_longitude ?? null,
    location_basis: profile.location_basis ?? null,
    updated_at: loadedAt,
  };
}

/** What the database holds after the service carries out a plan: an in-memory stand-in for it. */
function applyPlan(
  stored: readonly OrganisationRow[],
  storedProfiles: readonly PracticeProfileRow[],
  plan: OrganisationSyncPlan,
  at: string,
): { stored: OrganisationRow[]; storedProfiles: PracticeProfileRow[] } {
  const rows = new Map(stored.map((row) => [row.code, { ...row }]));
  for (const organisation of plan.inserts) {
    rows.set(organisation.code, storedRow(organisation, { created_at: at, updated_at: at }));
  }
  for (const { code, changes } of plan.updates) {
    const row = rows.get(code);
    if (!row) throw new Error(`the plan updates ${code}, which is not stored`);
    rows.set(code, { ...row, ...changes, updated_at: at } as OrganisationRow);
  }
  for (const code of plan.retirements) {
    const row = rows.get(code);
    if (!row) throw new Error(`the plan retires ${code}, which is not stored`);
    rows.set(code, { ...row, retired_at: at, updated_at: at });
  }
  const profiles = new Map(storedProfiles.map((row) => [row.practice_code, { ...row }]));
  for (const profile of plan.profileWrites) {
    profiles.set(profile.practice_code, { ...storedProfile(profile), updated_at: at });
  }
  return { stored: [...rows.values()], storedProfiles: [...profiles.values()] };
}

/** Loads `records` into an empty store and returns what is then stored. */
function loadIntoEmptyStore(records: OrganisationRecords) {
  return applyPlan([], [], planOrganisationSync([], [], records, managedDatasets), loadedAt);
}

function expectNothingToDo(plan: OrganisationSyncPlan, records: OrganisationRecords) {
  expect(plan.inserts).toEqual([]);
  expect(plan.updates).toEqual([]);
  expect(plan.retirements).toEqual([]);
  expect(plan.profileWrites).toEqual([]);
  expect(plan.unchanged).toBe(records.organisations.length);
  expect(plan.profilesUnchanged).toBe(records.practiceProfiles.length);
}

// Generators: small value pools so that successive loads often touch the same codes.
const organisationCodes = ['Y60', 'QK1', 'QT1', '03W', '04C', '04V', 'RWE', 'U30213', 'C82001'];
const nullable = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: null });
const organisationArbitrary: fc.Arbitrary<ReferenceOrganisation> = fc.record({
  code: fc.constantFrom(...organisationCodes),
  org_type: fc.constantFrom(...organisationTypes),
  name: fc.string({ minLength: 1, maxLength: 12 }),
  ons_code: nullable(fc.constantFrom('E38000051', 'E38000097')),
  parent_code: nullable(fc.constantFrom('QK1', '03W', 'Y60')),
  ancestor_path: fc.constantFrom('/', '/Y60/', '/Y60/QK1/'),
  address: nullable(fc.string({ maxLength: 12 })),
  postcode: nullable(fc.constantFrom('LE8 0LG', 'LE1 5WW')),
  telephone: nullable(fc.constantFrom('0116 2793308', '0116 2776336')),
  opened_on: nullable(fc.constantFrom('1974-04-01', '2019-07-01')),
  source_dataset: fc.constantFrom(practicesDataset, icbsDataset, unmanagedDataset),
});
const organisationsArbitrary = fc.uniqueArray(organisationArbitrary, {
  selector: (organisation) => organisation.code,
  maxLength: organisationCodes.length,
});
const profileFor = (practiceCode: string): fc.Arbitrary<PracticeProfile> =>
  fc.record({
    practice_code: fc.constant(practiceCode),
    pcn_code: nullable(fc.constantFrom('U30213', 'U71931')),
    registered_patients: nullable(fc.nat({ max: 40_000 })),
    registered_patients_on: nullable(fc.constantFrom('2026-04-01', '2026-05-01')),
    imd2019_score: nullable(fc.double({ min: 0, max: 100, noNaN: true })),
    imd2019_decile: nullable(fc.integer({ min: 1, max: 10 })),
    imd2019_quintile: nullable(fc.integer({ min: 1, max: 5 })),
    approx_latitude: nullable(fc.double({ min: 49, max: 56, noNaN: true })),
    approx_longitude: nullable(fc.double({ min: -7, max: 2, noNaN: true })),
    location_basis: nullable(fc.constant('postcode outcode centroid')),
  });
/** Reference records: organisations plus a profile for each practice among them. */
const recordsArbitrary: fc.Arbitrary<OrganisationRecords> = organisationsArbitrary.chain(
  (organisations) => {
    const practiceCodes = organisations
      .filter((organisation) => organisation.org_type === 'gp_practice')
      .map((organisation) => organisation.code);
    return fc
      .tuple(...practiceCodes.map(profileFor))
      .map((profiles) => buildRecords(organisations, profiles));
  },
);

describe('planOrganisationSync', () => {
  it('inserts everything into an empty store', () => {
    const organisations = [
      buildOrganisation({ code: 'Y60', org_type: 'region', parent_code: null, ancestor_path: '/' }),
      buildOrganisation(),
    ];
    const records = buildRecords(organisations, [buildProfile()]);
    const plan = planOrganisationSync([], [], records, managedDatasets);
    expect(plan).toEqual({
      inserts: organisations,
      updates: [],
      retirements: [],
      unchanged: 0,
      profileWrites: [buildProfile()],
      profilesUnchanged: 0,
    });
  });

  it('keeps the input order for inserts, so parents are still inserted before children', () => {
    const codes = ['Y60', 'QK1', '03W', 'C82001', 'C82002'];
    const records = buildRecords(codes.map((code) => buildOrganisation({ code })));
    const plan = planOrganisationSync([], [], records, managedDatasets);
    expect(plan.inserts.map((organisation) => organisation.code)).toEqual(codes);
  });

  it('has nothing to do when the store already matches', () => {
    const records = buildRecords([buildOrganisation()], [buildProfile()]);
    const { stored, storedProfiles } = loadIntoEmptyStore(records);
    expectNothingToDo(
      planOrganisationSync(stored, storedProfiles, records, managedDatasets),
      records,
    );
  });

  it('treats a missing optional value and a stored null as the same', () => {
    const organisation = buildOrganisation({ telephone: undefined, address: undefined });
    const plan = planOrganisationSync(
      [storedRow(organisation)],
      [],
      buildRecords([organisation]),
      managedDatasets,
    );
    expect(plan.updates).toEqual([]);
    expect(plan.unchanged).toBe(1);
  });

  it('updates only the name when only the name changed', () => {
    const before = buildOrganisation();
    const after = buildOrganisation({ name: 'SOUTH LEICESTERSHIRE MEDICAL PARTNERSHIP' });
    const plan = planOrganisationSync(
      [storedRow(before)],
      [],
      buildRecords([after]),
      managedDatasets,
    );
    expect(plan.updates).toEqual([
      { code: 'C82001', changes: { name: 'SOUTH LEICESTERSHIRE MEDICAL PARTNERSHIP' } },
    ]);
    expect(plan.inserts).toEqual([]);
    expect(plan.unchanged).toBe(0);
  });

  it('updates a column that becomes empty to null', () => {
    const plan = planOrganisationSync(
      [storedRow(buildOrganisation())],
      [],
      buildRecords([buildOrganisation({ telephone: null })]),
      managedDatasets,
    );
    expect(plan.updates).toEqual([{ code: 'C82001', changes: { telephone: null } }]);
  });

  it('updates the parent and the ancestor path together when an organisation moves', () => {
    const plan = planOrganisationSync(
      [storedRow(buildOrganisation())],
      [],
      buildRecords([buildOrganisation({ parent_code: '04V', ancestor_path: '/Y60/QK1/04V/' })]),
      managedDatasets,
    );
    expect(plan.updates).toEqual([
      { code: 'C82001', changes: { parent_code: '04V', ancestor_path: '/Y60/QK1/04V/' } },
    ]);
  });

  it('retires an organisation dropped from a dataset that seeding manages', () => {
    const kept = buildOrganisation({ code: 'C82001' });
    const dropped = buildOrganisation({ code: 'C82099' });
    const plan = planOrganisationSync(
      [storedRow(kept), storedRow(dropped)],
      [],
      buildRecords([kept]),
      managedDatasets,
    );
    expect(plan.retirements).toEqual(['C82099']);
    expect(plan.unchanged).toBe(1);
  });

  it('does not retire an organisation from a dataset that seeding does not manage', () => {
    const local = buildOrganisation({ code: 'X99999', source_dataset: unmanagedDataset });
    const plan = planOrganisationSync(
      [storedRow(buildOrganisation()), storedRow(local)],
      [],
      buildRecords([buildOrganisation()]),
      managedDatasets,
    );
    expect(plan.retirements).toEqual([]);
  });

  it('does not retire again an organisation that is already retired', () => {
    const dropped = buildOrganisation({ code: 'C82099' });
    const plan = planOrganisationSync(
      [storedRow(dropped, { retired_at: loadedAt })],
      [],
      buildRecords([]),
      managedDatasets,
    );
    expect(plan.retirements).toEqual([]);
  });

  it('brings back a retired organisation that reappears, clearing retired_at', () => {
    const organisation = buildOrganisation();
    const plan = planOrganisationSync(
      [storedRow(organisation, { retired_at: loadedAt })],
      [],
      buildRecords([organisation]),
      managedDatasets,
    );
    expect(plan.updates).toEqual([{ code: 'C82001', changes: { retired_at: null } }]);
    expect(plan.unchanged).toBe(0);
  });

  it('brings back a retired organisation and applies its changes in one update', () => {
    const plan = planOrganisationSync(
      [storedRow(buildOrganisation(), { retired_at: loadedAt })],
      [],
      buildRecords([buildOrganisation({ postcode: 'LE8 0LH' })]),
      managedDatasets,
    );
    expect(plan.updates).toEqual([
      { code: 'C82001', changes: { postcode: 'LE8 0LH', retired_at: null } },
    ]);
  });

  it('takes over an organisation first stored from another dataset, recording the new source', () => {
    const plan = planOrganisationSync(
      [storedRow(buildOrganisation({ source_dataset: unmanagedDataset }))],
      [],
      buildRecords([buildOrganisation()]),
      managedDatasets,
    );
    expect(plan.updates).toEqual([
      { code: 'C82001', changes: { source_dataset: practicesDataset } },
    ]);
  });

  describe('practice profiles', () => {
    it('leaves an unchanged profile alone', () => {
      const plan = planOrganisationSync(
        [storedRow(buildOrganisation())],
        [storedProfile(buildProfile())],
        buildRecords([buildOrganisation()], [buildProfile()]),
        managedDatasets,
      );
      expect(plan.profileWrites).toEqual([]);
      expect(plan.profilesUnchanged).toBe(1);
    });

    it.each<[string, Partial<PracticeProfile>]>([
      ['a new list size', { registered_patients: 25900, registered_patients_on: '2026-05-01' }],
      ['a new PCN', { pcn_code: 'U71931' }],
      ['leaving its PCN', { pcn_code: null }],
      ['a new deprivation band', { imd2019_decile: 9 }],
      ['a moved location', { approx_latitude: 52.6 }],
    ])('rewrites a profile with %s', (_description, change) => {
      const changed = buildProfile(change);
      const plan = planOrganisationSync(
        [storedRow(buildOrganisation())],
        [storedProfile(buildProfile())],
        buildRecords([buildOrganisation()], [changed]),
        managedDatasets,
      );
      expect(plan.profileWrites).toEqual([changed]);
      expect(plan.profilesUnchanged).toBe(0);
    });

    it.each<[keyof PracticeProfile, PracticeProfile[keyof PracticeProfile]]>([
      ['pcn_code', 'U05796'],
      ['registered_patients', 1],
      ['registered_patients_on', '2026-05-01'],
      ['imd2019_score', 6.7],
      ['imd2019_decile', 1],
      ['imd2019_quintile', 1],
      ['approx_latitude', 52],
      ['approx_longitude', -1],
      ['location_basis', 'full postcode'],
    ])('notices a change to %s alone', (column, value) => {
      const changed = { ...buildProfile(), [column]: value };
      const plan = planOrganisationSync(
        [],
        [storedProfile(buildProfile())],
        buildRecords([], [changed]),
        managedDatasets,
      );
      expect(plan.profileWrites).toEqual([changed]);
    });

    it('writes a profile that is not stored yet', () => {
      const plan = planOrganisationSync(
        [storedRow(buildOrganisation())],
        [],
        buildRecords([buildOrganisation()], [buildProfile()]),
        managedDatasets,
      );
      expect(plan.profileWrites).toEqual([buildProfile()]);
    });

    it('treats a missing optional value and a stored null as the same', () => {
      const profile = buildProfile({ pcn_code: undefined });
      const plan = planOrganisationSync(
        [],
        [storedProfile(buildProfile({ pcn_code: null }))],
        buildRecords([], [profile]),
        managedDatasets,
      );
      expect(plan.profilesUnchanged).toBe(1);
    });
  });

  describe('properties', () => {
    it('inserts every organisation and writes every profile into an empty store', () => {
      fc.assert(
        fc.property(recordsArbitrary, (records) => {
          const plan = planOrganisationSync([], [], records, managedDatasets);
          expect(plan.inserts).toEqual(records.organisations);
          expect(plan.profileWrites).toEqual(records.practiceProfiles);
          expect(plan.updates).toEqual([]);
          expect(plan.retirements).toEqual([]);
        }),
      );
    });

    it('has nothing to do the second time the same records are loaded', () => {
      fc.assert(
        fc.property(recordsArbitrary, (records) => {
          const { stored, storedProfiles } = loadIntoEmptyStore(records);
          const plan = planOrganisationSync(stored, storedProfiles, records, managedDatasets);
          expectNothingToDo(plan, records);
        }),
      );
    });

    it('brings the store in line with each of a series of loads, leaving nothing to do after each', () => {
      fc.assert(
        fc.property(fc.array(recordsArbitrary, { minLength: 2, maxLength: 4 }), (loads) => {
          let store = {
            stored: [] as OrganisationRow[],
            storedProfiles: [] as PracticeProfileRow[],
          };
          const everLoaded = new Map<string, ReferenceOrganisation>();
          loads.forEach((records, loadIndex) => {
            const at = new Date(Date.UTC(2026, loadIndex, 1)).toISOString();
            const plan = planOrganisationSync(
              store.stored,
              store.storedProfiles,
              records,
              managedDatasets,
            );
            // Each organisation is counted once: inserted, updated or unchanged.
            expect(plan.inserts.length + plan.updates.length + plan.unchanged).toBe(
              records.organisations.length,
            );
            expect(plan.profileWrites.length + plan.profilesUnchanged).toBe(
              records.practiceProfiles.length,
            );
            const previous = new Map(store.stored.map((row) => [row.code, row]));
            store = applyPlan(store.stored, store.storedProfiles, plan, at);

            // Every incoming organisation is stored, live, exactly as the reference data says,
            // including one that an earlier load retired.
            const storedByCode = new Map(store.stored.map((row) => [row.code, row]));
            const incomingCodes = new Set(records.organisations.map((row) => row.code));
            for (const organisation of records.organisations) {
              const row = storedByCode.get(organisation.code)!;
              expect(row).toEqual({
                ...storedRow(organisation),
                created_at: row.created_at,
                updated_at: row.updated_at,
              });
              everLoaded.set(organisation.code, organisation);
            }
            // An organisation no longer listed is retired if, and only if, its dataset is
            // managed; one retired earlier keeps the date it was first retired.
            for (const [code, row] of storedByCode) {
              if (incomingCodes.has(code)) continue;
              const before = previous.get(code)!;
              const expectedRetiredAt =
                before.retired_at ?? (managedDatasets.has(row.source_dataset) ? at : null);
              expect(row.retired_at).toBe(expectedRetiredAt);
            }
            expect(storedByCode.size).toBe(everLoaded.size);

            expectNothingToDo(
              planOrganisationSync(store.stored, store.storedProfiles, records, managedDatasets),
              records,
            );
          });
        }),
      );
    });

    it('updates only the columns that differ', () => {
      fc.assert(
        fc.property(organisationArbitrary, organisationArbitrary, (before, after) => {
          const incoming = { ...after, code: before.code };
          const plan = planOrganisationSync(
            [storedRow(before)],
            [],
            buildRecords([incoming]),
            managedDatasets,
          );
          const changed = (Object.keys(incoming) as (keyof ReferenceOrganisation)[]).filter(
            (column) => column !== 'code' && before[column] !== incoming[column],
          );
          if (changed.length === 0) {
            expect(plan.updates).toEqual([]);
            expect(plan.unchanged).toBe(1);
          } else {
            expect(plan.updates).toHaveLength(1);
            expect(Object.keys(plan.updates[0]!.changes).sort()).toEqual(changed.sort());
          }
        }),
      );
    });
  });
});
