// @ts-check
// Compiled JavaScript for the `greenspace` command, kept in a cache folder and rebuilt whenever a
// source file it came from changes. Loading the TypeScript sources through a loader hook costs
// every module a round trip to the hook, packages included: the command starts in about half the
// time from one compiled bundle. This file is plain JavaScript because it runs before any loader.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** @param {string | Buffer} text */
const sha256 = (text) => crypto.createHash('sha256').update(text).digest('hex');

/**
 * What a build depends on besides the sources: this file's text (its options), the compiler's
 * version, the Node major version it targets. A build made with any other is not used.
 */
const builderHash = sha256(
  [
    fs.readFileSync(import.meta.filename, 'utf8'),
    JSON.parse(
      fs.readFileSync(createRequire(import.meta.url).resolve('esbuild/package.json'), 'utf8'),
    ).version,
    process.versions.node.split('.')[0],
  ].join('\u0000'),
);
/** Packages compiled into the bundle (see `build`). */
const compiledPackages = new Set(['kysely', 'zod', '@duckdb/node-api']);
/** A build left by a process that stopped half way, or one no longer current, is removed after. */
const staleAfterMs = 60 * 60 * 1000;

/**
 * @typedef {object} CompiledSourcesOptions
 * @property {string} projectRoot the folder whose sources are compiled
 * @property {string} entry the entry module, relative to projectRoot (e.g. src/main.ts)
 * @property {string} cacheDir where builds and the manifest are kept: a folder only this user can
 *   write to, since the code in it is run
 */

/**
 * @typedef {object} Manifest
 * @property {string} builderHash
 * @property {string} projectRoot
 * @property {string} entry
 * @property {string} build the build's folder name inside cacheDir
 * @property {string} output the entry's compiled file, relative to the build folder
 * @property {Record<string, string>} inputs source path (relative to projectRoot) → SHA-256 of
 *   the exact text that was compiled
 */

/**
 * The compiled entry module's file URL, built now if the cache holds none for the sources as they
 * are. Returns null when the sources cannot be compiled or the cache cannot be written (a read-only
 * install, a syntax error): the caller then runs the sources through the loader, which reports any
 * error in them as usual.
 * @param {CompiledSourcesOptions} options
 * @returns {Promise<{ url: string, built: boolean } | null>}
 */
export async function compiledEntry(options) {
  try {
    fs.mkdirSync(options.cacheDir, { recursive: true, mode: 0o700 });
    if (!isPrivateFolder(options.cacheDir)) return null;
  } catch {
    return null;
  }
  const manifestFile = path.join(options.cacheDir, 'manifest.json');
  const current = readManifest(manifestFile);
  if (current && isCurrent(current, options)) {
    return { url: outputUrl(options.cacheDir, current), built: false };
  }
  try {
    const manifest = await build(options);
    writeFileAtomically(manifestFile, JSON.stringify(manifest));
    if (current && current.build !== manifest.build)
      markSuperseded(options.cacheDir, current.build);
    removeStaleBuilds(options.cacheDir, manifest.build);
    return { url: outputUrl(options.cacheDir, manifest), built: true };
  } catch {
    return null;
  }
}

/**
 * Whether only this user can change what is in the folder: it is theirs and no one else may write
 * to it. Code found there is run, so a cache anyone else could write to is not used.
 * @param {string} folder
 */
function isPrivateFolder(folder) {
  const stat = fs.statSync(folder);
  if (!stat.isDirectory()) return false;
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) return false;
  return process.platform === 'win32' || (stat.mode & 0o022) === 0;
}

/**
 * Dates a build that is no longer current from now, so that it is removed an hour after it
 * stopped being current rather than an hour after it was made.
 * @param {string} cacheDir
 * @param {string} build
 */
function markSuperseded(cacheDir, build) {
  try {
    const now = new Date();
    fs.utimesSync(path.join(cacheDir, build), now, now);
  } catch {
    // Already removed.
  }
}

/** @param {string} cacheDir @param {Manifest} manifest */
function outputUrl(cacheDir, manifest) {
  return pathToFileURL(path.join(cacheDir, manifest.build, manifest.output)).href;
}

/** @param {string} file @returns {Manifest | null} */
function readManifest(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Whether a manifest's build was made from the sources as they are now: same options, every
 * source it was compiled from still has the same text, and the build is still there.
 * @param {Manifest} manifest
 * @param {CompiledSourcesOptions} options
 */
function isCurrent(manifest, options) {
  if (
    manifest.builderHash !== builderHash ||
    manifest.projectRoot !== options.projectRoot ||
    manifest.entry !== options.entry ||
    typeof manifest.inputs !== 'object'
  ) {
    return false;
  }
  for (const [input, hash] of Object.entries(manifest.inputs)) {
    try {
      if (sha256(fs.readFileSync(path.join(options.projectRoot, input))) !== hash) return false;
    } catch {
      return false;
    }
  }
  return fs.existsSync(path.join(options.cacheDir, manifest.build, manifest.output));
}

/**
 * Compiles the entry and every project source it imports into one folder of modules (code loaded
 * with `import()` stays in its own file, loaded when asked for). Packages stay outside, loaded
 * from node_modules as they are. A source's `import.meta.dirname`, `filename` and `url` are
 * written in as the source's own, so files found beside the sources are still found.
 * @param {CompiledSourcesOptions} options
 * @returns {Promise<Manifest>}
 */
async function build(options) {
  const esbuild = await import('esbuild');
  /** @type {Record<string, string>} */
  const inputs = {};
  // The compiler reads the project's TypeScript settings.
  const settings = path.join(options.projectRoot, 'tsconfig.json');
  if (fs.existsSync(settings)) inputs['tsconfig.json'] = sha256(fs.readFileSync(settings));
  const temporary = fs.mkdtempSync(path.join(options.cacheDir, 'partial-'));
  try {
    const result = await esbuild.build({
      absWorkingDir: options.projectRoot,
      entryPoints: [options.entry],
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: `node${process.versions.node.split('.')[0]}`,
      outdir: temporary,
      entryNames: '[name]',
      // Packages compiled in as CommonJS load the packages they require (a native binding) from
      // node_modules, which holds the cache folder.
      banner: {
        js: "import { createRequire as createPackageRequire } from 'node:module'; const require = createPackageRequire(import.meta.url);",
      },
      sourcemap: 'linked',
      sourcesContent: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [
        {
          name: 'project-sources',
          setup(plugin) {
            // Packages load from node_modules as they are, except the few pure-JavaScript ones
            // every command uses whose hundreds of small modules cost more to find than to read.
            plugin.onResolve({ filter: /^[^./]/ }, (args) => {
              const name = args.path.startsWith('@')
                ? args.path.split('/').slice(0, 2).join('/')
                : args.path.split('/')[0];
              return compiledPackages.has(name ?? '') ? undefined : { external: true };
            });
            plugin.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args) => {
              const text = await fs.promises.readFile(args.path, 'utf8');
              inputs[relativeInput(options.projectRoot, args.path)] = sha256(text);
              return {
                contents: withOwnLocation(
                  text,
                  args.path,
                  args.path.endsWith('ts') ? 'ts' : 'js',
                  esbuild,
                ),
                loader: args.path.endsWith('ts') ? 'ts' : 'js',
              };
            });
          },
        },
      ],
    });
    // Anything else compiled in (a JSON file) is recorded as read after the build.
    for (const input of Object.keys(result.metafile.inputs)) {
      const relative = relativeInput(options.projectRoot, path.resolve(options.projectRoot, input));
      inputs[relative] ??= sha256(fs.readFileSync(path.join(options.projectRoot, relative)));
    }
    const output = `${path.basename(options.entry).replace(/\.[cm]?[jt]s$/, '')}.js`;
    // Named by everything that made it, so a build by other options never stands in for this one.
    const buildName = `build-${sha256(JSON.stringify([builderHash, Object.entries(inputs).sort()])).slice(0, 16)}`;
    const target = path.join(options.cacheDir, buildName);
    try {
      fs.renameSync(temporary, target);
    } catch (error) {
      // Another process made the same build at the same time; theirs is as good as this one.
      if (!fs.existsSync(path.join(target, output))) throw error;
      fs.rmSync(temporary, { recursive: true, force: true });
    }
    return {
      builderHash,
      projectRoot: options.projectRoot,
      entry: options.entry,
      build: buildName,
      output,
      inputs,
    };
  } catch (error) {
    fs.rmSync(temporary, { recursive: true, force: true });
    throw error;
  }
}

/** @param {string} projectRoot @param {string} file */
function relativeInput(projectRoot, file) {
  return path.relative(projectRoot, file).split(path.sep).join('/');
}

/**
 * The source with its `import.meta` location properties replaced by its own location. Any other
 * use of `import.meta` cannot be given a meaning in a bundle, so it stops the build. Whether there
 * is one is asked of the compiler, which replaces real uses only: words in a comment or a string
 * are no use, so they are not counted.
 * @param {string} text
 * @param {string} file
 * @param {'ts' | 'js'} loader
 * @param {typeof import('esbuild')} esbuild
 */
function withOwnLocation(text, file, loader, esbuild) {
  const replaced = text
    .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(path.dirname(file)))
    .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(file))
    .replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(file).href));
  if (/\bimport\.meta\b/.test(replaced)) {
    // The compiler puts a marker where the source really uses import.meta (in any expression,
    // inside try blocks too), never where the words are only in a comment or a string.
    const marker = '__greenspace_unkept_import_meta__';
    let kept = false;
    try {
      const { code } = esbuild.transformSync(replaced, {
        loader,
        logLevel: 'silent',
        define: { 'import.meta': marker },
      });
      kept = !code.includes(marker);
    } catch {
      // A source that does not compile cannot be checked: it stops the build either way.
    }
    if (!kept) {
      throw new Error(`${file} uses import.meta in a way the compiled command cannot keep`);
    }
  }
  return replaced;
}

/** @param {string} file @param {string} text */
function writeFileAtomically(file, text) {
  const partial = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
  fs.writeFileSync(partial, text);
  fs.renameSync(partial, file);
}

/**
 * Removes builds other than the current one, and folders left by builds that stopped half way,
 * once they are an hour old: a process started from an older build may still load its parts.
 * @param {string} cacheDir
 * @param {string} currentBuild
 */
function removeStaleBuilds(cacheDir, currentBuild) {
  const now = Date.now();
  for (const entry of fs.readdirSync(cacheDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === currentBuild) continue;
    if (!entry.name.startsWith('build-') && !entry.name.startsWith('partial-')) continue;
    const folder = path.join(cacheDir, entry.name);
    try {
      if (now - fs.statSync(folder).mtimeMs > staleAfterMs) {
        fs.rmSync(folder, { recursive: true, force: true });
      }
    } catch {
      // Removed by another process meanwhile.
    }
  }
}
