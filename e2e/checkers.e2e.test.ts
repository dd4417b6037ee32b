import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectNoAxeViolations } from './support/accessibility.ts';
import { launchChromium } from './support/browser.ts';
import { HtmlValidator } from './support/html-validator.ts';
import { isLocalAddress, NetworkRecorder } from './support/network-recorder.ts';
import {
  assertPrerequisite,
  chromiumPrerequisite,
  javaPrerequisite,
} from './support/prerequisites.ts';
import { Visitor } from './support/visitor.ts';

/**
 * The journeys are only as good as their checks. These tests show each check failing on a page
 * made to break it, so a check that silently passes everything cannot go unnoticed.
 */

const validPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Fine</title></head>
<body><main><h1>Fine</h1><p>A valid, accessible page.</p></main></body></html>`;

const brokenPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Broken</title></head>
<body><main><h1>Broken</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<input type="text">
<table><tr role="row"><td role="cell">x</td></tr></table>
<p><div>A div cannot be inside a paragraph</div></p>
</main></body></html>`;

const formPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Form</title></head>
<body><main><h1>Form</h1><form method="post" action="/form"><button>Send</button></form></main></body></html>`;

const offSitePage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Off site</title>
<link rel="stylesheet" href="https://fonts.example.org/frutiger.css"></head>
<body><main><h1>Off site</h1><img alt="" src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main></body></html>`;

function serve(
  pages: Record<string, string>,
): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    const body = pages[`${request.method} ${request.url}`] ?? pages[request.url ?? ''];
    response.writeHead(body === undefined ? 404 : 200, {
      'content-type': 'text/html; charset=utf-8',
    });
    response.end(body ?? '<!DOCTYPE html><html lang="en"><title>Not found</title></html>');
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        baseUrl: `http://127.0.0.1:${port}`,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

describe('addresses that stay on this machine', () => {
  it('accepts loopback and inline addresses and refuses everything else', () => {
    for (const address of [
      'http://127.0.0.1:3000/assets/a.css',
      'http://localhost/x',
      'data:image/png;base64,AAAA',
      'about:blank',
    ]) {
      expect(isLocalAddress(address), address).toBe(true);
    }
    for (const address of [
      'https://assets.nhs.uk/fonts/frutiger.woff2',
      'http://127.0.0.1.example.org/',
      'http://10.0.0.1/',
      'ws://localhost/socket',
      'not a url',
    ]) {
      expect(isLocalAddress(address), address).toBe(false);
    }
  });
});

describe.skipIf(chromiumPrerequisite.skip)('the checks the journeys rely on', () => {
  let browser: Browser;
  let site: { baseUrl: string; close(): Promise<void> };
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    assertPrerequisite(chromiumPrerequisite);
    browser = await launchChromium();
    site = await serve({
      '/valid': validPage,
      '/broken': brokenPage,
      '/off-site': offSitePage,
      'GET /form': formPage,
      'POST /form': brokenPage,
    });
  });

  afterEach(async () => {
    await context?.close();
    context = undefined;
  });

  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  it('axe passes a clean page and lists each violation with impact, help and target', async () => {
    context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${site.baseUrl}/valid`);
    await expectNoAxeViolations(page);

    await page.goto(`${site.baseUrl}/broken`);
    const failure = await expectNoAxeViolations(page).then(
      () => new Error('axe passed a broken page'),
      (error: Error) => error,
    );
    expect(failure.message).toContain(`on ${site.baseUrl}/broken`);
    expect(failure.message).toMatch(/image-alt \(critical\): Images must have alternative text/);
    expect(failure.message).toMatch(/label \(critical\): Form elements must have labels/);
    expect(failure.message).toContain('at img');
    expect(failure.message).toContain('at input');
  });

  it('the network recorder fails a page that loads anything from beyond localhost', async () => {
    context = await browser.newContext();
    const recorder = new NetworkRecorder();
    recorder.watch(context);
    // Nothing may actually leave this machine, even in a test that expects the attempt.
    await context.route(
      (url) => !isLocalAddress(url.toString()),
      (route) => route.abort(),
    );
    const page = await context.newPage();
    await page.goto(`${site.baseUrl}/valid`);
    recorder.assertOnlyLocalRequests();

    await page.goto(`${site.baseUrl}/off-site`);
    expect(() => recorder.assertOnlyLocalRequests()).toThrow(
      /1 request\(s\) left localhost:\n {2}https:\/\/fonts\.example\.org\/frutiger\.css/,
    );
  });

  it('a visitor refuses to finish when a page it saw was never checked', async () => {
    const validator = new HtmlValidator();
    const visitor = await Visitor.open(browser, site.baseUrl, validator);
    await visitor.goto('/valid');
    await visitor.checkPage();
    await visitor.goto('/broken');
    await expect(visitor.finish()).rejects.toThrow(
      `Page(s) visited without checkPage():\n  ${site.baseUrl}/broken`,
    );
    expect(validator.size).toBe(2);
  });

  it('a visitor without JavaScript has its pages checked by axe as served', async () => {
    const visitor = await Visitor.open(browser, site.baseUrl, new HtmlValidator(), {
      javaScriptEnabled: false,
    });
    try {
      await visitor.goto('/valid');
      await visitor.checkPage();
      await visitor.goto('/broken');
      await expect(visitor.checkPage()).rejects.toThrow(
        /\/broken \(without JavaScript\)[^]*image-alt/,
      );
    } finally {
      await visitor.finish().catch(() => undefined);
    }
  });

  it.skipIf(javaPrerequisite.skip)(
    'a visitor has the HTML validator check each page as the browser received it, form answers too',
    async () => {
      assertPrerequisite(javaPrerequisite);
      const validator = new HtmlValidator();
      const visitor = await Visitor.open(browser, site.baseUrl, validator);
      try {
        await visitor.goto('/form');
        await visitor.checkPage();
        // The answer to the post is the broken page; fetching /form again would give the valid one.
        await visitor.navigate(
          () => visitor.page.getByRole('button', { name: 'Send' }).click(),
          '/form',
        );
        expect(visitor.status()).toBe(200);
      } finally {
        await visitor.finish().catch(() => undefined);
      }
      expect(validator.size).toBe(2);
      const problems = await validator.findProblems();
      expect(new Set(problems.map((problem) => problem.pageUrl))).toEqual(
        new Set([`${site.baseUrl}/form (version 2 seen there)`]),
      );
      expect(problems).toContainEqual(
        expect.objectContaining({
          message: expect.stringMatching(/role.*must not be used on a “tr” element/),
        }),
      );
    },
    120_000,
  );

  it.skipIf(javaPrerequisite.skip)(
    'the HTML validator passes valid HTML and reports each error with its page and line',
    async () => {
      assertPrerequisite(javaPrerequisite);
      const validator = new HtmlValidator();
      validator.add(`${site.baseUrl}/valid`);
      validator.add(`${site.baseUrl}/broken#fragment`);
      validator.add(`${site.baseUrl}/broken`);
      expect(validator.size).toBe(2);
      const problems = await validator.findProblems();
      expect(problems.length).toBeGreaterThan(0);
      expect(new Set(problems.map((problem) => problem.pageUrl))).toEqual(
        new Set([`${site.baseUrl}/broken`]),
      );
      expect(problems).toContainEqual(
        expect.objectContaining({
          line: 6,
          message: expect.stringMatching(/role.*must not be used on a “tr” element/),
        }),
      );
      await expect(validator.assertAllValid()).rejects.toThrow(
        new RegExp(`in 2 page\\(s\\):\\n {2}${site.baseUrl}/broken\\n`),
      );
    },
    120_000,
  );
});
