import path from 'node:path';
import nunjucks from 'nunjucks';
import { nhsukFrontendDist } from './assets.ts';
import { formatOrganisationName } from '../modules/organisations/organisation-name.ts';
import { formatBytes } from '../modules/files/file-types.ts';

const srcDir = path.resolve(import.meta.dirname, '..');

const wholeNumber = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 });
const longDate = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  timeZone: 'UTC',
});
const longDateTime = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  hour: 'numeric',
  minute: '2-digit',
  timeZone: 'Europe/London',
});
const monthYear = new Intl.DateTimeFormat('en-GB', {
  month: 'long',
  year: 'numeric',
  timeZone: 'UTC',
});

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
  environment.addFilter('number', (value: unknown, digits?: number) => formatNumber(value, digits));
  environment.addFilter('longDate', (value: unknown) => formatDate(value, longDate));
  environment.addFilter('monthYear', (value: unknown) => formatDate(value, monthYear));
  environment.addFilter('longDateTime', (value: unknown) => formatDate(value, longDateTime));
  environment.addFilter('fileSize', (value: unknown) => formatBytes(Number(value)));
  environment.addFilter('orgName', (value: unknown) =>
    typeof value === 'string' ? formatOrganisationName(value) : value,
  );
  return environment;
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

function formatDate(value: unknown, format: Intl.DateTimeFormat): string {
  if (typeof value !== 'string' || value === '') return '';
  const date = new Date(
    value.length === 7
      ? `${value}-01T00:00:00Z`
      : value.length === 10
        ? `${value}T00:00:00Z`
        : value,
  );
  return Number.isNaN(date.getTime()) ? value : format.format(date);
}
