import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  amountText,
  caseStudyDetails,
  detailsForForm,
  readStoredDetails,
  videoDetails,
} from './content-types.ts';

function amountError(value: string): string | undefined {
  const parsed = caseStudyDetails.safeParse({ tco2eSavedPerYear: value });
  return parsed.success ? undefined : parsed.error.issues[0]?.message;
}

describe('amounts', () => {
  it('reads numbers as people write them', () => {
    const parsed = caseStudyDetails.parse({
      tco2eSavedPerYear: '1,250.5',
      moneySavedPerYearGbp: '£ 12,000',
    });
    expect(parsed.tco2eSavedPerYear).toBe(1250.5);
    expect(parsed.moneySavedPerYearGbp).toBe(12000);
    expect(caseStudyDetails.parse({ tco2eSavedPerYear: '' }).tco2eSavedPerYear).toBeNull();
    expect(caseStudyDetails.parse({ tco2eSavedPerYear: '0.000001' }).tco2eSavedPerYear).toBe(
      0.000001,
    );
  });

  it('refuses amounts that would be stored in exponent form, saying what is allowed', () => {
    expect(amountError('0.0000001')).toBe('must have 6 decimal places or fewer');
    expect(amountError('1000000000000000000000')).toBe('must be less than 1,000,000,000,000');
    expect(amountError('1000000000000')).toBe('must be less than 1,000,000,000,000');
    expect(amountError('999999999999.5')).toBeUndefined();
    expect(amountError('1e-7')).toBe('must be a number, like 12.5');
    expect(amountError('-3')).toBe('must be a number, like 12.5');
  });

  it('property: every amount it accepts is stored as a number that reads back as the same number', () => {
    const decimal = fc
      .tuple(
        fc.stringMatching(/^\d{1,25}$/),
        fc.option(fc.stringMatching(/^\d{1,10}$/), { nil: undefined }),
      )
      .map(([whole, fraction]) => (fraction === undefined ? whole : `${whole}.${fraction}`));
    fc.assert(
      fc.property(decimal, (text) => {
        const written = videoDetails.safeParse({ durationMinutes: text });
        if (!written.success) return;
        const stored = JSON.parse(JSON.stringify(written.data)) as unknown;
        expect(JSON.stringify(stored)).not.toMatch(/\de/i);
        const read = videoDetails.parse(stored);
        expect(read.durationMinutes).toBe(written.data.durationMinutes);
      }),
    );
  });

  it('writes amounts out in full', () => {
    expect(amountText(1e-7)).toBe('0.0000001');
    expect(amountText(1e21)).toBe('1000000000000000000000');
    expect(amountText(12.5)).toBe('12.5');
  });
});

describe('reading stored details', () => {
  it('leaves out values that fail today’s checks instead of failing', () => {
    const stored = { tco2eSavedPerYear: 1e-7, moneySavedPerYearGbp: 1e21, results: 'Fewer' };
    const read = readStoredDetails('case_study', stored);
    expect(read.fields.tco2eSavedPerYear).toBeNull();
    expect(read.fields.moneySavedPerYearGbp).toBeNull();
    expect(read.fields.results).toBe('Fewer');
    expect(read.invalid.sort()).toEqual(['moneySavedPerYearGbp', 'tco2eSavedPerYear']);
    // The edit form shows them as stored, written out in full, for the author to correct.
    expect(detailsForForm(stored, read)).toMatchObject({
      tco2eSavedPerYear: '0.0000001',
      moneySavedPerYearGbp: '1000000000000000000000',
      results: 'Fewer',
    });
  });

  it('leaves out an event end before its start, and anything that is not details at all', () => {
    const read = readStoredDetails('event', {
      startsAt: '2026-06-10T10:00',
      endsAt: '2026-06-10T09:00',
      location: 'Leicester',
    });
    expect(read.fields).toMatchObject({ startsAt: '2026-06-10T10:00', endsAt: '' });
    expect(read.invalid).toEqual(['endsAt']);
    expect(readStoredDetails('video', null).fields.transcript).toBe('');
    expect(readStoredDetails('video', { transcript: 42 }).invalid).toEqual(['transcript']);
  });
});
