#!/usr/bin/env node
// @ts-check
// The `greenspace` command. It runs compiled JavaScript kept in var/cache/cli, rebuilt from the
// TypeScript sources whenever one of them changes (bin/compiled-sources.js), so there is still no
// build step between editing the code and running it. With GREENSPACE_COMPILED=0 (`npm run dev`
// sets it, so that its watcher sees the sources), or when the cache cannot be written or the
// sources do not compile, they run directly through the tsx loader instead.
import path from 'node:path';
import { compiledEntry } from './compiled-sources.js';

const projectRoot = path.resolve(import.meta.dirname, '..');
const compiled =
  process.env.GREENSPACE_COMPILED === '0'
    ? null
    : await compiledEntry({
        projectRoot,
        entry: 'src/main.ts',
        cacheDir: path.join(projectRoot, 'var', 'cache', 'cli'),
      });
let cli;
if (compiled) {
  // Stack traces name the TypeScript source lines, as they do through the loader.
  process.setSourceMapsEnabled(true);
  cli = await import(compiled.url);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('../src/main.ts');
}
await cli.runCli(process.argv);
