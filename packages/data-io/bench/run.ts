/**
 * Benchmark of the CSV readers on the A.10 data set (1e6 rows, header y,x1..x6, shortest round-trip
 * doubles): readCsvMatrix (a row-major design matrix) and openBatches (the streaming reader: typed
 * columnar batches, schema inferred at open), which share one byte parser. Baselines measured in
 * the same run: reading the same bytes in the same chunks without parsing them, and visiting every
 * byte. Target: openBatches at >= 0.8x readCsvMatrix's rows/s. Run with `pnpm bench` in
 * packages/data-io.
 */
import { open, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable, measure, writeResult } from '@rarefy/bench';
import { simulateRareEvents } from '@rarefy/sampling-core';
import { designMatrixColumns, openBatches, readCsvMatrix, writeCsvFile } from '../src/node.js';

const ROWS = 1_000_000;
const SEED = 1;
const CHUNK_BYTES = 4 << 20;
const path = join(tmpdir(), `rarefy-a10-${ROWS}-seed${SEED}.csv`);

async function ensureFile(): Promise<void> {
  const exists = await stat(path).then(
    (info) => info.isFile() && info.size > 0,
    () => false,
  );
  if (exists) return;
  console.error(`generating ${path} ...`);
  const data = simulateRareEvents({ rows: ROWS, seed: SEED });
  await writeCsvFile(path, designMatrixColumns(data.x, data.y));
}

/**
 * The baseline: read every byte in CHUNK_BYTES pieces, touching nothing. With `touch`, also sum
 * every byte in a tight loop: the cost of merely visiting the bytes in JavaScript.
 */
async function readBytes(touch: boolean): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(CHUNK_BYTES);
    let total = 0;
    let checksum = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, total);
      if (bytesRead === 0) return total + checksum;
      if (touch) for (let i = 0; i < bytesRead; i++) checksum += buffer[i] as number;
      total += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

await ensureFile();
const bytes = (await stat(path)).size;
const megabytes = bytes / 1e6;
let rows = 0;
const parse = await measure(
  async () => {
    rows = (await readCsvMatrix(path, { label: 'y' })).rows;
  },
  { repeats: 5, warmup: 1 },
);
let batchRows = 0;
const batches = await measure(
  async () => {
    const reader = await openBatches(path, { label: 'y' });
    let count = 0;
    for await (const batch of reader.batches()) count += batch.rows;
    batchRows = count;
  },
  { repeats: 5, warmup: 1 },
);
const baseline = await measure(() => readBytes(false), { repeats: 5, warmup: 1 });
const touched = await measure(() => readBytes(true), { repeats: 5, warmup: 1 });
if (rows !== ROWS) throw new Error(`expected ${ROWS} rows, parsed ${rows}`);
if (batchRows !== ROWS) throw new Error(`expected ${ROWS} rows, openBatches gave ${batchRows}`);

const result = {
  file: path,
  rows: ROWS,
  bytes,
  parseSeconds: parse.median,
  parseRowsPerSecond: ROWS / parse.median,
  parseMegabytesPerSecond: megabytes / parse.median,
  baselineSeconds: baseline.median,
  baselineMegabytesPerSecond: megabytes / baseline.median,
  parseOverBaseline: parse.median / baseline.median,
  touchSeconds: touched.median,
  parseOverTouch: parse.median / touched.median,
  batchesSeconds: batches.median,
  batchesRowsPerSecond: ROWS / batches.median,
  batchesSpeedOverParse: parse.median / batches.median,
  parseTimings: parse.seconds,
  batchesTimings: batches.seconds,
  baselineTimings: baseline.seconds,
  touchTimings: touched.seconds,
};
console.log(
  markdownTable([
    {
      case: 'readCsvMatrix',
      seconds: parse.median,
      'rows/s': Math.round(ROWS / parse.median),
      'MB/s': megabytes / parse.median,
    },
    {
      case: 'openBatches (columnar batches)',
      seconds: batches.median,
      'rows/s': Math.round(ROWS / batches.median),
      'MB/s': megabytes / batches.median,
    },
    {
      case: 'read bytes only (baseline)',
      seconds: baseline.median,
      'rows/s': Math.round(ROWS / baseline.median),
      'MB/s': megabytes / baseline.median,
    },
    {
      case: 'read + visit every byte',
      seconds: touched.median,
      'rows/s': Math.round(ROWS / touched.median),
      'MB/s': megabytes / touched.median,
    },
  ]),
);
console.log(
  `parse / read: ${result.parseOverBaseline.toFixed(1)}, parse / visit: ${result.parseOverTouch.toFixed(2)} (${megabytes.toFixed(1)} MB)`,
);
console.log(
  `openBatches speed / readCsvMatrix speed: ${result.batchesSpeedOverParse.toFixed(2)} (target >= 0.8)`,
);
const packageDirectory = join(dirname(fileURLToPath(import.meta.url)), '..');
console.log(`wrote ${writeResult(packageDirectory, 'read-csv-matrix', result)}`);

// DuckDB: read_csv against readCsvMatrix, and the SQL sampling path on 1e7 rows (bench/duckdb.ts).
await import('./duckdb.js');
// Real data (w8a, mammography from ../shared/data; skipped when absent): bench/real-data.ts.
await import('./real-data.js');
