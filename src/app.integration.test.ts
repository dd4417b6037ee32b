import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpAgent } from '../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../test/support/test-app.ts';
import { createTestDatabase, testDialects } from '../test/support/test-database.ts';
import { loadConfig } from './config.ts';
import { startServer } from './server.ts';

describe.each(testDialects)('the web application on %s', (dialect) => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp(dialect);
    testApp.app.get('/__test/fail', { config: { access: 'public' } }, async () => {
      throw new Error('secret internal detail at /srv/app/src/thing.ts:42');
    });
    // A second row with a key already taken, as when two people save the same thing at once.
    testApp.app.get('/__test/duplicate', { config: { access: 'public' } }, async () => {
      const { db } = testApp.services.database;
      const row = await db
        .selectFrom('organisations')
        .selectAll()
        .where('code', '=', 'QK1')
        .executeTakeFirstOrThrow();
      await db.insertInto('organisations').values(row).execute();
    });
  });

  afterAll(async () => {
    await testApp.close();
  });

  const get = (url: string, headers: Record<string, string> = {}) =>
    testApp.app.inject({ method: 'GET', url, headers });

  it('says the process is up and the database reachable', async () => {
    const health = await get('/healthz');
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    const ready = await get('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
    expect(ready.headers['cache-control']).toBe('no-store');
  });

  it('refuses a NUL character in a parameter or a form field with a 400 on either database', async () => {
    const search = await get('/search?q=net%00zero');
    expect(search.statusCode).toBe(400);
    expect(search.body).toContain('holds a character that cannot be saved');
    expect(search.body).toContain('There is a problem with the web address');
    const browser = new HttpAgent(testApp.app);
    await browser.get('/sign-in');
    const signIn = await browser.post('/sign-in', {
      email: 'someone\u0000@example.nhs.net',
      password: 'whatever it is',
    });
    expect(signIn.statusCode).toBe(400);
    expect(signIn.body).toContain('The &quot;email&quot; field holds a character');
    // A form's field is not the address, and the page says so.
    expect(signIn.body).toContain('<h1>What you sent could not be accepted</h1>');
    expect(signIn.body).not.toContain('problem with the web address');
  });

  it('sends security headers with a fresh script nonce on every page', async () => {
    const first = await get('/');
    const second = await get('/');
    const csp = String(first.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("base-uri 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    const nonce = /script-src 'self' 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(first.body).toContain(`nonce="${nonce}"`);
    expect(second.headers['content-security-policy']).not.toBe(csp);
    expect(first.headers['x-content-type-options']).toBe('nosniff');
    expect(first.headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
    expect(first.headers['strict-transport-security']).toContain('max-age=31536000');
    expect(first.headers['content-type']).toBe('text/html; charset=utf-8');
  });

  it('gives every response a request id, keeping a well-formed one only from a trusted proxy', async () => {
    const generated = await get('/healthz');
    expect(String(generated.headers['x-request-id'])).toMatch(/^[0-9a-f-]{36}$/);
    // Not behind a trusted proxy: a client cannot choose the reference its error page shows.
    const chosen = await get('/healthz', { 'x-request-id': 'proxy-abc-12345' });
    expect(String(chosen.headers['x-request-id'])).toMatch(/^[0-9a-f-]{36}$/);
    const behindProxy = await createTestApp(dialect, { configOverrides: { trustProxy: true } });
    try {
      const forwarded = await behindProxy.app.inject({
        method: 'GET',
        url: '/healthz',
        headers: { 'x-request-id': 'proxy-abc-12345' },
      });
      expect(forwarded.headers['x-request-id']).toBe('proxy-abc-12345');
      const hostile = await behindProxy.app.inject({
        method: 'GET',
        url: '/healthz',
        headers: { 'x-request-id': '<script>' },
      });
      expect(hostile.headers['x-request-id']).not.toBe('<script>');
    } finally {
      await behindProxy.close();
    }
  });

  it('answers an unknown address with the NHS-style not found page', async () => {
    const response = await get('/no/such/page');
    expect(response.statusCode).toBe(404);
    expect(response.body).toContain('<h1>Page not found</h1>');
    expect(response.body).toContain('nhsuk-header');
  });

  it('answers a form too large, or a body it cannot read, with a page saying so and nothing saved', async () => {
    const tooLarge = await testApp.app.inject({
      method: 'POST',
      url: '/sign-in',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `email=${'a'.repeat(1024 * 1024)}`,
    });
    expect(tooLarge.statusCode).toBe(413);
    expect(tooLarge.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(tooLarge.body).toContain('<h1>What you sent is too large</h1>');
    expect(tooLarge.body).toContain('none of it was saved');
    const unreadable = await testApp.app.inject({
      method: 'POST',
      url: '/sign-in',
      headers: { 'content-type': 'application/json' },
      payload: '{"email": ',
    });
    expect(unreadable.statusCode).toBe(400);
    expect(unreadable.body).toContain('<h1>What you sent could not be read</h1>');
    // A multipart body without its boundary is the sender's fault too, not a fault of ours.
    const noBoundary = await testApp.app.inject({
      method: 'POST',
      url: '/sign-in',
      headers: { 'content-type': 'multipart/form-data' },
      payload: 'x',
    });
    expect(noBoundary.statusCode).toBe(400);
    expect(noBoundary.body).toContain('<h1>What you sent could not be read</h1>');
  });

  it('keeps pages opened by an emailed link out of shared caches, and shows no one a confirmation that is not theirs', async () => {
    const invitation = await get('/invitations/accept?token=aaaaaaaaaaaaaaaaaaaaaaaa');
    expect(invitation.headers['cache-control']).toBe('no-store');
    const reset = await get('/reset-password?token=aaaaaaaaaaaaaaaaaaaaaaaa');
    expect(reset.headers['cache-control']).toBe('no-store');
    // A signed-out visitor sent a crafted link is not told they joined or asked to join.
    for (const query of ['joined=1', 'requested=1']) {
      const page = await get(`/organisations/QK1?${query}`);
      expect(page.statusCode).toBe(200);
      expect(page.body).not.toContain('You are now a member');
      expect(page.body).not.toContain('Your request has been sent');
    }
  });

  it('answers a write a concurrent one got to first with 409 and a page saying to try again', async () => {
    const response = await get('/__test/duplicate');
    expect(response.statusCode).toBe(409);
    expect(response.body).toContain('This was changed at the same time');
    expect(response.body).toContain('nothing you entered was saved');
    // A reference that matches the warning in the log, as on the fault page.
    expect(response.body).toContain(
      `quote this reference: <strong>${String(response.headers['x-request-id'])}</strong>`,
    );
    // The database's own words stay in the log.
    expect(response.body).not.toMatch(/UNIQUE|duplicate key|constraint/i);
  });

  it('answers a fault with a generic page that leaks nothing but a reference', async () => {
    const response = await get('/__test/fail');
    expect(response.statusCode).toBe(500);
    expect(response.body).toContain('Sorry, there is a problem with the service');
    expect(response.body).toContain(String(response.headers['x-request-id']));
    expect(response.body).not.toContain('secret internal detail');
    expect(response.body).not.toContain('thing.ts');
  });

  it('serves the compiled stylesheet and the NHS.UK frontend assets locally', async () => {
    const css = await get('/assets/greenspace.css');
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toContain('text/css');
    expect(css.body).not.toMatch(/https?:\/\//);
    expect((await get('/assets/nhsuk-frontend.min.js')).statusCode).toBe(200);
    expect((await get('/assets/images/favicon.ico')).statusCode).toBe(200);
    expect((await get('/assets/manifest.json')).statusCode).toBe(200);
  });

  it('renders the information pages', async () => {
    for (const [url, heading] of [
      ['/accessibility', 'Accessibility statement for Greenspace'],
      ['/privacy', 'Privacy and cookies'],
      ['/areas-of-focus', 'Green Plan areas of focus'],
    ]) {
      const response = await get(url!);
      expect(response.statusCode, url).toBe(200);
      expect(response.body, url).toContain(`<h1>${heading}</h1>`);
    }
  });
});

describe('readiness when the database goes away', () => {
  it.runIf(testDialects.includes('postgres'))(
    'reports 503 while PostgreSQL refuses connections and recovers without a restart',
    async () => {
      const testApp = await createTestApp('postgres');
      const adminUrl = process.env.TEST_DATABASE_URL!;
      const name = new URL(
        testApp.database.config.kind === 'postgres' ? testApp.database.config.connectionString : '',
      ).pathname.slice(1);
      const { adminQuery } = await import('../test/support/test-database.ts');
      try {
        expect((await testApp.app.inject('/readyz')).statusCode).toBe(200);
        await adminQuery(adminUrl, `alter database "${name}" allow_connections false`);
        await adminQuery(
          adminUrl,
          `select pg_terminate_backend(pid) from pg_stat_activity where datname = '${name}'`,
        );

        const down = await testApp.app.inject('/readyz');
        expect(down.statusCode).toBe(503);
        expect(down.json()).toEqual({ status: 'unavailable', reason: 'database unreachable' });
        const page = await testApp.app.inject('/organisations');
        expect(page.statusCode).toBe(503);
        expect(page.body).toContain('Sorry, the service is unavailable');
        // The JSON API answers in JSON, as it does when all is well.
        const api = await testApp.app.inject('/api/prescribing/months');
        expect(api.statusCode).toBe(503);
        expect(api.headers['retry-after']).toBe('30');
        expect(api.json()).toEqual({ error: 'Service unavailable' });

        await adminQuery(adminUrl, `alter database "${name}" allow_connections true`);
        expect((await testApp.app.inject('/readyz')).statusCode).toBe(200);
        expect((await testApp.app.inject('/organisations')).statusCode).toBe(200);
      } finally {
        await adminQuery(adminUrl, `alter database "${name}" allow_connections true`);
        await testApp.close();
      }
    },
  );

  it('reports 503 when the SQLite database can no longer be used', async () => {
    const testApp = await createTestApp('sqlite');
    expect((await testApp.app.inject('/readyz')).statusCode).toBe(200);
    await testApp.database.handle.close();
    expect((await testApp.app.inject('/readyz')).statusCode).toBe(503);
    const api = await testApp.app.inject('/api/prescribing/months');
    expect(api.statusCode).toBe(503);
    expect(api.json()).toEqual({ error: 'Service unavailable' });
    await testApp.app.close();
  });
});

describe('graceful shutdown', () => {
  it('lets an in-flight request finish, then stops', async () => {
    const database = await createTestDatabase('sqlite');
    let releaseRequest!: () => void;
    let requestStarted!: () => void;
    const started = new Promise<void>((resolve) => (requestStarted = resolve));
    const server = await startServer(
      {
        ...loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }),
        host: '127.0.0.1',
        port: 0,
        database: database.config,
      },
      {
        logger: false,
        database: database.handle,
        extendApp: (app) =>
          app.get('/__test/slow', { config: { access: 'public' } }, async () => {
            requestStarted();
            await new Promise<void>((resolve) => (releaseRequest = resolve));
            return { finished: true };
          }),
      },
    );
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get(`${server.url}/__test/slow`, (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
    await started;
    let stopped = false;
    const shutdown = server.shutdown('test').then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stopped).toBe(false);
    releaseRequest();
    expect(await response).toEqual({ status: 200, body: '{"finished":true}' });
    await shutdown;
    expect(stopped).toBe(true);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    await database.destroy();
  });
});
