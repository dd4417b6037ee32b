import type { Visitor } from '../visitor.ts';
import { parseWholeNumber, textOf, textsOf } from './text.ts';

/** The home page: the Green Plan, its areas of focus, the videos and the LLR practice figures. */
export class HomePage {
  constructor(private readonly visitor: Visitor) {}

  async open(): Promise<number> {
    return this.visitor.goto('/');
  }

  async heading(): Promise<string> {
    return textOf(this.visitor.page.locator('main h1'));
  }

  /** The number of active GP practices in LLR, as shown. */
  async practiceCount(): Promise<number> {
    return parseWholeNumber(await textOf(this.visitor.page.getByTestId('llr-practice-count')));
  }

  /** The registered patients figure exactly as shown, thousands separators and all. */
  async registeredPatientsText(): Promise<string> {
    return textOf(this.visitor.page.getByTestId('llr-registered-patients'));
  }

  /** The area of focus links in the LLR Green Plan section, in order. */
  async areasOfFocus(): Promise<{ text: string; href: string | null }[]> {
    const links = this.visitor.page
      .locator('section[aria-labelledby="llr-green-plan"]')
      .locator('a[href^="/areas-of-focus"]');
    const texts = await textsOf(links);
    const hrefs = await links.evaluateAll((anchors) => anchors.map((a) => a.getAttribute('href')));
    return texts.map((text, index) => ({ text, href: hrefs[index] ?? null }));
  }

  /** The headings of the video cards under "How we are going green". */
  async videoTitles(): Promise<string[]> {
    return textsOf(
      this.visitor.page
        .locator('section[aria-labelledby="going-green"]')
        .locator('.nhsuk-card__heading'),
    );
  }
}
