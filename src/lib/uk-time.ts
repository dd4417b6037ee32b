/**
 * Dates as people in England read them. Moments are stored in UTC; a calendar date or month shown
 * or compared with what someone typed is the UK one (GMT in winter, BST in summer), or "today"
 * would still be yesterday for the first hour of every summer day.
 */

const ukCalendar = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Europe/London',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/**
 * The UK calendar date of a moment, `YYYY-MM-DD`: the date people in the practice and the ICS saw
 * (00:30 BST on 11 June is 11 June, though it is still 10 June in UTC). Month keys are its first
 * seven characters.
 */
export function ukCalendarDate(at: Date | string): string {
  const parts = Object.fromEntries(
    ukCalendar.formatToParts(new Date(at)).map((part) => [part.type, part.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}`;
}

const ukWallClock = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/**
 * A moment as UK wall-clock time, `YYYY-MM-DDTHH:MM`: the form events' times are stored in, so
 * the two compare as text.
 */
export function ukLocalDateTime(at: Date): string {
  const parts = Object.fromEntries(ukWallClock.formatToParts(at).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

/** How far UK clocks are ahead of UTC at a moment, in milliseconds: 0 in winter, an hour in summer. */
function ukOffsetMs(at: number): number {
  const parts = Object.fromEntries(
    ukWallClock.formatToParts(new Date(at)).map((part) => [part.type, Number(part.value)]),
  );
  // Not Date.UTC, which reads years below 100 as 1900 onwards.
  const wallClock = new Date(0);
  wallClock.setUTCFullYear(parts.year!, parts.month! - 1, parts.day!);
  wallClock.setUTCHours(parts.hour!, parts.minute!, parts.second!, 0);
  return wallClock.getTime() - Math.floor(at / 1000) * 1000;
}

/**
 * The moment a UK calendar day (`YYYY-MM-DD`) begins: midnight in the UK, which is 23:00 UTC the
 * day before in summer time. Filters by day compare stored UTC moments with it, so that they agree
 * with the UK dates lists show. UK clocks change at 01:00 UTC, never at midnight, so every UK day
 * has exactly one midnight. Throws a RangeError for anything but a real date.
 */
export function ukDayStart(day: string): Date {
  if (!isCalendarDate(day)) throw new RangeError(`Not a calendar date written YYYY-MM-DD: ${day}`);
  const utcMidnight = new Date(`${day}T00:00:00.000Z`).getTime();
  // UK midnight is UTC midnight less the UK offset at UK midnight; the offset is looked up again at
  // the first answer, in case it differs from the offset at UTC midnight.
  let start = utcMidnight - ukOffsetMs(utcMidnight);
  start = utcMidnight - ukOffsetMs(start);
  return new Date(start);
}

/** The UK calendar day after a day, both `YYYY-MM-DD`. */
export function nextCalendarDay(day: string): string {
  const date = new Date(`${day}T00:00:00.000Z`);
  date.setUTCDate(date.getUTCDate() + 1);
  return date.toISOString().slice(0, 10);
}

/** True for a real calendar date written `YYYY-MM-DD` (not 31 February). */
export function isCalendarDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00.000Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}
