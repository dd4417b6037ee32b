import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../services.ts';
import { renderBarChart } from '../../web/charts/bar-chart.ts';
import { renderLineChart } from '../../web/charts/line-chart.ts';
import { NotFoundError } from '../../web/http-errors.ts';
import { optionalChoice, optionalCode, parseQuery } from '../../web/query.ts';
import { formatOrganisationName } from '../organisations/organisation-name.ts';
import { deviceTypeLabels } from './inhaler-reference.ts';
import { measureDefinitions, measureIds, type MeasureId } from './measures.calculations.ts';
import { rollupLevels, type RollupLevel } from './practice-hierarchy.ts';
import { formatMeasuresCsv } from './prescribing.cli.ts';

const practiceCodePattern = /^[A-Za-z][0-9A-Za-z]{5}$/;
const monthPattern = /^\d{4}-(0[1-9]|1[0-2])$/;
const comparisonLevels = ['pcn', 'sub-icb', 'icb'] as const;

const levelLabels: Record<RollupLevel | 'practice', { singular: string; plural: string }> = {
  practice: { singular: 'GP practice', plural: 'GP practices' },
  pcn: { singular: 'Primary care network', plural: 'Primary care networks' },
  'sub-icb': { singular: 'Sub-ICB location', plural: 'Sub-ICB locations' },
  icb: { singular: 'Integrated care board', plural: 'Integrated care boards' },
  region: { singular: 'NHS region', plural: 'NHS regions' },
  national: { singular: 'England', plural: 'England' },
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

const measuresApiQuery = z.object({
  measure: z.enum(measureIds, { error: `must be one of: ${measureIds.join(', ')}` }),
  level: z.enum(['practice', ...rollupLevels] as const, {
    error: `must be one of: practice, ${rollupLevels.join(', ')}`,
  }),
  code: optionalCode(/^[0-9A-Z]{2,9}$/, 'an ODS code such as QK1, or ENG'),
  month: optionalMonth,
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
      const charts = dashboard.measures.map((measure) => ({
        id: measure.definition.id,
        svg: measure.points.length
          ? renderLineChart({
              id: `chart-${measure.definition.id}`,
              title: `${measure.definition.title}, ${practiceName}`,
              description: describeTrend(measure.points, measure.definition.unit),
              categories: measure.points.map((point) => point.month),
              series: [
                {
                  label: practiceName,
                  values: measure.points.map((point) => point.value),
                },
              ],
              yLabel: measure.definition.unit,
            })
          : null,
      }));
      const topProducts = dashboard.products.slice(0, 8);
      const productChart = topProducts.length
        ? renderBarChart({
            id: 'chart-products',
            title: `Highest-emitting inhalers, ${practiceName}`,
            description: `kgCO2e over ${dashboard.recentMonths.length} month(s); the highest is ${topProducts[0]!.description} at ${Math.round(topProducts[0]!.kgCo2e)} kg.`,
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
          .send(
            formatMeasuresCsv(
              comparison.rows.map((row) => ({
                ...row,
                denominator: row.denominator as number | null,
              })),
            ),
          );
      }
      const sorted = [...comparison.rows].sort(
        (a, b) => (b.value ?? -Infinity) - (a.value ?? -Infinity) || a.code.localeCompare(b.code),
      );
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
        rows: sorted,
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
    const rows = await prescribing.getMeasureRows({
      measureId: query.measure,
      level: query.level,
      code: query.code,
      month: query.month,
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

  app.get('/api/prescribing/inhalers', { config: { access: 'public' } }, async () => ({
    version: prescribing.reference.version,
    publishedOn: prescribing.reference.publishedOn,
    sources: [...prescribing.reference.sources.values()],
    products: prescribing.listReferenceProducts(),
  }));
}

function canonicalPracticeCode(code: string): string {
  if (!practiceCodePattern.test(code)) throw new NotFoundError();
  return code.toUpperCase();
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
