import fs from 'node:fs/promises';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { expect, it } from 'vitest';
import { buildUser, type TestUser } from '../test/support/factories.ts';
import { describeJourneys } from './support/journeys.ts';
import { buildPdf, buildWebVtt, recordTestVideo } from './support/media-files.ts';
import { SignInPage } from './support/pages/account-pages.ts';
import {
  ContentDashboardPage,
  ContentFormPage,
  ContentItemPage,
  ContentListingPage,
  ContentManagePage,
  SearchResultsPage,
  type ContentEntry,
} from './support/pages/content-pages.ts';
import { skipToMainContent, tab } from './support/pages/keyboard.ts';
import { SiteHeader } from './support/pages/site-header.ts';
import { textOf, textsOf } from './support/pages/text.ts';
import type { Visitor } from './support/visitor.ts';

const practiceCode = 'C82001';
const practiceName = 'South Leicestershire Medical Group';

/** A word only the two new case studies contain, so search results are theirs alone. */
const searchWord = 'Kingfisher';

const publicCaseStudy = {
  title: 'Electric cargo bikes for pathology samples',
  slug: 'electric-cargo-bikes-for-pathology-samples',
  summary:
    'Our practice sends pathology samples to the hospital laboratory by electric cargo bike instead of by van.',
  problem:
    'A courier van drove **twice a day** from the practice to the laboratory, often half empty.',
  whatWasDone: [
    'A local cycle logistics firm now collects samples by electric cargo bike:',
    '',
    '- a rider collects at 11am and 3pm',
    '- the boxes are insulated and sealed',
  ].join('\n'),
  results: 'Van journeys fell by *nine in ten*, and samples reach the laboratory sooner.',
  carbon: '12.5',
  moreInformation: [
    '## How to start',
    '',
    `Our ${searchWord} branch surgery joined first. Talk to your **pathology provider** before anything else, then read about [travel and transport](/areas-of-focus/travel-and-transport).`,
    '',
    '- Check the courier contract',
    '- Ask about insulated boxes',
  ].join('\n'),
  area: 'Travel and transport',
};

const membersOnlyCaseStudy = {
  title: 'Staff car sharing between our surgeries',
  slug: 'staff-car-sharing-between-our-surgeries',
  summary: 'Staff who work at both of our surgeries share cars for the journeys between them.',
  whatWasDone: `A sign-up sheet pairs staff travelling between the main surgery and the ${searchWord} branch.`,
};

const seededNewsTitle = 'LLR ICS Green Plan sets out the system’s path to a net zero NHS';
const seededVideos = [
  { title: 'Dr Anna Murphy on green inhalers', slug: 'dr-anna-murphy-on-green-inhalers' },
  { title: 'Dr Gurnak Dosanjh on virtual wards', slug: 'dr-gurnak-dosanjh-on-virtual-wards' },
];

/** Signs a person in from the sign-in page, which returns them to `returnTo`. */
async function signIn(visitor: Visitor, user: TestUser, returnTo: string): Promise<void> {
  const page = new SignInPage(visitor);
  expect(await page.open(returnTo)).toBe(200);
  await visitor.checkPage();
  await page.signIn(user.email, user.password, returnTo);
  expect(visitor.status()).toBe(200);
  await visitor.checkPage();
}

/** From "Your content", starts a new item of this kind and returns its empty form. */
async function startNew(
  visitor: Visitor,
  linkText: string,
  type: string,
  heading: string,
): Promise<ContentFormPage> {
  const dashboard = new ContentDashboardPage(visitor);
  expect(await dashboard.heading()).toBe('Your content');
  await dashboard.startNew(linkText, type);
  expect(visitor.status()).toBe(200);
  await visitor.checkPage();
  const form = new ContentFormPage(visitor);
  expect(await form.heading()).toBe(heading);
  return form;
}

/** Searches from the header and returns the results page, checked. */
async function searchFromHeader(visitor: Visitor, words: string): Promise<SearchResultsPage> {
  await new SiteHeader(visitor).searchGreenspace(words);
  expect(visitor.status()).toBe(200);
  await visitor.checkPage();
  const results = new SearchResultsPage(visitor);
  expect(await results.heading()).toBe('Search Greenspace');
  expect(await results.query()).toBe(words);
  return results;
}

function titlesOf(entries: ContentEntry[]): string[] {
  return entries.map((entry) => entry.title);
}

describeJourneys('knowledge hub journeys', (suite) => {
  it('an editor writes, previews, files and publishes case studies; members and visitors find what they may read', async () => {
    const { server } = suite;
    const editor = await buildUser(server.services, {
      displayName: 'Morgan Reyes',
      memberships: [{ organisationCode: practiceCode, role: 'editor' }],
    });
    const member = await buildUser(server.services, {
      displayName: 'Jo Adebayo',
      memberships: [{ organisationCode: practiceCode, role: 'member' }],
    });
    const pdf = await buildPdf('travel-survey.pdf', 'Kingfisher travel survey', [
      'Samples collected by cargo bike: 412 in the first quarter.',
      'Van journeys avoided: 371.',
    ]);

    // 1. The editor signs in to "Your content" and starts a case study.
    const editorVisitor = await suite.openVisitor();
    const { page: editorPage } = editorVisitor;
    await signIn(editorVisitor, editor, '/content');
    const dashboard = new ContentDashboardPage(editorVisitor);
    expect(await dashboard.heading()).toBe('Your content');
    expect((await dashboard.newLinks()).map((link) => link.text)).toEqual([
      'New case study',
      'New video',
      'New document',
      'New news',
      'New event',
      'New page',
    ]);
    const form = await startNew(editorVisitor, 'New case study', 'case_study', 'New case study');
    expect(await form.chosenPrivacy()).toBe('Everyone (public)');
    expect(await form.checkedAreas()).toEqual([]);
    await form.fill({
      title: publicCaseStudy.title,
      summary: publicCaseStudy.summary,
      details: {
        'The problem': publicCaseStudy.problem,
        'What was done': publicCaseStudy.whatWasDone,
        Results: publicCaseStudy.results,
        'Carbon saved (tonnes CO2e a year)': publicCaseStudy.carbon,
      },
      body: { label: 'More information (optional)', text: publicCaseStudy.moreInformation },
      areas: [publicCaseStudy.area],
      privacy: 'Everyone (public)',
    });

    // The preview renders the Markdown and keeps everything typed; nothing is saved yet.
    expect(await form.previewSection.count()).toBe(0);
    await form.preview('/content');
    expect(editorVisitor.status()).toBe(200);
    await editorVisitor.checkPage();
    expect(await textOf(form.previewSection.locator('h2').first())).toBe('Preview');
    expect(await form.previewHeadings()).toEqual([
      'The problem',
      'What was done',
      'Results',
      'More information',
    ]);
    expect(await textsOf(form.previewOf('The problem').locator('strong'))).toEqual(['twice a day']);
    expect(await textsOf(form.previewOf('Results').locator('em'))).toEqual(['nine in ten']);
    const moreInformation = form.previewOf('More information');
    expect(await textsOf(moreInformation.locator('h2'))).toEqual(['How to start']);
    expect(await textsOf(moreInformation.locator('strong'))).toEqual(['pathology provider']);
    expect(await textsOf(moreInformation.locator('li'))).toEqual([
      'Check the courier contract',
      'Ask about insulated boxes',
    ]);
    expect(
      await moreInformation
        .getByRole('link', { name: 'travel and transport', exact: true })
        .getAttribute('href'),
    ).toBe('/areas-of-focus/travel-and-transport');
    expect(await textOf(form.previewSection)).not.toContain('**');
    expect(await textOf(form.previewSection)).toContain('Nothing has been saved yet.');
    expect(await form.field('Title').inputValue()).toBe(publicCaseStudy.title);
    expect(await form.field('What was done').inputValue()).toBe(publicCaseStudy.whatWasDone);
    expect(await form.field('More information (optional)').inputValue()).toBe(
      publicCaseStudy.moreInformation,
    );
    expect(await form.checkedAreas()).toEqual([publicCaseStudy.area]);
    expect(await form.chosenPrivacy()).toBe('Everyone (public)');

    const firstId = await form.save();
    expect(editorVisitor.status()).toBe(200);
    await editorVisitor.checkPage();
    const manage = new ContentManagePage(editorVisitor, firstId);
    expect(await manage.notice()).toBe('Your changes have been saved.');
    expect(await manage.heading()).toBe(publicCaseStudy.title);
    expect(await manage.caption()).toBe('Case study · Draft');
    expect(await manage.summary('Who can see it')).toBe('Everyone (public)');
    expect(await manage.summary('Organisation')).toBe(practiceName);
    expect(await manage.files()).toEqual([]);
    // A draft has no public page yet.
    expect(await editorPage.getByRole('link', { name: 'View the published page' }).count()).toBe(0);

    // The editor attaches the PDF through the file chooser, then publishes.
    expect(await manage.fileRoleOptions()).toEqual([
      'A document to go with it (PDF or Office file)',
    ]);
    await manage.upload(
      'A document to go with it (PDF or Office file)',
      pdf,
      'Kingfisher travel survey',
    );
    expect(editorVisitor.status()).toBe(200);
    await editorVisitor.checkPage();
    expect(await manage.notice()).toBe('The file has been added.');
    expect(await manage.files()).toEqual([
      expect.stringMatching(/^Kingfisher travel survey \(attachment, PDF, \d+ (bytes|KB)\)$/),
    ]);
    await manage.publish();
    expect(editorVisitor.status()).toBe(200);
    await editorVisitor.checkPage();
    expect(await manage.notice()).toBe('Published.');
    expect(await manage.caption()).toBe('Case study · Published');

    // The revision history, and what changed from one revision to the next, meet the same checks.
    expect(await editorVisitor.goto(`/content/${firstId}/revisions`)).toBe(200);
    await editorVisitor.checkPage();
    await editorPage.getByRole('link', { name: 'Changes from revision 1' }).click();
    expect(editorVisitor.status()).toBe(200);
    await editorVisitor.checkPage();
    expect(await editorPage.locator('main h1').textContent()).toBe('Changes from revision 1 to 2');
    expect(await editorVisitor.goto(`/content/${firstId}`)).toBe(200);
    await editorVisitor.checkPage();

    // The published page shows the case study, rendered, with its document.
    const publicPath = `/case-studies/${publicCaseStudy.slug}`;
    await manage.viewPublishedPage(publicPath);
    expect(editorVisitor.status()).toBe(200);
    await editorVisitor.checkPage();
    const item = new ContentItemPage(editorVisitor);
    expect(await item.heading()).toBe(publicCaseStudy.title);
    expect(await item.caption()).toBe('Case study');
    expect(await item.resultAtAGlance('Carbon saved')).toBe('12.5 tCO2e a year');
    expect(await textsOf(item.section('The problem').locator('strong'))).toEqual(['twice a day']);
    expect(await textsOf(item.section('What was done').locator('li'))).toEqual([
      'a rider collects at 11am and 3pm',
      'the boxes are insulated and sealed',
    ]);
    expect(await textsOf(item.section('Results').locator('em'))).toEqual(['nine in ten']);
    expect(await item.facts()).toMatchObject({
      From: practiceName,
      'Who can see it': 'Everyone (public)',
      'Areas of focus': publicCaseStudy.area,
    });
    const documents = await item.documents();
    expect(documents).toEqual([
      {
        text: 'Kingfisher travel survey',
        href: expect.stringMatching(new RegExp(`^/content/${firstId}/files/[0-9a-f-]{36}$`)),
      },
    ]);
    expect(await textOf(item.documentsList().locator('li'))).toMatch(
      /^Kingfisher travel survey \(PDF, \d+ (bytes|KB)\)$/,
    );

    // Downloading it: the browser saves the same bytes under the uploaded name, and the server
    // says it is a PDF to be saved, not shown.
    const [download] = await Promise.all([
      editorPage.waitForEvent('download'),
      item
        .documentsList()
        .getByRole('link', { name: 'Kingfisher travel survey', exact: true })
        .click(),
    ]);
    expect(download.suggestedFilename()).toBe('travel-survey.pdf');
    expect((await fs.readFile(await download.path())).equals(pdf.buffer)).toBe(true);
    const downloaded = await editorPage.request.get(documents[0]!.href);
    expect(downloaded.status()).toBe(200);
    expect(downloaded.headers()['content-type']).toBe('application/pdf');
    expect(downloaded.headers()['content-disposition']).toMatch(
      /^attachment;.*filename="?travel-survey\.pdf"?/,
    );
    const body = await downloaded.body();
    expect(body.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(body.equals(pdf.buffer)).toBe(true);

    // 2. A second case study, for the practice's members only.
    expect(await editorVisitor.goto('/content')).toBe(200);
    await editorVisitor.checkPage();
    expect(await dashboard.items()).toEqual([
      { title: publicCaseStudy.title, type: 'Case study', status: 'Published' },
    ]);
    const secondForm = await startNew(
      editorVisitor,
      'New case study',
      'case_study',
      'New case study',
    );
    await secondForm.fill({
      title: membersOnlyCaseStudy.title,
      summary: membersOnlyCaseStudy.summary,
      details: { 'What was done': membersOnlyCaseStudy.whatWasDone },
      privacy: 'Members of one organisation (the organisation above)',
    });
    const secondId = await secondForm.save();
    expect(editorVisitor.status()).toBe(200);
    await editorVisitor.checkPage();
    const secondManage = new ContentManagePage(editorVisitor, secondId);
    expect(await secondManage.summary('Who can see it')).toBe('Members of one organisation');
    await secondManage.publish();
    expect(editorVisitor.status()).toBe(200);
    await editorVisitor.checkPage();
    expect(await secondManage.caption()).toBe('Case study · Published');
    const membersOnlyPath = `/case-studies/${membersOnlyCaseStudy.slug}`;
    await secondManage.viewPublishedPage(membersOnlyPath);
    expect(editorVisitor.status()).toBe(200);
    await editorVisitor.checkPage();
    expect(await item.facts()).toMatchObject({ 'Who can see it': 'Members of one organisation' });

    // 3. A member of the practice, in another browser, searches from the header.
    const memberVisitor = await suite.openVisitor();
    await signIn(memberVisitor, member, '/');
    const memberResults = await searchFromHeader(memberVisitor, searchWord);
    expect(await memberResults.resultsHeading()).toBe(`2 results for “${searchWord}”`);
    const memberHits = await memberResults.results();
    expect(titlesOf(memberHits).sort()).toEqual(
      [publicCaseStudy.title, membersOnlyCaseStudy.title].sort(),
    );
    for (const hit of memberHits) {
      // The snippet comes from the text, with the word searched for highlighted.
      expect(hit.marked, `highlighted words of ${hit.title}`).toEqual([searchWord]);
      expect(hit.text).toContain(searchWord);
    }
    const publicHit = memberHits.find((hit) => hit.title === publicCaseStudy.title)!;
    const membersOnlyHit = memberHits.find((hit) => hit.title === membersOnlyCaseStudy.title)!;
    expect(publicHit.href).toBe(publicPath);
    expect(publicHit.text).toContain(`Our ${searchWord} branch surgery joined first.`);
    expect(publicHit.meta).not.toContain('Members only');
    expect(membersOnlyHit.href).toBe(membersOnlyPath);
    expect(membersOnlyHit.meta).toContain('Members only');
    await memberResults.openResult(membersOnlyHit);
    expect(memberVisitor.status()).toBe(200);
    await memberVisitor.checkPage();
    const memberItem = new ContentItemPage(memberVisitor);
    expect(await memberItem.heading()).toBe(membersOnlyCaseStudy.title);
    expect(await textOf(memberItem.section('What was done'))).toBe(
      membersOnlyCaseStudy.whatWasDone,
    );
    // Members see their practice's members-only case study in the listing, labelled.
    const memberListing = new ContentListingPage(memberVisitor);
    expect(await memberListing.open('/case-studies')).toBe(200);
    await memberVisitor.checkPage();
    const memberEntries = await memberListing.entries();
    expect(
      memberEntries.find((entry) => entry.title === membersOnlyCaseStudy.title)?.meta,
    ).toContain('Members only');
    expect(titlesOf(memberEntries)).toContain(publicCaseStudy.title);

    // 4. A signed-out visitor finds the public case study only.
    const visitor = await suite.openVisitor();
    expect(await visitor.goto('/')).toBe(200);
    await visitor.checkPage();
    const visitorResults = await searchFromHeader(visitor, searchWord);
    expect(await visitorResults.resultsHeading()).toBe(`1 result for “${searchWord}”`);
    const visitorHits = await visitorResults.results();
    expect(titlesOf(visitorHits)).toEqual([publicCaseStudy.title]);
    expect(visitorHits[0]!.marked).toEqual([searchWord]);
    await visitorResults.openResult(visitorHits[0]!);
    expect(visitor.status()).toBe(200);
    await visitor.checkPage();
    expect(await new ContentItemPage(visitor).documents()).toEqual(documents);

    // The members-only page's address is not found, as if it did not exist.
    expect(await visitor.goto(membersOnlyPath)).toBe(404);
    await visitor.checkPage();
    expect(await textOf(visitor.page.locator('main h1'))).toBe('Page not found');
    expect(await textOf(visitor.page.locator('main'))).not.toContain(membersOnlyCaseStudy.title);

    const listing = new ContentListingPage(visitor);
    expect(await listing.open('/case-studies')).toBe(200);
    await visitor.checkPage();
    expect(await listing.heading()).toBe('Case studies');
    const entries = await listing.entries();
    expect(titlesOf(entries)).toContain(publicCaseStudy.title);
    expect(titlesOf(entries)).not.toContain(membersOnlyCaseStudy.title);
    for (const entry of entries) expect(entry.meta, entry.title).not.toContain('Members only');
    expect(await listing.resultsHeading()).toBe(`${entries.length} case studies`);
    // The member's listing had exactly one more: the members-only case study.
    expect(memberEntries).toHaveLength(entries.length + 1);
  }, 240_000);

  it('the news listing links to an Atom feed that is well-formed and lists the seeded news', async () => {
    const { server } = suite;
    const visitor = await suite.openVisitor();
    const news = new ContentListingPage(visitor);
    expect(await news.open('/news')).toBe(200);
    await visitor.checkPage();
    expect(await news.heading()).toBe('News');
    const entries = await news.entries();
    const seeded = entries.find((entry) => entry.title === seededNewsTitle);
    expect(seeded, 'the seeded news item in the listing').toBeDefined();
    expect(await news.feedLinks()).toEqual([{ text: 'News feed (Atom)', href: '/news/feed.atom' }]);
    expect(await news.announcedFeeds()).toEqual([
      { title: 'Greenspace news', href: '/news/feed.atom' },
    ]);

    const response = await visitor.page.request.get('/news/feed.atom');
    expect(response.status()).toBe(200);
    expect(response.headers()['content-type']).toBe('application/atom+xml; charset=utf-8');
    const xml = await response.text();
    expect(XMLValidator.validate(xml)).toBe(true);
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' }).parse(
      xml,
    ) as {
      feed: {
        '@xmlns': string;
        title: string;
        link: { '@rel': string; '@href': string }[];
        entry: AtomEntry | AtomEntry[];
      };
    };
    expect(parsed.feed['@xmlns']).toBe('http://www.w3.org/2005/Atom');
    expect(parsed.feed.title).toBe('Greenspace news');
    expect(parsed.feed.link).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ '@rel': 'self', '@href': server.url('/news/feed.atom') }),
        expect.objectContaining({ '@rel': 'alternate', '@href': server.url('/news') }),
      ]),
    );
    const feedEntries = [parsed.feed.entry].flat();
    expect(feedEntries.length).toBe(entries.length);
    const entry = feedEntries.find((candidate) => candidate.title['#text'] === seededNewsTitle);
    expect(entry, 'the seeded news item in the feed').toBeDefined();
    expect(entry!.link['@href']).toBe(server.url(seeded!.href));
    expect(entry!.summary['#text']).toBe(seeded!.text);

    // The entry's link opens the news item.
    expect(await visitor.goto(new URL(entry!.link['@href']).pathname)).toBe(200);
    await visitor.checkPage();
    expect(await new ContentItemPage(visitor).heading()).toBe(seededNewsTitle);
  });

  it('a video with captions and a transcript can be reached and played with the keyboard', async () => {
    const { server } = suite;
    const editor = await buildUser(server.services, {
      displayName: 'Sam Whitfield',
      memberships: [{ organisationCode: practiceCode, role: 'editor' }],
    });
    const editorVisitor = await suite.openVisitor();
    const { page } = editorVisitor;
    const video = await recordTestVideo(page.context());
    const captions = buildWebVtt('talk.vtt', [
      ['00:00.000', '00:00.200', 'Welcome to the cargo bike depot.'],
      ['00:00.200', '00:01.000', 'Every box is sealed before it leaves.'],
    ]);
    const title = 'A ride with the pathology cargo bike';
    const slug = 'a-ride-with-the-pathology-cargo-bike';

    await signIn(editorVisitor, editor, '/content');
    const form = await startNew(editorVisitor, 'New video', 'video', 'New video');
    await form.fill({
      title,
      summary: 'A short film of samples leaving the practice by electric cargo bike.',
      details: {
        Speaker: 'Morgan Reyes',
        'Length in minutes': '1',
        Transcript: [
          '**Morgan Reyes:** Welcome to the cargo bike depot.',
          '',
          'Every box is sealed before it leaves. Read [the case study](/case-studies) for the figures.',
        ].join('\n'),
      },
      areas: ['Travel and transport'],
      privacy: 'Everyone (public)',
    });
    const id = await form.save();
    expect(editorVisitor.status()).toBe(200);
    await editorVisitor.checkPage();
    const manage = new ContentManagePage(editorVisitor, id);
    expect(await manage.fileRoleOptions()).toEqual([
      'The video (MP4 or WebM)',
      'Captions (WebVTT)',
      'Poster image (PNG, JPEG, GIF or WebP)',
      'A document to go with it (PDF or Office file)',
    ]);
    await manage.upload('The video (MP4 or WebM)', video);
    expect(editorVisitor.status()).toBe(200);
    await editorVisitor.checkPage();
    // A video file without captions cannot be published.
    await manage.publish(`/content/${id}/publish`);
    expect(editorVisitor.status()).toBe(400);
    await editorVisitor.checkPage();
    expect(await manage.publishProblem()).toBe(
      'Add a WebVTT captions file before publishing the video',
    );
    expect(await manage.caption()).toBe('Video · Draft');
    await manage.upload('Captions (WebVTT)', captions, 'English');
    expect(editorVisitor.status()).toBe(200);
    await editorVisitor.checkPage();
    expect(await manage.files()).toEqual([
      expect.stringMatching(
        new RegExp(
          `^talk\\.${video.extension} \\(video, ${video.extension.toUpperCase()}, \\d+ (bytes|KB)\\)$`,
        ),
      ),
      expect.stringMatching(/^English \(captions, VTT, \d+ bytes\)$/),
    ]);
    await manage.publish();
    expect(editorVisitor.status()).toBe(200);
    await editorVisitor.checkPage();
    expect(await manage.caption()).toBe('Video · Published');

    // A signed-out visitor opens the video page.
    const visitor = await suite.openVisitor();
    expect(await visitor.goto(`/videos/${slug}`)).toBe(200);
    await visitor.checkPage();
    const item = new ContentItemPage(visitor);
    expect(await item.heading()).toBe(title);
    const player = item.video;
    expect(await player.count()).toBe(1);
    expect(await player.getAttribute('controls')).toBe('');
    expect(await player.locator('source').getAttribute('type')).toBe(video.contentType);
    expect(await textOf(visitor.page.locator('#video-help'))).toBe(
      "Captions are available: use the player's captions button. The full transcript is below.",
    );
    expect(await textsOf(item.transcript.locator('strong'))).toEqual(['Morgan Reyes:']);

    // The captions track: in the markup, served as WebVTT, and seen by the browser with its cues.
    const track = player.locator('track');
    expect(await track.count()).toBe(1);
    expect(await track.getAttribute('kind')).toBe('captions');
    expect(await track.getAttribute('srclang')).toBe('en');
    expect(await track.getAttribute('label')).toBe('English');
    const captionsResponse = await visitor.page.request.get((await track.getAttribute('src'))!);
    expect(captionsResponse.status()).toBe(200);
    expect(captionsResponse.headers()['content-type']).toMatch(/^text\/vtt(;|$)/);
    const captionsText = await captionsResponse.text();
    expect(captionsText.startsWith('WEBVTT')).toBe(true);
    expect(captionsText).toBe(captions.buffer.toString('utf8'));
    await expect
      .poll(
        () => player.evaluate(mediaState).then((state) => state.captionTracks[0]?.cues.length),
        {
          timeout: 10_000,
        },
      )
      .toBe(2);
    const loaded = await player.evaluate(mediaState);
    expect(loaded.textTrackCount).toBe(1);
    expect(loaded.captionTracks).toEqual([
      {
        kind: 'captions',
        language: 'en',
        label: 'English',
        mode: 'showing',
        cues: ['Welcome to the cargo bike depot.', 'Every box is sealed before it leaves.'],
      },
    ]);
    // The uploaded recording itself loads: the browser knows its picture size.
    await expect
      .poll(() => player.evaluate(mediaState).then((state) => state.readyState), {
        timeout: 10_000,
      })
      .toBeGreaterThanOrEqual(1);
    const ready = await player.evaluate(mediaState);
    expect(ready.error).toBeNull();
    expect(ready.size).toEqual({ width: video.width, height: video.height });

    // Keyboard only: from the skip link, Tab reaches the player, then its controls, the first of
    // which (play) starts the video with Enter; it plays to the end.
    await skipToMainContent(visitor);
    const first = await tab(visitor);
    expect(first.tag, `the first Tab in the main content reached ${JSON.stringify(first)}`).toBe(
      'video',
    );
    const playButton = await tab(visitor);
    expect(playButton.tag, 'the player keeps focus on its controls').toBe('video');
    expect((await player.evaluate(mediaState)).paused).toBe(true);
    await visitor.page.keyboard.press('Enter');
    await expect
      .poll(() => player.evaluate(mediaState).then((state) => state.ended), { timeout: 10_000 })
      .toBe(true);
    expect((await player.evaluate(mediaState)).currentTime).toBeGreaterThan(0);

    // Tab goes on through the player's controls and then to the transcript, with nothing between.
    const stops = [first, playButton];
    while (stops.length < 20 && (await item.transcript.locator(':focus').count()) === 0) {
      stops.push(await tab(visitor));
    }
    const path = stops.map((stop) => (stop.tag === 'a' ? `link "${stop.text}"` : stop.tag));
    expect(await item.transcript.locator(':focus').count(), `Tab stops: ${path.join(', ')}`).toBe(
      1,
    );
    expect(stops.at(-1)).toMatchObject({ tag: 'a', text: 'the case study' });
    expect(new Set(path.slice(0, -1)), `Tab stops: ${path.join(', ')}`).toEqual(new Set(['video']));
  }, 120_000);

  it('the seeded videos, which have no file, show their transcript placeholder and no player', async () => {
    const visitor = await suite.openVisitor();
    const listing = new ContentListingPage(visitor);
    expect(await listing.open('/videos')).toBe(200);
    await visitor.checkPage();
    const entries = await listing.entries();
    for (const seeded of seededVideos) {
      const entry = entries.find((candidate) => candidate.title === seeded.title);
      expect(entry, `${seeded.title} in the listing`).toBeDefined();
      expect(entry!.href).toBe(`/videos/${seeded.slug}`);
    }
    for (const seeded of seededVideos) {
      expect(await listing.open('/videos')).toBe(200);
      await visitor.checkPage();
      await listing.openEntry((await listing.entries()).find((e) => e.title === seeded.title)!);
      expect(visitor.status()).toBe(200);
      await visitor.checkPage();
      const item = new ContentItemPage(visitor);
      expect(await item.heading()).toBe(seeded.title);
      expect(await item.video.count()).toBe(0);
      expect(await visitor.page.locator('track').count()).toBe(0);
      expect(await item.inset()).toEqual([
        expect.stringContaining(
          'The video file is not available on Greenspace yet. The transcript below gives its content.',
        ),
      ]);
      expect(await textsOf(item.transcript.locator('strong'))).toEqual(['Transcript placeholder.']);
      expect(await textOf(item.transcript)).toContain('has not been added to Greenspace yet');
    }
  });
});

interface AtomEntry {
  title: { '#text': string };
  link: { '@href': string };
  summary: { '#text': string };
}

/** What a page's `<video>` element says about itself; runs in the browser. */
function mediaState(element: unknown) {
  // The project's TypeScript has no DOM library: describe the little used here.
  const media = element as {
    readyState: number;
    paused: boolean;
    ended: boolean;
    currentTime: number;
    videoWidth: number;
    videoHeight: number;
    error: { code: number } | null;
    textTracks: ArrayLike<{
      kind: string;
      language: string;
      label: string;
      mode: string;
      cues: ArrayLike<{ text: string }> | null;
    }>;
  };
  const tracks = Array.from(media.textTracks);
  return {
    readyState: media.readyState,
    paused: media.paused,
    ended: media.ended,
    currentTime: media.currentTime,
    size: { width: media.videoWidth, height: media.videoHeight },
    error: media.error ? media.error.code : null,
    textTrackCount: tracks.length,
    captionTracks: tracks
      .filter((track) => track.kind === 'captions')
      .map((track) => ({
        kind: track.kind,
        language: track.language,
        label: track.label,
        mode: track.mode,
        cues: Array.from(track.cues ?? [], (cue) => cue.text),
      })),
  };
}
