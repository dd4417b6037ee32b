/**
 * The Atom feed of news (RFC 4287) and the iCalendar file of an event (RFC 5545), built as text.
 * Pure functions: the routes give them the items and send what they return.
 */

export interface AtomEntry {
  id: string;
  title: string;
  summary: string;
  url: string;
  published: string;
  updated: string;
  author: string;
}

function xmlEscape(text: string): string {
  // Characters XML 1.0 forbids (most control characters, lone surrogates) are dropped; markup
  // characters are escaped.
  const allowed = [...text].filter((character) => {
    const code = character.codePointAt(0)!;
    return (
      code === 0x09 ||
      code === 0x0a ||
      code === 0x0d ||
      (code >= 0x20 && code <= 0xd7ff) ||
      (code >= 0xe000 && code <= 0xfffd) ||
      code >= 0x10000
    );
  });
  return allowed
    .join('')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export function buildAtomFeed(
  feed: { id: string; title: string; url: string; selfUrl: string; updated: string },
  entries: AtomEntry[],
): string {
  const lines = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `  <id>${xmlEscape(feed.id)}</id>`,
    `  <title>${xmlEscape(feed.title)}</title>`,
    `  <updated>${xmlEscape(feed.updated)}</updated>`,
    `  <link rel="alternate" type="text/html" href="${xmlEscape(feed.url)}"/>`,
    `  <link rel="self" type="application/atom+xml" href="${xmlEscape(feed.selfUrl)}"/>`,
    '  <author><name>Greenspace</name></author>',
  ];
  for (const entry of entries) {
    lines.push(
      '  <entry>',
      `    <id>${xmlEscape(entry.id)}</id>`,
      `    <title type="text">${xmlEscape(entry.title)}</title>`,
      `    <link rel="alternate" type="text/html" href="${xmlEscape(entry.url)}"/>`,
      `    <published>${xmlEscape(entry.published)}</published>`,
      `    <updated>${xmlEscape(entry.updated)}</updated>`,
      `    <author><name>${xmlEscape(entry.author)}</name></author>`,
      `    <summary type="text">${xmlEscape(entry.summary)}</summary>`,
      '  </entry>',
    );
  }
  lines.push('</feed>', '');
  return lines.join('\n');
}

export interface CalendarEvent {
  uid: string;
  title: string;
  description: string;
  /** UK local time, `YYYY-MM-DDTHH:MM`. */
  startsAt: string;
  endsAt: string;
  location: string;
  url: string;
  stamp: string;
}

function icalText(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/;/g, '\\;')
    .replace(/,/g, '\\,')
    .replace(/\r?\n/g, '\\n');
}

/** Lines longer than 75 octets are folded with CRLF and a space, as RFC 5545 requires. */
function fold(line: string): string {
  const bytes = Buffer.from(line, 'utf8');
  if (bytes.length <= 75) return line;
  const parts: string[] = [];
  let current = '';
  for (const character of line) {
    const limit = parts.length === 0 ? 75 : 74;
    if (Buffer.byteLength(current + character, 'utf8') > limit) {
      parts.push(current);
      current = character;
    } else {
      current += character;
    }
  }
  parts.push(current);
  return parts.join('\r\n ');
}

function localStamp(localDateTime: string): string {
  return `${localDateTime.replace(/[-:]/g, '')}00`;
}

/**
 * The UK's time zone, which RFC 5545 (3.2.19) requires wherever a TZID is used: GMT, with BST
 * from 01:00 GMT on the last Sunday of March to 02:00 BST on the last Sunday of October (the
 * rule since 1996, in the Summer Time Order 2002).
 */
const europeLondon = [
  'BEGIN:VTIMEZONE',
  'TZID:Europe/London',
  'BEGIN:DAYLIGHT',
  'TZOFFSETFROM:+0000',
  'TZOFFSETTO:+0100',
  'TZNAME:BST',
  'DTSTART:19960331T010000',
  'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU',
  'END:DAYLIGHT',
  'BEGIN:STANDARD',
  'TZOFFSETFROM:+0100',
  'TZOFFSETTO:+0000',
  'TZNAME:GMT',
  'DTSTART:19961027T020000',
  'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
  'END:STANDARD',
  'END:VTIMEZONE',
];

const LOCAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/;

/**
 * One event in UK time (TZID=Europe/London); an event without an end lasts an hour. An event
 * without a start has no calendar entry (DTSTART is required), so that gives undefined.
 */
export function buildICalendar(event: CalendarEvent): string | undefined {
  if (!LOCAL_DATE_TIME.test(event.startsAt)) return undefined;
  const end = LOCAL_DATE_TIME.test(event.endsAt) ? event.endsAt : addHour(event.startsAt);
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Greenspace//Greener NHS//EN',
    'CALSCALE:GREGORIAN',
    'METHOD:PUBLISH',
    ...europeLondon,
    'BEGIN:VEVENT',
    `UID:${event.uid}`,
    `DTSTAMP:${event.stamp.replace(/[-:]/g, '').replace(/\.\d{3}/, '')}`,
    `DTSTART;TZID=Europe/London:${localStamp(event.startsAt)}`,
    `DTEND;TZID=Europe/London:${localStamp(end)}`,
    `SUMMARY:${icalText(event.title)}`,
    `DESCRIPTION:${icalText(event.description)}`,
    ...(event.location ? [`LOCATION:${icalText(event.location)}`] : []),
    `URL:${event.url}`,
    'END:VEVENT',
    'END:VCALENDAR',
  ];
  return `${lines.map(fold).join('\r\n')}\r\n`;
}

function addHour(localDateTime: string): string {
  const date = new Date(`${localDateTime}:00Z`);
  date.setUTCHours(date.getUTCHours() + 1);
  return date.toISOString().slice(0, 16);
}
