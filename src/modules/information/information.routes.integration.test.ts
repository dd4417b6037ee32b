import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorFor, buildUser } from '../../../test/support/factories.ts';
import { HttpAgent, signInAs } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';

/** A page's text without its tags, with its spaces collapsed, for checking what it says. */
function textOf(html: string): string {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

// The privacy page must say what the service really holds, so each test shows the service
// holding it and the page saying so.
describe.each(testDialects)('the privacy page on %s', (dialect) => {
  const lines: string[] = [];
  let testApp: TestApp;
  let privacy: string;

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    testApp = await createTestApp(dialect, { logger: pino({ level: 'info' }, sink) });
    const page = await testApp.app.inject({ method: 'GET', url: '/privacy' });
    expect(page.statusCode).toBe(200);
    privacy = textOf(page.body);
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('says what the request log holds, and names the IP address only if the log holds it', async () => {
    lines.length = 0;
    await testApp.app.inject({
      method: 'GET',
      url: '/privacy?token=not-for-the-logs',
      remoteAddress: '203.0.113.7',
    });
    const logged = lines.join('');
    expect(logged).toContain('"url":"/privacy?token=…"');
    expect(logged).toMatch(/"reqId":"[0-9a-f-]{36}"/);
    expect(logged).toContain('"statusCode":200');
    expect(privacy).toContain('the address requested, without the values in it');
    expect(privacy).toContain('the result and a request reference');
    expect(privacy).toContain('does not delete it after a set time');
    // The page and the log must agree: if the log comes to hold the IP address, the page must say so.
    expect(privacy.includes('the IP address the request came from')).toBe(
      logged.includes('203.0.113.7'),
    );
  });

  it('says that the audit log keeps the IP address and browser of sign-ins, also after the account is deleted', async () => {
    const user = await buildUser(testApp.services);
    const browser = new HttpAgent(testApp.app, { 'user-agent': 'PrivacyPageBrowser/1.0' });
    await signInAs(browser, user);
    await testApp.services.accounts.deleteAccount(
      await actorFor(testApp.services, user.id),
      user.password,
      { ip: '198.51.100.9', userAgent: 'PrivacyPageBrowser/1.0' },
    );

    const signIns = (await testApp.services.audit.findForUser(user.id)).filter(
      (event) => event.action === 'auth.sign_in',
    );
    expect(signIns).not.toHaveLength(0);
    expect(signIns[0]!.user_agent).toBe('PrivacyPageBrowser/1.0');
    expect(signIns[0]!.ip).not.toBeNull();

    expect(privacy).toContain('records sign-ins (including failed attempts)');
    expect(privacy).toContain('the IP address and the browser (user agent) it came from');
    expect(privacy).toContain('not deleted when an account is deleted');
  });
});
