import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  actorFor,
  buildUser,
  currentTotp,
  type TestUser,
} from '../../../test/support/factories.ts';
import { HttpAgent, signInAs } from '../../../test/support/http-agent.ts';
import { createTestApp, type TestApp } from '../../../test/support/test-app.ts';
import { ValidationFailed } from '../../lib/validation.ts';
import { createMembershipRepository } from './membership.repository.ts';
import { createMembershipService } from './membership.service.ts';
import { testDialects } from '../../../test/support/test-database.ts';

/** Where the links of a page's error summary point. */
function errorSummaryLinks(html: string): string[] {
  const summary = /<div class="nhsuk-error-summary"[\s\S]*?<\/ul>/.exec(html)?.[0] ?? '';
  return [...summary.matchAll(/href="([^"]+)"/g)].map((match) => match[1]!);
}

/** Every id in a page, for checking that a link to `#id` lands on something. */
function elementIds(html: string): string[] {
  return [...html.matchAll(/\sid="([^"]+)"/g)].map((match) => match[1]!);
}

describe.each(testDialects)('memberships on %s', (dialect) => {
  let testApp: TestApp;
  let clock: Date | undefined;
  let practiceAdmin: TestUser;
  let icsAdmin: TestUser;
  let platformAdmin: TestUser;

  beforeAll(async () => {
    testApp = await createTestApp(dialect, { services: { now: () => clock ?? new Date() } });
    practiceAdmin = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82001', role: 'org_admin' }],
    });
    icsAdmin = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'QK1', role: 'ics_admin' }],
    });
    platformAdmin = await buildUser(testApp.services, { platformAdmin: true });
  });

  afterAll(async () => {
    await testApp.close();
  });

  // A TOTP code works once, so each user signs in once and keeps their browser.
  const browsers = new Map<string, HttpAgent>();
  async function signedIn(user: TestUser): Promise<HttpAgent> {
    const existing = browsers.get(user.id);
    if (existing) return existing;
    const agent = new HttpAgent(testApp.app);
    await signInAs(agent, user, () => currentTotp(user));
    browsers.set(user.id, agent);
    return agent;
  }

  async function emailsTo(address: string) {
    return testApp.services.email.findByRecipient(address.toLowerCase());
  }

  it('lets a user ask to join, tells the admins, and makes them a member when an admin approves', async () => {
    const requester = await buildUser(testApp.services);
    const browser = await signedIn(requester);
    expect((await browser.get('/organisations/C82001/members')).statusCode).toBe(403);
    const page = await browser.get('/organisations/C82001');
    expect(page.body).toContain('href="/organisations/C82001/join"');

    const asked = await browser.post('/organisations/C82001/join', {
      message: 'Practice manager, leading our green group',
    });
    expect(asked.statusCode).toBe(303);
    expect((await browser.follow(asked)).body).toContain('Your request has been sent');
    const again = await browser.post('/organisations/C82001/join', { message: '' });
    expect(again.statusCode).toBe(400);
    expect(again.body).toContain('You have already asked to join');

    for (const admin of [practiceAdmin, icsAdmin]) {
      expect(
        (await emailsTo(admin.email)).some((message) => message.kind === 'join_request_received'),
      ).toBe(true);
    }

    const admin = await signedIn(practiceAdmin);
    const requests = await admin.get('/organisations/C82001/join-requests');
    expect(requests.statusCode).toBe(200);
    expect(requests.body).toContain(requester.displayName);
    const requestId = /join-requests\/([0-9a-f-]{36})\/decision/.exec(requests.body)![1]!;
    const approved = await admin.post(`/organisations/C82001/join-requests/${requestId}/decision`, {
      decision: 'approve',
      role: 'member',
      note: 'Welcome!',
    });
    expect(approved.statusCode).toBe(303);
    const told = (await emailsTo(requester.email)).at(-1);
    expect(told?.kind).toBe('join_request_approved');
    expect(told?.text_body).toContain('Welcome!');

    const members = await browser.get('/organisations/C82001/members');
    expect(members.statusCode).toBe(200);
    expect(members.body).toContain(requester.displayName);
    // Members see names, not email addresses; admins see both.
    expect(members.body).not.toContain(practiceAdmin.email);
    expect((await admin.get('/organisations/C82001/members')).body).toContain(requester.email);

    // A request cannot be decided twice.
    const twice = await admin.post(`/organisations/C82001/join-requests/${requestId}/decision`, {
      decision: 'decline',
    });
    expect(twice.statusCode).toBe(400);
  });

  it('keeps each admin to their own organisations', async () => {
    const requester = await buildUser(testApp.services);
    const browser = await signedIn(requester);
    await browser.post('/organisations/C82002/join', { message: '' });
    const practiceAdminBrowser = await signedIn(practiceAdmin);
    // An admin of C82001 has no business with C82002's requests or members.
    expect((await practiceAdminBrowser.get('/organisations/C82002/join-requests')).statusCode).toBe(
      403,
    );
    expect((await practiceAdminBrowser.get('/organisations/C82002/members')).statusCode).toBe(403);

    // The ICS admin manages every practice of the ICS.
    const ics = await signedIn(icsAdmin);
    const requests = await ics.get('/organisations/C82002/join-requests');
    expect(requests.statusCode).toBe(200);
    const requestId = /join-requests\/([0-9a-f-]{36})\/decision/.exec(requests.body)![1]!;
    // A request id used under another organisation's address finds nothing.
    expect(
      (
        await practiceAdminBrowser.post(
          `/organisations/C82001/join-requests/${requestId}/decision`,
          { decision: 'approve' },
        )
      ).statusCode,
    ).toBe(404);
    expect(
      (
        await ics.post(`/organisations/C82002/join-requests/${requestId}/decision`, {
          decision: 'decline',
          note: 'Not our practice',
        })
      ).statusCode,
    ).toBe(303);
    expect((await emailsTo(requester.email)).at(-1)?.kind).toBe('join_request_declined');

    // But not an organisation under another ICB: EMAS (RX9) sits under Nottingham and Nottinghamshire ICB.
    expect((await ics.get('/organisations/RX9/members')).statusCode).toBe(403);
  });

  it('invites by email: the link works once, for the invited address, for 28 days', async () => {
    const admin = await signedIn(practiceAdmin);
    const invitee = await buildUser(testApp.services);
    const sent = await admin.post('/organisations/C82001/invitations', {
      email: invitee.email,
      role: 'editor',
    });
    // Sent, then shown on a page of its own, so that reloading it sends nothing again.
    expect(sent.statusCode).toBe(303);
    expect(sent.headers.location).toMatch(
      /^\/organisations\/C82001\/invitations\?sent=[0-9a-f-]{36}$/,
    );
    expect((await admin.follow(sent)).body).toContain(`Invitation sent to ${invitee.email}`);
    const link = (await emailsTo(invitee.email)).at(-1)!.text_body.match(/https?:\/\/\S+/)![0];
    const token = new URL(link).searchParams.get('token')!;

    // Someone else who gets hold of the link cannot use it.
    const strangerUser = await buildUser(testApp.services);
    const stranger = await signedIn(strangerUser);
    const wrongPerson = await stranger.post('/invitations/accept', { token });
    expect(wrongPerson.statusCode).toBe(400);
    expect(wrongPerson.body).toContain('sent to a different email address');
    // Audited as a failure, though nothing else of the refused acceptance is kept.
    const tried = (await testApp.services.audit.findForUser(strangerUser.id)).filter(
      (event) => event.action === 'membership.invitation_accepted',
    );
    expect(tried.map((event) => [event.outcome, JSON.parse(String(event.details))])).toEqual([
      ['failure', { reason: 'different_email' }],
    ]);

    const browser = await signedIn(invitee);
    // Asked to join as well: the invitation answers the request.
    expect(
      (await browser.post('/organisations/C82001/join', { message: 'Invited, I think' }))
        .statusCode,
    ).toBe(303);
    const pendingOf = () =>
      testApp.services.database.db
        .selectFrom('join_requests')
        .select('status')
        .where('user_id', '=', invitee.id)
        .execute();
    expect(await pendingOf()).toEqual([{ status: 'pending' }]);
    expect((await browser.get(`/invitations/accept?token=${token}`)).body).toContain(
      'Accept the invitation',
    );
    const accepted = await browser.post('/invitations/accept', { token });
    expect(accepted.statusCode).toBe(303);
    expect(accepted.headers.location).toBe('/organisations/C82001?joined=1');
    expect(await pendingOf()).toEqual([{ status: 'withdrawn' }]);
    const reused = await browser.post('/invitations/accept', { token });
    expect(reused.statusCode).toBe(400);
    expect(reused.body).toContain('has already been used');
    expect((await admin.get('/organisations/C82001/members')).body).toMatch(
      new RegExp(`${invitee.displayName}[\\s\\S]*?Editor`),
    );

    const late = await buildUser(testApp.services);
    await admin.post('/organisations/C82001/invitations', { email: late.email, role: 'member' });
    const lateToken = new URL(
      (await emailsTo(late.email)).at(-1)!.text_body.match(/https?:\/\/\S+/)![0],
    ).searchParams.get('token')!;
    clock = new Date(Date.now() + 29 * 86_400_000);
    try {
      const expired = await new HttpAgent(testApp.app).get(
        `/invitations/accept?token=${lateToken}`,
      );
      expect(expired.statusCode).toBe(400);
      expect(expired.body).toContain('This invitation cannot be used');
    } finally {
      clock = undefined;
    }
  });

  it('gives an invitation’s role only while its sender may still give it, lets only those who may give it withdraw it, and keeps an existing member’s role', async () => {
    const context = { ip: '127.0.0.1', userAgent: 'memberships-tests' };
    const memberships = testApp.services.memberships;
    const inviteBy = async (sender: TestUser, code: string, address: string, role: string) => {
      await memberships.invite(
        await actorFor(testApp.services, sender.id),
        code,
        { email: address, role },
        context,
      );
      const link = (await emailsTo(address)).at(-1)!.text_body.match(/https?:\/\/\S+/)![0];
      return new URL(link).searchParams.get('token')!;
    };
    // An ICS admin invites someone as an ICS admin, then is demoted before it is accepted.
    const sender = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'QK1', role: 'ics_admin' }],
    });
    const keeper = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'QK1', role: 'ics_admin' }],
    });
    const invitee = await buildUser(testApp.services);
    const token = await inviteBy(sender, 'QK1', invitee.email, 'ics_admin');
    await memberships.changeRole(
      await actorFor(testApp.services, keeper.id),
      'QK1',
      sender.id,
      'member',
      context,
    );
    const browser = await signedIn(invitee);
    const refused = await browser.post('/invitations/accept', { token });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain(
      'The person who sent this invitation can no longer invite people to join as an ICS admin',
    );
    expect(
      (await testApp.services.actors.load(invitee.id))!.memberships.map((m) => m.organisationCode),
    ).toEqual([]);
    const refusal = (await testApp.services.audit.findForUser(invitee.id)).find(
      (event) => event.action === 'membership.invitation_accepted',
    );
    expect(refusal?.outcome).toBe('refused');
    expect(JSON.parse(String(refusal!.details))).toMatchObject({
      reason: 'inviter_no_longer_allowed',
    });

    // An organisation admin of the ICB may not withdraw an invitation to a role they cannot give.
    const orgAdmin = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'QK1', role: 'org_admin' }],
    });
    const another = await buildUser(testApp.services);
    await inviteBy(keeper, 'QK1', another.email, 'ics_admin');
    const invitations = await memberships.listInvitations(
      await actorFor(testApp.services, keeper.id),
      'QK1',
    );
    const open = invitations.find((item) => item.email === another.email.toLowerCase())!;
    const withdrawing = await signedIn(orgAdmin);
    const notAllowed = await withdrawing.post(`/organisations/QK1/invitations/${open.id}/revoke`);
    expect(notAllowed.statusCode).toBe(403);
    expect(
      (await memberships.listInvitations(await actorFor(testApp.services, keeper.id), 'QK1')).find(
        (item) => item.id === open.id,
      )?.state,
    ).toBe('open');

    // Someone already a member keeps their role, and is told so.
    const editor = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82017', role: 'editor' }],
    });
    const practiceAdminOfIt = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82017', role: 'org_admin' }],
    });
    const promoted = await inviteBy(practiceAdminOfIt, 'C82017', editor.email, 'member');
    const editorBrowser = await signedIn(editor);
    const accepted = await editorBrowser.post('/invitations/accept', { token: promoted });
    expect(accepted.headers.location).toBe('/organisations/C82017?joined=already');
    expect((await editorBrowser.follow(accepted)).body).toContain('You were already a member of');
    expect((await testApp.services.actors.load(editor.id))!.memberships.map((m) => m.role)).toEqual(
      ['editor'],
    );
  });

  it('keeps one pending request to join when a second is stored at the same moment', async () => {
    const practiceAdminOf18 = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82018', role: 'org_admin' }],
    });
    const requester = await buildUser(testApp.services);
    const actor = await actorFor(testApp.services, requester.id);
    const context = { ip: '127.0.0.1', userAgent: 'memberships-tests' };
    await testApp.services.memberships.requestToJoin(actor, 'C82018', 'First', context);
    // A second request that passed the check before the first was stored, as a double click's
    // can: the service's check is made to miss the first, so only the database can refuse it.
    const { services } = testApp;
    const real = createMembershipRepository(services.database.db);
    const blind = createMembershipService({
      repository: { ...real, findPendingJoinRequestOfUser: async () => undefined },
      organisations: services.organisations,
      email: services.email,
      audit: services.audit,
      rateLimits: services.rateLimits,
      publicUrl: 'http://localhost',
    });
    await expect(blind.requestToJoin(actor, 'C82018', 'Second', context)).rejects.toThrow(
      ValidationFailed,
    );
    const stored = await services.database.db
      .selectFrom('join_requests')
      .select(['message', 'status'])
      .where('user_id', '=', requester.id)
      .execute();
    expect(stored).toEqual([{ message: 'First', status: 'pending' }]);
    // Nothing else of the refused request is kept: no second email to the practice's admin.
    const told = (await emailsTo(practiceAdminOf18.email)).filter(
      (message) => message.kind === 'join_request_received',
    );
    expect(told).toHaveLength(1);
  });

  it('refuses a 21st request to join within an hour with 429, audits it, and records only 20', async () => {
    const requester = await buildUser(testApp.services);
    // Half way through an hour long past that no other test uses, so that the hour cannot turn
    // between the twentieth request and the twenty-first.
    clock = new Date(Date.UTC(2020, 0, 6, 9, 30, 0));
    onTestFinished(() => {
      clock = undefined;
    });
    const browser = new HttpAgent(testApp.app);
    await signInAs(browser, requester);
    // Practices that no other test here names, so that their admins' queues stay as those expect.
    const practices = await testApp.services.database.db
      .selectFrom('organisations')
      .select('code')
      .where('org_type', '=', 'gp_practice')
      .where('code', 'not in', ['C82001', 'C82002', 'C82003', 'C82005', 'C82007'])
      .orderBy('code')
      .limit(21)
      .execute();
    expect(practices).toHaveLength(21);
    for (const { code } of practices.slice(0, 20)) {
      const asked = await browser.post(`/organisations/${code}/join`, { message: '' });
      expect(asked.statusCode, code).toBe(303);
    }
    const lastCode = practices[20]!.code;
    const refused = await browser.post(`/organisations/${lastCode}/join`, { message: '' });
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('1800');
    expect(refused.body).toContain(
      'You have asked to join 20 organisations or workspaces in the last hour, which is the most anyone can ask to join in an hour.',
    );
    expect(refused.body).toContain('Your request has not been sent.');
    const recorded = await testApp.services.database.db
      .selectFrom('join_requests')
      .select('organisation_code')
      .where('user_id', '=', requester.id)
      .execute();
    expect(recorded).toHaveLength(20);
    expect(recorded.map((row) => row.organisation_code)).not.toContain(lastCode);
    const refusals = (await testApp.services.audit.findForUser(requester.id)).filter(
      (event) => event.action === 'membership.join_requested' && event.outcome === 'refused',
    );
    expect(refusals).toHaveLength(1);
    expect(refusals[0]!.organisation_code).toBe(lastCode);
    expect(JSON.parse(String(refusals[0]!.details))).toEqual({ reason: 'rate_limited' });
  });

  it('refuses a 51st invitation within an hour with 429, audits it, and sends no email for it', async () => {
    const admin = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82007', role: 'org_admin' }],
    });
    // Half way through an hour long past that no other test uses, so that the hour cannot turn
    // between the fiftieth invitation and the fifty-first.
    clock = new Date(Date.UTC(2020, 0, 6, 10, 30, 0));
    onTestFinished(() => {
      clock = undefined;
    });
    const browser = new HttpAgent(testApp.app);
    // A recovery code, as an authenticator's code is for the real time, not the clock's.
    await signInAs(browser, admin, () => admin.recoveryCodes![0]!);
    const address = (index: number) => `invitee.${index}.${dialect}@example.nhs.net`;
    const invite = (index: number) =>
      browser.post('/organisations/C82007/invitations', { email: address(index), role: 'member' });
    for (let index = 1; index <= 50; index++) {
      const sent = await invite(index);
      expect(sent.statusCode, `invitation ${index}`).toBe(303);
    }
    const refused = await invite(51);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('1800');
    expect(refused.body).toContain(
      'You have sent 50 invitations in the last hour, to organisations and workspaces together, which is the most anyone can send in an hour.',
    );
    expect(refused.body).toContain('This invitation has not been sent.');
    expect(await emailsTo(address(51))).toEqual([]);
    const refusals = (await testApp.services.audit.findForUser(admin.id)).filter(
      (event) => event.action === 'membership.invited' && event.outcome === 'refused',
    );
    expect(refusals).toHaveLength(1);
    expect(refusals[0]!.organisation_code).toBe('C82007');
    expect(JSON.parse(String(refusals[0]!.details))).toEqual({ reason: 'rate_limited' });
  });

  it('refuses to let an admin give a role that reaches beyond their own organisation', async () => {
    const admin = await signedIn(practiceAdmin);
    const member = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82001', role: 'member' }],
    });
    const escalation = await admin.post(`/organisations/C82001/members/${member.id}/role`, {
      role: 'ics_admin',
    });
    expect(escalation.statusCode).toBe(400);
    const icbAdmin = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'QK1', role: 'org_admin' }],
    });
    const icbAdminBrowser = await signedIn(icbAdmin);
    const colleague = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'QK1', role: 'member' }],
    });
    // An organisation admin of the ICB itself still cannot make someone an ICS admin.
    expect(
      (
        await icbAdminBrowser.post(`/organisations/QK1/members/${colleague.id}/role`, {
          role: 'ics_admin',
        })
      ).statusCode,
    ).toBe(400);
    const ics = await signedIn(icsAdmin);
    expect(
      (await ics.post(`/organisations/QK1/members/${colleague.id}/role`, { role: 'ics_admin' }))
        .statusCode,
    ).toBe(303);
  });

  it('keeps at least one admin: the only admin cannot demote or remove themselves', async () => {
    const soleAdmin = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82003', role: 'org_admin' }],
    });
    const browser = await signedIn(soleAdmin);
    const demoted = await browser.post(`/organisations/C82003/members/${soleAdmin.id}/role`, {
      role: 'member',
    });
    expect(demoted.statusCode).toBe(400);
    // The error summary links to the admin's own role field, which shows the message.
    const roleField = `role-${soleAdmin.id}`;
    expect(errorSummaryLinks(demoted.body)).toEqual([`#${roleField}`]);
    expect(elementIds(demoted.body)).toContain(roleField);
    expect(demoted.body).toMatch(
      new RegExp(`id="${roleField}-error"[^>]*>[\\s\\S]*?You are the only admin`),
    );
    expect(demoted.body).toMatch(
      new RegExp(`<select[^>]*id="${roleField}"[^>]*aria-describedby="${roleField}-error"`),
    );

    const removed = await browser.post(`/organisations/C82003/members/${soleAdmin.id}/remove`);
    expect(removed.statusCode).toBe(400);
    // Refused, the confirmation page comes back with the reason beside its button.
    expect(removed.body).toContain('<title>Error: Remove ');
    const removeButton = `remove-${soleAdmin.id}`;
    expect(errorSummaryLinks(removed.body)).toEqual([`#${removeButton}`]);
    expect(removed.body).toMatch(
      new RegExp(`<button[^>]*id="${removeButton}"[^>]*aria-describedby="${removeButton}-error"`),
    );
    expect(removed.body).toMatch(
      new RegExp(`id="${removeButton}-error"[^>]*>[\\s\\S]*?You are the only admin`),
    );
  });

  it('counts ICS admins as admins and disabled accounts as gone when keeping at least one admin', async () => {
    // The only ICS admin of an ICB is its only admin too.
    const soleIcsAdmin = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'QHL', role: 'ics_admin' }],
    });
    const icsBrowser = await signedIn(soleIcsAdmin);
    const stepDown = await icsBrowser.post(`/organisations/QHL/members/${soleIcsAdmin.id}/role`, {
      role: 'member',
    });
    expect(stepDown.statusCode).toBe(400);
    expect(stepDown.body).toContain('You are the only admin');
    const leave = await icsBrowser.post(`/organisations/QHL/members/${soleIcsAdmin.id}/remove`);
    expect(leave.statusCode).toBe(400);
    // Moving between admin roles keeps an admin.
    expect(
      (
        await icsBrowser.post(`/organisations/QHL/members/${soleIcsAdmin.id}/role`, {
          role: 'org_admin',
        })
      ).statusCode,
    ).toBe(303);

    // A second admin whose account is disabled cannot manage anyone, so does not count.
    const activeAdmin = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82010', role: 'org_admin' }],
    });
    const disabledAdmin = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82010', role: 'org_admin' }],
    });
    const platform = await signedIn(platformAdmin);
    expect((await platform.post(`/admin/users/${disabledAdmin.id}/disable`)).statusCode).toBe(303);
    const browser = await signedIn(activeAdmin);
    const demoted = await browser.post(`/organisations/C82010/members/${activeAdmin.id}/role`, {
      role: 'member',
    });
    expect(demoted.statusCode).toBe(400);
    expect(demoted.body).toContain('You are the only admin');
    expect((await platform.post(`/admin/users/${disabledAdmin.id}/enable`)).statusCode).toBe(303);
    expect(
      (
        await browser.post(`/organisations/C82010/members/${activeAdmin.id}/role`, {
          role: 'member',
        })
      ).statusCode,
    ).toBe(303);
  });

  it('refuses approvals, invitations and withdrawals from an admin demoted since their request began', async () => {
    const context = { ip: '127.0.0.1', userAgent: 'memberships-tests' };
    const code = 'C82020';
    const [keeper, demoted] = await Promise.all(
      [1, 2].map(() =>
        buildUser(testApp.services, {
          memberships: [{ organisationCode: code, role: 'org_admin' }],
        }),
      ),
    );
    const applicant = await buildUser(testApp.services);
    const memberships = testApp.services.memberships;
    await memberships.requestToJoin(
      await actorFor(testApp.services, applicant.id),
      code,
      'May I join?',
      context,
    );
    const keeperActor = await actorFor(testApp.services, keeper!.id);
    const invitationId = await memberships.invite(
      keeperActor,
      code,
      { email: 'kept.open@example.nhs.uk', role: 'member' },
      context,
    );
    const pendingOfApplicant = async () =>
      (await memberships.listJoinRequests(keeperActor, code))
        .filter((row) => row.user_id === applicant.id)
        .map((row) => row.id);
    const [requestId] = await pendingOfApplicant();
    // Loaded as an admin, as a request that began before the demotion was; then demoted.
    const staleActor = await actorFor(testApp.services, demoted!.id);
    await memberships.changeRole(keeperActor, code, demoted!.id, 'member', context);

    const refusal = 'Not allowed: manage the members of this organisation';
    await expect(
      memberships.decideJoinRequest(staleActor, code, requestId!, { approve: true }, context),
    ).rejects.toThrow(refusal);
    await expect(
      memberships.invite(
        staleActor,
        code,
        { email: 'never.sent@example.nhs.uk', role: 'member' },
        context,
      ),
    ).rejects.toThrow(refusal);
    await expect(
      memberships.revokeInvitation(staleActor, code, invitationId, context),
    ).rejects.toThrow(refusal);

    // Nothing changed: the request is still waiting, no second invitation, the first still open.
    const db = testApp.services.database.db;
    expect(
      await db
        .selectFrom('memberships')
        .select('user_id')
        .where('organisation_code', '=', code)
        .where('user_id', '=', applicant.id)
        .execute(),
    ).toEqual([]);
    expect(await pendingOfApplicant()).toEqual([requestId]);
    expect(
      (await memberships.listInvitations(keeperActor, code))
        .filter((row) => row.email.endsWith('@example.nhs.uk'))
        .map((row) => [row.email, row.state]),
    ).toEqual([['kept.open@example.nhs.uk', 'open']]);
    const emailed = await db
      .selectFrom('email_messages')
      .select(['to_address', 'kind'])
      .where((eb) =>
        eb.or([
          eb('to_address', '=', 'never.sent@example.nhs.uk'),
          eb.and([eb('to_address', '=', applicant.email), eb('kind', 'like', 'join_request_%')]),
        ]),
      )
      .execute();
    expect(emailed).toEqual([]);
  });

  it('keeps an admin when two admins demote or remove each other at the same time, or both delete their accounts', async () => {
    const context = { ip: '127.0.0.1', userAgent: 'memberships-tests' };
    const adminsOf = async (code: string) =>
      (
        await testApp.services.database.db
          .selectFrom('memberships as m')
          .innerJoin('users as u', 'u.id', 'm.user_id')
          .select('m.user_id')
          .where('m.organisation_code', '=', code)
          .where('m.role', '=', 'org_admin')
          .where('u.status', '=', 'active')
          .execute()
      ).map((row) => row.user_id);
    const pairOfAdmins = async (code: string) => {
      const made = await Promise.all(
        [1, 2].map(() =>
          buildUser(testApp.services, {
            memberships: [{ organisationCode: code, role: 'org_admin' }],
          }),
        ),
      );
      // Both loaded before either acts, as two requests arriving together are.
      return Promise.all(
        made.map(async (user) => ({ user, actor: await actorFor(testApp.services, user.id) })),
      );
    };
    const outcome = (result: PromiseSettledResult<unknown>) =>
      result.status === 'fulfilled' ? 'done' : (result.reason as Error).name;
    const memberships = testApp.services.memberships;

    // One after the other: the second, no longer an admin, is refused.
    const [first, second] = await pairOfAdmins('C82011');
    await memberships.changeRole(first!.actor, 'C82011', second!.user.id, 'member', context);
    await expect(
      memberships.changeRole(second!.actor, 'C82011', first!.user.id, 'member', context),
    ).rejects.toThrow('Not allowed: manage the members of this organisation');
    await expect(
      memberships.removeMember(second!.actor, 'C82011', first!.user.id, context),
    ).rejects.toThrow('Not allowed: manage the members of this organisation');
    expect(await adminsOf('C82011')).toEqual([first!.user.id]);

    // At the same time, demoting or removing each other: one lands, the other is refused.
    for (const change of ['demote', 'remove'] as const) {
      const code = change === 'demote' ? 'C82012' : 'C82013';
      const [left, right] = await pairOfAdmins(code);
      const act = (by: typeof left, whom: typeof left) =>
        change === 'demote'
          ? memberships.changeRole(by!.actor, code, whom!.user.id, 'member', context)
          : memberships.removeMember(by!.actor, code, whom!.user.id, context);
      const results = await Promise.allSettled([act(left, right), act(right, left)]);
      expect(results.map(outcome).sort(), change).toEqual(['ForbiddenError', 'done']);
      expect(await adminsOf(code), change).toHaveLength(1);
    }

    // Both deleting their accounts at once: one goes, the other is asked to hand over first.
    const [leaving, alsoLeaving] = await pairOfAdmins('C82014');
    const deletions = await Promise.allSettled(
      [leaving!, alsoLeaving!].map(({ user, actor }) =>
        testApp.services.accounts.deleteAccount(actor, user.password, context),
      ),
    );
    expect(deletions.map(outcome).sort()).toEqual(['ValidationFailed', 'done']);
    expect(await adminsOf('C82014')).toHaveLength(1);

    // An ICS admin above the practice may still take its last admin away, answering for it.
    const [only] = await pairOfAdmins('C82016');
    const other = (await adminsOf('C82016')).find((id) => id !== only!.user.id)!;
    await memberships.removeMember(only!.actor, 'C82016', other, context);
    await memberships.changeRole(
      await actorFor(testApp.services, icsAdmin.id),
      'C82016',
      only!.user.id,
      'member',
      context,
    );
    expect(await adminsOf('C82016')).toEqual([]);
  });

  it('lets an admin remove or demote a disabled admin, who leaves them in charge', async () => {
    const context = { ip: '127.0.0.1', userAgent: 'memberships-tests' };
    const active = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82019', role: 'org_admin' }],
    });
    const disabled = await Promise.all(
      [1, 2].map(() =>
        buildUser(testApp.services, {
          memberships: [{ organisationCode: 'C82019', role: 'org_admin' }],
        }),
      ),
    );
    const platform = await signedIn(platformAdmin);
    for (const user of disabled)
      expect((await platform.post(`/admin/users/${user.id}/disable`)).statusCode).toBe(303);
    const actor = await actorFor(testApp.services, active.id);
    const memberships = testApp.services.memberships;
    await memberships.changeRole(actor, 'C82019', disabled[0]!.id, 'member', context);
    await memberships.removeMember(actor, 'C82019', disabled[1]!.id, context);
    const roles = (await memberships.listMembers(actor, 'C82019')).members
      .map((member) => [member.userId, member.role])
      .sort();
    expect(roles).toEqual(
      [
        [active.id, 'org_admin'],
        [disabled[0]!.id, 'member'],
      ].sort(),
    );
  });

  it('asks an admin to confirm before removing a member, and removes them only on the confirmation form', async () => {
    const admin = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82009', role: 'org_admin' }],
    });
    const leaving = await buildUser(testApp.services, {
      displayName: 'Lee Leaving',
      memberships: [{ organisationCode: 'C82009', role: 'member' }],
    });
    const browser = await signedIn(admin);
    const url = `/organisations/C82009/members/${leaving.id}/remove`;
    // The members list links to the confirmation page instead of removing at once.
    const listing = await browser.get('/organisations/C82009/members');
    expect(listing.body).toContain(`href="${url}"`);
    expect(listing.body).not.toContain(`action="${url}"`);
    const confirm = await browser.get(url);
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain('<h1>Remove Lee Leaving</h1>');
    expect(confirm.body).toContain(`action="${url}"`);
    expect((await browser.get('/organisations/C82009/members')).body).toContain('Lee Leaving');
    // Only the organisation's admins see it; someone who is not a member is not found.
    expect((await (await signedIn(leaving)).get(url)).statusCode).toBe(403);
    expect(
      (
        await browser.get(
          `/organisations/C82009/members/00000000-0000-4000-8000-000000000000/remove`,
        )
      ).statusCode,
    ).toBe(404);
    const removed = await browser.post(url);
    expect(removed.statusCode).toBe(303);
    expect(removed.headers.location).toBe('/organisations/C82009/members');
    expect((await browser.get('/organisations/C82009/members')).body).not.toContain('Lee Leaving');
  });

  it("shows a refused decision on a request to join beside that request's own fields", async () => {
    const admin = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82008', role: 'org_admin' }],
    });
    const first = await buildUser(testApp.services);
    const second = await buildUser(testApp.services);
    for (const requester of [first, second]) {
      await (await signedIn(requester)).post('/organisations/C82008/join', { message: '' });
    }
    const browser = await signedIn(admin);
    const listing = await browser.get('/organisations/C82008/join-requests');
    const [requestId, otherId] = [
      ...listing.body.matchAll(/join-requests\/([0-9a-f-]{36})\/decision/g),
    ].map((match) => match[1]!);
    expect(otherId).toBeDefined();
    const decide = (fields: Record<string, string>) =>
      browser.post(`/organisations/C82008/join-requests/${requestId}/decision`, fields);

    const longNote = 'n'.repeat(1001);
    const tooLong = await decide({ decision: 'approve', role: 'editor', note: longNote });
    expect(tooLong.statusCode).toBe(400);
    expect(errorSummaryLinks(tooLong.body)).toEqual([`#note-${requestId}`]);
    expect(tooLong.body).toMatch(
      new RegExp(`id="note-${requestId}-error"[^>]*>[\\s\\S]*?1,000 characters or fewer`),
    );
    // What was entered stays on that request, and only on that one.
    expect(tooLong.body).toContain(`>${longNote}</textarea>`);
    expect(tooLong.body).toMatch(
      new RegExp(`id="role-${requestId}"[\\s\\S]*?<option value="editor" selected`),
    );
    expect(tooLong.body).not.toContain(`id="note-${otherId}-error"`);

    const beyond = await decide({ decision: 'approve', role: 'ics_admin' });
    expect(beyond.statusCode).toBe(400);
    expect(errorSummaryLinks(beyond.body)).toEqual([`#role-${requestId}`]);
    expect(beyond.body).toContain(`id="role-${requestId}-error"`);

    const undecided = await decide({ decision: 'maybe' });
    expect(undecided.statusCode).toBe(400);
    const decisionButton = `decision-${requestId}`;
    expect(errorSummaryLinks(undecided.body)).toEqual([`#${decisionButton}`]);
    expect(undecided.body).toMatch(
      new RegExp(
        `<button[^>]*id="${decisionButton}"[^>]*aria-describedby="${decisionButton}-error"`,
      ),
    );

    for (const page of [tooLong, beyond, undecided]) {
      const ids = elementIds(page.body);
      for (const link of errorSummaryLinks(page.body)) expect(ids).toContain(link.slice(1));
    }

    // Once decided, the request leaves the page: the summary says why, with nothing to link to.
    expect((await decide({ decision: 'decline' })).statusCode).toBe(303);
    const twice = await decide({ decision: 'decline' });
    expect(twice.statusCode).toBe(400);
    expect(twice.body).toContain('This request has already been decided');
    expect(errorSummaryLinks(twice.body)).toEqual([]);
  });

  it('makes admins set up two-factor authentication before using admin pages', async () => {
    const admin = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82005', role: 'org_admin' }],
      twoFactor: false,
    });
    const browser = await signedIn(admin);
    const redirected = await browser.get('/organisations/C82005/members');
    expect(redirected.statusCode).toBe(303);
    expect(redirected.headers.location).toBe('/account/two-factor?required=1');
    expect((await browser.get('/account/two-factor?required=1')).body).toContain(
      'Admins must use two-factor authentication',
    );
  });

  it('records membership changes in the audit log, which each admin sees only for their organisations', async () => {
    const member = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'C82001', role: 'member' }],
    });
    const admin = await signedIn(practiceAdmin);
    await admin.post(`/organisations/C82001/members/${member.id}/role`, { role: 'editor' });
    const log = await admin.get('/admin/audit?action=membership.role_changed');
    expect(log.statusCode).toBe(200);
    expect(log.body).toContain('membership.role_changed');
    expect(log.body).toContain('C82001');
    // Events of other organisations do not appear for a practice admin.
    const other = await admin.get('/admin/audit?organisation=C82002');
    expect(other.body).toContain('0 events');

    const platform = await signedIn(platformAdmin);
    const everything = await platform.get('/admin/audit?organisation=C82002');
    expect(everything.body).not.toContain('>0 events<');

    const plainMember = await signedIn(member);
    expect((await plainMember.get('/admin/audit')).statusCode).toBe(403);
    expect((await plainMember.get('/admin')).statusCode).toBe(403);
  });

  it('filters the audit log by UK days, refuses a date that is not real, and refuses non-admins before reading filters', async () => {
    // 23:30 UTC on 1 July is 00:30 on 2 July in the UK (summer time).
    clock = new Date('2026-07-01T23:30:00Z');
    try {
      await testApp.services.audit.record(
        { action: 'test.uk_day_filter', actorUserId: null, organisationCode: 'C82001' },
        null,
      );
    } finally {
      clock = undefined;
    }
    const platform = await signedIn(platformAdmin);
    const onDay = (from: string, to: string) =>
      platform.get(`/admin/audit?action=test.uk_day_filter&from=${from}&to=${to}`);
    expect((await onDay('2026-07-02', '2026-07-02')).body).toContain('>1 event<');
    expect((await onDay('2026-07-01', '2026-07-01')).body).toContain('>0 events<');
    expect((await onDay('2026-06-30', '2026-07-01')).body).toContain('>0 events<');

    const notReal = await platform.get('/admin/audit?to=2026-13-01');
    expect(notReal.statusCode).toBe(400);
    expect(notReal.body).toContain('must be a real date, such as 2026-06-11');
    expect((await platform.get('/admin/audit?to=9999-12-31')).statusCode).toBe(400);
    expect((await platform.get('/admin/audit?from=2026-02-30')).statusCode).toBe(400);

    const plainMember = await signedIn(
      await buildUser(testApp.services, {
        memberships: [{ organisationCode: 'C82001', role: 'member' }],
      }),
    );
    expect((await plainMember.get('/admin/audit?to=2026-13-01')).statusCode).toBe(403);
    expect((await plainMember.get('/admin/users?page=x')).statusCode).toBe(403);
    expect((await (await signedIn(practiceAdmin)).get('/admin/users?page=x')).statusCode).toBe(403);
  });

  it('refuses to add a member directly in a role the organisation cannot have, naming the roles it can', async () => {
    const user = await buildUser(testApp.services);
    const refused = testApp.services.memberships.addMemberDirectly(
      user.id,
      'C82001',
      'ics_admin',
      null,
    );
    await expect(refused).rejects.toMatchObject({
      fieldErrors: {
        role: expect.stringMatching(
          /^ics_admin cannot be given in .+ \(C82001\); its roles are member, /,
        ),
      },
    });
  });

  it('lets a platform admin disable an account, which ends its sessions at once', async () => {
    const user = await buildUser(testApp.services);
    const userBrowser = await signedIn(user);
    const platform = await signedIn(platformAdmin);
    expect((await platform.get(`/admin/users?q=${encodeURIComponent(user.email)}`)).body).toContain(
      user.email,
    );
    expect((await platform.post(`/admin/users/${user.id}/disable`)).statusCode).toBe(303);
    expect((await userBrowser.get('/account')).statusCode).toBe(303);
    // An account gone since the list was shown is not found, not a server error.
    const gone = await platform.post('/admin/users/00000000-0000-4000-8000-000000000000/disable');
    expect(gone.statusCode).toBe(404);
    expect(
      (
        await new HttpAgent(testApp.app).post('/sign-in', {
          email: user.email,
          password: user.password,
        })
      ).statusCode,
    ).toBe(400);
    const events = await testApp.services.audit.findForUser(user.id);
    expect(
      events.some(
        (event) =>
          event.action === 'admin.user_disabled' && event.actor_user_id === platformAdmin.id,
      ),
    ).toBe(true);
    expect((await platform.post(`/admin/users/${user.id}/enable`)).statusCode).toBe(303);
    expect(
      (
        await new HttpAgent(testApp.app).post('/sign-in', {
          email: user.email,
          password: user.password,
        })
      ).statusCode,
    ).toBe(303);
  });

  it('names roles in sentences with the right article and their capitals', async () => {
    // An invitation, by email and on the page its link opens.
    const admin = await signedIn(practiceAdmin);
    const invitee = await buildUser(testApp.services);
    await admin.post('/organisations/C82001/invitations', {
      email: invitee.email,
      role: 'org_admin',
    });
    const invitation = (await emailsTo(invitee.email)).at(-1)!;
    expect(invitation.text_body).toContain('as an organisation admin.');
    const token = new URL(invitation.text_body.match(/https?:\/\/\S+/)![0]).searchParams.get(
      'token',
    )!;
    const page = await new HttpAgent(testApp.app).get(`/invitations/accept?token=${token}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('on Greenspace as an organisation admin.</p>');

    const ics = await signedIn(icsAdmin);
    const verifier = await buildUser(testApp.services);
    await ics.post('/organisations/QK1/invitations', {
      email: verifier.email,
      role: 'ics_verifier',
    });
    expect((await emailsTo(verifier.email)).at(-1)!.text_body).toContain('as an ICS verifier.');

    // An approved request to join.
    const requester = await buildUser(testApp.services);
    await (await signedIn(requester)).post('/organisations/QK1/join', { message: '' });
    const requests = await ics.get('/organisations/QK1/join-requests');
    const requestId = new RegExp(`id="request-([0-9a-f-]{36})">${requester.displayName}<`).exec(
      requests.body,
    )![1]!;
    const approved = await ics.post(`/organisations/QK1/join-requests/${requestId}/decision`, {
      decision: 'approve',
      role: 'ics_admin',
    });
    expect(approved.statusCode).toBe(303);
    const told = (await emailsTo(requester.email)).at(-1)!;
    expect(told.kind).toBe('join_request_approved');
    expect(told.text_body).toContain('You are now an ICS admin.');
  });

  it('shows, without a form, the role of a member whose role the admin cannot give', async () => {
    const icbAdmin = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'QK1', role: 'org_admin' }],
    });
    const colleague = await buildUser(testApp.services, {
      memberships: [{ organisationCode: 'QK1', role: 'editor' }],
    });
    /** The table row of one member, from its opening tag to its closing one. */
    const rowOf = (html: string, name: string) => {
      const at = html.indexOf(`>${name}`);
      expect(at, name).toBeGreaterThan(0);
      return html.slice(html.lastIndexOf('<tr', at), html.indexOf('</tr>', at));
    };

    const listing = (await (await signedIn(icbAdmin)).get('/organisations/QK1/members')).body;
    const icsRow = rowOf(listing, icsAdmin.displayName);
    expect(icsRow).toContain('ICS admin');
    expect(icsRow).toContain('You cannot change or remove this member.');
    expect(icsRow).not.toContain('<select');
    expect(icsRow).not.toContain('<form');
    expect(icsRow).not.toContain(`/members/${icsAdmin.id}/remove`);
    // Nor does the confirmation page open for them by its address.
    expect(
      (await (await signedIn(icbAdmin)).get(`/organisations/QK1/members/${icsAdmin.id}/remove`))
        .statusCode,
    ).toBe(403);
    // A role the admin can give is offered for change, with the member's own role chosen.
    const colleagueRow = rowOf(listing, colleague.displayName);
    expect(colleagueRow).toMatch(/<option value="editor" selected/);
    expect(colleagueRow).toContain(`href="/organisations/QK1/members/${colleague.id}/remove"`);
    expect(colleagueRow).not.toContain('You cannot change or remove');

    // An ICS admin may give the role, so sees the form with it chosen.
    const asIcs = (await (await signedIn(icsAdmin)).get('/organisations/QK1/members')).body;
    expect(rowOf(asIcs, icsAdmin.displayName)).toMatch(/<option value="ics_admin" selected/);
  });
});
