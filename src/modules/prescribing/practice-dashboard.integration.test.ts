import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';
import { loadInhalerReference } from './inhaler-reference.ts';
import { createPrescribingRepository } from './prescribing.repository.ts';
import { createPrescribingService } from './prescribing.service.ts';

const header =
  'YEAR_MONTH,REGIONAL_OFFICE_NAME,REGIONAL_OFFICE_CODE,AREA_TEAM_NAME,AREA_TEAM_CODE,PCO_NAME,PCO_CODE,PRACTICE_NAME,PRACTICE_CODE,ADDRESS_1,ADDRESS_2,ADDRESS_3,ADDRESS_4,POSTCODE,BNF_CHEMICAL_SUBSTANCE,CHEMICAL_SUBSTANCE_BNF_DESCR,BNF_CODE,BNF_DESCRIPTION,BNF_CHAPTER_PLUS_CODE,QUANTITY,ITEMS,TOTAL_QUANTITY,ADQUSAGE,NIC,ACTUAL_COST,UNIDENTIFIED';

/** One EPD row (2017 layout) of a practice that Greenspace's organisation data does not know. */
function row(
  month: string,
  bnfCode: string,
  description: string,
  items: number,
  total: number,
  practice = 'HILLSIDE SURGERY,Z99998',
) {
  return `${month},SOUTH OF ENGLAND,Y57,AREA TEAM,Q64,GLOUCESTERSHIRE CCG,11M00,${practice},,,,,GL1 1AA,,,${bnfCode},${description},,${total / items},${items},${total},0,10,9.5,N`;
}

const valley = 'VALLEY SURGERY,Z99997';
const trimbow = 'Trimbow_Inha 87mcg/5mcg/9mcg';
// A pMDI typed by a description rule whose medicine (tiotropium) is in no class: no carbon factor.
const tiotropiumMdi = ['0301020Q0ZZAAAA', 'Tiotropium_Widget pMDI 2.5mcg'] as const;

describe.each(testDialects)('a practice dashboard on %s', (dialect) => {
  let testApp: TestApp;
  let workDir: string;

  beforeAll(async () => {
    testApp = await createTestApp(dialect);
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-dashboard-'));
    const file = path.join(workDir, 'EPD_201710.csv');
    // A triple-therapy pMDI whose dose count neither the reference table nor this description
    // gives: one inhaler in each of two months, then 120 units on one item, which may be doses.
    const description = 'Trimbow_Inha 87mcg/5mcg/9mcg';
    fs.writeFileSync(
      file,
      [
        header,
        row('201710', '0301011ABBBAAA0', description, 1, 1),
        // A beclometasone code that no table row or rule knows: unclassified.
        row('201710', '0302000C0ZZAAAA', 'Beclometasone_Widget 100mcg', 1, 1),
        row('201711', '0301011ABBBAAA0', description, 1, 1),
        row('201712', '0301011ABBBAAA0', description, 1, 120),
        // Another practice, imported with a gap: October and December 2017, then November 2018.
        row('201710', '0301011ABBBAAA0', trimbow, 1, 1, valley),
        row('201710', ...tiotropiumMdi, 1, 2, valley),
        row('201712', '0301011ABBBAAA0', trimbow, 1, 1, valley),
        row('201712', ...tiotropiumMdi, 1, 1, valley),
        row('201811', '0301011ABBBAAA0', trimbow, 1, 1, valley),
        row('201811', ...tiotropiumMdi, 1, 3, valley),
      ].join('\n') + '\n',
    );
    await testApp.services.prescribing.importEpd([file]);
  });

  afterAll(async () => {
    await testApp?.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('counts no inhalers for a month whose quantity may be doses, in the table or the switch estimate', async () => {
    const dashboard = (await testApp.services.prescribing.getPracticeDashboard('Z99998'))!;
    expect(dashboard.products).toHaveLength(1);
    const [product] = dashboard.products;
    expect(product).toMatchObject({
      items: 3,
      inhalers: 2,
      dosesUnknownMonths: 1,
      countedMonths: 2,
    });
    expect(product!.kgCo2e).toBeCloseTo(2 * product!.kgCo2ePerInhaler!, 10);
    expect(dashboard.switchEstimate.mdiInhalers).toBe(2);
    const alternative = product!.alternatives[0]?.kgCo2ePerInhaler ?? 1;
    // Half of 2 inhalers in 3 months, scaled to 12.
    expect(dashboard.switchEstimate.savingKgCo2ePerYear).toBeCloseTo(
      (2 * 0.5 * (product!.kgCo2ePerInhaler! - alternative) * 12) / 3,
      6,
    );
    const html = (await testApp.app.inject({ method: 'GET', url: '/prescribing/practices/Z99998' }))
      .body;
    expect(html).toContain('<strong>Flagged:</strong> dose count unknown in 1 month(s)');
    // Each product row names the reference version its factor came from.
    expect(html).toContain(
      `(class estimate, wilkinson-2019; reference version ${testApp.services.prescribing.reference.version})`,
    );
  });

  it('takes the months within the calendar year to its latest month, not the last twelve held', async () => {
    const dashboard = (await testApp.services.prescribing.getPracticeDashboard('Z99997'))!;
    expect(dashboard.latestMonth).toBe('2018-11');
    // October 2017 is more than 12 months before November 2018, though one of the last 12 held.
    expect(dashboard.recentMonths).toEqual(['2017-12', '2018-11']);
    expect(dashboard.recentPeriod).toEqual({ from: '2017-12', to: '2018-11' });
    const trimbowRow = dashboard.products.find((product) => product.bnfCode === '0301011ABBBAAA0')!;
    expect(trimbowRow.inhalers).toBe(2);
    const alternative = trimbowRow.alternatives[0]?.kgCo2ePerInhaler ?? 1;
    // Half of 2 inhalers in the 2 months held, scaled to 12 (not to 3 months, nor to 12 of them).
    expect(dashboard.switchEstimate.months).toBe(2);
    expect(dashboard.switchEstimate.savingKgCo2ePerYear).toBeCloseTo(
      (2 * 0.5 * (trimbowRow.kgCo2ePerInhaler! - alternative) * 12) / 2,
      6,
    );
    const html = (await testApp.app.inject({ method: 'GET', url: '/prescribing/practices/Z99997' }))
      .body;
    expect(html).toContain(
      'MDIs prescribed in December 2017 and November 2018: the months held for the practice in the 12 months from December 2017 to November 2018, scaled from 2 months to 12.',
    );
    expect(html).toContain('Inhalers prescribed in December 2017 and November 2018');
    // Under a tonne, the saving is in kilograms rather than "0.1 tCO2e".
    const kg = Math.round(dashboard.switchEstimate.savingKgCo2ePerYear);
    expect(kg).toBeLessThan(1000);
    expect(html).toContain(`<strong>${kg} kgCO2e a year</strong>`);
  });

  it('places the trend charts by the calendar, with a gap for the months not held', async () => {
    const html = (await testApp.app.inject({ method: 'GET', url: '/prescribing/practices/Z99997' }))
      .body;
    const svg = /<svg[^>]*aria-labelledby="chart-inhaler-kgco2e-title[\s\S]*?<\/svg>/.exec(
      html,
    )![0];
    const xs = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((match) => Number(match[1]));
    expect(xs).toHaveLength(3);
    // October 2017, December 2017 and November 2018: 2 and 13 months from the first.
    expect((xs[1]! - xs[0]!) / (xs[2]! - xs[0]!)).toBeCloseTo(2 / 13, 2);
    // The line breaks at the months with no data: one path segment per run of months held.
    const path = /<path d="([^"]+)" fill="none"/.exec(svg)![1]!;
    expect(path.match(/M/g)).toHaveLength(3);
    // The table beside it lists only the months held.
    const table = /Carbon of inhalers prescribed by month[\s\S]*?<\/table>/.exec(html)![0];
    expect(table.match(/<tr class="nhsuk-table__row">/g)).toHaveLength(4);
  });

  it('shows "no factor" for a product with no carbon factor, and says the switch estimate leaves it out', async () => {
    const dashboard = (await testApp.services.prescribing.getPracticeDashboard('Z99997'))!;
    const tiotropium = dashboard.products.find((product) => product.bnfCode === tiotropiumMdi[0])!;
    expect(tiotropium).toMatchObject({
      isMdi: true,
      kgCo2ePerInhaler: null,
      kgCo2e: null,
      inhalers: 4,
    });
    // Listed after every product whose carbon is known.
    expect(dashboard.products.at(-1)).toBe(tiotropium);
    expect(dashboard.switchEstimate).toMatchObject({
      mdiInhalers: 2,
      unvaluedMdiProducts: 1,
      unvaluedMdiInhalers: 4,
    });
    const html = (await testApp.app.inject({ method: 'GET', url: '/prescribing/practices/Z99997' }))
      .body;
    const productRow = new RegExp(
      `<tr class="nhsuk-table__row">\\s*<td class="nhsuk-table__cell">${tiotropiumMdi[1]}[\\s\\S]*?</tr>`,
    ).exec(html)![0];
    expect(productRow).toContain('>no factor</td>');
    expect(productRow).not.toMatch(/>0\.0</);
    expect(html).toContain(
      'Left out: 4 MDIs of 1 product with no carbon factor in the reference table',
    );
    // No bar for it in the chart of the highest-emitting inhalers.
    const chart = /<svg[^>]*aria-labelledby="chart-products-title[\s\S]*?<\/svg>/.exec(html)![0];
    expect(chart).not.toContain('Tiotropium');
  });

  it('says a total is not adjusted for size, and why a practice without a list size has no decile', async () => {
    const html = (await testApp.app.inject({ method: 'GET', url: '/prescribing/practices/Z99997' }))
      .body;
    const standing = /Where the practice stands[\s\S]*?<\/table>/.exec(html)![0];
    expect(standing).toMatch(
      /Carbon of inhalers prescribed<\/a><\/td>[\s\S]*?of 10<br><span class="nhsuk-body-s">a total, not adjusted for practice size<\/span>/,
    );
    expect(standing).toContain('not ranked: list size not known to Greenspace');
    // Each trend table says how many practices each month's decile ranks.
    expect(html).toMatch(/<th[^>]*>\s*Practices ranked\s*<\/th>/);
  });

  it('links the ODS code to the organisation page only for a practice Greenspace knows', async () => {
    const unknown = await testApp.app.inject({
      method: 'GET',
      url: '/prescribing/practices/Z99998',
    });
    expect(unknown.statusCode).toBe(200);
    expect(unknown.body).not.toContain('href="/organisations/Z99998"');
    expect(unknown.body).toMatch(/ODS code\s*<\/dt>\s*<dd[^>]*>\s*Z99998\s*<\/dd>/);
  });

  it('heads the unclassified codes warning at level 3, under the section heading', async () => {
    const html = (await testApp.app.inject({ method: 'GET', url: '/prescribing/months/2017-10' }))
      .body;
    expect(html).toContain('<h2>Unclassified codes</h2>');
    expect(html).toMatch(
      /<h3 class="nhsuk-card__heading"><span class="nhsuk-u-visually-hidden">Important: <\/span>Codes left out of every measure<\/h3>/,
    );
  });
});

describe.each(testDialects)(
  'a practice dashboard over months imported with different reference tables, on %s',
  (dialect) => {
    let testApp: TestApp;
    let workDir: string;
    const reference = loadInhalerReference();
    // Earlier versions of the table that gave every product the factor the current one gives.
    const oldest = '2000-01.1';
    const older = '2000-02.1';
    const orchard = 'ORCHARD SURGERY,Z99995';
    const brook = 'BROOK SURGERY,Z99994';
    const paracetamol = ['0407010H0AAAMAM', 'Paracetamol 500mg tab'] as const;
    const get = (url: string) => testApp.app.inject({ method: 'GET', url });

    beforeAll(async () => {
      testApp = await createTestApp(dialect);
      workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-dashboard-versions-'));
      const database = testApp.services.database;
      const importWith = async (version: string, name: string, rows: string[]) => {
        const file = path.join(workDir, name);
        fs.writeFileSync(file, [header, ...rows].join('\n') + '\n');
        const service = createPrescribingService(
          createPrescribingRepository(database.db, database.dialect),
          { ...reference, version },
        );
        await service.importEpd([file]);
      };
      // September 2016, before the 12 months the breakdown covers, with the oldest table; Brook
      // Surgery prescribed nothing from chapter 3 that month, nor in any other.
      await importWith(oldest, 'EPD_201609.csv', [
        row('201609', '0301011ABBBAAA0', trimbow, 1, 1, orchard),
        row('201609', ...paracetamol, 1, 32, brook),
      ]);
      await importWith(older, 'EPD_201710.csv', [
        row('201710', '0301011ABBBAAA0', trimbow, 1, 1, orchard),
      ]);
      // With the current table: November, then a December in which Orchard Surgery prescribed
      // nothing from chapter 3.
      await importWith(reference.version, 'EPD_201711.csv', [
        row('201711', '0301011ABBBAAA0', trimbow, 1, 2, orchard),
        row('201712', ...paracetamol, 1, 32, orchard),
        row('201712', '0301011ABBBAAA0', trimbow, 1, 1, valley),
      ]);
    });

    afterAll(async () => {
      await testApp?.close();
      fs.rmSync(workDir, { recursive: true, force: true });
    });

    it('holds a practice only for the months it had chapter 3 lines, so its latest figures are its latest month', async () => {
      // December's prescribing has no chapter 3 line for Orchard Surgery: the practice is not held
      // for December, so the latest month the dashboard stands it in is the last month with
      // figures (were it held, the last point of each measure would be an older month's).
      const dashboard = (await testApp.services.prescribing.getPracticeDashboard('Z99995'))!;
      expect(dashboard.months).toEqual(['2016-09', '2017-10', '2017-11']);
      expect(dashboard.latestMonth).toBe('2017-11');
      for (const measure of dashboard.measures) {
        expect(measure.latest?.month).toBe(dashboard.latestMonth);
      }
      // A practice with no chapter 3 line in any month is not held at all.
      expect(await testApp.services.prescribing.getPracticeDashboard('Z99994')).toBeUndefined();
      expect((await get('/prescribing/practices/Z99994')).statusCode).toBe(404);
    });

    it('lists a product once when a new reference version kept its factor, naming both versions', async () => {
      const dashboard = (await testApp.services.prescribing.getPracticeDashboard('Z99995'))!;
      expect(dashboard.recentMonths).toEqual(['2017-10', '2017-11']);
      expect(dashboard.products).toHaveLength(1);
      const [product] = dashboard.products;
      expect(product).toMatchObject({
        bnfCode: '0301011ABBBAAA0',
        items: 2,
        inhalers: 3,
        countedMonths: 2,
        referenceVersions: [older, reference.version],
      });
      expect(product!.kgCo2e).toBeCloseTo(3 * product!.kgCo2ePerInhaler!, 9);
      const html = (await get('/prescribing/practices/Z99995')).body;
      const rows = html.match(/<td class="nhsuk-table__cell">Trimbow_Inha/g);
      expect(rows).toHaveLength(1);
      expect(html).toContain(
        `(class estimate, wilkinson-2019; reference versions ${older}, ${reference.version})`,
      );
    });

    it('names the reference version of every month shown, in the trends and at the foot of the page', async () => {
      const dashboard = (await testApp.services.prescribing.getPracticeDashboard('Z99995'))!;
      // September 2016 is before the breakdown's 12 months, but its trend points are shown.
      expect(dashboard.referenceVersionsUsed).toEqual([oldest, older, reference.version]);
      for (const measure of dashboard.measures) {
        expect(measure.points.map((point) => [point.month, point.referenceVersion])).toEqual([
          ['2016-09', oldest],
          ['2017-10', older],
          ['2017-11', reference.version],
        ]);
      }
      const html = (await get('/prescribing/practices/Z99995')).body;
      expect(html).toContain(
        `the inhaler reference table versions ${oldest}, ${older}, ${reference.version} (each month with the version it was imported with`,
      );
      const table = /Carbon of inhalers prescribed by month[\s\S]*?<\/table>/.exec(html)![0];
      expect(table).toMatch(/<th[^>]*>\s*Reference version\s*<\/th>/);
      const rowOf = (month: string) =>
        table.split('</tr>').find((tableRow) => tableRow.includes(month))!;
      // The version is the row's last cell.
      expect(rowOf('September 2016')).toMatch(new RegExp(`>\\s*${oldest}\\s*</td>\\s*$`));
      expect(rowOf('October 2017')).toMatch(new RegExp(`>\\s*${older}\\s*</td>\\s*$`));
      expect(rowOf('November 2017')).toMatch(new RegExp(`>\\s*${reference.version}\\s*</td>\\s*$`));
    });
  },
);
