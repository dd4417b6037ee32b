import type { Locator } from 'playwright-core';
import type { Visitor } from '../visitor.ts';
import { textOf } from './text.ts';

/** /dev/outbox: every email the app has sent, newest first, with real links (outside production). */
export class OutboxPage {
  constructor(private readonly visitor: Visitor) {}

  async open(): Promise<number> {
    return this.visitor.goto('/dev/outbox');
  }

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  /** The cards of the messages sent to this address with this subject, as the page shows them. */
  messages(to: string, subject: string): Locator {
    const { page } = this.visitor;
    return page
      .locator('main section.nhsuk-card')
      .filter({ has: page.getByRole('heading', { level: 2, name: subject, exact: true }) })
      .filter({ has: page.getByTestId('outbox-to').getByText(to, { exact: true }) });
  }

  /** The text of one message card (subject, recipient, date and body). */
  async text(message: Locator): Promise<string> {
    return textOf(message);
  }

  /** The addresses of the links in a message's body. */
  async linkAddresses(message: Locator): Promise<string[]> {
    return message
      .locator('.gs-email-text a')
      .evaluateAll((anchors) => anchors.map((a) => a.getAttribute('href') ?? ''));
  }

  /** Follows the link in a message whose address is on this path, and waits for its page. */
  async followLink(message: Locator, pathname: string): Promise<void> {
    const links = message.locator('.gs-email-text a').filter({ hasText: pathname });
    const count = await links.count();
    if (count !== 1) throw new Error(`The message has ${count} link(s) to ${pathname}, not 1`);
    await this.visitor.navigate(
      () => links.click(),
      (url) => url.pathname === pathname,
    );
  }
}
