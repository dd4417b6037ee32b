import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  actorFor,
  buildUser,
  contentInput,
  createPrivateWorkspace,
  currentTotp,
  TEST_PASSWORD,
} from '../../../test/support/factories.ts';
import { HttpAgent, signInAs } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';
import { sha256Hex } from '../../lib/crypto.ts';

/** The last link in the last email sent to an address. */
async function lastLinkTo(testApp: TestApp, address: string): Promise<string> {
  const messages = await testApp.services.email.findByRecipient(address.toLowerCase());
  const last = messages.at(-1);
  if (!last) throw new Error(`No email to ${address}`);
  const links = last.text_body.match(/https?:\/\/\S+/g) ?? [];
  return links.at(-1)!;
}

function pathOf(link: string): string {
  const url = new URL(link);
  return `${url.pathname}${url.search}`;
}

function tokenOf(link: string): string {
  return new URL(link).searchParams.get('token')!;
}

/** Where the links of a page's error summary point. */
function errorSummaryLinks(html: string): string[] {
  const summary = /<div class="nhsuk-error-summary"[\s\S]*?<\/ul>/.exec(html)?.[0] ?? '';
  return [...summary.matchAll(/href="([^"]+)"/g)].map((match) => match[1]!);
}

describe.each(testDialects)('accounts on %s', (dialect) => {
  let testApp: TestApp;
  let clock: Date | undefined;

  beforeAll(async () => {
    testApp = await createTestApp(dialect, { services: { now: () => clock ?? new Date() } });
  });

  afterAll(async () => {
    await testApp.close();
  });

  beforeEach(() => {
    clock = undefined;
  });

  const agent = () => new HttpAgent(testApp.app);

  it('signs up, confirms the email from the emailed link, and signs in', async () => {
    const browser = agent();
    const email = `new.starter.${dialect}@example.nhs.net`;
    const signUp = await browser.post('/sign-up', {
      displayName: 'New Starter',
      email,
      password: TEST_PASSWORD,
    });
    expect(signUp.statusCode).toBe(200);
    expect(signUp.body).toContain('Check your email');

    const stored = await testApp.services.accounts.findUserByEmail(email);
    expect(stored?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(stored?.email_verified_at).toBeNull();

    // Before confirming, signing in sends a new link instead.
    const early = await browser.post('/sign-in', { email, password: TEST_PASSWORD });
    expect(early.body).toContain('Confirm your email address');
    expect(browser.sessionCookie()).toBeUndefined();

    const link = await lastLinkTo(testApp, email);
    const confirmPage = await browser.get(pathOf(link));
    expect(confirmPage.body).toContain('Confirm my email address');
    const confirmed = await browser.post('/verify-email', { token: tokenOf(link) });
    expect(confirmed.body).toContain('Your email address is confirmed');

    const reused = await browser.post('/verify-email', { token: tokenOf(link) });
    expect(reused.statusCode).toBe(400);
    expect(reused.body).toContain('This link cannot be used');

    const signedIn = await browser.post('/sign-in', {
      email,
      password: TEST_PASSWORD,
      returnTo: '/account',
    });
    expect(signedIn.statusCode).toBe(303);
    expect(signedIn.headers.location).toBe('/account');
    const account = await browser.get('/account');
    expect(account.statusCode).toBe(200);
    expect(account.body).toContain(email);
    expect(account.headers['cache-control']).toBe('no-store');
  });

  it('refuses a weak or common password and names the field', async () => {
    const response = await agent().post('/sign-up', {
      displayName: 'Weak',
      email: 'weak@example.nhs.net',
      password: 'password1',
    });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('There is a problem');
    expect(response.body).toContain('href="#password"');
    expect(response.body).toContain('one of the most common passwords');
    const short = await agent().post('/sign-up', {
      displayName: 'Short',
      email: 'short@example.nhs.net',
      password: 'abc',
    });
    expect(short.body).toContain('Password must be 8 characters or more');
  });

  it('does not reveal whether an email address has an account', async () => {
    const user = await buildUser(testApp.services);
    const existing = await agent().post('/sign-up', {
      displayName: 'Someone',
      email: user.email,
      password: TEST_PASSWORD,
    });
    const fresh = await agent().post('/sign-up', {
      displayName: 'Someone',
      email: `fresh.${dialect}@example.nhs.net`,
      password: TEST_PASSWORD,
    });
    expect(existing.statusCode).toBe(fresh.statusCode);
    const normalise = (body: string, address: string) =>
      body
        .replace(address, 'ADDRESS')
        .replace(/nonce="[^"]+"/g, '')
        .replace(/name="_csrf" value="[^"]+"/g, '');
    expect(normalise(existing.body, user.email)).toBe(
      normalise(fresh.body, `fresh.${dialect}@example.nhs.net`),
    );
    expect(existing.body).toContain('Check your email');
    // The owner is told someone tried, rather than a second account being made.
    const owner = await testApp.services.email.findByRecipient(user.email);
    expect(owner.at(-1)?.subject).toContain('tried to create a Greenspace account');

    const wrongPassword = await agent().post('/sign-in', {
      email: user.email,
      password: 'not the password at all',
    });
    const noAccount = await agent().post('/sign-in', {
      email: `nobody.${dialect}@example.nhs.net`,
      password: 'not the password at all',
    });
    expect(wrongPassword.statusCode).toBe(400);
    expect(noAccount.statusCode).toBe(400);
    expect(wrongPassword.body).toContain('Enter a correct email address and password');
    expect(noAccount.body).toContain('Enter a correct email address and password');

    const resetKnown = await agent().post('/forgot-password', { email: user.email });
    const resetUnknown = await agent().post('/forgot-password', {
      email: `nobody.${dialect}@example.nhs.net`,
    });
    expect(resetKnown.statusCode).toBe(200);
    expect(resetUnknown.statusCode).toBe(200);
    expect(resetKnown.body).toContain('If ');
    expect(resetUnknown.body).toContain('If ');
  });

  it('answers more than 10 sign-ups from one address in an hour with 429, audits it, and lifts the limit when the hour turns', async () => {
    // Half way through an hour long past that no other test uses: every sign-up in this file
    // comes from the same address, so a shared hour would count theirs too.
    clock = new Date(Date.UTC(2020, 0, 6, 12, 30, 0));
    const address = (index: number) => `starter.${index}.${dialect}@example.nhs.net`;
    const signUp = (index: number) =>
      agent().post('/sign-up', {
        displayName: `Starter ${index}`,
        email: address(index),
        password: TEST_PASSWORD,
      });
    for (let index = 1; index <= 10; index++) {
      const response = await signUp(index);
      expect(response.statusCode, `sign-up ${index}`).toBe(200);
      expect(response.body).toContain('Check your email');
    }
    const refused = await signUp(11);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('1800');
    expect(refused.body).toContain('There have been too many attempts in a short time');
    expect(refused.body).toContain('wait 30 minutes');
    expect(await testApp.services.accounts.findUserByEmail(address(11))).toBeUndefined();
    const refusals = await testApp.services.database.db
      .selectFrom('audit_events')
      .select('details')
      .where('action', '=', 'account.sign_up')
      .where('outcome', '=', 'refused')
      .where('occurred_at', '=', clock.toISOString())
      .execute();
    expect(refusals).toHaveLength(1);
    expect(String(refusals[0]!.details)).toContain('rate_limited');

    // The last second of the hour is still refused; the first of the next is not.
    clock = new Date(Date.UTC(2020, 0, 6, 12, 59, 59));
    const lastSecond = await signUp(11);
    expect(lastSecond.statusCode).toBe(429);
    expect(lastSecond.headers['retry-after']).toBe('1');
    clock = new Date(Date.UTC(2020, 0, 6, 13, 0, 0));
    const nextHour = await signUp(11);
    expect(nextHour.statusCode).toBe(200);
    expect(nextHour.body).toContain('Check your email');
    expect(await testApp.services.accounts.findUserByEmail(address(11))).toBeDefined();
  });

  it('gives a new session id at sign-in, and a session replayed after sign-out fails', async () => {
    const user = await buildUser(testApp.services);
    const browser = agent();
    await browser.get('/');
    await signInAs(browser, user);
    const first = browser.sessionCookie();
    expect(first).toBeDefined();
    await signInAs(browser, user);
    const second = browser.sessionCookie();
    expect(second).not.toBe(first);
    // The old session is gone from the database, not just from the browser.
    expect(await testApp.services.auth.resolveSession(first)).toBeNull();

    const signOut = await browser.post('/sign-out');
    expect(signOut.body).toContain('You have signed out');
    const replay = await testApp.app.inject({
      method: 'GET',
      url: '/account',
      headers: { cookie: `gs_session=${second}` },
    });
    expect(replay.statusCode).toBe(303);
    expect(replay.headers.location).toBe('/sign-in?returnTo=%2Faccount');
  });

  it('refuses a POST without a CSRF token with 403', async () => {
    const user = await buildUser(testApp.services);
    const browser = agent();
    await signInAs(browser, user);
    const response = await browser.post(
      '/account/name',
      { displayName: 'Changed' },
      { csrf: false },
    );
    expect(response.statusCode).toBe(403);
    expect(response.body).toContain('The form has expired');
    const forged = await browser.post(
      '/account/name',
      { displayName: 'Changed' },
      { csrf: 'forged-token' },
    );
    expect(forged.statusCode).toBe(403);
    expect((await testApp.services.accounts.findUserById(user.id))?.display_name).toBe(
      user.displayName,
    );
  });

  it('answers 20 failed sign-ins in a minute with 429, and audits every one', async () => {
    const user = await buildUser(testApp.services);
    // A minute long past: these attempts fill that minute's per-address count, which no other
    // sign-in from this address shares (a minute just ahead would be shared with every sign-in
    // the rest of the file makes once the real clock gets there).
    clock = new Date(Date.UTC(2020, 0, 6, 9, 0, 1));
    const browser = agent();
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 20; attempt++) {
      statuses.push(
        (
          await browser.post('/sign-in', {
            email: user.email,
            password: `wrong password ${attempt}`,
          })
        ).statusCode,
      );
    }
    expect(statuses.slice(0, 10).every((status) => status === 400)).toBe(true);
    expect(statuses.slice(10).every((status) => status === 429)).toBe(true);
    const blocked = browser.lastResponse!;
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.body).toContain('Too many attempts');
    // Even the right password is refused while the limit lasts.
    expect(
      (await browser.post('/sign-in', { email: user.email, password: user.password })).statusCode,
    ).toBe(429);

    const audit = await testApp.services.audit.findForUser(user.id);
    const attempts = audit.filter(
      (event) => event.action === 'auth.sign_in' && event.outcome !== 'success',
    );
    expect(attempts).toHaveLength(21);
    expect(attempts.filter((event) => event.outcome === 'failure')).toHaveLength(10);
    expect(attempts.filter((event) => event.outcome === 'refused')).toHaveLength(11);
    expect(
      attempts.every(
        (event) => event.ip === '127.0.0.1' && event.user_agent === 'greenspace-tests',
      ),
    ).toBe(true);

    // A minute later the account can sign in again.
    clock = new Date(clock.getTime() + 60_000);
    expect(
      (await browser.post('/sign-in', { email: user.email, password: user.password })).statusCode,
    ).toBe(303);
  });

  it('answers more than 30 sign-ins from one address in a minute with 429, whatever accounts they name', async () => {
    const user = await buildUser(testApp.services);
    // Half way through a minute long past that no other test uses: every request in this file
    // comes from the same address, so a shared minute would count their sign-ins too.
    clock = new Date(Date.UTC(2020, 0, 6, 10, 0, 30));
    const browser = agent();
    for (let attempt = 1; attempt <= 30; attempt++) {
      const response = await browser.post('/sign-in', {
        email: `guess.${attempt}.${dialect}@example.nhs.net`,
        password: 'not the password at all',
      });
      expect(response.statusCode, `attempt ${attempt}`).toBe(400);
    }
    // The account's own first attempt, with the right password, is refused all the same.
    const refused = await browser.post('/sign-in', { email: user.email, password: user.password });
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('30');
    expect(refused.body).toContain('There have been too many attempts in a short time');
    expect(browser.sessionCookie()).toBeUndefined();
    const signIns = (await testApp.services.audit.findForUser(user.id)).filter(
      (event) => event.action === 'auth.sign_in',
    );
    expect(signIns).toEqual([expect.objectContaining({ outcome: 'refused' })]);
  });

  it('resets a forgotten password once, ending every session', async () => {
    const user = await buildUser(testApp.services);
    const other = agent();
    await signInAs(other, user);
    const browser = agent();
    await browser.post('/forgot-password', { email: user.email });
    const link = await lastLinkTo(testApp, user.email);
    expect((await browser.get(pathOf(link))).body).toContain('Choose a new password');

    const mismatch = await browser.post('/reset-password', {
      token: tokenOf(link),
      password: 'a brand new passphrase',
      confirmPassword: 'something else',
    });
    expect(mismatch.body).toContain('The passwords do not match');
    const done = await browser.post('/reset-password', {
      token: tokenOf(link),
      password: 'a brand new passphrase',
      confirmPassword: 'a brand new passphrase',
    });
    expect(done.body).toContain('Your password has been changed');
    expect((await other.get('/account')).statusCode).toBe(303);
    expect((await browser.get(pathOf(link))).statusCode).toBe(400);
    expect(
      (await agent().post('/sign-in', { email: user.email, password: user.password })).statusCode,
    ).toBe(400);
    expect(
      (await agent().post('/sign-in', { email: user.email, password: 'a brand new passphrase' }))
        .statusCode,
    ).toBe(303);
  });

  it('sends at most 5 reset emails an hour for one account, refusing more with 429 and auditing it', async () => {
    const user = await buildUser(testApp.services);
    // Half way through an hour long past that no other test uses, so that the hour cannot turn
    // between the fifth request and the sixth.
    clock = new Date(Date.UTC(2020, 0, 6, 14, 30, 0));
    const resetEmails = async () =>
      (await testApp.services.email.findByRecipient(user.email)).filter(
        (message) => message.kind === 'reset_password',
      ).length;
    const before = await resetEmails();
    for (let request = 1; request <= 5; request++) {
      const response = await agent().post('/forgot-password', { email: user.email });
      expect(response.statusCode, `request ${request}`).toBe(200);
    }
    const refused = await agent().post('/forgot-password', { email: user.email });
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('1800');
    expect(refused.body).toContain('There have been too many attempts in a short time');
    expect(await resetEmails()).toBe(before + 5);
    const refusals = await testApp.services.database.db
      .selectFrom('audit_events')
      .select('details')
      .where('action', '=', 'account.password_reset_requested')
      .where('outcome', '=', 'refused')
      .where('occurred_at', '=', clock.toISOString())
      .execute();
    expect(refusals).toHaveLength(1);
    expect(String(refusals[0]!.details)).toContain('rate_limited');
  });

  it('answers more than 20 reset requests from one address in an hour with 429, whatever accounts they name', async () => {
    // Its own hour long past: a shared hour would count the other tests' requests from this address.
    clock = new Date(Date.UTC(2020, 0, 6, 15, 30, 0));
    for (let request = 1; request <= 20; request++) {
      const response = await agent().post('/forgot-password', {
        email: `forgetful.${request}.${dialect}@example.nhs.net`,
      });
      expect(response.statusCode, `request ${request}`).toBe(200);
    }
    const user = await buildUser(testApp.services);
    const refused = await agent().post('/forgot-password', { email: user.email });
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('1800');
    expect(refused.body).toContain('There have been too many attempts in a short time');
    expect(
      (await testApp.services.email.findByRecipient(user.email)).some(
        (message) => message.kind === 'reset_password',
      ),
    ).toBe(false);
    const refusals = await testApp.services.database.db
      .selectFrom('audit_events')
      .select('details')
      .where('action', '=', 'account.password_reset_requested')
      .where('outcome', '=', 'refused')
      .where('occurred_at', '=', clock.toISOString())
      .execute();
    expect(refusals).toHaveLength(1);
    expect(String(refusals[0]!.details)).toContain('rate_limited');
  });

  it('refuses an expired or tampered reset link with the same message', async () => {
    const user = await buildUser(testApp.services);
    await agent().post('/forgot-password', { email: user.email });
    const link = await lastLinkTo(testApp, user.email);
    clock = new Date(Date.now() + 61 * 60_000);
    const expired = await agent().get(pathOf(link));
    const tampered = await agent().get(`/reset-password?token=${tokenOf(link).slice(0, -2)}xx`);
    expect(expired.statusCode).toBe(400);
    expect(tampered.statusCode).toBe(400);
    expect(expired.body).toContain('This link has expired or has already been used');
    expect(tampered.body).toContain('This link has expired or has already been used');

    // Sent, a link that cannot work is refused before anything is done with the new password
    // (hashing one takes a fifth of a second): even a password that would be refused is not
    // looked at.
    for (const token of [tokenOf(link), `${tokenOf(link).slice(0, -2)}xx`]) {
      const browser = agent();
      await browser.get('/forgot-password');
      for (const password of ['short', 'a brand new passphrase']) {
        const sent = await browser.post('/reset-password', {
          token,
          password,
          confirmPassword: password,
        });
        expect(sent.statusCode).toBe(400);
        expect(sent.body).toContain('This link has expired or has already been used');
        expect(sent.body).not.toContain('Password must be');
      }
    }
  });

  it('ends a session after 30 idle minutes and after 12 hours however active', async () => {
    const user = await buildUser(testApp.services);
    const browser = agent();
    const start = Date.now();
    clock = new Date(start);
    await signInAs(browser, user);
    clock = new Date(start + 29 * 60_000);
    expect((await browser.get('/account')).statusCode).toBe(200);
    clock = new Date(start + 29 * 60_000 + 31 * 60_000);
    expect((await browser.get('/account')).statusCode).toBe(303);

    clock = new Date(start);
    await signInAs(browser, user);
    for (let minutes = 25; minutes < 12 * 60; minutes += 25) {
      clock = new Date(start + minutes * 60_000);
      expect((await browser.get('/account')).statusCode, `after ${minutes} minutes`).toBe(200);
    }
    clock = new Date(start + 12 * 60 * 60_000 + 60_000);
    expect((await browser.get('/account')).statusCode).toBe(303);
  });

  it('signs out every other session on request', async () => {
    const user = await buildUser(testApp.services);
    const laptop = agent();
    const phone = agent();
    await signInAs(laptop, user);
    await signInAs(phone, user);
    const response = await laptop.post('/account/sessions/sign-out-others');
    expect(response.statusCode).toBe(303);
    expect((await phone.get('/account')).statusCode).toBe(303);
    expect((await laptop.get('/account')).statusCode).toBe(200);
  });

  it('turns on two-factor authentication, then needs a code at sign-in, refusing a replayed code', async () => {
    const user = await buildUser(testApp.services);
    const browser = agent();
    await signInAs(browser, user);
    await browser.post('/account/two-factor/start');
    const setup = await browser.get('/account/two-factor');
    const secret = /data-testid="totp-secret">([A-Z2-7 ]+)</
      .exec(setup.body)![1]!
      .replaceAll(' ', '');
    expect(setup.body).toContain('<svg role="img"');
    const wrong = await browser.post('/account/two-factor/confirm', { code: '000000' });
    expect(wrong.statusCode).toBe(400);
    const withSecret = { ...user, totpSecret: secret };
    const enabled = await browser.post('/account/two-factor/confirm', {
      code: currentTotp(withSecret, -1),
    });
    const codes = [
      ...enabled.body.matchAll(/<li><code>([a-z0-9]{5}-[a-z0-9]{5})<\/code><\/li>/g),
    ].map((match) => match[1]!);
    expect(codes).toHaveLength(10);

    const next = agent();
    const password = await next.post('/sign-in', { email: user.email, password: user.password });
    expect(password.headers.location).toBe('/sign-in/two-factor?returnTo=%2F');
    expect((await next.get('/account')).headers.location).toBe('/sign-in/two-factor');
    const code = currentTotp(withSecret);
    expect(
      (await next.post('/sign-in/two-factor', { code, returnTo: '/account' })).statusCode,
    ).toBe(303);
    expect((await next.get('/account')).statusCode).toBe(200);

    const replay = agent();
    // The password step must have reached the code page, so that a 303 below can only mean the
    // replayed code was let in, never that there was no sign-in waiting for a code.
    const replayPassword = await replay.post('/sign-in', {
      email: user.email,
      password: user.password,
    });
    expect(replayPassword.headers.location).toBe('/sign-in/two-factor?returnTo=%2F');
    const replayed = await replay.post('/sign-in/two-factor', { code });
    expect(replayed.statusCode, replayed.headers.location ?? '').toBe(400);
    // A recovery code works once.
    expect(
      (await replay.post('/sign-in/two-factor', { code: codes[0]!, returnTo: '/account' }))
        .statusCode,
    ).toBe(303);
    const again = agent();
    await again.post('/sign-in', { email: user.email, password: user.password });
    expect((await again.post('/sign-in/two-factor', { code: codes[0]! })).statusCode).toBe(400);
  });

  it('shows an error on turning off two-factor by the field it is about, and labels the two password fields apart', async () => {
    const user = await buildUser(testApp.services, { twoFactor: true });
    const browser = agent();
    await signInAs(browser, user, () => currentTotp(user));
    const page = await browser.get('/account/two-factor');
    expect(page.body).toContain('Enter your password to get new recovery codes');
    expect(page.body).toContain('Enter your password to turn off two-factor authentication');

    const refused = await browser.post('/account/two-factor/disable', { password: 'wrong' });
    expect(refused.statusCode).toBe(400);
    expect(errorSummaryLinks(refused.body)).toEqual(['#disablePassword']);
    expect(refused.body).toMatch(
      /id="disablePassword-error"[^>]*>[\s\S]*?Your password is not correct/,
    );
    expect(refused.body).toMatch(
      /<input[^>]*id="disablePassword"[^>]*aria-describedby="disablePassword-error"/,
    );
    expect(refused.body).not.toContain('id="password-error"');

    const codes = await browser.post('/account/two-factor/recovery-codes', { password: 'wrong' });
    expect(codes.statusCode).toBe(400);
    expect(errorSummaryLinks(codes.body)).toEqual(['#password']);
    expect(codes.body).toContain('id="password-error"');
    expect(codes.body).not.toContain('id="disablePassword-error"');
    // New codes stand in for the second factor: the account's owner is told by email.
    const told = () =>
      testApp.services.email
        .findByRecipient(user.email)
        .then((sent) => sent.filter((message) => message.subject.includes('recovery codes')));
    expect(await told()).toHaveLength(0);
    const fresh = await browser.post('/account/two-factor/recovery-codes', {
      password: user.password,
    });
    expect(fresh.statusCode).toBe(200);
    expect(await told()).toHaveLength(1);
  });

  it('says what is wrong, without a link to a field that is not there, for a form from a page older than the account', async () => {
    const user = await buildUser(testApp.services);
    const browser = agent();
    await signInAs(browser, user);
    // Two-factor is off: neither password field is on the page.
    for (const [url, password] of [
      ['/account/two-factor/recovery-codes', user.password],
      ['/account/two-factor/disable', 'not the password'],
    ] as const) {
      const stale = await browser.post(url, { password });
      expect(stale.statusCode).toBe(400);
      expect(errorSummaryLinks(stale.body)).toEqual([]);
      expect(stale.body).toContain('nhsuk-error-summary');
      expect(stale.body).not.toMatch(/href="#(password|disablePassword)"/);
    }
  });

  it('says beside the turn-off field when a role needs two-factor authentication', async () => {
    const admin = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82003', role: 'org_admin' }],
    });
    const browser = agent();
    await signInAs(browser, admin, () => currentTotp(admin));
    // The page offers no way to turn it off; a form from before the role was given still can post.
    expect((await browser.get('/account/two-factor')).body).not.toContain('id="disablePassword"');
    const refused = await browser.post('/account/two-factor/disable', { password: admin.password });
    expect(refused.statusCode).toBe(400);
    expect(errorSummaryLinks(refused.body)).toEqual(['#disablePassword']);
    expect(refused.body).toMatch(
      /id="disablePassword-error"[^>]*>[\s\S]*?Your role requires two-factor authentication/,
    );
  });

  it('answers more than 10 two-factor codes in five minutes with 429, audits them, and uses up no code it refuses', async () => {
    const user = await buildUser(testApp.services, { twoFactor: true });
    // Half way through a five-minute window long past that no other test uses. No authenticator
    // code can match at this time (the account has used a later one), so every code below is wrong.
    clock = new Date(Date.UTC(2020, 0, 6, 11, 2, 30));
    const browser = agent();
    const password = await browser.post('/sign-in', { email: user.email, password: user.password });
    expect(password.headers.location).toBe('/sign-in/two-factor?returnTo=%2F');
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 11; attempt++) {
      statuses.push((await browser.post('/sign-in/two-factor', { code: '000000' })).statusCode);
    }
    expect(statuses.slice(0, 10).every((status) => status === 400)).toBe(true);
    expect(statuses[10]).toBe(429);
    const blocked = browser.lastResponse!;
    expect(blocked.headers['retry-after']).toBe('150');
    expect(blocked.body).toContain('There have been too many attempts in a short time');
    // Even a good recovery code is refused while the limit lasts.
    const recoveryCode = user.recoveryCodes![0]!;
    expect((await browser.post('/sign-in/two-factor', { code: recoveryCode })).statusCode).toBe(
      429,
    );

    const attempts = (await testApp.services.audit.findForUser(user.id)).filter(
      (event) => event.action === 'auth.second_factor',
    );
    expect(attempts.filter((event) => event.outcome === 'failure')).toHaveLength(10);
    expect(attempts.filter((event) => event.outcome === 'refused')).toHaveLength(2);

    // In the next five minutes the same recovery code still works: the refusal did not use it.
    clock = new Date(Date.UTC(2020, 0, 6, 11, 5, 30));
    const signedIn = await browser.post('/sign-in/two-factor', {
      code: recoveryCode,
      returnTo: '/account',
    });
    expect(signedIn.statusCode).toBe(303);
    expect(signedIn.headers.location).toBe('/account');
  });

  it('keeps the TOTP secret encrypted at rest', async () => {
    const user = await buildUser(testApp.services, { twoFactor: true });
    const stored = await testApp.services.accounts.findUserById(user.id);
    expect(stored?.totp_secret_encrypted).toMatch(/^v1\./);
    expect(stored?.totp_secret_encrypted).not.toContain(user.totpSecret!);
  });

  it('changes the email address only when the new address confirms it', async () => {
    const user = await buildUser(testApp.services);
    const browser = agent();
    await signInAs(browser, user);
    const newEmail = `moved.${dialect}@example.nhs.net`;
    const wrongPassword = await browser.post('/account/email', {
      newEmail,
      password: 'not my password',
    });
    expect(wrongPassword.statusCode).toBe(400);
    expect(
      (await browser.post('/account/email', { newEmail, password: user.password })).statusCode,
    ).toBe(303);
    expect((await testApp.services.accounts.findUserById(user.id))?.email).toBe(user.email);
    const notice = await testApp.services.email.findByRecipient(user.email);
    expect(notice.at(-1)?.subject).toContain('change of email address was requested');
    const link = await lastLinkTo(testApp, newEmail);
    expect((await agent().post('/account/email/confirm', { token: tokenOf(link) })).body).toContain(
      'Your email address has been changed',
    );
    expect((await testApp.services.accounts.findUserById(user.id))?.email).toBe(newEmail);
  });

  it('cancels a change of email address on request, or when the password is changed or reset, so an old password cannot move the account away', async () => {
    // A minute of its own, so its sign-ins do not count towards the other tests' limit per address.
    clock = new Date(Date.UTC(2021, 2, 1, 10, 0, 0));
    // Each step a second later, so that the last email to an address is the one just sent.
    const tick = () => {
      clock = new Date(clock!.getTime() + 1000);
    };
    const user = await buildUser(testApp.services);
    const owner = agent();
    await signInAs(owner, user);
    const intruder = agent();
    await signInAs(intruder, user);
    const intrudersAddress = `intruder.${dialect}@example.com`;
    const ask = () => {
      tick();
      return intruder.post('/account/email', {
        newEmail: intrudersAddress,
        password: user.password,
      });
    };

    // Shown on the account page, with a way to cancel it, which is audited.
    expect((await ask()).statusCode).toBe(303);
    const firstLink = await lastLinkTo(testApp, intrudersAddress);
    const page = await owner.get('/account');
    expect(page.body).toContain(
      `change your email address to <strong>${intrudersAddress}</strong>`,
    );
    expect(page.body).toContain('action="/account/email/cancel"');
    const cancelled = await owner.post('/account/email/cancel');
    expect(cancelled.headers.location).toBe('/account?updated=email-cancelled');
    expect((await owner.get('/account?updated=email-cancelled')).body).toContain(
      'The change of email address has been cancelled.',
    );
    expect((await owner.get('/account')).body).not.toContain(intrudersAddress);
    expect(
      (await agent().post('/account/email/confirm', { token: tokenOf(firstLink) })).statusCode,
    ).toBe(400);
    const cancellations = async () =>
      (await testApp.services.audit.findForUser(user.id)).filter(
        (event) => event.action === 'account.email_change_cancelled',
      );
    expect(await cancellations()).toHaveLength(1);
    // A second cancel, with nothing to cancel, changes and records nothing, and says so.
    const nothing = await owner.post('/account/email/cancel');
    expect(nothing.headers.location).toBe('/account?updated=email-nothing-to-cancel');
    expect((await owner.follow(nothing)).body).toContain(
      'There was no change of email address waiting to be cancelled',
    );
    expect(await cancellations()).toHaveLength(1);

    // Changing the password cancels one asked for before.
    expect((await ask()).statusCode).toBe(303);
    const secondLink = await lastLinkTo(testApp, intrudersAddress);
    const newPassword = 'a different long passphrase 7';
    expect(
      (
        await owner.post('/account/password', {
          currentPassword: user.password,
          newPassword,
          confirmPassword: newPassword,
        })
      ).statusCode,
    ).toBe(303);
    expect(
      (await agent().post('/account/email/confirm', { token: tokenOf(secondLink) })).statusCode,
    ).toBe(400);

    // So does a reset from the emailed link.
    const again = agent();
    await signInAs(again, { ...user, password: newPassword });
    tick();
    expect(
      (await again.post('/account/email', { newEmail: intrudersAddress, password: newPassword }))
        .statusCode,
    ).toBe(303);
    const thirdLink = await lastLinkTo(testApp, intrudersAddress);
    tick();
    await agent().post('/forgot-password', { email: user.email });
    const reset = await lastLinkTo(testApp, user.email);
    const resetPassword = 'a third long passphrase 11';
    expect(
      (
        await agent().post('/reset-password', {
          token: tokenOf(reset),
          password: resetPassword,
          confirmPassword: resetPassword,
        })
      ).body,
    ).toContain('Your password has been changed');
    expect(
      (await agent().post('/account/email/confirm', { token: tokenOf(thirdLink) })).statusCode,
    ).toBe(400);
    expect((await testApp.services.accounts.findUserById(user.id))?.email).toBe(user.email);
  });

  it('limits and audits asking for the password again, and limits email change requests', async () => {
    // Sign-ins in a minute long past of their own, clear of this address's per-minute limit.
    clock = new Date(Date.UTC(2020, 0, 7, 10, 1, 1));
    const user = await buildUser(testApp.services);
    const browser = agent();
    await signInAs(browser, user);
    const wrong = await browser.post('/account/password', {
      currentPassword: 'a guess',
      newPassword: 'a new long passphrase 42',
      confirmPassword: 'a new long passphrase 42',
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.body).toContain('Your password is not correct');
    const failures = (await testApp.services.audit.findForUser(user.id)).filter(
      (event) => event.action === 'account.password_changed' && event.outcome === 'failure',
    );
    expect(failures).toHaveLength(1);
    // Ten checks in 15 minutes (the one above and nine more); the eleventh is refused unread.
    for (let attempt = 0; attempt < 9; attempt++) {
      const guess = await browser.post('/account/password', {
        currentPassword: `guess ${attempt}`,
        newPassword: 'a new long passphrase 42',
        confirmPassword: 'a new long passphrase 42',
      });
      expect(guess.statusCode).toBe(400);
    }
    const refused = await browser.post('/account/email', {
      newEmail: `elsewhere.${dialect}@example.nhs.net`,
      password: user.password,
    });
    expect(refused.statusCode).toBe(429);
    expect(refused.body).toContain('Your password has been asked for 10 times in 15 minutes.');
    expect(refused.body).toContain('Nothing has been changed.');
    expect(
      (await testApp.services.audit.findForUser(user.id)).some(
        (event) => event.action === 'account.email_change_requested' && event.outcome === 'refused',
      ),
    ).toBe(true);

    const mover = await buildUser(testApp.services);
    const moverBrowser = agent();
    await signInAs(moverBrowser, mover);
    const address = (n: number) => `mover${n}.${dialect}.${mover.id.slice(0, 8)}@example.nhs.net`;
    for (let n = 1; n <= 5; n++) {
      const asked = await moverBrowser.post('/account/email', {
        newEmail: address(n),
        password: mover.password,
      });
      expect(asked.statusCode).toBe(303);
    }
    const sixth = await moverBrowser.post('/account/email', {
      newEmail: address(6),
      password: mover.password,
    });
    expect(sixth.statusCode).toBe(429);
    expect(sixth.body).toContain('You have asked to change your email address 5 times in an hour.');
    expect(sixth.body).toContain(
      'Your email address has not been changed, and no link has been sent.',
    );
    expect(await testApp.services.email.findByRecipient(address(6))).toEqual([]);
  });

  it('tells someone who signs in only with single sign-on how to get a password, not that theirs is wrong', async () => {
    // Sign-ins in a minute long past of their own, clear of this address's per-minute limit.
    clock = new Date(Date.UTC(2020, 0, 7, 10, 2, 1));
    const user = await buildUser(testApp.services);
    const browser = agent();
    await signInAs(browser, user);
    await testApp.services.database.db
      .updateTable('users')
      .set({ password_hash: null })
      .where('id', '=', user.id)
      .execute();
    const asked = await browser.post('/account/email', {
      newEmail: `sso.${dialect}.${user.id.slice(0, 8)}@example.nhs.net`,
      password: '',
    });
    expect(asked.statusCode).toBe(400);
    expect(asked.body).toContain(
      'You sign in with single sign-on, so you have no Greenspace password',
    );
    expect(asked.body).not.toContain('Your password is not correct');
  });

  it('downloads everything held about the user as JSON', async () => {
    const user = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82001', role: 'member' }],
    });
    const browser = agent();
    await signInAs(browser, user);
    const response = await browser.get('/account/data');
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['content-disposition']).toContain('attachment');
    const data = response.json();
    expect(data.account.email).toBe(user.email);
    expect(data.memberships).toEqual([
      expect.objectContaining({ organisationCode: 'C82001', role: 'member' }),
    ]);
    expect(data.sessions.length).toBeGreaterThan(0);
    expect(
      data.auditEvents.some((event: { action: string }) => event.action === 'auth.sign_in'),
    ).toBe(true);
    expect(JSON.stringify(data)).not.toContain('argon2');
    // The download itself is audited, after it was gathered: the next one lists it.
    expect(
      data.auditEvents.some(
        (event: { action: string }) => event.action === 'account.data_exported',
      ),
    ).toBe(false);
    const next = (await browser.get('/account/data')).json();
    expect(
      next.auditEvents.filter(
        (event: { action: string }) => event.action === 'account.data_exported',
      ),
    ).toEqual([
      expect.objectContaining({ outcome: 'success', performedByYou: true, ip: '127.0.0.1' }),
    ]);
  });

  it('downloads what the user did in workspaces, the knowledge hub, uploads and notifications', async () => {
    // Sign-ins in a minute long past of their own, clear of this address's per-minute limit.
    clock = new Date(Date.UTC(2020, 0, 7, 10, 4, 1));
    const workspace = await createPrivateWorkspace(testApp.services, `export-${Date.now()}`);
    const user = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82001', role: 'editor' }],
      workspaces: [{ slug: workspace.slug, role: 'member' }],
    });
    const actor = await actorFor(testApp.services, user.id);
    const context = { ip: '127.0.0.1', userAgent: 'export test' };
    const item = await testApp.services.content.create(
      actor,
      'case_study',
      contentInput({ title: `Export check ${dialect}` }),
      context,
    );
    await testApp.services.content.publish(actor, item.id, context);
    const db = testApp.services.database.db;
    const upload = await testApp.services.files.receiveUpload(
      Readable.from([Buffer.from('name,value\nA,1\n')]),
      'spreadsheet',
      'my figures.csv',
    );
    await testApp.services.files.recordUpload(db, upload, user.id);
    await db
      .insertInto('notifications')
      .values({
        id: randomUUID(),
        user_id: user.id,
        kind: 'workspace',
        title: 'You joined a workspace',
        body: 'Welcome',
        link: `/workspaces/${workspace.slug}`,
        actor_id: null,
        dedupe_key: `export-${user.id}`,
        created_at: new Date().toISOString(),
        read_at: null,
        email_status: 'skipped',
        emailed_at: null,
      })
      .execute();

    const browser = agent();
    await signInAs(browser, user);
    const data = (await browser.get('/account/data')).json();
    expect(data.account.handle).toMatch(/^test\.user\.user/);
    expect(data.workspaceMemberships).toEqual([
      expect.objectContaining({ slug: workspace.slug, role: 'member' }),
    ]);
    expect(data.workspaceRequestsAndInvitations).toEqual([]);
    expect(data.contentItems).toEqual([
      expect.objectContaining({
        slug: item.slug,
        title: `Export check ${dialect}`,
        status: 'published',
        createdByYou: true,
        lastChangedByYou: true,
      }),
    ]);
    expect(data.contentRevisions.map((row: { slug: string }) => row.slug)).toContain(item.slug);
    expect(data.filesUploaded).toEqual([
      expect.objectContaining({ name: 'my figures.csv', contentType: 'text/csv', sizeBytes: 15 }),
    ]);
    expect(data.notifications).toEqual([
      expect.objectContaining({ title: 'You joined a workspace', readAt: null }),
    ]);
    expect(data.discussions.reactions).toEqual([]);
    // Nobody else's: another member of the same workspace and organisation adds nothing.
    const other = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82001', role: 'editor' }],
      workspaces: [{ slug: workspace.slug, role: 'manager' }],
    });
    const otherBrowser = agent();
    await signInAs(otherBrowser, other);
    const theirs = (await otherBrowser.get('/account/data')).json();
    expect(theirs.contentItems).toEqual([]);
    expect(theirs.filesUploaded).toEqual([]);
    expect(theirs.notifications).toEqual([]);
    expect(theirs.workspaceMemberships).toEqual([
      expect.objectContaining({ slug: workspace.slug, role: 'manager' }),
    ]);
  });

  it("leaves other people's IP address and browser out of the downloaded audit events", async () => {
    const admin = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82003', role: 'org_admin' }],
    });
    const user = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82003', role: 'member' }],
    });
    const adminBrowser = new HttpAgent(testApp.app, { 'user-agent': 'admins-own-browser' });
    await signInAs(adminBrowser, admin, () => currentTotp(admin));
    const changed = await adminBrowser.post(`/organisations/C82003/members/${user.id}/role`, {
      role: 'editor',
    });
    expect(changed.statusCode).toBe(303);

    const browser = agent();
    await signInAs(browser, user);
    const data = (await browser.get('/account/data')).json();
    type ExportedEvent = {
      action: string;
      performedByYou: boolean;
      ip: string | null;
      userAgent: string | null;
    };
    const events: ExportedEvent[] = data.auditEvents;
    expect(events.find((event) => event.action === 'membership.role_changed')).toMatchObject({
      performedByYou: false,
      ip: null,
      userAgent: null,
    });
    expect(events.find((event) => event.action === 'auth.sign_in')).toMatchObject({
      performedByYou: true,
      ip: '127.0.0.1',
      userAgent: 'greenspace-tests',
    });
    expect(JSON.stringify(data)).not.toContain('admins-own-browser');
  });

  it('deletes an account, keeping its audit trail attributed to a deleted user', async () => {
    const user = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82002', role: 'editor' }],
    });
    const browser = agent();
    await signInAs(browser, user);
    const refused = await browser.post('/account/delete', { password: 'wrong' });
    expect(refused.statusCode).toBe(400);
    const deleted = await browser.post('/account/delete', { password: user.password });
    expect(deleted.body).toContain('Your account has been deleted');
    const row = await testApp.services.accounts.findUserById(user.id);
    expect(row).toMatchObject({
      email: null,
      display_name: 'Deleted user',
      password_hash: null,
      status: 'deleted',
    });
    expect((await testApp.services.audit.findForUser(user.id)).length).toBeGreaterThan(2);
    // Each organisation it belonged to sees the member go in its own audit log.
    const left = (await testApp.services.audit.findForUser(user.id)).filter(
      (event) => event.action === 'membership.removed',
    );
    expect(
      left.map((event) => [event.organisation_code, JSON.parse(String(event.details))]),
    ).toEqual([['C82002', { role: 'editor', reason: 'account_deleted' }]]);
    expect(
      (await agent().post('/sign-in', { email: user.email, password: user.password })).statusCode,
    ).toBe(400);
    expect((await browser.get('/account')).statusCode).toBe(303);
  });

  it('deletes an account whose id begins as a deleted account’s does', async () => {
    clock = new Date(Date.UTC(2020, 0, 7, 10, 5, 1));
    const first = await buildUser(testApp.services);
    const second = await buildUser(testApp.services);
    for (const user of [first, second]) {
      const browser = agent();
      await signInAs(browser, user);
      if (user === second) {
        // As if the first account's id had begun with the same eight characters as the second's.
        await testApp.services.database.db
          .updateTable('users')
          .set({ handle: `deleted-${second.id.slice(0, 8)}` })
          .where('id', '=', first.id)
          .execute();
      }
      const deleted = await browser.post('/account/delete', { password: user.password });
      expect(deleted.statusCode).toBe(200);
      expect(deleted.body).toContain('Your account has been deleted');
    }
    expect(await testApp.services.accounts.findUserById(second.id)).toMatchObject({
      status: 'deleted',
      handle: `deleted-${second.id}`,
    });
  });

  it('keeps an account that alone runs an organisation or a workspace until someone else is given it', async () => {
    // Sign-ins in a minute long past of their own, clear of this address's per-minute limit.
    clock = new Date(Date.UTC(2020, 0, 7, 10, 3, 1));
    const workspace = await createPrivateWorkspace(testApp.services, `handover-${Date.now()}`);
    const user = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82011', role: 'org_admin' }],
      workspaces: [{ slug: workspace.slug, role: 'manager' }],
      // Deleting an account is open before two-factor set-up; codes would follow the real clock.
      twoFactor: false,
    });
    const browser = agent();
    await signInAs(browser, user);
    const page = await browser.get('/account/delete');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Hand over first');
    expect(page.body).toContain('href="/organisations/C82011/members"');
    expect(page.body).toContain(`href="/workspaces/${workspace.slug}/members"`);
    expect(page.body).not.toContain('name="password"');

    const refused = await browser.post('/account/delete', { password: user.password });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('href="#handovers"');
    expect(refused.body).toContain('id="handovers"');
    expect(refused.body).toContain('Give someone else what only you run');
    expect((await testApp.services.accounts.findUserById(user.id))?.status).toBe('active');

    const otherAdmin = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82011', role: 'org_admin' }],
      twoFactor: false,
    });
    await testApp.services.database.db
      .transaction()
      .execute((trx) =>
        testApp.services.workspaces.addMember(trx, workspace.id, otherAdmin.id, 'manager'),
      );
    expect((await browser.get('/account/delete')).body).toContain('name="password"');
    const deleted = await browser.post('/account/delete', { password: user.password });
    expect(deleted.body).toContain('Your account has been deleted');
  });

  it('stores only the hash of session tokens', async () => {
    const user = await buildUser(testApp.services);
    const browser = agent();
    await signInAs(browser, user);
    const token = browser.sessionCookie()!;
    const resolved = await testApp.services.auth.resolveSession(token);
    expect(resolved?.session.id).toBe(sha256Hex(token));
    expect(resolved?.session.id).not.toContain(token);
  });
});
