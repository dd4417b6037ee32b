import type { UrlMatcher, Visitor } from '../visitor.ts';

/** The NHS.UK header every page shares: service name, organisation search and navigation. */
export class SiteHeader {
  constructor(private readonly visitor: Visitor) {}

  /** Searches the organisation directory from the header and waits for the results page. */
  async searchOrganisations(text: string): Promise<void> {
    const { page } = this.visitor;
    await page
      .getByRole('searchbox', { name: 'Search organisations by name or ODS code' })
      .fill(text);
    await this.visitor.navigate(
      () => page.getByRole('button', { name: 'Search organisations' }).click(),
      (url) => url.pathname === '/organisations' && url.searchParams.get('q') === text,
    );
  }

  /** Follows a link in the footer ("Accessibility statement", …) and waits for its page. */
  async followFooterLink(name: string, path: string): Promise<void> {
    const { page } = this.visitor;
    await this.visitor.navigate(
      () => page.getByRole('contentinfo').getByRole('link', { name, exact: true }).click(),
      path,
    );
  }

  private get accountNavigation() {
    return this.visitor.page.getByRole('navigation', { name: 'Account' });
  }

  /** The account links in the header: "Sign in" and "Create an account", or the name and "Sign out". */
  async accountLinks(): Promise<string[]> {
    return (await this.accountNavigation.getByRole('link').allTextContents()).map((text) =>
      text.replace(/\s+/g, ' ').trim(),
    );
  }

  /** Follows an account link in the header ("Sign out", "Admin", …) and waits for its page. */
  async followAccountLink(name: string, to: UrlMatcher): Promise<void> {
    await this.visitor.navigate(
      () => this.accountNavigation.getByRole('link', { name, exact: true }).click(),
      to,
    );
  }
}
