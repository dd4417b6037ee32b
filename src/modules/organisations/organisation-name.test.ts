import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatOrganisationName } from './organisation-name.ts';

describe('formatOrganisationName', () => {
  it.each([
    ['SOUTH LEICESTERSHIRE MEDICAL GROUP', 'South Leicestershire Medical Group'],
    ['COUNTESTHORPE HEALTH CENTRE', 'Countesthorpe Health Centre'],
    ['GREENGATE MEDICAL CENTRE', 'Greengate Medical Centre'],
  ])('turns the capitals of %j into title case', (published, shown) => {
    expect(formatOrganisationName(published)).toBe(shown);
  });

  it.each([
    ['UNIVERSITY HOSPITALS OF LEICESTER NHS TRUST', 'University Hospitals of Leicester NHS Trust'],
    ['CROSS COUNTIES PCN', 'Cross Counties PCN'],
    ['LEICESTER CITY ICB', 'Leicester City ICB'],
    ['EAST LEICESTERSHIRE CCG', 'East Leicestershire CCG'],
    ['LLR GP FEDERATION CIC', 'LLR GP Federation CIC'],
    ['HINCKLEY GPS LLP', 'Hinckley GPS LLP'],
    ['UHL AND LPT HQ', 'UHL and LPT HQ'],
    ['EMAS UK', 'EMAS UK'],
    ['NWL PCN', 'NWL PCN'],
    ['HENRY III SURGERY', 'Henry III Surgery'],
    ['GEORGE IV AND GEORGE II', 'George IV and George II'],
  ])('keeps acronyms and numerals in capitals: %j', (published, shown) => {
    expect(formatOrganisationName(published)).toBe(shown);
  });

  it('keeps an acronym in capitals when it is the first word', () => {
    expect(formatOrganisationName('NHS ENGLAND MIDLANDS')).toBe('NHS England Midlands');
  });

  it('writes small joining words in lower case', () => {
    expect(
      formatOrganisationName('STRATFORD UPON AVON SURGERY AT THE PARK BY THE RIVER WITH FOR ON'),
    ).toBe('Stratford upon Avon Surgery at the Park by the River with for on');
    expect(formatOrganisationName('LEICESTER, LEICESTERSHIRE AND RUTLAND')).toBe(
      'Leicester, Leicestershire and Rutland',
    );
  });

  it.each([
    ['THE LIMES MEDICAL CENTRE', 'The Limes Medical Centre'],
    ['OF MICE AND MEN', 'Of Mice and Men'],
    ['AND SONS', 'And Sons'],
  ])('capitalises a small word when it comes first: %j', (published, shown) => {
    expect(formatOrganisationName(published)).toBe(shown);
  });

  it('counts the first word even when the name starts with punctuation', () => {
    expect(formatOrganisationName('(THE) SURGERY')).toBe('(The) Surgery');
  });

  it('formats each part of a hyphenated place name as a word of its own', () => {
    expect(formatOrganisationName('ASHBY-DE-LA-ZOUCH HEALTH CENTRE')).toBe(
      'Ashby-de-la-Zouch Health Centre',
    );
  });

  it.each([
    ["ST JOHN'S SURGERY", "St John's Surgery"],
    ['ST PETER’S HEALTH CENTRE', 'St Peter’s Health Centre'],
    ["QUEEN'S ROAD", "Queen's Road"],
  ])('keeps the letter after an apostrophe in lower case: %j', (published, shown) => {
    expect(formatOrganisationName(published)).toBe(shown);
  });

  it.each([
    ['SURGERY 2', 'Surgery 2'],
    ['FOREST HOUSE LE8 0LG', 'Forest House LE8 0LG'],
    ['1 HIGH STREET', '1 High Street'],
    ['THE 1ST PRACTICE', 'The 1ST Practice'],
  ])('leaves words containing digits as published: %j', (published, shown) => {
    expect(formatOrganisationName(published)).toBe(shown);
  });

  it('keeps punctuation and spacing exactly as published', () => {
    expect(formatOrganisationName('SOUTH BLABY & LUTTERWORTH  PCN.')).toBe(
      'South Blaby & Lutterworth  PCN.',
    );
  });

  it.each([
    'NHS Leicester, Leicestershire and Rutland Integrated Care Board',
    'Leicestershire (county)',
    'mcLEAN SURGERY',
    'the surgery',
  ])('leaves a name that already has lower-case letters untouched: %j', (name) => {
    expect(formatOrganisationName(name)).toBe(name);
  });

  it('returns an empty name as it is', () => {
    expect(formatOrganisationName('')).toBe('');
  });

  describe('properties', () => {
    const publishedName = fc.stringMatching(/^[A-Z0-9 '’&,().-]{0,60}$/);

    it('changes only the case of letters, never the letters themselves', () => {
      fc.assert(
        fc.property(publishedName, (name) => {
          expect(formatOrganisationName(name).toUpperCase()).toBe(name);
        }),
      );
    });

    it('gives the same result when applied twice', () => {
      fc.assert(
        fc.property(publishedName, (name) => {
          const once = formatOrganisationName(name);
          expect(formatOrganisationName(once)).toBe(once);
        }),
      );
    });

    it('writes every ordinary word as one capital followed by lower case', () => {
      // No kept acronym or small word has more than four letters, so these words are all ordinary.
      fc.assert(
        fc.property(
          fc.array(fc.stringMatching(/^[A-Z]{5,12}$/), { minLength: 1, maxLength: 8 }),
          (words) => {
            const shown = formatOrganisationName(words.join(' ')).split(' ');
            expect(shown).toEqual(
              words.map((word) => word.charAt(0) + word.slice(1).toLowerCase()),
            );
          },
        ),
      );
    });
  });
});

describe('names with an apostrophe that are not possessives', () => {
  it.each([
    ["O'BRIEN SURGERY", "O'Brien Surgery"],
    ["D'ARCY HOUSE", "D'Arcy House"],
  ])('capitalises the letter after the apostrophe in %j', (published, shown) => {
    expect(formatOrganisationName(published)).toBe(shown);
  });
});
