import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts';

const projectRoot = path.resolve(import.meta.dirname, '..', '..', '..');
const fixture = path.join(
  import.meta.dirname,
  'test-fixtures',
  'epd_201709_bnf_chapter3_subset.csv',
);

describe('greenspace import-epd and export-measures, run as a user would', () => {
  let database: TestDatabase;
  const run = (args: string[]) => {
    const result = spawnSync(
      process.execPath,
      [path.join(projectRoot, 'bin', 'greenspace.js'), ...args],
      {
        cwd: projectRoot,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: os.tmpdir(),
          LOG_LEVEL: 'silent',
          DATABASE_URL: `sqlite:${(database.config as { filename: string }).filename}`,
        },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
  });

  afterAll(async () => {
    await database?.destroy();
  });

  it('imports a file and prints the summary', () => {
    const result = run(['import-epd', '--quiet', fixture]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      '2017-09: 597 rows read, 597 chapter 3 rows kept as 361 practice × BNF code lines, 4 practices, 166 chapter 3 codes',
    );
    expect(result.stdout).toContain('0 unclassified');
    expect(result.stdout).toMatch(/converted from doses to inhalers/);
    expect(result.stdout).toMatch(/peak memory \d+ MB/);
  });

  it('refuses the same month again with a one-line error and exit status 1', () => {
    const result = run(['import-epd', '--quiet', fixture]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `${fixture}, line 2 field "YEAR_MONTH": 2017-09 is already imported`,
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('exports a measure as CSV and JSON', () => {
    const csv = run([
      'export-measures',
      '--measure',
      'mdi-share-non-salbutamol',
      '--level',
      'practice',
    ]);
    expect(csv.status).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('month,level,code,numerator,denominator,value');
    expect(lines.find((line) => line.includes(',L84073,'))).toMatch(
      /^2017-09,practice,L84073,96,151,63\.5761589\d*$/,
    );
    expect(lines).toHaveLength(5);
    const json = run([
      'export-measures',
      '--measure',
      'inhaler-kgco2e',
      '--level',
      'national',
      '--format',
      'json',
    ]);
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ month: '2017-09', level: 'national', code: 'ENG', denominator: 4 }),
    ]);
  });

  it('rejects unknown options with a clear message', () => {
    const result = run(['export-measures', '--measure', 'nope', '--level', 'practice']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('must be one of: mdi-share-non-salbutamol');
  });
});
