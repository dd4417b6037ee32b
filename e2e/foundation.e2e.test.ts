import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeJourneys } from './support/journeys.ts';
import { DirectoryPage, type DirectoryRow } from './support/pages/directory-page.ts';
import { HomePage } from './support/pages/home-page.ts';
import { OrganisationPage } from './support/pages/organisation-page.ts';
import { SiteHeader } from './support/pages/site-header.ts';
import { parseWholeNumber, textOf, textsOf } from './support/pages/text.ts';
import type { Visitor } from './support/visitor.ts';

const llrIcbOption = 'NHS Leicester, Leicestershire and Rutland Integrated Care Board (QK1)';
const llrPracticeCount = 128;

/** The LLR Green Plan's wording of the nine national areas of focus, in the guidance's order. */
const llrAreasOfFocus = [
  ['workforce-and-system-leadership', 'Workforce and system leadership'],
  ['sustainable-models-of-care', 'Sustainable models of care'],
  ['digital-transformation', 'Digital transformation'],
  ['travel-and-transport', 'Sustainable travel and transport'],
  ['estates-and-facilities', 'Estates and facilities sustainability'],
  ['medicines', 'Medicines'],
  ['supply-chain-and-procurement', 'Supply chain and procurement'],
  ['food-and-nutrition', 'Food and nutrition'],
  ['adaptation', 'Adaptation to climate change'],
] as const;

const nationalAreasOfFocus = [
  'Workforce and system leadership',
  'Sustainable models of care',
  'Digital transformation',
  'Travel and transport',
  'Estates and facilities',
  'Medicines',
  'Supply chain and procurement',
  'Food and nutrition',
  'Adaptation',
];

const referenceDataDir = path.resolve(import.meta.dirname, '..', 'data', 'reference');

/** The reference datasets the product ships for the organisation directory, from their catalogue. */
function shippedOrganisationDatasets(): { key: string; title: string }[] {
  const catalogue = JSON.parse(
    fs.readFileSync(path.join(referenceDataDir, 'datasets.json'), 'utf8'),
  ) as Record<string, { title: string }>;
  return Object.entries(catalogue)
    .filter(([key]) => key.startsWith('organisations/'))
    .map(([key, entry]) => ({ key, title: entry.title }));
}

/** Every row is an LLR GP practice: the filters did what their labels say. */
function expectLlrPractices(rows: DirectoryRow[]): void {
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) {
    expect(row.type, `type of ${row.name}`).toBe('GP practice');
    expect(row.partOf, `parent of ${row.name}`).toContain('Leicester, Leicestershire and Rutland');
    expect(row.href).toBe(`/organisations/${row.code}`);
  }
}

/**
 * Opens the directory from the header's navigation, searches for "leicester", then narrows to LLR
 * GP practices with the filters. (The header's search box searches Greenspace's content.)
 */
async function searchAndFilterLeicesterPractices(visitor: Visitor): Promise<DirectoryPage> {
  await new SiteHeader(visitor).followNavigationLink('Organisations', '/organisations');
  expect(visitor.status()).toBe(200);
  await visitor.checkPage();
  const directory = new DirectoryPage(visitor);
  await directory.search('leicester');
  expect(visitor.status()).toBe(200);
  await visitor.checkPage();
  expect(await directory.nameValue()).toBe('leicester');
  const found = await directory.rows();
  expect(found.length).toBeGreaterThan(0);
  expect(await directory.total()).toBe(found.length);
  for (const row of found) expect(row.name.toLowerCase()).toContain('leicester');
  expect(new Set(found.map((row) => row.type)).size).toBeGreaterThan(1);

  await directory.selectType('GP practice');
  await directory.selectIcb(llrIcbOption);
  await directory.applyFilters({ q: 'leicester', type: 'gp_practice', icb: 'QK1' });
  expect(visitor.status()).toBe(200);
  await visitor.checkPage();
  expect(await directory.nameValue()).toBe('leicester');
  expect(await directory.selectedOption('Type')).toBe('GP practice');
  expect(await directory.selectedOption('Integrated care board')).toBe(llrIcbOption);
  const practices = await directory.rows();
  expectLlrPractices(practices);
  for (const row of practices) expect(row.name.toLowerCase()).toContain('leicester');
  expect(await directory.total()).toBe(practices.length);
  expect(practices.length).toBeLessThan(found.length);
  return directory;
}

/**
 * Clears the name so every LLR practice matches (the "leicester" practices fit on one page), then
 * moves to page 2 with the pagination. Returns the rows of page 2.
 */
async function browseAllLlrPracticesToPageTwo(
  visitor: Visitor,
  directory: DirectoryPage,
): Promise<DirectoryRow[]> {
  expect(await directory.hasPagination()).toBe(false);
  await directory.fillName('');
  await directory.applyFilters({ q: '', type: 'gp_practice', icb: 'QK1' });
  expect(visitor.status()).toBe(200);
  await visitor.checkPage();
  expect(await directory.total()).toBe(llrPracticeCount);
  expect(await directory.currentPageNumber()).toBe(1);
  const pageOne = await directory.rows();
  expect(pageOne).toHaveLength(25);
  expectLlrPractices(pageOne);

  await directory.goToPage(2);
  expect(visitor.status()).toBe(200);
  await visitor.checkPage();
  expect(visitor.url.searchParams.get('type')).toBe('gp_practice');
  expect(visitor.url.searchParams.get('icb')).toBe('QK1');
  expect(await directory.currentPageNumber()).toBe(2);
  expect(await directory.resultsHeading()).toBe(
    `${llrPracticeCount} organisations, page 2 of ${Math.ceil(llrPracticeCount / 25)}`,
  );
  const pageTwo = await directory.rows();
  expect(pageTwo).toHaveLength(25);
  expectLlrPractices(pageTwo);
  const pageOneCodes = new Set(pageOne.map((row) => row.code));
  expect(pageTwo.filter((row) => pageOneCodes.has(row.code))).toEqual([]);
  return pageTwo;
}

describeJourneys('foundation journeys', (suite) => {
  it('the home page shows the LLR practices, registered patients, areas of focus and videos', async () => {
    const visitor = await suite.openVisitor();
    const home = new HomePage(visitor);
    expect(await home.open()).toBe(200);
    await visitor.checkPage();
    expect(await visitor.page.title()).toBe('A green space for a greener NHS – Greenspace – NHS');
    expect(await home.heading()).toBe('A green space for a greener NHS');

    expect(await home.practiceCount()).toBe(llrPracticeCount);
    const registeredPatients = await home.registeredPatientsText();
    expect(parseWholeNumber(registeredPatients)).toBe(1_232_169);

    const areas = await home.areasOfFocus();
    expect(areas).toEqual(
      llrAreasOfFocus.map(([slug, heading]) => ({
        text: heading,
        href: `/areas-of-focus#${slug}`,
      })),
    );
    // The latest videos: the two seeded ones. They come newest first, and the seed publishes them
    // moments apart, so their order is not part of what is checked.
    expect((await home.videoTitles()).sort()).toEqual([
      'Dr Anna Murphy on green inhalers',
      'Dr Gurnak Dosanjh on virtual wards',
    ]);

    // An area of focus link lands on its section of the areas of focus page.
    await visitor.navigate(
      () =>
        visitor.page
          .getByRole('main')
          .getByRole('link', { name: 'Medicines', exact: true })
          .click(),
      '/areas-of-focus',
    );
    expect(visitor.url.hash).toBe('#medicines');
    expect(visitor.status()).toBe(200);
    await visitor.checkPage();
    expect(await textOf(visitor.page.locator('h2#medicines'))).toBe('Medicines');
  });

  it('a visitor searches, filters, pages through the directory, opens a practice and climbs the breadcrumb', async () => {
    const visitor = await suite.openVisitor();
    expect(await new HomePage(visitor).open()).toBe(200);
    await visitor.checkPage();

    const directory = await searchAndFilterLeicesterPractices(visitor);
    const pageTwo = await browseAllLlrPracticesToPageTwo(visitor, directory);

    const chosen = pageTwo[0]!;
    await directory.openResult(chosen);
    expect(visitor.status()).toBe(200);
    await visitor.checkPage();
    const practice = new OrganisationPage(visitor);
    expect(await practice.heading()).toBe(chosen.name);
    expect(await practice.typeCaption()).toBe('GP practice');
    expect(await practice.summary('ODS code')).toBe(chosen.code);

    // The breadcrumb climbs Home › Organisations › region › ICB › sub-ICB location › PCN.
    const crumbs = await practice.breadcrumbs();
    expect(crumbs.slice(0, 2)).toEqual([
      { text: 'Home', href: '/' },
      { text: 'Organisations', href: '/organisations' },
    ]);
    expect(crumbs.map((crumb) => crumb.href)).toContain('/organisations/QK1');
    const pcn = await practice.summaryLink('Primary care network');
    const subIcb = await practice.summaryLink('Sub-ICB location');
    const closest = crumbs.at(-1)!;
    expect(closest).toEqual(pcn ?? subIcb);

    await practice.followBreadcrumb(closest);
    expect(visitor.status()).toBe(200);
    await visitor.checkPage();
    const parent = new OrganisationPage(visitor);
    expect(await parent.heading()).toBe(closest.text);
    expect(await parent.typeCaption()).toBe(pcn ? 'Primary care network' : 'Sub-ICB location');
    expect(await parent.practiceCodes()).toContain(chosen.code);
  });

  it('a practice page shows the list size, PCN and deprivation of C82001', async () => {
    const visitor = await suite.openVisitor();
    const practice = new OrganisationPage(visitor);
    expect(await practice.open('C82001')).toBe(200);
    await visitor.checkPage();
    expect(await practice.heading()).toBe('South Leicestershire Medical Group');

    const listSize = /^([\d,]+) patients \(/.exec(await practice.summary('Registered patients'));
    expect(listSize?.[1] && parseWholeNumber(listSize[1])).toBe(25_822);
    expect(await practice.summaryLink('Primary care network')).toEqual({
      text: 'Cross Counties PCN',
      href: '/organisations/U30213',
    });
    const deprivation = /Decile (\d+) of 10 and quintile (\d+) of 5/.exec(
      await practice.summary('Deprivation'),
    );
    expect(deprivation?.slice(1).map(Number)).toEqual([10, 5]);
  });

  it('the directory search, filters and pagination work with JavaScript disabled', async () => {
    const visitor = await suite.openVisitor({ javaScriptEnabled: false });
    expect(await new HomePage(visitor).open()).toBe(200);
    await visitor.checkPage();
    // The NHS.UK template marks the body when its inline script runs: proof that none did.
    const bodyClasses = (await visitor.page.locator('body').getAttribute('class')) ?? '';
    expect(bodyClasses).not.toContain('js-enabled');

    const directory = await searchAndFilterLeicesterPractices(visitor);
    const pageTwo = await browseAllLlrPracticesToPageTwo(visitor, directory);
    await directory.openResult(pageTwo[0]!);
    expect(visitor.status()).toBe(200);
    await visitor.checkPage();
    expect(await new OrganisationPage(visitor).heading()).toBe(pageTwo[0]!.name);
  });

  it('keyboard: the skip link is the first thing Tab reaches and moves focus to the main content', async () => {
    const visitor = await suite.openVisitor();
    const { page } = visitor;
    for (const address of ['/', '/organisations', '/organisations/C82001']) {
      expect(await visitor.goto(address)).toBe(200);
      await visitor.checkPage();

      await page.keyboard.press('Tab');
      const skipLink = page.locator(':focus');
      expect(await skipLink.getAttribute('class'), address).toContain('nhsuk-skip-link');
      expect(await skipLink.getAttribute('href')).toBe('#maincontent');
      expect(await textOf(skipLink)).toBe('Skip to main content');
      expect(await skipLink.isVisible(), 'the skip link shows when focused').toBe(true);

      await page.keyboard.press('Enter');
      await page.locator('#maincontent:focus').waitFor();
      expect(await page.locator(':focus').getAttribute('id')).toBe('maincontent');

      // The next Tab continues inside the main content, not back in the header.
      await page.keyboard.press('Tab');
      expect(await page.locator('main :focus').count(), address).toBe(1);
    }
  });

  it('error pages: an unknown organisation is a 404 and a malformed page number a 400', async () => {
    const visitor = await suite.openVisitor();
    const { page } = visitor;

    expect(await visitor.goto('/organisations/ZZZ99')).toBe(404);
    await visitor.checkPage();
    expect(await page.title()).toBe('Page not found – Greenspace – NHS');
    expect(await textOf(page.locator('main h1'))).toBe('Page not found');
    expect(await textOf(page.locator('main'))).toContain(
      'No organisation with the code ZZZ99 is in Greenspace.',
    );

    expect(await visitor.goto('/no-such-page')).toBe(404);
    await visitor.checkPage();
    expect(await textOf(page.locator('main h1'))).toBe('Page not found');

    expect(await visitor.goto('/organisations?page=abc')).toBe(400);
    await visitor.checkPage();
    expect(await textOf(page.locator('main h1'))).toBe('There is a problem with the web address');
    const problems = await textsOf(page.locator('main li'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^The "page" parameter .*"abc"/);

    await visitor.navigate(
      () => page.getByRole('link', { name: 'Start again without these settings' }).click(),
      '/organisations',
    );
    expect(visitor.status()).toBe(200);
    await visitor.checkPage();
    expect(await textOf(page.locator('main h1'))).toBe('Organisations');
  });

  it('the accessibility, privacy, data sources and areas of focus pages', async () => {
    const visitor = await suite.openVisitor();
    const { page } = visitor;
    const header = new SiteHeader(visitor);
    expect(await visitor.goto('/')).toBe(200);
    await visitor.checkPage();

    await header.followFooterLink('Accessibility statement', '/accessibility');
    expect(visitor.status()).toBe(200);
    await visitor.checkPage();
    expect(await textOf(page.locator('main h1'))).toBe('Accessibility statement for Greenspace');
    expect(await textOf(page.locator('main'))).toContain('WCAG');

    await header.followFooterLink('Privacy and cookies', '/privacy');
    expect(visitor.status()).toBe(200);
    await visitor.checkPage();
    expect(await textOf(page.locator('main h1'))).toBe('Privacy and cookies');
    expect(await textsOf(page.locator('main h2'))).toContain('Cookies');

    await header.followFooterLink('Data sources and licences', '/data-sources');
    expect(visitor.status()).toBe(200);
    await visitor.checkPage();
    expect(await textOf(page.locator('main h1'))).toBe('Data sources and licences');
    const table = page.getByRole('table', { name: 'Reference datasets' });
    const listed = await textsOf(table.locator('tbody tr td:first-child'));
    const shipped = shippedOrganisationDatasets();
    expect(shipped.length).toBeGreaterThan(0);
    for (const dataset of shipped) {
      expect(
        listed.some(
          (cell) => cell.startsWith(dataset.title) && cell.includes(`File ${dataset.key}`),
        ),
        `${dataset.key} (${dataset.title}) is listed`,
      ).toBe(true);
    }

    // Every section fits in the header at desktop width: none is folded away behind "More".
    const menu = page.getByRole('navigation', { name: 'Menu' });
    expect(await menu.locator('#toggle-menu').isVisible()).toBe(false);
    await visitor.navigate(
      () => menu.getByRole('link', { name: 'Areas of focus', exact: true }).click(),
      '/areas-of-focus',
    );
    expect(visitor.status()).toBe(200);
    await visitor.checkPage();
    expect(await textOf(page.locator('main h1'))).toBe('Green Plan areas of focus');
    expect(await textsOf(page.locator('main h2'))).toEqual(nationalAreasOfFocus);
  });
});
