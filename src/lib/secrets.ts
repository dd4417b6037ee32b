import fs from 'node:fs';
import path from 'node:path';
import { randomToken } from './crypto.ts';
import { ConfigError, type AppConfig } from '../config.ts';

/** The shortest key accepted from the key file, as from SECRET_KEY (config checks that one). */
export const minimumSecretKeyLength = 32;

/**
 * The application secret. Production must set SECRET_KEY (config refuses to start without it).
 * In development a key is made once and kept in the data folder, so sessions survive a restart;
 * tests get a fresh key per process.
 */
export function resolveSecretKey(
  config: Pick<AppConfig, 'secretKey' | 'environment' | 'dataDir'>,
): string {
  if (config.secretKey) return config.secretKey;
  if (config.environment === 'test') return randomToken(32);
  const file = path.join(config.dataDir, 'secret-key');
  return readSecretKeyFile(file) ?? createSecretKeyFile(file);
}

/** The key kept in `file`, or undefined when there is no such file. */
function readSecretKeyFile(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  const key = text.trim();
  // Every purpose's key is derived from this one, so an empty or short file (once left by a crash
  // or a full disk while the key was being written) must stop the service, not weaken it.
  if (key.length < minimumSecretKeyLength) {
    const found = key.length === 0 ? 'is empty' : `holds only ${key.length} characters`;
    throw new ConfigError(
      `Invalid configuration: the secret key file ${file} ${found}; a key needs at least ` +
        `${minimumSecretKeyLength} characters. Delete the file to have a new key made at the ` +
        `next start, or put a key of at least ${minimumSecretKeyLength} characters in it ` +
        `(or set SECRET_KEY).`,
    );
  }
  return key;
}

/**
 * Makes a new key and puts it in place whole: it is written and flushed to a temporary file in the
 * same folder first, so `file` never exists half-written. A hard link is the rename used, as it
 * refuses to replace a key that another process starting at the same moment put there first; that
 * key is then used, so that both processes share one secret.
 */
function createSecretKeyFile(file: string): string {
  const folder = path.dirname(file);
  fs.mkdirSync(folder, { recursive: true });
  const key = randomToken(48);
  const temporary = path.join(folder, `.secret-key-${process.pid}-${randomToken(6)}.tmp`);
  try {
    const descriptor = fs.openSync(temporary, 'wx', 0o600);
    try {
      fs.writeFileSync(descriptor, `${key}\n`);
      fs.fsyncSync(descriptor);
    } finally {
      fs.closeSync(descriptor);
    }
    try {
      fs.linkSync(temporary, file);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'EEXIST') return readSecretKeyFile(file) ?? createSecretKeyFile(file);
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') {
        throw error;
      }
      // A filesystem without hard links: an ordinary rename is still never seen half-written,
      // though it would replace a key made at the same moment by another process.
      fs.renameSync(temporary, file);
    }
    return key;
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
