import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('shows a practice with its real list size, PCN, sub-ICB and deprivation', async () => {
    const response = await testApp.app.inject({ method: 'GET', url: '/organisations/C82001' });
    expect(response.statusCode).toBe(200);
    const html = response.body;
    expect(html).toContain('South Leicestershire Medical Group');
    expect(html).toContain('25,822 patients (1 April 2026)');
    expect(html).toContain('Cross Counties PCN');
    expect(html).toContain('IMD 2019 score 6.7');
    expect(html).toMatch(/Decile 10 of 10 and quintile 5 of 5 nationally/);
    expect(html).toContain('href="/organisations/03W"');
    expect(html).toContain('href="/organisations/QK1"');
    expect(html).toContain('href="/organisations/Y60"');
  });
});
