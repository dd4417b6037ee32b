import type { Browser, BrowserContext, Page, Request, Response } from 'playwright-core';
import { expectNoAxeViolations } from './accessibility.ts';
import type { HtmlValidator } from './html-validator.ts';
import { NetworkRecorder } from './network-recorder.ts';

export interface VisitorOptions {
  /** False for a visitor whose browser runs no JavaScript at all. Default: true. */
  javaScriptEnabled?: boolean;
}

/** What a URL matcher may be: a path with query (`/organisations?q=x`) or a test of the URL. */
export type UrlMatcher = string | ((url: URL) => boolean);

function withoutHash(address: string): string {
  const url = new URL(address);
  url.hash = '';
  return url.toString();
}

/**
 * One person's browser: a private browser context and page on the app under test. It sees every
 * page the visitor lands on, so it can insist that each one was checked with axe, hands the HTML of
 * each to the validator exactly as the server sent it, and records every request so none may leave
 * localhost.
 */
export class Visitor {
  readonly page: Page;
  readonly javaScriptEnabled: boolean;
  private readonly visited = new Set<string>();
  private readonly checked = new Set<string>();
  private readonly documentStatuses = new Map<string, number>();
  /** The body of the latest document received at each address, as it is being read. */
  private readonly documentBodies = new Map<string, Promise<string>>();
  /** Every body being read, so the context is not closed under a read that has not finished. */
  private readonly bodyReads: Promise<unknown>[] = [];
  private readonly browserErrors: string[] = [];
  private auditContext: BrowserContext | undefined;

  private constructor(
    private readonly browser: Browser,
    private readonly context: BrowserContext,
    page: Page,
    private readonly baseUrl: string,
    private readonly recorder: NetworkRecorder,
    private readonly validator: HtmlValidator,
    javaScriptEnabled: boolean,
  ) {
    this.page = page;
    this.javaScriptEnabled = javaScriptEnabled;
    // A document's response arrives before the frame commits to it, so by the time the frame has
    // navigated, the body the browser received (signed in, or answering a form) is being read.
    page.on('response', (response: Response) => {
      const request: Request = response.request();
      if (request.isNavigationRequest() && request.frame() === page.mainFrame()) {
        const address = withoutHash(response.url());
        this.documentStatuses.set(address, response.status());
        if (response.status() < 300 || response.status() >= 400) {
          const body = response.text();
          // A body that cannot be read is reported by the validator, not here.
          this.bodyReads.push(body.catch(() => undefined));
          this.documentBodies.set(address, body);
        }
      }
    });
    page.on('framenavigated', (frame) => {
      if (frame !== page.mainFrame() || !frame.url().startsWith('http')) return;
      const address = withoutHash(frame.url());
      this.visited.add(address);
      const body = this.documentBodies.get(address);
      if (body) this.validator.addDocument(address, body);
      else this.validator.add(address);
    });
    page.on('pageerror', (error) => this.browserErrors.push(`uncaught ${error.message}`));
    page.on('console', (message) => {
      // Failed loads are reported by the network recorder (and error pages are meant to be 4xx).
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        this.browserErrors.push(`console error: ${message.text()}`);
      }
    });
  }

  static async open(
    browser: Browser,
    baseUrl: string,
    validator: HtmlValidator,
    options: VisitorOptions = {},
  ): Promise<Visitor> {
    const javaScriptEnabled = options.javaScriptEnabled ?? true;
    const context = await browser.newContext({ baseURL: baseUrl, javaScriptEnabled });
    // Fail a missing element in seconds, with Playwright's own message, well inside the test timeout.
    context.setDefaultTimeout(15_000);
    const recorder = new NetworkRecorder();
    recorder.watch(context);
    const page = await context.newPage();
    return new Visitor(browser, context, page, baseUrl, recorder, validator, javaScriptEnabled);
  }

  /** The current URL, parsed. */
  get url(): URL {
    return new URL(this.page.url());
  }

  /** Opens a page by its address, as if typed, and returns the HTTP status of the document. */
  async goto(pathAndQuery: string): Promise<number> {
    const response = await this.page.goto(pathAndQuery);
    if (!response) throw new Error(`Opening ${pathAndQuery} gave no response`);
    return response.status();
  }

  /**
   * Does something that leads to another page (a click, a form submission) and waits until a new
   * page matched by `to` has been navigated to and has loaded. It waits for the navigation itself,
   * so an action that goes nowhere fails even when the address already matched.
   */
  async navigate(action: () => Promise<void>, to: UrlMatcher): Promise<void> {
    const matches =
      typeof to === 'string'
        ? (url: URL) => `${url.pathname}${url.search}` === to
        : (url: URL) => to(url);
    const mainFrame = this.page.mainFrame();
    const arrived = this.page.waitForEvent('framenavigated', {
      predicate: (frame) => frame === mainFrame && matches(new URL(frame.url())),
    });
    await Promise.all([arrived, action()]);
    await this.page.waitForLoadState('load');
  }

  /** The HTTP status of the document now shown. */
  status(): number {
    const status = this.documentStatuses.get(withoutHash(this.page.url()));
    if (status === undefined)
      throw new Error(`No document response was seen for ${this.page.url()}`);
    return status;
  }

  /**
   * The checks every page gets: axe (WCAG 2.2 AA), and no request so far has left localhost. The
   * page's HTML is validated at the end of the file. Call it once on every page the visitor lands on.
   */
  async checkPage(): Promise<void> {
    const address = withoutHash(this.page.url());
    if (this.javaScriptEnabled) {
      await expectNoAxeViolations(this.page, address);
    } else {
      await this.checkPageAsRenderedWithoutScripts(address);
    }
    this.recorder.assertOnlyLocalRequests();
    this.checked.add(address);
  }

  /**
   * axe cannot run in a context with JavaScript disabled (its scheduler never fires), so the page
   * as this visitor has it (no script has touched its DOM) is opened in a second context whose
   * scripts are switched off by a Content-Security-Policy of `script-src 'none'`. Playwright's
   * injected axe is not subject to the page's policy; the page's own scripts are.
   */
  private async checkPageAsRenderedWithoutScripts(address: string): Promise<void> {
    const html = await this.page.content();
    if (!this.auditContext) {
      this.auditContext = await this.browser.newContext({ baseURL: this.baseUrl });
      this.recorder.watch(this.auditContext);
    }
    const auditPage = await this.auditContext.newPage();
    try {
      await auditPage.route(
        (url) => withoutHash(url.toString()) === address,
        async (route) => {
          if (!route.request().isNavigationRequest()) return route.continue();
          return route.fulfill({
            status: 200,
            contentType: 'text/html; charset=utf-8',
            headers: { 'content-security-policy': "script-src 'none'" },
            body: html,
          });
        },
      );
      await auditPage.goto(address);
      const bodyClasses = (await auditPage.locator('body').getAttribute('class')) ?? '';
      const scriptsRan = bodyClasses.split(/\s+/).includes('js-enabled');
      if (scriptsRan)
        throw new Error(`The page's scripts ran in the no-JavaScript audit of ${address}`);
      await expectNoAxeViolations(auditPage, `${address} (without JavaScript)`);
    } finally {
      await auditPage.close();
    }
  }

  /**
   * Ends the visit: every page seen must have been checked, no request may have left localhost and
   * no script may have failed. Closes the browser context whatever happens.
   */
  async finish(): Promise<void> {
    try {
      const unchecked = [...this.visited].filter((address) => !this.checked.has(address));
      const problems: string[] = [];
      if (unchecked.length > 0) {
        problems.push(
          `Page(s) visited without checkPage():\n${unchecked.map((a) => `  ${a}`).join('\n')}`,
        );
      }
      if (this.browserErrors.length > 0) {
        problems.push(
          `The browser reported errors:\n${this.browserErrors.map((e) => `  ${e}`).join('\n')}`,
        );
      }
      try {
        this.recorder.assertOnlyLocalRequests();
      } catch (error) {
        problems.push((error as Error).message);
      }
      if (problems.length > 0) throw new Error(problems.join('\n'));
    } finally {
      await Promise.all(this.bodyReads);
      await this.auditContext?.close();
      await this.context.close();
    }
  }
}
