import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import { startE2eServer, type E2eServer } from './app-server.ts';
import { launchChromium } from './browser.ts';
import { HtmlValidator } from './html-validator.ts';
import { assertPrerequisite, chromiumPrerequisite, javaPrerequisite } from './prerequisites.ts';
import { Visitor, type VisitorOptions } from './visitor.ts';

/** What a file of journeys gets: the running app and a way to open browsers on it. */
export interface JourneySuite {
  readonly server: E2eServer;
  /** A new visitor (browser context); it is finished and checked after the test. */
  openVisitor(options?: VisitorOptions): Promise<Visitor>;
}

/**
 * Declares a file's journeys. Around them: the app on a free loopback port with its own copy of the
 * seeded database, one Chromium, and, as the last test, one W3C Nu checker run over the HTML of
 * every page any journey visited. Skipped (visibly) when Chromium is missing, unless
 * REQUIRE_BROWSER=1, which turns a missing Chromium or Java into a failure.
 */
export function describeJourneys(name: string, defineJourneys: (suite: JourneySuite) => void) {
  describe.skipIf(chromiumPrerequisite.skip)(name, () => {
    let server: E2eServer | undefined;
    let browser: Browser | undefined;
    const validator = new HtmlValidator();
    const openVisitors: Visitor[] = [];

    beforeAll(async () => {
      assertPrerequisite(chromiumPrerequisite);
      server = await startE2eServer();
      browser = await launchChromium();
    });

    afterEach(async () => {
      const visitors = openVisitors.splice(0);
      const failures: string[] = [];
      for (const visitor of visitors) {
        try {
          await visitor.finish();
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
      if (failures.length > 0) throw new Error(failures.join('\n'));
    });

    afterAll(async () => {
      await browser?.close();
      await server?.stop();
    });

    const suite: JourneySuite = {
      get server() {
        if (!server) throw new Error('The app under test has not started');
        return server;
      },
      async openVisitor(options) {
        if (!browser || !server) throw new Error('The browser or the app has not started');
        const visitor = await Visitor.open(browser, server.baseUrl, validator, options);
        openVisitors.push(visitor);
        return visitor;
      },
    };

    defineJourneys(suite);

    it.skipIf(javaPrerequisite.skip)(
      'every page visited is valid HTML (W3C Nu HTML checker)',
      async () => {
        assertPrerequisite(javaPrerequisite);
        await validator.assertAllValid();
      },
      180_000,
    );
  });
}
