import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorFor, buildUser, type TestUser } from '../../../test/support/factories.ts';
import { HttpAgent, signInAs } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';

const context = { ip: '127.0.0.1', userAgent: 'home-tests' };
const LLR_NAME = 'Leicester, Leicestershire and Rutland Green Plan';
const MIDLANDS_NAME = 'Midlands Greener NHS Futures';

describe.each(testDialects)('the home page on %s', (dialect) => {
  let testApp: TestApp;
  let manager: TestUser;

  beforeAll(async () => {
    testApp = await createTestApp(dialect);
    manager = await buildUser(testApp.services, {
      workspaces: [
        { slug: 'llr', role: 'manager' },
        { slug: 'midlands', role: 'manager' },
      ],
    });
  });

  afterAll(async () => {
    await testApp.close();
  });

  async function makePrivate(slug: string): Promise<void> {
    const workspace = await testApp.services.workspaces.findBySlug(slug);
    await testApp.services.discussions.updateSettings(
      await actorFor(testApp.services, manager.id),
      slug,
      { description: workspace!.description, privacy: 'private' },
      context,
    );
  }

  async function homeAs(user: TestUser | null): Promise<string> {
    const browser = new HttpAgent(testApp.app);
    if (user) await signInAs(browser, user);
    const page = await browser.get('/');
    expect(page.statusCode).toBe(200);
    return page.body;
  }

  it('names and links only the workspaces the visitor may read', async () => {
    const before = await homeAs(null);
    expect(before).toContain('href="/workspaces/llr"');
    expect(before).toContain('href="/workspaces/midlands"');

    await makePrivate('llr');

    const anonymous = await homeAs(null);
    expect(anonymous).not.toContain('/workspaces/llr');
    expect(anonymous).not.toContain(LLR_NAME);
    expect(anonymous).not.toContain('LLR Green Plan workspace');
    expect(anonymous).toContain('href="/workspaces/midlands"');

    const outsider = await homeAs(await buildUser(testApp.services));
    expect(outsider).not.toContain('/workspaces/llr');
    expect(outsider).not.toContain(LLR_NAME);

    const member = await homeAs(
      await buildUser(testApp.services, { workspaces: [{ slug: 'llr' }] }),
    );
    expect(member).toContain('href="/workspaces/llr"');
    expect(member).toContain(LLR_NAME);
    expect(member).toContain('href="/workspaces/midlands"');
  });

  it('invites to the list of workspaces when none it features may be read', async () => {
    await makePrivate('llr');
    await makePrivate('midlands');

    const anonymous = await homeAs(null);
    expect(anonymous).not.toContain('/workspaces/llr');
    expect(anonymous).not.toContain('/workspaces/midlands');
    expect(anonymous).not.toContain(MIDLANDS_NAME);
    expect(anonymous).toContain('<a href="/workspaces">Join the conversation in a workspace</a>');
  });
});
