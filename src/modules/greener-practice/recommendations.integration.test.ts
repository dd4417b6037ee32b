import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorFor, buildUser } from '../../../test/support/factories.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';
import type { Actor } from '../access/policy.ts';
import { answerDone } from './greener-practice.test-helpers.ts';

/**
 * The recommended actions follow the practice's inhaler prescribing: a month in which it prescribes
 * mostly metered-dose inhalers puts the inhaler review first, with the saving a switch would
 * bring; the same month replaced by one in which it prescribes mostly dry-powder inhalers does not.
 */

const PRACTICE = 'C82009';
const OTHERS = [
  'C82010',
  'C82011',
  'C82012',
  'C82013',
  'C82014',
  'C82016',
  'C82017',
  'C82018',
  'C82019',
  'C82020',
];
const MDI = { code: '0302000C0BQAABX', description: 'Fostair_Inh 100mcg/6mcg (120D) CFF' };
const DPI = { code: '0302000C0BRAABY', description: 'Fostair NEXThaler_Inh 100mcg/6mcg (120D)' };

const header =
  'YEAR_MONTH,REGIONAL_OFFICE_NAME,REGIONAL_OFFICE_CODE,ICB_NAME,ICB_CODE,PCO_NAME,PCO_CODE,PRACTICE_NAME,PRACTICE_CODE,ADDRESS_1,ADDRESS_2,ADDRESS_3,ADDRESS_4,POSTCODE,BNF_CHEMICAL_SUBSTANCE,CHEMICAL_SUBSTANCE_BNF_DESCR,BNF_CODE,BNF_DESCRIPTION,BNF_CHAPTER_PLUS_CODE,QUANTITY,ITEMS,TOTAL_QUANTITY,ADQUSAGE,NIC,ACTUAL_COST,UNIDENTIFIED';

function line(practice: string, product: { code: string; description: string }, items: number) {
  return [
    '202609',
    'MIDLANDS',
    'Y60',
    'NHS LEICESTER LEICESTERSHIRE AND RUTLAND INTEGRATED CARE BOARD',
    'QK1',
    'NHS LEICESTER LEICESTERSHIRE AND RUTLAND ICB - 04C',
    '04C00',
    `PRACTICE ${practice}`,
    practice,
    '',
    '',
    '',
    '',
    'LE1 1AA',
    '0302000C0',
    'Beclometasone dipropionate/formoterol',
    product.code,
    product.description,
    '03: Respiratory System',
    '1',
    String(items),
    String(items),
    '0',
    String(items * 30),
    String(items * 28),
    'N',
  ].join(',');
}

/** One month: the other practices spread from 15% to 85% MDIs; the practice at `mdiShare`. */
function month(mdiShare: number): string {
  const lines = [header];
  OTHERS.forEach((practice, index) => {
    const mdi = 15 + index * 7;
    lines.push(line(practice, MDI, mdi), line(practice, DPI, 100 - mdi));
  });
  lines.push(line(PRACTICE, MDI, mdiShare), line(PRACTICE, DPI, 100 - mdiShare));
  return `${lines.join('\n')}\n`;
}

describe.each(testDialects)('recommended actions follow inhaler prescribing on %s', (dialect) => {
  let testApp: TestApp;
  let workDir: string;
  let champion: Actor;

  beforeAll(async () => {
    testApp = await createTestApp(dialect);
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-ggp-epd-'));
    const person = await buildUser(testApp.services, {
      memberships: [{ organisationCode: PRACTICE, role: 'green_champion' }],
    });
    champion = await actorFor(testApp.services, person.id);
    await testApp.services.greenerPractice.startAssessment(champion, PRACTICE, null);
    await answerDone(testApp.services, champion, PRACTICE, ['LE-01', 'LE-02']);
  });

  afterAll(async () => {
    await testApp?.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  async function importMonth(mdiShare: number, replace: boolean) {
    const file = path.join(workDir, `EPD_202609_${mdiShare}.csv`);
    fs.writeFileSync(file, month(mdiShare));
    await testApp.services.prescribing.importEpd([file], { replace });
    return testApp.services.greenerPractice.getPracticeDashboard(null, PRACTICE);
  }

  it('puts the inhaler review first, with its saving, when the practice prescribes mostly MDIs', async () => {
    const dashboard = await importMonth(95, false);
    const mdiShare = dashboard.prescribing!.measures.find(
      (m) => m.id === 'mdi-share-non-salbutamol',
    )!;
    expect(mdiShare.latest).toMatchObject({ value: 95, decile: 10 });
    const [first] = dashboard.recommendations;
    expect(first!.action.code).toBe('MI-02');
    expect(first!.measure).toMatchObject({ id: 'mdi-share-non-salbutamol', decile: 10 });
    expect(first!.savingTonnesCo2ePerYear).toBeGreaterThan(0);
    expect(first!.caseStudy?.title).toBe('Example: reviewing inhalers in a city practice');
    // The saving is the prescribing module's own estimate for the practice, traced there.
    expect(first!.savingTonnesCo2ePerYear).toBe(
      (await testApp.services.prescribing.getPracticeDashboard(PRACTICE))!.switchEstimate
        .savingTonnesCo2ePerYear,
    );
    expect(dashboard.recommendations.map((entry) => entry.action.code)).not.toContain('LE-01');
    const page = await testApp.services.greenerPractice.getActionPage(champion, PRACTICE, 'MI-02');
    expect(page.practiceData).toMatchObject({ month: '2026-09', value: 95, decile: 10 });
    expect(page.practiceData!.savingTonnesCo2ePerYear).toBe(first!.savingTonnesCo2ePerYear);
    // The decile says whom the practice is ranked among: here every practice in the month.
    const html = (await testApp.app.inject(`/greener-practice/practices/${PRACTICE}`)).body;
    expect(html).toContain('decile 10 of 10 among all practices in the month’s data');
    expect(html).not.toContain('nationally');
    expect(html).toMatch(/would save about <strong>[\d,.]+ (kgCO2e|tCO2e) a year<\/strong>/);
  });

  it('moves the inhaler review down when the same month is replaced by one of mostly dry-powder inhalers', async () => {
    const before = (
      await testApp.services.greenerPractice.getPracticeDashboard(null, PRACTICE)
    ).recommendations.map((entry) => entry.action.code);
    const dashboard = await importMonth(5, true);
    const mdiShare = dashboard.prescribing!.measures.find(
      (m) => m.id === 'mdi-share-non-salbutamol',
    )!;
    expect(mdiShare.latest).toMatchObject({ value: 5, decile: 1 });
    const after = dashboard.recommendations.map((entry) => entry.action.code);
    expect(after).not.toEqual(before);
    expect(after[0]).not.toBe('MI-02');
    expect(after).not.toContain('MI-02');
  });
});
