import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUser, currentTotp } from '../../../test/support/factories.ts';
import { HttpAgent, signInAs } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';

describe.each(testDialects)('organisation pages on %s', (dialect) => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp(dialect);
  });

  afterAll(async () => {
    await testApp.close();
  });

  const get = (url: string) => testApp.app.inject({ method: 'GET', url });

  it('shows a practice with its real list size, PCN, sub-ICB and deprivation', async () => {
    const response = await get('/organisations/C82001');
    expect(response.statusCode).toBe(200);
    const html = response.body;
    expect(html).toContain('<h1>South Leicestershire Medical Group</h1>');
    expect(html).toContain('25,822 patients (1 April 2026)');
    expect(html).toContain('Cross Counties PCN');
    expect(html).toContain('IMD 2019 score 6.7');
    expect(html).toContain('Decile 10 of 10 and quintile 5 of 5 nationally');
    expect(html).toContain('Smeeton Road<br>Kibworth<br>Leicestershire<br>LE8 0LG');
  });

  it('shows the parent chain of a practice as breadcrumbs, root first', async () => {
    const html = (await get('/organisations/C82001')).body;
    const breadcrumb = html.slice(
      html.indexOf('class="nhsuk-breadcrumb"'),
      html.indexOf('</nav>', html.indexOf('class="nhsuk-breadcrumb"')),
    );
    const order = [
      '/organisations/Y60',
      '/organisations/QK1',
      '/organisations/03W',
      '/organisations/U30213',
    ].map((href) => breadcrumb.indexOf(`href="${href}"`));
    expect(order.every((position) => position > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('lists the member practices of a PCN and of a sub-ICB location', async () => {
    const pcn = await get('/organisations/U30213');
    expect(pcn.statusCode).toBe(200);
    expect(pcn.body).toContain('3 practices with');
    expect(pcn.body).toContain('href="/organisations/C82001"');

    const subIcb = await get('/organisations/04C');
    expect(subIcb.body).toContain('51 practices with');
  });

  it('lists the children of an ICB by type', async () => {
    const html = (await get('/organisations/QK1')).body;
    expect(html).toContain('Sub-ICB locations');
    expect(html).toContain('NHS trusts');
    expect(html).toContain('href="/organisations/RWE"');
    expect(html).toContain('Primary care networks');
    expect(html).toContain('Local authorities');
  });

  it('answers an unknown ODS code with the NHS-style not found page', async () => {
    const response = await get('/organisations/ZZZ99');
    expect(response.statusCode).toBe(404);
    expect(response.body).toContain('<h1>Page not found</h1>');
    expect(response.body).toContain('No organisation with the code ZZZ99 is in Greenspace.');
  });

  it('answers a code that cannot be an ODS code with 404, and a lower-case code with a redirect', async () => {
    expect((await get('/organisations/%3Cscript%3E')).statusCode).toBe(404);
    const redirect = await get('/organisations/c82001');
    expect(redirect.statusCode).toBe(301);
    expect(redirect.headers.location).toBe('/organisations/C82001');
  });

  describe('the directory', () => {
    it('lists every organisation, 25 a page', async () => {
      const response = await get('/organisations');
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain('181 organisations');
      const tbody = response.body.slice(
        response.body.indexOf('<tbody'),
        response.body.indexOf('</tbody>'),
      );
      expect(tbody.match(/<tr[\s>]/g)).toHaveLength(25);
      expect(response.body).toContain('href="/organisations?page=2"');
    });

    it('searches by name words in any order and by ODS code', async () => {
      const byName = await get('/organisations?q=medical+south+leicestershire');
      expect(byName.body).toContain('1 organisation<');
      expect(byName.body).toContain('href="/organisations/C82001"');
      const byCode = await get('/organisations?q=c82001');
      expect(byCode.body).toContain('href="/organisations/C82001"');
    });

    it('filters by type, ICB and sub-ICB location, keeping the filters in page links', async () => {
      const practices = await get('/organisations?type=gp_practice&icb=QK1');
      expect(practices.body).toContain('128 organisations');
      expect(practices.body).toContain(
        'href="/organisations?type=gp_practice&amp;icb=QK1&amp;page=2"',
      );
      const city = await get('/organisations?type=gp_practice&subIcb=04C');
      expect(city.body).toContain('51 organisations');
      const cityPcns = await get('/organisations?type=pcn&subIcb=04C');
      expect(cityPcns.body).toMatch(/\d+ organisations/);
      expect(cityPcns.body).toContain('Leicester Central PCN');
    });

    it('treats wildcard characters in the search as plain text', async () => {
      const response = await get('/organisations?q=%25');
      expect(response.body).toContain('0 organisations');
    });

    it('says which parameter is malformed and why, with status 400', async () => {
      const cases: [string, string][] = [
        ['/organisations?page=abc', 'The "page" parameter must be a whole number from 1 upwards'],
        ['/organisations?page=0', 'The "page" parameter must be a whole number from 1 upwards'],
        ['/organisations?type=hospital', 'The "type" parameter must be one of: region, icb'],
        ['/organisations?icb=Q!!', 'The "icb" parameter must be an ICB ODS code such as QK1'],
        ['/organisations?q=a&q=b', 'The "q" parameter must be given once'],
        [`/organisations?q=${'x'.repeat(101)}`, 'The "q" parameter must be at most 100 characters'],
      ];
      for (const [url, message] of cases) {
        const response = await get(url);
        expect(response.statusCode, url).toBe(400);
        expect(response.body, url).toContain(message.replaceAll('"', '&quot;'));
      }
    });

    it('says when a page is past the end of the results', async () => {
      const response = await get('/organisations?type=region&page=5');
      expect(response.statusCode).toBe(404);
      expect(response.body).toContain('There is no page 5');
    });
  });

  it('computes the practice count and registered patients on the home page from the data', async () => {
    const response = await get('/');
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatch(/data-testid="llr-practice-count">128</);
    expect(response.body).toMatch(/data-testid="llr-registered-patients">1,232,169</);
    expect(response.body).toContain('Workforce and system leadership');
    expect(response.body).toContain('Dr Anna Murphy on green inhalers');
  });

  it('lists the reference datasets with their licences', async () => {
    const response = await get('/data-sources');
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('organisations/llr_gp_practices_active.csv');
    expect(response.body).toContain('Open Government Licence v3.0');
    // The inhaler reference is named with its version, linked to every value and its source.
    expect(response.body).toMatch(
      /Inhaler carbon reference[\s\S]*version <strong>\d{4}-\d{2}\.\d+<\/strong>/,
    );
    expect(response.body).toContain('href="/prescribing/inhalers"');
  });

  it("names the visitor's role on an organisation's page as people read it", async () => {
    const statusOn = async (code: string, role: 'org_admin' | 'ics_verifier' | 'member') => {
      const user = await buildUser(testApp.services, {
        memberships: [{ organisationCode: code, role }],
      });
      const browser = new HttpAgent(testApp.app);
      await signInAs(browser, user, () => currentTotp(user));
      const html = (await browser.get(`/organisations/${code}`)).body;
      return /<p>You are a member[^<]*<\/p>/.exec(html)?.[0];
    };
    expect(await statusOn('C82001', 'org_admin')).toBe(
      '<p>You are a member (Organisation admin).</p>',
    );
    expect(await statusOn('QK1', 'ics_verifier')).toBe('<p>You are a member (ICS verifier).</p>');
    expect(await statusOn('C82002', 'member')).toBe('<p>You are a member.</p>');
  });
});
