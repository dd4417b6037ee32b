import type { Visitor } from '../visitor.ts';
import { textOf, textsOf } from './text.ts';

/** Sign-in with a password and, for admins, a security code typed into the code field. */
export async function signInThrough(
  visitor: Visitor,
  person: { email: string; password: string },
  returnTo: string,
  code?: () => string,
): Promise<void> {
  await visitor.goto(`/sign-in?returnTo=${encodeURIComponent(returnTo)}`);
  await visitor.checkPage();
  const form = visitor.page.locator('main form[action="/sign-in"]');
  await form.getByLabel('Email address', { exact: true }).fill(person.email);
  await form.getByLabel('Password', { exact: true }).fill(person.password);
  if (!code) {
    await visitor.navigate(() => form.getByRole('button', { name: 'Sign in' }).click(), returnTo);
    return;
  }
  await visitor.navigate(
    () => form.getByRole('button', { name: 'Sign in' }).click(),
    (url) => url.pathname === '/sign-in/two-factor',
  );
  await visitor.checkPage();
  await visitor.page.getByLabel('Enter your security code', { exact: true }).fill(code());
  await visitor.navigate(() => visitor.page.keyboard.press('Enter'), returnTo);
}

/** /green-plans/new: the plan form. */
export class NewPlanPage {
  constructor(private readonly visitor: Visitor) {}

  async create(plan: {
    title: string;
    owner: string;
    periodStart: string;
    periodEnd: string;
    published: boolean;
  }): Promise<string> {
    const { page } = this.visitor;
    const form = page.locator('main form[action="/green-plans"]');
    await form.getByLabel('Title', { exact: true }).fill(plan.title);
    await form
      .getByLabel('Owning organisation', { exact: true })
      .selectOption({ label: plan.owner });
    await form.getByLabel('Start of the plan period', { exact: true }).fill(plan.periodStart);
    await form.getByLabel('End of the plan period', { exact: true }).fill(plan.periodEnd);
    await form
      .getByLabel(
        plan.published
          ? 'Published: anyone can see it'
          : 'Draft: only members of the organisation can see it',
      )
      .check();
    await this.visitor.navigate(
      () => form.getByRole('button', { name: 'Create plan' }).click(),
      (url) => /^\/green-plans\/[0-9a-f-]{36}$/.test(url.pathname),
    );
    return this.visitor.url.pathname;
  }
}

/** /green-plans/:planId: the plan overview. */
export class PlanOverviewPage {
  constructor(private readonly visitor: Visitor) {}

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  async overallProgress(): Promise<string> {
    return textOf(this.visitor.page.getByTestId('overall-progress'));
  }

  async openAddAction(planPath: string): Promise<void> {
    await this.visitor.navigate(
      () => this.visitor.page.getByRole('link', { name: 'Add an action', exact: true }).click(),
      `${planPath}/actions/new`,
    );
  }

  async openAction(name: string): Promise<void> {
    await this.visitor.navigate(
      () => this.visitor.page.locator('main').getByRole('link', { name }).first().click(),
      (url) => /\/actions\/[0-9a-f-]{36}$/.test(url.pathname),
    );
  }
}

/** /green-plans/:planId/actions/new: the action form. */
export class NewActionPage {
  constructor(private readonly visitor: Visitor) {}

  async add(action: {
    area: string;
    title: string;
    lead: string;
    ownerEmail: string;
    startDate: string;
    dueDate: string;
    status: string;
  }): Promise<string> {
    const form = this.visitor.page.locator('main form');
    await form.getByLabel('Area of focus', { exact: true }).selectOption({ label: action.area });
    await form.getByLabel('Title', { exact: true }).fill(action.title);
    await form.getByLabel('Lead organisation', { exact: true }).fill(action.lead);
    await form
      .getByLabel("Owner's email address (optional)", { exact: true })
      .fill(action.ownerEmail);
    await form.getByLabel('Start date (optional)', { exact: true }).fill(action.startDate);
    await form.getByLabel('Due date (optional)', { exact: true }).fill(action.dueDate);
    await form.getByLabel('Status', { exact: true }).selectOption({ label: action.status });
    await this.visitor.navigate(
      () => form.getByRole('button', { name: 'Add action' }).click(),
      (url) => /\/actions\/[0-9a-f-]{36}$/.test(url.pathname),
    );
    return this.visitor.url.pathname;
  }
}

/** /green-plans/:planId/actions/:actionId: the action page with its timeline. */
export class ActionPage {
  constructor(private readonly visitor: Visitor) {}

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  async progress(): Promise<string> {
    return textOf(this.visitor.page.getByTestId('action-progress'));
  }

  async timelineHeadings(): Promise<string[]> {
    return textsOf(this.visitor.page.locator('.gs-timeline h3'));
  }

  async evidenceLinks(): Promise<string[]> {
    return textsOf(this.visitor.page.locator('.gs-timeline a[href*="/evidence/"]'));
  }

  async openUpdateForm(actionPath: string): Promise<void> {
    await this.visitor.navigate(
      () => this.visitor.page.getByRole('button', { name: 'Post a progress update' }).click(),
      `${actionPath}/updates/new`,
    );
  }
}

/** /green-plans/:planId/actions/:actionId/updates/new: the progress update form with evidence. */
export class UpdateFormPage {
  constructor(private readonly visitor: Visitor) {}

  async post(
    actionPath: string,
    update: {
      status: string;
      progress: string;
      narrative: string;
      file: { name: string; mimeType: string; buffer: Buffer };
    },
  ): Promise<void> {
    const form = this.visitor.page.locator('main form');
    await form.getByLabel('Status', { exact: true }).selectOption({ label: update.status });
    await form.getByLabel('Progress (%)', { exact: true }).fill(update.progress);
    await form.getByLabel('What has happened', { exact: true }).fill(update.narrative);
    await form.locator('input[type="file"][name="evidence"]').setInputFiles(update.file);
    await this.visitor.navigate(
      () => form.getByRole('button', { name: 'Post update' }).click(),
      `${actionPath}?updated=1`,
    );
  }
}

/** A KPI's page: its chart and table, the "Record a value" form and the values file import. */
export class KpiPage {
  constructor(private readonly visitor: Visitor) {}

  /** Chooses a file in "Record values from a file" and imports it; lands back on the KPI page. */
  async importValues(
    kpiPath: string,
    file: { name: string; mimeType: string; buffer: Buffer },
  ): Promise<void> {
    const form = this.visitor.page.locator(`main form[action="${kpiPath}/values"]`);
    await form.getByLabel('Values file', { exact: true }).setInputFiles(file);
    await this.visitor.navigate(
      () => form.getByRole('button', { name: 'Import values' }).click(),
      (url) => url.pathname.startsWith(kpiPath),
    );
  }

  async errorSummaryItems(): Promise<string[]> {
    return textsOf(this.visitor.page.locator('.nhsuk-error-summary__list a'));
  }

  /** On a plan's "Import KPIs" page: chooses the file and imports it. */
  async importDefinitions(
    planId: string,
    file: { name: string; mimeType: string; buffer: Buffer },
  ): Promise<void> {
    const form = this.visitor.page.locator(
      `main form[action="/green-plans/${planId}/kpis/import"]`,
    );
    await form.getByLabel('KPIs file', { exact: true }).setInputFiles(file);
    await this.visitor.navigate(
      () => form.getByRole('button', { name: 'Import KPIs' }).click(),
      (url) => url.pathname.startsWith(`/green-plans/${planId}`),
    );
  }

  /** Follows "Change this KPI" to its form. */
  async openChange(kpiPath: string): Promise<void> {
    await this.visitor.navigate(
      () => this.visitor.page.getByRole('link', { name: /^Change this KPI\b/ }).click(),
      `${kpiPath}/edit`,
    );
  }

  /** On the change form: fills the fields named by their labels, then "Save changes". */
  async saveChange(
    kpiPath: string,
    fields: Record<string, string>,
    landsOn: 'the KPI' | 'the form',
  ): Promise<void> {
    const form = this.visitor.page.locator(`main form[action="${kpiPath}/edit"]`);
    for (const [label, value] of Object.entries(fields)) {
      await form.getByLabel(label, { exact: true }).fill(value);
    }
    await this.visitor.navigate(
      () => form.getByRole('button', { name: 'Save changes' }).click(),
      landsOn === 'the KPI' ? kpiPath : `${kpiPath}/edit`,
    );
  }

  /** The rows of the "Problems in the file" table, as "where: what". */
  async fileProblems(): Promise<string[]> {
    const table = this.visitor.page.locator('table', {
      has: this.visitor.page.locator('caption', { hasText: 'Problems in the file' }),
    });
    const rows: string[] = [];
    for (const row of await table.locator('tbody tr').all()) {
      rows.push((await textsOf(row.locator('td'))).join(': '));
    }
    return rows;
  }

  async notice(): Promise<string> {
    return textOf(this.visitor.page.locator('.nhsuk-notification-banner--success'));
  }

  /** The rows of the chart's data table, each as its cells: date, actual, trajectory. */
  async dataRows(): Promise<string[][]> {
    const table = this.visitor.page.locator('table', {
      has: this.visitor.page.locator('caption', { hasText: 'actual and trajectory by date' }),
    });
    const rows: string[][] = [];
    for (const row of await table.locator('tbody tr').all()) {
      rows.push(await textsOf(row.locator('th, td')));
    }
    return rows;
  }
}
