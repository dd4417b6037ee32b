import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUser } from '../test/support/factories.ts';
import { HttpAgent, signInAs } from '../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../test/support/test-app.ts';

describe('what the logs hold', () => {
  const lines: string[] = [];
  let testApp: TestApp;

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    testApp = await createTestApp('sqlite', { logger: pino({ level: 'trace' }, sink) });
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('never holds passwords, session tokens or CSRF tokens, but does hold request ids', async () => {
    const user = await buildUser(testApp.services, { password: 'a very particular passphrase 7' });
    const browser = new HttpAgent(testApp.app);
    await browser.post('/sign-in', {
      email: user.email,
      password: 'a wrong but memorable secret 9',
    });
    await signInAs(browser, user);
    await browser.get('/account');
    const token = browser.sessionCookie()!;
    const csrf = await browser.csrfToken();
    await browser.post('/account/password', {
      currentPassword: user.password,
      newPassword: 'another distinctive passphrase 8',
      confirmPassword: 'another distinctive passphrase 8',
    });
    const all = lines.join('');
    expect(lines.length).toBeGreaterThan(10);
    for (const secret of [
      user.password,
      'a wrong but memorable secret 9',
      'another distinctive passphrase 8',
      token,
      csrf,
    ]) {
      expect(all).not.toContain(secret);
    }
    expect(all).toMatch(/"reqId":"[0-9a-f-]{36}"/);
  });

  it('never holds the secrets an address carries, such as a reset or invitation token', async () => {
    const secret = 'RESETTOKENthatMustNotBeLogged1234567890';
    const browser = new HttpAgent(testApp.app);
    await browser.get(`/reset-password?token=${secret}`);
    await browser.get(
      `/sign-in?returnTo=${encodeURIComponent(`/invitations/accept?token=${secret}`)}`,
    );
    const all = lines.join('');
    expect(all).not.toContain(secret);
    // The address is still there to trace, with its parameters named.
    expect(all).toContain('"url":"/reset-password?token=…"');
    expect(all).toContain('"url":"/sign-in?returnTo=…"');
  });
});
