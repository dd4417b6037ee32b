import type { Visitor } from '../visitor.ts';
import { normaliseSpace, parseWholeNumber, textOf } from './text.ts';

/** One row of the directory's results table. */
export interface DirectoryRow {
  name: string;
  href: string;
  code: string;
  type: string;
  partOf: string;
  registeredPatients: string;
}

/** The filters as they appear in the address after the filter form is submitted. */
export type DirectoryParams = Partial<Record<'q' | 'type' | 'icb' | 'subIcb' | 'page', string>>;

/** The organisation directory at /organisations: the filter form, the results and pagination. */
export class DirectoryPage {
  constructor(private readonly visitor: Visitor) {}

  private get form() {
    return this.visitor.page.getByRole('search', { name: 'Filter organisations' });
  }

  async open(query = ''): Promise<number> {
    return this.visitor.goto(`/organisations${query}`);
  }

  /** Types a name or ODS code, presses "Apply filters" and waits for the results of that search. */
  async search(text: string): Promise<void> {
    await this.fillName(text);
    await this.applyFilters({ q: text });
  }

  async fillName(text: string): Promise<void> {
    await this.form.getByLabel('Name or ODS code', { exact: true }).fill(text);
  }

  async nameValue(): Promise<string> {
    return this.form.getByLabel('Name or ODS code', { exact: true }).inputValue();
  }

  async selectType(label: string): Promise<void> {
    await this.form.getByLabel('Type', { exact: true }).selectOption({ label });
  }

  async selectIcb(label: string): Promise<void> {
    await this.form.getByLabel('Integrated care board', { exact: true }).selectOption({ label });
  }

  /** The label of the option now chosen in one of the form's menus. */
  async selectedOption(menuLabel: string): Promise<string> {
    const menu = this.form.getByLabel(menuLabel, { exact: true });
    return normaliseSpace(
      await menu.evaluate((select) => {
        const element = select as unknown as {
          selectedOptions: ArrayLike<{ textContent: string | null }>;
        };
        return element.selectedOptions[0]?.textContent ?? '';
      }),
    );
  }

  /**
   * Presses "Apply filters" and waits for the results whose address carries exactly these values
   * (the form always sends every field, so an empty one is `''`).
   */
  async applyFilters(expected: DirectoryParams): Promise<void> {
    await this.visitor.navigate(
      () => this.form.getByRole('button', { name: 'Apply filters' }).click(),
      (url) =>
        url.pathname === '/organisations' &&
        Object.entries(expected).every(([key, value]) => url.searchParams.get(key) === value),
    );
  }

  /** The results heading as a screen reader hears it ("128 organisations, page 2 of 6"). */
  async resultsHeading(): Promise<string> {
    return textOf(this.visitor.page.locator('#results-heading'));
  }

  /** The number of organisations that match, from the results heading. */
  async total(): Promise<number> {
    const heading = await this.resultsHeading();
    const match = /^([\d,]+) organisations?\b/.exec(heading);
    if (!match?.[1])
      throw new Error(`The results heading "${heading}" does not start with a count`);
    return parseWholeNumber(match[1]);
  }

  /** The rows of the results table, cell text without the headings shown on narrow screens. */
  async rows(): Promise<DirectoryRow[]> {
    const cells = await this.visitor.page.locator('main table tbody tr').evaluateAll((rows) =>
      rows.map((row) => {
        const texts = [...row.querySelectorAll('td')].map((cell) => {
          const copy = cell.cloneNode(true) as typeof cell;
          copy.querySelector('.nhsuk-table-responsive__heading')?.remove();
          return copy.textContent ?? '';
        });
        return { texts, href: row.querySelector('a')?.getAttribute('href') ?? '' };
      }),
    );
    return cells.map(({ texts, href }) => {
      const [name, code, type, partOf, registeredPatients] = texts.map(normaliseSpace);
      return {
        name: name ?? '',
        href,
        code: code ?? '',
        type: type ?? '',
        partOf: partOf ?? '',
        registeredPatients: registeredPatients ?? '',
      };
    });
  }

  private get pagination() {
    return this.visitor.page.getByRole('navigation', { name: 'Pagination' });
  }

  async hasPagination(): Promise<boolean> {
    return (await this.pagination.count()) > 0;
  }

  /** The page number pagination marks as current. */
  async currentPageNumber(): Promise<number> {
    return Number(await textOf(this.pagination.locator('a[aria-current="page"]')));
  }

  /** Follows the pagination's link to a numbered page and waits for it. */
  async goToPage(pageNumber: number): Promise<void> {
    await this.visitor.navigate(
      () => this.pagination.getByRole('link', { name: `Page ${pageNumber}`, exact: true }).click(),
      (url) =>
        url.pathname === '/organisations' && url.searchParams.get('page') === String(pageNumber),
    );
  }

  /** Opens the organisation named in a result row and waits for its page. */
  async openResult(row: DirectoryRow): Promise<void> {
    await this.visitor.navigate(
      () =>
        this.visitor.page
          .locator('main table')
          .getByRole('link', { name: row.name, exact: true })
          .click(),
      row.href,
    );
  }
}
