import { describe, expect, it } from 'vitest';
import { isSitePath } from './notification.service.ts';

describe('isSitePath', () => {
  it('accepts paths on this site, with a query or a fragment', () => {
    expect(isSitePath('/discussions/abc#post-1')).toBe(true);
    expect(isSitePath('/greener-practice/reviews/1?tab=evidence')).toBe(true);
    expect(isSitePath('/')).toBe(true);
  });

  it('refuses anything a browser could take to another site', () => {
    expect(isSitePath('https://example.org/')).toBe(false);
    expect(isSitePath('//example.org/')).toBe(false);
    expect(isSitePath('/\\example.org/')).toBe(false);
    expect(isSitePath('/path\\with\\backslashes')).toBe(false);
    expect(isSitePath('/\t/example.org')).toBe(false);
    expect(isSitePath('javascript:alert(1)')).toBe(false);
    expect(isSitePath('')).toBe(false);
  });
});
