// npm run bench:epd — times `greenspace import-epd` on a national-scale synthetic EPD month against
// DuckDB's own read_csv + group by over the same file, then checks that the import time grows
// linearly with the file (1×, 2× and 4× a month). Generated files live under var/bench (git-ignored):
// the 1× file is kept for the next run, the larger ones are deleted afterwards unless --keep.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateSyntheticEpd } from '../src/modules/prescribing/epd-synthetic.ts';

const projectRoot = path.resolve(import.meta.dirname, '..');
const benchDir = path.join(projectRoot, 'var', 'bench');
const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 && args[index + 1] ? args[index + 1]! : fallback;
};
const rowsPerMonth = Number(option('rows', '17000000'));
const sizes = option('sizes', '1,2,4').split(',').map(Number);
const keep = args.includes('--keep');
const months = [
  '2024-01',
  '2024-02',
  '2024-03',
  '2024-04',
  '2024-05',
  '2024-06',
  '2024-07',
  '2024-08',
];

interface RunResult {
  ms: number;
  stdout: string;
}

function run(
  command: string,
  commandArgs: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, commandArgs, {
      cwd: projectRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve({ ms: performance.now() - started, stdout })
        : reject(new Error(`${command} ${commandArgs.join(' ')} exited with ${code}\n${stdout}`)),
    );
  });
}

async function ensureFile(multiple: number): Promise<string> {
  const file = path.join(benchDir, `epd-${multiple}x-${rowsPerMonth}.csv`);
  if (fs.existsSync(file)) return file;
  console.log(`Generating ${multiple} month(s) of ${rowsPerMonth.toLocaleString('en-GB')} rows…`);
  const started = performance.now();
  const stats = await generateSyntheticEpd({
    file: `${file}.partial`,
    layout: 'epd-icb',
    months: months.slice(0, multiple),
    rowsPerMonth,
  });
  fs.renameSync(`${file}.partial`, file);
  console.log(
    `  ${stats.rows.toLocaleString('en-GB')} rows, ${(stats.bytes / 1e9).toFixed(2)} GB, ${stats.practices} practices, in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  return file;
}

/** Reads the file once so both runs find it in the page cache, whichever runs first. */
async function warmPageCache(file: string): Promise<void> {
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 22 })) void chunk;
}

async function importRun(
  file: string,
): Promise<{ seconds: number; cpuSeconds: number; peakMb: number }> {
  const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-bench-db-'));
  const env = { DATABASE_URL: `sqlite:${path.join(dbDir, 'bench.sqlite')}`, LOG_LEVEL: 'silent' };
  try {
    await run(process.execPath, ['bin/greenspace.js', 'seed'], env);
    const result = await run(
      process.execPath,
      ['bin/greenspace.js', 'import-epd', '--quiet', file],
      env,
    );
    const peak = /peak memory (\d+) MB/.exec(result.stdout);
    const cpu = /\(CPU ([\d.]+) s\)/.exec(result.stdout);
    return {
      seconds: result.ms / 1000,
      cpuSeconds: cpu ? Number(cpu[1]) : Number.NaN,
      peakMb: peak ? Number(peak[1]) : Number.NaN,
    };
  } finally {
    fs.rmSync(dbDir, { recursive: true, force: true });
  }
}

async function baselineRun(
  file: string,
): Promise<{ seconds: number; cpuSeconds: number; groups: number }> {
  const result = await run(process.execPath, ['--import', 'tsx', 'bench/duckdb-baseline.ts', file]);
  const parsed = JSON.parse(result.stdout.trim().split('\n').pop()!) as {
    ms: number;
    cpuMs: number;
    groups: number;
  };
  return { seconds: parsed.ms / 1000, cpuSeconds: parsed.cpuMs / 1000, groups: parsed.groups };
}

fs.mkdirSync(benchDir, { recursive: true });
console.log(
  `EPD benchmark on ${os.cpus().length} cores, Node ${process.version}, load average ${os
    .loadavg()
    .map((load) => load.toFixed(1))
    .join(' ')}`,
);
const results: {
  multiple: number;
  a: number;
  b: number;
  aCpu: number;
  bCpu: number;
  peakMb: number;
}[] = [];
for (const multiple of sizes) {
  const file = await ensureFile(multiple);
  const sizeGb = fs.statSync(file).size / 1e9;
  await warmPageCache(file);
  const b = await baselineRun(file);
  const a = await importRun(file);
  results.push({
    multiple,
    a: a.seconds,
    b: b.seconds,
    aCpu: a.cpuSeconds,
    bCpu: b.cpuSeconds,
    peakMb: a.peakMb,
  });
  console.log(
    `${multiple}× (${(rowsPerMonth * multiple).toLocaleString('en-GB')} rows, ${sizeGb.toFixed(2)} GB): ` +
      `(a) import-epd ${a.seconds.toFixed(1)} s (CPU ${a.cpuSeconds.toFixed(1)} s), peak ${a.peakMb} MB; ` +
      `(b) DuckDB read_csv + group by ${b.seconds.toFixed(1)} s (CPU ${b.cpuSeconds.toFixed(1)} s, ${b.groups.toLocaleString('en-GB')} groups); ` +
      `a/b = ${(a.seconds / b.seconds).toFixed(2)} (CPU ${(a.cpuSeconds / b.cpuSeconds).toFixed(2)})`,
  );
  if (multiple !== 1 && !keep) fs.rmSync(file, { force: true });
}
const one = results.find((result) => result.multiple === 1);
if (one) {
  for (const result of results.filter((entry) => entry.multiple !== 1)) {
    const growth = result.a / one.a;
    const cpuGrowth = result.aCpu / one.aCpu;
    console.log(
      `linearity: ${result.multiple}× took ${growth.toFixed(2)}× the 1× time (${((growth / result.multiple - 1) * 100).toFixed(0)}% from linear) ` +
        `and ${cpuGrowth.toFixed(2)}× the CPU (${((cpuGrowth / result.multiple - 1) * 100).toFixed(0)}% from linear)`,
    );
  }
  console.log(
    `Goal: a/b ≤ 1.0 → ${(one.a / one.b).toFixed(2)} ${one.a / one.b <= 1 ? 'met' : 'NOT met'}; ` +
      `peak ≤ 1536 MB → ${one.peakMb} MB ${one.peakMb <= 1536 ? 'met' : 'NOT met'}`,
  );
}
