import type { Visitor } from '../visitor.ts';
import { textOf, textsOf } from './text.ts';

/** A practice's inhaler dashboard at /prescribing/practices/:code. */
export class InhalerDashboardPage {
  constructor(private readonly visitor: Visitor) {}

  async open(code: string): Promise<number> {
    return this.visitor.goto(`/prescribing/practices/${code}`);
  }

  /** Finds a practice from the prescribing overview's search form. */
  async findFromOverview(code: string): Promise<void> {
    const page = this.visitor.page;
    await this.visitor.goto('/prescribing');
    await this.visitor.checkPage();
    await page.getByLabel('GP practice ODS code').fill(code);
    await this.visitor.navigate(
      () => page.getByRole('button', { name: 'Show the practice dashboard' }).click(),
      `/prescribing/practices/${code}`,
    );
  }

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  /** The "What a switch would save" sentence. */
  async switchSaving(): Promise<string> {
    return textOf(this.visitor.page.locator('.nhsuk-inset-text p').first());
  }

  /** Measure title → decile text, from the "Where the practice stands" table. */
  async deciles(): Promise<Record<string, string>> {
    const rows = this.visitor.page.locator('main table').first().locator('tbody tr');
    const titles = await textsOf(rows.locator('td:nth-child(1)'));
    const deciles = await textsOf(rows.locator('td:nth-child(5)'));
    return Object.fromEntries(titles.map((title, index) => [title, deciles[index] ?? '']));
  }

  /** The accessible names of the charts (SVG role="img"). */
  async chartNames(): Promise<string[]> {
    const charts = this.visitor.page.locator('svg[role="img"]');
    const count = await charts.count();
    const names: string[] = [];
    for (let index = 0; index < count; index += 1) {
      names.push(await textOf(charts.nth(index).locator('title')));
    }
    return names;
  }

  /** Opens the data table behind one trend chart and returns its rows as text. */
  async chartDataRows(measureTitle: string): Promise<string[][]> {
    const section = this.visitor.page.locator('section', {
      has: this.visitor.page.getByRole('heading', { name: measureTitle, exact: true }),
    });
    await section.locator('summary').click();
    const rows = section.locator('table tbody tr');
    const count = await rows.count();
    const result: string[][] = [];
    for (let index = 0; index < count; index += 1)
      result.push(await textsOf(rows.nth(index).locator('td')));
    return result;
  }
}
