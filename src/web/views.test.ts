import { describe, expect, it } from 'vitest';
import { createViewEnvironment, formatCo2eMass } from './views.ts';

// Hosts run in UTC; the filters must not depend on the server's own zone, so test as one.
process.env.TZ = 'UTC';
const environment = createViewEnvironment();

function render(filter: string, value: string): string {
  return environment.renderString(`{{ value | ${filter} }}`, { value });
}

describe('the date filters', () => {
  it('shows an event’s UK wall-clock start as stored, in summer as in winter', () => {
    expect(render('longDateTime', '2026-06-10T13:00')).toBe('10 June 2026 at 13:00');
    expect(render('longDateTime', '2027-01-20T13:00')).toBe('20 January 2027 at 13:00');
  });

  it('shows a moment stored in UTC at its UK time', () => {
    expect(render('longDateTime', '2026-06-10T12:00:00.000Z')).toBe('10 June 2026 at 13:00');
  });

  it('dates a moment by the UK calendar: 00:30 BST on 11 June is 11 June', () => {
    expect(render('longDate', '2026-06-10T23:30:00.000Z')).toBe('11 June 2026');
    expect(render('longDate', '2026-01-10T23:30:00.000Z')).toBe('10 January 2026');
  });

  it('keeps a plain calendar date and month as given', () => {
    expect(render('longDate', '2026-06-10')).toBe('10 June 2026');
    expect(render('longDate', '2026-03-29')).toBe('29 March 2026');
    expect(render('longDate', '2026-10-25')).toBe('25 October 2026');
    expect(render('monthYear', '2026-06')).toBe('June 2026');
  });
});

describe('a mass of CO2e', () => {
  it('shows a saving below a tonne in kilograms, where 0.0 tonnes would hide it', () => {
    expect(formatCo2eMass(40)).toBe('40 kgCO2e');
    expect(formatCo2eMass(0)).toBe('0 kgCO2e');
    expect(formatCo2eMass(999.4)).toBe('999 kgCO2e');
    expect(formatCo2eMass(999.6)).toBe('1.0 tCO2e');
    expect(formatCo2eMass(12_345)).toBe('12.3 tCO2e');
  });
});
