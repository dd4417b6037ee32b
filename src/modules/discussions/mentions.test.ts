import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  extractMentions,
  linkMentions,
  MAX_MENTIONS_NOTIFIED,
  mentionsToNotify,
} from './mentions.ts';

describe('@mentions', () => {
  it('finds handles at the start, after spaces and brackets, once each and in lower case', () => {
    expect(
      extractMentions('@asha.patel can you help? (cc @Ben-Okafor) and @asha.patel again'),
    ).toEqual(['asha.patel', 'ben-okafor']);
  });

  it('does not read email addresses, or a lone @, as mentions', () => {
    expect(extractMentions('Write to green.team@nhs.net or @ or @a')).toEqual([]);
    expect(extractMentions('name@example.nhs.net')).toEqual([]);
  });

  it('stops a handle at punctuation that ends a sentence', () => {
    expect(extractMentions('Thanks @jo.bloggs.')).toEqual(['jo.bloggs']);
    expect(extractMentions('Thanks @jo.bloggs, see you')).toEqual(['jo.bloggs']);
  });

  it('notifies only the first ten distinct handles, in the order written, and counts the rest', () => {
    const names = Array.from({ length: 12 }, (_, index) => `member.${index + 1}`);
    const text = [...names, names[0]].map((name) => `@${name}`).join(' ');
    expect(MAX_MENTIONS_NOTIFIED).toBe(10);
    expect(mentionsToNotify(text)).toEqual({ handles: names.slice(0, 10), leftOut: 2 });
    expect(mentionsToNotify('@jo.bloggs and @jo.bloggs')).toEqual({
      handles: ['jo.bloggs'],
      leftOut: 0,
    });
  });

  it('links each mention to the person’s profile, leaving the rest of the text alone', () => {
    expect(linkMentions('Hello @jo.bloggs, write to jo@nhs.net')).toBe(
      'Hello [@jo.bloggs](/people/jo.bloggs), write to jo@nhs.net',
    );
  });

  it('property: every handle found is linked, and linking twice finds the same handles', () => {
    const handle = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,20}[a-z0-9]$/);
    fc.assert(
      fc.property(
        fc.array(handle, { minLength: 1, maxLength: 5 }),
        fc.string(),
        (handles, filler) => {
          const text = handles
            .map((name) => `${filler.replace(/[@\w.-]/g, '')} @${name}`)
            .join(' ');
          const found = extractMentions(text);
          expect(new Set(found)).toEqual(new Set(handles));
          const linked = linkMentions(text);
          for (const name of found) expect(linked).toContain(`(/people/${name})`);
        },
      ),
    );
  });
});
