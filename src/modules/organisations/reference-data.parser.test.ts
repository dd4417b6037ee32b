import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputFileError, type InputProblem } from '../../lib/csv.ts';
import {
  buildOrganisationRecords,
  referenceFiles,
  type OrganisationRecords,
  type ReferenceFileKey,
  type ReferenceFileTexts,
} from './reference-data.parser.ts';

const referenceDataDir = path.resolve(import.meta.dirname, '../../../data/reference');

/** The files exactly as the product ships them. Reading files is this test's only I/O. */
function readShippedTexts(): ReferenceFileTexts {
  const texts = {} as ReferenceFileTexts;
  for (const key of Object.keys(referenceFiles) as ReferenceFileKey[]) {
    texts[key] = fs.readFileSync(path.join(referenceDataDir, referenceFiles[key]), 'utf8');
  }
  return texts;
}

/**
 * Rewrites the first line of a file for which `matches` holds, keeping its line end (several
 * shipped files use CRLF). Returns the new text and the 1-based number of the changed line.
 */
function editLine(
  text: string,
  matches: (line: string) => boolean,
  edit: (line: string) => string,
): { text: string; line: number } {
  const lines = text.split('\n');
  const index = lines.findIndex((line) => matches(line.replace(/\r$/, '')));
  if (index < 0) throw new Error('no line matched the edit');
  const original = lines[index]!;
  const ending = original.endsWith('\r') ? '\r' : '';
  lines[index] = edit(original.replace(/\r$/, '')) + ending;
  return { text: lines.join('\n'), line: index + 1 };
}

/**
 * Appends a copy of the first line for which `matches` holds, keeping the file's line ends. Returns
 * the new text, the 1-based number of the copied line and of the copy.
 */
function repeatLine(
  text: string,
  matches: (line: string) => boolean,
): { text: string; firstLine: number; line: number } {
  const lineEnd = text.includes('\r\n') ? '\r\n' : '\n';
  const withoutTrailing = text.replace(/(\r?\n)+$/, '');
  const lines = withoutTrailing.split('\n').map((line) => line.replace(/\r$/, ''));
  const index = lines.findIndex(matches);
  if (index < 0) throw new Error('no line matched the repeat');
  return {
    text: `${withoutTrailing}${lineEnd}${lines[index]!}${lineEnd}`,
    firstLine: index + 1,
    line: lines.length + 1,
  };
}

/** Replaces one comma-separated field of an unquoted CSV line. */
function setField(line: string, fieldIndex: number, value: string): string {
  const fields = line.split(',');
  fields[fieldIndex] = value;
  return fields.join(',');
}

function problemsFrom(texts: ReferenceFileTexts): InputProblem[] {
  try {
    buildOrganisationRecords(texts);
  } catch (error) {
    expect(error).toBeInstanceOf(InputFileError);
    return (error as InputFileError).problems;
  }
  throw new Error('expected an InputFileError, but the reference data was accepted');
}

describe('buildOrganisationRecords with the shipped reference files', () => {
  let records: OrganisationRecords;
  const codesOfType = (type: string) =>
    records.organisations
      .filter((organisation) => organisation.org_type === type)
      .map((organisation) => organisation.code);
  const organisation = (code: string) =>
    records.organisations.find((candidate) => candidate.code === code);

  beforeAll(() => {
    records = buildOrganisationRecords(readShippedTexts());
  });

  it('finds the expected number of organisations of each type', () => {
    const counts: Record<string, number> = {};
    for (const { org_type } of records.organisations)
      counts[org_type] = (counts[org_type] ?? 0) + 1;
    expect(counts).toEqual({
      region: 1,
      icb: 11,
      sub_icb_location: 3,
      nhs_trust: 3,
      local_authority: 10,
      pcn: 25,
      gp_practice: 128,
    });
  });

  it('counts the rows read from every file', () => {
    expect(records.rowCounts).toEqual({
      regions: 1,
      icbs: 11,
      llrOrganisations: 17,
      practices: 128,
      listSizes: 127,
      pcnMap: 134,
      deprivation: 6980,
      locations: 128,
    });
  });

  it('has the Midlands region at the root', () => {
    expect(organisation('Y60')).toEqual({
      code: 'Y60',
      org_type: 'region',
      name: 'NHS England Midlands',
      ons_code: 'E40000011',
      parent_code: null,
      ancestor_path: '/',
      address: null,
      postcode: null,
      telephone: null,
      opened_on: null,
      source_dataset: referenceFiles.regions,
    });
  });

  it('puts all eleven Midlands ICBs under the region, taken from the Midlands list', () => {
    for (const code of codesOfType('icb')) {
      expect(organisation(code)).toMatchObject({
        parent_code: 'Y60',
        ancestor_path: '/Y60/',
        source_dataset: referenceFiles.icbs,
      });
    }
    expect(codesOfType('icb')).toContain('QK1');
    expect(organisation('QK1')?.ons_code).toBe('E54000015');
  });

  it('has the three LLR sub-ICB locations under QK1', () => {
    expect(codesOfType('sub_icb_location').sort()).toEqual(['03W', '04C', '04V']);
    for (const code of codesOfType('sub_icb_location')) {
      expect(organisation(code)).toMatchObject({ parent_code: 'QK1', ancestor_path: '/Y60/QK1/' });
    }
  });

  it('has the three trusts, with the ambulance trust under its own ICB, QT1', () => {
    expect(codesOfType('nhs_trust').sort()).toEqual(['RT5', 'RWE', 'RX9']);
    expect(organisation('RWE')).toMatchObject({ parent_code: 'QK1', postcode: 'LE1 5WW' });
    expect(organisation('RT5')).toMatchObject({ parent_code: 'QK1' });
    expect(organisation('RX9')).toMatchObject({ parent_code: 'QT1', ancestor_path: '/Y60/QT1/' });
  });

  it('has ten local authorities, with the seven districts under Leicestershire county', () => {
    const authorities = codesOfType('local_authority');
    expect(authorities).toHaveLength(10);
    const districts = authorities.filter((code) => code.startsWith('E07'));
    expect(districts.sort()).toEqual([
      'E07000129',
      'E07000130',
      'E07000131',
      'E07000132',
      'E07000133',
      'E07000134',
      'E07000135',
    ]);
    for (const code of districts) {
      expect(organisation(code)).toMatchObject({
        parent_code: 'E10000018',
        ancestor_path: '/Y60/QK1/E10000018/',
      });
    }
    for (const code of ['E06000016', 'E06000017', 'E10000018']) {
      expect(organisation(code)).toMatchObject({ parent_code: 'QK1', ancestor_path: '/Y60/QK1/' });
    }
  });

  it('makes 25 PCNs under QK1, and none from the "U" unallocated code', () => {
    const pcns = codesOfType('pcn');
    expect(pcns).toHaveLength(25);
    expect(pcns).not.toContain('U');
    for (const code of pcns) {
      expect(code).toMatch(/^U\d{5}$/);
      expect(organisation(code)).toMatchObject({ parent_code: 'QK1', ancestor_path: '/Y60/QK1/' });
    }
    expect(organisation('U30213')?.name).toBe('CROSS COUNTIES PCN');
  });

  it('lists every parent before its children, each path extending its parent’s', () => {
    const indexOf = new Map(records.organisations.map((row, index) => [row.code, index]));
    records.organisations.forEach((row, index) => {
      if (row.parent_code === null || row.parent_code === undefined) {
        expect(row.ancestor_path).toBe('/');
        return;
      }
      const parentIndex = indexOf.get(row.parent_code);
      expect(parentIndex, `parent of ${row.code}`).toBeDefined();
      expect(parentIndex!).toBeLessThan(index);
      const parent = records.organisations[parentIndex!]!;
      expect(row.ancestor_path).toBe(`${parent.ancestor_path}${parent.code}/`);
    });
  });

  it('lists each organisation once', () => {
    const codes = records.organisations.map((row) => row.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('builds practice C82001 from its row, with the name as published', () => {
    expect(organisation('C82001')).toEqual({
      code: 'C82001',
      org_type: 'gp_practice',
      name: 'SOUTH LEICESTERSHIRE MEDICAL GROUP',
      ons_code: null,
      parent_code: '03W',
      ancestor_path: '/Y60/QK1/03W/',
      address: 'SMEETON ROAD\nKIBWORTH\nLEICESTERSHIRE',
      postcode: 'LE8 0LG',
      telephone: '0116 2793308',
      opened_on: '1974-04-01',
      source_dataset: referenceFiles.practices,
    });
  });

  it('keeps a comma inside a quoted address line', () => {
    expect(organisation('C82003')?.address).toBe(
      'GREENGATE MEDICAL CENTRE\n1 GREENGATE LANE,BIRSTALL\nLEICESTER',
    );
  });

  it('profiles C82001 with its list size, PCN, deprivation and location', () => {
    const profile = records.practiceProfiles.find((row) => row.practice_code === 'C82001');
    expect(profile).toMatchObject({
      practice_code: 'C82001',
      pcn_code: 'U30213',
      registered_patients: 25822,
      registered_patients_on: '2026-04-01',
      imd2019_decile: 10,
      imd2019_quintile: 5,
      approx_latitude: 52.559415,
      approx_longitude: -1.064737,
      location_basis: 'postcode outcode centroid',
    });
    expect(profile?.imd2019_score).toBeCloseTo(6.699, 3);
  });

  it('profiles every practice exactly once, and nothing but practices', () => {
    const profiled = records.practiceProfiles.map((row) => row.practice_code).sort();
    expect(profiled).toEqual(codesOfType('gp_practice').sort());
  });

  it('gives practices on the "U" unallocated code no PCN', () => {
    for (const code of ['Y03584', 'Y05412']) {
      const profile = records.practiceProfiles.find((row) => row.practice_code === code);
      expect(profile?.pcn_code).toBeNull();
    }
  });

  it('leaves the list size empty for a practice the list-size file does not mention', () => {
    const profile = records.practiceProfiles.find((row) => row.practice_code === 'Y05412');
    expect(profile).toMatchObject({ registered_patients: null, registered_patients_on: null });
  });

  it('gives every profiled PCN code an organisation of type pcn', () => {
    const pcns = new Set(codesOfType('pcn'));
    for (const profile of records.practiceProfiles) {
      if (profile.pcn_code != null) expect(pcns.has(profile.pcn_code)).toBe(true);
    }
  });

  it('bands deprivation consistently: quintile = ceil(decile ÷ 2), higher scores more deprived', () => {
    const banded = records.practiceProfiles.filter((row) => row.imd2019_score != null);
    expect(banded.length).toBeGreaterThan(100);
    for (const row of banded) {
      expect(row.imd2019_quintile).toBe(Math.ceil(row.imd2019_decile! / 2));
    }
    const byScore = [...banded].sort((a, b) => b.imd2019_score! - a.imd2019_score!);
    for (let i = 1; i < byScore.length; i++) {
      expect(byScore[i]!.imd2019_decile!).toBeGreaterThanOrEqual(byScore[i - 1]!.imd2019_decile!);
    }
  });
});

describe('buildOrganisationRecords with malformed reference files', () => {
  let shipped: ReferenceFileTexts;

  beforeAll(() => {
    shipped = readShippedTexts();
  });

  it('refuses a list size that is not a number, naming file, line and field', () => {
    const edited = editLine(
      shipped.listSizes,
      (line) => line.includes(',C82010,'),
      (line) => setField(line, 9, 'abc'),
    );
    expect(edited.line).toBeGreaterThan(2);
    const problems = problemsFrom({ ...shipped, listSizes: edited.text });
    expect(problems).toEqual([
      {
        file: 'organisations/llr_gp_list_sizes_2026-04.csv',
        line: edited.line,
        field: 'NUMBER_OF_PATIENTS',
        message: 'must be a whole number of patients (found "abc")',
      },
    ]);
  });

  it('shows the located problem in the error message', () => {
    const edited = editLine(
      shipped.listSizes,
      (line) => line.includes(',C82010,'),
      (line) => setField(line, 9, 'abc'),
    );
    expect(() => buildOrganisationRecords({ ...shipped, listSizes: edited.text })).toThrow(
      `organisations/llr_gp_list_sizes_2026-04.csv, line ${edited.line} field "NUMBER_OF_PATIENTS": must be a whole number of patients (found "abc")`,
    );
  });

  it('refuses a practice whose sub-ICB location is not in the reference data', () => {
    const edited = editLine(
      shipped.practices,
      (line) => line.startsWith('C82001,'),
      (line) => setField(line, 3, '99X'),
    );
    expect(problemsFrom({ ...shipped, practices: edited.text })).toEqual([
      {
        file: referenceFiles.practices,
        line: edited.line,
        message: 'parent organisation 99X of C82001 is not in the reference data',
      },
    ]);
  });

  it('refuses a practice whose sub-ICB location belongs to another ICB', () => {
    const edited = editLine(
      shipped.practices,
      (line) => line.startsWith('C82001,'),
      (line) => setField(line, 4, 'QT1'),
    );
    expect(problemsFrom({ ...shipped, practices: edited.text })).toEqual([
      {
        file: referenceFiles.practices,
        line: edited.line,
        field: 'icb_code',
        message: 'sub-ICB location 03W belongs to QK1, not QT1',
      },
    ]);
  });

  it('refuses an organisation listed twice, at the line of the second listing', () => {
    const lines = shipped.practices.split('\n');
    const lineEnd = shipped.practices.includes('\r\n') ? '\r\n' : '\n';
    const c82001 = lines.find((line) => line.startsWith('C82001,'))!.replace(/\r$/, '');
    const withoutTrailing = shipped.practices.replace(/(\r?\n)+$/, '');
    const duplicated = `${withoutTrailing}${lineEnd}${c82001}${lineEnd}`;
    const duplicateLine = withoutTrailing.split('\n').length + 1;
    expect(problemsFrom({ ...shipped, practices: duplicated })).toEqual([
      {
        file: referenceFiles.practices,
        line: duplicateLine,
        message: 'organisation C82001 is listed twice',
      },
    ]);
  });

  // Without the check the last row wins, and a repeated deprivation row also shifts every
  // practice's national decile.
  it.each([
    ['listSizes', (line: string) => line.includes(',C82001,'), 'CODE', 'C82001'],
    ['pcnMap', (line: string) => line.includes(',C82003,'), 'PRACTICE_CODE', 'C82003'],
    ['deprivation', (line: string) => line.startsWith('C82001,'), 'practice_code', 'C82001'],
    ['locations', (line: string) => line.startsWith('C82002,'), 'practice_code', 'C82002'],
  ] as const)(
    'refuses a practice listed twice in the %s file, naming both lines and the field',
    (key, matches, field, code) => {
      const repeated = repeatLine(shipped[key], matches);
      expect(repeated.firstLine).toBeGreaterThan(1);
      expect(problemsFrom({ ...shipped, [key]: repeated.text })).toEqual([
        {
          file: referenceFiles[key],
          line: repeated.line,
          field,
          message: `practice ${code} is listed more than once: first on line ${repeated.firstLine}`,
        },
      ]);
    },
  );

  it('names the first line again for a third listing of the same practice', () => {
    const twice = repeatLine(shipped.locations, (line) => line.startsWith('C82002,'));
    const thrice = repeatLine(twice.text, (line) => line.startsWith('C82002,'));
    expect(problemsFrom({ ...shipped, locations: thrice.text })).toEqual([
      expect.objectContaining({ line: twice.line, message: expect.stringMatching(/line 3$/) }),
      expect.objectContaining({ line: thrice.line, message: expect.stringMatching(/line 3$/) }),
    ]);
    expect(twice.firstLine).toBe(3);
  });

  it('finds a repeated practice even when the repeat has another problem too', () => {
    const repeated = repeatLine(shipped.listSizes, (line) => line.includes(',C82001,'));
    // Only the copy, the file's last line, gets a count that is not a number.
    const withBadCount = repeated.text.replace(/,25822(\r?\n)$/, ',abc$1');
    expect(withBadCount).not.toBe(repeated.text);
    expect(
      problemsFrom({ ...shipped, listSizes: withBadCount }).map((problem) => [
        problem.line,
        problem.field,
      ]),
    ).toEqual([
      [repeated.line, 'CODE'],
      [repeated.line, 'NUMBER_OF_PATIENTS'],
    ]);
  });

  // A file broken down by sex or age has several rows per practice; one band must never be stored
  // as the whole list.
  it.each([
    ['SEX', 'FEMALE', 7, 'sex'],
    ['AGE', '0', 8, 'age'],
    ['AGE', '', 8, 'age'],
  ] as const)(
    'refuses a list-size row whose %s is "%s", not ALL, naming file, line and field',
    (field, value, fieldIndex, breakdown) => {
      const edited = editLine(
        shipped.listSizes,
        (line) => line.includes(',C82010,'),
        (line) => setField(line, fieldIndex, value),
      );
      expect(problemsFrom({ ...shipped, listSizes: edited.text })).toEqual([
        {
          file: referenceFiles.listSizes,
          line: edited.line,
          field,
          message: `must be ALL: one row per practice for its whole list, not a breakdown by ${breakdown} (found "${value}")`,
        },
      ]);
    },
  );

  it('refuses a list-size file without the SEX and AGE columns', () => {
    const withoutBreakdown = shipped.listSizes.replace(/,(ALL|SEX),(ALL|AGE),/g, ',');
    expect(problemsFrom({ ...shipped, listSizes: withoutBreakdown })).toEqual([
      { file: referenceFiles.listSizes, line: 1, message: 'missing column(s): SEX, AGE' },
    ]);
  });

  it('refuses a file missing a required column, at line 1 with the column name', () => {
    const edited = editLine(
      shipped.listSizes,
      (line) => line.startsWith('PUBLICATION,'),
      (line) => line.replace('NUMBER_OF_PATIENTS', 'PATIENTS'),
    );
    expect(edited.line).toBe(1);
    expect(problemsFrom({ ...shipped, listSizes: edited.text })).toEqual([
      {
        file: referenceFiles.listSizes,
        line: 1,
        message: 'missing column(s): NUMBER_OF_PATIENTS',
      },
    ]);
  });

  it('refuses an opening date that is not a real calendar date', () => {
    const edited = editLine(
      shipped.practices,
      (line) => line.startsWith('C82002,'),
      (line) => setField(line, 6, '20250231'),
    );
    expect(problemsFrom({ ...shipped, practices: edited.text })).toEqual([
      {
        file: referenceFiles.practices,
        line: edited.line,
        field: 'open_date',
        message: 'is not a real calendar date (found "20250231")',
      },
    ]);
  });

  it('refuses a list-size extract date that is not a real calendar date', () => {
    const edited = editLine(
      shipped.listSizes,
      (line) => line.includes(',C82001,'),
      (line) => setField(line, 1, '2026-02-30'),
    );
    expect(problemsFrom({ ...shipped, listSizes: edited.text })).toEqual([
      expect.objectContaining({
        line: edited.line,
        field: 'EXTRACT_DATE',
        message: 'is not a real calendar date (found "2026-02-30")',
      }),
    ]);
  });

  it('refuses an ICB in the LLR file whose ONS code disagrees with the Midlands list', () => {
    const edited = editLine(
      shipped.llrOrganisations,
      (line) => line.startsWith('icb,QK1,'),
      (line) => line.replace('E54000015', 'E54000099'),
    );
    expect(problemsFrom({ ...shipped, llrOrganisations: edited.text })).toEqual([
      {
        file: referenceFiles.llrOrganisations,
        line: edited.line,
        field: 'ons_code',
        message: `ICB QK1 has ONS code E54000015 in ${referenceFiles.icbs}, not E54000099`,
      },
    ]);
  });

  it('refuses a trust placed directly under the region', () => {
    const edited = editLine(
      shipped.llrOrganisations,
      (line) => line.startsWith('nhs_trust,RWE,'),
      (line) => setField(line, 4, 'Y60'),
    );
    expect(problemsFrom({ ...shipped, llrOrganisations: edited.text })).toEqual([
      {
        file: referenceFiles.llrOrganisations,
        line: edited.line,
        message: 'RWE cannot sit under Y60, which is a region',
      },
    ]);
  });

  it('refuses a trust placed under a local authority, at the trust’s line', () => {
    const edited = editLine(
      shipped.llrOrganisations,
      (line) => line.startsWith('nhs_trust,RWE,'),
      (line) => setField(line, 4, 'E06000016'),
    );
    expect(problemsFrom({ ...shipped, llrOrganisations: edited.text })).toEqual([
      expect.objectContaining({
        file: referenceFiles.llrOrganisations,
        line: edited.line,
        message: expect.stringMatching(/RWE.*E06000016|E06000016.*RWE/),
      }),
    ]);
  });

  // The authority is in the same file, further down: the problem must be the type, not absence.
  it('says why a trust cannot sit under a local authority that is in the file', () => {
    const edited = editLine(
      shipped.llrOrganisations,
      (line) => line.startsWith('nhs_trust,RWE,'),
      (line) => setField(line, 4, 'E06000016'),
    );
    const [problem] = problemsFrom({ ...shipped, llrOrganisations: edited.text });
    expect(problem!.message).not.toMatch(/is not in the reference data/);
  });

  it('refuses a file that is not valid CSV, naming the line', () => {
    const edited = editLine(
      shipped.regions,
      (line) => line.startsWith('Y60,'),
      (line) => `${line},extra`,
    );
    expect(problemsFrom({ ...shipped, regions: edited.text })).toEqual([
      expect.objectContaining({
        file: referenceFiles.regions,
        line: edited.line,
        message: expect.stringMatching(/^not valid CSV: /),
      }),
    ]);
  });

  it('collects every row problem in every file, not only the first', () => {
    const badListSize = editLine(
      shipped.listSizes,
      (line) => line.includes(',C82001,'),
      (line) => setField(line, 9, 'abc'),
    );
    const secondBadListSize = editLine(
      badListSize.text,
      (line) => line.includes(',C82002,'),
      (line) => setField(line, 9, '-5'),
    );
    const badDate = editLine(
      shipped.practices,
      (line) => line.startsWith('C82002,'),
      (line) => setField(line, 6, '20250231'),
    );
    const badPcn = editLine(
      shipped.pcnMap,
      (line) => line.includes(',C82003,'),
      (line) => setField(line, 5, 'X123'),
    );
    const badLatitude = editLine(
      shipped.locations,
      (line) => line.startsWith('C82001,'),
      (line) => setField(line, 2, '12.5'),
    );
    const problems = problemsFrom({
      ...shipped,
      listSizes: secondBadListSize.text,
      practices: badDate.text,
      pcnMap: badPcn.text,
      locations: badLatitude.text,
      // A missing column in one file must not hide row problems in the others.
      regions: shipped.regions.replace('ons_code', 'ons'),
    });
    expect(problems.map((problem) => [problem.file, problem.line, problem.field ?? null])).toEqual([
      [referenceFiles.regions, 1, null],
      [referenceFiles.practices, badDate.line, 'open_date'],
      [referenceFiles.listSizes, badListSize.line, 'NUMBER_OF_PATIENTS'],
      [referenceFiles.listSizes, secondBadListSize.line, 'NUMBER_OF_PATIENTS'],
      [referenceFiles.pcnMap, badPcn.line, 'PCN_CODE'],
      [referenceFiles.locations, badLatitude.line, 'approx_latitude'],
    ]);
  });

  it('collects every problem in how the organisations fit together, not only the first', () => {
    const unknownSubIcb = editLine(
      shipped.practices,
      (line) => line.startsWith('C82001,'),
      (line) => setField(line, 3, '99X'),
    );
    const wrongIcb = editLine(
      unknownSubIcb.text,
      (line) => line.startsWith('C82002,'),
      (line) => setField(line, 4, 'QT1'),
    );
    const trustUnderCouncil = editLine(
      shipped.llrOrganisations,
      (line) => line.startsWith('nhs_trust,RT5,'),
      (line) => setField(line, 4, 'E06000017'),
    );
    const problems = problemsFrom({
      ...shipped,
      practices: wrongIcb.text,
      llrOrganisations: trustUnderCouncil.text,
    });
    expect(problems.map((problem) => [problem.file, problem.line])).toEqual([
      [referenceFiles.llrOrganisations, trustUnderCouncil.line],
      [referenceFiles.practices, unknownSubIcb.line],
      [referenceFiles.practices, wrongIcb.line],
    ]);
  });
});
