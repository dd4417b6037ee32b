import type { Locator } from 'playwright-core';
import type { UrlMatcher, Visitor } from '../visitor.ts';
import { focusedElement, skipToMainContent, tab, type FocusedElement } from './keyboard.ts';
import { textOf, textsOf } from './text.ts';

export interface NewAccount {
  displayName: string;
  email: string;
  password: string;
}

/** Throws unless focus is on the form control with this id. */
function expectFocusOn(focused: FocusedElement, id: string, step: string): void {
  if (focused.id !== id) {
    throw new Error(`${step}: focus is on ${JSON.stringify(focused)}, not #${id}`);
  }
}

/** A page that only says something: "Check your email", "You have signed out" and the like. */
export class MessagePage {
  constructor(private readonly visitor: Visitor) {}

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  /** The paragraphs under the heading. */
  async lines(): Promise<string[]> {
    return textsOf(this.visitor.page.locator('main p'));
  }

  /** The links offered below the message ("Sign in", …). */
  async links(): Promise<{ text: string; href: string | null }[]> {
    const links = this.visitor.page.locator('main .nhsuk-list a');
    const texts = await textsOf(links);
    const hrefs = await links.evaluateAll((anchors) => anchors.map((a) => a.getAttribute('href')));
    return texts.map((text, index) => ({ text, href: hrefs[index] ?? null }));
  }
}

/** The NHS error summary at the top of a form that was sent back with problems. */
export class ErrorSummary {
  constructor(private readonly visitor: Visitor) {}

  get root(): Locator {
    return this.visitor.page.locator('.nhsuk-error-summary');
  }

  async title(): Promise<string> {
    return textOf(this.root.locator('.nhsuk-error-summary__heading'));
  }

  /** Each problem listed, with the link that leads to its field. */
  async problems(): Promise<{ text: string; href: string | null }[]> {
    const links = this.root.locator('.nhsuk-error-summary__list a');
    const texts = await textsOf(links);
    const hrefs = await links.evaluateAll((anchors) => anchors.map((a) => a.getAttribute('href')));
    return texts.map((text, index) => ({ text, href: hrefs[index] ?? null }));
  }

  /**
   * Waits until the summary has keyboard focus, as the NHS.UK script gives it when the page loads,
   * so a screen reader announces it first; fails after the default timeout if it never does.
   */
  async waitUntilFocused(): Promise<void> {
    await this.visitor.page.locator('.nhsuk-error-summary:focus').waitFor();
  }
}

/** /sign-up: name, work email and a new password. */
export class SignUpPage {
  constructor(private readonly visitor: Visitor) {}

  async open(): Promise<number> {
    return this.visitor.goto('/sign-up');
  }

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  /** Fills the form by its labels, presses "Create account" and waits for the answer. */
  async createAccount(account: NewAccount): Promise<void> {
    const form = this.visitor.page.locator('main form');
    await form.getByLabel('Full name', { exact: true }).fill(account.displayName);
    await form.getByLabel('Work email address', { exact: true }).fill(account.email);
    await form.getByLabel('Create a password', { exact: true }).fill(account.password);
    await this.visitor.navigate(
      () => form.getByRole('button', { name: 'Create account' }).click(),
      '/sign-up',
    );
  }
}

/** /verify-email: the page an emailed confirmation link opens; only its button changes anything. */
export class VerifyEmailPage {
  constructor(private readonly visitor: Visitor) {}

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  async confirm(): Promise<void> {
    await this.visitor.navigate(
      () => this.visitor.page.getByRole('button', { name: 'Confirm my email address' }).click(),
      '/verify-email',
    );
  }
}

/** /sign-in: email address and password. */
export class SignInPage {
  constructor(private readonly visitor: Visitor) {}

  async open(returnTo?: string): Promise<number> {
    return this.visitor.goto(
      returnTo === undefined ? '/sign-in' : `/sign-in?returnTo=${encodeURIComponent(returnTo)}`,
    );
  }

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  private get form() {
    return this.visitor.page.locator('main form[action="/sign-in"]');
  }

  get emailField(): Locator {
    return this.form.getByLabel('Email address', { exact: true });
  }

  get passwordField(): Locator {
    return this.form.getByLabel('Password', { exact: true });
  }

  /** Fills the form, presses "Sign in" and waits for the page it leads to. */
  async signIn(email: string, password: string, to: UrlMatcher): Promise<void> {
    await this.emailField.fill(email);
    await this.passwordField.fill(password);
    await this.visitor.navigate(
      () => this.form.getByRole('button', { name: 'Sign in' }).click(),
      to,
    );
  }

  /**
   * Signs in with the keyboard alone: the skip link, Tab to the email field, type, Tab to the
   * password field, type, Enter. Throws if any Tab lands anywhere else.
   */
  async signInWithKeyboard(email: string, password: string, to: UrlMatcher): Promise<void> {
    const { page } = this.visitor;
    await skipToMainContent(this.visitor);
    expectFocusOn(await tab(this.visitor), 'email', 'Tab after the skip link');
    await page.keyboard.type(email);
    expectFocusOn(await tab(this.visitor), 'password', 'Tab from the email field');
    await page.keyboard.type(password);
    expectFocusOn(await focusedElement(this.visitor), 'password', 'Before Enter');
    await this.visitor.navigate(() => page.keyboard.press('Enter'), to);
  }
}

/** /sign-in/two-factor: the code from the authenticator app. */
export class TwoFactorPage {
  constructor(private readonly visitor: Visitor) {}

  /** The page heading, which is the code field's label. */
  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  get codeField(): Locator {
    return this.visitor.page.getByLabel('Enter your security code', { exact: true });
  }

  /**
   * Enters the code with the keyboard alone: the skip link, Tab to the code field, type, Enter.
   * Throws if Tab lands anywhere else.
   */
  async enterCodeWithKeyboard(code: string, to: UrlMatcher): Promise<void> {
    const { page } = this.visitor;
    await skipToMainContent(this.visitor);
    expectFocusOn(await tab(this.visitor), 'code', 'Tab after the skip link');
    await page.keyboard.type(code);
    await this.visitor.navigate(() => page.keyboard.press('Enter'), to);
  }
}

/** /sign-out: asks before signing out, because signing out changes something. */
export class SignOutPage {
  constructor(private readonly visitor: Visitor) {}

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  async signOut(): Promise<void> {
    await this.visitor.navigate(
      () => this.visitor.page.locator('main').getByRole('button', { name: 'Sign out' }).click(),
      '/sign-out',
    );
  }
}
