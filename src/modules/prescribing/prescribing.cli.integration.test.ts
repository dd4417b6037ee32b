import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.ts';
import { importPhases } from './prescribing.service.ts';

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

  it('imports a file and prints the summary, with the time of each phase when asked', () => {
    const result = run(['import-epd', '--quiet', '--timings', fixture]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      '2017-09: 597 rows read, 597 chapter 3 rows kept as 361 practice × BNF code lines, 4 practices, 166 chapter 3 codes',
    );
    expect(result.stdout).toContain('0 unclassified');
    expect(result.stdout).toMatch(/converted from doses to inhalers/);
    expect(result.stdout).toMatch(/peak memory \d+ MB/);
    const timings = /^Timings: (.*); (\d+\.\d\d) s in all since the process started\.$/m.exec(
      result.stdout,
    );
    expect(timings).not.toBeNull();
    const phases: Record<string, number> = Object.fromEntries(
      timings![1]!.split(', ').map((part) => {
        const [phase, value] = part.split(' ');
        return [phase!, Number(value)];
      }),
    );
    expect(Object.keys(phases)).toEqual(['start', ...importPhases, 'other']);
    // No phase is negative, and together they make the total (to rounding). A phase of this
    // small file can take under 5 ms, which prints as 0.00.
    for (const value of Object.values(phases)) expect(value).toBeGreaterThanOrEqual(0);
    const sum = Object.values(phases).reduce((total, value) => total + value, 0);
    expect(Math.abs(sum - Number(timings![2]))).toBeLessThan(0.07);
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
    // A total: England's value is the sum over its four practices, not their average.
    const [england] = JSON.parse(json.stdout);
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ month: '2017-09', level: 'national', code: 'ENG', denominator: 1 }),
    ]);
    expect(england.value).toBeCloseTo(43439.0, 6);
  });

  it('exports only the practices or groups within a group, and refuses a group that is not above', () => {
    const practices = run([
      'export-measures',
      '--measure',
      'inhaler-kgco2e',
      '--level',
      'practice',
      '--within',
      'sub-icb:11m',
    ]);
    expect(practices.status).toBe(0);
    // The four practices are two in sub-ICB 11M (Gloucestershire) and two in 03A.
    expect(
      practices.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(',')[2]),
    ).toEqual(['L84018', 'L84073']);
    const subIcbs = run([
      'export-measures',
      '--measure',
      'inhaler-kgco2e',
      '--level',
      'sub-icb',
      '--within',
      'region:Y54',
    ]);
    const subIcbRows = subIcbs.stdout.trim().split('\n').slice(1);
    expect(subIcbRows).toHaveLength(1);
    const [month, level, code, numerator, denominator] = subIcbRows[0]!.split(',');
    expect([month, level, code, denominator]).toEqual(['2017-09', 'sub-icb', '03A', '1']);
    // 03A is B85010 and B85054, as in the fixture test: 11582.20 + 16570.40.
    expect(Number(numerator)).toBeCloseTo(28152.6, 6);
    const below = run([
      'export-measures',
      '--measure',
      'inhaler-kgco2e',
      '--level',
      'icb',
      '--within',
      'sub-icb:11M',
    ]);
    expect(below.status).not.toBe(0);
    expect(below.stderr).toContain('--within must be a group above the icb level (region)');
    // A mistake in the command is told in one line, without a stack trace.
    expect(below.stderr).not.toContain('    at ');
    expect(below.stdout).toBe('');
  });

  it('stopped by Ctrl-C half way through a download, removes the download and keeps what was imported', async () => {
    // A server that sends the first part of a file and then nothing more, like a slow mirror.
    const server = http.createServer((_request, response) => {
      response.writeHead(200, { 'content-length': 50_000_000, 'content-type': 'text/csv' });
      response.write(fs.readFileSync(fixture));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-cli-stop-'));
    try {
      const child = spawn(
        process.execPath,
        [
          path.join(projectRoot, 'bin', 'greenspace.js'),
          'import-epd',
          '--quiet',
          `http://127.0.0.1:${(server.address() as AddressInfo).port}/epd_201710.csv`,
        ],
        {
          cwd: projectRoot,
          env: {
            PATH: process.env.PATH ?? '',
            HOME: os.tmpdir(),
            TMPDIR: tempRoot,
            LOG_LEVEL: 'silent',
            DATABASE_URL: `sqlite:${(database.config as { filename: string }).filename}`,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      // Wait until the download has begun to arrive in its temporary folder.
      const downloading = () =>
        fs
          .readdirSync(tempRoot)
          .filter((name) => name.startsWith('greenspace-epd-'))
          .some((name) =>
            fs
              .readdirSync(path.join(tempRoot, name))
              .some((file) => fs.statSync(path.join(tempRoot, name, file)).size > 0),
          );
      const deadline = Date.now() + 60_000;
      while (!downloading()) {
        if (Date.now() > deadline) throw new Error(`the download never began: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(stderr).toContain('import-epd stopped (SIGINT)');
      // (The TypeScript loader keeps its own cache there too.)
      expect(fs.readdirSync(tempRoot).filter((name) => name.startsWith('greenspace-'))).toEqual([]);
    } finally {
      server.closeAllConnections();
      server.close();
      fs.rmSync(tempRoot, { recursive: true, force: true });
    }
    // The month imported before is still there.
    const kept = run(['export-measures', '--measure', 'inhaler-kgco2e', '--level', 'national']);
    expect(kept.stdout).toContain('2017-09,national,ENG');
  });

  it('rejects unknown options with a clear message', () => {
    const result = run(['export-measures', '--measure', 'nope', '--level', 'practice']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('must be one of: mdi-share-non-salbutamol');
  });
});
