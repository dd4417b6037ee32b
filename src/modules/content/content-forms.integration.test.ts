import { randomBytes } from 'node:crypto';
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

/** A small PDF, as a document upload would carry. */
const pdf = Buffer.from(`%PDF-1.4\n% a test document\n${'x'.repeat(100)}\n%%EOF\n`);

type Part =
  | { name: string; value: string; contentType?: string }
  | { name: string; filename: string; bytes: Buffer };

/** The hrefs of a page's error summary, in order. */
function summaryLinks(html: string): string[] {
  const summary = /<div class="nhsuk-error-summary"[\s\S]*?<\/ul>/.exec(html)?.[0] ?? '';
  return [...summary.matchAll(/href="#([^"]+)"/g)].map((match) => match[1]!);
}

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

  /** Posts a form as a browser would, its body as given: a field may be sent more than once. */
  async function postRaw(browser: HttpAgent, url: string, body: URLSearchParams) {
    body.set('_csrf', await browser.csrfToken());
    return testApp.app.inject({
      method: 'POST',
      url,
      headers: {
        cookie: [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: body.toString(),
    });
  }

  /** Posts a multipart form with the CSRF token first, as the upload form sends it. */
  async function postMultipart(browser: HttpAgent, url: string, parts: Part[]) {
    const boundary = `----content${randomBytes(8).toString('hex')}`;
    const chunks: Buffer[] = [];
    for (const part of [{ name: '_csrf', value: await browser.csrfToken() }, ...parts]) {
      if ('value' in part)
        chunks.push(
          Buffer.from(
            `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"\r\n${'contentType' in part && part.contentType ? `Content-Type: ${part.contentType}\r\n` : ''}\r\n${part.value}\r\n`,
          ),
        );
      else
        chunks.push(
          Buffer.from(
            `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
          ),
          part.bytes,
          Buffer.from('\r\n'),
        );
    }
    chunks.push(Buffer.from(`--${boundary}--\r\n`));
    return testApp.app.inject({
      method: 'POST',
      url,
      headers: {
        cookie: [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
      payload: Buffer.concat(chunks),
    });
  }

  async function fileCounts(id: string) {
    const [attached, storedFiles] = await Promise.all([
      testApp.services.database.db
        .selectFrom('content_files')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('content_id', '=', id)
        .executeTakeFirstOrThrow(),
      testApp.services.database.db
        .selectFrom('stored_files')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow(),
    ]);
    return { attached: Number(attached.n), stored: Number(storedFiles.n) };
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

  describe('what the forms accept', () => {
    const newsFields = {
      type: 'news',
      action: 'save',
      title: 'Checked fields',
      summary: 'A summary',
      body: 'The text.',
      privacy: 'public',
      organisationCode: 'C82001',
    };

    async function countTitled(title: string) {
      const row = await testApp.services.database.db
        .selectFrom('content_items')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('title', 'like', `${title}%`)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    }

    it('refuses a NUL in any field of a new item, naming the field, and stores nothing', async () => {
      const browser = await as(editor);
      for (const [field, value] of [
        ['title', 'NUL title \u0000 here'],
        ['summary', 'A \u0000 summary'],
        ['details-documentKind', 'Policy\u0000'],
        ['areas', 'energy\u0000'],
      ] as const) {
        const response = await browser.post('/content', {
          ...newsFields,
          type: 'document',
          title: 'NUL title',
          [field]: value,
        });
        expect(response.statusCode, field).toBe(400);
        expect(response.body).toContain(`The &quot;${field}&quot; field holds a character`);
      }
      expect(await countTitled('NUL title')).toBe(0);
    });

    it('refuses a field sent twice, naming it', async () => {
      const browser = await as(editor);
      const body = new URLSearchParams({ ...newsFields, title: 'Sent twice' });
      body.append('title', 'Sent twice again');
      const response = await postRaw(browser, '/content', body);
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain('The &quot;title&quot; field must be sent once');
      expect(await countTitled('Sent twice')).toBe(0);
    });

    it('refuses a NUL in an edit, saving nothing', async () => {
      const item = await create(editor, 'news', { title: 'Edited with a NUL' }, false);
      const response = await (
        await as(editor)
      ).post(`/content/${item.id}`, {
        ...newsFields,
        title: 'Edited with a NUL',
        note: 'Typo\u0000',
        revision: '1',
      });
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain('The &quot;note&quot; field holds a character');
      expect((await stored(item.id)).revision).toBe(1);
    });

    it('refuses a NUL or a field sent twice in the upload form, keeping no file', async () => {
      const item = await create(editor, 'document', { title: 'Upload checks' }, false);
      const browser = await as(editor);
      const before = await fileCounts(item.id);
      const nul = await postMultipart(browser, `/content/${item.id}/files`, [
        { name: 'role', value: 'attachment' },
        { name: 'title', value: 'Minutes\u0000' },
        { name: 'file', filename: 'minutes.pdf', bytes: pdf },
      ]);
      expect(nul.statusCode).toBe(400);
      expect(nul.body).toContain('The &quot;title&quot; field holds a character');
      // A field after the file is read too, and the file already stored is removed.
      const late = await postMultipart(browser, `/content/${item.id}/files`, [
        { name: 'role', value: 'attachment' },
        { name: 'file', filename: 'minutes.pdf', bytes: pdf },
        { name: 'note', value: 'Late \u0000 note' },
      ]);
      expect(late.statusCode).toBe(400);
      expect(late.body).toContain('The &quot;note&quot; field holds a character');
      const twice = await postMultipart(browser, `/content/${item.id}/files`, [
        { name: 'role', value: 'attachment' },
        { name: 'role', value: 'document_version' },
        { name: 'file', filename: 'minutes.pdf', bytes: pdf },
      ]);
      expect(twice.statusCode).toBe(400);
      expect(twice.body).toContain('The &quot;role&quot; field must be sent once');
      // A field sent as JSON would arrive parsed, not as text: refused, not stored as an object.
      const json = await postMultipart(browser, `/content/${item.id}/files`, [
        { name: 'role', value: 'attachment' },
        { name: 'title', value: '{"title": "Minutes"}', contentType: 'application/json' },
        { name: 'file', filename: 'minutes.pdf', bytes: pdf },
      ]);
      expect(json.statusCode).toBe(400);
      expect(json.body).toContain('The &quot;title&quot; field must be sent as plain text');
      expect(await fileCounts(item.id)).toEqual(before);
      // The same form, well formed, is taken.
      const taken = await postMultipart(browser, `/content/${item.id}/files`, [
        { name: 'role', value: 'attachment' },
        { name: 'title', value: 'Minutes' },
        { name: 'note', value: 'From the May meeting' },
        { name: 'file', filename: 'minutes.pdf', bytes: pdf },
      ]);
      expect(taken.statusCode).toBe(303);
      expect((await fileCounts(item.id)).attached).toBe(before.attached + 1);
    });

    it('limits a file’s title and note and a revision’s note, saying so on the page', async () => {
      const item = await create(editor, 'document', { title: 'Long notes' }, false);
      const browser = await as(editor);
      const manage = await browser.get(`/content/${item.id}`);
      expect(manage.body).toContain('Shown instead of the file name. Up to 200 characters.');
      expect(manage.body).toContain('For a new version: what changed. Up to 500 characters.');
      const before = await fileCounts(item.id);
      const long = await postMultipart(browser, `/content/${item.id}/files`, [
        { name: 'role', value: 'document_version' },
        { name: 'title', value: 't'.repeat(201) },
        { name: 'note', value: 'n'.repeat(501) },
        { name: 'file', filename: 'policy.pdf', bytes: pdf },
      ]);
      expect(long.statusCode).toBe(400);
      expect(summaryLinks(long.body)).toEqual(['file-title', 'file-note']);
      expect(long.body).toContain('id="file-title-error"');
      expect(long.body).toContain('id="file-note-error"');
      // What was entered is kept, the kind of file chosen included.
      expect(long.body).toContain(`value="${'t'.repeat(201)}"`);
      expect(long.body).toMatch(/<option value="document_version" selected>/);
      expect(await fileCounts(item.id)).toEqual(before);

      const form = await browser.get(`/content/${item.id}/edit`);
      expect(form.body).toContain('Shown in the revision history. Up to 500 characters.');
      const edit = await browser.post(`/content/${item.id}`, {
        ...newsFields,
        type: 'document',
        title: 'Long notes',
        note: 'w'.repeat(501),
        revision: openedRevisionOf(form.body),
      });
      expect(edit.statusCode).toBe(400);
      expect(summaryLinks(edit.body)).toEqual(['note']);
      expect(edit.body).toContain('What you changed must be 500 characters or fewer');
      expect((await stored(item.id)).revision).toBe(1);
    });
  });

  describe('the error summary', () => {
    it('lists a case study’s problems in the order of the fields on the form', async () => {
      const item = await create(editor, 'case_study', { title: 'Ordered errors' }, false);
      const response = await (
        await as(editor)
      ).post(`/content/${item.id}`, {
        type: 'case_study',
        action: 'save',
        title: '',
        summary: 'A summary',
        'details-problem': 'p'.repeat(20_001),
        'details-tco2eSavedPerYear': 'lots',
        'details-contactEmail': 'not an email',
        body: 'b'.repeat(100_001),
        organisationCode: 'C82001',
        privacy: 'everyone',
        organisationTags: 'NOT-A-CODE',
        note: 'n'.repeat(501),
        revision: '1',
      });
      expect(response.statusCode).toBe(400);
      const links = summaryLinks(response.body);
      expect(links).toEqual([
        'title',
        'details-problem',
        'details-tco2eSavedPerYear',
        'details-contactEmail',
        'body',
        'privacy',
        'organisationTags',
        'note',
      ]);
      // Each link leads to a field, and the fields come on the page in the summary's order.
      const form = response.body.slice(response.body.indexOf('<form'));
      const positions = links.map((id) => form.indexOf(`id="${id}"`));
      expect(positions.every((position) => position >= 0)).toBe(true);
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
    });

    it('links a missing kind of file to its own field', async () => {
      const item = await create(editor, 'news', { title: 'Wrong kind of file' }, false);
      const response = await postMultipart(await as(editor), `/content/${item.id}/files`, [
        { name: 'role', value: 'video' },
        { name: 'file', filename: 'talk.pdf', bytes: pdf },
      ]);
      expect(response.statusCode).toBe(400);
      expect(summaryLinks(response.body)).toEqual(['role']);
      expect(response.body).toContain('id="role-error"');
      expect(response.body).toContain('Choose what kind of file this is');
    });
  });

  describe('what you changed', () => {
    it('keeps the note through a preview and a refused save', async () => {
      const item = await create(editor, 'news', { title: 'Noted change' }, false);
      const browser = await as(editor);
      const fields = {
        type: 'news',
        summary: 'A summary',
        body: 'The text.',
        privacy: 'public',
        organisationCode: 'C82001',
        note: 'Corrected the date of the launch',
        revision: '1',
      };
      const preview = await browser.post(`/content/${item.id}`, {
        ...fields,
        title: 'Noted change',
        action: 'preview',
      });
      expect(preview.statusCode).toBe(200);
      expect(preview.body).toContain('value="Corrected the date of the launch"');
      const refused = await browser.post(`/content/${item.id}`, {
        ...fields,
        title: '',
        action: 'save',
      });
      expect(refused.statusCode).toBe(400);
      expect(refused.body).toContain('value="Corrected the date of the launch"');
      const saved = await browser.post(`/content/${item.id}`, {
        ...fields,
        title: 'Noted change',
        action: 'save',
      });
      expect(saved.statusCode).toBe(303);
      expect((await browser.get(`/content/${item.id}/revisions`)).body).toContain(
        'Corrected the date of the launch',
      );
    });
  });

  describe('an item shared with a workspace its editor is not in', () => {
    it('is saved by that editor without changing who may see it', async () => {
      const llr = (await testApp.services.workspaces.findBySlug('llr'))!;
      const midlands = (await testApp.services.workspaces.findBySlug('midlands'))!;
      const insider = await buildUser(testApp.services, {
        memberships: [{ organisationCode: 'C82001', role: 'editor' }],
      });
      await testApp.services.database.db.transaction().execute(async (trx) => {
        await testApp.services.workspaces.addMember(trx, llr.id, insider.id);
      });
      const item = await create(insider, 'news', {
        title: 'For the LLR workspace',
        privacy: 'workspace',
        workspaceId: llr.id,
      });
      // The editor of the practice is in neither workspace.
      const browser = await as(editor);
      const form = await browser.get(`/content/${item.id}/edit`);
      expect(form.statusCode).toBe(200);
      expect(form.body).toContain(`<option value="${llr.id}" selected>`);
      expect(form.body).not.toContain(`<option value="${midlands.id}"`);
      const fields = {
        type: 'news',
        action: 'save',
        title: 'For the LLR workspace, corrected',
        summary: 'A summary',
        body: 'The text.',
        privacy: 'workspace',
        workspaceId: llr.id,
        organisationCode: 'C82001',
      };
      const saved = await browser.post(`/content/${item.id}`, {
        ...fields,
        revision: openedRevisionOf(form.body),
      });
      expect(saved.statusCode).toBe(303);
      expect(await stored(item.id)).toMatchObject({
        title: 'For the LLR workspace, corrected',
        privacy: 'workspace',
        workspace_id: llr.id,
      });
      // Moving it to another workspace they are not in is still refused.
      const moved = await browser.post(`/content/${item.id}`, {
        ...fields,
        workspaceId: midlands.id,
        revision: String((await stored(item.id)).revision),
      });
      expect(moved.statusCode).toBe(400);
      expect(moved.body).toContain('You can only share with workspaces you belong to');
      expect((await stored(item.id)).workspace_id).toBe(llr.id);
    });
  });
});
