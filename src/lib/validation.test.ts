import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isPlausibleEmail, normaliseEmail, ValidationFailed } from './validation.ts';

describe('normaliseEmail', () => {
  it.each([
    ['Alice.Smith@Example.NHS.uk', 'alice.smith@example.nhs.uk'],
    ['  alice@nhs.net  ', 'alice@nhs.net'],
    ['\tBOB@NHS.NET\n', 'bob@nhs.net'],
    ['already@lower.case', 'already@lower.case'],
    ['', ''],
  ])('turns "%s" into "%s"', (input, expected) => {
    expect(normaliseEmail(input)).toBe(expected);
  });

  it('keeps spaces inside the address, for isPlausibleEmail to refuse', () => {
    expect(normaliseEmail(' a b@c.d ')).toBe('a b@c.d');
  });

  it('property: normalising twice is the same as once', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (email) => {
        const once = normaliseEmail(email);
        expect(normaliseEmail(once)).toBe(once);
      }),
    );
  });

  it('property: addresses differing only in case and surrounding spaces normalise alike', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme-ascii', minLength: 1 }),
        fc.constantFrom('', ' ', '\t', '  '),
        (email, padding) => {
          expect(normaliseEmail(`${padding}${email.toUpperCase()}${padding}`)).toBe(
            normaliseEmail(email),
          );
        },
      ),
    );
  });
});

describe('isPlausibleEmail', () => {
  it.each([
    'a@b.co',
    'alice.smith@nhs.net',
    'first+tag@sub.example.nhs.uk',
    "o'brien@example.org",
    'x@localhost.localdomain',
  ])('accepts %s', (email) => {
    expect(isPlausibleEmail(email)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['no @', 'alice.nhs.net'],
    ['nothing before @', '@nhs.net'],
    ['nothing after @', 'alice@'],
    ['no dot in the domain', 'alice@nhs'],
    ['nothing after the last dot', 'alice@nhs.'],
    ['two @', 'alice@@nhs.net'],
    ['@ in the domain', 'alice@nhs@net.uk'],
    ['a space inside', 'alice smith@nhs.net'],
    ['a leading space', ' alice@nhs.net'],
    ['a trailing space', 'alice@nhs.net '],
    ['a trailing newline', 'alice@nhs.net\n'],
    ['a newline inside', 'alice@nhs.net\nbcc@evil.example'],
    ['a tab inside', 'alice\t@nhs.net'],
  ])('refuses %s', (_name, email) => {
    expect(isPlausibleEmail(email)).toBe(false);
  });

  it('accepts 254 characters and refuses 255 (RFC 5321 path limit)', () => {
    const domain = `${'d'.repeat(180)}.nhs.uk`;
    const at254 = `${'a'.repeat(254 - domain.length - 1)}@${domain}`;
    expect(at254).toHaveLength(254);
    expect(isPlausibleEmail(at254)).toBe(true);
    expect(isPlausibleEmail(`a${at254}`)).toBe(false);
  });

  it('property: any address it accepts has one @ and no whitespace', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 30 }), (email) => {
        if (isPlausibleEmail(email)) {
          expect(email.split('@')).toHaveLength(2);
          expect(email).not.toMatch(/\s/);
        }
      }),
    );
  });

  it('property: local@domain.tld made of safe characters is accepted', () => {
    const part = fc.string({
      unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_+'),
      minLength: 1,
      maxLength: 20,
    });
    fc.assert(
      fc.property(part, part, part, (local, domain, tld) => {
        expect(isPlausibleEmail(`${local}@${domain}.${tld}`)).toBe(true);
      }),
    );
  });
});

describe('ValidationFailed', () => {
  it('keeps the problem for each field and joins them into the message', () => {
    const error = new ValidationFailed({
      email: 'Enter your email address',
      password: 'Too short',
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ValidationFailed');
    expect(error.fieldErrors).toEqual({ email: 'Enter your email address', password: 'Too short' });
    expect(error.message).toBe('Enter your email address; Too short');
  });
});
