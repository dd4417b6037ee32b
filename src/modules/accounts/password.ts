import fs from 'node:fs';
import path from 'node:path';
import { hash, verify, type Algorithm } from '@node-rs/argon2';

/**
 * argon2id with the OWASP Password Storage Cheat Sheet's first recommended configuration:
 * 19 MiB of memory, 2 iterations, 1 degree of parallelism.
 */
const ARGON2ID = 2 as Algorithm; // Algorithm.Argon2id, a const enum the type-checker cannot read here
const ARGON2_OPTIONS = {
  algorithm: ARGON2ID,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export const MINIMUM_PASSWORD_LENGTH = 8;
/** Long enough for any passphrase, short enough that hashing cannot be used to exhaust the server. */
export const MAXIMUM_PASSWORD_LENGTH = 256;

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

export async function verifyPassword(storedHash: string, password: string): Promise<boolean> {
  try {
    return await verify(storedHash, password);
  } catch {
    return false;
  }
}

/**
 * A hash of a password nobody has, verified against when the account does not exist, so a wrong
 * email takes as long to refuse as a wrong password and does not reveal which accounts exist.
 */
let decoyHash: Promise<string> | undefined;
export function decoyPasswordHash(): Promise<string> {
  decoyHash ??= hashPassword(`decoy-${Math.random()}`);
  return decoyHash;
}

const commonPasswordsFile = path.resolve(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'data',
  'reference',
  'security',
  'common-passwords.txt',
);
let commonPasswords: Set<string> | undefined;

function isCommonPassword(password: string): boolean {
  commonPasswords ??= new Set(
    fs
      .readFileSync(commonPasswordsFile, 'utf8')
      .split('\n')
      .map((line) => line.trim().toLowerCase())
      .filter(Boolean),
  );
  return commonPasswords.has(password.trim().toLowerCase());
}

/** The number of common passwords refused, for the help text and tests. */
export function commonPasswordCount(): number {
  isCommonPassword('');
  return commonPasswords!.size;
}

/**
 * NCSC and NIST guidance: a minimum length and a block list, and no composition rules (no
 * "must contain a symbol"), which make passwords harder to remember and no harder to guess.
 * Returns the problem to show, or null when the password is acceptable.
 */
export function findPasswordProblem(
  password: string,
  context: { email?: string | null } = {},
): string | null {
  // Characters as people count them (code points), not UTF-16 units: an emoji is one character.
  const length = [...password].length;
  if (length < MINIMUM_PASSWORD_LENGTH) {
    return `Password must be ${MINIMUM_PASSWORD_LENGTH} characters or more`;
  }
  if (length > MAXIMUM_PASSWORD_LENGTH) {
    return `Password must be ${MAXIMUM_PASSWORD_LENGTH} characters or fewer`;
  }
  if (isCommonPassword(password)) {
    return 'This is one of the most common passwords. Choose a password that would be harder to guess';
  }
  const lower = password.toLowerCase();
  if (
    context.email &&
    (lower === context.email.toLowerCase() || lower === context.email.split('@')[0]?.toLowerCase())
  ) {
    return 'Password must not be your email address';
  }
  return null;
}
