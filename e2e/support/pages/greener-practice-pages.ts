import type { Visitor } from '../visitor.ts';
import { textOf, textsOf } from './text.ts';

/** The Greener General Practice pages, as a champion, a verifier and a visitor use them. */

const base = '/greener-practice';

/** /greener-practice/practices/:code/assessment: the self-assessment. */
export class AssessmentPage {
  constructor(
    private readonly visitor: Visitor,
    private readonly practiceCode: string,
  ) {}

  get path(): string {
    return `${base}/practices/${this.practiceCode}/assessment`;
  }

  async start(): Promise<void> {
    await this.visitor.navigate(
      () => this.visitor.page.getByRole('button', { name: 'Start the self-assessment' }).click(),
      `${this.path}?done=started`,
    );
  }

  async status(): Promise<string> {
    return textOf(this.visitor.page.locator('main p:has-text("Status:") strong').first());
  }

  async points(): Promise<string> {
    return textOf(this.visitor.page.locator('main .gs-stat').first());
  }

  async returnedComments(): Promise<string[]> {
    return textsOf(this.visitor.page.locator('main .gs-returned li'));
  }

  async openAction(code: string): Promise<void> {
    await this.visitor.navigate(
      () =>
        this.visitor.page
          .locator('main table')
          .getByRole('link', { name: new RegExp(`^${code} `) })
          .click(),
      `${this.path}/actions/${code}`,
    );
  }

  async openSubmit(): Promise<void> {
    await this.visitor.navigate(
      () => this.visitor.page.getByRole('button', { name: 'Submit for an award' }).click(),
      `${this.path}/submit`,
    );
  }
}

/** /greener-practice/practices/:code/assessment/actions/:actionCode: one action's answer. */
export class ActionAnswerPage {
  constructor(private readonly visitor: Visitor) {}

  async answer(answer: {
    status: 'Done' | 'In progress' | 'Not started' | 'Not applicable';
    note?: string;
    file?: { name: string; mimeType: string; buffer: Buffer };
  }): Promise<void> {
    const { page } = this.visitor;
    const form = page.locator('main form[enctype="multipart/form-data"]');
    await form.getByLabel(answer.status, { exact: true }).check();
    if (answer.note !== undefined)
      await form.getByLabel('What the practice did', { exact: true }).fill(answer.note);
    if (answer.file) await form.getByLabel('Evidence files (optional)').setInputFiles(answer.file);
    const actionPath = this.visitor.url.pathname;
    const assessmentPath = actionPath.replace(/\/actions\/[^/]+$/, '');
    await this.visitor.navigate(
      () => form.getByRole('button', { name: 'Save', exact: true }).click(),
      (url) => url.pathname === assessmentPath && url.search === '?done=saved',
    );
  }

  /** Follows a file's Remove link to the page that asks first; `confirm` then removes it. */
  async openRemoval(fileName: string): Promise<void> {
    await this.visitor.navigate(
      () =>
        this.visitor.page.getByRole('link', { name: `Remove ${fileName}`, exact: true }).click(),
      (url) => /\/evidence\/[0-9a-f-]+\/remove$/.test(url.pathname),
    );
  }

  async confirmRemoval(fileName: string): Promise<void> {
    const actionPath = this.visitor.url.pathname.replace(/\/evidence\/[^/]+\/remove$/, '');
    await this.visitor.navigate(
      () =>
        this.visitor.page.getByRole('button', { name: `Remove ${fileName}`, exact: true }).click(),
      actionPath,
    );
  }

  async evidenceFiles(): Promise<string[]> {
    return textsOf(this.visitor.page.locator('main .gs-evidence-item a[download]'));
  }

  async verifierComment(): Promise<string> {
    return textOf(this.visitor.page.locator('main .gs-verifier-comment p').last());
  }
}

/** /greener-practice/practices/:code/assessment/submit: check and submit. */
export class SubmitPage {
  constructor(private readonly visitor: Visitor) {}

  async submit(level: 'Bronze' | 'Silver' | 'Gold'): Promise<void> {
    const { page } = this.visitor;
    const form = page.locator('main form[action$="/assessment/submit"]');
    await form.getByLabel(level, { exact: true }).check();
    await form.getByRole('checkbox', { name: /I confirm that the answers and evidence/ }).check();
    const assessmentPath = this.visitor.url.pathname.replace(/\/submit$/, '');
    await this.visitor.navigate(
      () => form.getByRole('button', { name: 'Submit for verification' }).click(),
      `${assessmentPath}?done=submitted`,
    );
  }
}

/** /greener-practice/reviews and /greener-practice/reviews/:id: the verifier's pages. */
export class ReviewPages {
  constructor(private readonly visitor: Visitor) {}

  async openSubmissionOf(practiceName: string): Promise<void> {
    await this.visitor.navigate(
      () =>
        this.visitor.page
          .locator('main table:has(caption:has-text("Waiting for verification"))')
          .getByRole('link', { name: practiceName, exact: true })
          .click(),
      (url) => /^\/greener-practice\/reviews\/[0-9a-f-]{36}$/.test(url.pathname),
    );
  }

  async evidenceNames(): Promise<string[]> {
    return textsOf(this.visitor.page.locator('main .gs-review-item ul a'));
  }

  async returnWithComment(actionCode: string, comment: string): Promise<void> {
    const { page } = this.visitor;
    await page.getByLabel(`Comment on ${actionCode} (optional)`, { exact: true }).fill(comment);
    await page.getByLabel('Return to the practice with my comments', { exact: true }).check();
    await this.visitor.navigate(
      () => page.getByRole('button', { name: 'Record the decision' }).click(),
      `${base}/reviews?done=returned`,
    );
  }

  async approve(level: 'Bronze' | 'Silver' | 'Gold'): Promise<void> {
    const { page } = this.visitor;
    await page.getByLabel(`Approve: make the ${level} award`, { exact: true }).check();
    await this.visitor.navigate(
      () => page.getByRole('button', { name: 'Record the decision' }).click(),
      `${base}/reviews?done=approved`,
    );
  }
}

/** /greener-practice/awards: the public list. */
export class AwardsPage {
  constructor(private readonly visitor: Visitor) {}

  async awardOf(practiceName: string): Promise<string> {
    const row = this.visitor.page
      .locator('main table tbody tr')
      .filter({ has: this.visitor.page.getByRole('link', { name: practiceName, exact: true }) });
    return textOf(row.locator('.gs-award-tag'));
  }

  async openPractice(practiceName: string, practiceCode: string): Promise<void> {
    await this.visitor.navigate(
      () => this.visitor.page.getByRole('link', { name: practiceName, exact: true }).click(),
      `${base}/practices/${practiceCode}`,
    );
  }
}

/** /greener-practice/practices/:code: the practice dashboard. */
export class PracticeDashboardPage {
  constructor(private readonly visitor: Visitor) {}

  async award(): Promise<string> {
    return textOf(this.visitor.page.locator('main .gs-award-panel p').first());
  }

  async recommendationTitles(): Promise<string[]> {
    return textsOf(this.visitor.page.locator('main .gs-recommendation h3'));
  }
}
