import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';

const header =
  'YEAR_MONTH,REGIONAL_OFFICE_NAME,REGIONAL_OFFICE_CODE,AREA_TEAM_NAME,AREA_TEAM_CODE,PCO_NAME,PCO_CODE,PRACTICE_NAME,PRACTICE_CODE,ADDRESS_1,ADDRESS_2,ADDRESS_3,ADDRESS_4,POSTCODE,BNF_CHEMICAL_SUBSTANCE,CHEMICAL_SUBSTANCE_BNF_DESCR,BNF_CODE,BNF_DESCRIPTION,BNF_CHAPTER_PLUS_CODE,QUANTITY,ITEMS,TOTAL_QUANTITY,ADQUSAGE,NIC,ACTUAL_COST,UNIDENTIFIED';

/** One EPD row (2017 layout) of a practice that Greenspace's organisation data does not know. */
function row(month: string, bnfCode: string, description: string, items: number, total: number) {
  return `${month},SOUTH OF ENGLAND,Y57,AREA TEAM,Q64,GLOUCESTERSHIRE CCG,11M00,HILLSIDE SURGERY,Z99998,,,,,GL1 1AA,,,${bnfCode},${description},,${total / items},${items},${total},0,10,9.5,N`;
}

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
