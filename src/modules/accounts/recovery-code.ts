import { randomInt } from 'node:crypto';

const RECOVERY_CODE_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * One second-factor recovery code: ten random letters or digits shown as two groups of five
 * ("k3v9q-m2x7a"), about 51 bits. Each character is drawn from the alphabet itself, so every code
 * has all ten; cutting them from a base64 token with its `-` and `_` taken out could leave fewer,
 * and a code of another length is never accepted.
 */
export function newRecoveryCode(): string {
  let characters = '';
  for (let index = 0; index < 10; index += 1) {
    characters += RECOVERY_CODE_ALPHABET[randomInt(RECOVERY_CODE_ALPHABET.length)];
  }
  return `${characters.slice(0, 5)}-${characters.slice(5)}`;
}
