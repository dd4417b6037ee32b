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

  it('has no calendar entry for an event without a start, rather than failing', () => {
    expect(buildICalendar({ ...event, startsAt: '' })).toBeUndefined();
  });
});
