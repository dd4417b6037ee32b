import { describe, expect, it } from 'vitest';
import { createViewEnvironment } from './views.ts';

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
});
