import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeBase32,
  encodeBase32,
  generateTotpSecret,
  timeStepAt,
  totpCode,
  totpProvisioningUri,
  verifyTotp,
} from './totp.ts';

/** The SHA-1 seed of RFC 6238 Appendix B, "12345678901234567890" in ASCII, in base32. */
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

/**
 * RFC 6238 Appendix B, SHA-1 rows: Unix time in seconds and the 8-digit code. Our codes are 6
 * digits; dynamic truncation takes the number modulo 10^digits, so ours are the last 6 digits.
 */
const rfc6238Sha1Vectors: [seconds: number, eightDigits: string, step: number][] = [
  [59, '94287082', 0x1],
  [1111111109, '07081804', 0x23523ec],
  [1111111111, '14050471', 0x23523ed],
  [1234567890, '89005924', 0x273ef07],
  [2000000000, '69279037', 0x3f940aa],
  [20000000000, '65353130', 0x27bc86aa],
];

const SECONDS = 1000;
const STEP_MS = 30 * SECONDS;

describe('totpCode (RFC 6238 Appendix B, SHA-1)', () => {
  it('the seed is the ASCII string 12345678901234567890', () => {
    expect(encodeBase32(Buffer.from('12345678901234567890', 'ascii'))).toBe(RFC_SECRET);
    expect(decodeBase32(RFC_SECRET).toString('ascii')).toBe('12345678901234567890');
  });

  it.each(rfc6238Sha1Vectors)('T = %i s gives …%s', (seconds, eightDigits, step) => {
    expect(timeStepAt(seconds * SECONDS)).toBe(step);
    expect(totpCode(RFC_SECRET, step)).toBe(eightDigits.slice(-6));
  });

  it.each(rfc6238Sha1Vectors)(
    'verifyTotp accepts the code at T = %i s',
    (seconds, eightDigits, step) => {
      expect(verifyTotp(RFC_SECRET, eightDigits.slice(-6), seconds * SECONDS, null)).toBe(step);
    },
  );

  it('always gives six digits, keeping leading zeros', () => {
    // T = 1111111109 s is the RFC row whose 6-digit code starts with a zero.
    expect(totpCode(RFC_SECRET, 0x23523ec)).toBe('081804');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (step) => {
        expect(totpCode(RFC_SECRET, step)).toMatch(/^\d{6}$/);
      }),
    );
  });

  it('reads the secret in lower case or with spaces, as people type it', () => {
    const spaced = 'gezd gnbv gy3t qojq gezd gnbv gy3t qojq';
    expect(totpCode(spaced, 1)).toBe('287082');
  });
});

describe('timeStepAt', () => {
  it('counts 30-second steps since the Unix epoch', () => {
    expect(timeStepAt(0)).toBe(0);
    expect(timeStepAt(29_999)).toBe(0);
    expect(timeStepAt(30_000)).toBe(1);
    expect(timeStepAt(59_999)).toBe(1);
    expect(timeStepAt(60_000)).toBe(2);
  });
});

describe('verifyTotp', () => {
  // The middle of step 0x23523ed (T = 1111111111 s lies 1 s into it).
  const now = 0x23523ed * STEP_MS + 15 * SECONDS;
  const step = timeStepAt(now);
  const codeAt = (offset: number) => totpCode(RFC_SECRET, step + offset);

  it('the codes around now are all different (so each case below tests what it says)', () => {
    const codes = [-2, -1, 0, 1, 2].map(codeAt);
    expect(new Set(codes).size).toBe(5);
  });

  it.each([
    ['previous', -1],
    ['current', 0],
    ['next', 1],
  ])('accepts the %s step and returns it', (_name, offset) => {
    expect(verifyTotp(RFC_SECRET, codeAt(offset), now, null)).toBe(step + offset);
  });

  it.each([
    ['two steps ago', -2],
    ['two steps ahead', 2],
    ['an hour ago', -120],
  ])('refuses the code from %s', (_name, offset) => {
    expect(verifyTotp(RFC_SECRET, codeAt(offset), now, null)).toBeNull();
  });

  it('refuses a code that was right for another secret', () => {
    const other = encodeBase32(Buffer.from('abcdefghijabcdefghij'));
    const window = [-1, 0, 1].map(codeAt);
    expect(window).not.toContain(totpCode(other, step));
    expect(verifyTotp(RFC_SECRET, totpCode(other, step), now, null)).toBeNull();
  });

  it('uses the boundaries of the step, not the time since the last code', () => {
    const startOfStep = step * STEP_MS;
    const endOfStep = (step + 1) * STEP_MS - 1;
    expect(verifyTotp(RFC_SECRET, codeAt(-1), startOfStep, null)).toBe(step - 1);
    expect(verifyTotp(RFC_SECRET, codeAt(-1), endOfStep, null)).toBe(step - 1);
    expect(verifyTotp(RFC_SECRET, codeAt(-1), endOfStep + 1, null)).toBeNull();
  });

  describe('replay', () => {
    it('refuses the code just accepted when its step is passed back', () => {
      const accepted = verifyTotp(RFC_SECRET, codeAt(0), now, null);
      expect(accepted).toBe(step);
      expect(verifyTotp(RFC_SECRET, codeAt(0), now, accepted)).toBeNull();
      expect(verifyTotp(RFC_SECRET, codeAt(0), now + 20 * SECONDS, accepted)).toBeNull();
    });

    it('refuses an older code once a newer one has been accepted', () => {
      expect(verifyTotp(RFC_SECRET, codeAt(-1), now, step)).toBeNull();
      expect(verifyTotp(RFC_SECRET, codeAt(-1), now, step - 1)).toBeNull();
    });

    it('refuses every code in the window when a later step was accepted', () => {
      for (const offset of [-1, 0, 1]) {
        expect(verifyTotp(RFC_SECRET, codeAt(offset), now, step + 1)).toBeNull();
      }
    });

    it('accepts steps after the last accepted one', () => {
      expect(verifyTotp(RFC_SECRET, codeAt(0), now, step - 1)).toBe(step);
      expect(verifyTotp(RFC_SECRET, codeAt(1), now, step)).toBe(step + 1);
    });
  });

  describe('the shape of the code', () => {
    it.each([
      ['empty', ''],
      ['five digits', '28708'],
      ['seven digits', '0287082'],
      ['the 8-digit RFC code', '94287082'],
      ['letters', 'abcdef'],
      ['a letter among digits', '28708a'],
      ['a sign', '+28708'],
      ['a decimal point', '2870.2'],
      ['full-width digits', '２８７０８２'],
      ['Arabic-Indic digits', '٢٨٧٠٨٢'],
    ])('refuses %s', (_name, code) => {
      expect(verifyTotp(RFC_SECRET, code, 59 * SECONDS, null)).toBeNull();
    });

    it.each([
      ['a space in the middle', '287 082'],
      ['spaces around it', ' 287082 '],
      ['a tab and a newline', '287\t08\n2'],
    ])('accepts a right code with %s', (_name, code) => {
      expect(verifyTotp(RFC_SECRET, code, 59 * SECONDS, null)).toBe(1);
    });

    it('refuses a right code with a hyphen in it', () => {
      expect(verifyTotp(RFC_SECRET, '287-082', 59 * SECONDS, null)).toBeNull();
    });
  });

  it('property: the code of any step is accepted within ±1 step of it and nowhere else', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 10, max: 2 ** 36 }),
        fc.integer({ min: -4, max: 4 }),
        fc.integer({ min: 0, max: STEP_MS - 1 }),
        (codeStep, offset, withinStep) => {
          const code = totpCode(RFC_SECRET, codeStep);
          const checkedAtStep = codeStep + offset;
          const window = [checkedAtStep - 1, checkedAtStep, checkedAtStep + 1];
          // Another step of the window may share the code by chance (1 in 10^6 per step).
          fc.pre(
            window.every((other) => other === codeStep || totpCode(RFC_SECRET, other) !== code),
          );
          const result = verifyTotp(RFC_SECRET, code, checkedAtStep * STEP_MS + withinStep, null);
          expect(result).toBe(Math.abs(offset) <= 1 ? codeStep : null);
        },
      ),
    );
  });
});

describe('generateTotpSecret', () => {
  it('makes 160-bit secrets in unpadded base32, different each time', () => {
    const secrets = Array.from({ length: 50 }, generateTotpSecret);
    for (const secret of secrets) {
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(decodeBase32(secret)).toHaveLength(20);
    }
    expect(new Set(secrets).size).toBe(secrets.length);
  });
});

describe('base32 (RFC 4648)', () => {
  // RFC 4648 section 10. We write base32 without padding, as authenticator apps expect.
  const vectors: [string, string][] = [
    ['', ''],
    ['f', 'MY======'],
    ['fo', 'MZXQ===='],
    ['foo', 'MZXW6==='],
    ['foob', 'MZXW6YQ='],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI======'],
  ];

  it.each(vectors)('encodes "%s" as %s without the padding', (text, base32) => {
    expect(encodeBase32(Buffer.from(text, 'ascii'))).toBe(base32.replace(/=+$/, ''));
  });

  it.each(vectors)('decodes "%s" from %s, with or without padding', (text, base32) => {
    expect(decodeBase32(base32).toString('ascii')).toBe(text);
    expect(decodeBase32(base32.replace(/=+$/, '')).toString('ascii')).toBe(text);
  });

  it('decodes lower case, spaces and hyphens', () => {
    expect(decodeBase32('mzxw-6ytb oi').toString('ascii')).toBe('foobar');
  });

  it.each(['MZXW0', 'MZXW1', 'MZXW8', 'MZ!W6', 'MZXÉ6'])('refuses "%s"', (text) => {
    expect(() => decodeBase32(text)).toThrow('Not a base32 secret');
  });

  it('property: decoding an encoding gives back the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const encoded = encodeBase32(bytes);
        expect(encoded).toMatch(/^[A-Z2-7]*$/);
        expect(encoded).toHaveLength(Math.ceil((bytes.length * 8) / 5));
        expect(decodeBase32(encoded).equals(Buffer.from(bytes))).toBe(true);
      }),
    );
  });

  it('property: agrees with a bit-by-bit reference encoder', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    const reference = (bytes: Uint8Array) => {
      const bits = [...bytes].map((byte) => byte.toString(2).padStart(8, '0')).join('');
      const padded = bits.padEnd(Math.ceil(bits.length / 5) * 5, '0');
      return (padded.match(/.{5}/g) ?? []).map((group) => alphabet[parseInt(group, 2)]).join('');
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(encodeBase32(bytes)).toBe(reference(bytes));
      }),
    );
  });
});

describe('totpProvisioningUri', () => {
  const uri = totpProvisioningUri(RFC_SECRET, 'alice.smith@example.nhs.uk');
  const parsed = new URL(uri);

  it('is an otpauth://totp address', () => {
    expect(uri.startsWith('otpauth://totp/')).toBe(true);
    expect(parsed.protocol).toBe('otpauth:');
    expect(parsed.host).toBe('totp');
  });

  it('carries the secret, issuer, algorithm, digits and period', () => {
    expect(parsed.searchParams.get('secret')).toBe(RFC_SECRET);
    expect(parsed.searchParams.get('issuer')).toBe('Greenspace');
    expect(parsed.searchParams.get('algorithm')).toBe('SHA1');
    expect(parsed.searchParams.get('digits')).toBe('6');
    expect(parsed.searchParams.get('period')).toBe('30');
  });

  it('labels the account "issuer:account", percent-encoded', () => {
    const label = uri.slice('otpauth://totp/'.length, uri.indexOf('?'));
    expect(label).toBe('Greenspace%3Aalice.smith%40example.nhs.uk');
    expect(decodeURIComponent(label)).toBe('Greenspace:alice.smith@example.nhs.uk');
  });

  it('encodes characters that would break the address', () => {
    const awkward = totpProvisioningUri(RFC_SECRET, 'a b/c?d#e&f', 'NHS Greenspace');
    const label = awkward.slice('otpauth://totp/'.length, awkward.indexOf('?'));
    expect(label).not.toMatch(/[ /?#&]/);
    expect(decodeURIComponent(label)).toBe('NHS Greenspace:a b/c?d#e&f');
    const params = new URL(awkward).searchParams;
    expect(params.get('issuer')).toBe('NHS Greenspace');
    expect(params.get('secret')).toBe(RFC_SECRET);
  });
});
