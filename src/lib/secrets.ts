import fs from 'node:fs';
import path from 'node:path';
import { randomToken } from './crypto.ts';
import type { AppConfig } from '../config.ts';

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
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    fs.mkdirSync(config.dataDir, { recursive: true });
    const key = randomToken(48);
    try {
      fs.writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
      return key;
    } catch {
      // Another process made it first: use theirs.
      return fs.readFileSync(file, 'utf8').trim();
    }
  }
}
