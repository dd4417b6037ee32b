import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  actorFor,
  buildUser,
  contentInput,
  currentTotp,
  type TestUser,
} from '../../../test/support/factories.ts';
import { browsersFor, type HttpAgent } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';
import type { ContentType } from './content-types.ts';
import type { ContentInput } from './content.service.ts';

const context = { ip: '127.0.0.1', userAgent: 'content form tests' };

/** The revision an edit form was opened at, from its hidden field. */
function openedRevisionOf(html: string): string {
  const match = /<input type="hidden" name="revision" value="(\d+)">/.exec(html);
  if (!match) throw new Error('The form carries no revision');
  return match[1]!;
}

describe.each(testDialects)('the content authoring forms on %s', (dialect) => {
  let testApp: TestApp;
  let editor: TestUser;
  let colleague: TestUser;
  const as = browsersFor<TestUser>(
    () => testApp.app,
    (user) => currentTotp(user),
  );

  async function create(
    user: TestUser,
    type: ContentType,
    values: Partial<ContentInput>,
    publish = true,
  ) {
    const actor = await actorFor(testApp.services, user.id);
    const item = await testApp.services.content.create(actor, type, contentInput(values), context);
    if (publish) await testApp.services.content.publish(actor, item.id, context);
    return item;
  }

  async function stored(id: string) {
    return testApp.services.database.db
      .selectFrom('content_items')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
  }

  async function revisionNumbers(id: string) {
    const rows = await testApp.services.database.db
      .selectFrom('content_revisions')
      .select('revision_number')
      .where('content_id', '=', id)
      .orderBy('revision_number')
      .execute();
    return rows.map((row) => row.revision_number);
  }

  beforeAll(async () => {
    testApp = await createTestApp(dialect);
    editor = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82001', role: 'editor' }],
    });
    colleague = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82001', role: 'editor' }],
    });
  });

  afterAll(async () => {
    await testApp.close();
  });

  describe('a save from a form opened before someone else saved', () => {
    const fields = (values: Record<string, string>) => ({
      type: 'news',
      action: 'save',
      summary: 'Solar panels on the surgery roof.',
      body: 'The panels went up in May.',
      organisationCode: 'C82001',
      ...values,
    });

    it('is refused with 409, showing what was entered and a link to what changed, and saves nothing', async () => {
      const item = await create(editor, 'news', {
        title: 'Solar on the roof',
        summary: 'Solar panels on the surgery roof.',
        body: 'The panels went up in May.',
      });
      const mine: HttpAgent = await as(editor);
      const theirs: HttpAgent = await as(colleague);
      // Both open the edit form at the same revision.
      const myForm = await mine.get(`/content/${item.id}/edit`);
      const theirForm = await theirs.get(`/content/${item.id}/edit`);
      const opened = openedRevisionOf(myForm.body);
      expect(openedRevisionOf(theirForm.body)).toBe(opened);
      expect(opened).toBe('2');

      // The colleague tightens who may see it and saves.
      const tightened = await theirs.post(
        `/content/${item.id}`,
        fields({ title: 'Solar on the roof', privacy: 'organisation', revision: opened }),
      );
      expect(tightened.statusCode).toBe(303);
      const afterTheirs = await stored(item.id);
      expect(afterTheirs).toMatchObject({ privacy: 'organisation', revision: 3 });
      const auditsBefore = (await testApp.services.audit.findForUser(editor.id)).length;

      // The editor fixes a typo on the form they opened earlier, which still says public.
      const stale = await mine.post(
        `/content/${item.id}`,
        fields({ title: 'Solar on the roof, fixed', privacy: 'public', revision: opened }),
      );
      expect(stale.statusCode).toBe(409);
      expect(stale.body).toContain('This news was saved again after you opened this form');
      expect(stale.body).toContain('Nothing has been saved');
      expect(stale.body).toContain(`href="/content/${item.id}/revisions/compare?from=2&amp;to=3"`);
      // What they typed is on the form again, with the error summary pointing at the message.
      expect(stale.body).toContain('value="Solar on the roof, fixed"');
      expect(stale.body).toContain('href="#saved-meanwhile"');
      expect(stale.body).toContain('id="saved-meanwhile"');
      // Nothing was saved: not the typo, not the stale privacy, no revision, no audit record.
      expect(await stored(item.id)).toEqual(afterTheirs);
      expect(await revisionNumbers(item.id)).toEqual([1, 2, 3]);
      expect((await testApp.services.audit.findForUser(editor.id)).length).toBe(auditsBefore);

      // Sent again from the page it came back on, it is taken: the page said what it replaces.
      expect(openedRevisionOf(stale.body)).toBe('3');
      const again = await mine.post(
        `/content/${item.id}`,
        fields({
          title: 'Solar on the roof, fixed',
          privacy: 'organisation',
          revision: openedRevisionOf(stale.body),
        }),
      );
      expect(again.statusCode).toBe(303);
      expect(await stored(item.id)).toMatchObject({
        title: 'Solar on the roof, fixed',
        privacy: 'organisation',
        status: 'published',
        revision: 4,
      });
    });

    it('keeps the revision the form was opened at through a preview and a refused save', async () => {
      const item = await create(editor, 'news', { title: 'Kept revision' }, false);
      const browser = await as(editor);
      const opened = openedRevisionOf((await browser.get(`/content/${item.id}/edit`)).body);
      await testApp.services.content.update(
        await actorFor(testApp.services, colleague.id),
        item.id,
        contentInput({ title: 'Kept revision, by a colleague' }),
        context,
      );
      // A preview does not move the form on to the newer revision…
      const preview = await browser.post(
        `/content/${item.id}`,
        fields({ title: 'Kept revision', privacy: 'public', revision: opened, action: 'preview' }),
      );
      expect(preview.statusCode).toBe(200);
      expect(openedRevisionOf(preview.body)).toBe(opened);
      // …so its save is still refused.
      const saved = await browser.post(
        `/content/${item.id}`,
        fields({ title: 'Kept revision', privacy: 'public', revision: opened }),
      );
      expect(saved.statusCode).toBe(409);
      expect((await stored(item.id)).title).toBe('Kept revision, by a colleague');
    });

    it('is refused when the form carries no revision, or one that is not a number', async () => {
      const item = await create(editor, 'news', { title: 'No revision sent' }, false);
      const browser = await as(editor);
      for (const revision of [undefined, 'latest']) {
        const response = await browser.post(
          `/content/${item.id}`,
          fields({
            title: 'No revision sent, changed',
            privacy: 'public',
            ...(revision === undefined ? {} : { revision }),
          }),
        );
        expect(response.statusCode).toBe(400);
        expect(response.body).toContain('revision');
      }
      expect((await stored(item.id)).revision).toBe(1);
    });
  });

  describe('two saves from the same revision at once', () => {
    it('lets exactly one through; the other is told the item moved on and writes nothing', async () => {
      const item = await create(editor, 'case_study', { title: 'Racing saves' }, false);
      const [editorActor, colleagueActor] = await Promise.all([
        actorFor(testApp.services, editor.id),
        actorFor(testApp.services, colleague.id),
      ]);
      const results = await Promise.allSettled([
        testApp.services.content.update(
          editorActor,
          item.id,
          contentInput({ title: 'Racing saves, by the editor' }),
          context,
          { openedRevision: 1 },
        ),
        testApp.services.content.update(
          colleagueActor,
          item.id,
          contentInput({ title: 'Racing saves, by the colleague', privacy: 'organisation' }),
          context,
          { openedRevision: 1 },
        ),
      ]);
      const outcomes = results.map((result) =>
        result.status === 'fulfilled' ? 'saved' : (result.reason as Error).name,
      );
      expect(outcomes.sort()).toEqual(['ContentChangedMeanwhile', 'saved']);
      const winner = results.findIndex((result) => result.status === 'fulfilled');
      const row = await stored(item.id);
      expect(row.revision).toBe(2);
      expect(row.title).toBe(
        winner === 0 ? 'Racing saves, by the editor' : 'Racing saves, by the colleague',
      );
      expect(await revisionNumbers(item.id)).toEqual([1, 2]);
    });

    it('does not write back a status read before the item was published', async () => {
      const item = await create(editor, 'news', { title: 'Published meanwhile' }, false);
      const actor = await actorFor(testApp.services, editor.id);
      // A save from a form opened at the draft, after the item was published.
      await testApp.services.content.publish(actor, item.id, context);
      await expect(
        testApp.services.content.update(
          actor,
          item.id,
          contentInput({ title: 'Published meanwhile, edited' }),
          context,
          { openedRevision: 1 },
        ),
      ).rejects.toMatchObject({ name: 'ContentChangedMeanwhile', savedRevision: 2 });
      expect(await stored(item.id)).toMatchObject({
        status: 'published',
        title: 'Published meanwhile',
        revision: 2,
      });
    });
  });
});
