#!/usr/bin/env node
// The `greenspace` command. TypeScript sources run directly through tsx, so there is no build step
// between editing the code and running it.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/main.ts');
await runCli(process.argv);
