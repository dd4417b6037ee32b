import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  actorFor,
  contentInput,
  buildUser,
  currentTotp,
  type TestUser,
} from '../../../test/support/factories.ts';
import { findActiveContent, nonceOf, submissionKeyOf } from '../../../test/support/html.ts';
import { browsersFor } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { testDialects } from '../../../test/support/test-database.ts';
import { xssPayloads } from '../../../test/fixtures/xss-payloads.ts';
import type { ContentType } from './content-types.ts';
import type { ContentInput } from './content.service.ts';
import { SMALL_PDF } from '../green-plans/green-plan.test-helpers.ts';

const context = { ip: '127.0.0.1', userAgent: 'content tests' };

describe.each(testDialects)('the knowledge hub on %s', (dialect) => {
  let testApp: TestApp;
  let editor: TestUser;
  let otherEditor: TestUser;
  let member: TestUser;
  let outsider: TestUser;
  let icsAdmin: TestUser;
  let workspaceMember: TestUser;
  let llrWorkspaceId: string;
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

  beforeAll(async () => {
    testApp = await createTestApp(dialect);
    const { services } = testApp;
    editor = await buildUser(services, {
      memberships: [{ organisationCode: 'C82001', role: 'editor' }],
    });
    otherEditor = await buildUser(services, {
      memberships: [{ organisationCode: 'C82002', role: 'editor' }],
    });
    member = await buildUser(services, {
      memberships: [{ organisationCode: 'C82001', role: 'member' }],
    });
    outsider = await buildUser(services);
    icsAdmin = await buildUser(services, {
      memberships: [{ organisationCode: 'QK1', role: 'ics_admin' }],
    });
    workspaceMember = await buildUser(services);
    const llr = await services.workspaces.findBySlug('llr');
    llrWorkspaceId = llr!.id;
    await services.database.db.transaction().execute(async (trx) => {
      await services.workspaces.addMember(trx, llrWorkspaceId, workspaceMember.id);
      await services.workspaces.addMember(trx, llrWorkspaceId, editor.id);
    });
  });

  afterAll(async () => {
    await testApp.close();
  });

  describe('the workspace content from the seed', () => {
    it('says a seeded revision came with the service, not from a deleted user', async () => {
      const page = await testApp.services.database.db
        .selectFrom('content_items')
        .select('id')
        .where('slug', '=', 'llr-ics-green-plan')
        .executeTakeFirstOrThrow();
      const revisions = await (await as(icsAdmin)).get(`/content/${page.id}/revisions`);
      expect(revisions.statusCode).toBe(200);
      expect(revisions.body).toContain('Greenspace (loaded with the service)');
      expect(revisions.body).not.toContain('Deleted user');
    });

    it('shows the latest of each kind on the home page, with the seeded pages linked', async () => {
      const home = await (await as(null)).get('/');
      expect(home.body).toContain('href="/pages/llr-ics-green-plan"');
      expect(home.body).toContain('href="/documents/llr-ics-green-plan-2022-2025"');
      expect(home.body).toContain('href="/videos/dr-anna-murphy-on-green-inhalers"');
      expect(home.body).toContain('href="/videos/dr-gurnak-dosanjh-on-virtual-wards"');
      expect(home.body).toContain(
        'LLR ICS Green Plan sets out the system’s path to a net zero NHS',
      );
      expect(home.body.match(/href="\/case-studies\/example-[a-z-]+"/g)?.length).toBe(3);
    });

    it('publishes the videos as entries with a clearly marked transcript placeholder, not as fake videos', async () => {
      const page = await (await as(null)).get('/videos/dr-anna-murphy-on-green-inhalers');
      expect(page.statusCode).toBe(200);
      expect(page.body).not.toContain('<video');
      expect(page.body).toContain('The video file is not available on Greenspace yet');
      expect(page.body).toContain('<strong>Transcript placeholder.</strong>');
    });

    it('labels example content as such', async () => {
      const page = await (
        await as(null)
      ).get('/case-studies/example-reviewing-inhalers-in-a-city-practice');
      expect(page.body).toContain('<strong>Example content.</strong>');
      expect(page.body).toContain('42.0 tCO2e a year');
    });

    it('says the Green Plan document file has not been uploaded, rather than pretending', async () => {
      const page = await (await as(null)).get('/documents/llr-ics-green-plan-2022-2025');
      expect(page.body).toContain('The document file has not been uploaded to Greenspace yet.');
    });
  });

  describe('authoring', () => {
    it('keeps a draft private until an editor publishes it, recording every revision and its differences', async () => {
      const browser = await as(editor);
      const created = await browser.post('/content', {
        type: 'case_study',
        action: 'save',
        title: 'Reusable theatre caps',
        summary: 'Theatre staff moved to reusable caps.',
        body: 'Staff chose **washable** caps.',
        privacy: 'public',
        organisationCode: 'C82001',
        areas: 'supply-chain-and-procurement',
        'details-tco2eSavedPerYear': '1.5',
      });
      expect(created.statusCode).toBe(303);
      const manage = String(created.headers.location).split('?')[0]!;
      const id = manage.split('/').pop()!;
      expect((await (await as(null)).get('/case-studies/reusable-theatre-caps')).statusCode).toBe(
        404,
      );

      const edited = await browser.post(manage, {
        type: 'case_study',
        action: 'save',
        title: 'Reusable theatre caps',
        summary: 'Theatre staff moved to reusable caps.',
        body: 'Staff chose **washable** cotton caps.',
        privacy: 'public',
        organisationCode: 'C82001',
        areas: 'supply-chain-and-procurement',
        'details-tco2eSavedPerYear': '1.5',
        note: 'Said what the caps are made of',
        revision: '1',
      });
      expect(edited.statusCode).toBe(303);
      expect((await browser.post(`${manage}/publish`)).statusCode).toBe(303);
      const published = await (await as(null)).get('/case-studies/reusable-theatre-caps');
      expect(published.statusCode).toBe(200);
      expect(published.body).toContain('Staff chose <strong>washable</strong> cotton caps.');

      const revisions = await browser.get(`${manage}/revisions`);
      expect(revisions.body).toContain('Said what the caps are made of');
      const compare = await browser.get(`/content/${id}/revisions/compare?from=1&to=2`);
      expect(compare.statusCode).toBe(200);
      // Where each change starts and ends is said in words for screen readers.
      expect(compare.body).toContain(
        '<ins><span class="nhsuk-u-visually-hidden">[added: </span>cotton <span class="nhsuk-u-visually-hidden">]</span></ins>',
      );
      // The edit page is named by what it edits.
      expect((await browser.get(`/content/${id}/edit`)).body).toMatch(
        /<title>Edit case study: Reusable theatre caps/,
      );
    });

    it('compares areas of focus, organisations and tags between revisions, and says when a revision has none recorded', async () => {
      const actor = await actorFor(testApp.services, editor.id);
      const item = await create(
        editor,
        'news',
        {
          title: 'Labels across revisions',
          areas: ['estates-and-facilities'],
          organisationTags: 'C82002',
          tags: 'solar, lighting',
        },
        false,
      );
      await testApp.services.content.update(
        actor,
        item.id,
        contentInput({
          title: 'Labels across revisions',
          areas: ['estates-and-facilities', 'travel-and-transport'],
          organisationTags: '',
          tags: 'solar, heat pumps',
        }),
        context,
      );
      // Publishing keeps the labels saved with revision 2.
      await testApp.services.content.publish(actor, item.id, context);
      const browser = await as(editor);
      const changes = await browser.get(`/content/${item.id}/revisions/compare?from=1&to=2`);
      expect(changes.statusCode).toBe(200);
      const section = (label: string) =>
        new RegExp(`<h2>${label}</h2>\\s*<p class="gs-diff">([\\s\\S]*?)</p>`).exec(
          changes.body,
        )?.[1];
      expect(section('Areas of focus')).toContain('[added: </span>; Travel and transport');
      expect(section('Organisations tagged')).toMatch(/\[removed: <\/span>[^<]*\(C82002\)/);
      expect(section('Tags')).toContain('[removed: </span>lighting');
      expect(section('Tags')).toContain('[added: </span>heat pumps');
      const unchanged = await browser.get(`/content/${item.id}/revisions/compare?from=2&to=3`);
      expect(unchanged.body).not.toContain('<h2>Tags</h2>');
      expect(unchanged.body).not.toContain('are not compared');

      // A revision saved before labels were recorded has none: they are not compared.
      const saveWithoutLabels = (revision: number) =>
        testApp.services.database.db
          .updateTable('content_revisions')
          .set({ labels: null })
          .where('content_id', '=', item.id)
          .where('revision_number', '=', revision)
          .execute();
      await saveWithoutLabels(1);
      const older = await browser.get(`/content/${item.id}/revisions/compare?from=1&to=2`);
      expect(older.body).not.toContain('<h2>Areas of focus</h2>');
      expect(older.body).toContain(
        'Areas of focus, organisations and tags are not compared: revision 1 was saved before they were recorded with each revision.',
      );
      await saveWithoutLabels(2);
      const both = await browser.get(`/content/${item.id}/revisions/compare?from=1&to=2`);
      expect(both.body).toContain('not compared: revisions 1 and 2 were saved before');
    });

    it('makes one draft from a new-item form sent twice, keeping its key through a preview', async () => {
      const browser = await as(editor);
      const form = await browser.get('/content/new?type=news');
      expect(form.statusCode).toBe(200);
      const submissionKey = submissionKeyOf(form.body, '/content');
      expect(submissionKey).toBeDefined();
      const fields = {
        type: 'news',
        title: 'Sent twice by a slow connection',
        summary: 'Made once',
        body: 'One draft only.',
        privacy: 'public',
        organisationCode: 'C82001',
        submissionKey: submissionKey!,
      };
      const preview = await browser.post('/content', { ...fields, action: 'preview' });
      expect(preview.statusCode).toBe(200);
      expect(preview.body).toContain(`name="submissionKey" value="${submissionKey}"`);
      const sent = [
        await browser.post('/content', { ...fields, action: 'save' }),
        await browser.post('/content', { ...fields, action: 'save' }),
      ];
      expect(sent.map((response) => response.statusCode)).toEqual([303, 303]);
      expect(sent[1]!.headers.location).toBe(sent[0]!.headers.location);
      const drafts = await testApp.services.database.db
        .selectFrom('content_items')
        .select('slug')
        .where('title', '=', fields.title)
        .execute();
      expect(drafts).toEqual([{ slug: 'sent-twice-by-a-slow-connection' }]);
    });

    it('previews Markdown without saving', async () => {
      const browser = await as(editor);
      const preview = await browser.post('/content', {
        type: 'news',
        action: 'preview',
        title: 'Preview only',
        summary: 'Not saved',
        body: '## A heading\n\n<script>alert(1)</script> and **bold**',
        privacy: 'public',
        organisationCode: 'C82001',
      });
      expect(preview.statusCode).toBe(200);
      expect(preview.body).toContain('<h2>A heading</h2>');
      expect(preview.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(findActiveContent(preview.body, nonceOf(preview.body))).toEqual([]);
      const drafts = await browser.get('/content');
      expect(drafts.body).not.toContain('Preview only');
    });

    it('previews every Markdown field of a case study and a video, in the page order', async () => {
      const browser = await as(editor);
      const previewOf = (html: string) =>
        /<section class="gs-preview"[\s\S]*?<\/section>/.exec(html)![0];
      const headingsOf = (section: string) =>
        [...section.matchAll(/<h3>([^<]*)<\/h3>/g)].map((match) => match[1]);
      const caseStudy = await browser.post('/content', {
        type: 'case_study',
        action: 'preview',
        title: 'Inhaler reviews',
        'details-problem': 'Too many **MDIs**',
        'details-whatWasDone': '',
        'details-results': '- 40% fewer MDIs\n- <img src=x onerror=alert(1)>',
        body: 'Ask _us_ anything',
        privacy: 'public',
        organisationCode: 'C82001',
      });
      expect(caseStudy.statusCode).toBe(200);
      const preview = previewOf(caseStudy.body);
      expect(headingsOf(preview)).toEqual(['The problem', 'Results', 'More information']);
      expect(preview).toContain('Too many <strong>MDIs</strong>');
      expect(preview).toContain('<li>40% fewer MDIs</li>');
      expect(preview).toContain('Ask <em>us</em> anything');
      expect(findActiveContent(caseStudy.body, nonceOf(caseStudy.body))).toEqual([]);

      const video = await browser.post('/content', {
        type: 'video',
        action: 'preview',
        title: 'Green inhalers',
        body: 'Recorded at the LLR webinar',
        'details-transcript': '**Dr Murphy:** Good afternoon',
        privacy: 'public',
        organisationCode: 'C82001',
      });
      const videoPreview = previewOf(video.body);
      expect(headingsOf(videoPreview)).toEqual(['More information', 'Transcript']);
      expect(videoPreview).toContain('<strong>Dr Murphy:</strong> Good afternoon');

      const empty = await browser.post('/content', {
        type: 'news',
        action: 'preview',
        title: 'Nothing yet',
        body: '   ',
        privacy: 'public',
        organisationCode: 'C82001',
      });
      expect(previewOf(empty.body)).toContain('There is no text to preview yet.');

      // The main text is labelled alike on the form and in the preview: "Text" where it is the
      // item (news, pages), optional "More information" where it adds to the item's own fields.
      const bodyLabelOf = (html: string) =>
        /<label[^>]*for="body"[^>]*>\s*([^<]*?)\s*<\/label>/.exec(html)?.[1];
      const news = await browser.post('/content', {
        type: 'news',
        action: 'preview',
        title: 'Inhaler month',
        body: 'All practices are taking part',
        privacy: 'public',
        organisationCode: 'C82001',
      });
      expect(headingsOf(previewOf(news.body))).toEqual(['Text']);
      expect(bodyLabelOf(news.body)).toBe('Text');
      expect(bodyLabelOf(caseStudy.body)).toBe('More information (optional)');
      // …and the text the form shows as required is required.
      const emptyNews = await browser.post('/content', {
        type: 'news',
        title: 'Inhaler month',
        summary: 'All practices are taking part',
        body: '   ',
        privacy: 'public',
        organisationCode: 'C82001',
      });
      expect(emptyNews.statusCode).toBe(400);
      expect(emptyNews.body).toContain('Enter the text of the news');
    });

    it('refuses a malformed date and names the field', async () => {
      const response = await (
        await as(editor)
      ).post('/content', {
        type: 'event',
        action: 'save',
        title: 'Bad date',
        summary: 'x',
        privacy: 'public',
        organisationCode: 'C82001',
        'details-startsAt': '2027-02-30T10:00',
      });
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain('href="#details-startsAt"');
      expect(response.body).toContain('must be a real date and time');
    });

    it('refuses amounts that would be stored in exponent form, and still shows an item that has one', async () => {
      const fields = {
        type: 'case_study',
        action: 'save',
        title: 'Tiny saving',
        summary: 'x',
        privacy: 'public',
        organisationCode: 'C82001',
      };
      const browser = await as(editor);
      const tiny = await browser.post('/content', {
        ...fields,
        'details-tco2eSavedPerYear': '0.0000001',
      });
      expect(tiny.statusCode).toBe(400);
      expect(tiny.body).toContain('href="#details-tco2eSavedPerYear"');
      expect(tiny.body).toContain('must have 6 decimal places or fewer');
      const huge = await browser.post('/content', {
        ...fields,
        'details-moneySavedPerYearGbp': '1,000,000,000,000,000,000,000',
      });
      expect(huge.statusCode).toBe(400);
      expect(huge.body).toContain('must be less than 1,000,000,000,000');

      // An item stored before these limits, with amounts JavaScript writes with an exponent.
      const item = await create(editor, 'case_study', { title: 'Stored before the limits' });
      await testApp.services.database.db
        .updateTable('content_items')
        .set({
          details: JSON.stringify({
            results: 'Less waste',
            tco2eSavedPerYear: 1e-7,
            moneySavedPerYearGbp: 1e21,
          }),
        })
        .where('id', '=', item.id)
        .execute();
      const page = await (await as(null)).get('/case-studies/stored-before-the-limits');
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('Less waste');
      expect((await browser.get(`/content/${item.id}`)).statusCode).toBe(200);
      const form = await browser.get(`/content/${item.id}/edit`);
      expect(form.statusCode).toBe(200);
      // The form shows the stored amounts written out, for the author to correct.
      expect(form.body).toContain('value="0.0000001"');
      expect(form.body).toContain('value="1000000000000000000000"');
    });

    it('shows a too-long detail field’s error on the field itself as well as in the summary', async () => {
      const fields = {
        action: 'save',
        summary: 'x',
        privacy: 'public',
        organisationCode: 'C82001',
      };
      for (const [type, field] of [
        ['case_study', 'contactName'],
        ['video', 'speaker'],
        ['document', 'documentKind'],
        ['event', 'location'],
      ] as const) {
        const response = await (
          await as(editor)
        ).post('/content', {
          ...fields,
          type,
          title: `Too long ${field}`,
          [`details-${field}`]: 'x'.repeat(301),
        });
        expect(response.statusCode).toBe(400);
        expect(response.body).toContain(`href="#details-${field}"`);
        expect(response.body).toContain(`id="details-${field}-error"`);
      }
    });

    it('lets editors publish only for organisations where they are editors', async () => {
      const response = await (
        await as(editor)
      ).post('/content', {
        type: 'news',
        action: 'save',
        title: 'Not mine',
        summary: 'x',
        privacy: 'public',
        organisationCode: 'C82002',
      });
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain(
        'You can only publish for organisations where you are an editor',
      );
      const item = await create(editor, 'news', { title: 'Owned by C82001' }, false);
      // A draft they may not read is not there for them, as at its public address.
      expect((await (await as(otherEditor)).get(`/content/${item.id}`)).statusCode).toBe(404);
      expect((await (await as(member)).get(`/content/${item.id}/edit`)).statusCode).toBe(404);
      // Published, they can read it but still not change it.
      const published = await create(editor, 'news', { title: 'Published by C82001' });
      expect((await (await as(otherEditor)).get(`/content/${published.id}/edit`)).statusCode).toBe(
        403,
      );
      // Signed out, they are asked to sign in first.
      expect((await (await as(null)).get(`/content/${item.id}`)).statusCode).toBe(303);
      // An ICS admin of the LLR ICB may edit the practice's content.
      expect((await (await as(icsAdmin)).get(`/content/${item.id}`)).statusCode).toBe(200);
    });

    it('keeps an item’s owner when an ICS admin or a platform admin saves an edit', async () => {
      const item = await create(editor, 'case_study', {
        title: 'Members-only owner test',
        privacy: 'organisation',
      });
      const platformAdmin = await buildUser(testApp.services, { platformAdmin: true });
      const fields = {
        type: 'case_study',
        action: 'save',
        title: 'Members-only owner test',
        summary: 'Still for the practice’s members.',
        privacy: 'organisation',
        organisationCode: 'C82001',
      };
      for (const user of [icsAdmin, platformAdmin]) {
        const browser = await as(user);
        const form = await browser.get(`/content/${item.id}/edit`);
        expect(form.statusCode).toBe(200);
        // The owner is offered and chosen, though neither of them is a member of the practice.
        expect(form.body).toMatch(/<option value="C82001" selected>/);
        const revision = /name="revision" value="(\d+)"/.exec(form.body)![1]!;
        const saved = await browser.post(`/content/${item.id}`, { ...fields, revision });
        expect(saved.statusCode).toBe(303);
        const stored = await testApp.services.database.db
          .selectFrom('content_items')
          .select('organisation_code')
          .where('id', '=', item.id)
          .executeTakeFirstOrThrow();
        expect(stored.organisation_code).toBe('C82001');
      }
      // The ICS admin is offered the organisations of the ICB, and no other ICB's.
      const form = await (await as(icsAdmin)).get(`/content/${item.id}/edit`);
      expect(form.body).toContain('<option value="QK1"');
      expect(form.body).toContain('<option value="C82002"');
      expect(form.body).not.toContain('<option value="QHL"');
      // A member of the practice still reads it: its audience did not move to the ICB.
      expect(
        (await (await as(member)).get('/case-studies/members-only-owner-test')).statusCode,
      ).toBe(200);
    });

    it('lists what an editor may change fifty to a page, most recently changed first', async () => {
      const pager = await buildUser(testApp.services, {
        memberships: [{ organisationCode: 'C82030', role: 'editor' }],
      });
      const actor = await actorFor(testApp.services, pager.id);
      for (let n = 1; n <= 51; n++)
        await testApp.services.content.create(
          actor,
          'news',
          contentInput({ title: `Paged news ${n}`, organisationCode: 'C82030' }),
          context,
        );
      const browser = await as(pager);
      const first = await browser.get('/content');
      expect(first.statusCode).toBe(200);
      expect(first.body).toContain('51 items, most recently changed first.');
      expect(first.body.match(/href="\/content\/[0-9a-f-]{36}"/g)).toHaveLength(50);
      expect(first.body).toContain('href="/content?page=2"');
      const second = await browser.get('/content?page=2');
      expect(second.body.match(/href="\/content\/[0-9a-f-]{36}"/g)).toHaveLength(1);
      // Together the two pages hold every item once.
      const titles = [first.body, second.body].flatMap((html) =>
        [...html.matchAll(/>(Paged news \d+)</g)].map((match) => match[1]),
      );
      expect(new Set(titles).size).toBe(51);
      expect((await browser.get('/content?page=3')).statusCode).toBe(404);
      expect((await browser.get('/content?page=x')).statusCode).toBe(400);
    });

    it('audits what an edit changed of who may read an item', async () => {
      const item = await create(editor, 'news', { title: 'Changing readers' }, false);
      const actor = await actorFor(testApp.services, editor.id);
      await testApp.services.content.update(
        actor,
        item.id,
        contentInput({ title: 'Changing readers', privacy: 'organisation' }),
        context,
      );
      await testApp.services.content.update(
        actor,
        item.id,
        contentInput({ title: 'Changing readers, reworded', privacy: 'organisation' }),
        context,
      );
      const edits = (await testApp.services.audit.findForUser(editor.id))
        .filter((event) => event.action === 'content.updated' && event.target_id === item.id)
        .map((event) => JSON.parse(String(event.details)) as Record<string, unknown>);
      expect(edits).toEqual(
        expect.arrayContaining([
          { revision: 2, changed: { privacy: { from: 'public', to: 'organisation' } } },
          { revision: 3 },
        ]),
      );
    });

    it('refuses to move an item to an organisation its editor may not author for', async () => {
      const item = await create(editor, 'news', { title: 'Not moving' }, false);
      const icsActor = await actorFor(testApp.services, icsAdmin.id);
      await expect(
        testApp.services.content.update(
          icsActor,
          item.id,
          contentInput({ title: 'Not moving', organisationCode: 'QHL' }),
          context,
        ),
      ).rejects.toMatchObject({
        fieldErrors: {
          organisationCode: 'You can only publish for organisations where you are an editor',
        },
      });
      const response = await (
        await as(editor)
      ).post(`/content/${item.id}`, {
        type: 'news',
        action: 'save',
        title: 'Not moving',
        summary: 'x',
        body: 'Text',
        privacy: 'public',
        organisationCode: 'C82002',
        revision: '1',
      });
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain(
        'You can only publish for organisations where you are an editor',
      );
      expect(response.body).toContain('<option value="C82001"');
      const stored = await testApp.services.database.db
        .selectFrom('content_items')
        .select(['organisation_code', 'revision'])
        .where('id', '=', item.id)
        .executeTakeFirstOrThrow();
      expect(stored).toEqual({ organisation_code: 'C82001', revision: 1 });
    });

    it('will not publish an uploaded video without captions, nor a video entry without a transcript', async () => {
      const actor = await actorFor(testApp.services, editor.id);
      const item = await create(
        editor,
        'video',
        { title: 'Captions needed', details: { transcript: '' } },
        false,
      );
      await expect(testApp.services.content.publish(actor, item.id, context)).rejects.toThrow(
        'Add a transcript before publishing the video',
      );
      await testApp.services.content.update(
        actor,
        item.id,
        contentInput({ title: 'Captions needed', details: { transcript: 'Hello.' } }),
        context,
      );
      const mp4 = Buffer.concat([
        Buffer.from([0, 0, 0, 0x18]),
        Buffer.from('ftypmp42'),
        Buffer.alloc(4),
        Buffer.from('mp42isom'),
        randomBytes(4000),
      ]);
      const upload = await testApp.services.files.receiveUpload(streamOf(mp4), 'video', 'talk.mp4');
      await testApp.services.content.attachFile(
        actor,
        item.id,
        'video',
        upload,
        'The talk',
        '',
        context,
      );
      await expect(testApp.services.content.publish(actor, item.id, context)).rejects.toThrow(
        'Add a WebVTT captions file before publishing the video',
      );
      const captions = await testApp.services.files.receiveUpload(
        streamOf(Buffer.from('WEBVTT\n\n00:00.000 --> 00:02.000\nHello.\n')),
        'captions',
        'talk.vtt',
      );
      await testApp.services.content.attachFile(
        actor,
        item.id,
        'captions',
        captions,
        'English',
        '',
        context,
      );
      await testApp.services.content.publish(actor, item.id, context);
      const page = await (await as(null)).get('/videos/captions-needed');
      expect(page.body).toMatch(/<video class="gs-video" controls/);
      expect(page.body).toMatch(
        /<track kind="captions" src="\/content\/[0-9a-f-]+\/files\/[0-9a-f-]+" srclang="en" label="English" default>/,
      );
      const trackUrl = /<track kind="captions" src="([^"]+)"/.exec(page.body)![1]!;
      const track = await (await as(null)).get(trackUrl);
      expect(track.headers['content-type']).toBe('text/vtt');
      expect(track.body).toContain('WEBVTT');

      // Replaced captions are gone: their address, their record and their bytes.
      const oldFileId = trackUrl.split('/').at(-1)!;
      const oldFile = (await testApp.services.files.findFile(oldFileId))!;
      const corrected = await testApp.services.files.receiveUpload(
        streamOf(Buffer.from('WEBVTT\n\n00:00.000 --> 00:02.000\nHello, everyone.\n')),
        'captions',
        'talk-corrected.vtt',
      );
      await testApp.services.content.attachFile(
        actor,
        item.id,
        'captions',
        corrected,
        'English',
        '',
        context,
      );
      expect((await (await as(null)).get(trackUrl)).statusCode).toBe(404);
      expect(await testApp.services.files.findFile(oldFileId)).toBeUndefined();
      await expect(testApp.services.files.readSmallFile(oldFile)).rejects.toThrow();
      const newTrack = /<track kind="captions" src="([^"]+)"/.exec(
        (await (await as(null)).get('/videos/captions-needed')).body,
      )![1]!;
      expect((await (await as(null)).get(newTrack)).body).toContain('Hello, everyone.');
    });

    it('numbers document versions sent at the same moment one after the other, and keeps one video when two replace it at once', async () => {
      const actor = await actorFor(testApp.services, editor.id);
      const { files, content } = testApp.services;
      const document = await create(editor, 'document', { title: 'Versions at once' }, false);
      const pdf = (name: string) => files.receiveUpload(streamOf(SMALL_PDF), 'document', name);
      const [first, second] = await Promise.all([pdf('one.pdf'), pdf('two.pdf')]);
      await Promise.all([
        content.attachFile(actor, document.id, 'document_version', first!, '', '', context),
        content.attachFile(actor, document.id, 'document_version', second!, '', '', context),
      ]);
      const versions = (
        await testApp.services.database.db
          .selectFrom('content_files')
          .select('version_number')
          .where('content_id', '=', document.id)
          .where('role', '=', 'document_version')
          .execute()
      )
        .map((row) => row.version_number)
        .sort();
      expect(versions).toEqual([1, 2]);

      const video = await create(
        editor,
        'video',
        { title: 'Two videos at once', details: { transcript: 'Hello.' } },
        false,
      );
      const mp4 = () =>
        files.receiveUpload(
          streamOf(
            Buffer.concat([
              Buffer.from([0, 0, 0, 0x18]),
              Buffer.from('ftypmp42'),
              Buffer.alloc(4),
              Buffer.from('mp42isom'),
              randomBytes(4000),
            ]),
          ),
          'video',
          'talk.mp4',
        );
      const [left, right] = await Promise.all([mp4(), mp4()]);
      await Promise.all([
        content.attachFile(actor, video.id, 'video', left!, 'Left', '', context),
        content.attachFile(actor, video.id, 'video', right!, 'Right', '', context),
      ]);
      const kept = await testApp.services.database.db
        .selectFrom('content_files')
        .select(['title', 'file_id'])
        .where('content_id', '=', video.id)
        .where('role', '=', 'video')
        .execute();
      expect(kept).toHaveLength(1);
      // The one replaced is gone for good, record and all.
      const replaced = [left!, right!].length - kept.length;
      expect(replaced).toBe(1);
      expect(
        await testApp.services.database.db
          .selectFrom('stored_files')
          .select('id')
          .where('original_name', '=', 'talk.mp4')
          .where('id', '<>', kept[0]!.file_id)
          .where(
            'id',
            'in',
            (
              await testApp.services.database.db
                .selectFrom('audit_events')
                .select('details')
                .where('action', '=', 'content.file_added')
                .where('target_id', '=', video.id)
                .execute()
            ).map((row) => JSON.parse(String(row.details)).fileId as string),
          )
          .execute(),
      ).toEqual([]);
    });

    it('refuses an edit that would leave a published event without a start, saving nothing', async () => {
      const item = await create(editor, 'event', {
        title: 'Published event keeps its start',
        details: { startsAt: '2027-03-01T10:00', location: 'Leicester' },
      });
      const fields = {
        type: 'event',
        action: 'save',
        title: 'Published event keeps its start',
        summary: 'A summary',
        body: 'The text of the item.',
        privacy: 'public',
        organisationCode: 'C82001',
        'details-startsAt': '',
        'details-location': 'Leicester',
        revision: String(item.revision + 1),
      };
      const response = await (await as(editor)).post(`/content/${item.id}`, fields);
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain('href="#details-startsAt"');
      expect(response.body).toContain('Enter the date and time the event starts');
      const saved = await testApp.services.content.findById(item.id);
      expect(saved?.revision).toBe(item.revision + 1);
      expect(JSON.parse(saved!.details)).toMatchObject({ startsAt: '2027-03-01T10:00' });
      const ics = await (await as(null)).get('/events/published-event-keeps-its-start/event.ics');
      expect(ics.statusCode).toBe(200);
      expect(ics.body).toContain('DTSTART;TZID=Europe/London:20270301T100000\r\n');
    });

    it('refuses to blank the transcript of a published video, or to add its file before its captions', async () => {
      const actor = await actorFor(testApp.services, editor.id);
      const item = await create(editor, 'video', {
        title: 'Published video keeps its transcript',
        details: { transcript: 'Hello.' },
      });
      await expect(
        testApp.services.content.update(
          actor,
          item.id,
          contentInput({
            title: 'Published video keeps its transcript',
            details: { transcript: ' ' },
          }),
          context,
        ),
      ).rejects.toMatchObject({
        fieldErrors: { 'details-transcript': expect.stringContaining('Enter a transcript') },
      });
      const upload = await testApp.services.files.receiveUpload(
        streamOf(
          Buffer.concat([
            Buffer.from([0, 0, 0, 0x18]),
            Buffer.from('ftypmp42'),
            Buffer.alloc(4),
            Buffer.from('mp42isom'),
            randomBytes(4000),
          ]),
        ),
        'video',
        'talk.mp4',
      );
      await expect(
        testApp.services.content.attachFile(actor, item.id, 'video', upload, 'Talk', '', context),
      ).rejects.toMatchObject({
        fieldErrors: { file: expect.stringContaining('Add the WebVTT captions first') },
      });
      const page = await testApp.services.content.getForEditing(actor, item.id);
      expect(page.item.status).toBe('published');
      expect(page.fields).toMatchObject({ transcript: 'Hello.' });
      expect(await testApp.services.content.findById(item.id)).toMatchObject({
        revision: item.revision + 1,
      });
    });

    it('keeps every version of a document', async () => {
      const actor = await actorFor(testApp.services, editor.id);
      const item = await create(editor, 'document', { title: 'Practice green policy' }, false);
      for (const version of ['one', 'two']) {
        const pdf = Buffer.from(`%PDF-1.4\n% version ${version}\n${'x'.repeat(100)}\n%%EOF\n`);
        const upload = await testApp.services.files.receiveUpload(
          streamOf(pdf),
          'document',
          `policy-${version}.pdf`,
        );
        await testApp.services.content.attachFile(
          actor,
          item.id,
          'document_version',
          upload,
          '',
          `Version ${version}`,
          context,
        );
      }
      await testApp.services.content.publish(actor, item.id, context);
      const page = await (await as(null)).get('/documents/practice-green-policy');
      expect(page.body).toContain('policy-two.pdf');
      expect(page.body).toContain('policy-one.pdf');
      expect(page.body.indexOf('policy-two.pdf')).toBeLessThan(page.body.indexOf('policy-one.pdf'));
      const latest = /<a class="nhsuk-button" href="([^"]+)" download>/.exec(page.body)![1]!;
      const download = await (await as(null)).get(latest);
      expect(download.headers['content-disposition']).toContain('policy-two.pdf');
      expect(download.body).toContain('version two');
    });
  });

  describe('privacy', () => {
    let publicItem: string;
    let workspaceItem: string;
    let organisationItem: string;

    beforeAll(async () => {
      await create(editor, 'case_study', {
        title: 'Heat pump retrofit public',
        summary: 'zeolite public',
        body: 'zeolite in every sentence',
      });
      await create(editor, 'case_study', {
        title: 'Heat pump retrofit workspace',
        summary: 'zeolite workspace',
        body: 'zeolite',
        privacy: 'workspace',
        workspaceId: llrWorkspaceId,
      });
      await create(editor, 'case_study', {
        title: 'Heat pump retrofit organisation',
        summary: 'zeolite organisation',
        body: 'zeolite',
        privacy: 'organisation',
      });
      publicItem = '/case-studies/heat-pump-retrofit-public';
      workspaceItem = '/case-studies/heat-pump-retrofit-workspace';
      organisationItem = '/case-studies/heat-pump-retrofit-organisation';
    });

    const cases: [string, () => TestUser | null, boolean, boolean][] = [
      ['an anonymous visitor', () => null, false, false],
      ['someone from no organisation', () => outsider, false, false],
      ['a workspace member', () => workspaceMember, true, false],
      ['a member of the owning practice', () => member, false, true],
      ['an editor of another practice', () => otherEditor, false, false],
      ['an ICS admin above the practice', () => icsAdmin, false, true],
    ];

    it.each(cases)(
      'lets %s see exactly what their access allows: pages, listings and search',
      async (_who, user, seesWorkspace, seesOrganisation) => {
        const browser = await as(user());
        expect((await browser.get(publicItem)).statusCode).toBe(200);
        expect((await browser.get(workspaceItem)).statusCode).toBe(seesWorkspace ? 200 : 404);
        expect((await browser.get(organisationItem)).statusCode).toBe(seesOrganisation ? 200 : 404);

        const listing = (await browser.get('/case-studies?tag=')).body;
        expect(listing.includes('Heat pump retrofit workspace')).toBe(seesWorkspace);
        expect(listing.includes('Heat pump retrofit organisation')).toBe(seesOrganisation);

        const search = (await browser.get('/search?q=zeolite')).body;
        expect(search).toContain('Heat pump retrofit public');
        expect(search.includes('Heat pump retrofit workspace')).toBe(seesWorkspace);
        expect(search.includes('Heat pump retrofit organisation')).toBe(seesOrganisation);
        const expected = 1 + (seesWorkspace ? 1 : 0) + (seesOrganisation ? 1 : 0);
        expect(search).toContain(`${expected} result${expected === 1 ? '' : 's'} for`);
      },
    );

    it('does not let anyone download a file of content they may not read', async () => {
      const actor = await actorFor(testApp.services, editor.id);
      const item = await create(
        editor,
        'case_study',
        { title: 'Private with attachment', privacy: 'organisation' },
        true,
      );
      const pdf = Buffer.from('%PDF-1.4\nprivate\n%%EOF\n');
      const upload = await testApp.services.files.receiveUpload(
        streamOf(pdf),
        'document',
        'private.pdf',
      );
      await testApp.services.content.attachFile(
        actor,
        item.id,
        'attachment',
        upload,
        'Private file',
        '',
        context,
      );
      const page = await (await as(member)).get('/case-studies/private-with-attachment');
      const href = /href="(\/content\/[^"]+\/files\/[^"]+)" download/.exec(page.body)![1]!;
      expect((await (await as(member)).get(href)).statusCode).toBe(200);
      expect((await (await as(null)).get(href)).statusCode).toBe(404);
      expect((await (await as(otherEditor)).get(href)).statusCode).toBe(404);
    });
  });

  describe('search', () => {
    beforeAll(async () => {
      await create(editor, 'news', {
        title: 'Quokka conservation news',
        summary: 'About quokkas.',
        body: 'A short note.',
      });
      await create(editor, 'case_study', {
        title: 'Energy saving in the surgery',
        summary: 'Lighting upgrade.',
        body: 'quokka quokka quokka quokka quokka quokka appears often in this body',
        areas: ['estates-and-facilities'],
      });
      await create(
        editor,
        'news',
        { title: 'Draft about quokkas', summary: 'Unpublished.' },
        false,
      );
    });

    it('finds content by words in its body, ranking title matches first, with highlighted snippets', async () => {
      const page = await (await as(null)).get('/search?q=quokka');
      const order = [
        page.body.indexOf('Quokka conservation news'),
        page.body.indexOf('Energy saving in the surgery'),
      ];
      expect(order.every((position) => position > 0)).toBe(true);
      expect(order[0]).toBeLessThan(order[1]!);
      expect(page.body).toContain('<mark>quokka</mark>');
      expect(page.body).not.toContain('Draft about quokkas');
    });

    it('filters by type, area of focus, organisation and date', async () => {
      const browser = await as(null);
      expect((await browser.get('/search?q=quokka&type=news')).body).not.toContain(
        'Energy saving in the surgery',
      );
      expect(
        (await browser.get('/search?q=quokka&area=estates-and-facilities')).body,
      ).not.toContain('Quokka conservation news');
      expect((await browser.get('/search?q=quokka&organisation=C82002')).body).toContain(
        '0 results',
      );
      expect((await browser.get('/search?q=quokka&from=2000-01-01&to=2000-12-31')).body).toContain(
        '0 results',
      );
    });

    it('treats search syntax as plain words', async () => {
      for (const query of [
        'quokka"',
        'quokka OR',
        'NEAR(quokka)',
        'quokka*',
        "'; drop table content_items; --",
        'title:quokka',
        '!!!',
      ]) {
        const response = await (await as(null)).get(`/search?q=${encodeURIComponent(query)}`);
        expect(response.statusCode, query).toBe(200);
      }
    });

    it('filters by UK publication dates, as lists show them', async () => {
      const item = await create(editor, 'news', {
        title: 'Published just after midnight in summer',
        body: 'Wombat news.',
      });
      // 00:30 BST on 11 June 2026.
      await testApp.services.database.db
        .updateTable('content_items')
        .set({ published_at: '2026-06-10T23:30:00.000Z' })
        .where('id', '=', item.id)
        .execute();
      const browser = await as(null);
      const title = 'Published just after midnight in summer';
      const listed = await browser.get('/news?from=2026-06-11&to=2026-06-11');
      expect(listed.body).toContain(title);
      expect(listed.body).toContain('11 June 2026');
      expect((await browser.get('/news?to=2026-06-10')).body).not.toContain(title);
      expect((await browser.get('/news?from=2026-06-12')).body).not.toContain(title);
      expect((await browser.get('/search?q=wombat&from=2026-06-11')).body).toContain(title);
      expect((await browser.get('/search?q=wombat&to=2026-06-10')).body).not.toContain(title);
    });

    it('links a workspace page’s tags to the search, which lists what has the tag', async () => {
      await create(editor, 'page', {
        title: 'Hedgerow planting page',
        tags: 'hedgerows, Tree planting',
      });
      await create(editor, 'news', { title: 'Hedgerow news', tags: 'hedgerows' });
      await create(editor, 'news', {
        title: 'Members-only hedgerow news',
        tags: 'hedgerows',
        privacy: 'organisation',
      });
      const browser = await as(null);
      const page = await browser.get('/pages/hedgerow-planting-page');
      expect(page.body).toContain('href="/search?tag=hedgerows"');
      expect(page.body).toContain('href="/search?tag=tree%20planting"');
      expect(page.body).not.toContain('href="/pages?tag=');
      const tagged = await browser.get('/search?tag=hedgerows');
      expect(tagged.statusCode).toBe(200);
      expect(tagged.body).toContain('2 results tagged “hedgerows”');
      // Tags are stored in lower case; a filter typed otherwise finds them too.
      expect((await browser.get('/search?tag=Hedgerows')).body).toContain(
        '2 results tagged “hedgerows”',
      );
      expect(tagged.body).toContain('href="/pages/hedgerow-planting-page"');
      expect(tagged.body).toContain('Hedgerow news');
      expect(tagged.body).not.toContain('Members-only hedgerow news');
      expect((await (await as(member)).get('/search?tag=hedgerows')).body).toContain(
        'Members-only hedgerow news',
      );
      // Other kinds keep their own listing.
      const news = await browser.get('/news/hedgerow-news');
      expect(news.body).toContain('href="/news?tag=hedgerows"');
    });

    it('refuses a date that does not exist', async () => {
      for (const address of ['/search?q=x&from=2026-02-31', '/news?to=2026-04-31']) {
        const response = await (await as(null)).get(address);
        expect(response.statusCode, address).toBe(400);
        expect(response.body).toContain('must be a real date, such as 2026-06-11');
      }
      // The last day a four-digit year can write has no day after it to end the filter.
      const farAhead = await (await as(null)).get('/news?to=9999-12-31');
      expect(farAhead.statusCode).toBe(400);
      expect(farAhead.body).toContain('must be a date from 1900 to 2099');
    });

    it('says which search parameter is malformed', async () => {
      const response = await (await as(null)).get('/search?q=x&from=yesterday');
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain(
        'The &quot;from&quot; parameter must be a date written YYYY-MM-DD',
      );
    });
  });

  describe('feeds', () => {
    it('offers an Atom feed of public news that is well-formed XML', async () => {
      const feed = await (await as(null)).get('/news/feed.atom');
      expect(feed.headers['content-type']).toBe('application/atom+xml; charset=utf-8');
      expect(XMLValidator.validate(feed.body)).toBe(true);
      expect(feed.body).toContain('<feed xmlns="http://www.w3.org/2005/Atom">');
      expect(feed.body).toContain(
        'LLR ICS Green Plan sets out the system’s path to a net zero NHS',
      );
      expect(feed.body.match(/<entry>/g)!.length).toBeGreaterThanOrEqual(2);
    });

    it('tells feed readers when published news is corrected', async () => {
      const item = await create(editor, 'news', { title: 'Feed correction news' });
      const entryOf = (xml: string) =>
        /<entry>(?:(?!<\/entry>)[\s\S])*?Feed correction news[\s\S]*?<\/entry>/.exec(xml)![0];
      const before = entryOf((await (await as(null)).get('/news/feed.atom')).body);
      const published = /<published>([^<]+)<\/published>/.exec(before)![1]!;
      expect(before).toContain(`<updated>${published}</updated>`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      await testApp.services.content.update(
        await actorFor(testApp.services, editor.id),
        item.id,
        contentInput({ title: 'Feed correction news', summary: 'Corrected summary.' }),
        context,
      );
      const feed = (await (await as(null)).get('/news/feed.atom')).body;
      const updated = /<updated>([^<]+)<\/updated>/.exec(entryOf(feed))![1]!;
      expect(updated > published).toBe(true);
      // The feed as a whole changed then too.
      expect(/<feed[\s\S]*?<updated>([^<]+)<\/updated>/.exec(feed)![1]).toBe(updated);
    });

    it('offers an iCalendar file for each event', async () => {
      const ics = await (
        await as(null)
      ).get('/events/example-llr-green-champions-network-meeting/event.ics');
      expect(ics.headers['content-type']).toBe('text/calendar; charset=utf-8');
      expect(ics.body.startsWith('BEGIN:VCALENDAR\r\n')).toBe(true);
      expect(ics.body).toContain('BEGIN:VTIMEZONE\r\nTZID:Europe/London\r\n');
      expect(ics.body).toContain('DTSTART;TZID=Europe/London:20270120T130000\r\n');
      expect(ics.body).toContain('DTEND;TZID=Europe/London:20270120T143000\r\n');
      expect(ics.body.split('\r\n').every((line) => Buffer.byteLength(line) <= 75)).toBe(true);
    });
  });

  describe('stored XSS', () => {
    it(`renders ${xssPayloads.length} attack payloads inert in every text field`, async () => {
      expect(xssPayloads.length).toBeGreaterThanOrEqual(50);
      const actor = await actorFor(testApp.services, editor.id);
      for (const [index, payload] of xssPayloads.entries()) {
        const item = await testApp.services.content.create(
          actor,
          'case_study',
          contentInput({
            title: `XSS ${index} ${payload}`.slice(0, 200),
            summary: payload,
            body: `${payload}\n\n${payload}`,
            tags: payload.replace(/,/g, ' ').slice(0, 40),
            details: {
              problem: payload,
              whatWasDone: payload,
              results: payload,
              benefitToPeople: payload,
              contactName: payload.slice(0, 200),
            },
          }),
          context,
        );
        await testApp.services.content.publish(actor, item.id, context);
        for (const url of [
          `/case-studies/${item.slug}`,
          '/case-studies',
          `/search?q=xss+${index}`,
        ]) {
          const response = await (await as(null)).get(url);
          expect(response.statusCode, `${url} for payload ${index}`).toBe(200);
          expect(
            findActiveContent(response.body, nonceOf(response.body)),
            `${url} for payload ${index}: ${payload}`,
          ).toEqual([]);
        }
      }
      const editorView = await (await as(editor)).get('/content');
      expect(findActiveContent(editorView.body, nonceOf(editorView.body))).toEqual([]);
    });
  });
});

describe.each(testDialects)('coming-up events on %s, on a summer afternoon', (dialect) => {
  // 12:30 UTC on 10 June is 13:30 in the UK (BST).
  const summerAfternoon = new Date('2026-06-10T12:30:00.000Z');
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp(dialect, { services: { now: () => summerAfternoon } });
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('lists an event until it ends, comparing UK times with UK times', async () => {
    const { services } = testApp;
    const editor = await buildUser(services, {
      memberships: [{ organisationCode: 'C82001', role: 'editor' }],
    });
    const actor = await actorFor(services, editor.id);
    const events = {
      'Started at one, no end': { startsAt: '2026-06-10T13:00' },
      'All day, ends at five': { startsAt: '2026-06-10T10:00', endsAt: '2026-06-10T17:00' },
      'Starts at a quarter to two': { startsAt: '2026-06-10T13:45' },
      'Ended at one': { startsAt: '2026-06-10T09:00', endsAt: '2026-06-10T13:00' },
    };
    for (const [title, times] of Object.entries(events)) {
      const item = await services.content.create(
        actor,
        'event',
        contentInput({ title, details: { ...times, location: 'Leicester' } }),
        context,
      );
      await services.content.publish(actor, item.id, context);
    }
    const comingUp = await services.content.list(null, {
      type: 'event',
      timing: 'upcoming',
      limit: 50,
      offset: 0,
    });
    const titles = comingUp.items.map((item) => item.title);
    expect(titles).toContain('All day, ends at five');
    expect(titles).toContain('Starts at a quarter to two');
    expect(titles).not.toContain('Started at one, no end');
    expect(titles).not.toContain('Ended at one');
    // Past events are the rest, and only the rest: each event is in exactly one of the two lists.
    const past = await services.content.list(null, {
      type: 'event',
      timing: 'past',
      limit: 50,
      offset: 0,
    });
    const pastTitles = past.items.map((item) => item.title);
    expect(pastTitles).toContain('Started at one, no end');
    expect(pastTitles).toContain('Ended at one');
    expect(pastTitles).not.toContain('All day, ends at five');
    expect(pastTitles).not.toContain('Starts at a quarter to two');
    const all = await services.content.list(null, { type: 'event', limit: 50, offset: 0 });
    expect(past.total + comingUp.total).toBe(all.total);
  });
});

function streamOf(bytes: Buffer): Readable {
  return Readable.from([bytes]);
}
