import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';
import { generateSyntheticEpd } from './epd-synthetic.ts';

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
        /If 50% of these metered-dose inhalers moved to dry-powder or soft-mist inhalers: <strong>[\d,.]+ tCO2e a year<\/strong>/,
      );
      expect(html).toContain('Data for this chart');
      expect(html).toMatch(/<th[^>]*>\s*Value \(%\)\s*<\/th>/);
      expect(html).toMatch(/<th[^>]*>\s*Value \(kgCO2e\)\s*<\/th>/);
      expect(html).toContain('Cross Counties PCN'.split(' ')[0]);
      expect(html).not.toContain('<script>');
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
      expect(lines[0]).toBe('month,level,code,numerator,denominator,value');
      expect(
        lines
          .slice(1)
          .map((line) => line.split(',')[2])
          .sort(),
      ).toEqual(['03A', '11M']);
      // A total: each sub-ICB location's value is its numerator (denominator 1), not an average.
      for (const line of lines.slice(1)) {
        const [, , , numerator, denominator, value] = line.split(',');
        expect(denominator).toBe('1');
        expect(value).toBe(numerator);
      }
      expect(page.body).toContain('Each row is the total of its practices');
      const pcn = await get('/prescribing/compare/pcn?month=2024-02');
      expect(pcn.statusCode).toBe(200);
      expect(pcn.body).toMatch(/PCN/);
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
      const reference = await get('/prescribing/inhalers');
      expect(reference.statusCode).toBe(200);
      expect(reference.body).toContain('op-carbon-salbutamol');
      expect(reference.body).toContain('Wilkinson et al. 2019');
      const method = await get('/prescribing/method');
      expect(method.statusCode).toBe(200);
      expect(method.body).toContain('more than 9');
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
      expect((await get('/api/prescribing/inhalers')).json().products.length).toBeGreaterThan(250);
      expect(
        (await get('/api/prescribing/months'))
          .json()
          .months.map((row: { month: string }) => row.month),
      ).toContain('2017-09');
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
