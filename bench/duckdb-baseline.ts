// The reference run of the EPD benchmark: DuckDB's own CSV reader (with its automatic dialect and
// type detection) grouping the whole file by practice and BNF code. Prints the query time in ms.
import { DuckDBInstance } from '@duckdb/node-api';

const file = process.argv[2];
if (!file) throw new Error('usage: duckdb-baseline.ts <file.csv>');
const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
const started = performance.now();
const cpuBefore = process.cpuUsage();
await connection.run(
  `CREATE TABLE grouped AS
   SELECT PRACTICE_CODE, BNF_CODE, sum(ITEMS) AS items, sum(TOTAL_QUANTITY) AS quantity,
     sum(ACTUAL_COST) AS actual_cost
   FROM read_csv('${file.replace(/'/g, "''")}')
   GROUP BY ALL`,
);
const elapsed = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
const groups = (
  await connection.runAndReadAll('SELECT count(*)::DOUBLE AS n FROM grouped')
).getRowObjectsJS()[0]!.n;
connection.closeSync();
instance.closeSync();
process.stdout.write(
  `${JSON.stringify({ ms: elapsed, cpuMs: (cpu.user + cpu.system) / 1000, groups, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
);
