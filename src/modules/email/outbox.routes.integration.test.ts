import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopbackAddress } from '../../web/authentication.ts';
import { createOutboxTransport } from './mail-transport.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';

/**
 * The outbox page lists every emailed link, password links included, so it is for the machine
 * the service runs on only: never in production, and never to another machine.
 */
describe('the outbox page', () => {
  let outboxDir: string;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    outboxDir = await mkdtemp(path.join(os.tmpdir(), 'greenspace-outbox-'));
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await rm(outboxDir, { recursive: true, force: true });
  });

  async function appIn(environment: 'development' | 'production') {
    const testApp = await createTestApp('sqlite', {
      configOverrides: {
        environment,
        email: {
          smtpUrl: undefined,
          from: 'Greenspace <t@example.nhs.uk>',
          outboxDir,
          workerIntervalMs: 5000,
        },
      },
    });
    apps.push(testApp);
    return testApp;
  }

  it('answers on this machine outside production, and is not found from another or in production', async () => {
    const development = await appIn('development');
    await createOutboxTransport(outboxDir, 'Greenspace <t@example.nhs.uk>').send({
      id: 'outbox-test-1',
      to: 'someone@example.nhs.uk',
      subject: 'A link to choose a password',
      text: 'Choose a password: http://localhost:3000/set-password?token=abc',
    });
    const local = await development.app.inject({ method: 'GET', url: '/dev/outbox' });
    expect(local.statusCode).toBe(200);
    expect(local.body).toContain('A link to choose a password');
    for (const remoteAddress of ['10.1.2.3', '192.168.0.9', '2001:db8::1', '::ffff:10.0.0.1']) {
      const remote = await development.app.inject({
        method: 'GET',
        url: '/dev/outbox',
        remoteAddress,
      });
      expect(remote.statusCode, remoteAddress).toBe(404);
      expect(remote.body).not.toContain('A link to choose a password');
    }
    // A proxy's word for the address is not taken: only the connection's own counts.
    const forwarded = await development.app.inject({
      method: 'GET',
      url: '/dev/outbox',
      remoteAddress: '10.1.2.3',
      headers: { 'x-forwarded-for': '127.0.0.1' },
    });
    expect(forwarded.statusCode).toBe(404);

    const production = await appIn('production');
    expect((await production.app.inject({ method: 'GET', url: '/dev/outbox' })).statusCode).toBe(
      404,
    );
  });

  it('tells this machine from others by the connection’s address', () => {
    for (const address of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1'])
      expect(isLoopbackAddress(address), address).toBe(true);
    for (const address of [undefined, '', '10.0.0.1', '::ffff:10.0.0.1', '1127.0.0.1', '::2'])
      expect(isLoopbackAddress(address), String(address)).toBe(false);
  });
});
