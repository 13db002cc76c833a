// The whole recipe from a CSV file as a user runs it: `rarefy fit` on the 1e6-row A.10 file, as a
// separate process each time (median wall time and peak RSS), beside baselines measured in the same
// run: reading the file's bytes, parsing it into a matrix, and the full-data logistic fit.
// Run: pnpm bench (in apps/cli; needs the build, which turbo runs first).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable, measure, median, writeResult } from '@rarefy/bench';
import { fitLogistic } from '@rarefy/correction';
import { readCsvMatrix } from '@rarefy/data-io/node';

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const bin = join(packageDir, 'dist', 'bin.js');
if (!existsSync(bin)) throw new Error(`${bin} is missing: run pnpm build first (pnpm bench does)`);
const rows = 1_000_000;
const file = join(tmpdir(), `rarefy-bench-a10-${rows}.csv`);
if (!existsSync(file)) {
  console.log(`writing ${file}`);
  execFileSync(process.execPath, [bin, 'simulate', '--n', String(rows), '--seed', '1', '--out', file], {
    stdio: 'inherit',
  });
}
const bytes = readFileSync(file).length;
const repeats = 7;

const processRuns: Array<{ wall: number; inProcess: number; read: number; maxRssMb: number }> = [];
for (let r = 0; r < repeats + 1; r++) {
  const started = performance.now();
  const child = spawnSync(
    process.execPath,
    [
      join(packageDir, 'bench', 'fit-process.mjs'),
      'fit',
      '--data',
      file,
      '--label',
      'y',
      '--design',
      'optA',
      '--pilot-size',
      '1000',
      '--sample-size',
      '10000',
      '--seed',
      String(r + 1),
      '--json',
    ],
    { encoding: 'utf8' },
  );
  const wall = (performance.now() - started) / 1000;
  if (child.status !== 0) throw new Error(`rarefy fit failed: ${child.stderr}`);
  const result = JSON.parse(child.stdout) as { seconds: number; timings: { read: number } };
  const memory = JSON.parse(child.stderr.trim().split('\n').pop() as string) as { maxRssBytes: number };
  if (r > 0)
    processRuns.push({
      wall,
      inProcess: result.seconds,
      read: result.timings.read,
      maxRssMb: memory.maxRssBytes / 2 ** 20,
    });
}

const readBytes = await measure(() => readFileSync(file), { repeats: 5 });
let matrix: Awaited<ReturnType<typeof readCsvMatrix>> | undefined;
const parse = await measure(
  async () => {
    matrix = await readCsvMatrix(file, { label: 'y' });
  },
  { repeats: 5 },
);
const data = matrix as NonNullable<typeof matrix>;
const fullFit = await measure(() => fitLogistic(data.x, data.y), { repeats: 3 });

const wall = median(processRuns.map((run) => run.wall));
const summary = {
  rows,
  fileMegabytes: bytes / 2 ** 20,
  repeats,
  fitProcessMedianSeconds: wall,
  fitInProcessMedianSeconds: median(processRuns.map((run) => run.inProcess)),
  fitReadMedianSeconds: median(processRuns.map((run) => run.read)),
  fitPeakRssMbMax: Math.max(...processRuns.map((run) => run.maxRssMb)),
  baselines: {
    readBytesSeconds: readBytes.median,
    parseCsvSeconds: parse.median,
    fullDataFitSeconds: fullFit.median,
  },
  targets: { processSeconds: 1.5, peakRssMb: 300 },
  rReference: {
    note: 'ALGORITHMS.md A.10, R subsampling on the same design, not measured here',
    processSeconds: 6.5,
    peakRssMb: 600,
  },
};
const table = markdownTable([
  {
    measurement: '`rarefy fit` optA, whole process (median)',
    seconds: wall,
    'peak RSS MB': summary.fitPeakRssMbMax,
  },
  {
    measurement: '  of which reading the CSV (in process)',
    seconds: summary.fitReadMedianSeconds,
    'peak RSS MB': '',
  },
  { measurement: 'baseline: read the file bytes only', seconds: readBytes.median, 'peak RSS MB': '' },
  { measurement: 'baseline: parse the CSV into a matrix', seconds: parse.median, 'peak RSS MB': '' },
  { measurement: 'baseline: full-data logistic fit (in memory)', seconds: fullFit.median, 'peak RSS MB': '' },
]);
console.log(
  `\n${rows.toLocaleString('en-US')}-row A.10 CSV (${summary.fileMegabytes.toFixed(0)} MB), ${repeats} runs\n\n${table}\n`,
);
console.log(`wrote ${writeResult(packageDir, 'fit-from-csv', summary)}`);
