import path from 'node:path';
import nunjucks from 'nunjucks';
import { nhsukFrontendDist } from './assets.ts';
import { formatOrganisationName } from '../modules/organisations/organisation-name.ts';
import { formatBytes } from '../modules/files/file-types.ts';
import { newSubmissionKey } from '../modules/security/form-submission.service.ts';

const srcDir = path.resolve(import.meta.dirname, '..');

const wholeNumber = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 });

/**
 * Each date format twice: `calendar` shows a value's own digits (read as UTC, so nothing shifts),
 * for calendar dates and UK wall-clock times stored without an offset; `instant` shows a moment
 * stored as ISO 8601 UTC as it was in the UK (00:30 BST on 11 June is 11 June, though it is
 * 23:30 on 10 June in UTC).
 */
interface DateFormat {
  calendar: Intl.DateTimeFormat;
  instant: Intl.DateTimeFormat;
}

function dateFormat(options: Intl.DateTimeFormatOptions): DateFormat {
  return {
    calendar: new Intl.DateTimeFormat('en-GB', { ...options, timeZone: 'UTC' }),
    instant: new Intl.DateTimeFormat('en-GB', { ...options, timeZone: 'Europe/London' }),
  };
}

const longDate = dateFormat({ day: 'numeric', month: 'long', year: 'numeric' });
const longDateTime = dateFormat({
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  hour: 'numeric',
  minute: '2-digit',
});
const monthYear = dateFormat({ month: 'long', year: 'numeric' });

/**
 * The Nunjucks environment. Templates are found in src/web/views (layout, shared partials, error
 * pages), in each module's folder (as `<module>/views/<page>.njk`) and in NHS.UK frontend (its
 * template and component macros). Output is escaped unless a template says otherwise.
 */
export function createViewEnvironment(options: { watch?: boolean } = {}): nunjucks.Environment {
  const environment = new nunjucks.Environment(
    new nunjucks.FileSystemLoader(
      [path.join(srcDir, 'web', 'views'), path.join(srcDir, 'modules'), nhsukFrontendDist],
      { watch: options.watch ?? false, noCache: false },
    ),
    { autoescape: true, throwOnUndefined: false, trimBlocks: true, lstripBlocks: true },
  );
  // Forms whose effect must happen once carry a one-time key, made as the page is drawn.
  environment.addGlobal('newSubmissionKey', newSubmissionKey);
  environment.addFilter('number', (value: unknown, digits?: number) => formatNumber(value, digits));
  environment.addFilter('co2eMass', (kilograms: unknown) => formatCo2eMass(Number(kilograms)));
  environment.addFilter('longDate', (value: unknown) => formatDate(value, longDate));
  environment.addFilter('monthYear', (value: unknown) => formatDate(value, monthYear));
  environment.addFilter('longDateTime', (value: unknown) => formatDate(value, longDateTime));
  environment.addFilter('fileSize', (value: unknown) => formatBytes(Number(value)));
  environment.addFilter('orgName', (value: unknown) =>
    typeof value === 'string' ? formatOrganisationName(value) : value,
  );
  return environment;
}

/**
 * A mass of CO2e given in kilograms: whole kilograms below a tonne (so 40 kg never reads "0.0 t"),
 * tonnes to one decimal from a tonne up.
 */
export function formatCo2eMass(kilograms: number): string {
  if (Math.round(kilograms) < 1000) return `${formatNumber(Math.round(kilograms))} kgCO2e`;
  return `${formatNumber(kilograms / 1000, 1)} tCO2e`;
}

export function formatNumber(value: unknown, digits?: number): string {
  if (value === null || value === undefined || value === '') return '';
  const number = Number(value);
  if (!Number.isFinite(number)) return String(value);
  if (digits === undefined) return wholeNumber.format(number);
  return new Intl.NumberFormat('en-GB', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(number);
}

/**
 * Formats a stored date: `YYYY-MM` (a month), `YYYY-MM-DD` (a calendar date) and
 * `YYYY-MM-DDTHH:MM` without an offset (UK wall-clock time, as an event's start is stored) keep
 * their own digits; anything with an offset is a moment, shown as it was in the UK.
 */
function formatDate(value: unknown, format: DateFormat): string {
  if (typeof value !== 'string' || value === '') return '';
  if (/^\d{4}-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2})?)?)?$/.test(value)) {
    const [date = '', time = '00:00'] = value.split('T');
    const calendar = new Date(`${date.length === 7 ? `${date}-01` : date}T${time}Z`);
    return Number.isNaN(calendar.getTime()) ? value : format.calendar.format(calendar);
  }
  const instant = new Date(value);
  return Number.isNaN(instant.getTime()) ? value : format.instant.format(instant);
}
