import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { csvField } from '../../lib/csv.ts';
import type { EpdMeasureRollupsTable } from '../../db/schema.ts';
import type { Services } from '../../services.ts';
import { renderBarChart } from '../../web/charts/bar-chart.ts';
import { renderLineChart } from '../../web/charts/line-chart.ts';
import { BadRequestError, NotFoundError } from '../../web/http-errors.ts';
import { optionalChoice, optionalCode, optionalText, parseQuery } from '../../web/query.ts';
import { formatOrganisationName } from '../organisations/organisation-name.ts';
import { deviceTypeLabels } from './inhaler-reference.ts';
import { monthFromNumber, monthNumber } from './inhaler.calculations.ts';
import { measureDefinitions, measureIds, type MeasureId } from './measures.calculations.ts';
import {
  NATIONAL_CODE,
  parseWithinGroup,
  rollupLevels,
  type RollupLevel,
} from './practice-hierarchy.ts';

const practiceCodePattern = /^[A-Za-z][0-9A-Za-z]{5}$/;
const monthPattern = /^\d{4}-(0[1-9]|1[0-2])$/;
/** Every level that has roll-ups has a comparison page, England included. */
const comparisonLevels = rollupLevels;
const groupCodePattern = /^[0-9A-Z]{2,9}$/;

/**
 * Whether `code` can name a group at `level`: England has the one code `ENG`, and any other code
 * at that level would otherwise list every practice under a name nobody gave it.
 */
function isGroupCode(level: RollupLevel, code: string): boolean {
  return groupCodePattern.test(code) && (level !== 'national' || code === NATIONAL_CODE);
}

/** Each level's name as a heading starts it, and (`inText`) as it reads within a sentence. */
const levelLabels: Record<
  RollupLevel | 'practice',
  { singular: string; plural: string; inText: { singular: string; plural: string } }
> = {
  practice: {
    singular: 'GP practice',
    plural: 'GP practices',
    inText: { singular: 'GP practice', plural: 'GP practices' },
  },
  pcn: {
    singular: 'Primary care network',
    plural: 'Primary care networks',
    inText: { singular: 'primary care network', plural: 'primary care networks' },
  },
  'sub-icb': {
    singular: 'Sub-ICB location',
    plural: 'Sub-ICB locations',
    inText: { singular: 'sub-ICB location', plural: 'sub-ICB locations' },
  },
  icb: {
    singular: 'Integrated care board',
    plural: 'Integrated care boards',
    inText: { singular: 'integrated care board', plural: 'integrated care boards' },
  },
  region: {
    singular: 'NHS region',
    plural: 'NHS regions',
    inText: { singular: 'NHS region', plural: 'NHS regions' },
  },
  national: {
    singular: 'England',
    plural: 'England',
    inText: { singular: 'England', plural: 'England' },
  },
};

const optionalMonth = z
  .string({ error: 'must be given once' })
  .transform((value) => value.trim())
  .refine((value) => value === '' || monthPattern.test(value), 'must be a month as YYYY-MM')
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const comparisonQuery = z.object({
  measure: optionalChoice(measureIds),
  month: optionalMonth,
  format: optionalChoice(['html', 'csv'] as const),
});

const groupQuery = z.object({
  measure: optionalChoice(measureIds),
  month: optionalMonth,
});

const measuresApiQuery = z
  .object({
    measure: z.enum(measureIds, { error: `must be one of: ${measureIds.join(', ')}` }),
    level: z.enum(['practice', ...rollupLevels] as const, {
      error: `must be one of: practice, ${rollupLevels.join(', ')}`,
    }),
    code: optionalCode(/^[0-9A-Z]{2,9}$/, 'an ODS code such as QK1, or ENG'),
    month: optionalMonth,
    within: optionalText(40),
  })
  .superRefine((query, context) => {
    // England has about 6,500 practices a month, so every practice in every month imported grows
    // without bound as months are added: one answer must not hold them all. A month, or one
    // practice's months, is bounded; the whole table is for `export-measures`, which writes a file.
    if (query.level === 'practice' && !query.month && !query.code) {
      context.addIssue({
        code: 'custom',
        path: ['month'],
        message:
          'must be given as YYYY-MM when "level" is practice, unless "code" names one practice (every practice for every month is too many rows for one answer)',
      });
    }
  });

const findPracticeQuery = z.object({
  code: optionalCode(/^[A-Z][0-9A-Z]{5}$/, 'a GP practice ODS code such as C82001'),
});

/** Public pages and JSON API for inhaler prescribing: open data, so no sign-in is needed. */
export function registerPrescribingRoutes(app: FastifyInstance, services: Services): void {
  const prescribing = services.prescribing;

  app.get('/prescribing', { config: { access: 'public' } }, async (request, reply) => {
    const query = parseQuery(findPracticeQuery, request.query);
    if (query.code) return reply.redirect(`/prescribing/practices/${query.code}`, 303);
    const imports = await prescribing.listImports();
    return reply.render('prescribing/views/overview.njk', {
      imports,
      referenceVersion: prescribing.reference.version,
      comparisonLevels: comparisonLevels.map((level) => ({
        level,
        label: levelLabels[level].plural,
      })),
      breadcrumbs: [{ href: '/', text: 'Home' }],
    });
  });

  app.get<{ Params: { code: string } }>(
    '/prescribing/practices/:code',
    { config: { access: 'public' } },
    async (request, reply) => {
      const code = canonicalPracticeCode(request.params.code);
      if (code !== request.params.code)
        return reply.redirect(`/prescribing/practices/${code}`, 301);
      const dashboard = await prescribing.getPracticeDashboard(code);
      if (!dashboard) {
        throw new NotFoundError(`No imported prescribing data has the practice ${code}.`);
      }
      const practiceName = formatOrganisationName(dashboard.practice.name);
      const charts = dashboard.measures.map((measure) => {
        const calendar = fillCalendarMonths(measure.points);
        return {
          id: measure.definition.id,
          svg: measure.points.length
            ? renderLineChart({
                id: `chart-${measure.definition.id}`,
                title: `${measure.definition.title}, ${practiceName}`,
                description: describeTrend(measure.points, measure.definition.unit),
                categories: calendar.months,
                series: [{ label: practiceName, values: calendar.values }],
                yLabel: measure.definition.unit,
              })
            : null,
        };
      });
      const recentMonthsText = describeMonths(dashboard.recentMonths);
      // Products with no carbon known have no bar: a bar of 0 would say they have none.
      const topProducts = dashboard.products
        .filter(
          (product): product is typeof product & { kgCo2e: number } => product.kgCo2e !== null,
        )
        .slice(0, 8);
      const productChart = topProducts.length
        ? renderBarChart({
            id: 'chart-products',
            title: `Highest-emitting inhalers, ${practiceName}`,
            description: `kgCO2e in ${recentMonthsText}; the highest is ${topProducts[0]!.description} at ${Math.round(topProducts[0]!.kgCo2e)} kg.`,
            bars: topProducts.map((product) => ({
              label: product.description || product.bnfCode,
              value: Math.round(product.kgCo2e * 10) / 10,
              highlight: product.isMdi,
            })),
            highlightTag: 'MDI',
            valueLabel: 'kgCO2e',
          })
        : null;
      return reply.render('prescribing/views/practice.njk', {
        ...dashboard,
        charts,
        productChart,
        recentMonthsText,
        deviceTypeLabels,
        breadcrumbs: [
          { href: '/', text: 'Home' },
          { href: '/prescribing', text: 'Inhaler prescribing' },
        ],
      });
    },
  );

  app.get<{ Params: { level: string } }>(
    '/prescribing/compare/:level',
    { config: { access: 'public' } },
    async (request, reply) => {
      const level = request.params.level as RollupLevel;
      if (!rollupLevels.includes(level)) throw new NotFoundError();
      const query = parseQuery(comparisonQuery, request.query);
      const measureId: MeasureId = query.measure ?? 'mdi-share-non-salbutamol';
      const comparison = await prescribing.getComparison({ level, measureId, month: query.month });
      if (query.month && !comparison.months.includes(query.month)) {
        throw new NotFoundError(`No EPD month ${query.month} has been imported.`);
      }
      if (query.format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header(
            'content-disposition',
            `attachment; filename="${measureId}-${level}-${comparison.month ?? 'none'}.csv"`,
          )
          .send(formatComparisonCsv(comparison.rows));
      }
      return reply.render('prescribing/views/compare.njk', {
        level,
        levelLabel: levelLabels[level],
        measure: measureDefinitions[measureId],
        measureOptions: measureIds.map((id) => ({
          value: id,
          text: measureDefinitions[id].title,
          selected: id === measureId,
        })),
        monthOptions: [...comparison.months].reverse().map((month) => ({
          value: month,
          text: month,
          selected: month === comparison.month,
        })),
        month: comparison.month,
        rows: comparison.rows,
        reference: comparison.reference,
        currentReferenceVersion: prescribing.reference.version,
        csvHref: `/prescribing/compare/${level}?measure=${measureId}${comparison.month ? `&month=${comparison.month}` : ''}&format=csv`,
        otherLevels: comparisonLevels
          .filter((other) => other !== level)
          .map((other) => ({ level: other, label: levelLabels[other].plural })),
        breadcrumbs: [
          { href: '/', text: 'Home' },
          { href: '/prescribing', text: 'Inhaler prescribing' },
        ],
      });
    },
  );

  app.get<{ Params: { level: string; code: string } }>(
    '/prescribing/compare/:level/:code',
    { config: { access: 'public' } },
    async (request, reply) => {
      const level = request.params.level as RollupLevel;
      if (!rollupLevels.includes(level) || !isGroupCode(level, request.params.code)) {
        throw new NotFoundError();
      }
      const query = parseQuery(groupQuery, request.query);
      const measureId: MeasureId = query.measure ?? 'mdi-share-non-salbutamol';
      const group = await prescribing.getComparisonGroup({
        level,
        code: request.params.code,
        measureId,
        month: query.month,
      });
      if (!group) {
        throw new NotFoundError(
          `No imported month${query.month ? ` ${query.month}` : ''} has practices in the ${levelLabels[level].inText.singular} ${request.params.code}.`,
        );
      }
      const comparisonHref = `/prescribing/compare/${level}?measure=${measureId}&month=${group.month}`;
      return reply.render('prescribing/views/group.njk', {
        ...group,
        level,
        levelLabel: levelLabels[level],
        measure: measureDefinitions[measureId],
        comparisonHref,
        currentReferenceVersion: prescribing.reference.version,
        leftOut: group.practices.filter((practice) => !practice.inRollup).length,
        breadcrumbs: [
          { href: '/', text: 'Home' },
          { href: '/prescribing', text: 'Inhaler prescribing' },
          { href: comparisonHref, text: `Compare ${levelLabels[level].inText.plural}` },
        ],
      });
    },
  );

  app.get<{ Params: { month: string } }>(
    '/prescribing/months/:month',
    { config: { access: 'public' } },
    async (request, reply) => {
      if (!monthPattern.test(request.params.month)) throw new NotFoundError();
      const diagnostics = await prescribing.getMonthDiagnostics(request.params.month);
      if (!diagnostics)
        throw new NotFoundError(`No EPD month ${request.params.month} has been imported.`);
      const presentations = diagnostics.presentations;
      return reply.render('prescribing/views/month.njk', {
        ...diagnostics,
        month: request.params.month,
        unclassified: presentations.filter((row) => row.classification === 'unclassified'),
        inhalers: presentations.filter((row) => row.classification === 'inhaler'),
        notInhalers: presentations.filter((row) => row.classification === 'not-inhaler'),
        deviceTypeLabels,
        currentReferenceVersion: prescribing.reference.version,
        breadcrumbs: [
          { href: '/', text: 'Home' },
          { href: '/prescribing', text: 'Inhaler prescribing' },
        ],
      });
    },
  );

  app.get('/prescribing/inhalers', { config: { access: 'public' } }, async (_request, reply) => {
    return reply.render('prescribing/views/reference.njk', {
      reference: prescribing.reference,
      products: prescribing.listReferenceProducts(),
      sources: [...prescribing.reference.sources.values()],
      classes: [...prescribing.reference.classes.values()],
      deviceTypeLabels,
      breadcrumbs: [
        { href: '/', text: 'Home' },
        { href: '/prescribing', text: 'Inhaler prescribing' },
      ],
    });
  });

  app.get('/prescribing/method', { config: { access: 'public' } }, async (_request, reply) => {
    return reply.render('prescribing/views/method.njk', {
      reference: prescribing.reference,
      measures: measureIds.map((id) => measureDefinitions[id]),
      breadcrumbs: [
        { href: '/', text: 'Home' },
        { href: '/prescribing', text: 'Inhaler prescribing' },
      ],
    });
  });

  // --- JSON API: the same data as the pages ---

  app.get('/api/prescribing/months', { config: { access: 'public' } }, async () => {
    const imports = await prescribing.listImports();
    return { months: imports };
  });

  app.get('/api/prescribing/measures', { config: { access: 'public' } }, async (request, reply) => {
    const query = parseQuery(measuresApiQuery, request.query);
    const within =
      query.within === undefined ? undefined : parseWithinGroup(query.within, query.level);
    if (typeof within === 'string') {
      throw new BadRequestError([
        `The "within" parameter ${within} (the address has "${query.within!.slice(0, 60)}").`,
      ]);
    }
    const rows = await prescribing.getMeasureRows({
      measureId: query.measure,
      level: query.level,
      code: query.code,
      month: query.month,
      within,
    });
    if (!rows) {
      return reply.code(404).send({
        error: 'Not found',
        message: `No EPD month ${query.month} has been imported.`,
      });
    }
    return { measure: measureDefinitions[query.measure], level: query.level, rows };
  });

  app.get<{ Params: { code: string } }>(
    '/api/prescribing/practices/:code',
    { config: { access: 'public' } },
    async (request, reply) => {
      const code = request.params.code.toUpperCase();
      const dashboard = practiceCodePattern.test(code)
        ? await prescribing.getPracticeDashboard(code)
        : undefined;
      if (!dashboard) {
        return reply.code(404).send({
          error: 'Not found',
          message: `No imported prescribing data has the practice ${code}.`,
        });
      }
      return dashboard;
    },
  );

  // The group page's data: the practices whose figures make up one group's roll-up.
  app.get<{ Params: { level: string; code: string } }>(
    '/api/prescribing/groups/:level/:code',
    { config: { access: 'public' } },
    async (request, reply) => {
      const level = request.params.level as RollupLevel;
      const query = parseQuery(groupQuery, request.query);
      const measureId: MeasureId = query.measure ?? 'mdi-share-non-salbutamol';
      const group =
        rollupLevels.includes(level) && isGroupCode(level, request.params.code)
          ? await prescribing.getComparisonGroup({
              level,
              code: request.params.code,
              measureId,
              month: query.month,
            })
          : undefined;
      if (!group) {
        return reply.code(404).send({
          error: 'Not found',
          message: `No imported month${query.month ? ` ${query.month}` : ''} has practices in the group ${request.params.level} ${request.params.code}.`,
        });
      }
      return { level, measure: measureDefinitions[measureId], ...group };
    },
  );

  app.get('/api/prescribing/inhalers', { config: { access: 'public' } }, async () => ({
    version: prescribing.reference.version,
    publishedOn: prescribing.reference.publishedOn,
    sources: [...prescribing.reference.sources.values()],
    classes: [...prescribing.reference.classes.values()],
    products: prescribing.listReferenceProducts(),
  }));
}

function canonicalPracticeCode(code: string): string {
  if (!practiceCodePattern.test(code)) throw new NotFoundError();
  return code.toUpperCase();
}

/**
 * A trend's points on every calendar month from its first to its last, with no value for a month
 * not held, so that the chart spaces months by the calendar and breaks its line at a gap.
 */
export function fillCalendarMonths(points: readonly { month: string; value: number | null }[]): {
  months: string[];
  values: (number | null)[];
} {
  if (points.length === 0) return { months: [], values: [] };
  const byMonth = new Map(points.map((point) => [monthNumber(point.month), point.value]));
  const numbers = [...byMonth.keys()];
  const first = Math.min(...numbers);
  const last = Math.max(...numbers);
  const months: string[] = [];
  const values: (number | null)[] = [];
  for (let number = first; number <= last; number += 1) {
    months.push(monthFromNumber(number));
    values.push(byMonth.get(number) ?? null);
  }
  return { months, values };
}

const monthYearFormat = new Intl.DateTimeFormat('en-GB', {
  month: 'long',
  year: 'numeric',
  timeZone: 'UTC',
});

function formatMonth(month: string): string {
  return monthYearFormat.format(new Date(`${month}-01T00:00:00Z`));
}

/**
 * Months held, as runs of consecutive months: "January 2024 to March 2024", or
 * "December 2017 and November 2018" where they have gaps.
 */
export function describeMonths(months: readonly string[]): string {
  const numbers = [...new Set(months.map(monthNumber))].sort((a, b) => a - b);
  const runs: string[] = [];
  let start = 0;
  for (let index = 1; index <= numbers.length; index += 1) {
    if (index < numbers.length && numbers[index] === numbers[index - 1]! + 1) continue;
    const from = formatMonth(monthFromNumber(numbers[start]!));
    const to = formatMonth(monthFromNumber(numbers[index - 1]!));
    runs.push(from === to ? from : `${from} to ${to}`);
    start = index;
  }
  if (runs.length <= 1) return runs[0] ?? 'no month';
  return `${runs.slice(0, -1).join(', ')} and ${runs[runs.length - 1]}`;
}

/**
 * The comparison table as CSV: the same rows in the same order, with the month and level first
 * and then the table's columns (code and name, value, numerator, denominator, practices). Numbers
 * are unrounded; codes and names come from the imported files, so each is guarded as a field.
 */
export function formatComparisonCsv(rows: readonly EpdMeasureRollupsTable[]): string {
  const lines = ['month,level,code,name,value,numerator,denominator,practices'];
  for (const row of rows) {
    lines.push(
      [
        row.month,
        row.level,
        csvField(row.code),
        csvField(row.name),
        row.value ?? '',
        row.numerator,
        row.denominator ?? '',
        row.practices,
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

function describeTrend(points: { month: string; value: number | null }[], unit: string): string {
  const present = points.filter((point) => point.value !== null);
  if (present.length === 0) return 'No values to show.';
  const first = present[0]!;
  const last = present[present.length - 1]!;
  const format = (value: number) => `${Math.round(value * 10) / 10} ${unit}`;
  if (present.length === 1) return `${format(last.value!)} in ${last.month}.`;
  return `From ${format(first.value!)} in ${first.month} to ${format(last.value!)} in ${last.month}.`;
}
