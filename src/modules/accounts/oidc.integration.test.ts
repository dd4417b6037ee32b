import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUser } from '../../../test/support/factories.ts';
import { HttpAgent, signInAs } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';

const PUBLIC_URL = 'http://greenspace.test';
const CALLBACK = `${PUBLIC_URL}/auth/oidc/callback`;

/**
 * A real OpenID provider on a loopback port (the oidc-provider package, with its development
 * login and consent screens), and a tiny browser for its pages: Greenspace's own pages go through
 * app.inject, the provider's through fetch, each with its own cookies.
 */
async function startProvider() {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const emails = new Map<string, string>();
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'greenspace',
        client_secret: 'greenspace-secret',
        redirect_uris: [CALLBACK],
        response_types: ['code'],
        grant_types: ['authorization_code'],
      },
      {
        client_id: 'another-service',
        client_secret: 'another-secret',
        redirect_uris: [CALLBACK],
        response_types: ['code'],
        grant_types: ['authorization_code'],
      },
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    findAccount: async (_context, id) => ({
      accountId: id,
      claims: async () => ({
        sub: id,
        email: emails.get(id) ?? `${id}@nhs.net`,
        email_verified: true,
        name: `Pat ${id}`,
      }),
    }),
    cookies: { keys: ['test-cookie-key-one', 'test-cookie-key-two'] },
    features: { devInteractions: { enabled: true } },
  });
  provider.on('server_error', () => {});
  /** While true, the provider's userinfo endpoint answers 503, as a provider having a bad day. */
  const userInfo = { failing: false };
  const handle = provider.callback();
  server.on('request', (request, response) => {
    if (userInfo.failing && request.url?.startsWith('/me')) {
      response.writeHead(503, { 'content-type': 'text/plain' }).end('unavailable');
      return;
    }
    handle(request, response);
  });
  return {
    issuer,
    emails,
    userInfo,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Walks the provider's login and consent screens as `login`, returning where it finally redirects. */
async function authenticateAtProvider(authorizationUrl: string, login: string): Promise<string> {
  const jar = new Map<string, string>();
  const request = async (url: string, init: RequestInit = {}) => {
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
      },
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const [name, ...value] = pair!.split('=');
      jar.set(name!.trim(), value.join('='));
    }
    return response;
  };
  let url = authorizationUrl;
  for (let step = 0; step < 12; step++) {
    const response = await request(url);
    if (response.status >= 300 && response.status < 400) {
      const location = new URL(response.headers.get('location')!, url).toString();
      if (location.startsWith(PUBLIC_URL)) return location;
      url = location;
      continue;
    }
    const html = await response.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
    if (!action || !prompt)
      throw new Error(`Unexpected provider page at ${url}: ${html.slice(0, 300)}`);
    const body = new URLSearchParams(
      prompt === 'login' ? { prompt, login, password: 'any' } : { prompt },
    );
    const submitted = await request(new URL(action, url).toString(), {
      method: 'POST',
      body: body.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    url = new URL(submitted.headers.get('location')!, url).toString();
  }
  throw new Error('The provider did not finish');
}

/** Starts single sign-on at Greenspace and returns the provider's authorisation address. */
async function startSignIn(
  browser: HttpAgent,
  path = '/sign-in/sso?returnTo=/account',
): Promise<string> {
  const start = await browser.get(path);
  expect(start.statusCode).toBe(303);
  return String(start.headers.location);
}

async function finishAtGreenspace(browser: HttpAgent, callback: string) {
  const url = new URL(callback);
  return browser.get(`${url.pathname}${url.search}`);
}

describe('single sign-on with OpenID Connect', () => {
  let provider: Awaited<ReturnType<typeof startProvider>>;
  let testApp: TestApp;

  beforeAll(async () => {
    provider = await startProvider();
    testApp = await createTestApp('sqlite', {
      configOverrides: {
        publicUrl: PUBLIC_URL,
        oidc: {
          issuer: provider.issuer,
          clientId: 'greenspace',
          clientSecret: 'greenspace-secret',
          displayName: 'NHSmail',
          allowHttp: true,
        },
      },
    });
  });

  afterAll(async () => {
    await testApp?.close();
    await provider?.close();
  });

  it('offers single sign-on on the sign-in page', async () => {
    const page = await new HttpAgent(testApp.app).get('/sign-in');
    expect(page.body).toContain('Sign in with NHSmail');
  });

  it('creates an account on first sign-in and matches later sign-ins by issuer and subject', async () => {
    const browser = new HttpAgent(testApp.app);
    const authorizationUrl = await startSignIn(browser);
    const authorization = new URL(authorizationUrl);
    expect(authorization.origin).toBe(provider.issuer);
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorization.searchParams.get('nonce')).toBeTruthy();
    expect(authorization.searchParams.get('state')).toBeTruthy();

    const callback = await authenticateAtProvider(authorizationUrl, 'pat-001');
    const done = await finishAtGreenspace(browser, callback);
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe('/account');
    const account = await browser.get('/account');
    expect(account.statusCode).toBe(200);
    expect(account.body).toContain('pat-001@nhs.net');
    const user = await testApp.services.accounts.findUserByEmail('pat-001@nhs.net');
    expect(user?.email_verified_at).not.toBeNull();
    expect(user?.password_hash).toBeNull();

    // The provider now reports a different email: the same subject still finds the same account.
    provider.emails.set('pat-001', 'pat.renamed@nhs.net');
    const again = new HttpAgent(testApp.app);
    const second = await finishAtGreenspace(
      again,
      await authenticateAtProvider(await startSignIn(again), 'pat-001'),
    );
    expect(second.statusCode).toBe(303);
    expect((await again.get('/account')).body).toContain('pat-001@nhs.net');
  });

  it('refuses a callback whose state was tampered with, and creates no session', async () => {
    const browser = new HttpAgent(testApp.app);
    const callback = new URL(await authenticateAtProvider(await startSignIn(browser), 'pat-002'));
    callback.searchParams.set('state', 'forged-state-value');
    const response = await finishAtGreenspace(browser, callback.toString());
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('Single sign-on did not work');
    expect(browser.sessionCookie()).toBeUndefined();
    expect(await testApp.services.accounts.findUserByEmail('pat-002@nhs.net')).toBeUndefined();
  });

  it('refuses a callback that this browser did not start (no flow cookie)', async () => {
    const starter = new HttpAgent(testApp.app);
    const callback = await authenticateAtProvider(await startSignIn(starter), 'pat-003');
    const victim = new HttpAgent(testApp.app);
    const response = await finishAtGreenspace(victim, callback);
    expect(response.statusCode).toBe(400);
    expect(victim.sessionCookie()).toBeUndefined();
  });

  it('refuses an authorisation code issued to another client (code injection)', async () => {
    const browser = new HttpAgent(testApp.app);
    const ours = new URL(await startSignIn(browser));
    // Someone else's sign-in at another service, whose code is slipped into our callback.
    const theirs = new URL(ours);
    theirs.searchParams.set('client_id', 'another-service');
    const injected = new URL(await authenticateAtProvider(theirs.toString(), 'pat-004'));
    const forged = new URL(CALLBACK);
    forged.searchParams.set('code', injected.searchParams.get('code')!);
    forged.searchParams.set('state', ours.searchParams.get('state')!);
    forged.searchParams.set('iss', provider.issuer);
    const response = await finishAtGreenspace(browser, forged.toString());
    expect(response.statusCode).toBe(400);
    expect(browser.sessionCookie()).toBeUndefined();
  });

  it('tells the person and audits it when the provider cannot say who they are', async () => {
    const browser = new HttpAgent(testApp.app);
    const callback = await authenticateAtProvider(await startSignIn(browser), 'pat-010');
    provider.userInfo.failing = true;
    let response;
    try {
      response = await finishAtGreenspace(browser, callback);
    } finally {
      provider.userInfo.failing = false;
    }
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('Single sign-on did not work');
    expect(response.body).toContain('The sign-in service did not say who you are');
    expect(browser.sessionCookie()).toBeUndefined();
    expect(await testApp.services.accounts.findUserByEmail('pat-010@nhs.net')).toBeUndefined();
    const failures = await testApp.services.database.db
      .selectFrom('audit_events')
      .select(['outcome', 'details'])
      .where('action', '=', 'auth.sign_in')
      .where('details', 'like', '%did not say who you are%')
      .execute();
    expect(failures).toHaveLength(1);
    expect(failures[0]!.outcome).toBe('failure');
  });

  it('refuses to reuse an authorisation code', async () => {
    const browser = new HttpAgent(testApp.app);
    const callback = await authenticateAtProvider(await startSignIn(browser), 'pat-005');
    expect((await finishAtGreenspace(browser, callback)).statusCode).toBe(303);
    const replayer = new HttpAgent(testApp.app);
    await startSignIn(replayer);
    expect((await finishAtGreenspace(replayer, callback)).statusCode).toBe(400);
    expect(replayer.sessionCookie()).toBeUndefined();
  });

  it('refuses, and audits, linking an identity that another account already signs in with', async () => {
    const first = new HttpAgent(testApp.app);
    expect(
      (
        await finishAtGreenspace(
          first,
          await authenticateAtProvider(await startSignIn(first), 'pat-011'),
        )
      ).statusCode,
    ).toBe(303);
    const local = await buildUser(testApp.services);
    const owner = new HttpAgent(testApp.app);
    await signInAs(owner, local);
    const linkStart = await owner.post('/account/sso/link', { password: local.password });
    expect(linkStart.statusCode).toBe(303);
    const refused = await finishAtGreenspace(
      owner,
      await authenticateAtProvider(String(linkStart.headers.location), 'pat-011'),
    );
    expect(refused.statusCode).toBe(400);
    expect((await owner.get('/account')).body).not.toContain('Linked to pat-011@nhs.net');
    const events = await testApp.services.database.db
      .selectFrom('audit_events')
      .select(['outcome', 'details', 'target_id'])
      .where('action', '=', 'auth.sso_linked')
      .where('actor_user_id', '=', local.id)
      .execute();
    expect(events).toEqual([
      {
        outcome: 'failure',
        details: JSON.stringify({ reason: 'identity_linked_to_another_account' }),
        target_id: local.id,
      },
    ]);
  });

  it('does not take over a local account that has the same email; the owner links it from their account', async () => {
    const local = await buildUser(testApp.services, { email: 'pat-006@nhs.net' });
    const stranger = new HttpAgent(testApp.app);
    const response = await finishAtGreenspace(
      stranger,
      await authenticateAtProvider(await startSignIn(stranger), 'pat-006'),
    );
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('already has a Greenspace account');
    expect(stranger.sessionCookie()).toBeUndefined();

    const owner = new HttpAgent(testApp.app);
    await signInAs(owner, local);
    // Linking asks for the password first: a session alone cannot add a way in.
    const linkPage = await owner.get('/account/sso/link');
    expect(linkPage.statusCode).toBe(200);
    expect(linkPage.body).toContain('Link your NHSmail account');
    const wrong = await owner.post('/account/sso/link', { password: 'not the password' });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.body).toContain('href="#password"');
    const linkStart = await owner.post('/account/sso/link', { password: local.password });
    expect(linkStart.statusCode).toBe(303);
    const linked = await finishAtGreenspace(
      owner,
      await authenticateAtProvider(String(linkStart.headers.location), 'pat-006'),
    );
    expect(linked.headers.location).toBe('/account');
    const accountPage = (await owner.get('/account')).body;
    expect(accountPage).toContain('Linked to pat-006@nhs.net');
    // The owner is told by email.
    const told = async (subject: string) =>
      (await testApp.services.email.findByRecipient(local.email)).filter((message) =>
        message.subject.includes(subject),
      );
    expect(await told('Single sign-on was linked')).toHaveLength(1);

    const later = new HttpAgent(testApp.app);
    expect(
      (
        await finishAtGreenspace(
          later,
          await authenticateAtProvider(await startSignIn(later), 'pat-006'),
        )
      ).statusCode,
    ).toBe(303);
    const account = await later.get('/account');
    expect(account.body).toContain(local.displayName);

    // Unlinked from the account page, with the password; then single sign-on no longer signs in.
    const unlinkPath = /href="(\/account\/sso\/[0-9a-f-]{36}\/unlink)"/.exec(accountPage)![1]!;
    expect((await owner.get(unlinkPath)).body).toContain('Unlink pat-006@nhs.net');
    expect((await owner.post(unlinkPath, { password: 'wrong' })).statusCode).toBe(400);
    const unlinked = await owner.post(unlinkPath, { password: local.password });
    expect(unlinked.headers.location).toBe('/account?updated=sso-unlinked');
    expect((await owner.get('/account')).body).not.toContain('Linked to pat-006@nhs.net');
    expect(await told('Single sign-on was unlinked')).toHaveLength(1);
    expect((await owner.post(unlinkPath, { password: local.password })).statusCode).toBe(404);
    const afterwards = new HttpAgent(testApp.app);
    const refused = await finishAtGreenspace(
      afterwards,
      await authenticateAtProvider(await startSignIn(afterwards), 'pat-006'),
    );
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('already has a Greenspace account');
    // Someone else's link is not found.
    const other = new HttpAgent(testApp.app);
    await signInAs(other, await buildUser(testApp.services));
    expect((await other.get(unlinkPath)).statusCode).toBe(404);
  });

  it('deletes an account that has no password only soon after a sign-in with single sign-on', async () => {
    const browser = new HttpAgent(testApp.app);
    await finishAtGreenspace(
      browser,
      await authenticateAtProvider(await startSignIn(browser), 'pat-008'),
    );
    const page = await browser.get('/account/delete');
    expect(page.body).not.toContain('name="password"');
    expect(page.body).toContain('within 10 minutes of signing in');
    // A session signed in to 20 minutes ago, as one left open on a shared computer would be.
    const user = (await testApp.services.accounts.findUserByEmail('pat-008@nhs.net'))!;
    const earlier = new Date(Date.now() - 20 * 60_000).toISOString();
    await testApp.services.database.db
      .updateTable('sessions')
      .set({ created_at: earlier })
      .where('user_id', '=', user.id)
      .execute();
    const stale = await browser.post('/account/delete', {});
    expect(stale.statusCode).toBe(400);
    expect(stale.body).toContain('sign in again with single sign-on');
    expect(stale.body).toContain('href="#password"');
    expect((await testApp.services.accounts.findUserById(user.id))?.status).toBe('active');
    // Signed in again, it goes.
    const again = new HttpAgent(testApp.app);
    await finishAtGreenspace(
      again,
      await authenticateAtProvider(await startSignIn(again), 'pat-008'),
    );
    expect((await again.post('/account/delete', {})).body).toContain(
      'Your account has been deleted',
    );
    expect((await testApp.services.accounts.findUserById(user.id))?.status).toBe('deleted');
  });

  it('does not unlink the only way in of someone who signs in only with single sign-on', async () => {
    const browser = new HttpAgent(testApp.app);
    await finishAtGreenspace(
      browser,
      await authenticateAtProvider(await startSignIn(browser), 'pat-007'),
    );
    const page = await browser.get('/account');
    const unlinkPath = /href="(\/account\/sso\/[0-9a-f-]{36}\/unlink)"/.exec(page.body)![1]!;
    const asked = await browser.get(unlinkPath);
    expect(asked.body).toContain('Set a password first');
    expect(asked.body).not.toContain('name="password"');
    const refused = await browser.post(unlinkPath, {});
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('You sign in only with single sign-on');
    expect((await browser.get('/account')).body).toContain('Linked to pat-007@nhs.net');

    // With no password to ask for, linking another identity needs a recent sign-in.
    const linkPage = await browser.get('/account/sso/link');
    expect(linkPage.body).not.toContain('name="password"');
    expect(linkPage.body).toContain('within 10 minutes of signing in');
    expect((await browser.post('/account/sso/link', {})).statusCode).toBe(303);
    const user = (await testApp.services.accounts.findUserByEmail('pat-007@nhs.net'))!;
    await testApp.services.database.db
      .updateTable('sessions')
      .set({ created_at: new Date(Date.now() - 20 * 60_000).toISOString() })
      .where('user_id', '=', user.id)
      .execute();
    const stale = await browser.post('/account/sso/link', {});
    expect(stale.statusCode).toBe(400);
    expect(stale.body).toContain('sign in again with single sign-on, then link another account');
    expect(stale.body).toContain('href="#password"');
  });
});

describe('single sign-on with a provider whose issuer does not match the configuration', () => {
  it('refuses to sign in', async () => {
    const provider = await startProvider();
    const wrongIssuer = provider.issuer.replace('127.0.0.1', 'localhost');
    const testApp = await createTestApp('sqlite', {
      configOverrides: {
        publicUrl: PUBLIC_URL,
        oidc: {
          issuer: wrongIssuer,
          clientId: 'greenspace',
          clientSecret: 'greenspace-secret',
          displayName: 'NHSmail',
          allowHttp: true,
        },
      },
    });
    try {
      const response = await new HttpAgent(testApp.app).get('/sign-in/sso');
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain('Single sign-on did not work');
    } finally {
      await testApp.close();
      await provider.close();
    }
  });
});
