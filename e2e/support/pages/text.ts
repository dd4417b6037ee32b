import type { Locator } from 'playwright-core';

/** Text as a person reads it: runs of white space (including line breaks in markup) become one space. */
export function normaliseSpace(text: string | null | undefined): string {
  return (text ?? '').replace(/\s+/g, ' ').trim();
}

/** The text of an element, white space normalised; waits for the element to exist. */
export async function textOf(locator: Locator): Promise<string> {
  return normaliseSpace(await locator.textContent());
}

/** The texts of every element a locator matches, white space normalised. */
export async function textsOf(locator: Locator): Promise<string[]> {
  return (await locator.allTextContents()).map(normaliseSpace);
}

/** "1,232,169" → 1232169. Anything that is not a whole number with thousands separators throws. */
export function parseWholeNumber(text: string): number {
  const trimmed = text.trim();
  if (!/^\d{1,3}(,\d{3})*$/.test(trimmed)) throw new Error(`"${text}" is not a whole number`);
  return Number(trimmed.replaceAll(',', ''));
}
