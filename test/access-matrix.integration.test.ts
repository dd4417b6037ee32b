import { Readable } from 'node:stream';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteTableEntry } from '../src/web/authentication.ts';
import {
  actorFor,
  buildUser,
  createPrivateWorkspace,
  currentTotp,
  type TestUser,
} from './support/factories.ts';
import { HttpAgent, signInAs } from './support/http-agent.ts';
import { createTestApp, type TestApp } from './support/test-app.ts';
import { testDialects } from './support/test-database.ts';
import { SMALL_PDF } from '../src/modules/green-plans/green-plan.test-helpers.ts';
import {
  answerDone,
  bronzeCodes,
} from '../src/modules/greener-practice/greener-practice.test-helpers.ts';

/**
 * Generated from the route table: every route that needs a signed-in user, and every route that
 * changes state, is tried by people who must be refused — an anonymous visitor, someone with the
 * wrong role, someone from another organisation — and must answer with a redirect to sign in, 403
 * or 404, changing nothing. A route added later is covered without touching this file; one with a
 * path parameter this file has no example for fails until one is added below.
 */

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const TARGET_ORGANISATION = 'C82001';

/** Plausible form fields, so a refusal cannot come from a validation error instead of the policy. */
const plausibleFields: Record<string, string> = {
  role: 'editor',
  decision: 'approve',
  note: 'note',
  email: 'someone.new@example.nhs.net',
  message: 'Please let me join',
  displayName: 'Changed Name',
  newEmail: 'changed@example.nhs.net',
  password: 'Correct horse battery staple 42',
  currentPassword: 'Correct horse battery staple 42',
  newPassword: 'Another long passphrase 99',
  confirmPassword: 'Another long passphrase 99',
  code: '123456',
};

function isRefusal(response: LightMyRequestResponse): boolean {
  if (response.statusCode === 403 || response.statusCode === 404) return true;
  return response.statusCode === 303 && String(response.headers.location).startsWith('/sign-in');
}

describe.each(testDialects)('access to every route on %s', (dialect) => {
  let testApp: TestApp;
  let routes: RouteTableEntry[];
  let params: Record<string, string>;
  const people: Record<string, TestUser> = {};
  const browsers: Record<string, HttpAgent> = {};
  const greenPlan = { planId: '', actionId: '' };
  const discussion = { threadId: '', postId: '' };
  const assessment = { fileId: '', submissionId: '' };
  const content = { id: '', before: undefined as unknown };

  /** The content item as stored: its row, files and comments, to compare before and after. */
  async function contentState(id: string) {
    const db = testApp.services.database.db;
    return {
      item: await db
        .selectFrom('content_items')
        .select(['title', 'status', 'privacy', 'revision', 'published_at', 'workspace_id'])
        .where('id', '=', id)
        .executeTakeFirst(),
      files: await db
        .selectFrom('content_files')
        .select('id')
        .where('content_id', '=', id)
        .execute(),
      revisions: await db
        .selectFrom('content_revisions')
        .select('revision_number')
        .where('content_id', '=', id)
        .execute(),
    };
  }

  beforeAll(async () => {
    testApp = await createTestApp(dialect);
    routes = testApp.app.routeTable;
    const { services } = testApp;
    people.admin = await buildUser(services, {
      memberships: [{ organisationCode: TARGET_ORGANISATION, role: 'org_admin' }],
    });
    people.member = await buildUser(services, {
      memberships: [{ organisationCode: TARGET_ORGANISATION, role: 'member' }],
    });
    people.outsider = await buildUser(services);
    people.otherAdmin = await buildUser(services, {
      memberships: [{ organisationCode: 'C82002', role: 'org_admin' }],
    });
    people.platformAdmin = await buildUser(services, { platformAdmin: true });
    people.requester = await buildUser(services);
    const context = { ip: '127.0.0.1', userAgent: 'matrix' };
    await services.memberships.requestToJoin(
      await actorFor(services, people.requester.id),
      TARGET_ORGANISATION,
      'hello',
      context,
    );
    const adminActor = await actorFor(services, people.admin!.id);
    await services.memberships.invite(
      adminActor,
      TARGET_ORGANISATION,
      { email: 'invited@example.nhs.net', role: 'member' },
      context,
    );
    const [pending] = await services.memberships.listJoinRequests(adminActor, TARGET_ORGANISATION);
    const [invitation] = await services.memberships.listInvitations(
      adminActor,
      TARGET_ORGANISATION,
    );
    const contentItem = await services.content.create(
      adminActor,
      'case_study',
      {
        title: 'Access matrix case study',
        summary: 'Owned by the target organisation',
        body: '',
        privacy: 'public',
        workspaceId: '',
        organisationCode: TARGET_ORGANISATION,
        areas: [],
        organisationTags: '',
        tags: '',
        details: {},
      },
      context,
    );
    // A published plan of the ICB with an action led by the target organisation: only its editors,
    // its admins and the ICS admins may change the action.
    const platformActor = await actorFor(services, people.platformAdmin.id);
    greenPlan.planId = await services.greenPlans.createPlan(
      platformActor,
      {
        title: 'Access matrix plan',
        description: '',
        ownerOrganisationCode: 'QK1',
        periodStart: '2024-04-01',
        periodEnd: '2027-03-31',
        status: 'published',
      },
      context,
    );
    greenPlan.actionId = await services.greenPlans.createAction(
      platformActor,
      greenPlan.planId,
      {
        reference: 'AM-01',
        area: 'medicines',
        title: 'Access matrix action',
        lead_organisation: TARGET_ORGANISATION,
        status: 'on_track',
        progress_percent: '10',
      },
      context,
    );
    await services.greenPlans.addMilestone(
      platformActor,
      greenPlan.planId,
      greenPlan.actionId,
      { title: 'Access matrix milestone', dueDate: '2026-12-31' },
      context,
    );
    const kpiId = await services.greenPlans.createKpi(
      platformActor,
      greenPlan.planId,
      {
        reference: 'AM-KPI',
        name: 'Access matrix KPI',
        description: '',
        unit: 'tCO2e',
        direction: 'decrease',
        baselineValue: '100',
        baselineDate: '2024-04-01',
        targets: '2030-03-31 20',
      },
      context,
    );
    const planAction = await services.greenPlans.getAction(
      platformActor,
      greenPlan.planId,
      greenPlan.actionId,
    );
    // A private workspace: the target organisation's admin manages it and its member belongs to
    // it; everyone else must not even learn that it exists.
    const matrixWorkspace = await createPrivateWorkspace(services, 'matrix-private');
    await services.database.db.transaction().execute(async (trx) => {
      await services.workspaces.addMember(trx, matrixWorkspace.id, people.admin!.id, 'manager');
      await services.workspaces.addMember(trx, matrixWorkspace.id, people.member!.id, 'member');
    });
    const managerActor = await actorFor(services, people.admin.id);
    const { threadId } = await services.discussions.createThread(
      managerActor,
      'matrix-private',
      { title: 'Matrix thread', kind: 'question', body: 'The opening post', area: '' },
      context,
    );
    const { postId } = await services.discussions.reply(
      await actorFor(services, people.member.id),
      { threadSlug: 'matrix-private', threadId },
      { body: 'A reply' },
      context,
    );
    discussion.threadId = threadId;
    discussion.postId = postId;
    // A Greener General Practice submission of the target practice, made by its admin (who keeps
    // its assessment), with an evidence file: only ICS verifiers may decide it.
    const ggp = services.greenerPractice;
    await ggp.startAssessment(adminActor, TARGET_ORGANISATION, context);
    await answerDone(
      services,
      adminActor,
      TARGET_ORGANISATION,
      bronzeCodes((await ggp.getFramework()).framework),
    );
    await ggp.saveAnswer(
      adminActor,
      TARGET_ORGANISATION,
      'WR-01',
      { status: 'done', note: 'Waste audit of 3 June, results attached.', notApplicableReason: '' },
      [await services.files.receiveUpload(Readable.from([SMALL_PDF]), 'evidence', 'audit.pdf')],
      context,
    );
    assessment.submissionId = await ggp.submit(
      adminActor,
      TARGET_ORGANISATION,
      { level: 'bronze', confirm: 'yes' },
      context,
    );
    assessment.fileId = (
      await ggp.getActionPage(adminActor, TARGET_ORGANISATION, 'WR-01')
    ).evidence[0]!.file_id;
    content.id = contentItem.id;
    content.before = await contentState(contentItem.id);
    params = {
      slug: 'matrix-private',
      threadId,
      postId,
      workspaceRequestId: '00000000-0000-4000-8000-000000000000',
      identityId: '00000000-0000-4000-8000-000000000000',
      planId: greenPlan.planId,
      actionId: greenPlan.actionId,
      milestoneId: planAction.action.milestones[0]!.id,
      kpiId,
      code: TARGET_ORGANISATION,
      userId: people.member.id,
      requestId: pending!.id,
      invitationId: invitation!.id,
      id: contentItem.id,
      actionCode: 'WR-01',
      fileId: assessment.fileId,
      submissionId: assessment.submissionId,
    };

    browsers.anonymous = new HttpAgent(testApp.app);
    await browsers.anonymous.get('/');
    for (const name of ['admin', 'member', 'outsider', 'otherAdmin', 'platformAdmin'] as const) {
      const person = people[name]!;
      browsers[name] = new HttpAgent(testApp.app);
      await signInAs(browsers[name]!, person, () => currentTotp(person));
    }
  });

  afterAll(async () => {
    await testApp.close();
  });

  function concreteUrl(route: RouteTableEntry): string {
    return route.url.replace(/:([A-Za-z]+)/g, (_match, name: string) => {
      const value = params[name];
      if (!value)
        throw new Error(
          `No example value for :${name} in ${route.url}: add one to the access matrix`,
        );
      return value;
    });
  }

  async function attempt(
    browser: HttpAgent,
    route: RouteTableEntry,
    options: { csrf?: boolean } = {},
  ) {
    const url = concreteUrl(route);
    if (route.method === 'GET') return browser.get(url);
    return browser.post(url, plausibleFields, { csrf: options.csrf ?? true });
  }

  /** Who must be refused by a route, given its declared audience. */
  function mustRefuse(route: RouteTableEntry): string[] {
    // A plan and everything in it belong to the target organisation (or the ICB above it).
    const hasOrganisation = route.url.includes(':code') || route.url.includes(':planId');
    switch (route.audience) {
      case 'self':
      case 'any-user':
        return ['anonymous'];
      case 'organisation-member':
        return ['anonymous', 'outsider', ...(hasOrganisation ? ['otherAdmin'] : [])];
      case 'organisation-admin':
        return ['anonymous', 'member', ...(hasOrganisation ? ['otherAdmin'] : [])];
      case 'platform-admin':
        return ['anonymous', 'member', 'admin'];
      case 'organisation-editor':
        return ['anonymous', 'member', 'outsider', ...(hasOrganisation ? ['otherAdmin'] : [])];
      case 'workspace-member':
        // `:slug` is a private workspace and `:postId` a post in it: outsiders must not get in.
        return ['anonymous', 'outsider', 'otherAdmin'];
      case 'workspace-manager':
        return ['anonymous', 'member', 'outsider', 'otherAdmin'];
      case 'green-champion':
        // `:code` is the target practice: only those who keep its assessment may change it.
        return ['anonymous', 'member', 'outsider', ...(hasOrganisation ? ['otherAdmin'] : [])];
      case 'assessment-verifier':
        // Only ICS verifiers (and ICS admins) decide submissions; a practice's own admin may not.
        return ['anonymous', 'member', 'admin', 'outsider', 'otherAdmin'];
      case 'content-editor':
        // `:id` is a content item of the target organisation: an editor elsewhere may not touch it.
        return ['anonymous', 'member', ...(route.url.includes(':id') ? ['otherAdmin'] : [])];
      default:
        throw new Error(
          `No refusal rule for the audience "${route.audience}" of ${route.url}: add one here`,
        );
    }
  }

  it('has a route table that declares every signed-in route with its audience', () => {
    expect(routes.length).toBeGreaterThan(30);
    for (const route of routes.filter((entry) => entry.access === 'signed-in')) {
      expect(route.audience, `${route.method} ${route.url}`).toBeDefined();
    }
  });

  it('refuses anonymous, wrong-role and other-organisation users on every signed-in route', async () => {
    const checked: string[] = [];
    for (const route of routes.filter((entry) => entry.access === 'signed-in')) {
      for (const who of mustRefuse(route)) {
        const response = await attempt(browsers[who]!, route);
        expect(
          isRefusal(response),
          `${who} → ${route.method} ${route.url} answered ${response.statusCode}`,
        ).toBe(true);
        if (who === 'anonymous')
          expect(response.statusCode, `${route.method} ${route.url}`).toBe(303);
        checked.push(`${who} ${route.method} ${route.url}`);
      }
    }
    expect(checked.length).toBeGreaterThan(40);
  });

  it('refuses every state-changing request that lacks the CSRF token, even from someone allowed', async () => {
    const unsafe = routes.filter((entry) => UNSAFE.has(entry.method) && entry.csrf === undefined);
    expect(unsafe.length).toBeGreaterThan(15);
    for (const route of unsafe) {
      const who = route.access === 'signed-in' ? 'platformAdmin' : 'anonymous';
      const response = await attempt(browsers[who]!, route, { csrf: false });
      expect(response.statusCode, `${route.method} ${route.url}`).toBe(403);
      expect(response.body, `${route.method} ${route.url}`).toContain('The form has expired');
    }
  });

  it('exempts from CSRF only public routes authorised by a signed link, which refuse a bad signature', async () => {
    const exempt = routes.filter((entry) => entry.csrf !== undefined);
    expect(exempt.map((entry) => `${entry.method} ${entry.url}`)).toEqual([
      'POST /notifications/unsubscribe',
    ]);
    for (const route of exempt) {
      expect(route.access).toBe('public');
      const forged = await browsers.anonymous!.post(
        `${route.url}?user=${people.member!.id}&kind=reply&token=${'0'.repeat(64)}`,
        {},
        { csrf: false },
      );
      expect(forged.statusCode).toBe(400);
    }
    const preferences = await testApp.services.notifications.preferences(
      await actorFor(testApp.services, people.member!.id),
    );
    expect(preferences.find((preference) => preference.kind === 'reply')?.frequency).toBe(
      'immediately',
    );
  });

  it('changed nothing while refusing', async () => {
    const { services } = testApp;
    const adminActor = await actorFor(services, people.admin!.id);
    const members = await services.memberships.listMembers(adminActor, TARGET_ORGANISATION);
    expect(members.members.find((member) => member.userId === people.member!.id)?.role).toBe(
      'member',
    );
    expect(
      await services.memberships.listJoinRequests(adminActor, TARGET_ORGANISATION),
    ).toHaveLength(1);
    expect(
      (await services.memberships.listInvitations(adminActor, TARGET_ORGANISATION))[0]?.state,
    ).toBe('open');
    const planAction = await services.greenPlans.getAction(
      await actorFor(services, people.platformAdmin!.id),
      greenPlan.planId,
      greenPlan.actionId,
    );
    expect(planAction.action).toMatchObject({ title: 'Access matrix action', ownProgress: 10 });
    expect(planAction.action.milestones.every((milestone) => milestone.doneOn === null)).toBe(true);
    expect(planAction.timeline.filter((entry) => entry.kind !== 'change')).toEqual([]);
    const thread = await services.discussions.threadPage(
      await actorFor(services, people.admin!.id),
      'matrix-private',
      discussion.threadId,
    );
    expect(thread.thread).toMatchObject({ pinned: 0, hidden: 0, accepted_post_id: null });
    expect(thread.conversation.locked).toBe(0);
    expect(thread.posts.map((post) => [post.hidden, post.usefulCount, post.editedAt])).toEqual([
      [false, 0, null],
      [false, 0, null],
    ]);
    const workspaceMembers = await services.discussions.workspaceMembers(
      await actorFor(services, people.admin!.id),
      'matrix-private',
    );
    expect(workspaceMembers.members.map((member) => [member.id, member.role]).sort()).toEqual(
      [
        [people.admin!.id, 'manager'],
        [people.member!.id, 'member'],
      ].sort(),
    );
    const review = await services.greenerPractice.getReview(
      await actorFor(services, people.platformAdmin!.id),
      assessment.submissionId,
    );
    expect(review.submission.outcome).toBe('pending');
    expect(
      await services.database.db
        .selectFrom('ggp_awards')
        .selectAll()
        .where('practice_code', '=', TARGET_ORGANISATION)
        .execute(),
    ).toEqual([]);
    const page = await services.greenerPractice.getActionPage(
      adminActor,
      TARGET_ORGANISATION,
      'WR-01',
    );
    expect(page.evidence.map((file) => file.file_id)).toEqual([assessment.fileId]);
    expect(page.assessment.status).toBe('submitted');
    expect((await services.greenerPractice.getFramework()).versions).toHaveLength(1);
    expect(await contentState(content.id)).toEqual(content.before);
    for (const name of ['admin', 'member', 'outsider', 'platformAdmin'] as const) {
      const user = await services.accounts.findUserById(people[name]!.id);
      expect(user?.status, name).toBe('active');
      expect(user?.display_name, name).toBe(people[name]!.displayName);
    }
  });
});
