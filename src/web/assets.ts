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

/** Built assets live outside src so the source tree stays clean; the folder is disposable. */
export const assetsDir = path.join(projectRoot, '.build', 'assets');
export const nhsukFrontendDist = path.dirname(nhsukDist);

/**
 * Compiles our Sass (with NHS.UK frontend) and copies the frontend's script and images into one
 * folder served at /assets. Skipped when nothing has changed since the last build, so start-up
 * costs a second only the first time.
 */
export function ensureAssetsBuilt(options: { force?: boolean } = {}): { built: boolean } {
  const stamp = fingerprintSources();
  const stampFile = path.join(assetsDir, '.fingerprint');
  if (!options.force && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp) {
    return { built: false };
  }
  const staging = `${assetsDir}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });

  const result = sass.compile(path.join(stylesDir, 'greenspace.scss'), {
    loadPaths: [
      path.join(projectRoot, 'node_modules'),
      path.dirname(path.dirname(path.dirname(nhsukDist))),
    ],
    style: 'compressed',
    quietDeps: true,
    silenceDeprecations: ['import'],
  });
  fs.writeFileSync(path.join(staging, 'greenspace.css'), result.css);
  fs.copyFileSync(
    path.join(nhsukDist, 'nhsuk-frontend.min.js'),
    path.join(staging, 'nhsuk-frontend.min.js'),
  );
  fs.cpSync(path.join(nhsukDist, 'assets'), staging, { recursive: true });
  fs.copyFileSync(
    path.join(projectRoot, 'src', 'web', 'scripts', 'greenspace.js'),
    path.join(staging, 'greenspace.js'),
  );
  fs.writeFileSync(path.join(staging, '.fingerprint'), stamp);

  // Swap the finished folder in whole, so a server never serves a half-written build.
  fs.rmSync(assetsDir, { recursive: true, force: true });
  fs.renameSync(staging, assetsDir);
  return { built: true };
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
