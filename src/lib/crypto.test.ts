import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  constantTimeEqual,
  decryptText,
  deriveKey,
  encryptText,
  hmacSha256,
  randomToken,
  sha256Hex,
} from './crypto.ts';

const key = deriveKey('test-application-secret', 'oidc-state');
const otherKey = deriveKey('test-application-secret', 'totp-secret');

/** Decodes one base64url part of a sealed value, changes it, and puts it back. */
function alterPart(sealed: string, part: 1 | 2 | 3, change: (bytes: Buffer) => Buffer): string {
  const parts = sealed.split('.');
  parts[part] = change(Buffer.from(parts[part]!, 'base64url')).toString('base64url');
  return parts.join('.');
}

function flipBit(bytes: Buffer, bitIndex: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[Math.floor(bitIndex / 8) % copy.length]! ^= 1 << (bitIndex % 8);
  return copy;
}

describe('encryptText and decryptText', () => {
  it('property: decrypting an encryption gives back the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (plaintext) => {
        expect(decryptText(key, encryptText(key, plaintext))).toBe(plaintext);
      }),
    );
  });

  it('round-trips the empty string and long text', () => {
    expect(decryptText(key, encryptText(key, ''))).toBe('');
    const long = 'JBSWY3DPEHPK3PXP'.repeat(10_000);
    expect(decryptText(key, encryptText(key, long))).toBe(long);
  });

  it('seals as v1.<12-byte iv>.<16-byte tag>.<ciphertext as long as the UTF-8 text>', () => {
    const plaintext = 'Grüße from C82001 🌳';
    const sealed = encryptText(key, plaintext);
    const parts = sealed.split('.');
    expect(parts).toHaveLength(4);
    expect(parts[0]).toBe('v1');
    for (const part of parts.slice(1)) expect(part).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(parts[1]!, 'base64url')).toHaveLength(12);
    expect(Buffer.from(parts[2]!, 'base64url')).toHaveLength(16);
    expect(Buffer.from(parts[3]!, 'base64url')).toHaveLength(Buffer.byteLength(plaintext));
    expect(sealed).not.toContain(plaintext);
  });

  it('uses a fresh IV every time, so the same text never seals the same way twice', () => {
    const sealed = Array.from({ length: 100 }, () => encryptText(key, 'same text'));
    expect(new Set(sealed).size).toBe(100);
    expect(new Set(sealed.map((value) => value.split('.')[1])).size).toBe(100);
  });

  it('refuses a value sealed with another key', () => {
    const sealed = encryptText(key, 'the TOTP secret');
    expect(() => decryptText(otherKey, sealed)).toThrow();
    expect(() =>
      decryptText(deriveKey('another-application-secret', 'oidc-state'), sealed),
    ).toThrow();
  });

  it.each([
    ['the IV', 1],
    ['the tag', 2],
    ['the ciphertext', 3],
  ] as const)('property: flipping any bit of %s makes decryption throw', (_name, part) => {
    const sealed = encryptText(key, 'state=abc123&nonce=xyz');
    fc.assert(
      fc.property(fc.nat({ max: 16 * 8 - 1 }), (bitIndex) => {
        const tampered = alterPart(sealed, part, (bytes) => flipBit(bytes, bitIndex));
        expect(tampered).not.toBe(sealed);
        expect(() => decryptText(key, tampered)).toThrow();
      }),
    );
  });

  it('refuses ciphertext with a byte added or removed', () => {
    const sealed = encryptText(key, 'state=abc123');
    const longer = alterPart(sealed, 3, (bytes) => Buffer.concat([bytes, Buffer.from([0])]));
    const shorter = alterPart(sealed, 3, (bytes) => bytes.subarray(0, -1));
    expect(() => decryptText(key, longer)).toThrow();
    expect(() => decryptText(key, shorter)).toThrow();
  });

  it('refuses the parts of one sealed value spliced with another', () => {
    const first = encryptText(key, 'first secret').split('.');
    const second = encryptText(key, 'other secret').split('.');
    expect(() => decryptText(key, [first[0], first[1], first[2], second[3]].join('.'))).toThrow();
    expect(() => decryptText(key, [first[0], second[1], first[2], first[3]].join('.'))).toThrow();
  });

  it.each([
    ['an empty string', ''],
    ['plain text', 'not encrypted'],
    ['another version', (sealed: string) => sealed.replace(/^v1\./, 'v2.')],
    ['no version', (sealed: string) => sealed.slice('v1.'.length)],
    ['no ciphertext part', (sealed: string) => sealed.split('.').slice(0, 3).join('.')],
    ['an empty IV', (sealed: string) => sealed.replace(/^v1\.[^.]+\./, 'v1..')],
  ])('refuses %s as unrecognised', (_name, value) => {
    const sealed = encryptText(key, 'secret');
    const input = typeof value === 'string' ? value : value(sealed);
    expect(() => decryptText(key, input)).toThrow('Unrecognised encrypted value');
  });

  it('refuses an empty tag', () => {
    const sealed = encryptText(key, 'secret').split('.');
    expect(() => decryptText(key, [sealed[0], sealed[1], '', sealed[3]].join('.'))).toThrow();
  });

  /*
   * Suspected bug: decryptText never fixes the tag length (no `authTagLength` on
   * createDecipheriv), so Node accepts a GCM tag cut down to 4 bytes. Anyone who can hand back a
   * sealed value (the OIDC state cookie, for one) then needs about 2^32 tries, not 2^128, to
   * forge one. Node 23+ deprecates such short tags for this reason (DEP0182).
   */
  it('refuses a sealed value whose tag has been cut short', () => {
    const sealed = encryptText(key, 'state=abc123');
    const truncated = alterPart(sealed, 2, (tag) => tag.subarray(0, 4));
    expect(() => decryptText(key, truncated)).toThrow();
  });

  /*
   * Suspected bug (minor): anything after a fourth dot is ignored, so `v1.<iv>.<tag>.<ct>.junk`
   * decrypts as if the junk were not there, though it is not in the documented format.
   */
  it('refuses a sealed value with a fifth part', () => {
    const sealed = encryptText(key, 'state=abc123');
    expect(() => decryptText(key, `${sealed}.junk`)).toThrow();
  });
});

describe('deriveKey', () => {
  it('gives a 256-bit key, the same every time for the same secret and purpose', () => {
    const derived = deriveKey('secret', 'csrf');
    expect(derived).toHaveLength(32);
    expect(deriveKey('secret', 'csrf').equals(derived)).toBe(true);
  });

  it('gives different keys for different purposes and different secrets', () => {
    const csrf = deriveKey('secret', 'csrf');
    expect(deriveKey('secret', 'oidc').equals(csrf)).toBe(false);
    expect(deriveKey('secret', 'CSRF').equals(csrf)).toBe(false);
    expect(deriveKey('secret', 'csrf ').equals(csrf)).toBe(false);
    expect(deriveKey('other secret', 'csrf').equals(csrf)).toBe(false);
  });

  it('is not the secret itself or a plain hash of the purpose', () => {
    const derived = deriveKey('secret', 'csrf');
    expect(derived.toString('hex')).not.toBe(sha256Hex('csrf'));
    expect(derived.toString('hex')).not.toBe(sha256Hex('secret'));
  });

  it('property: distinct purposes give distinct keys', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (secret, first, second) => {
        fc.pre(first !== second);
        expect(deriveKey(secret, first).equals(deriveKey(secret, second))).toBe(false);
      }),
    );
  });

  it('makes keys that work with encryptText', () => {
    const purposeKey = deriveKey('x', 'y');
    expect(decryptText(purposeKey, encryptText(purposeKey, 'ok'))).toBe('ok');
  });
});

describe('constantTimeEqual', () => {
  it.each([
    ['', '', true],
    ['token', 'token', true],
    ['token', 'tokeN', false],
    ['token', 'token ', false],
    ['token', '', false],
    ['short', 'much longer value', false],
    ['é', 'e\u0301', false],
    ['🌳', '🌳', true],
  ])('"%s" vs "%s" → %s', (a, b, expected) => {
    expect(constantTimeEqual(a, b)).toBe(expected);
    expect(constantTimeEqual(b, a)).toBe(expected);
  });

  it('property: agrees with ===', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        expect(constantTimeEqual(a, b)).toBe(a === b);
        expect(constantTimeEqual(a, a)).toBe(true);
      }),
    );
  });
});

describe('sha256Hex', () => {
  // FIPS 180-2, Appendix B.1, and the well-known digest of the empty string.
  it.each([
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    [
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    ],
  ])('hashes "%s"', (value, digest) => {
    expect(sha256Hex(value)).toBe(digest);
  });
});

describe('hmacSha256', () => {
  it('matches RFC 4231 test case 2, in base64url', () => {
    const expectedHex = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843';
    expect(hmacSha256(Buffer.from('Jefe'), 'what do ya want for nothing?')).toBe(
      Buffer.from(expectedHex, 'hex').toString('base64url'),
    );
  });
});

describe('randomToken', () => {
  it('is 32 random bytes as 43 URL-safe characters by default', () => {
    const token = randomToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
  });

  it.each([
    [16, 22],
    [1, 2],
    [64, 86],
  ])('is %i bytes as %i characters when asked', (bytes, characters) => {
    const token = randomToken(bytes);
    expect(token).toMatch(new RegExp(`^[A-Za-z0-9_-]{${characters}}$`));
    expect(Buffer.from(token, 'base64url')).toHaveLength(bytes);
  });

  it('does not repeat', () => {
    const tokens = Array.from({ length: 1000 }, () => randomToken());
    expect(new Set(tokens).size).toBe(1000);
  });

  it('uses the whole URL-safe alphabet and no padding', () => {
    const seen = new Set(Array.from({ length: 200 }, () => randomToken()).join(''));
    expect(seen.size).toBe(64);
    expect(seen.has('=')).toBe(false);
  });
});
