import ExcelJS from 'exceljs';
import { parse } from 'csv-parse/sync';
import {
  actionStatusLabels,
  actionStatuses,
  isActionStatus,
  isIsoDate,
  type ActionStatus,
} from './progress.calculations.ts';
import { inspectZipArchive, UnsafeArchiveError } from './zip-inspection.ts';

/**
 * The spreadsheet format of a plan's actions, shared by import and export, and the parsing and
 * validation of an import. Everything here is pure apart from reading the bytes given: the
 * service looks up organisations and people and passes what it found in.
 */

export const importColumns = [
  {
    name: 'reference',
    description:
      'Your reference for the action, unique in the plan (such as MED-01). Re-imports match on it.',
  },
  {
    name: 'parent_reference',
    description:
      'The reference of the action this is a sub-action of; blank for a top-level action.',
  },
  {
    name: 'area',
    description:
      "The area of focus, by name (such as Medicines) or by the plan's short name for it.",
  },
  { name: 'title', description: 'What will be done, in at most 200 characters.' },
  { name: 'description', description: 'More detail, in at most 5,000 characters; may span lines.' },
  {
    name: 'lead_organisation',
    description: 'ODS code of the organisation leading the action (such as RWE).',
  },
  {
    name: 'partner_organisations',
    description: 'ODS codes of partner organisations, separated by semicolons.',
  },
  {
    name: 'owner_email',
    description:
      'Email address of the Greenspace account that owns the action; blank for none yet.',
  },
  { name: 'start_date', description: 'YYYY-MM-DD, or a date cell in a workbook.' },
  { name: 'due_date', description: 'YYYY-MM-DD, or a date cell; on or after the start date.' },
  {
    name: 'status',
    description: `One of: ${actionStatuses.map((status) => actionStatusLabels[status]).join(', ')}.`,
  },
  {
    name: 'progress_percent',
    description: 'A whole number from 0 to 100; 100 for a complete action.',
  },
  {
    name: 'weight',
    description:
      'How much the action counts among its siblings: a number above 0, at most 1,000; blank means 1.',
  },
  {
    name: 'milestones',
    description: 'One per line: "YYYY-MM-DD Title", with " (done YYYY-MM-DD)" once done.',
  },
] as const;

export type ImportColumn = (typeof importColumns)[number]['name'];
export const importColumnNames: readonly ImportColumn[] = importColumns.map(
  (column) => column.name,
);
const requiredColumns: readonly ImportColumn[] = [
  'reference',
  'area',
  'title',
  'lead_organisation',
  'status',
  'progress_percent',
];

/** Largest number of action rows one import may hold. */
export const MAX_IMPORT_ROWS = 5000;

export const fieldLabels: Record<ImportColumn, string> = {
  reference: 'reference',
  parent_reference: 'parent reference',
  area: 'area',
  title: 'title',
  description: 'description',
  lead_organisation: 'lead organisation',
  partner_organisations: 'partner organisations',
  owner_email: 'owner email',
  start_date: 'start date',
  due_date: 'due date',
  status: 'status',
  progress_percent: 'progress',
  weight: 'weight',
  milestones: 'milestones',
};

export interface RawRow {
  /** The row's number as the person sees it in their spreadsheet: the header is row 1. */
  row: number;
  values: Record<ImportColumn, string>;
}

export interface ImportProblem {
  /** Undefined for a problem with the whole file. */
  row?: number;
  field?: ImportColumn;
  message: string;
}

export interface Milestone {
  dueDate: string;
  title: string;
  doneOn: string | null;
}

/** An action as the spreadsheet describes it, every field normalised. */
export interface ActionFields {
  reference: string;
  parentReference: string | null;
  areaId: string;
  title: string;
  description: string;
  leadOrganisationCode: string;
  /** Sorted, without repeats. */
  partnerOrganisationCodes: string[];
  ownerUserId: string | null;
  startDate: string | null;
  dueDate: string | null;
  status: ActionStatus;
  progressPercent: number;
  weight: number;
  /** In due-date order. */
  milestones: Milestone[];
}

export interface ImportedAction extends ActionFields {
  row: number;
}

export interface ExistingAction extends ActionFields {
  id: string;
}

export interface ImportContext {
  areas: readonly { id: string; slug: string; name: string }[];
  existing: readonly ExistingAction[];
  /** The organisations found among the codes in the file (current ones only). */
  organisations: ReadonlyMap<string, { code: string; name: string }>;
  /** Active accounts found among the owner emails (lower case), with their organisations. */
  owners: ReadonlyMap<string, { userId: string; organisationCodes: readonly string[] }>;
  planOrganisationCode: string;
  /** Today's UK date (YYYY-MM-DD): a milestone cannot have been done after it. */
  today: string;
  /** Whether the person importing may change an action led by this organisation. */
  canChangeActionsLedBy(code: string): boolean;
}

export class SpreadsheetRefused extends Error {
  override name = 'SpreadsheetRefused';
}

// --- reading files ---

/** Reads a CSV or XLSX file into rows of text, or refuses the file as a whole. */
export async function readSpreadsheet(
  bytes: Buffer,
  kind: 'csv' | 'xlsx',
): Promise<{ rows: RawRow[]; problems: ImportProblem[] }> {
  return tableToRows({ rows: await readSpreadsheetTable(bytes, kind, { sheet: 'Actions' }) });
}

/**
 * Reads a CSV (UTF-8) or XLSX file into rows of cell text, each with its number as a spreadsheet
 * program shows it (the header is row 1); of a workbook, the sheet named `sheet` if it has one,
 * else the first. Throws SpreadsheetRefused for a file that cannot be read at all.
 */
export async function readSpreadsheetTable(
  bytes: Buffer,
  kind: 'csv' | 'xlsx',
  options: { sheet?: string } = {},
): Promise<Table['rows']> {
  return (kind === 'csv' ? readCsvTable(bytes) : await readXlsxTable(bytes, options.sheet)).rows;
}

interface Table {
  /** Each row with its number (1 = the header). */
  rows: { row: number; cells: string[] }[];
}

function readCsvTable(bytes: Buffer): Table {
  let text: string;
  try {
    // A fatal decoder refuses bytes that are not UTF-8, while a U+FFFD written in a cell (the
    // replacement character is a character like any other) reads back as itself.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SpreadsheetRefused(
      'The selected CSV file is not UTF-8 text. Save it as "CSV UTF-8" and try again',
    );
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      bom: true,
      relax_column_count: true,
      info: true,
    }) as unknown as typeof records;
  } catch (error) {
    const reason = (error as Error).message.replace(/ on line \d+$/, '');
    throw new SpreadsheetRefused(`The selected file is not valid CSV: ${reason}`);
  }
  // csv-parse reports the line each record ends on; a record's number is its position, as in a
  // spreadsheet program, which is what people see when they open the file.
  return {
    rows: records.map((entry, index) => ({
      row: index + 1,
      cells: entry.record.map(withoutFormulaGuard),
    })),
  };
}

async function readXlsxTable(bytes: Buffer, sheetName: string | undefined): Promise<Table> {
  try {
    await inspectZipArchive(bytes);
  } catch (error) {
    if (error instanceof UnsafeArchiveError) throw new SpreadsheetRefused(error.message);
    throw error;
  }
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
  } catch {
    throw new SpreadsheetRefused('The selected file is not a valid Excel workbook (.xlsx)');
  }
  const sheet =
    (sheetName ? workbook.getWorksheet(sheetName) : undefined) ?? workbook.worksheets[0];
  if (!sheet) throw new SpreadsheetRefused('The selected workbook has no worksheets');
  const rows: Table['rows'] = [];
  const width = Math.min(sheet.columnCount, 100);
  sheet.eachRow({ includeEmpty: false }, (row, rowNumber) => {
    const cells: string[] = [];
    // A CSV export opened and saved as a workbook may keep the apostrophe guard as text.
    for (let column = 1; column <= width; column++) {
      const cell = row.getCell(column);
      cells.push(withoutFormulaGuard(percentText(cell) ?? cellText(cell.value)));
    }
    rows.push({ row: rowNumber, cells });
  });
  return { rows };
}

/**
 * Exports put an apostrophe before a value a spreadsheet would run as a formula, and before one
 * that already starts with apostrophes and such a character; take one off.
 */
function withoutFormulaGuard(cell: string): string {
  return /^'+[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
}

/**
 * A number a workbook shows as a percentage, as it is shown ("5%"), not as stored (0.05): read as a
 * plain number it would be a hundred times too small, with nothing to say so.
 */
function percentText(cell: ExcelJS.Cell): string | null {
  const value =
    typeof cell.value === 'object' && cell.value !== null && 'result' in cell.value
      ? cell.value.result
      : cell.value;
  // A quoted or escaped % in a format ("0\"%\"", "0\\%") is printed as it is, not a percentage.
  const format = (cell.numFmt ?? '').replace(/"[^"]*"|\\./g, '');
  if (typeof value !== 'number' || !format.includes('%')) return null;
  const percent = Math.round(value * 100 * 1e9) / 1e9;
  return `${percent.toLocaleString('en-GB', { useGrouping: false, maximumFractionDigits: 20 })}%`;
}

/** A cell's value as text: dates as YYYY-MM-DD, formulas by their result, rich text joined. */
export function cellText(value: ExcelJS.CellValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  // Digits, never an exponent (1e-7), which no field of ours reads.
  if (typeof value === 'number')
    return value.toLocaleString('en-GB', { useGrouping: false, maximumFractionDigits: 20 });
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? '' : value.toISOString().slice(0, 10);
  if (typeof value === 'object') {
    if ('richText' in value) return value.richText.map((part) => part.text).join('');
    if ('hyperlink' in value && 'text' in value) return cellText(value.text as ExcelJS.CellValue);
    if ('result' in value) return cellText(value.result as ExcelJS.CellValue);
    if ('error' in value) return String(value.error);
  }
  return '';
}

function tableToRows(table: Table): { rows: RawRow[]; problems: ImportProblem[] } {
  const [header, ...body] = table.rows;
  if (!header)
    return {
      rows: [],
      problems: [{ message: 'The file is empty: it needs a header row and a row for each action' }],
    };
  const names = header.cells.map((cell) => cell.trim().toLowerCase().replace(/\s+/g, '_'));
  const missing = requiredColumns.filter((column) => !names.includes(column));
  if (missing.length > 0) {
    return {
      rows: [],
      problems: [
        {
          row: header.row,
          message: `The header row is missing the column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}. The columns are: ${importColumnNames.join(', ')}`,
        },
      ],
    };
  }
  const problems: ImportProblem[] = [];
  const repeated = names.filter((name, index) => name !== '' && names.indexOf(name) !== index);
  if (repeated.length > 0)
    problems.push({
      row: header.row,
      message: `The header row names ${[...new Set(repeated)].join(', ')} more than once`,
    });
  const rows: RawRow[] = [];
  for (const line of body) {
    if (line.cells.every((cell) => cell.trim() === '')) continue;
    const values = {} as Record<ImportColumn, string>;
    for (const column of importColumnNames) {
      const index = names.indexOf(column);
      values[column] = index === -1 ? '' : (line.cells[index] ?? '').replace(/\r\n?/g, '\n').trim();
    }
    rows.push({ row: line.row, values });
  }
  if (rows.length === 0) problems.push({ message: 'The file has a header row but no actions' });
  if (rows.length > MAX_IMPORT_ROWS)
    problems.push({
      message: `The file has ${rows.length} actions; one import may hold at most ${MAX_IMPORT_ROWS}`,
    });
  return { rows, problems };
}

// --- validating rows ---

const referencePattern = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$/;
// `s`: a title may hold any character but the newline that separates milestones, including the
// Unicode line separators that `.` would otherwise refuse (a title exported must import again).
const milestonePattern = /^(\S+) (.+?)(?: \(done (\S+)\))?$/s;

/** A status as a key ("on_track") or as its label ("On track"), in any case. */
export function statusFromText(text: string): ActionStatus | undefined {
  const key = text
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  if (isActionStatus(key)) return key;
  return actionStatuses.find(
    (status) => actionStatusLabels[status].toLowerCase() === text.trim().toLowerCase(),
  );
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(12)));
}

/** Splits "RWE; RT5, QK1" into codes. */
export function splitCodes(text: string): string[] {
  return text
    .split(/[;,\n]/)
    .map((code) => code.trim().toUpperCase())
    .filter((code) => code !== '');
}

export function parseMilestones(text: string): Milestone[] | string {
  const milestones: Milestone[] = [];
  for (const line of text
    .split('\n')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const match = milestonePattern.exec(line);
    if (!match || !isIsoDate(match[1]!) || (match[3] !== undefined && !isIsoDate(match[3])))
      return `"${line.slice(0, 60)}" is not a milestone: write one per line as "YYYY-MM-DD Title", adding " (done YYYY-MM-DD)" once done`;
    if (match[2]!.length > 200) return 'A milestone title must be 200 characters or fewer';
    milestones.push({ dueDate: match[1]!, title: match[2]!, doneOn: match[3] ?? null });
  }
  return sortMilestones(milestones);
}

export function sortMilestones(milestones: Milestone[]): Milestone[] {
  return [...milestones].sort((a, b) =>
    a.dueDate < b.dueDate
      ? -1
      : a.dueDate > b.dueDate
        ? 1
        : a.title < b.title
          ? -1
          : a.title > b.title
            ? 1
            : 0,
  );
}

export function formatMilestones(milestones: readonly Milestone[]): string {
  return milestones
    .map(
      (milestone) =>
        `${milestone.dueDate} ${milestone.title}${milestone.doneOn ? ` (done ${milestone.doneOn})` : ''}`,
    )
    .join('\n');
}

/**
 * Checks every field of every row and returns every problem found (not only the first), with the
 * actions normalised. Nothing may be committed while any problem remains.
 */
export function validateImportRows(
  rows: readonly RawRow[],
  context: ImportContext,
): { problems: ImportProblem[]; actions: ImportedAction[] } {
  const problems: ImportProblem[] = [];
  const actions: ImportedAction[] = [];
  const add = (row: number, field: ImportColumn, message: string) =>
    problems.push({ row, field, message });
  const existingByReference = new Map(context.existing.map((action) => [action.reference, action]));
  const areaByKey = new Map<string, { id: string; name: string }>();
  for (const area of context.areas) {
    areaByKey.set(area.name.toLowerCase(), area);
    areaByKey.set(area.slug.toLowerCase(), area);
  }
  const rowsByReference = new Map<string, number[]>();
  for (const raw of rows) {
    const reference = raw.values.reference;
    if (reference)
      rowsByReference.set(reference, [...(rowsByReference.get(reference) ?? []), raw.row]);
  }
  const areaOfReference = new Map<string, string>();
  for (const action of context.existing) areaOfReference.set(action.reference, action.areaId);
  for (const raw of rows) {
    const area = areaByKey.get(raw.values.area.toLowerCase());
    if (raw.values.reference && area) areaOfReference.set(raw.values.reference, area.id);
  }

  for (const raw of rows) {
    const v = raw.values;
    const before = problems.length;

    const reference = v.reference;
    if (reference === '') add(raw.row, 'reference', 'Enter a reference for the action');
    else if (!referencePattern.test(reference))
      add(
        raw.row,
        'reference',
        'The reference must be at most 40 letters, digits, dots, dashes, underscores or slashes, starting with a letter or digit',
      );
    else if ((rowsByReference.get(reference) ?? []).length > 1)
      add(
        raw.row,
        'reference',
        `The reference ${reference} is on rows ${rowsByReference.get(reference)!.join(' and ')}: each action needs its own`,
      );

    const parentReference = v.parent_reference === '' ? null : v.parent_reference;
    if (parentReference !== null) {
      if (parentReference === reference)
        add(raw.row, 'parent_reference', 'An action cannot be its own parent');
      else if (!rowsByReference.has(parentReference) && !existingByReference.has(parentReference))
        add(
          raw.row,
          'parent_reference',
          `No action has the reference ${parentReference}, in the file or in the plan`,
        );
    }

    const area = areaByKey.get(v.area.toLowerCase());
    if (v.area === '') add(raw.row, 'area', 'Enter the area of focus');
    else if (!area)
      add(
        raw.row,
        'area',
        `"${v.area.slice(0, 60)}" is not an area of focus of this plan. Use one of: ${context.areas.map((item) => item.name).join('; ')}`,
      );
    else if (parentReference !== null) {
      const parentArea = areaOfReference.get(parentReference);
      if (parentArea !== undefined && parentArea !== area.id) {
        const parentAreaName =
          context.areas.find((item) => item.id === parentArea)?.name ?? 'another area';
        add(raw.row, 'area', `A sub-action is in the same area as its parent (${parentAreaName})`);
      }
    }
    if (area && reference !== '' && existingByReference.get(reference)?.areaId !== area.id) {
      // Sub-actions the file does not mention stay where they are, so their parent must too.
      const strayChildren = context.existing.filter(
        (child) =>
          child.parentReference === reference &&
          !rowsByReference.has(child.reference) &&
          child.areaId !== area.id,
      );
      if (strayChildren.length > 0) {
        const childAreaName =
          context.areas.find((item) => item.id === strayChildren[0]!.areaId)?.name ??
          'another area';
        add(
          raw.row,
          'area',
          `A sub-action is in the same area as its parent, and ${strayChildren
            .map((child) => child.reference)
            .join(', ')
            .slice(
              0,
              200,
            )} ${strayChildren.length > 1 ? 'are' : 'is'} in ${childAreaName}: move ${strayChildren.length > 1 ? 'them' : 'it'} too, or keep this action there`,
        );
      }
    }

    if (v.title === '') add(raw.row, 'title', 'Enter a title');
    else if (v.title.length > 200)
      add(raw.row, 'title', 'The title must be 200 characters or fewer');
    if (v.description.length > 5000)
      add(raw.row, 'description', 'The description must be 5,000 characters or fewer');

    const lead = v.lead_organisation.trim().toUpperCase();
    if (lead === '') add(raw.row, 'lead_organisation', "Enter the lead organisation's ODS code");
    else if (!context.organisations.has(lead))
      add(
        raw.row,
        'lead_organisation',
        `No organisation in Greenspace has the ODS code ${lead.slice(0, 20)}`,
      );

    const partners = [...new Set(splitCodes(v.partner_organisations))].sort();
    const unknownPartners = partners.filter((code) => !context.organisations.has(code));
    if (unknownPartners.length > 0)
      add(
        raw.row,
        'partner_organisations',
        `No organisation in Greenspace has the ODS code${unknownPartners.length > 1 ? 's' : ''} ${unknownPartners.join(', ').slice(0, 100)}`,
      );
    if (lead !== '' && partners.includes(lead))
      add(raw.row, 'partner_organisations', 'The lead organisation cannot also be a partner');

    let ownerUserId: string | null = null;
    const ownerEmail = v.owner_email.trim().toLowerCase();
    if (ownerEmail !== '') {
      const owner = context.owners.get(ownerEmail);
      if (!owner)
        add(
          raw.row,
          'owner_email',
          `No active Greenspace account has the email address ${ownerEmail.slice(0, 100)}`,
        );
      else {
        const allowed = new Set([lead, ...partners, context.planOrganisationCode]);
        if (!owner.organisationCodes.some((code) => allowed.has(code)))
          add(
            raw.row,
            'owner_email',
            `${ownerEmail} is not a member of the lead organisation, a partner organisation or the plan's organisation`,
          );
        else ownerUserId = owner.userId;
      }
    }

    const startDate = v.start_date === '' ? null : v.start_date;
    const dueDate = v.due_date === '' ? null : v.due_date;
    if (startDate !== null && !isIsoDate(startDate))
      add(
        raw.row,
        'start_date',
        `The start date must be a real date written YYYY-MM-DD, not "${startDate.slice(0, 30)}"`,
      );
    if (dueDate !== null && !isIsoDate(dueDate))
      add(
        raw.row,
        'due_date',
        `The due date must be a real date written YYYY-MM-DD, not "${dueDate.slice(0, 30)}"`,
      );
    else if (startDate !== null && dueDate !== null && isIsoDate(startDate) && dueDate < startDate)
      add(
        raw.row,
        'due_date',
        `The due date (${dueDate}) must be on or after the start date (${startDate})`,
      );

    const status = statusFromText(v.status);
    if (!status)
      add(
        raw.row,
        'status',
        `The status must be one of: ${actionStatuses.map((item) => actionStatusLabels[item]).join(', ')}`,
      );

    const progressText = v.progress_percent.replace(/%$/, '').trim();
    const progress = Number(progressText);
    if (
      progressText === '' ||
      !/^-?\d+(\.0+)?$/.test(progressText) ||
      progress < 0 ||
      progress > 100
    )
      add(
        raw.row,
        'progress_percent',
        `The progress must be a whole number from 0 to 100, not "${v.progress_percent.slice(0, 20)}"`,
      );
    else if (status === 'complete' && progress !== 100)
      add(raw.row, 'progress_percent', 'A complete action must be at 100% progress');

    const weight = v.weight === '' ? 1 : Number(v.weight);
    if (!Number.isFinite(weight) || weight <= 0 || weight > 1000)
      add(
        raw.row,
        'weight',
        `The weight must be a number above 0 and at most 1,000, not "${v.weight.slice(0, 20)}"`,
      );

    const milestones = parseMilestones(v.milestones);
    if (typeof milestones === 'string') add(raw.row, 'milestones', milestones);
    else {
      // An action already holding such a milestone, with neither changed, is left as it is.
      const current = existingByReference.get(reference);
      const sameMilestones =
        current !== undefined &&
        formatMilestones(current.milestones) === formatMilestones(milestones);
      const doneLater = milestones.find(
        (milestone) => milestone.doneOn !== null && milestone.doneOn > context.today,
      );
      if (doneLater && !sameMilestones)
        add(
          raw.row,
          'milestones',
          `The milestone "${doneLater.title.slice(0, 60)}" is marked done on ${doneLater.doneOn}, after today (${context.today})`,
        );
      else if (startDate !== null && isIsoDate(startDate)) {
        const early = milestones.find((milestone) => milestone.dueDate < startDate);
        const untouched = sameMilestones && current.startDate === startDate;
        if (early && !untouched)
          add(
            raw.row,
            'milestones',
            `The milestone "${early.title.slice(0, 60)}" is due on ${early.dueDate}, before the action starts (${startDate})`,
          );
      }
    }

    if (problems.length === before) {
      actions.push({
        row: raw.row,
        reference,
        parentReference,
        areaId: area!.id,
        title: v.title,
        description: v.description,
        leadOrganisationCode: lead,
        partnerOrganisationCodes: partners,
        ownerUserId,
        startDate,
        dueDate,
        status: status!,
        progressPercent: progress,
        weight,
        milestones: milestones as Milestone[],
      });
    }
  }

  problems.push(...findCycles(rows, context.existing));
  // Permission is needed only for what the file creates or changes: an unchanged row is no change.
  for (const action of actions) {
    const existing = existingByReference.get(action.reference);
    if (existing && actionFieldsEqual(existing, action)) continue;
    const leads = existing
      ? [existing.leadOrganisationCode, action.leadOrganisationCode]
      : [action.leadOrganisationCode];
    const refused = leads.find((code) => !context.canChangeActionsLedBy(code));
    if (refused !== undefined)
      problems.push({
        row: action.row,
        field: 'lead_organisation',
        message: `You cannot ${existing ? 'change' : 'add'} actions led by ${context.organisations.get(refused)?.name ?? refused}`,
      });
  }
  problems.sort(
    (a, b) =>
      (a.row ?? 0) - (b.row ?? 0) ||
      importColumnNames.indexOf(a.field!) - importColumnNames.indexOf(b.field!),
  );
  return { problems, actions: problems.length === 0 ? actions : [] };
}

/** Rows whose parent references, with the plan's other actions, lead round in a loop. */
function findCycles(rows: readonly RawRow[], existing: readonly ExistingAction[]): ImportProblem[] {
  const parentOf = new Map<string, string | null>();
  for (const action of existing) parentOf.set(action.reference, action.parentReference);
  const rowOf = new Map<string, number>();
  for (const raw of rows) {
    const reference = raw.values.reference;
    if (!reference) continue;
    const parent = raw.values.parent_reference || null;
    // An action that names itself is reported as such, not as a loop.
    parentOf.set(reference, parent === reference ? null : parent);
    rowOf.set(reference, raw.row);
  }
  const problems: ImportProblem[] = [];
  const reported = new Set<string>();
  for (const raw of rows) {
    const start = raw.values.reference;
    if (!start || reported.has(start)) continue;
    const path: string[] = [start];
    let current = parentOf.get(start) ?? null;
    while (
      current !== null &&
      current !== start &&
      !path.includes(current) &&
      path.length <= parentOf.size
    ) {
      path.push(current);
      current = parentOf.get(current) ?? null;
    }
    if (current !== start) continue;
    const loop = [...path, start].join(' → ');
    for (const reference of path) {
      reported.add(reference);
      const row = rowOf.get(reference);
      if (row !== undefined)
        problems.push({
          row,
          field: 'parent_reference',
          message: `The parent references go round in a loop: ${loop}`,
        });
    }
  }
  return problems;
}

export function actionFieldsEqual(a: ActionFields, b: ActionFields): boolean {
  return (
    a.reference === b.reference &&
    a.parentReference === b.parentReference &&
    a.areaId === b.areaId &&
    a.title === b.title &&
    a.description === b.description &&
    a.leadOrganisationCode === b.leadOrganisationCode &&
    a.partnerOrganisationCodes.join(';') === b.partnerOrganisationCodes.join(';') &&
    a.ownerUserId === b.ownerUserId &&
    a.startDate === b.startDate &&
    a.dueDate === b.dueDate &&
    a.status === b.status &&
    a.progressPercent === b.progressPercent &&
    a.weight === b.weight &&
    formatMilestones(a.milestones) === formatMilestones(b.milestones)
  );
}

/** Each field of an action as its history records it (all null for an action not yet made). */
function actionFieldTexts(fields: ActionFields | null): Record<string, string | null> {
  return {
    reference: fields?.reference ?? null,
    parent_reference: fields ? fields.parentReference : null,
    area: fields?.areaId ?? null,
    title: fields?.title ?? null,
    description: fields?.description ?? null,
    lead_organisation: fields?.leadOrganisationCode ?? null,
    partner_organisations: fields ? fields.partnerOrganisationCodes.join('; ') : null,
    owner: fields ? fields.ownerUserId : null,
    start_date: fields ? fields.startDate : null,
    due_date: fields ? fields.dueDate : null,
    status: fields?.status ?? null,
    progress_percent: fields ? String(fields.progressPercent) : null,
    weight: fields ? formatNumber(fields.weight) : null,
    milestones: fields ? formatMilestones(fields.milestones) : null,
  };
}

/** The fields that differ, as history records them. */
export function describeDifferences(
  before: ActionFields | null,
  after: ActionFields,
): { field: string; from: string | null; to: string | null }[] {
  const from = actionFieldTexts(before);
  const to = actionFieldTexts(after);
  return Object.keys(to)
    .filter(
      (field) =>
        from[field] !== to[field] && !(before === null && (to[field] === null || to[field] === '')),
    )
    .map((field) => ({ field, from: from[field] ?? null, to: to[field] ?? null }));
}

/**
 * The history fields an action's edit form holds: all but its milestones, which have their own
 * form.
 */
export const editFormHistoryFields: ReadonlySet<string> = new Set(
  Object.keys(actionFieldTexts(null)).filter((field) => field !== 'milestones'),
);

/** What an import will do: create these, change those, leave the rest. */
export function planImportChanges(
  actions: readonly ImportedAction[],
  existing: readonly ExistingAction[],
): {
  create: ImportedAction[];
  change: { action: ImportedAction; existing: ExistingAction }[];
  unchanged: ImportedAction[];
} {
  const byReference = new Map(existing.map((action) => [action.reference, action]));
  const create: ImportedAction[] = [];
  const change: { action: ImportedAction; existing: ExistingAction }[] = [];
  const unchanged: ImportedAction[] = [];
  for (const action of actions) {
    const current = byReference.get(action.reference);
    if (!current) create.push(action);
    else if (actionFieldsEqual(current, action)) unchanged.push(action);
    else change.push({ action, existing: current });
  }
  return { create, change, unchanged };
}

/** Orders actions so that every parent comes before its children (the tree has no cycle). */
export function parentsFirst<T extends { reference: string; parentReference: string | null }>(
  actions: readonly T[],
): T[] {
  const byReference = new Map(actions.map((action) => [action.reference, action]));
  const depth = new Map<string, number>();
  const depthOf = (action: T, guard = 0): number => {
    const known = depth.get(action.reference);
    if (known !== undefined) return known;
    const parent =
      action.parentReference === null ? undefined : byReference.get(action.parentReference);
    const value = parent && guard < actions.length ? depthOf(parent, guard + 1) + 1 : 0;
    depth.set(action.reference, value);
    return value;
  };
  return [...actions]
    .map((action, index) => ({ action, index, depth: depthOf(action) }))
    .sort((a, b) => a.depth - b.depth || a.index - b.index)
    .map((item) => item.action);
}
