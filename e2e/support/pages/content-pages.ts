import type { Locator } from 'playwright-core';
import type { TestFile } from '../media-files.ts';
import type { Visitor } from '../visitor.ts';
import { normaliseSpace, textOf, textsOf } from './text.ts';

/** A link as the page shows it. */
export interface Link {
  text: string;
  href: string;
}

async function linksOf(links: Locator): Promise<Link[]> {
  const found = await links.evaluateAll((anchors) =>
    anchors.map((a) => ({ text: a.textContent ?? '', href: a.getAttribute('href') ?? '' })),
  );
  return found.map((link) => ({ ...link, text: normaliseSpace(link.text) }));
}

const contentIdPattern = /^\/content\/([0-9a-f-]{36})$/;

/** The id in a manage page's address (`/content/<id>`), or throws. */
export function contentIdOf(url: URL): string {
  const id = contentIdPattern.exec(url.pathname)?.[1];
  if (!id) throw new Error(`${url.pathname} is not the address of a manage page`);
  return id;
}

/** /content: "Your content", with a link to start each kind of content and the editor's items. */
export class ContentDashboardPage {
  constructor(private readonly visitor: Visitor) {}

  async open(): Promise<number> {
    return this.visitor.goto('/content');
  }

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  /** The "Add new" links, in order. */
  async newLinks(): Promise<Link[]> {
    return linksOf(
      this.visitor.page
        .locator('main h2', { hasText: 'Add new' })
        .locator('xpath=following-sibling::ul[1]')
        .locator('a'),
    );
  }

  /** Follows "New <kind>" (for instance "New case study") and waits for the empty form. */
  async startNew(linkText: string, type: string): Promise<void> {
    await this.visitor.navigate(
      () =>
        this.visitor.page
          .locator('main')
          .getByRole('link', { name: linkText, exact: true })
          .click(),
      `/content/new?type=${type}`,
    );
  }

  /** The rows of "Drafts and published": title, type and status. */
  async items(): Promise<{ title: string; type: string; status: string }[]> {
    const rows = await this.visitor.page
      .locator('main table tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
      );
    return rows.map((cells) => ({
      title: normaliseSpace(cells[0]),
      type: normaliseSpace(cells[1]),
      status: normaliseSpace(cells[2]),
    }));
  }
}

/** What an author types into the authoring form; detail fields are named by their labels. */
export interface ContentFormInput {
  title: string;
  summary: string;
  /** Label → text of the fields of this kind of content ("The problem", "Transcript"…). */
  details?: Record<string, string>;
  /** The general text field, whose label depends on the kind of content. */
  body?: { label: string; text: string };
  /** The labels of the area of focus checkboxes to tick. */
  areas?: string[];
  /** The label of the "Who can see it" radio to choose. */
  privacy: string;
}

/** /content/new and /content/<id>/edit: the authoring form, and the preview it shows. */
export class ContentFormPage {
  constructor(private readonly visitor: Visitor) {}

  private get form(): Locator {
    return this.visitor.page.locator('main form[method="post"]');
  }

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  field(label: string): Locator {
    return this.form.getByLabel(label, { exact: true });
  }

  async fill(input: ContentFormInput): Promise<void> {
    await this.field('Title').fill(input.title);
    await this.field('Summary').fill(input.summary);
    for (const [label, text] of Object.entries(input.details ?? {})) {
      await this.field(label).fill(text);
    }
    if (input.body) await this.field(input.body.label).fill(input.body.text);
    const areas = this.form.getByRole('group', { name: 'Areas of focus' });
    for (const area of input.areas ?? []) {
      await areas.getByRole('checkbox', { name: area, exact: true }).check();
    }
    await this.form
      .getByRole('group', { name: 'Who can see it' })
      .getByRole('radio', { name: input.privacy, exact: true })
      .check();
  }

  /** The labels of the ticked area of focus checkboxes. */
  async checkedAreas(): Promise<string[]> {
    const boxes = this.form.getByRole('group', { name: 'Areas of focus' }).getByRole('checkbox');
    const checked: string[] = [];
    for (const box of await boxes.all()) {
      if (await box.isChecked()) {
        const id = await box.getAttribute('id');
        checked.push(await textOf(this.form.locator(`label[for="${id}"]`)));
      }
    }
    return checked;
  }

  /** The label of the chosen "Who can see it" radio. */
  async chosenPrivacy(): Promise<string> {
    const radios = this.form.getByRole('group', { name: 'Who can see it' }).getByRole('radio');
    for (const radio of await radios.all()) {
      if (await radio.isChecked()) {
        const id = await radio.getAttribute('id');
        return textOf(this.form.locator(`label[for="${id}"]`));
      }
    }
    return '';
  }

  /** Presses "Preview the text" and waits for the form to come back with the preview. */
  async preview(postedTo: string): Promise<void> {
    await this.visitor.navigate(
      () => this.form.getByRole('button', { name: 'Preview the text', exact: true }).click(),
      postedTo,
    );
  }

  /** The preview section, one heading and rendered text for each field written in. */
  get previewSection(): Locator {
    return this.visitor.page.getByRole('region', { name: 'Preview', exact: true });
  }

  async previewHeadings(): Promise<string[]> {
    return (await this.previewSection.locator('h3').allTextContents()).map((text) => text.trim());
  }

  /** The rendered text of one field, under its heading ("The problem", "More information"…). */
  previewOf(heading: string): Locator {
    return this.previewSection.locator(`h3:text-is("${heading}") + .gs-prose`);
  }

  /** Presses "Save" and waits for the manage page it leads to; returns the content's id. */
  async save(): Promise<string> {
    await this.visitor.navigate(
      () => this.form.getByRole('button', { name: 'Save', exact: true }).click(),
      (url) => contentIdPattern.test(url.pathname) && url.searchParams.get('saved') === '1',
    );
    return contentIdOf(this.visitor.url);
  }
}

/** /content/<id>: status, publish, files and the link to the published page. */
export class ContentManagePage {
  constructor(
    private readonly visitor: Visitor,
    readonly id: string,
  ) {}

  private get main(): Locator {
    return this.visitor.page.locator('main');
  }

  async heading(): Promise<string> {
    return textOf(this.main.locator('h1'));
  }

  /** "Case study · Draft", "Video · Published"… */
  async caption(): Promise<string> {
    return textOf(this.main.locator('.nhsuk-caption-l'));
  }

  /** The success banner's text, or undefined when there is none. */
  async notice(): Promise<string | undefined> {
    const banner = this.main.locator('.nhsuk-notification-banner');
    if ((await banner.count()) === 0) return undefined;
    return textOf(banner.locator('.nhsuk-notification-banner__content'));
  }

  /** A value of the summary list ("Who can see it", "Organisation", "Summary"). */
  async summary(key: string): Promise<string> {
    return textOf(
      this.main
        .locator('.nhsuk-summary-list__row')
        .filter({ has: this.visitor.page.locator('.nhsuk-summary-list__key', { hasText: key }) })
        .locator('.nhsuk-summary-list__value'),
    );
  }

  /** The files listed under "Files", as their lines read. */
  async files(): Promise<string[]> {
    return textsOf(
      this.main
        .locator('h2', { hasText: /^Files$/ })
        .locator('xpath=following-sibling::ul[1]')
        .locator('li'),
    );
  }

  /** The options of "What is it", as their labels read. */
  async fileRoleOptions(): Promise<string[]> {
    return textsOf(this.main.getByLabel('What is it', { exact: true }).locator('option'));
  }

  /**
   * Fills "Add a file" (what it is, an optional title, the file through the file chooser), presses
   * "Upload" and waits for the manage page to come back saying the file was added.
   */
  async upload(role: string, file: TestFile, title = ''): Promise<void> {
    const form = this.main.locator(`form[action="/content/${this.id}/files"]`);
    await form.getByLabel('What is it', { exact: true }).selectOption({ label: role });
    await form.getByLabel('Title (optional)', { exact: true }).fill(title);
    // The "File" label names the design system's button, which opens the browser's file chooser.
    const [chooser] = await Promise.all([
      this.visitor.page.waitForEvent('filechooser'),
      form.getByLabel('File', { exact: true }).click(),
    ]);
    await chooser.setFiles(file);
    const status = await textOf(form.locator('.nhsuk-file-upload__status'));
    if (status !== file.name) {
      throw new Error(`After choosing ${file.name} the file field says "${status}"`);
    }
    await this.visitor.navigate(
      () => form.getByRole('button', { name: 'Upload', exact: true }).click(),
      `/content/${this.id}?uploaded=1`,
    );
  }

  /**
   * Presses "Publish" and waits for the page to say it is published or, when `to` is given, for
   * that page (the manage page sent back with the reason it cannot be published).
   */
  async publish(to = `/content/${this.id}?published=1`): Promise<void> {
    await this.visitor.navigate(
      () => this.main.getByRole('button', { name: 'Publish', exact: true }).click(),
      to,
    );
  }

  /** Why the content could not be published, as the page says next to the button. */
  async publishProblem(): Promise<string> {
    return textOf(this.main.locator('#publish.nhsuk-error-message'));
  }

  /** Follows "View the published page" and waits for it. */
  async viewPublishedPage(path: string): Promise<void> {
    await this.visitor.navigate(
      () => this.main.getByRole('link', { name: 'View the published page', exact: true }).click(),
      path,
    );
  }

  /** Follows the "Your content" breadcrumb back to the dashboard. */
  async backToYourContent(): Promise<void> {
    await this.visitor.navigate(
      () =>
        this.visitor.page
          .getByRole('navigation', { name: 'Breadcrumb' })
          .getByRole('link', { name: 'Your content', exact: true })
          .click(),
      '/content',
    );
  }
}

/** A published case study, video, document, news item or event at /<type-path>/<slug>. */
export class ContentItemPage {
  constructor(private readonly visitor: Visitor) {}

  private get main(): Locator {
    return this.visitor.page.locator('main');
  }

  async heading(): Promise<string> {
    return textOf(this.main.locator('h1'));
  }

  async caption(): Promise<string> {
    return textOf(this.main.locator('.nhsuk-caption-l'));
  }

  /** The element right after an h2 with this text: its `.gs-prose` block or its list. */
  section(heading: string): Locator {
    return this.main
      .locator('h2', { hasText: new RegExp(`^\\s*${heading}\\s*$`) })
      .locator('xpath=following-sibling::*[1]');
  }

  /** The value against a key of the "Results at a glance" list. */
  async resultAtAGlance(key: string): Promise<string> {
    return textOf(
      this.main
        .locator('.nhsuk-summary-list__row')
        .filter({ has: this.visitor.page.locator('.nhsuk-summary-list__key', { hasText: key }) })
        .locator('.nhsuk-summary-list__value'),
    );
  }

  /** The links under "Documents". */
  documentsList(): Locator {
    return this.section('Documents');
  }

  async documents(): Promise<Link[]> {
    return linksOf(this.documentsList().locator('a'));
  }

  /** The facts in the "About this …" panel: term → text. */
  async facts(): Promise<Record<string, string>> {
    const pairs = await this.main.locator('.gs-facts').evaluate((list) => {
      const result: [string, string][] = [];
      for (const term of list.querySelectorAll('dt')) {
        result.push([term.textContent ?? '', term.nextElementSibling?.textContent ?? '']);
      }
      return result;
    });
    return Object.fromEntries(
      pairs.map(([term, text]) => [normaliseSpace(term), normaliseSpace(text)]),
    );
  }

  async inset(): Promise<string[]> {
    return textsOf(this.main.locator('.nhsuk-inset-text'));
  }

  get video(): Locator {
    return this.main.locator('video');
  }

  get transcript(): Locator {
    return this.main.locator('#transcript + .gs-prose');
  }
}

/** One entry of a listing or of search results. */
export interface ContentEntry {
  title: string;
  href: string;
  /** "Case study · South Leicestershire Medical Group · 3 May 2025 · Members only" */
  meta: string;
  /** The snippet or summary under the title. */
  text: string;
  /** The words the search highlighted in the snippet. */
  marked: string[];
}

async function entriesOf(list: Locator): Promise<ContentEntry[]> {
  const found = await list.locator('li.gs-content-list__item').evaluateAll((items) =>
    items.map((item) => {
      const link = item.querySelector('a');
      const paragraphs = item.querySelectorAll('p');
      return {
        title: link?.textContent ?? '',
        href: link?.getAttribute('href') ?? '',
        meta: paragraphs[0]?.textContent ?? '',
        text: paragraphs[1]?.textContent ?? '',
        marked: [...item.querySelectorAll('.gs-snippet mark')].map(
          (mark) => mark.textContent ?? '',
        ),
      };
    }),
  );
  return found.map((entry) => ({
    ...entry,
    title: normaliseSpace(entry.title),
    meta: normaliseSpace(entry.meta),
    text: normaliseSpace(entry.text),
  }));
}

/** /search: the search form and the results. */
export class SearchResultsPage {
  constructor(private readonly visitor: Visitor) {}

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  /** "2 results for “kingfisher”" */
  async resultsHeading(): Promise<string> {
    return textOf(this.visitor.page.locator('#results-heading'));
  }

  /** What the "Search for" field holds. */
  async query(): Promise<string> {
    return this.visitor.page
      .locator('main')
      .getByRole('search', { name: 'Search Greenspace' })
      .getByLabel('Search for', { exact: true })
      .inputValue();
  }

  async results(): Promise<ContentEntry[]> {
    return entriesOf(this.visitor.page.locator('main'));
  }

  /** Opens a result by its title and waits for its page. */
  async openResult(entry: ContentEntry): Promise<void> {
    await this.visitor.navigate(
      () =>
        this.visitor.page
          .locator('main .gs-content-list')
          .getByRole('link', { name: entry.title, exact: true })
          .click(),
      entry.href,
    );
  }
}

/** A listing such as /case-studies or /news. */
export class ContentListingPage {
  constructor(private readonly visitor: Visitor) {}

  async open(path: string): Promise<number> {
    return this.visitor.goto(path);
  }

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  async resultsHeading(): Promise<string> {
    return textOf(this.visitor.page.locator('#results-heading'));
  }

  async entries(): Promise<ContentEntry[]> {
    return entriesOf(this.visitor.page.locator('main'));
  }

  /** Opens an entry by its title and waits for its page. */
  async openEntry(entry: ContentEntry): Promise<void> {
    await this.visitor.navigate(
      () =>
        this.visitor.page
          .locator('main .gs-content-list')
          .getByRole('link', { name: entry.title, exact: true })
          .click(),
      entry.href,
    );
  }

  /** The link to the news feed in the page ("News feed (Atom)"), if there is one. */
  async feedLinks(): Promise<Link[]> {
    return linksOf(this.visitor.page.locator('main a[href$=".atom"]'));
  }

  /** The Atom feeds the page announces in its head (`<link rel="alternate">`). */
  async announcedFeeds(): Promise<{ title: string; href: string }[]> {
    return this.visitor.page
      .locator('head link[rel="alternate"][type="application/atom+xml"]')
      .evaluateAll((links) =>
        links.map((link) => ({
          title: link.getAttribute('title') ?? '',
          href: link.getAttribute('href') ?? '',
        })),
      );
  }
}
