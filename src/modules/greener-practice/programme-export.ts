import ExcelJS from 'exceljs';
import { measureDefinitions, measureIds } from '../prescribing/measures.calculations.ts';
import { csvField } from '../../lib/csv.ts';
import { ukCalendarDate } from '../../lib/uk-time.ts';
import { awardLevelLabels } from './framework.calculations.ts';
import type { ProgrammeRow } from './programme.service.ts';

/**
 * Programme data as files: one row per practice, in CSV (UTF-8 with a byte-order mark, CRLF) and
 * in an XLSX workbook with a second sheet describing every column.
 */

export interface ExportColumn {
  name: string;
  description: string;
  value(row: ProgrammeRow): string | number | null;
}

const statusLabels: Record<ProgrammeRow['status'], string> = {
  not_started: 'Not started',
  in_progress: 'In progress',
  submitted: 'Submitted for verification',
  returned: 'Returned for changes',
  awarded: 'Awarded',
};

export function exportColumns(measuresMonth: string | null): ExportColumn[] {
  const month = measuresMonth ?? 'no month held';
  return [
    {
      name: 'practice_code',
      description: 'ODS code of the GP practice.',
      value: (row) => row.code,
    },
    { name: 'practice_name', description: 'Name of the practice.', value: (row) => row.name },
    {
      name: 'pcn_code',
      description: 'Primary care network (ODS code).',
      value: (row) => row.pcnCode,
    },
    { name: 'pcn_name', description: 'Primary care network.', value: (row) => row.pcnName },
    {
      name: 'sub_icb_code',
      description: 'Sub-ICB location (ODS code).',
      value: (row) => row.subIcbCode,
    },
    { name: 'sub_icb_name', description: 'Sub-ICB location.', value: (row) => row.subIcbName },
    {
      name: 'registered_patients',
      description: 'Registered patients (NHS England, April 2026).',
      value: (row) => row.registeredPatients,
    },
    {
      name: 'imd2019_score',
      description:
        'Deprivation score (IMD 2019) of the practice population (OHID Fingertips 93553).',
      value: (row) => row.imd2019Score,
    },
    {
      name: 'imd2019_quintile',
      description: 'National IMD 2019 quintile among GP practices: 1 = most deprived, 5 = least.',
      value: (row) => row.imd2019Quintile,
    },
    {
      name: 'taking_part',
      description: 'yes when the practice has an assessment this programme year.',
      value: (row) => (row.participating ? 'yes' : 'no'),
    },
    {
      name: 'status',
      description: 'Where the assessment stands.',
      value: (row) => statusLabels[row.status],
    },
    {
      name: 'points',
      description: 'Self-assessment points: the points of the actions marked done.',
      value: (row) => row.points,
    },
    {
      name: 'level_reached',
      description:
        'The highest level the answers qualify for (points and required actions), verified or not.',
      value: (row) => (row.levelReached ? awardLevelLabels[row.levelReached] : ''),
    },
    {
      name: 'award',
      description: 'The highest award verified by the ICS this programme year.',
      value: (row) => (row.award ? awardLevelLabels[row.award] : ''),
    },
    {
      name: 'awarded_on',
      description: 'The date of that award in the UK (YYYY-MM-DD).',
      value: (row) => (row.awardedAt ? ukCalendarDate(row.awardedAt) : ''),
    },
    {
      name: 'example',
      description: 'yes for example assessments loaded with Greenspace to show how it works.',
      value: (row) => (row.isExample ? 'yes' : 'no'),
    },
    ...measureIds.flatMap((id): ExportColumn[] => [
      {
        name: id,
        description: `${measureDefinitions[id].title} (${measureDefinitions[id].unit}), ${month}, from the English Prescribing Dataset. Traced to its rows at /prescribing/practices/CODE.`,
        value: (row) => row.measures[id]?.value ?? null,
      },
      {
        name: `${id}-decile`,
        description: `National decile of the practice on ${id} in ${month}: 1 holds the lowest values.`,
        value: (row) => row.measures[id]?.decile ?? null,
      },
    ]),
  ];
}

/** A CSV cell: empty for no value; a number as written, since no number is a formula. */
function cell(value: string | number | null): string {
  if (value === null) return '';
  return typeof value === 'number' ? String(value) : csvField(value);
}

export function programmeCsv(rows: readonly ProgrammeRow[], measuresMonth: string | null): string {
  const columns = exportColumns(measuresMonth);
  const lines = [columns.map((column) => column.name).join(',')];
  for (const row of rows) lines.push(columns.map((column) => cell(column.value(row))).join(','));
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

export async function programmeXlsx(
  rows: readonly ProgrammeRow[],
  measuresMonth: string | null,
  title: string,
): Promise<Buffer> {
  const columns = exportColumns(measuresMonth);
  const workbook = new ExcelJS.Workbook();
  workbook.creator = 'Greenspace';
  workbook.title = title;
  const sheet = workbook.addWorksheet('Practices', { views: [{ state: 'frozen', ySplit: 1 }] });
  sheet.columns = columns.map((column) => ({
    header: column.name,
    key: column.name,
    width: column.name.endsWith('_name') ? 36 : 16,
  }));
  sheet.getRow(1).font = { bold: true };
  for (const row of rows)
    sheet.addRow(Object.fromEntries(columns.map((column) => [column.name, column.value(row)])));
  const guide = workbook.addWorksheet('Columns');
  guide.columns = [
    { header: 'column', key: 'name', width: 36 },
    { header: 'meaning', key: 'description', width: 110 },
  ];
  guide.getRow(1).font = { bold: true };
  for (const column of columns)
    guide.addRow({ name: column.name, description: column.description });
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
