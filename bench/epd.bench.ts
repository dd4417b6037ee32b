// npm run bench:epd — times `greenspace import-epd` on a national-scale synthetic EPD month against
// DuckDB's own read_csv + group by over the same file, then checks that the import time grows
// linearly with the file (1×, 2× and 4× a month). Each size is timed several times, (b) and (a)
// alternating, and the medians are compared: these machines are noisy. Generated files live under
// var/bench (git-ignored): the 1× file is kept for the next run, the larger ones are deleted
// afterwards unless --keep.
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
const repeat = Math.max(1, Number(option('repeat', '3')));
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
): Promise<{ seconds: number; cpuSeconds: number; peakMb: number; timings: string }> {
  const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenspace-bench-db-'));
  const env = { DATABASE_URL: `sqlite:${path.join(dbDir, 'bench.sqlite')}`, LOG_LEVEL: 'silent' };
  try {
    await run(process.execPath, ['bin/greenspace.js', 'seed'], env);
    const result = await run(
      process.execPath,
      ['bin/greenspace.js', 'import-epd', '--quiet', '--timings', file],
      env,
    );
    const peak = /peak memory (\d+) MB/.exec(result.stdout);
    const cpu = /\(CPU ([\d.]+) s\)/.exec(result.stdout);
    // Where (a) spent its time, phase by phase, as the import itself measured it.
    const timings = /^Timings: (.*);/m.exec(result.stdout);
    return {
      seconds: result.ms / 1000,
      cpuSeconds: cpu ? Number(cpu[1]) : Number.NaN,
      peakMb: peak ? Number(peak[1]) : Number.NaN,
      timings: timings ? timings[1]! : 'not printed',
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
    .join(' ')}; ${repeat} run(s) of each, interleaved, medians compared`,
);

/** The middle value (the mean of the middle two for an even count). */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const seconds = (value: number) => `${value.toFixed(1)} s`;
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
  const aRuns: Awaited<ReturnType<typeof importRun>>[] = [];
  const bRuns: Awaited<ReturnType<typeof baselineRun>>[] = [];
  // Alternating the two, rather than running all of one then all of the other, spreads whatever
  // else the machine is doing over both sides.
  for (let round = 1; round <= repeat; round += 1) {
    const b = await baselineRun(file);
    const a = await importRun(file);
    bRuns.push(b);
    aRuns.push(a);
    console.log(
      `  ${multiple}× run ${round}: (a) ${seconds(a.seconds)} (CPU ${seconds(a.cpuSeconds)}), peak ${a.peakMb} MB; ` +
        `(b) ${seconds(b.seconds)} (CPU ${seconds(b.cpuSeconds)}); a/b = ${(a.seconds / b.seconds).toFixed(2)}\n` +
        `    (a) by phase: ${a.timings}`,
    );
  }
  const result = {
    multiple,
    a: median(aRuns.map((run) => run.seconds)),
    b: median(bRuns.map((run) => run.seconds)),
    aCpu: median(aRuns.map((run) => run.cpuSeconds)),
    bCpu: median(bRuns.map((run) => run.cpuSeconds)),
    peakMb: Math.max(...aRuns.map((run) => run.peakMb)),
  };
  results.push(result);
  console.log(
    `${multiple}× (${(rowsPerMonth * multiple).toLocaleString('en-GB')} rows, ${sizeGb.toFixed(2)} GB), medians: ` +
      `(a) import-epd ${seconds(result.a)} (CPU ${seconds(result.aCpu)}), peak ${result.peakMb} MB; ` +
      `(b) DuckDB read_csv + group by ${seconds(result.b)} (CPU ${seconds(result.bCpu)}, ${bRuns[0]!.groups.toLocaleString('en-GB')} groups); ` +
      `a/b = ${(result.a / result.b).toFixed(2)} (CPU ${(result.aCpu / result.bCpu).toFixed(2)})`,
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
}
for (const result of results) {
  const ratio = result.a / result.b;
  console.log(
    `Goal at ${result.multiple}×: a/b ≤ 1.0 → ${ratio.toFixed(2)} ${ratio <= 1 ? 'met' : 'NOT met'}; ` +
      `peak ≤ 1536 MB → ${result.peakMb} MB ${result.peakMb <= 1536 ? 'met' : 'NOT met'}`,
  );
}
