import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread running the TypeScript module at `module` (a file URL), with `data` in its
 * `workerData`. A new thread has no loader for TypeScript, and registering one there costs a few
 * tenths of a second of the processor the caller wants to share; so the module and the project
 * sources it imports are compiled into one piece of JavaScript first (esbuild, in a few tens of
 * milliseconds, mostly in its own process). That code has no folder of its own, so it may import
 * Node's own modules but no packages.
 */
export async function startTypeScriptWorker(module: URL, data: object): Promise<Worker> {
  const { build } = await import('esbuild');
  const compiled = await build({
    entryPoints: [fileURLToPath(module)],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    logLevel: 'silent',
    plugins: [
      {
        name: 'node-modules-only',
        setup(plugin) {
          plugin.onResolve({ filter: /^[^./]/ }, (args) => {
            if (args.path.startsWith('node:')) return { external: true };
            return { errors: [{ text: `${args.path} is a package: a worker may import none` }] };
          });
        },
      },
    ],
  });
  const code = compiled.outputFiles[0]!.text;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), {
    workerData: data,
  });
}
