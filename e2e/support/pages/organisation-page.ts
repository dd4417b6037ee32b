import type { Visitor } from '../visitor.ts';
import { normaliseSpace, textOf, textsOf } from './text.ts';

export interface Link {
  text: string;
  href: string;
}

/** One organisation's page: its summary list, breadcrumbs to its parents, and its members. */
export class OrganisationPage {
  constructor(private readonly visitor: Visitor) {}

  async open(code: string): Promise<number> {
    return this.visitor.goto(`/organisations/${code}`);
  }

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  /** The caption above the name: the organisation's type. */
  async typeCaption(): Promise<string> {
    return textOf(this.visitor.page.locator('main .nhsuk-caption-l'));
  }

  private summaryValue(key: string) {
    return this.visitor.page
      .locator('.nhsuk-summary-list__row')
      .filter({
        has: this.visitor.page.locator('.nhsuk-summary-list__key', {
          hasText: new RegExp(`^\\s*${key}\\s*$`),
        }),
      })
      .locator('.nhsuk-summary-list__value');
  }

  /** The value shown against a key of the summary list ("Registered patients", …). */
  async summary(key: string): Promise<string> {
    return textOf(this.summaryValue(key));
  }

  /** The link in a summary list value ("Primary care network", "Sub-ICB location"), if any. */
  async summaryLink(key: string): Promise<Link | undefined> {
    const links = this.summaryValue(key).locator('a');
    if ((await links.count()) === 0) return undefined;
    return {
      text: await textOf(links.first()),
      href: (await links.first().getAttribute('href')) ?? '',
    };
  }

  /** The breadcrumb trail, from Home to the closest parent. */
  async breadcrumbs(): Promise<Link[]> {
    return this.visitor.page
      .locator('.nhsuk-breadcrumb__list a')
      .evaluateAll((anchors) =>
        anchors.map((a) => ({ text: a.textContent ?? '', href: a.getAttribute('href') ?? '' })),
      )
      .then((links) => links.map((link) => ({ ...link, text: normaliseSpace(link.text) })));
  }

  /** Follows the breadcrumb with this text and waits for its page. */
  async followBreadcrumb(crumb: Link): Promise<void> {
    const { page } = this.visitor;
    await this.visitor.navigate(
      () =>
        page
          .locator('.nhsuk-breadcrumb__list')
          .getByRole('link', { name: crumb.text, exact: true })
          .click(),
      crumb.href,
    );
  }

  /** The ODS codes of the practices in the "GP practices" table (for a PCN or sub-ICB location). */
  async practiceCodes(): Promise<string[]> {
    const hrefs = await this.visitor.page
      .locator('section[aria-labelledby="practices-heading"] tbody a')
      .evaluateAll((anchors) => anchors.map((a) => a.getAttribute('href') ?? ''));
    return hrefs.map((href) => href.replace('/organisations/', ''));
  }

  private get membershipPanel() {
    return this.visitor.page.locator('section[aria-labelledby="membership-heading"]');
  }

  /** What the "Members on Greenspace" panel says about the visitor's membership, if anything. */
  async membershipStatus(): Promise<string[]> {
    return textsOf(this.membershipPanel.locator('p'));
  }

  /** The links in the "Members on Greenspace" panel ("Members", "Ask to join …", …). */
  async membershipLinks(): Promise<string[]> {
    return textsOf(this.membershipPanel.locator('li a'));
  }

  /** Follows a link in the "Members on Greenspace" panel and waits for its page. */
  async followMembershipLink(name: string, path: string): Promise<void> {
    await this.visitor.navigate(
      () => this.membershipPanel.getByRole('link', { name, exact: true }).click(),
      path,
    );
  }

  /** The text of the notification banner at the top of the page, or undefined if there is none. */
  async notice(): Promise<string | undefined> {
    const banner = this.visitor.page.locator('main .nhsuk-notification-banner');
    if ((await banner.count()) === 0) return undefined;
    return textOf(banner.locator('.nhsuk-notification-banner__content'));
  }
}
