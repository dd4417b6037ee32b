import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceDataDir } from '../test/support/templates.ts';
import { createTestDatabase, testDialects } from '../test/support/test-database.ts';

const projectRoot = path.resolve(import.meta.dirname, '..');
const cli = path.join(projectRoot, 'bin', 'greenspace.js');

/** Runs `greenspace …` as a user would, in its own process, with a chosen environment. */
function runCli(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [cli, ...args], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), LOG_LEVEL: 'silent', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the greenspace command', () => {
  let workDir: string;

  beforeAll(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-cli-'));
  });

  afterAll(() => {
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('explains itself and each subcommand with --help', () => {
    const top = runCli(['--help']);
    expect(top.status).toBe(0);
    for (const command of ['start', 'serve', 'migrate', 'seed'])
      expect(top.stdout).toContain(command);
    for (const command of ['start', 'serve', 'migrate', 'seed']) {
      const help = runCli([command, '--help']);
      expect(help.status, command).toBe(0);
      expect(help.stdout, command).toContain(`Usage: greenspace ${command}`);
    }
    expect(runCli(['serve', '--help']).stdout).toContain('--port <port>');
  });

  it('migrates and seeds an embedded database, and a second seed changes nothing', () => {
    const env = { DATABASE_URL: `sqlite:${path.join(workDir, 'seeded.sqlite')}` };
    const migrate = runCli(['migrate'], env);
    expect(migrate.status, migrate.stderr).toBe(0);
    expect(migrate.stdout).toMatch(/Ran \d+ migration\(s\)/);
    expect(runCli(['migrate'], env).stdout).toContain('Database is up to date');

    const firstSeed = runCli(['seed'], env);
    expect(firstSeed.status, firstSeed.stderr).toBe(0);
    expect(firstSeed.stdout).toContain(
      'Organisations: 181 added, 0 updated, 0 retired, 0 unchanged.',
    );

    const secondSeed = runCli(['seed'], env);
    expect(secondSeed.stdout).toContain(
      'Organisations: 0 added, 0 updated, 0 retired, 181 unchanged.',
    );
    expect(secondSeed.stdout).toContain('Practice profiles: 0 written, 128 unchanged.');
  });

  it('leaves out the labelled example content when EXAMPLE_CONTENT is false (the production default)', () => {
    const file = path.join(workDir, 'no-examples.sqlite');
    const seeded = runCli(['seed'], { DATABASE_URL: `sqlite:${file}`, EXAMPLE_CONTENT: 'false' });
    expect(seeded.status, seeded.stderr).toBe(0);
    const database = new Database(file, { readonly: true });
    try {
      const count = (query: string) => (database.prepare(query).get() as { n: number }).n;
      // Real content and reference data load…
      expect(count('select count(*) as n from organisations')).toBe(181);
      expect(count('select count(*) as n from workspaces')).toBe(2);
      expect(count('select count(*) as n from content_items where is_example = 0')).toBeGreaterThan(
        0,
      );
      expect(count('select count(*) as n from ggp_framework_versions')).toBeGreaterThan(0);
      // …and no example: no example case study, Green Plan or practice assessment.
      expect(count('select count(*) as n from content_items where is_example = 1')).toBe(0);
      expect(count('select count(*) as n from green_plans')).toBe(0);
      expect(count('select count(*) as n from ggp_assessments')).toBe(0);
    } finally {
      database.close();
    }
  });

  it('refuses a malformed reference file with its name and line, and changes nothing', () => {
    const env = { DATABASE_URL: `sqlite:${path.join(workDir, 'malformed.sqlite')}` };
    const dir = path.join(workDir, 'reference');
    fs.cpSync(referenceDataDir, dir, { recursive: true });
    const file = path.join(dir, 'organisations', 'llr_gp_practices_active.csv');
    fs.writeFileSync(
      file,
      fs.readFileSync(file, 'utf8').replace('C82002,COUNTESTHORPE', 'C8200X,COUNTESTHORPE'),
    );

    const failed = runCli(['seed', '--dir', dir], env);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain(
      'organisations/llr_gp_practices_active.csv, line 3 field "practice_code"',
    );
    expect(failed.stdout).toBe('');
    const after = runCli(['seed'], env);
    expect(after.stdout).toContain('Organisations: 181 added');
  });

  it('reads every seeded file from the --dir folder, the Greener General Practice framework too', () => {
    const env = { DATABASE_URL: `sqlite:${path.join(workDir, 'framework-dir.sqlite')}` };
    const dir = path.join(workDir, 'reference-with-framework');
    fs.cpSync(referenceDataDir, dir, { recursive: true });
    const file = path.join(dir, 'greener-general-practice', 'framework-2026-27.json');
    const framework = JSON.parse(fs.readFileSync(file, 'utf8')) as { title: string };
    framework.title = 'Framework from the --dir folder';
    fs.writeFileSync(file, JSON.stringify(framework, null, 2));

    const seeded = runCli(['seed', '--dir', dir], env);
    expect(seeded.status, seeded.stderr).toBe(0);
    const database = new Database(env.DATABASE_URL.slice('sqlite:'.length), { readonly: true });
    try {
      const titles = database
        .prepare('select title from ggp_framework_versions order by version')
        .all() as { title: string }[];
      expect(titles.map((row) => row.title)).toEqual(['Framework from the --dir folder']);
    } finally {
      database.close();
    }
  });

  it('stops with one clear line when the database cannot be reached', () => {
    const result = runCli(['serve'], {
      DATABASE_URL: 'postgres://greenspace:secret@127.0.0.1:1/nothing',
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^greenspace: Cannot connect to the database \(PostgreSQL at postgres:\/\/greenspace:\*\*\*\*@127\.0\.0\.1:1\/nothing\)/,
    );
    expect(result.stderr).not.toContain('secret');
  });

  it('stops with one clear line for an invalid setting', () => {
    const result = runCli(['serve'], { PORT: 'eighty' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(/^greenspace: Invalid configuration: PORT: /);
  });

  it('will not serve a database that needs migrating', () => {
    const result = runCli(['serve'], {
      DATABASE_URL: `sqlite:${path.join(workDir, 'unmigrated.sqlite')}`,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('run "greenspace migrate" first');
  });
});

describe.each(testDialects)('greenspace start on %s', (dialect) => {
  it('migrates, loads reference data into the empty database, serves, and stops cleanly on SIGTERM', async () => {
    const database = await createTestDatabase(dialect, { contents: 'empty' });
    await database.handle.close();
    const databaseUrl =
      database.config.kind === 'sqlite'
        ? `sqlite:${database.config.filename}`
        : database.config.connectionString;
    const child = spawn(process.execPath, [cli, 'start', '--host', '127.0.0.1', '--port', '0'], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl, LOG_LEVEL: 'info' },
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`server did not start:\n${output}`)),
          45_000,
        );
        child.stdout.on('data', () => {
          const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}:\n${output}`)));
      });
      const page = await fetch(`${url}/organisations/C82001`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('25,822 patients');
      expect(output).toContain('reference data loaded into the new database');
      // Every log line is one JSON object, and requests carry their id.
      const lines = output.trim().split('\n');
      expect(lines.every((line) => line.startsWith('{') && JSON.parse(line))).toBe(true);
      expect(lines.some((line) => /"reqId":"[0-9a-f-]{36}"/.test(line))).toBe(true);

      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output).toContain('shutdown complete');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await database.destroy().catch(() => {});
    }
  });
});
