import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compiledEntry } from '../bin/compiled-sources.js';

const projectRoot = path.resolve(import.meta.dirname, '..');

/** A small project of TypeScript sources: an entry, a module that finds a file beside itself, a lazily loaded part. */
function writeProject(root: string): void {
  fs.mkdirSync(path.join(root, 'src', 'lib'), { recursive: true });
  fs.writeFileSync(
    path.join(root, 'src', 'entry.ts'),
    [
      "import { greeting, here, hereUrl, readBeside } from './lib/where.ts';",
      'export { greeting, here, hereUrl, readBeside };',
      "export const loadLazy = async (): Promise<string> => (await import('./lazy.ts')).lazyValue;",
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(root, 'src', 'lib', 'where.ts'),
    [
      "import fs from 'node:fs';",
      "import path from 'node:path';",
      "export const greeting: string = 'first';",
      'export const here: string = import.meta.dirname;',
      'export const hereUrl: string = import.meta.url;',
      "export const readBeside = (): string => fs.readFileSync(path.join(import.meta.dirname, 'data.txt'), 'utf8');",
      '',
    ].join('\n'),
  );
  fs.writeFileSync(path.join(root, 'src', 'lib', 'data.txt'), 'found beside the source');
  fs.writeFileSync(
    path.join(root, 'src', 'lazy.ts'),
    "export const lazyValue: string = 'loaded when asked for';\n",
  );
}

interface ProjectModule {
  greeting: string;
  here: string;
  hereUrl: string;
  readBeside: () => string;
  loadLazy: () => Promise<string>;
}

describe('compiled sources for the greenspace command', () => {
  let root: string;
  let cacheDir: string;
  const options = () => ({ projectRoot: root, entry: 'src/entry.ts', cacheDir });
  const manifest = () =>
    JSON.parse(fs.readFileSync(path.join(cacheDir, 'manifest.json'), 'utf8')) as {
      build: string;
      inputs: Record<string, string>;
    };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-compiled-'));
    cacheDir = path.join(root, 'var', 'cache', 'cli');
    writeProject(root);
  });

  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('compiles once, keeps each source’s own location, and reuses the build while nothing changes', async () => {
    const first = await compiledEntry(options());
    expect(first).not.toBeNull();
    expect(first!.built).toBe(true);
    const compiled = (await import(first!.url)) as ProjectModule;
    expect(compiled.greeting).toBe('first');
    expect(compiled.here).toBe(path.join(root, 'src', 'lib'));
    expect(compiled.hereUrl).toBe(`file://${path.join(root, 'src', 'lib', 'where.ts')}`);
    expect(compiled.readBeside()).toBe('found beside the source');
    expect(await compiled.loadLazy()).toBe('loaded when asked for');
    expect(Object.keys(manifest().inputs).sort()).toEqual([
      'src/entry.ts',
      'src/lazy.ts',
      'src/lib/where.ts',
    ]);

    const second = await compiledEntry(options());
    expect(second).toEqual({ url: first!.url, built: false });
  });

  it('rebuilds when a source changes, and removes builds an hour old that are no longer current', async () => {
    const first = (await compiledEntry(options()))!;
    const firstBuild = manifest().build;
    // The lazily loaded part counts too: it is compiled from a source of its own.
    fs.writeFileSync(
      path.join(root, 'src', 'lazy.ts'),
      "export const lazyValue: string = 'changed';\n",
    );
    const second = (await compiledEntry(options()))!;
    expect(second.built).toBe(true);
    expect(second.url).not.toBe(first.url);
    expect(await ((await import(second.url)) as ProjectModule).loadLazy()).toBe('changed');
    // The first build may still be in use by a process started from it, so it is kept for now.
    expect(fs.existsSync(path.join(cacheDir, firstBuild))).toBe(true);

    const hoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    fs.utimesSync(path.join(cacheDir, firstBuild), hoursAgo, hoursAgo);
    fs.writeFileSync(
      path.join(root, 'src', 'lib', 'where.ts'),
      fs
        .readFileSync(path.join(root, 'src', 'lib', 'where.ts'), 'utf8')
        .replace("'first'", "'second'"),
    );
    const third = (await compiledEntry(options()))!;
    expect(((await import(third.url)) as ProjectModule).greeting).toBe('second');
    expect(fs.existsSync(path.join(cacheDir, firstBuild))).toBe(false);
  });

  it('keeps a build made long ago for an hour after it stops being current', async () => {
    await compiledEntry(options());
    const firstBuild = manifest().build;
    const hoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    fs.utimesSync(path.join(cacheDir, firstBuild), hoursAgo, hoursAgo);
    fs.writeFileSync(path.join(root, 'src', 'lazy.ts'), "export const lazyValue: string = 'x';\n");
    expect((await compiledEntry(options()))?.built).toBe(true);
    // A process started from the first build a moment ago may still load its lazy part.
    expect(fs.existsSync(path.join(cacheDir, firstBuild))).toBe(true);
  });

  it('rebuilds when the project’s TypeScript settings change', async () => {
    fs.writeFileSync(path.join(root, 'tsconfig.json'), '{"compilerOptions": {}}\n');
    await compiledEntry(options());
    expect(Object.keys(manifest().inputs)).toContain('tsconfig.json');
    expect((await compiledEntry(options()))?.built).toBe(false);
    fs.writeFileSync(
      path.join(root, 'tsconfig.json'),
      '{"compilerOptions": {"useDefineForClassFields": false}}\n',
    );
    expect((await compiledEntry(options()))?.built).toBe(true);
  });

  it('does not use a cache folder that others may write to, since its code is run', async () => {
    expect(await compiledEntry(options())).not.toBeNull();
    fs.chmodSync(cacheDir, 0o777);
    expect(await compiledEntry(options())).toBeNull();
    fs.chmodSync(cacheDir, 0o700);
    expect(await compiledEntry(options())).not.toBeNull();
  });

  it('rebuilds when the build it names has gone', async () => {
    await compiledEntry(options());
    fs.rmSync(path.join(cacheDir, manifest().build), { recursive: true });
    const again = await compiledEntry(options());
    expect(again?.built).toBe(true);
    expect(fs.existsSync(new URL(again!.url))).toBe(true);
  });

  it('gives nothing, and keeps the last good build, when a source does not compile', async () => {
    await compiledEntry(options());
    const before = manifest();
    fs.writeFileSync(path.join(root, 'src', 'lazy.ts'), 'export const lazyValue: string = ;\n');
    expect(await compiledEntry(options())).toBeNull();
    expect(manifest()).toEqual(before);
    // No half-made build folder is left behind.
    expect(fs.readdirSync(cacheDir).filter((name) => name.startsWith('partial-'))).toEqual([]);
  });

  it('gives nothing for a use of import.meta that has no meaning in a bundle', async () => {
    fs.writeFileSync(
      path.join(root, 'src', 'lazy.ts'),
      "export const lazyValue: string = import.meta.resolve('./lib/where.ts');\n",
    );
    expect(await compiledEntry(options())).toBeNull();
  });

  it('compiles a source that names import.meta only in its comments', async () => {
    fs.writeFileSync(
      path.join(root, 'src', 'lazy.ts'),
      [
        '// Not import.meta.resolve, which a bundle cannot keep: a plain value.',
        '/** Unlike import.meta.main, this is always loaded when asked for. */',
        "export const lazyValue: string = ((): string => /* not import.meta.x */ 'loaded when asked for')();",
        '',
      ].join('\n'),
    );
    const entry = await compiledEntry(options());
    expect(entry).not.toBeNull();
    const project = (await import(entry!.url)) as ProjectModule;
    expect(await project.loadLazy()).toBe('loaded when asked for');
  });

  it('compiles a source that names import.meta only in its strings', async () => {
    fs.writeFileSync(
      path.join(root, 'src', 'lazy.ts'),
      [
        "const why: string = 'import.meta.resolve has no meaning in a bundle';",
        'export const lazyValue: string = `${why.length > 0 ? "import.meta.main" : why}`;',
        '',
      ].join('\n'),
    );
    const entry = await compiledEntry(options());
    expect(entry).not.toBeNull();
    const project = (await import(entry!.url)) as ProjectModule;
    expect(await project.loadLazy()).toBe('import.meta.main');
    // A use inside a template's expression, or inside a try block, is still found.
    for (const source of [
      'export const lazyValue: string = `${String(import.meta.main)}`;\n',
      "let found = '';\ntry { found = import.meta.resolve('./x.ts'); } catch { found = 'none'; }\nexport const lazyValue: string = found;\n",
    ]) {
      fs.writeFileSync(path.join(root, 'src', 'lazy.ts'), source);
      expect(await compiledEntry(options()), source).toBeNull();
    }
  });

  it('gives nothing when the cache folder cannot be made', async () => {
    fs.mkdirSync(path.join(root, 'var', 'cache'), { recursive: true });
    fs.writeFileSync(cacheDir, 'a file where the folder should be');
    expect(await compiledEntry(options())).toBeNull();
  });

  it('lets two processes build at once: both get a build that works', async () => {
    const script = [
      `import { compiledEntry } from ${JSON.stringify(path.join(projectRoot, 'bin', 'compiled-sources.js'))};`,
      `const compiled = await compiledEntry(${JSON.stringify(options())});`,
      'const loaded = await import(compiled.url);',
      'console.log(JSON.stringify({ url: compiled.url, greeting: loaded.greeting }));',
    ].join('\n');
    const runOne = () =>
      new Promise<{ url: string; greeting: string }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
          cwd: projectRoot,
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.on('error', reject);
        child.on('exit', (code) =>
          code === 0 ? resolve(JSON.parse(output)) : reject(new Error(`exit ${code}: ${output}`)),
        );
      });
    const [left, right] = await Promise.all([runOne(), runOne()]);
    expect(left).toEqual(right);
    expect(left.greeting).toBe('first');
    // One build folder, and no half-made one left behind.
    expect(fs.readdirSync(cacheDir).filter((name) => !name.endsWith('.json'))).toEqual([
      manifest().build,
    ]);
  });
});

describe('the greenspace command’s own sources', () => {
  let cacheDir: string;

  beforeEach(() => {
    // Inside node_modules, as the command's own cache is: packages left outside the build are
    // found from there.
    const parent = path.join(projectRoot, 'node_modules', '.cache', 'greenspace');
    fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
    cacheDir = fs.mkdtempSync(path.join(parent, 'test-'));
  });

  afterEach(() => {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('compile, so the command does not quietly fall back to the slower loader', async () => {
    const compiled = await compiledEntry({ projectRoot, entry: 'src/main.ts', cacheDir });
    expect(compiled?.built).toBe(true);
    const inputs = Object.keys(
      (
        JSON.parse(fs.readFileSync(path.join(cacheDir, 'manifest.json'), 'utf8')) as {
          inputs: Record<string, string>;
        }
      ).inputs,
    );
    // The web application is compiled too, loaded only by the commands that serve it.
    expect(inputs).toContain('src/server.ts');
    expect(inputs).toContain('src/modules/prescribing/prescribing.service.ts');
    // The engine's JavaScript interface is compiled in; its native binding is not.
    expect(inputs).toContain('node_modules/@duckdb/node-api/lib/index.js');
    expect(inputs.some((input) => input.startsWith('node_modules/@duckdb/node-bindings'))).toBe(
      false,
    );
  });

  it('load, every part of them, with the packages they name found from the cache', async () => {
    const compiled = await compiledEntry({ projectRoot, entry: 'src/main.ts', cacheDir });
    const buildDir = path.dirname(new URL(compiled!.url).pathname);
    const parts = fs.readdirSync(buildDir).filter((name) => name.endsWith('.js'));
    // Each part is loaded the way `import()` loads it, in a process of its own; a part that
    // cannot be loaded (a package required from compiled CommonJS not found, two declarations of
    // one name) makes the command fall back to the loader, silently slower.
    const databaseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-compiled-db-'));
    const fixture = path.join(
      projectRoot,
      'src/modules/prescribing/test-fixtures/EPD_201601_fixture_sample.csv',
    );
    const script = `
      const parts = ${JSON.stringify(parts.map((name) => pathToFileURL(path.join(buildDir, name)).href))};
      for (const part of parts) await import(part);
      const { runCli } = await import(${JSON.stringify(compiled!.url)});
      await runCli(['node', 'greenspace', 'import-epd', '--quiet', ${JSON.stringify(fixture)}]);
    `;
    try {
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: os.tmpdir(),
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL: `sqlite:${path.join(databaseDir, 'test.sqlite')}`,
          LOG_LEVEL: 'silent',
        },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      // The engine, compiled in, read the file.
      expect(result.stdout).toMatch(/2016-01: [\d,]+ rows read/);
    } finally {
      fs.rmSync(databaseDir, { recursive: true, force: true });
    }
    expect(parts.length).toBeGreaterThan(3);
  });

  it('run through the loader when compiling is turned off', () => {
    const result = spawnSync(
      process.execPath,
      [path.join(projectRoot, 'bin', 'greenspace.js'), '--help'],
      {
        cwd: projectRoot,
        env: { PATH: process.env.PATH ?? '', GREENSPACE_COMPILED: '0' },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('import-epd');
  });
});
