import type { Visitor } from '../visitor.ts';
import { normaliseSpace } from './text.ts';

/** What has keyboard focus now: enough to say which control it is in a failure message. */
export interface FocusedElement {
  tag: string;
  id: string;
  name: string;
  type: string;
  classes: string;
  text: string;
}

/** The element that has focus, or the body when nothing does. */
export async function focusedElement(visitor: Visitor): Promise<FocusedElement> {
  const focused = await visitor.page.evaluate(() => {
    // The project's TypeScript has no DOM library: describe the little used here.
    interface Element {
      tagName: string;
      id: string;
      textContent: string | null;
      getAttribute(name: string): string | null;
    }
    const { document } = globalThis as unknown as {
      document: { activeElement: Element | null; body: Element };
    };
    const element = document.activeElement ?? document.body;
    return {
      tag: element.tagName.toLowerCase(),
      id: element.id,
      name: element.getAttribute('name') ?? '',
      type: element.getAttribute('type') ?? '',
      classes: element.getAttribute('class') ?? '',
      text: element.textContent ?? '',
    };
  });
  return { ...focused, text: normaliseSpace(focused.text) };
}

/**
 * Does what a keyboard user does first on a page: Tab to the skip link and press Enter, so focus
 * is on the main content and the next Tab reaches its first control. Throws if the first Tab does
 * not reach the skip link or Enter does not move focus to the main content.
 */
export async function skipToMainContent(visitor: Visitor): Promise<void> {
  const { page } = visitor;
  await page.keyboard.press('Tab');
  const first = await focusedElement(visitor);
  if (!first.classes.split(/\s+/).includes('nhsuk-skip-link')) {
    throw new Error(`The first Tab reached ${JSON.stringify(first)}, not the skip link`);
  }
  await page.keyboard.press('Enter');
  await page.locator('#maincontent:focus').waitFor();
}

/** Presses Tab and returns what it reached. */
export async function tab(visitor: Visitor): Promise<FocusedElement> {
  await visitor.page.keyboard.press('Tab');
  return focusedElement(visitor);
}
