import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureAssetsBuilt } from './assets.ts';

const run = promisify(execFile);
const projectRoot = path.resolve(import.meta.dirname, '..', '..');

describe('built assets', () => {
  const roots: string[] = [];
  const newRoot = () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-assets-'));
    roots.push(root);
    return root;
  };
  afterEach(() => {
    for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
  });

  it('builds once into a folder named by the sources, and reuses it after that', () => {
    const root = newRoot();
    const first = ensureAssetsBuilt({ root });
    expect(first.built).toBe(true);
    expect(path.dirname(first.dir)).toBe(root);
    for (const file of ['greenspace.css', 'greenspace.js', 'nhsuk-frontend.min.js']) {
      expect(fs.statSync(path.join(first.dir, file)).size).toBeGreaterThan(100);
    }
    expect(fs.readFileSync(path.join(first.dir, 'greenspace.css'), 'utf8')).toContain('.nhsuk-');
    expect(ensureAssetsBuilt({ root })).toEqual({ built: false, dir: first.dir });
    expect(fs.readdirSync(root)).toEqual([path.basename(first.dir)]);
  });

  it('lets processes that start together agree on one finished folder', async () => {
    const root = newRoot();
    const script = `const { ensureAssetsBuilt } = await import(${JSON.stringify(path.join(projectRoot, 'src', 'web', 'assets.ts'))});
      process.stdout.write(JSON.stringify(ensureAssetsBuilt({ root: process.argv[1] })));`;
    const results = await Promise.all(
      [1, 2, 3].map(async () => {
        const { stdout } = await run(
          process.execPath,
          ['--import', 'tsx', '--input-type=module', '-e', script, root],
          { cwd: projectRoot },
        );
        return JSON.parse(stdout) as { built: boolean; dir: string };
      }),
    );
    const dirs = new Set(results.map((result) => result.dir));
    expect(dirs.size).toBe(1);
    // Only the finished folder is left: no staging folders, nothing half-written.
    expect(fs.readdirSync(root)).toEqual([path.basename([...dirs][0]!)]);
    expect(fs.statSync(path.join([...dirs][0]!, 'greenspace.css')).size).toBeGreaterThan(100);
  });

  it('removes builds of other sources, abandoned staging folders and old files once unused for a week', () => {
    const root = newRoot();
    const weekAndADayAgo = new Date(Date.now() - 8 * 24 * 60 * 60 * 1000);
    for (const name of ['0123456789abcdef', '.staging-abandoned']) {
      fs.mkdirSync(path.join(root, name));
      fs.utimesSync(path.join(root, name), weekAndADayAgo, weekAndADayAgo);
    }
    // A stylesheet of the older layout, where one build filled the folder itself.
    fs.writeFileSync(path.join(root, 'greenspace.css'), 'body {}');
    fs.utimesSync(path.join(root, 'greenspace.css'), weekAndADayAgo, weekAndADayAgo);
    fs.mkdirSync(path.join(root, 'fedcba9876543210'));
    const { dir } = ensureAssetsBuilt({ root });
    expect(fs.readdirSync(root).sort()).toEqual([path.basename(dir), 'fedcba9876543210'].sort());
  });
});
