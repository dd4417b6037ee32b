import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../config.ts';
import { minimumSecretKeyLength, resolveSecretKey } from './secrets.ts';

describe('resolveSecretKey', () => {
  let parent: string;
  let dataDir: string;
  let keyFile: string;
  const development = () =>
    resolveSecretKey({ secretKey: undefined, environment: 'development', dataDir });

  beforeEach(() => {
    parent = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-secrets-test-'));
    // Not made yet: the first start makes the data folder too.
    dataDir = path.join(parent, 'var', 'data');
    keyFile = path.join(dataDir, 'secret-key');
  });
  afterEach(() => {
    vi.restoreAllMocks();
    fs.rmSync(parent, { recursive: true, force: true });
  });

  /** Raises an error as a failing system call would, with its code. */
  const systemError = (code: string) => Object.assign(new Error(`${code}: simulated`), { code });

  it('uses SECRET_KEY from the environment, making no file, in any environment', () => {
    const secretKey = 'k'.repeat(40);
    for (const environment of ['development', 'test', 'production'] as const) {
      expect(resolveSecretKey({ secretKey, environment, dataDir })).toBe(secretKey);
    }
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('gives tests a fresh key each time, making no file', () => {
    const first = resolveSecretKey({ secretKey: undefined, environment: 'test', dataDir });
    const second = resolveSecretKey({ secretKey: undefined, environment: 'test', dataDir });
    expect(first.length).toBeGreaterThanOrEqual(minimumSecretKeyLength);
    expect(second).not.toBe(first);
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('makes a key once in the data folder, readable by its owner only, and keeps using it', () => {
    const key = development();

    expect(key).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(fs.readFileSync(keyFile, 'utf8')).toBe(`${key}\n`);
    if (process.platform !== 'win32') expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    // The temporary file it was written to is gone.
    expect(fs.readdirSync(dataDir)).toEqual(['secret-key']);
    expect(development()).toBe(key);
  });

  it('uses a key put in the file by hand, without the line end', () => {
    fs.mkdirSync(dataDir, { recursive: true });
    const key = 'x'.repeat(minimumSecretKeyLength);
    fs.writeFileSync(keyFile, `  ${key}\r\n`);
    expect(development()).toBe(key);
  });

  it.each([
    ['empty', '', 'is empty'],
    ['only a line end', '\n', 'is empty'],
    [
      'one character short',
      `${'y'.repeat(minimumSecretKeyLength - 1)}\n`,
      'holds only 31 characters',
    ],
  ])(
    'refuses a key file that is %s, naming the file and what to do, and leaves it alone',
    (_case, contents, found) => {
      fs.mkdirSync(dataDir, { recursive: true });
      fs.writeFileSync(keyFile, contents);

      const failure = (() => {
        try {
          development();
        } catch (error) {
          return error;
        }
        throw new Error('expected the key file to be refused');
      })();

      expect(failure).toBeInstanceOf(ConfigError);
      expect((failure as Error).message).toBe(
        `Invalid configuration: the secret key file ${keyFile} ${found}; a key needs at least 32 ` +
          'characters. Delete the file to have a new key made at the next start, or put a key of ' +
          'at least 32 characters in it (or set SECRET_KEY).',
      );
      expect(fs.readFileSync(keyFile, 'utf8')).toBe(contents);
    },
  );

  it('puts the key file in place only once the whole key is written to it', () => {
    const link = fs.linkSync.bind(fs);
    const seenWhenPlaced: string[] = [];
    vi.spyOn(fs, 'linkSync').mockImplementation((from, to) => {
      expect(path.dirname(String(from))).toBe(dataDir);
      expect(fs.existsSync(keyFile)).toBe(false);
      seenWhenPlaced.push(fs.readFileSync(from, 'utf8'));
      link(from, to);
    });

    const key = development();

    expect(seenWhenPlaced).toEqual([`${key}\n`]);
  });

  it('leaves no key file when the disk fills while the key is written, so the next start makes one', () => {
    // As a real full disk does: the file is made, then the write fails.
    vi.spyOn(fs, 'writeFileSync').mockImplementation((target) => {
      if (typeof target !== 'number') fs.closeSync(fs.openSync(target, 'w'));
      throw systemError('ENOSPC');
    });

    expect(development).toThrow(/ENOSPC/);
    expect(fs.existsSync(keyFile)).toBe(false);
    expect(fs.readdirSync(dataDir)).toEqual([]);

    vi.restoreAllMocks();
    expect(development()).toMatch(/^[A-Za-z0-9_-]{64}$/);
  });

  it('uses, and never replaces, a key that another process put in place first', () => {
    const link = fs.linkSync.bind(fs);
    const theirs = 'z'.repeat(64);
    vi.spyOn(fs, 'linkSync').mockImplementation((from, to) => {
      // The other process finishes between this one finding no file and putting its own in place.
      fs.writeFileSync(to, `${theirs}\n`);
      link(from, to);
    });

    expect(development()).toBe(theirs);
    expect(fs.readFileSync(keyFile, 'utf8')).toBe(`${theirs}\n`);
    expect(fs.readdirSync(dataDir)).toEqual(['secret-key']);
  });

  it('renames the key into place on a filesystem without hard links', () => {
    vi.spyOn(fs, 'linkSync').mockImplementation(() => {
      throw systemError('EPERM');
    });

    const key = development();

    expect(fs.readFileSync(keyFile, 'utf8')).toBe(`${key}\n`);
    expect(fs.readdirSync(dataDir)).toEqual(['secret-key']);
  });

  it('passes on an error reading the key file other than its absence, without replacing it', () => {
    fs.mkdirSync(keyFile, { recursive: true });
    expect(development).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    expect(fs.statSync(keyFile).isDirectory()).toBe(true);
  });
});
