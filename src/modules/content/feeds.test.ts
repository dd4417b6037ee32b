import { describe, expect, it } from 'vitest';
import { buildICalendar, type CalendarEvent } from './feeds.ts';

const event: CalendarEvent = {
  uid: 'event-1@greenspace',
  title: 'Green champions meeting',
  description: 'Quarterly meeting',
  startsAt: '2026-06-10T13:00',
  endsAt: '',
  location: 'Leicester',
  url: 'https://greenspace.example/events/green-champions-meeting',
  stamp: '2026-05-01T09:30:00.000Z',
};

describe('the iCalendar file of an event', () => {
  it('gives an event without an end an hour', () => {
    const ics = buildICalendar(event)!;
    expect(ics).toContain('DTSTART;TZID=Europe/London:20260610T130000\r\n');
    expect(ics).toContain('DTEND;TZID=Europe/London:20260610T140000\r\n');
  });

  it('defines the Europe/London zone its times use, with the UK’s summer time rules', () => {
    const ics = buildICalendar(event)!;
    const lines = ics.split('\r\n');
    const zoneStart = lines.indexOf('BEGIN:VTIMEZONE');
    expect(zoneStart).toBeGreaterThan(0);
    expect(zoneStart).toBeLessThan(lines.indexOf('BEGIN:VEVENT'));
    expect(lines[zoneStart + 1]).toBe('TZID:Europe/London');
    expect(ics).toContain(
      'BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0100\r\nTZNAME:BST\r\n',
    );
    expect(ics).toContain('RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n');
    expect(ics).toContain(
      'BEGIN:STANDARD\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0000\r\nTZNAME:GMT\r\n',
    );
    expect(ics).toContain('RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n');
    expect(ics.endsWith('END:VCALENDAR\r\n')).toBe(true);
    expect(lines.every((line) => Buffer.byteLength(line) <= 75)).toBe(true);
  });

  it('has no calendar entry for an event without a start, rather than failing', () => {
    expect(buildICalendar({ ...event, startsAt: '' })).toBeUndefined();
  });
});
