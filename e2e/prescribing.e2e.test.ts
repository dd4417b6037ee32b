import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { generateSyntheticEpd } from '../src/modules/prescribing/epd-synthetic.ts';
import { describeJourneys } from './support/journeys.ts';
import { InhalerDashboardPage } from './support/pages/inhaler-dashboard-page.ts';
import os from 'node:os';
import fs from 'node:fs';

describeJourneys('inhaler prescribing journeys', (suite) => {
  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-e2e-epd-'));
    try {
      const file = path.join(dir, 'synthetic.csv');
      // Three synthetic months that include the LLR practices, so C82001 has a trend to draw.
      await generateSyntheticEpd({
        file,
        layout: 'epd-icb',
        months: ['2024-01', '2024-02', '2024-03'],
        rowsPerMonth: 12_000,
        practices: 140,
        seed: 11,
      });
      await suite.server.services.prescribing.importEpd([file]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a visitor finds a practice, reads its inhaler dashboard, its chart data and the method', async () => {
    const visitor = await suite.openVisitor();
    const dashboard = new InhalerDashboardPage(visitor);
    await dashboard.findFromOverview('C82001');
    await visitor.checkPage();
    expect(await dashboard.heading()).toBe('South Leicestershire Medical Group');
    expect(await dashboard.switchSaving()).toMatch(
      /^If 50% of these metered-dose inhalers moved to dry-powder or soft-mist inhalers: [\d,.]+ (tCO2e|kgCO2e) a year\./,
    );
    const deciles = await dashboard.deciles();
    expect(
      deciles['Metered-dose inhalers as a share of all inhalers, salbutamol excluded'],
    ).toMatch(/^([1-9]|10) of 10$/);
    const charts = await dashboard.chartNames();
    expect(charts).toContain(
      'Metered-dose inhalers as a share of all inhalers, salbutamol excluded, South Leicestershire Medical Group',
    );
    const rows = await dashboard.chartDataRows('Carbon of inhalers prescribed');
    expect(rows.map((row) => row[0])).toEqual(['January 2024', 'February 2024', 'March 2024']);
    await visitor.checkPage();

    await visitor.navigate(
      () => visitor.page.getByRole('link', { name: 'How the figures are made' }).click(),
      '/prescribing/method',
    );
    await visitor.checkPage();
    await visitor.goto('/prescribing/inhalers');
    await visitor.checkPage();
    await visitor.goto('/prescribing/compare/pcn?measure=low-carbon-inhaler-share');
    await visitor.checkPage();
    // Each group's count of practices links to the practices it sums.
    await visitor.navigate(
      () =>
        visitor.page
          .getByRole('link', { name: /^\d+ practices in / })
          .first()
          .click(),
      (url) => /^\/prescribing\/compare\/pcn\/U\d+$/.test(url.pathname),
    );
    await visitor.checkPage();
    expect(await visitor.page.locator('main table caption').first().textContent()).toMatch(
      /^GP practices in /,
    );
    await visitor.goto('/prescribing/compare/region?measure=inhaler-kgco2e');
    await visitor.checkPage();
    await visitor.goto('/prescribing/months/2024-03');
    await visitor.checkPage();
  });

  it('the dashboard and comparison work with JavaScript disabled', async () => {
    const visitor = await suite.openVisitor({ javaScriptEnabled: false });
    const dashboard = new InhalerDashboardPage(visitor);
    expect(await dashboard.open('C82001')).toBe(200);
    await visitor.checkPage();
    expect((await dashboard.chartNames()).length).toBeGreaterThanOrEqual(5);
    await visitor.goto('/prescribing/compare/icb?measure=inhaler-kgco2e&month=2024-02');
    await visitor.checkPage();
  });
});
