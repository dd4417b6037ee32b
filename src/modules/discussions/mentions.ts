/**
 * @mentions: a handle after the start of the text, a space or an opening bracket, so that email
 * addresses (name@nhs.net) are not read as mentions.
 */
const MENTION = /(^|[\s([{>])@([a-z0-9][a-z0-9.-]{1,39}[a-z0-9])(?![a-z0-9@-])/gi;

export function extractMentions(markdown: string): string[] {
  const handles = new Set<string>();
  for (const match of markdown.matchAll(MENTION)) handles.add(match[2]!.toLowerCase());
  return [...handles];
}

/** Turns @handles into Markdown links to the person's profile, before the Markdown is rendered. */
export function linkMentions(markdown: string): string {
  return markdown.replace(
    MENTION,
    (_match, before: string, handle: string) =>
      `${before}[@${handle}](/people/${handle.toLowerCase()})`,
  );
}
