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
