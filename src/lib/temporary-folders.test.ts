import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  liveTemporaryFolders,
  makeTemporaryFolder,
  removeLiveTemporaryFoldersSync,
} from './temporary-folders.ts';

describe('temporary folders', () => {
  let parent: string;
  beforeEach(() => {
    parent = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-temporary-folders-test-'));
  });
  afterEach(() => {
    fs.rmSync(parent, { recursive: true, force: true });
  });

  it('are known from when they are made until their owner removes them', async () => {
    const folder = await makeTemporaryFolder(parent, 'download-');
    expect(path.dirname(folder.path)).toBe(parent);
    expect(path.basename(folder.path)).toMatch(/^download-.{6}$/);
    fs.writeFileSync(path.join(folder.path, 'part.csv'), 'YEAR_MONTH\n');
    expect(liveTemporaryFolders()).toContain(folder.path);

    await folder.remove();
    expect(fs.existsSync(folder.path)).toBe(false);
    expect(liveTemporaryFolders()).not.toContain(folder.path);
    await folder.remove();
    folder.removeSync();
  });

  it('still there when the process is about to end are removed together, contents and all', async () => {
    const download = await makeTemporaryFolder(parent, 'download-');
    const spill = await makeTemporaryFolder(parent, 'spill-');
    fs.mkdirSync(path.join(spill.path, 'nested'));
    fs.writeFileSync(path.join(spill.path, 'nested', 'block.tmp'), Buffer.alloc(1024));
    const removedEarlier = await makeTemporaryFolder(parent, 'done-');
    removedEarlier.removeSync();

    expect(removeLiveTemporaryFoldersSync()).toEqual([]);
    expect(fs.readdirSync(parent)).toEqual([]);
    expect(liveTemporaryFolders()).not.toContain(download.path);
    expect(liveTemporaryFolders()).not.toContain(spill.path);
  });
});
