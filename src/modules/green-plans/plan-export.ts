import { csvField } from '../../lib/csv.ts';
import ExcelJS from 'exceljs';
import { actionStatusLabels } from './progress.calculations.ts';
import {
  formatMilestones,
  importColumnNames,
  importColumns,
  type ActionFields,
  type ImportColumn,
} from './plan-import.ts';

/**
 * Export of a plan's actions in the import format, so that an exported file imports back with
 * every field unchanged.
 */

export interface ExportAction extends ActionFields {
  areaName: string;
  ownerEmail: string | null;
}

export function exportRecord(action: ExportAction): Record<ImportColumn, string> {
  return {
    reference: action.reference,
    parent_reference: action.parentReference ?? '',
    area: action.areaName,
    title: action.title,
    description: action.description,
    lead_organisation: action.leadOrganisationCode,
    partner_organisations: action.partnerOrganisationCodes.join('; '),
    owner_email: action.ownerEmail ?? '',
    start_date: action.startDate ?? '',
    due_date: action.dueDate ?? '',
    status: actionStatusLabels[action.status],
    progress_percent: String(action.progressPercent),
    weight: String(action.weight),
    milestones: formatMilestones(action.milestones),
  };
}

/** UTF-8 CSV with a byte-order mark (so Excel reads it as UTF-8) and CRLF line ends. */
export function exportCsv(actions: readonly ExportAction[]): string {
  const lines = [importColumnNames.join(',')];
  for (const action of actions) {
    const record = exportRecord(action);
    lines.push(importColumnNames.map((column) => csvField(record[column])).join(','));
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

/**
 * An XLSX workbook: the actions on a sheet called Actions (dates as date cells, numbers as
 * numbers, a frozen header), and a second sheet that explains each column.
 */
export async function exportXlsx(
  actions: readonly ExportAction[],
  planTitle: string,
): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = 'Greenspace';
  workbook.title = planTitle;
  const sheet = workbook.addWorksheet('Actions', { views: [{ state: 'frozen', ySplit: 1 }] });
  sheet.columns = importColumns.map((column) => ({
    header: column.name,
    key: column.name,
    width:
      column.name === 'description' || column.name === 'milestones'
        ? 50
        : column.name === 'title'
          ? 40
          : 16,
  }));
  sheet.getRow(1).font = { bold: true };
  for (const action of actions) {
    const record = exportRecord(action);
    // Text in a workbook is never run as a formula, so it needs no guard; but text that already
    // starts with apostrophes before a formula character gets one more, as the import takes one off.
    const guarded = Object.fromEntries(
      Object.entries(record).map(([column, value]) => [
        column,
        /^'+[=+\-@\t\r]/.test(value) ? `'${value}` : value,
      ]),
    );
    const row = sheet.addRow({
      ...guarded,
      start_date: action.startDate ? new Date(`${action.startDate}T00:00:00Z`) : null,
      due_date: action.dueDate ? new Date(`${action.dueDate}T00:00:00Z`) : null,
      progress_percent: action.progressPercent,
      weight: action.weight,
    });
    for (const key of ['start_date', 'due_date'] as const) row.getCell(key).numFmt = 'yyyy-mm-dd';
    for (const key of ['description', 'milestones'] as const)
      row.getCell(key).alignment = { wrapText: true, vertical: 'top' };
  }
  const guide = workbook.addWorksheet('Columns');
  guide.columns = [
    { header: 'column', key: 'name', width: 24 },
    { header: 'meaning', key: 'description', width: 100 },
  ];
  guide.getRow(1).font = { bold: true };
  for (const column of importColumns)
    guide.addRow({ name: column.name, description: column.description });
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
