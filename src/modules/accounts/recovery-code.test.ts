import { describe, expect, it } from 'vitest';
import { newRecoveryCode } from './recovery-code.ts';

describe('newRecoveryCode', () => {
  it('always gives two groups of five letters or digits, the form a sign-in accepts', () => {
    const codes = Array.from({ length: 20_000 }, () => newRecoveryCode());
    for (const code of codes) expect(code).toMatch(/^[a-z0-9]{5}-[a-z0-9]{5}$/);
    // Random, not repeated: 20,000 draws from 36^10 codes meet twice with a chance below 1e-7.
    expect(new Set(codes).size).toBe(codes.length);
    // Every character of the alphabet turns up (each about 5,500 times in 200,000 characters).
    const seen = new Set(codes.join('').replace(/-/g, ''));
    expect(seen.size).toBe(36);
  });
});
