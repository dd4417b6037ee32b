import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { buildUser, currentTotp, type TestUser } from '../test/support/factories.ts';
import type { E2eServer } from './support/app-server.ts';
import { describeJourneys } from './support/journeys.ts';
import {
  ErrorSummary,
  MessagePage,
  SignInPage,
  SignOutPage,
  SignUpPage,
  TwoFactorPage,
  VerifyEmailPage,
  type NewAccount,
} from './support/pages/account-pages.ts';
import { DirectoryPage } from './support/pages/directory-page.ts';
import { focusedElement } from './support/pages/keyboard.ts';
import {
  AdminHomePage,
  JoinPage,
  JoinRequestsPage,
  MembersPage,
} from './support/pages/membership-pages.ts';
import { signInThrough } from './support/pages/green-plan-pages.ts';
import { OrganisationPage } from './support/pages/organisation-page.ts';
import { OutboxPage } from './support/pages/outbox-page.ts';
import { SiteHeader } from './support/pages/site-header.ts';
import { textOf } from './support/pages/text.ts';
import type { Visitor } from './support/visitor.ts';

const practiceCode = 'C82001';
const practiceName = 'South Leicestershire Medical Group';
const practicePath = `/organisations/${practiceCode}`;
const membersPath = `${practicePath}/members`;
const joinRequestsPath = `${practicePath}/join-requests`;

const verifySubject = 'Confirm your email address for Greenspace';
const approvedSubject = `You are now a member of ${practiceName} on Greenspace`;

/** A new person's details; the address is unique so this run's emails cannot be confused with others. */
function newPerson(firstName: string, lastName: string): NewAccount {
  const unique = randomUUID().slice(0, 8);
  return {
    displayName: `${firstName} ${lastName}`,
    email: `${firstName}.${lastName}.${unique}@example.nhs.net`.toLowerCase(),
    password: 'Heron lantern orchard 73 velvet',
  };
}

/** Opens the outbox and returns the one message to this address with this subject. */
async function openEmail(visitor: Visitor, to: string, subject: string) {
  const outbox = new OutboxPage(visitor);
  expect(await outbox.open()).toBe(200);
  await visitor.checkPage();
  expect(await outbox.heading()).toBe('Email outbox');
  const messages = outbox.messages(to, subject);
  expect(await messages.count(), `emails to ${to} titled "${subject}"`).toBe(1);
  return { outbox, message: messages.first() };
}

/** Sign-up, the outbox, the confirmation link and its button: a confirmed account, not signed in. */
async function signUpAndConfirm(visitor: Visitor, person: NewAccount, server: E2eServer) {
  const signUp = new SignUpPage(visitor);
  expect(await signUp.open()).toBe(200);
  await visitor.checkPage();
  expect(await signUp.heading()).toBe('Create a Greenspace account');
  await signUp.createAccount(person);
  expect(visitor.status()).toBe(200);
  await visitor.checkPage();
  const checkEmail = new MessagePage(visitor);
  expect(await checkEmail.heading()).toBe('Check your email');
  expect(await checkEmail.lines()).toContain(`We have sent an email to ${person.email}.`);
  expect(await visitor.page.title()).toBe('Check your email – Greenspace – NHS');

  // The worker delivers from the queue in the background: wait for it, then read it as a person.
  await server.waitForEmail(person.email, verifySubject);
  const { outbox, message } = await openEmail(visitor, person.email, verifySubject);
  expect(await outbox.text(message)).toContain(`Dear ${person.displayName},`);
  const links = await outbox.linkAddresses(message);
  expect(links).toHaveLength(1);
  const link = new URL(links[0]!);
  expect(link.origin).toBe(server.baseUrl);
  expect(link.pathname).toBe('/verify-email');
  expect(link.searchParams.get('token')).toMatch(/^\S{20,}$/);

  await outbox.followLink(message, '/verify-email');
  expect(visitor.status()).toBe(200);
  await visitor.checkPage();
  const verify = new VerifyEmailPage(visitor);
  expect(await verify.heading()).toBe('Confirm your email address');
  await verify.confirm();
  expect(visitor.status()).toBe(200);
  await visitor.checkPage();
  const confirmed = new MessagePage(visitor);
  expect(await confirmed.heading()).toBe('Your email address is confirmed');
  expect(await confirmed.lines()).toContain('You can now sign in to Greenspace.');
  expect(await confirmed.links()).toEqual([{ text: 'Sign in', href: '/sign-in' }]);
}

/** An admin's sign-in: password, then the current authenticator code typed with the keyboard. */
async function signInAdminWithTwoFactor(visitor: Visitor, admin: TestUser, returnTo: string) {
  const signIn = new SignInPage(visitor);
  await signIn.signIn(
    admin.email,
    admin.password,
    (url) =>
      url.pathname === '/sign-in/two-factor' && url.searchParams.get('returnTo') === returnTo,
  );
  expect(visitor.status()).toBe(200);
  await visitor.checkPage();
  const twoFactor = new TwoFactorPage(visitor);
  expect(await twoFactor.heading()).toBe('Enter your security code');
  // Not signed in yet: the header offers to finish signing in, and no admin link.
  expect(await new SiteHeader(visitor).accountLinks()).toEqual(['Finish signing in', 'Sign out']);

  await twoFactor.enterCodeWithKeyboard(currentTotp(admin), returnTo);
  expect(visitor.status()).toBe(200);
  await visitor.checkPage();
}

describeJourneys('account and membership journeys', (suite) => {
  it('a visitor signs up, confirms their email, asks to join a practice and is approved by its admin', async () => {
    const { server } = suite;
    const admin = await buildUser(server.services, {
      displayName: 'Priya Shah',
      memberships: [{ organisationCode: practiceCode, role: 'org_admin' }],
    });
    const person = newPerson('Alex', 'Greenwood');
    const member = await suite.openVisitor();

    // 1–2. Create an account and confirm the address from the emailed link.
    await signUpAndConfirm(member, person, server);

    // 3. Sign in with the keyboard alone.
    const signIn = new SignInPage(member);
    expect(await signIn.open()).toBe(200);
    await member.checkPage();
    expect(await signIn.heading()).toBe('Sign in to Greenspace');
    await signIn.signInWithKeyboard(person.email, person.password, '/');
    expect(member.status()).toBe(200);
    await member.checkPage();
    const memberHeader = new SiteHeader(member);
    expect(await memberHeader.accountLinks()).toEqual([
      person.displayName,
      'Notifications',
      'Sign out',
    ]);

    // 4. Find the practice in the organisation directory, from the header, and ask to join it.
    await memberHeader.followNavigationLink('Organisations', '/organisations');
    expect(member.status()).toBe(200);
    await member.checkPage();
    const directory = new DirectoryPage(member);
    await directory.search(practiceCode);
    expect(member.status()).toBe(200);
    await member.checkPage();
    const results = await directory.rows();
    expect(results.map((row) => row.code)).toEqual([practiceCode]);
    await directory.openResult(results[0]!);
    expect(member.status()).toBe(200);
    await member.checkPage();
    const practice = new OrganisationPage(member);
    expect(await practice.heading()).toBe(practiceName);
    expect(await practice.membershipStatus()).toEqual([]);
    expect(await practice.membershipLinks()).toEqual([`Ask to join ${practiceName}`]);

    await practice.followMembershipLink(`Ask to join ${practiceName}`, `${practicePath}/join`);
    expect(member.status()).toBe(200);
    await member.checkPage();
    const join = new JoinPage(member);
    expect(await join.heading()).toBe(`Ask to join ${practiceName}`);
    const joinMessage = 'I am the practice manager and lead our green team.';
    await join.askToJoin(practiceCode, joinMessage);
    expect(member.status()).toBe(200);
    await member.checkPage();
    expect(await practice.notice()).toBe(
      'Your request has been sent. An admin will reply by email.',
    );
    expect(await practice.membershipStatus()).toEqual([
      'You have asked to join. An admin will reply by email.',
    ]);
    expect(await practice.membershipLinks()).toEqual([]);

    // Not a member yet: the members-only page refuses them.
    const members = new MembersPage(member);
    expect(await members.open(practiceCode)).toBe(403);
    await member.checkPage();
    expect(await textOf(member.page.locator('main h1'))).toBe(
      'You do not have access to this page',
    );
    expect(await member.page.locator('main table').count()).toBe(0);

    // 5. The practice's admin, in another browser, was told by email and decides the request.
    const adminNotice = `${person.displayName} has asked to join ${practiceName} on Greenspace`;
    await server.waitForEmail(admin.email, adminNotice);
    const adminVisitor = await suite.openVisitor();
    const noticeEmail = await openEmail(adminVisitor, admin.email, adminNotice);
    const noticeText = await noticeEmail.outbox.text(noticeEmail.message);
    expect(noticeText).toContain(`${person.displayName} (${person.email})`);
    expect(noticeText).toContain(joinMessage);
    expect(await noticeEmail.outbox.linkAddresses(noticeEmail.message)).toEqual([
      server.url(joinRequestsPath),
    ]);

    // Admin pages need signing in: the sign-in page comes back to /admin afterwards.
    expect(await adminVisitor.goto('/admin')).toBe(200);
    expect(`${adminVisitor.url.pathname}${adminVisitor.url.search}`).toBe(
      '/sign-in?returnTo=%2Fadmin',
    );
    await adminVisitor.checkPage();
    await signInAdminWithTwoFactor(adminVisitor, admin, '/admin');
    const adminHome = new AdminHomePage(adminVisitor);
    expect(await adminHome.heading()).toBe('Admin');
    const requestLink = `${person.displayName} wants to join ${practiceName}`;
    expect(await adminHome.waitingRequests()).toEqual([
      { text: requestLink, href: joinRequestsPath },
    ]);

    await adminHome.openRequest(requestLink, practiceCode);
    expect(adminVisitor.status()).toBe(200);
    await adminVisitor.checkPage();
    const requests = new JoinRequestsPage(adminVisitor);
    expect(await requests.heading()).toBe('Requests to join');
    expect(await requests.requesterNames()).toEqual([person.displayName]);
    const lines = await requests.requestLines(person.displayName);
    expect(lines[0]).toMatch(new RegExp(`^${person.email.replace(/\./g, '\\.')} · asked on `));
    expect(lines).toContain(`“${joinMessage}”`);
    expect(await requests.proposedRole(person.displayName)).toBe('Member');

    await requests.approve(practiceCode, person.displayName, 'Welcome to the green team.');
    expect(adminVisitor.status()).toBe(200);
    await adminVisitor.checkPage();
    expect(await requests.requesterNames()).toEqual([]);
    expect(await requests.mainText()).toContain('There are no requests waiting.');

    // Removing a member is confirmed on a page of its own; the admin changes their mind.
    expect(await adminVisitor.goto(membersPath)).toBe(200);
    await adminVisitor.checkPage();
    await adminVisitor.navigate(
      () =>
        adminVisitor.page
          .getByRole('link', { name: `Remove ${person.displayName}`, exact: true })
          .click(),
      (url) => url.pathname.startsWith(`${membersPath}/`) && url.pathname.endsWith('/remove'),
    );
    await adminVisitor.checkPage();
    expect(
      await adminVisitor.page.getByRole('button', { name: `Remove ${person.displayName}` }).count(),
    ).toBe(1);
    await adminVisitor.navigate(
      () =>
        adminVisitor.page.getByRole('link', { name: 'Cancel and go back to the members' }).click(),
      membersPath,
    );
    await adminVisitor.checkPage();

    // 6. The member reloads the practice page: now a member, with the members-only page.
    expect(await member.goto(practicePath)).toBe(200);
    await member.checkPage();
    expect(await practice.membershipStatus()).toEqual(['You are a member.']);
    expect(await practice.membershipLinks()).toEqual(['Members']);
    await practice.followMembershipLink('Members', membersPath);
    expect(member.status()).toBe(200);
    await member.checkPage();
    expect(await members.heading()).toBe('Members');
    expect(await members.caption()).toBe(practiceName);
    const listed = await members.members();
    expect(listed.map(({ name, role }) => ({ name, role }))).toEqual(
      expect.arrayContaining([
        { name: person.displayName, role: 'Member' },
        { name: admin.displayName, role: 'Organisation admin' },
      ]),
    );
    expect(listed).toHaveLength(2);
    // Email addresses are for those who manage members, not for every member.
    expect(await textOf(member.page.locator('main'))).not.toContain(admin.email);

    await server.waitForEmail(person.email, approvedSubject);
    const approval = await openEmail(member, person.email, approvedSubject);
    const approvalText = await approval.outbox.text(approval.message);
    expect(approvalText).toContain(`Your request to join ${practiceName} has been approved.`);
    expect(approvalText).toContain('Welcome to the green team.');
    expect(await approval.outbox.linkAddresses(approval.message)).toEqual([
      server.url(practicePath),
    ]);
  }, 180_000);

  it('the only admin of a practice is asked to hand over before deleting their account', async () => {
    const { server } = suite;
    const admin = await buildUser(server.services, {
      displayName: 'Ada Only',
      memberships: [{ organisationCode: 'C82013', role: 'org_admin' }],
    });
    const visitor = await suite.openVisitor();
    await signInThrough(visitor, admin, '/account/delete', () => currentTotp(admin));
    expect(visitor.status()).toBe(200);
    await visitor.checkPage();
    const { page } = visitor;
    expect(await page.getByRole('heading', { name: 'Important: Hand over first' }).count()).toBe(1);
    const handover = page.getByRole('link', { name: /^You are the only admin of / });
    expect(await handover.getAttribute('href')).toBe('/organisations/C82013/members');
    // Nothing to confirm until then: no password field and no delete button.
    expect(await page.getByRole('button', { name: 'Delete my account' }).count()).toBe(0);
    await visitor.navigate(() => handover.click(), '/organisations/C82013/members');
    expect(visitor.status()).toBe(200);
    await visitor.checkPage();
  });

  it('a change of email address waits on the account page, where it can be cancelled', async () => {
    const { server } = suite;
    const user = await buildUser(server.services, { displayName: 'Rae Moving' });
    const visitor = await suite.openVisitor();
    const { page } = visitor;
    await signInThrough(visitor, user, '/account/email');
    expect(visitor.status()).toBe(200);
    await visitor.checkPage();
    const newAddress = `rae.moving.${randomUUID().slice(0, 8)}@example.nhs.net`;
    await page.getByLabel('New email address').fill(newAddress);
    await page.getByLabel('Your password').fill(user.password);
    await visitor.navigate(
      () => page.getByRole('button', { name: 'Send the link' }).click(),
      '/account?updated=email',
    );
    expect(visitor.status()).toBe(200);
    await visitor.checkPage();
    expect(await textOf(page.locator('main .nhsuk-inset-text'))).toContain(
      `You asked to change your email address to ${newAddress}.`,
    );
    await visitor.navigate(
      () => page.getByRole('button', { name: 'Cancel the change of email address' }).click(),
      '/account?updated=email-cancelled',
    );
    expect(visitor.status()).toBe(200);
    await visitor.checkPage();
    expect(await textOf(page.locator('main'))).toContain(
      'The change of email address has been cancelled.',
    );
    expect(await page.locator('main .nhsuk-inset-text').count()).toBe(0);
  });

  it('a wrong password is summarised and linked to its field, and signing out asks first', async () => {
    const { server } = suite;
    const user = await buildUser(server.services, { displayName: 'Sam Okafor' });
    const visitor = await suite.openVisitor();
    const { page } = visitor;
    const header = new SiteHeader(visitor);

    expect(await visitor.goto('/')).toBe(200);
    await visitor.checkPage();
    await header.followAccountLink('Sign in', '/sign-in');
    expect(visitor.status()).toBe(200);
    await visitor.checkPage();
    const signIn = new SignInPage(visitor);
    expect(await page.locator('.nhsuk-error-summary').count()).toBe(0);

    await signIn.signIn(user.email, 'Not the right password 99', '/sign-in');
    expect(visitor.status()).toBe(400);
    await visitor.checkPage();
    expect(await page.title()).toBe('Error: Sign in – Greenspace – NHS');
    const summary = new ErrorSummary(visitor);
    await summary.waitUntilFocused();
    expect(await summary.title()).toBe('There is a problem');
    expect(await summary.problems()).toEqual([
      { text: 'Enter a correct email address and password', href: '#email' },
    ]);
    // The field says the same, keeps the address typed and never the password.
    expect(await textOf(page.locator('#email-error'))).toContain(
      'Enter a correct email address and password',
    );
    expect(await signIn.emailField.inputValue()).toBe(user.email);
    expect(await signIn.passwordField.inputValue()).toBe('');

    // From the focused summary, Tab reaches its link and Enter moves focus to the field.
    await page.keyboard.press('Tab');
    expect(await focusedElement(visitor)).toMatchObject({
      tag: 'a',
      text: 'Enter a correct email address and password',
    });
    await page.keyboard.press('Enter');
    await page.locator('#email:focus').waitFor();
    expect((await focusedElement(visitor)).id).toBe('email');

    await signIn.signIn(user.email, user.password, '/');
    expect(visitor.status()).toBe(200);
    await visitor.checkPage();
    expect(await header.accountLinks()).toEqual([user.displayName, 'Notifications', 'Sign out']);

    // Signing out asks first (a link cannot change anything), then confirms.
    await header.followAccountLink('Sign out', '/sign-out');
    expect(visitor.status()).toBe(200);
    await visitor.checkPage();
    const signOut = new SignOutPage(visitor);
    expect(await signOut.heading()).toBe('Sign out of Greenspace');
    await signOut.signOut();
    expect(visitor.status()).toBe(200);
    await visitor.checkPage();
    const signedOut = new MessagePage(visitor);
    expect(await signedOut.heading()).toBe('You have signed out');
    expect(await signedOut.links()).toEqual([{ text: 'Sign in again', href: '/sign-in' }]);
    expect(await header.accountLinks()).toEqual(['Sign in', 'Create an account']);

    // The session is over: a signed-in page sends them to sign in again.
    expect(await visitor.goto('/account')).toBe(200);
    expect(`${visitor.url.pathname}${visitor.url.search}`).toBe('/sign-in?returnTo=%2Faccount');
    await visitor.checkPage();
  });
});
