import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/**
 * Temporary folders that must not outlive the command that made them: a downloaded national EPD
 * file is gigabytes, and so can be the engine's spill files. Their owners remove them as usual
 * (also on error); a command that can be stopped half way calls `removeTemporaryFoldersOnStop`
 * so that Ctrl-C or SIGTERM removes whatever is still there before the process ends.
 */
const liveFolders = new Set<string>();

export interface TemporaryFolder {
  path: string;
  /** Removes the folder and everything in it; safe to call more than once. */
  remove(): Promise<void>;
  removeSync(): void;
}

/** Makes a fresh folder `<parent>/<prefix>XXXXXX`, known until it is removed. */
export async function makeTemporaryFolder(
  parent: string,
  prefix: string,
): Promise<TemporaryFolder> {
  return track(await fsp.mkdtemp(path.join(parent, prefix)));
}

function track(folder: string): TemporaryFolder {
  liveFolders.add(folder);
  return {
    path: folder,
    async remove() {
      await fsp.rm(folder, { recursive: true, force: true });
      liveFolders.delete(folder);
    },
    removeSync() {
      fs.rmSync(folder, { recursive: true, force: true });
      liveFolders.delete(folder);
    },
  };
}

/** The temporary folders made and not yet removed (for tests and diagnostics). */
export function liveTemporaryFolders(): string[] {
  return [...liveFolders];
}

/**
 * Removes every live temporary folder at once, for a process about to end; returns those it could
 * not remove (another thread may still be writing into one), so the caller can name them.
 */
export function removeLiveTemporaryFoldersSync(): string[] {
  const left: string[] = [];
  for (const folder of liveFolders) {
    try {
      fs.rmSync(folder, { recursive: true, force: true, maxRetries: 3 });
      liveFolders.delete(folder);
    } catch {
      left.push(folder);
    }
  }
  return left;
}

const exitCodes = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * For commands, not the server (which stops gracefully on its own handlers): on Ctrl-C or SIGTERM,
 * says so, removes the live temporary folders and ends with the usual status (128 + signal
 * number). Database work in flight is a transaction that the ending process never commits, so
 * what was stored before stays as it was.
 */
export function removeTemporaryFoldersOnStop(
  explain: (signal: keyof typeof exitCodes) => string,
): void {
  for (const signal of Object.keys(exitCodes) as (keyof typeof exitCodes)[]) {
    process.once(signal, () => {
      const left = removeLiveTemporaryFoldersSync();
      const notRemoved = left.map((folder) => `Could not remove ${folder}; delete it by hand.\n`);
      process.stderr.write(`\n${explain(signal)}\n${notRemoved.join('')}`);
      process.exit(exitCodes[signal]);
    });
  }
}
