import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as sass from 'sass';

const projectRoot = path.resolve(import.meta.dirname, '..', '..');
const stylesDir = path.join(projectRoot, 'src', 'web', 'styles');
const require = createRequire(import.meta.url);
const nhsukPackageJson = require.resolve('nhsuk-frontend/package.json');
const nhsukDist = path.join(path.dirname(nhsukPackageJson), 'dist', 'nhsuk');

/**
 * Built assets live outside src so the source tree stays clean. Each build goes in its own folder
 * named by the fingerprint of its sources, so a build never replaces files under a running server:
 * every process serves the folder of the sources it started with, and processes that start at the
 * same moment agree on one folder instead of racing to swap it.
 */
export const assetsRoot = path.join(projectRoot, '.build', 'assets');
export const nhsukFrontendDist = path.dirname(nhsukDist);

/**
 * Builds of other sources are removed once no process has started with them for this long. A
 * server keeps the folder it started with, so this is kept well beyond any development session;
 * a deployment restarts its servers when its sources change.
 */
const STALE_BUILD_MS = 7 * 24 * 60 * 60 * 1000;
const FINISHED_MARKER = '.fingerprint';

/**
 * Compiles our Sass (with NHS.UK frontend) and copies the frontend's script and images into the
 * folder for the current sources, served at /assets, and returns that folder. Skipped when the
 * folder is already complete, so start-up costs a second only after a change. `force` rebuilds it.
 */
export function ensureAssetsBuilt(options: { force?: boolean; root?: string } = {}): {
  built: boolean;
  dir: string;
} {
  const root = options.root ?? assetsRoot;
  const stamp = fingerprintSources();
  const dir = path.join(root, stamp.slice(0, 16));
  const finished = path.join(dir, FINISHED_MARKER);
  if (!options.force && fs.existsSync(finished) && fs.readFileSync(finished, 'utf8') === stamp) {
    // Marks the folder as in use, so that cleaning up after another build leaves it alone.
    const now = new Date();
    fs.utimesSync(dir, now, now);
    return { built: false, dir };
  }
  fs.mkdirSync(root, { recursive: true });
  const staging = fs.mkdtempSync(path.join(root, '.staging-'));
  try {
    buildInto(staging);
    fs.writeFileSync(path.join(staging, FINISHED_MARKER), stamp);
    if (options.force) fs.rmSync(dir, { recursive: true, force: true });
    try {
      // A whole, finished folder appears at once; a server never sees a half-written build.
      fs.renameSync(staging, dir);
    } catch (error) {
      // Another process finished the same build first: its folder is as good as ours.
      if (!fs.existsSync(finished)) throw error;
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  removeStaleBuilds(root, dir);
  return { built: true, dir };
}

function buildInto(target: string): void {
  const result = sass.compile(path.join(stylesDir, 'greenspace.scss'), {
    loadPaths: [
      path.join(projectRoot, 'node_modules'),
      path.dirname(path.dirname(path.dirname(nhsukDist))),
    ],
    style: 'compressed',
    quietDeps: true,
    silenceDeprecations: ['import'],
  });
  fs.writeFileSync(path.join(target, 'greenspace.css'), result.css);
  fs.copyFileSync(
    path.join(nhsukDist, 'nhsuk-frontend.min.js'),
    path.join(target, 'nhsuk-frontend.min.js'),
  );
  fs.cpSync(path.join(nhsukDist, 'assets'), target, { recursive: true });
  fs.copyFileSync(
    path.join(projectRoot, 'src', 'web', 'scripts', 'greenspace.js'),
    path.join(target, 'greenspace.js'),
  );
}

/**
 * Removes builds of other sources, abandoned staging folders and anything else left in the folder
 * (such as files of the older flat layout) not used for a week.
 */
function removeStaleBuilds(root: string, current: string): void {
  const now = Date.now();
  for (const name of fs.readdirSync(root)) {
    const entryPath = path.join(root, name);
    if (entryPath === current) continue;
    try {
      if (now - fs.statSync(entryPath).mtimeMs > STALE_BUILD_MS) {
        fs.rmSync(entryPath, { recursive: true, force: true });
      }
    } catch {
      // Gone already: another process cleaned it up.
    }
  }
}

function fingerprintSources(): string {
  const hash = createHash('sha256');
  hash.update(fs.readFileSync(nhsukPackageJson));
  for (const dir of [stylesDir, path.join(projectRoot, 'src', 'web', 'scripts')]) {
    for (const file of fs.readdirSync(dir).sort()) {
      hash.update(file);
      hash.update(fs.readFileSync(path.join(dir, file)));
    }
  }
  return hash.digest('hex');
}
