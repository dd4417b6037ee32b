import PDFDocument from 'pdfkit';
import { formatNumber } from '../../web/views.ts';
import { awardLevelLabels, type AwardLevel } from './framework.calculations.ts';
import { digitsFor } from './programme-charts.ts';
import { quintileLabels } from './programme.calculations.ts';
import type { GreenerPracticeProgrammeService } from './programme.service.ts';

/**
 * The award certificate and the programme summary for the ICS board as PDFs, drawn with the PDF
 * standard fonts so nothing is fetched or embedded from elsewhere.
 */

const blue = '#005eb8';
const darkBlue = '#003087';
const text = '#212b32';
const levelColours: Record<AwardLevel, string> = {
  bronze: '#a0522d',
  silver: '#768692',
  gold: '#b27d00',
};

function collect(doc: PDFKit.PDFDocument): Promise<Buffer> {
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
}

function longDate(iso: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'Europe/London',
  }).format(new Date(iso));
}

export async function renderCertificatePdf(certificate: {
  practiceName: string;
  practiceCode: string;
  programmeYear: string;
  level: AwardLevel;
  points: number;
  awardedAt: string;
  isExample: boolean;
}): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    layout: 'landscape',
    margin: 60,
    info: {
      Title: `Greener General Practice ${awardLevelLabels[certificate.level]} award: ${certificate.practiceName}`,
      Author: 'Leicester, Leicestershire and Rutland Integrated Care System',
      Creator: 'Greenspace',
    },
    lang: 'en-GB',
  });
  const finished = collect(doc);
  const width = doc.page.width;
  const height = doc.page.height;
  doc
    .rect(20, 20, width - 40, height - 40)
    .lineWidth(6)
    .stroke(blue);
  doc
    .rect(32, 32, width - 64, height - 64)
    .lineWidth(1.5)
    .stroke(levelColours[certificate.level]);
  const line = (words: string, font: string, size: number, colour = text, gap = 0.4) => {
    doc
      .font(font)
      .fontSize(size)
      .fillColor(colour)
      .text(words, 60, doc.y, {
        width: width - 120,
        align: 'center',
      });
    doc.moveDown(gap);
  };
  doc.y = 90;
  line('Greener General Practice', 'Helvetica-Bold', 30, blue);
  line(`${certificate.programmeYear.replace('-', '–')} programme year`, 'Helvetica', 14, text, 1.2);
  line('This certifies that', 'Helvetica', 14);
  line(certificate.practiceName, 'Helvetica-Bold', 26, darkBlue, 0.2);
  line(`(ODS code ${certificate.practiceCode})`, 'Helvetica', 11, text, 1);
  line('has achieved the', 'Helvetica', 14);
  line(
    `${awardLevelLabels[certificate.level]} award`,
    'Helvetica-Bold',
    34,
    levelColours[certificate.level],
    0.6,
  );
  line(
    `with ${certificate.points} points in the practice's self-assessment, verified by the Leicester, Leicestershire and Rutland Integrated Care System on ${longDate(certificate.awardedAt)}.`,
    'Helvetica',
    13,
    text,
    1.5,
  );
  line(
    'For a greener NHS: net zero by 2040 for the emissions the NHS controls, and by 2045 for those it can influence.',
    'Helvetica-Oblique',
    10,
  );
  if (certificate.isExample)
    line(
      'EXAMPLE: this award is example content loaded with Greenspace to show how the programme works. It is not a real award.',
      'Helvetica-Bold',
      11,
      '#d5281b',
    );
  doc.end();
  return finished;
}

type BoardSummary = Awaited<ReturnType<GreenerPracticeProgrammeService['getBoardSummary']>>;

export async function renderBoardSummaryPdf(summary: BoardSummary): Promise<Buffer> {
  const margin = 50;
  const doc = new PDFDocument({
    size: 'A4',
    margin,
    info: {
      Title: `Greener General Practice programme summary, ${summary.programmeYear}`,
      Author: summary.area.name,
      Creator: 'Greenspace',
    },
    lang: 'en-GB',
  });
  const finished = collect(doc);
  const contentWidth = doc.page.width - margin * 2;
  const heading = (words: string) => {
    if (doc.y > 700) doc.addPage();
    doc.moveDown(0.8).font('Helvetica-Bold').fontSize(14).fillColor(blue);
    doc.text(words, margin, doc.y, { width: contentWidth });
    doc.moveDown(0.3).font('Helvetica').fontSize(10).fillColor(text);
  };
  const paragraph = (words: string) =>
    doc
      .font('Helvetica')
      .fontSize(10)
      .fillColor(text)
      .text(words, margin, doc.y, { width: contentWidth });
  const table = (
    columns: { title: string; width: number; align?: 'left' | 'right' }[],
    rows: string[][],
  ) => {
    const draw = (cells: string[], bold: boolean) => {
      if (doc.y > 760) doc.addPage();
      const top = doc.y;
      let x = margin;
      let bottom = top;
      doc
        .font(bold ? 'Helvetica-Bold' : 'Helvetica')
        .fontSize(9)
        .fillColor(text);
      cells.forEach((cell, index) => {
        const column = columns[index]!;
        doc.text(cell, x, top, { width: column.width - 6, align: column.align ?? 'left' });
        bottom = Math.max(bottom, doc.y);
        x += column.width;
      });
      doc.y = bottom + 3;
      doc
        .moveTo(margin, doc.y - 1)
        .lineTo(margin + contentWidth, doc.y - 1)
        .lineWidth(0.3)
        .stroke('#d8dde0');
    };
    draw(
      columns.map((column) => column.title),
      true,
    );
    for (const row of rows) draw(row, false);
    doc.x = margin;
  };

  doc
    .font('Helvetica-Bold')
    .fontSize(20)
    .fillColor(blue)
    .text('Greener General Practice', margin, margin);
  doc.font('Helvetica').fontSize(12).fillColor(text);
  doc.text(
    `Programme summary for the ICS board: ${summary.area.name}, ${summary.programmeYear.replace('-', '–')}`,
  );
  doc.fontSize(9).text(`Produced by Greenspace on ${longDate(summary.generatedAt)}.`);
  if (summary.hasExamples) {
    doc.moveDown(0.5).font('Helvetica-Bold').fillColor('#d5281b');
    doc.text(
      "These figures include example assessments loaded with Greenspace to show how the programme works; they are not real practices' results.",
      { width: contentWidth },
    );
    doc.fillColor(text).font('Helvetica');
  }

  const s = summary.summary;
  heading('Participation and awards');
  paragraph(
    `${s.participating} of ${s.practices} practices (${formatNumber(s.participationPercent, 1)}%) are taking part; ${s.awarded} hold an award: ${summary.awardsByLevel.map((entry) => `${entry.practices} ${entry.label}`).join(', ')}. ${s.byStatus.submitted} submissions are waiting for verification.${s.meanPointsOfParticipants === null ? '' : ` Practices taking part have ${formatNumber(s.meanPointsOfParticipants, 0)} points on average, of ${summary.totalPoints}.`}`,
  );
  doc.moveDown(0.5);
  table(
    [
      { title: summary.partLabel ?? 'Area', width: 175 },
      { title: 'Practices', width: 60, align: 'right' },
      { title: 'Taking part', width: 70, align: 'right' },
      { title: 'Bronze', width: 55, align: 'right' },
      { title: 'Silver', width: 55, align: 'right' },
      { title: 'Gold', width: 55, align: 'right' },
    ],
    summary.parts.map((part) => [
      part.name,
      String(part.summary.practices),
      `${part.summary.participating} (${formatNumber(part.summary.participationPercent, 0)}%)`,
      String(part.summary.awardsByLevel.bronze),
      String(part.summary.awardsByLevel.silver),
      String(part.summary.awardsByLevel.gold),
    ]),
  );

  heading('Health inequalities: every measure by deprivation quintile');
  paragraph(
    "Practices are grouped by the national IMD 2019 quintile of their registered population (1 = most deprived). The gap is the most deprived quintile's value minus the least deprived's.",
  );
  doc.moveDown(0.5);
  table(
    [
      { title: 'Measure', width: 165 },
      ...[1, 2, 3, 4, 5].map((quintile) => ({
        title: `Q${quintile}`,
        width: 45,
        align: 'right' as const,
      })),
      { title: 'Gap', width: 60, align: 'right' },
    ],
    summary.inequalities.map((entry) => {
      const digits = digitsFor(entry.measure.unit);
      return [
        `${entry.measure.title} (${entry.measure.unit})`,
        ...entry.result.byQuintile.map((q) =>
          q.value === null ? '–' : formatNumber(q.value, digits),
        ),
        entry.result.gap === null ? '–' : formatNumber(entry.result.gap, digits),
      ];
    }),
  );
  doc.moveDown(0.3);
  paragraph(
    summary.inequalities.map((entry) => `${entry.measure.title}: ${entry.reading}`).join(' '),
  );
  if (!summary.measuresMonth)
    paragraph(
      'No English Prescribing Dataset month has been imported, so the inhaler measures have no values.',
    );
  else
    paragraph(
      `Inhaler measures are for ${summary.measuresMonth}, from the English Prescribing Dataset.`,
    );

  heading('Progress over the year');
  table(
    [
      { title: 'Month', width: 120 },
      { title: 'Taking part', width: 80, align: 'right' },
      { title: 'Total points', width: 80, align: 'right' },
      { title: 'Bronze', width: 60, align: 'right' },
      { title: 'Silver', width: 60, align: 'right' },
      { title: 'Gold', width: 60, align: 'right' },
    ],
    summary.progress.map((month) => [
      month.month,
      String(month.participating),
      formatNumber(month.totalPoints),
      String(month.awardsByLevel.bronze),
      String(month.awardsByLevel.silver),
      String(month.awardsByLevel.gold),
    ]),
  );

  heading('League table: the 10 practices with the most points');
  table(
    [
      { title: 'Rank', width: 40, align: 'right' },
      { title: 'Practice', width: 230 },
      { title: 'PCN', width: 150 },
      { title: 'Points', width: 45, align: 'right' },
      { title: 'Award', width: 50 },
    ],
    summary.league
      .slice(0, 10)
      .map((row) => [
        String(row.rank),
        `${row.entry.name}${row.entry.isExample ? ' (example)' : ''}`,
        row.entry.pcnName ?? '',
        String(row.entry.points),
        row.entry.award ? awardLevelLabels[row.entry.award] : '',
      ]),
  );
  doc.moveDown(0.5);
  paragraph(`Quintile labels: ${Object.values(quintileLabels).join(', ')}.`);
  doc.end();
  return finished;
}
