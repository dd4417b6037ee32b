import type { UrlMatcher, Visitor } from '../visitor.ts';

/** The NHS.UK header every page shares: service name, content search and navigation. */
export class SiteHeader {
  constructor(private readonly visitor: Visitor) {}

  /** Follows a link of the header's navigation ("Organisations"…) and waits for its page. */
  async followNavigationLink(name: string, path: string): Promise<void> {
    await this.visitor.navigate(
      () =>
        this.visitor.page
          .getByRole('banner')
          .getByRole('navigation', { name: 'Menu' })
          .getByRole('link', { name, exact: true })
          .click(),
      path,
    );
  }

  /** Searches Greenspace's content from the header's search box and waits for the results page. */
  async searchGreenspace(text: string): Promise<void> {
    const banner = this.visitor.page.getByRole('banner');
    await banner.getByRole('searchbox', { name: 'Search Greenspace', exact: true }).fill(text);
    await this.visitor.navigate(
      () => banner.getByRole('button', { name: 'Search', exact: true }).click(),
      (url) => url.pathname === '/search' && url.searchParams.get('q') === text,
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
