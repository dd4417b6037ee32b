import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startTypeScriptWorker } from './typescript-worker.ts';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-worker-'));
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

function writeModule(name: string, text: string): URL {
  const file = path.join(folder, name);
  fs.writeFileSync(file, text);
  return pathToFileURL(file);
}

describe('startTypeScriptWorker', () => {
  it('runs a TypeScript module and the sources it imports in a thread, with the data given', async () => {
    writeModule('double.ts', 'export const double = (value: number): number => value * 2;\n');
    const module = writeModule(
      'entry.ts',
      [
        "import { parentPort, workerData } from 'node:worker_threads';",
        "import { double } from './double.ts';",
        'const { value } = workerData as { value: number };',
        'parentPort!.postMessage(double(value));',
        '',
      ].join('\n'),
    );
    const worker = await startTypeScriptWorker(module, { value: 21 });
    const message = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    expect(message).toBe(42);
    await worker.terminate();
  });

  it('refuses a module that imports a package, which the thread could not find', async () => {
    const module = writeModule(
      'package.ts',
      "import { z } from 'zod';\nexport const schema = z;\n",
    );
    await expect(startTypeScriptWorker(module, {})).rejects.toThrow(
      /zod is a package: a worker may import none/,
    );
  });
});
