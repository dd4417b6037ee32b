import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';
import { generateSyntheticEpd } from './epd-synthetic.ts';
import { createPrescribingRepository } from './prescribing.repository.ts';

const fixture = path.join(
  import.meta.dirname,
  'test-fixtures',
  'epd_201709_bnf_chapter3_subset.csv',
);

describe.each(testDialects)(
  'prescribing pages and API on %s (anonymous visitor: open data)',
  (dialect) => {
    let testApp: TestApp;
    let workDir: string;
    const get = (url: string) => testApp.app.inject({ method: 'GET', url });

    beforeAll(async () => {
      testApp = await createTestApp(dialect);
      workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-routes-'));
      const synthetic = path.join(workDir, 'synthetic.csv');
      // Two synthetic ICB-era months that include the LLR practices, so C82001 has a PCN and a trend.
      await generateSyntheticEpd({
        file: synthetic,
        layout: 'epd-icb',
        months: ['2024-01', '2024-02'],
        rowsPerMonth: 15_000,
        practices: 140,
        seed: 3,
      });
      await testApp.services.prescribing.importEpd([fixture, synthetic]);
    });

    afterAll(async () => {
      await testApp?.close();
      fs.rmSync(workDir, { recursive: true, force: true });
    });

    it('lists the months imported on the overview', async () => {
      const response = await get('/prescribing');
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain('href="/prescribing/months/2017-09"');
      expect(response.body).toContain('href="/prescribing/months/2024-02"');
      // Every level that has roll-ups has a comparison page, and the overview links each.
      for (const level of ['pcn', 'sub-icb', 'icb', 'region', 'national']) {
        expect(response.body).toContain(`href="/prescribing/compare/${level}"`);
      }
    });

    it('sends the practice search to the dashboard, and refuses a malformed code with a 400 naming it', async () => {
      const found = await get('/prescribing?code=c82001');
      expect(found.statusCode).toBe(303);
      expect(found.headers.location).toBe('/prescribing/practices/C82001');
      const bad = await get('/prescribing?code=not-a-code');
      expect(bad.statusCode).toBe(400);
      expect(bad.body).toContain('The &quot;code&quot; parameter must be a GP practice ODS code');
    });

    it('shows a practice dashboard with trends, decile, products, alternatives and the switch saving', async () => {
      const response = await get('/prescribing/practices/C82001');
      expect(response.statusCode).toBe(200);
      const html = response.body;
      expect(html).toContain('South Leicestershire Medical Group');
      // Known to Greenspace's organisation data, so its ODS code links to its page there.
      expect(html).toContain('<a href="/organisations/C82001">C82001</a>');
      expect((await get('/organisations/C82001')).statusCode).toBe(200);
      expect(html).toMatch(/role="img" aria-labelledby="chart-mdi-share-non-salbutamol-title/);
      expect(html).toMatch(/\d+ of 10/);
      expect(html).toMatch(
        /If 50% of these metered-dose inhalers moved to dry-powder or soft-mist inhalers: <strong>[\d,.]+ (tCO2e|kgCO2e) a year<\/strong>/,
      );
      expect(html).toContain('Data for this chart');
      expect(html).toMatch(/<th[^>]*>\s*Value \(%\)\s*<\/th>/);
      expect(html).toMatch(/<th[^>]*>\s*Value \(kgCO2e\)\s*<\/th>/);
      expect(html).toContain('Cross Counties PCN'.split(' ')[0]);
      expect(html).not.toContain('<script>');
    });

    it('says how many practices the per-patient decile ranks: those whose list size is known', async () => {
      const dashboard = (await testApp.services.prescribing.getPracticeDashboard('C82001'))!;
      const perPatient = dashboard.measures.find(
        (measure) => measure.definition.id === 'inhaler-kgco2e-per-1000-patients',
      )!.latest!;
      const rows = await testApp.services.prescribing.exportMeasure({
        measureId: 'inhaler-kgco2e-per-1000-patients',
        level: 'practice',
        month: '2024-02',
      });
      const withListSize = rows.filter((row) => row.value !== null).length;
      expect(withListSize).toBeGreaterThan(0);
      expect(withListSize).toBeLessThan(rows.length);
      expect(perPatient.rankedPractices).toBe(withListSize);
      const html = (await get('/prescribing/practices/C82001')).body;
      expect(html).toContain(`ranked among the ${withListSize} practices with a known list size`);
      expect(html).toContain(
        "list sizes are known only for practices in Greenspace's organisation data",
      );
    });

    it('shows lower-carbon alternatives of the same medicine on a real practice', async () => {
      const html = (await get('/prescribing/practices/L84073')).body;
      // Clenil Modulite (beclometasone pMDI) → Easyhaler Beclometasone (DPI, 1 kg).
      expect(html).toContain('Clenil Modulite_Inha 100mcg (200D)');
      expect(html).toContain('Easyhaler_Beclomet 200mcg (200 D): 1.00 kg');
      expect(html).toContain('converted from doses in 1 month(s)');
    });

    it('redirects lower-case practice codes, and 404s unknown or malformed ones', async () => {
      expect((await get('/prescribing/practices/l84073')).statusCode).toBe(301);
      expect((await get('/prescribing/practices/Z99999')).statusCode).toBe(404);
      expect((await get('/prescribing/practices/bad!code')).statusCode).toBe(404);
    });

    it('compares organisations with a CSV download', async () => {
      const page = await get('/prescribing/compare/sub-icb?measure=inhaler-kgco2e&month=2017-09');
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('11M');
      const csv = await get(
        '/prescribing/compare/sub-icb?measure=inhaler-kgco2e&month=2017-09&format=csv',
      );
      expect(csv.statusCode).toBe(200);
      expect(csv.headers['content-type']).toContain('text/csv');
      expect(csv.headers['content-disposition']).toContain('attachment');
      const lines = csv.body.trim().split('\n');
      expect(lines[0]).toBe('month,level,code,name,value,numerator,denominator,practices');
      // The table's rows in the table's order, highest value first.
      const pageCodes = [
        ...page.body.matchAll(/<td class="nhsuk-table__cell">[^<]*\((\w+)\)<\/td>/g),
      ].map((match) => match[1]);
      expect(pageCodes.slice().sort()).toEqual(['03A', '11M']);
      expect(lines.slice(1).map((line) => line.split(',')[2])).toEqual(pageCodes);
      const values = lines.slice(1).map((line) => Number(line.split(',')[4]));
      expect(values).toEqual([...values].sort((a, b) => b - a));
      // A total: each sub-ICB location's value is its numerator (denominator 1), not an average.
      for (const line of lines.slice(1)) {
        const [month, level, , name, value, numerator, denominator, practices] = line.split(',');
        expect([month, level]).toEqual(['2017-09', 'sub-icb']);
        expect(name).toMatch(/CCG$/);
        expect(denominator).toBe('1');
        expect(value).toBe(numerator);
        expect(Number(practices)).toBeGreaterThan(0);
      }
      expect(page.body).toContain(
        '(the same rows in the same order; columns month, level, code, name, value, numerator, denominator, practices)',
      );
      expect(page.body).toContain(
        'Lower values are better for this measure. It is a total, not adjusted for size',
      );
      expect(
        (await get('/prescribing/compare/icb?measure=low-carbon-inhaler-share')).body,
      ).toContain('Higher values are better for this measure.');
      expect(page.body).toContain('Each row is the total of its practices');
      const pcn = await get('/prescribing/compare/pcn?month=2024-02');
      expect(pcn.statusCode).toBe(200);
      expect(pcn.body).toMatch(/PCN/);
    });

    it('compares NHS regions and England too', async () => {
      const region = await get('/prescribing/compare/region?measure=inhaler-kgco2e&month=2024-02');
      expect(region.statusCode).toBe(200);
      expect(region.body).toContain('<span class="nhsuk-caption-l">Compare NHS regions</span>');
      const regions = await testApp.services.prescribing.exportMeasure({
        measureId: 'inhaler-kgco2e',
        level: 'region',
        month: '2024-02',
      });
      expect(regions.length).toBeGreaterThan(0);
      for (const row of regions) expect(region.body).toContain(`(${row.code})</td>`);
      const national = await get(
        '/prescribing/compare/national?measure=inhaler-kgco2e&month=2017-09',
      );
      expect(national.statusCode).toBe(200);
      expect(national.body).toContain('England (ENG)');
      expect(national.body).toContain('<span class="nhsuk-caption-l">Compare England</span>');
      const csv = await get(
        '/prescribing/compare/national?measure=inhaler-kgco2e&month=2017-09&format=csv',
      );
      expect(csv.body.trim().split('\n')[1]).toMatch(/^2017-09,national,ENG,England,/);
    });

    it("names the reference version of the month shown, links the method, and lists each group's practices", async () => {
      const page = (await get('/prescribing/compare/sub-icb?measure=inhaler-kgco2e&month=2017-09'))
        .body;
      const version = (await get('/api/prescribing/months'))
        .json()
        .months.find((row: { month: string }) => row.month === '2017-09').reference_version;
      expect(page).toContain(
        `The figures for September 2017 were made with version ${version} of the <a href="/prescribing/inhalers">inhaler reference table</a>, the version the month was imported with.`,
      );
      expect(page).toContain('<a href="/prescribing/method">how the figures are made</a>');
      expect(page).toContain(
        '<a href="/prescribing/months/2017-09">the import of September 2017</a>',
      );
      expect(page).toMatch(
        /<a href="\/prescribing\/compare\/sub-icb\/11M\?measure=inhaler-kgco2e&amp;month=2017-09">2<span class="nhsuk-u-visually-hidden"> practices in [^<]+<\/span><\/a>/,
      );

      const group = await get(
        '/prescribing/compare/sub-icb/11M?measure=inhaler-kgco2e&month=2017-09',
      );
      expect(group.statusCode).toBe(200);
      const [rollup] = await testApp.services.prescribing.exportMeasure({
        measureId: 'inhaler-kgco2e',
        level: 'sub-icb',
        code: '11M',
        month: '2017-09',
      });
      const practices = (
        await testApp.services.prescribing.exportMeasure({
          measureId: 'inhaler-kgco2e',
          level: 'practice',
          month: '2017-09',
        })
      ).filter((row) => group.body.includes(`href="/prescribing/practices/${row.code}"`));
      // The practices listed are the ones the group's figure sums.
      expect(practices).toHaveLength(2);
      expect(practices.reduce((sum, row) => sum + row.numerator, 0)).toBeCloseTo(
        rollup!.numerator,
        6,
      );
      expect(group.body).toContain(`version ${version} of the`);
      expect(group.body).toContain('<a href="/prescribing/method">how the figures are made</a>');
      expect(group.body).toMatch(/<caption class="nhsuk-table__caption">GP practices in /);

      // Per patient, a practice whose list size is not known is listed but not counted.
      const perPatient = (
        await get(
          '/prescribing/compare/national/ENG?measure=inhaler-kgco2e-per-1000-patients&month=2024-02',
        )
      ).body;
      expect(perPatient).toContain('No: list size not known');
      expect(perPatient).toMatch(
        /\d+ practices are left out of both because Greenspace does not know their list sizes/,
      );

      // The same list as JSON.
      const api = await get(
        '/api/prescribing/groups/sub-icb/11M?measure=inhaler-kgco2e&month=2017-09',
      );
      expect(api.statusCode).toBe(200);
      const body = api.json() as {
        level: string;
        month: string;
        measure: { id: string };
        rollup: { numerator: number };
        practices: { code: string; numerator: number; inRollup: boolean }[];
      };
      expect(body).toMatchObject({ level: 'sub-icb', month: '2017-09', code: '11M' });
      expect(body.measure.id).toBe('inhaler-kgco2e');
      expect(body.practices.map((row) => row.code).sort()).toEqual(
        practices.map((row) => row.code).sort(),
      );
      expect(body.practices.reduce((sum, row) => sum + row.numerator, 0)).toBeCloseTo(
        body.rollup.numerator,
        6,
      );
      const apiUnknown = await get('/api/prescribing/groups/sub-icb/ZZZ?month=2017-09');
      expect(apiUnknown.statusCode).toBe(404);
      expect(apiUnknown.json()).toMatchObject({ error: 'Not found' });
      expect((await get('/api/prescribing/groups/planet/11M')).statusCode).toBe(404);
      const apiBad = await get('/api/prescribing/groups/sub-icb/11M?measure=nope');
      expect(apiBad.statusCode).toBe(400);
      expect(apiBad.json()).toMatchObject({ error: 'Bad request' });

      expect((await get('/prescribing/compare/sub-icb/ZZZ?month=2017-09')).statusCode).toBe(404);
      expect((await get('/prescribing/compare/sub-icb/11M?month=2030-01')).statusCode).toBe(404);
      expect((await get('/prescribing/compare/planet/11M')).statusCode).toBe(404);
      expect((await get('/prescribing/compare/sub-icb/bad!code')).statusCode).toBe(404);
      expect((await get('/prescribing/compare/sub-icb/11M?measure=nope')).statusCode).toBe(400);
    });

    it('answers 400 for a bad measure or month and 404 for an unknown level or month', async () => {
      const badMeasure = await get('/prescribing/compare/icb?measure=nope');
      expect(badMeasure.statusCode).toBe(400);
      expect(badMeasure.body).toContain('&quot;measure&quot; parameter must be one of');
      expect((await get('/prescribing/compare/icb?month=2017-13')).statusCode).toBe(400);
      expect((await get('/prescribing/compare/icb?month=2030-01')).statusCode).toBe(404);
      expect((await get('/prescribing/compare/planet')).statusCode).toBe(404);
      expect((await get('/prescribing/months/2030-01')).statusCode).toBe(404);
      expect((await get('/prescribing/months/latest')).statusCode).toBe(404);
    });

    it('shows import diagnostics, the reference table with sources and the method', async () => {
      const month = await get('/prescribing/months/2017-09');
      expect(month.statusCode).toBe(200);
      expect(month.body).toContain('Every chapter 3 code in this month was classified.');
      expect(month.body).not.toContain('the table shipped now is version');
      // A month imported with an earlier table says so, and how to bring it up to date.
      const current = testApp.services.prescribing.reference.version;
      const setVersion = (version: string) =>
        testApp.services.database.db
          .updateTable('epd_imports')
          .set({ reference_version: version })
          .where('month', '=', '2017-09')
          .execute();
      await setVersion('2026-11.1');
      try {
        expect((await get('/prescribing/months/2017-09')).body).toContain(
          `2026-11.1 (the table shipped now is version ${current}: import the month again with --replace to use it;`,
        );
      } finally {
        await setVersion(current);
      }
      const reference = await get('/prescribing/inhalers');
      expect(reference.statusCode).toBe(200);
      expect(reference.body).toContain('op-carbon-salbutamol');
      expect(reference.body).toContain('Wilkinson et al. 2019');
      // The class values the description rules give, with their method and source.
      expect(reference.body).toContain('<h2 id="classes">Class values</h2>');
      expect(reference.body).toMatch(
        /<code>ics-laba-227ea<\/code>[\s\S]*?36\.50<br><span class="nhsuk-body-s">class estimate \(wilkinson-2019\)/,
      );
      const method = await get('/prescribing/method');
      expect(method.statusCode).toBe(200);
      expect(method.body).toContain('more than 9');
      // The rule for a dose count that is unknown, as the code applies it.
      expect(method.body).toContain('given <strong>no kgCO2e</strong>');
      expect(method.body).toContain('is left out of the switch estimate');
      expect(method.body).not.toContain('the quantity is kept and the line is flagged');
    });

    it('serves the same data as JSON', async () => {
      const measures = await get(
        '/api/prescribing/measures?measure=mdi-share-non-salbutamol&level=practice&code=L84073',
      );
      expect(measures.statusCode).toBe(200);
      const body = measures.json();
      expect(body.rows).toEqual([
        expect.objectContaining({
          month: '2017-09',
          level: 'practice',
          code: 'L84073',
          numerator: 96,
          denominator: 151,
        }),
      ]);
      const practice = await get('/api/prescribing/practices/L84073');
      expect(practice.statusCode).toBe(200);
      expect(practice.json().practice.code).toBe('L84073');
      const within = await get(
        '/api/prescribing/measures?measure=inhaler-kgco2e&level=practice&within=sub-icb:03A&month=2017-09',
      );
      expect(within.json().rows.map((row: { code: string }) => row.code)).toEqual([
        'B85010',
        'B85054',
      ]);
      // Groups within a group: the sub-ICBs of region Y54 (the old Yorkshire regional office).
      const subIcbs = await get(
        '/api/prescribing/measures?measure=inhaler-kgco2e&level=sub-icb&within=region:Y54',
      );
      expect(subIcbs.json().rows.map((row: { code: string }) => row.code)).toEqual(['03A']);
      const notAbove = await get(
        '/api/prescribing/measures?measure=inhaler-kgco2e&level=region&within=icb:QK1',
      );
      expect(notAbove.statusCode).toBe(400);
      expect(notAbove.body).toContain(
        'The \\"within\\" parameter must be a group above the region level',
      );
      const table = (await get('/api/prescribing/inhalers')).json();
      expect(table.products.length).toBeGreaterThan(250);
      expect(table.classes).toContainEqual(
        expect.objectContaining({
          classId: 'smi',
          kgCo2ePerInhaler: 0.78,
          kgCo2eMethod: 'class estimate',
          kgCo2eSource: 'hansel-2019',
        }),
      );
      expect(
        (await get('/api/prescribing/months'))
          .json()
          .months.map((row: { month: string }) => row.month),
      ).toContain('2017-09');
    });

    it('answers for England only under its code ENG, on the group page, its API and in the repository', async () => {
      const page = await get('/prescribing/compare/national/ENG?month=2024-02');
      expect(page.statusCode).toBe(200);
      const api = await get('/api/prescribing/groups/national/ENG?month=2024-02');
      expect(api.statusCode).toBe(200);
      expect(api.json()).toMatchObject({ level: 'national', code: 'ENG', name: 'England' });
      // Any other code at the national level is no group: it must not list every practice.
      for (const code of ['QK1', 'C82001', 'ENGLAND']) {
        expect((await get(`/prescribing/compare/national/${code}`)).statusCode).toBe(404);
        const other = await get(`/api/prescribing/groups/national/${code}?month=2024-02`);
        expect(other.statusCode).toBe(404);
        expect(other.json()).toMatchObject({ error: 'Not found' });
      }
      const repository = createPrescribingRepository(testApp.services.database.db, dialect);
      const filter = { level: 'national', measureId: 'inhaler-kgco2e', month: '2024-02' } as const;
      expect(
        (await repository.findGroupPracticeMeasures({ ...filter, code: 'ENG' })).length,
      ).toBeGreaterThan(100);
      expect(await repository.findGroupPracticeMeasures({ ...filter, code: 'QK1' })).toEqual([]);
      expect(
        await testApp.services.prescribing.getComparisonGroup({ ...filter, code: 'QK1' }),
      ).toBeUndefined();
    });

    it('asks the measures API for a month or a practice at the practice level, not every practice in every month', async () => {
      const unbounded = await get(
        '/api/prescribing/measures?measure=inhaler-kgco2e&level=practice',
      );
      expect(unbounded.statusCode).toBe(400);
      expect(unbounded.json()).toMatchObject({ error: 'Bad request' });
      expect(unbounded.json().problems).toEqual([
        'The "month" parameter must be given as YYYY-MM when "level" is practice, unless "code" names one practice (every practice for every month is too many rows for one answer).',
      ]);
      // A group bounds the practices, not the months: still refused.
      const within = await get(
        '/api/prescribing/measures?measure=inhaler-kgco2e&level=practice&within=icb:QK1',
      );
      expect(within.statusCode).toBe(400);
      expect(within.json().problems.join(' ')).toContain('"month" parameter must be given');
      // A blank month is no month.
      expect(
        (await get('/api/prescribing/measures?measure=inhaler-kgco2e&level=practice&month='))
          .statusCode,
      ).toBe(400);
      // One month: every practice of that month.
      const month = await get(
        '/api/prescribing/measures?measure=inhaler-kgco2e&level=practice&month=2024-02',
      );
      expect(month.statusCode).toBe(200);
      const rows: { month: string; code: string }[] = month.json().rows;
      expect(rows.length).toBeGreaterThan(100);
      expect(new Set(rows.map((row) => row.month))).toEqual(new Set(['2024-02']));
      // One practice: its every month.
      const practice = await get(
        '/api/prescribing/measures?measure=inhaler-kgco2e&level=practice&code=C82001',
      );
      expect(practice.statusCode).toBe(200);
      expect(practice.json().rows.map((row: { month: string }) => row.month)).toEqual([
        '2024-01',
        '2024-02',
      ]);
      // A group level has few rows a month and needs neither.
      const icbs = await get('/api/prescribing/measures?measure=inhaler-kgco2e&level=icb');
      expect(icbs.statusCode).toBe(200);
      expect(icbs.json().rows.length).toBeGreaterThan(0);
    });

    it('names each imported file by its base name only, never the path or address it came from', async () => {
      const api = await get('/api/prescribing/months');
      const months: Record<string, unknown>[] = api.json().months;
      for (const row of months) {
        expect(row).not.toHaveProperty('source');
        expect(row).not.toHaveProperty('duration_ms');
      }
      expect(months.find((row) => row.month === '2017-09')).toMatchObject({
        file_name: 'epd_201709_bnf_chapter3_subset.csv',
        rows_read: 597,
      });
      expect(months.find((row) => row.month === '2024-02')?.file_name).toBe('synthetic.csv');
      const page = await get('/prescribing/months/2024-02');
      expect(page.body).toContain('synthetic.csv');
      for (const body of [api.body, page.body, (await get('/prescribing')).body]) {
        expect(body).not.toContain(workDir);
        expect(body).not.toContain(import.meta.dirname);
      }
    });

    it('answers the API with JSON 400 and 404 errors', async () => {
      const missing = await get('/api/prescribing/measures?level=practice');
      expect(missing.statusCode).toBe(400);
      expect(missing.json().problems.join(' ')).toContain('"measure" parameter');
      const badLevel = await get('/api/prescribing/measures?measure=inhaler-kgco2e&level=galaxy');
      expect(badLevel.statusCode).toBe(400);
      expect(badLevel.json().problems.join(' ')).toContain('"level" parameter');
      const unknown = await get('/api/prescribing/practices/Z99999');
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().error).toBe('Not found');
      // A month not imported is not found, as on the comparison page; an imported one answers.
      const notImported = await get(
        '/api/prescribing/measures?measure=inhaler-kgco2e&level=national&month=2030-01',
      );
      expect(notImported.statusCode).toBe(404);
      expect(notImported.json()).toEqual({
        error: 'Not found',
        message: 'No EPD month 2030-01 has been imported.',
      });
      const imported = await get(
        '/api/prescribing/measures?measure=inhaler-kgco2e&level=national&month=2017-09',
      );
      expect(imported.statusCode).toBe(200);
      expect(imported.json().rows).toHaveLength(1);
    });
  },
);
