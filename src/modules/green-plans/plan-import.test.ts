import ExcelJS from 'exceljs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildZip, workbookLikeEntries } from './green-plan.test-helpers.ts';
import { exportCsv, exportXlsx, type ExportAction } from './plan-export.ts';
import {
  formatMilestones,
  parentsFirst,
  parseMilestones,
  readSpreadsheet,
  readSpreadsheetTable,
  validateImportRows,
  type ImportContext,
} from './plan-import.ts';
import { actionStatuses } from './progress.calculations.ts';
import { inspectZipArchive, UnsafeArchiveError, zipLimits } from './zip-inspection.ts';

const areas = [
  { id: 'area-1', slug: 'medicines', name: 'Medicines' },
  { id: 'area-2', slug: 'travel-and-transport', name: 'Travel and transport' },
];

const context: ImportContext = {
  areas,
  existing: [],
  organisations: new Map([
    ['RWE', { code: 'RWE', name: 'University Hospitals of Leicester' }],
    ['RT5', { code: 'RT5', name: 'Leicestershire Partnership' }],
    ['QK1', { code: 'QK1', name: 'LLR ICB' }],
  ]),
  owners: new Map([
    ['owner@example.nhs.net', { userId: 'user-1', organisationCodes: ['RWE', 'RT5'] }],
  ]),
  planOrganisationCode: 'QK1',
  today: '2026-06-15',
  canChangeActionsLedBy: () => true,
};

const text = fc
  .string({ unit: 'grapheme', maxLength: 60 })
  .map((value) => value.replace(/\r/g, '').trim())
  .filter((value) => value.length > 0);

const date = fc
  .integer({ min: 0, max: 5000 })
  .map((offset) => new Date(Date.UTC(2020, 0, 1 + offset)).toISOString().slice(0, 10));

/** Random valid actions: a forest with parents earlier in the list, in one area per tree. */
const actionList = fc
  .array(
    fc.record({
      title: text,
      description: fc.oneof(
        fc.constant(''),
        text,
        fc.tuple(text, text).map(([a, b]) => `${a}\n${b}`),
      ),
      lead: fc.constantFrom('RWE', 'RT5'),
      partners: fc.subarray(['QK1']),
      owner: fc.boolean(),
      start: fc.option(date, { nil: null }),
      length: fc.integer({ min: 0, max: 900 }),
      hasDue: fc.boolean(),
      status: fc.constantFrom(...actionStatuses),
      progress: fc.integer({ min: 0, max: 100 }),
      weight: fc.oneof(fc.constant(1), fc.double({ min: 0.01, max: 1000, noNaN: true })),
      milestones: fc.array(
        fc.record({
          due: date,
          title: text.filter((value) => !value.includes('\n') && !/ \(done \S+\)$/.test(value)),
          done: fc.option(date, { nil: null }),
        }),
        { maxLength: 3 },
      ),
      parentPick: fc.nat(),
      area: fc.constantFrom('area-1', 'area-2'),
    }),
    { minLength: 1, maxLength: 25 },
  )
  .map((specs) => {
    const actions: ExportAction[] = [];
    specs.forEach((spec, index) => {
      const parent =
        index > 0 && spec.parentPick % 2 === 0 ? actions[spec.parentPick % index] : undefined;
      const areaId = parent ? parent.areaId : spec.area;
      const start = spec.start;
      const due = spec.hasDue
        ? start
          ? new Date(Date.parse(`${start}T00:00:00Z`) + spec.length * 86_400_000)
              .toISOString()
              .slice(0, 10)
          : '2030-01-01'
        : null;
      actions.push({
        reference: `R-${index + 1}`,
        parentReference: parent ? parent.reference : null,
        areaId,
        areaName: areas.find((area) => area.id === areaId)!.name,
        title: spec.title.replace(/\n/g, ' ').slice(0, 200),
        description: spec.description,
        leadOrganisationCode: spec.lead,
        partnerOrganisationCodes: spec.partners,
        ownerUserId: spec.owner ? 'user-1' : null,
        ownerEmail: spec.owner ? 'owner@example.nhs.net' : null,
        startDate: start,
        dueDate: due,
        status: spec.status,
        progressPercent: spec.status === 'complete' ? 100 : spec.progress,
        weight: spec.weight,
        milestones: parseMilestones(
          formatMilestones(
            // A milestone is never due before its action starts, nor done after today.
            spec.milestones.map((m) => ({
              dueDate: start && m.due < start ? start : m.due,
              title: m.title,
              doneOn: m.done !== null && m.done > context.today ? context.today : m.done,
            })),
          ),
        ) as ExportAction['milestones'],
      });
    });
    return actions;
  });

/** An action with no parent, owner, dates or milestones, and the fields given. */
function oneAction(fields: Partial<ExportAction>): ExportAction {
  return {
    reference: 'A-1',
    parentReference: null,
    areaId: 'area-1',
    areaName: 'Medicines',
    title: 'An action',
    description: '',
    leadOrganisationCode: 'RWE',
    partnerOrganisationCodes: [],
    ownerUserId: null,
    ownerEmail: null,
    startDate: null,
    dueDate: null,
    status: 'not_started',
    progressPercent: 0,
    weight: 1,
    milestones: [],
    ...fields,
  };
}

function comparable(action: ExportAction) {
  const { areaName: _areaName, ownerEmail: _ownerEmail, ...fields } = action;
  return fields;
}

describe('milestones', () => {
  it('read back a title holding a Unicode line or paragraph separator', () => {
    const milestones = [
      { dueDate: '2026-01-01', title: 'Survey\u2028booked', doneOn: null },
      { dueDate: '2026-02-01', title: '( \u2029¡', doneOn: '2026-02-03' },
    ];
    expect(parseMilestones(formatMilestones(milestones))).toEqual(milestones);
  });
});

describe('spreadsheet import and export', () => {
  it('reads back every field of a CSV export (property)', async () => {
    await fc.assert(
      fc.asyncProperty(actionList, async (actions) => {
        const read = await readSpreadsheet(Buffer.from(exportCsv(actions)), 'csv');
        expect(read.problems).toEqual([]);
        const { problems, actions: imported } = validateImportRows(read.rows, context);
        expect(problems).toEqual([]);
        expect(imported.map(({ row: _row, ...rest }) => rest)).toEqual(actions.map(comparable));
      }),
      { numRuns: 60 },
    );
  });

  it('reads back every field of an XLSX export (property)', async () => {
    await fc.assert(
      fc.asyncProperty(actionList, async (actions) => {
        const read = await readSpreadsheet(await exportXlsx(actions, 'Plan'), 'xlsx');
        expect(read.problems).toEqual([]);
        const { problems, actions: imported } = validateImportRows(read.rows, context);
        expect(problems).toEqual([]);
        expect(imported.map(({ row: _row, ...rest }) => rest)).toEqual(actions.map(comparable));
      }),
      { numRuns: 10 },
    );
  }, 60_000);

  it('keeps values a spreadsheet would run as formulas as text, and reads them back unchanged', async () => {
    const csv = exportCsv([
      oneAction({
        reference: 'F-1',
        title: '=HYPERLINK("http://evil.example","click")',
        description: '-5 fewer inhalers\n@mention',
        status: 'on_track',
        progressPercent: 5,
      }),
    ]);
    expect(csv).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
    const read = await readSpreadsheet(Buffer.from(csv), 'csv');
    expect(read.rows[0]!.values.title).toBe('=HYPERLINK("http://evil.example","click")');
    expect(read.rows[0]!.values.description).toBe('-5 fewer inhalers\n@mention');
  });

  it('reads back a title holding the replacement character, which is text like any other', async () => {
    const csv = exportCsv([oneAction({ reference: 'U-1', title: 'Signage \uFFFD to replace' })]);
    const read = await readSpreadsheet(Buffer.from(csv), 'csv');
    expect(read.problems).toEqual([]);
    expect(read.rows[0]!.values.title).toBe('Signage \uFFFD to replace');
  });

  it('refuses a file without the required columns, or without rows', async () => {
    expect(
      (await readSpreadsheet(Buffer.from('name,value\na,1\n'), 'csv')).problems[0]!.message,
    ).toMatch(
      /^The header row is missing the columns reference, area, title, lead_organisation, status, progress_percent/,
    );
    expect((await readSpreadsheet(Buffer.from(''), 'csv')).problems[0]!.message).toMatch(
      /The file is empty/,
    );
    expect(
      (
        await readSpreadsheet(
          Buffer.from('reference,area,title,lead_organisation,status,progress_percent\n'),
          'csv',
        )
      ).problems[0]!.message,
    ).toBe('The file has a header row but no actions');
    await expect(readSpreadsheet(Buffer.from([0xff, 0xfe, 0x41, 0x00]), 'csv')).rejects.toThrow(
      /not UTF-8/,
    );
  });

  it('refuses changes to actions led by organisations the importer does not edit for, but not unchanged rows', () => {
    const row = (reference: string, lead: string, title: string) => ({
      row: 2,
      values: {
        reference,
        parent_reference: '',
        area: 'Medicines',
        title,
        description: '',
        lead_organisation: lead,
        partner_organisations: '',
        owner_email: '',
        start_date: '',
        due_date: '',
        status: 'On track',
        progress_percent: '10',
        weight: '1',
        milestones: '',
      },
    });
    const limited: ImportContext = {
      ...context,
      canChangeActionsLedBy: (code) => code === 'RT5',
      existing: [
        {
          id: 'a',
          reference: 'X-1',
          parentReference: null,
          areaId: 'area-1',
          title: 'Same',
          description: '',
          leadOrganisationCode: 'RWE',
          partnerOrganisationCodes: [],
          ownerUserId: null,
          startDate: null,
          dueDate: null,
          status: 'on_track',
          progressPercent: 10,
          weight: 1,
          milestones: [],
        },
      ],
    };
    expect(validateImportRows([row('X-1', 'RWE', 'Same')], limited).problems).toEqual([]);
    expect(validateImportRows([row('X-1', 'RWE', 'Changed')], limited).problems[0]!.message).toBe(
      'You cannot change actions led by University Hospitals of Leicester',
    );
    expect(validateImportRows([row('X-2', 'RWE', 'New')], limited).problems[0]!.message).toBe(
      'You cannot add actions led by University Hospitals of Leicester',
    );
    expect(validateImportRows([row('X-3', 'RT5', 'New')], limited).problems).toEqual([]);
  });

  it('refuses a milestone due before its action starts, unless the action already had it', () => {
    const row = (reference: string, start: string, milestones: string) => ({
      row: 2,
      values: {
        reference,
        parent_reference: '',
        area: 'Medicines',
        title: 'Boilers',
        description: '',
        lead_organisation: 'RWE',
        partner_organisations: '',
        owner_email: '',
        start_date: start,
        due_date: '',
        status: 'On track',
        progress_percent: '10',
        weight: '1',
        milestones,
      },
    });
    expect(
      validateImportRows([row('B-1', '2024-04-01', '2024-03-31 Survey\n2024-05-01 Order')], context)
        .problems,
    ).toEqual([
      {
        row: 2,
        field: 'milestones',
        message:
          'The milestone "Survey" is due on 2024-03-31, before the action starts (2024-04-01)',
      },
    ]);
    expect(
      validateImportRows([row('B-1', '2024-04-01', '2024-04-01 Survey')], context).problems,
    ).toEqual([]);
    expect(validateImportRows([row('B-1', '', '2020-01-01 Survey')], context).problems).toEqual([]);
    // An action recorded before the rule, imported again unchanged, is not refused; a change is.
    const legacy: ImportContext = {
      ...context,
      existing: [
        {
          id: 'b',
          reference: 'B-1',
          parentReference: null,
          areaId: 'area-1',
          title: 'Boilers',
          description: '',
          leadOrganisationCode: 'RWE',
          partnerOrganisationCodes: [],
          ownerUserId: null,
          startDate: '2024-04-01',
          dueDate: null,
          status: 'on_track',
          progressPercent: 10,
          weight: 1,
          milestones: [{ dueDate: '2024-03-31', title: 'Survey', doneOn: null }],
        },
      ],
    };
    expect(
      validateImportRows([row('B-1', '2024-04-01', '2024-03-31 Survey')], legacy).problems,
    ).toEqual([]);
    expect(
      validateImportRows([row('B-1', '2024-04-02', '2024-03-31 Survey')], legacy).problems,
    ).toHaveLength(1);
  });

  it('refuses a milestone marked done after today, unless the action already had it so', () => {
    const row = (milestones: string) => ({
      row: 3,
      values: {
        reference: 'B-2',
        parent_reference: '',
        area: 'Medicines',
        title: 'Chillers',
        description: '',
        lead_organisation: 'RWE',
        partner_organisations: '',
        owner_email: '',
        start_date: '2024-04-01',
        due_date: '',
        status: 'On track',
        progress_percent: '10',
        weight: '1',
        milestones,
      },
    });
    // Today is 2026-06-15 in this context.
    expect(
      validateImportRows([row('2025-03-31 Survey (done 2099-01-01)')], context).problems,
    ).toEqual([
      {
        row: 3,
        field: 'milestones',
        message: 'The milestone "Survey" is marked done on 2099-01-01, after today (2026-06-15)',
      },
    ]);
    expect(
      validateImportRows([row('2025-03-31 Survey (done 2026-06-15)')], context).problems,
    ).toEqual([]);
    const recorded: ImportContext = {
      ...context,
      existing: [
        {
          id: 'c',
          reference: 'B-2',
          parentReference: null,
          areaId: 'area-1',
          title: 'Chillers',
          description: '',
          leadOrganisationCode: 'RWE',
          partnerOrganisationCodes: [],
          ownerUserId: null,
          startDate: '2024-04-01',
          dueDate: null,
          status: 'on_track',
          progressPercent: 10,
          weight: 1,
          milestones: [{ dueDate: '2025-03-31', title: 'Survey', doneOn: '2099-01-01' }],
        },
      ],
    };
    expect(
      validateImportRows([row('2025-03-31 Survey (done 2099-01-01)')], recorded).problems,
    ).toEqual([]);
  });

  it('refuses moving a parent to another area while its sub-actions stay behind', () => {
    const row = (rowNumber: number, reference: string, parent: string, area: string) => ({
      row: rowNumber,
      values: {
        reference,
        parent_reference: parent,
        area,
        title: 'Boilers',
        description: '',
        lead_organisation: 'RWE',
        partner_organisations: '',
        owner_email: '',
        start_date: '',
        due_date: '',
        status: 'On track',
        progress_percent: '10',
        weight: '1',
        milestones: '',
      },
    });
    const existing = (reference: string, parentReference: string | null) => ({
      id: reference,
      reference,
      parentReference,
      areaId: 'area-1',
      title: 'Boilers',
      description: '',
      leadOrganisationCode: 'RWE',
      partnerOrganisationCodes: [],
      ownerUserId: null,
      startDate: null,
      dueDate: null,
      status: 'on_track' as const,
      progressPercent: 10,
      weight: 1,
      milestones: [],
    });
    const tree: ImportContext = {
      ...context,
      existing: [existing('P-1', null), existing('P-1.1', 'P-1'), existing('P-1.2', 'P-1')],
    };
    expect(validateImportRows([row(2, 'P-1', '', 'Travel and transport')], tree).problems).toEqual([
      {
        row: 2,
        field: 'area',
        message:
          'A sub-action is in the same area as its parent, and P-1.1, P-1.2 are in Medicines: move them too, or keep this action there',
      },
    ]);
    // Moved together, or with the sub-actions that stay behind given another parent, it is fine.
    expect(
      validateImportRows(
        [
          row(2, 'P-1', '', 'Travel and transport'),
          row(3, 'P-1.1', 'P-1', 'Travel and transport'),
          row(4, 'P-1.2', 'P-1', 'Travel and transport'),
        ],
        tree,
      ).problems,
    ).toEqual([]);
    expect(
      validateImportRows(
        [
          row(2, 'P-1', '', 'Travel and transport'),
          row(3, 'P-1.1', 'P-1', 'Travel and transport'),
          row(4, 'P-1.2', '', 'Medicines'),
        ],
        tree,
      ).problems,
    ).toEqual([]);
    expect(validateImportRows([row(2, 'P-1', '', 'Medicines')], tree).problems).toEqual([]);
  });

  it('orders parents before their children', () => {
    const ordered = parentsFirst([
      { reference: 'c', parentReference: 'b' },
      { reference: 'b', parentReference: 'a' },
      { reference: 'a', parentReference: null },
    ]);
    expect(ordered.map((item) => item.reference)).toEqual(['a', 'b', 'c']);
  });
});

describe('zip inspection before parsing a workbook', () => {
  const small = {
    ...zipLimits,
    maxTotalUncompressedBytes: 200_000,
    maxEntryUncompressedBytes: 100_000,
    ratioCheckFromBytes: 10_000,
    maxCompressionRatio: 20,
  };

  it('passes an ordinary archive', async () => {
    const result = await inspectZipArchive(buildZip(workbookLikeEntries()), small);
    expect(result.entries).toBe(2);
  });

  it('refuses an entry that declares too much, or compresses too far', async () => {
    const big = buildZip([{ name: 'a.xml', data: Buffer.alloc(150_000, 0x41) }]);
    await expect(inspectZipArchive(big, small)).rejects.toThrow(/unpacks to more than/);
    const dense = buildZip([{ name: 'a.xml', data: Buffer.alloc(50_000, 0x41) }]);
    await expect(inspectZipArchive(dense, small)).rejects.toThrow(/compressed more than 20 to 1/);
    const many = buildZip(
      Array.from({ length: 12 }, (_, index) => ({
        name: `p${index}.xml`,
        data: Buffer.alloc(9_000, index),
      })),
    );
    await expect(
      inspectZipArchive(many, {
        ...small,
        maxTotalUncompressedBytes: 100_000,
        maxCompressionRatio: 1e9,
      }),
    ).rejects.toThrow(/unpacks to more than/);
    await expect(inspectZipArchive(many, { ...small, maxEntries: 5 })).rejects.toThrow(
      /holds 12 parts/,
    );
  });

  it('counts what really inflates when the directory lies about sizes', async () => {
    const liar = buildZip([
      { name: 'a.xml', data: Buffer.alloc(150_000, 0x41), declaredSize: 1_000 },
    ]);
    await expect(
      inspectZipArchive(liar, { ...small, maxCompressionRatio: 1e9 }),
    ).rejects.toBeInstanceOf(UnsafeArchiveError);
  });

  it('refuses something that is not a zip archive', async () => {
    await expect(inspectZipArchive(Buffer.from('not a zip'), small)).rejects.toThrow(
      /not a valid Excel workbook/,
    );
  });
});

describe('reading workbook cells', () => {
  it('reads a percentage-formatted number as shown, and never writes a number in exponent form', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Sheet 1');
    sheet.addRow(['date', 'value', 'tiny', 'share', 'quoted']);
    const row = sheet.addRow(['2024-03-31', 0.05, 1e-7, 0.125, 50]);
    row.getCell(2).numFmt = '0%';
    row.getCell(4).numFmt = '0.0%';
    // A % in quotes is printed as it stands: the number is not a fraction.
    row.getCell(5).numFmt = '0"%"';
    const rows = await readSpreadsheetTable(Buffer.from(await workbook.xlsx.writeBuffer()), 'xlsx');
    expect(rows[1]!.cells).toEqual(['2024-03-31', '5%', '0.0000001', '12.5%', '50']);
  });
});
