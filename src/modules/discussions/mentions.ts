/**
 * @mentions: a handle after the start of the text, a space or an opening bracket, so that email
 * addresses (name@nhs.net) are not read as mentions.
 */
const MENTION = /(^|[\s([{>])@([a-z0-9][a-z0-9.-]{1,39}[a-z0-9])(?![a-z0-9@-])/gi;

/**
 * How many people one post can notify by mentioning them. Each mention costs a look-up, a read
 * check and perhaps an email, so a post listing hundreds of handles must not become a mailshot.
 */
export const MAX_MENTIONS_NOTIFIED = 10;

export function extractMentions(markdown: string): string[] {
  const handles = new Set<string>();
  for (const match of markdown.matchAll(MENTION)) handles.add(match[2]!.toLowerCase());
  return [...handles];
}

/**
 * The handles a post notifies, the first `MAX_MENTIONS_NOTIFIED` distinct ones in the order
 * written, and how many more it mentions that are not notified.
 */
export function mentionsToNotify(markdown: string): { handles: string[]; leftOut: number } {
  const handles = extractMentions(markdown);
  return {
    handles: handles.slice(0, MAX_MENTIONS_NOTIFIED),
    leftOut: Math.max(0, handles.length - MAX_MENTIONS_NOTIFIED),
  };
}

/** The `done` value a page is sent after posting: it says so when some mentioned were not notified. */
export function postedDone(outcome: {
  mentionsLeftOut: number;
  repeated: boolean;
}): 'posted' | 'posted-mentions' | 'posted-once' {
  if (outcome.repeated) return 'posted-once';
  return outcome.mentionsLeftOut > 0 ? 'posted-mentions' : 'posted';
}

/** Turns @handles into Markdown links to the person's profile, before the Markdown is rendered. */
export function linkMentions(markdown: string): string {
  return markdown.replace(
    MENTION,
    (_match, before: string, handle: string) =>
      `${before}[@${handle}](/people/${handle.toLowerCase()})`,
  );
}
