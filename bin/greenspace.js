#!/usr/bin/env node
// @ts-check
// The `greenspace` command. It runs compiled JavaScript kept in node_modules/.cache/greenspace,
// rebuilt from the TypeScript sources whenever one of them changes (bin/compiled-sources.js), so
// there is still no build step between editing the code and running it. With
// GREENSPACE_COMPILED=0 (`npm run dev` sets it, so that its watcher sees the sources), or when the
// cache cannot be used or the sources do not compile, they run directly through the tsx loader.
import path from 'node:path';
import { compiledEntry } from './compiled-sources.js';

const projectRoot = path.resolve(import.meta.dirname, '..');
const compiled =
  process.env.GREENSPACE_COMPILED === '0'
    ? null
    : await compiledEntry({
        projectRoot,
        entry: 'src/main.ts',
        // Beside the packages the compiled code imports, and outside the data folder (var/),
        // which the web application writes to: the code kept here is run.
        cacheDir: path.join(projectRoot, 'node_modules', '.cache', 'greenspace', 'cli'),
      });
let cli;
if (compiled) {
  // Stack traces name the TypeScript source lines, as they do through the loader.
  process.setSourceMapsEnabled(true);
  try {
    cli = await import(compiled.url);
  } catch {
    // A build that cannot be loaded here (a package it names not found from the cache folder)
    // is no reason to stop: the sources are still there.
    cli = undefined;
  }
}
if (!cli) {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('../src/main.ts');
}
await cli.runCli(process.argv);
