import { describe, expect, it } from 'vitest';
import { inflateSync } from 'node:zlib';
import { renderBoardReportPdf } from './board-report.pdf.ts';
import { actionsAsOf, buildBoardReport, type ReportInput } from './board-report.ts';
import { makeQuarter, trajectoryPath } from './progress.calculations.ts';

const change = (
  id: number,
  action: string,
  on: string,
  fields: [string, string | null, string][],
) => ({
  id,
  action_id: action,
  effective_on: on,
  changes: JSON.stringify(fields.map(([field, from, to]) => ({ field, from, to }))),
});

const input: ReportInput = {
  plan: {
    title: 'Plan',
    ownerOrganisationName: 'ICB',
    periodStart: '2023-04-01',
    periodEnd: '2026-03-31',
    isExample: false,
  },
  areas: [
    { id: 'med', name: 'Medicines', slug: 'medicines' },
    { id: 'tt', name: 'Travel and transport', slug: 'travel-and-transport' },
  ],
  actions: [
    {
      id: 'a',
      reference: 'A',
      parentId: null,
      areaId: 'med',
      title: 'Inhalers',
      leadOrganisationName: 'UNIVERSITY HOSPITALS OF LEICESTER NHS TRUST',
      status: 'off_track',
      ownProgress: 40,
      weight: 1,
      dueDate: '2025-03-31',
      milestones: [{ title: 'Formulary', dueDate: '2024-09-30', doneOn: '2024-08-15' }],
    },
    {
      id: 'b',
      reference: 'B',
      parentId: null,
      areaId: 'tt',
      title: 'Fleet',
      leadOrganisationName: 'ICB',
      status: 'complete',
      ownProgress: 100,
      weight: 3,
      dueDate: '2024-12-31',
      milestones: [],
    },
    {
      id: 'c',
      reference: 'C',
      parentId: null,
      areaId: 'tt',
      title: 'Later',
      leadOrganisationName: 'ICB',
      status: 'not_started',
      ownProgress: 0,
      weight: 1,
      dueDate: null,
      milestones: [],
    },
  ],
  changes: [
    change(1, 'a', '2023-04-01', [
      ['status', null, 'not_started'],
      ['progress_percent', null, '0'],
    ]),
    change(2, 'a', '2024-05-10', [
      ['status', 'not_started', 'on_track'],
      ['progress_percent', '0', '20'],
    ]),
    change(3, 'a', '2024-08-20', [
      ['status', 'on_track', 'off_track'],
      ['progress_percent', '20', '40'],
    ]),
    change(4, 'b', '2023-06-01', [
      ['status', null, 'on_track'],
      ['progress_percent', null, '50'],
    ]),
    change(5, 'b', '2024-12-01', [
      ['status', 'on_track', 'complete'],
      ['progress_percent', '50', '100'],
    ]),
    change(6, 'c', '2025-01-01', [
      ['status', null, 'not_started'],
      ['progress_percent', null, '0'],
    ]),
  ],
  updates: [
    {
      action_id: 'a',
      update_date: '2024-08-20',
      narrative: 'Supplier problems.',
      created_at: '2024-08-20T10:00:00Z',
    },
    {
      action_id: 'a',
      update_date: '2024-11-01',
      narrative: 'A later update.',
      created_at: '2024-11-01T10:00:00Z',
    },
  ],
  kpis: [
    {
      id: 'k',
      reference: 'K',
      name: 'MDI share',
      unit: '%',
      direction: 'decrease',
      path: trajectoryPath({ date: '2023-04-01', value: 70 }, [{ date: '2025-04-01', value: 50 }]),
      dataPoints: [
        { date: '2024-03-31', value: 65 },
        { date: '2024-09-30', value: 52 },
        { date: '2025-03-31', value: 40 },
      ],
    },
  ],
};

describe('the board report', () => {
  it('replays each action to the end of the quarter and leaves out actions not yet begun', () => {
    const asOf = actionsAsOf(input, '2024-06-30');
    expect(asOf.map((action) => [action.reference, action.status, action.progress])).toEqual([
      ['A', 'on_track', 20],
      ['B', 'on_track', 50],
    ]);
  });

  it('reports Q2 2024/25 as it stood then, with the changes since Q1', () => {
    const report = buildBoardReport(input, makeQuarter(2024, 2));
    expect(report.overall).toEqual({ progress: 47.5, previousProgress: 42.5, total: 2 });
    expect(report.ragCounts.find((item) => item.status === 'off_track')).toMatchObject({
      count: 1,
      previousCount: 0,
    });
    expect(report.exceptions).toEqual([
      expect.objectContaining({
        reference: 'A',
        statusLabel: 'Off track',
        narrative: 'Supplier problems.',
        narrativeDate: '2024-08-20',
        leadOrganisationName: 'University Hospitals of Leicester NHS Trust',
      }),
    ]);
    expect(report.changes.statusChanges).toEqual([
      { id: 'a', reference: 'A', title: 'Inhalers', from: 'On track', to: 'Off track' },
    ]);
    expect(report.changes.progressChanges).toEqual([
      { id: 'a', reference: 'A', title: 'Inhalers', from: 20, to: 40 },
    ]);
    expect(report.changes.milestonesDone).toEqual([
      { reference: 'A', actionId: 'a', title: 'Formulary', doneOn: '2024-08-15' },
    ]);
    expect(report.areas.map((area) => [area.name, area.total, area.progress])).toEqual([
      ['Medicines', 1, 40],
      ['Travel and transport', 1, 50],
    ]);
    expect(report.kpis[0]).toMatchObject({
      latest: { date: '2024-09-30', value: 52 },
      standing: 'ahead',
    });
  });

  it('counts an action completed and one started in the quarter they happened', () => {
    const report = buildBoardReport(input, makeQuarter(2024, 3));
    expect(report.changes.completed.map((item) => item.reference)).toEqual(['B']);
    const next = buildBoardReport(input, makeQuarter(2024, 4));
    expect(next.changes.started.map((item) => item.reference)).toEqual(['C']);
    expect(next.overall.total).toBe(3);
  });

  it('puts in the PDF what the page shows: completed actions by area and in the quarter', async () => {
    const report = buildBoardReport(input, makeQuarter(2024, 3));
    const pdf = await renderBoardReportPdf(report, input.plan, '2025-01-10');
    const lines = textOfPdf(pdf);
    const header = lines.indexOf('Area of focus');
    expect(lines.slice(header, header + 8)).toEqual([
      'Area of focus',
      'Actions',
      'Progress',
      'Last quarter',
      'On track',
      'At risk',
      'Off track',
      'Complete',
    ]);
    // Travel and transport: its one action, complete.
    const travel = lines.indexOf('Travel and transport', header);
    expect(lines[travel + 7]).toBe('1');
    expect(lines).toContain('Completed in the quarter: B Fleet.');
  });
});

/** The text a PDF drawn by pdfkit shows, one string per line drawn, from its compressed streams. */
function textOfPdf(pdf: Buffer): string[] {
  const lines: string[] = [];
  const raw = pdf.toString('latin1');
  for (const match of raw.matchAll(/stream\r?\n([\s\S]*?)\r?\nendstream/g)) {
    let content: string;
    try {
      content = inflateSync(Buffer.from(match[1]!, 'latin1')).toString('latin1');
    } catch {
      continue;
    }
    for (const shown of content.matchAll(/\[([^\]]*)\]\s*TJ/g))
      lines.push(
        [...shown[1]!.matchAll(/<([0-9a-f]*)>/gi)]
          .map((hex) => Buffer.from(hex[1]!, 'hex').toString('latin1'))
          .join(''),
      );
  }
  return lines;
}
