import type { Locator } from 'playwright-core';
import type { Visitor } from '../visitor.ts';
import { normaliseSpace, textOf, textsOf } from './text.ts';

/** /organisations/:code/join: a message to the admins and the "Ask to join" button. */
export class JoinPage {
  constructor(private readonly visitor: Visitor) {}

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  /** Writes the message, sends the request and waits for the organisation page it returns to. */
  async askToJoin(code: string, message: string): Promise<void> {
    const form = this.visitor.page.locator(`main form[action="/organisations/${code}/join"]`);
    await form.getByLabel('Message to the admin (optional)', { exact: true }).fill(message);
    await this.visitor.navigate(
      () => form.getByRole('button', { name: 'Ask to join', exact: true }).click(),
      `/organisations/${code}?requested=1`,
    );
  }
}

/** /admin: what an admin has to decide, and the organisations they manage. */
export class AdminHomePage {
  constructor(private readonly visitor: Visitor) {}

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  private get requestList(): Locator {
    return this.visitor.page
      .locator('main h2', { hasText: 'Requests to join waiting for a decision' })
      .locator('xpath=following-sibling::ul[1]');
  }

  /** The requests waiting for a decision, as their links read. */
  async waitingRequests(): Promise<{ text: string; href: string | null }[]> {
    const links = this.requestList.locator('a');
    const texts = await textsOf(links);
    const hrefs = await links.evaluateAll((anchors) => anchors.map((a) => a.getAttribute('href')));
    return texts.map((text, index) => ({ text, href: hrefs[index] ?? null }));
  }

  /** Opens the "Requests to join" page of one organisation from a waiting request's link. */
  async openRequest(linkText: string, code: string): Promise<void> {
    await this.visitor.navigate(
      () => this.requestList.getByRole('link', { name: linkText, exact: true }).click(),
      `/organisations/${code}/join-requests`,
    );
  }
}

/** /organisations/:code/join-requests: one card per request, each with Approve and Decline. */
export class JoinRequestsPage {
  constructor(private readonly visitor: Visitor) {}

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  /** The card of the request from the person with this name. */
  request(displayName: string): Locator {
    const { page } = this.visitor;
    return page
      .locator('main section.nhsuk-card')
      .filter({ has: page.getByRole('heading', { level: 2, name: displayName, exact: true }) });
  }

  /** The names on every request card. */
  async requesterNames(): Promise<string[]> {
    return textsOf(this.visitor.page.locator('main section.nhsuk-card h2'));
  }

  /** The paragraphs of a request card: the email address and date, then the message if any. */
  async requestLines(displayName: string): Promise<string[]> {
    return textsOf(this.request(displayName).locator('p'));
  }

  /** The role the card's menu would give on approval. */
  async proposedRole(displayName: string): Promise<string> {
    const menu = this.request(displayName).getByLabel('Role if approved', { exact: true });
    return normaliseSpace(
      await menu.evaluate((select) => {
        const element = select as unknown as {
          selectedOptions: ArrayLike<{ textContent: string | null }>;
        };
        return element.selectedOptions[0]?.textContent ?? '';
      }),
    );
  }

  /** Approves a request with a note and waits for the list to come back. */
  async approve(code: string, displayName: string, note: string): Promise<void> {
    const card = this.request(displayName);
    await card.getByLabel(`Note to ${displayName} (optional)`, { exact: true }).fill(note);
    await this.visitor.navigate(
      () => card.getByRole('button', { name: 'Approve', exact: true }).click(),
      `/organisations/${code}/join-requests`,
    );
  }

  /** The text of the page's main content, for the "no requests" message. */
  async mainText(): Promise<string> {
    return textOf(this.visitor.page.locator('main'));
  }
}

export interface MemberRow {
  name: string;
  role: string;
  since: string;
}

/** /organisations/:code/members: members only. */
export class MembersPage {
  constructor(private readonly visitor: Visitor) {}

  async open(code: string): Promise<number> {
    return this.visitor.goto(`/organisations/${code}/members`);
  }

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  async caption(): Promise<string> {
    return textOf(this.visitor.page.locator('main .nhsuk-caption-l'));
  }

  /** The rows of the members table, read by its column headings. */
  async members(): Promise<MemberRow[]> {
    const table = this.visitor.page.locator('main table');
    const headings = await textsOf(table.locator('thead th'));
    const rows = await table
      .locator('tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
      );
    const column = (cells: string[], heading: string) => {
      const index = headings.indexOf(heading);
      if (index < 0) throw new Error(`The members table has no "${heading}" column`);
      return normaliseSpace(cells[index]);
    };
    return rows.map((cells) => ({
      name: column(cells, 'Name'),
      role: column(cells, 'Role'),
      since: column(cells, 'Member since'),
    }));
  }
}
