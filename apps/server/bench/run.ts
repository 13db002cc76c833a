// The server under load, on loopback, bounded in time (about 3 minutes with the defaults):
// 1. POST /v1/recommend on a 100,000 x 64 retrieval export, HNSW and exact search (requests per
//    second, p50/p99 latency; target for HNSW: >= 3,000 req/s with p99 < 15 ms), and HNSW's recall
//    of the exact top 10 through the same endpoint;
// 2. POST /v1/score with a logistic model, 100 rows per request (rows per second);
// 3. a soak of /v1/recommend (HNSW) at 70% of the capacity measured in 1: errors and resident
//    memory growth (target < 10%).
// The baseline measured in the same run is exact search (HNSW's speed-up is reported as a ratio),
// and one exact query's cost in-process. Each server is a process of its own (bench/serve.ts);
// autocannon runs here.
// Run: pnpm bench (in apps/server), or node --conditions=@rarefy/source --import tsx bench/run.ts
//   [--seconds 15] [--soak-seconds 60] [--connections 16] [--items 100000] [--dimension 64]
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { markdownTable, median, writeResult } from '@rarefy/bench';
import { LogisticPilot } from '@rarefy/pilot-model';
import { saveModel } from '@rarefy/pilot-model/node';
import { createRng } from '@rarefy/sampling-core';
import { writeRetrievalExport } from '@rarefy/two-tower/node';
import autocannon from 'autocannon';
import { clusteredUnitRows } from '../src/__fixtures__/models.js';
import { ExactRecommendIndex } from '../src/index.js';

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    'soak-seconds': { type: 'string', default: '60' },
    connections: { type: 'string', default: '16' },
    items: { type: 'string', default: '100000' },
    dimension: { type: 'string', default: '64' },
  },
});
const seconds = Number(args.seconds);
const soakSeconds = Number(args['soak-seconds']);
const connections = Number(args.connections);
const itemCount = Number(args.items);
const dimension = Number(args.dimension);
const userCount = 10_000;
const warmupSeconds = 3;

// --- data -----------------------------------------------------------------------------------
const retrievalDir = join(tmpdir(), `rarefy-bench-server-${itemCount}x${dimension}`);
const logisticDir = join(tmpdir(), 'rarefy-bench-server-logistic');
if (!existsSync(join(retrievalDir, 'manifest.json'))) {
  console.log(`writing ${retrievalDir}`);
  // Users and items around the same 256 centres: what trained embeddings look like (groups of
  // similar items, users near what they like), unlike uniform random vectors.
  const rows = clusteredUnitRows(createRng(1), itemCount + userCount, dimension, 256);
  await writeRetrievalExport(retrievalDir, {
    dimension,
    temperature: 0.05,
    items: {
      ids: Array.from({ length: itemCount }, (_, i) => `item-${i}`),
      embeddings: rows.slice(0, itemCount * dimension),
    },
    users: {
      ids: Array.from({ length: userCount }, (_, i) => `user-${i}`),
      embeddings: rows.slice(itemCount * dimension),
    },
  });
}
const features = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6'];
await saveModel(
  logisticDir,
  LogisticPilot.fromCoefficients(['(Intercept)', ...features], [-6, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5]),
);

// --- one exact query in-process (the cost the worker threads take off the event loop) ----------
const exactQueryMs = await (async () => {
  const rng = createRng(2);
  const items = clusteredUnitRows(rng, itemCount, dimension, 256);
  const index = new ExactRecommendIndex(items, dimension, { threads: 1 });
  const times: number[] = [];
  for (let q = 0; q < 60; q++) {
    const started = performance.now();
    await index.search(items.subarray(q * dimension, (q + 1) * dimension), 10);
    if (q >= 10) times.push(performance.now() - started);
  }
  await index.close();
  return median(times);
})();
console.log(
  `one exact top-10 query over ${itemCount} x ${dimension}: ${exactQueryMs.toFixed(2)} ms (median)`,
);

// --- servers ----------------------------------------------------------------------------------
interface Served {
  readonly child: ChildProcess;
  readonly url: string;
  readonly startSeconds: number;
}

const children: ChildProcess[] = [];
function stopAll(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
}
process.once('exit', stopAll);

function startServer(model: string, index: string, buildThreads: number): Promise<Served> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      '--conditions=@rarefy/source',
      '--import',
      'tsx',
      join(packageDir, 'bench', 'serve.ts'),
      model,
      index,
      String(buildThreads),
    ],
    { cwd: packageDir, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${index} server: not listening after 300 s`)), 300_000);
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const match = /listening on (\S+)/.exec(buffered);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1] as string, startSeconds: (performance.now() - started) / 1000 });
      }
    });
    child.once('exit', (code) => reject(new Error(`${index} server exited with ${code}`)));
  });
}

async function stopServer(served: Served): Promise<void> {
  if (served.child.exitCode !== null) return;
  const exited = new Promise((resolve) => served.child.once('exit', resolve));
  served.child.kill('SIGTERM');
  await exited;
}

async function residentBytes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^rarefy_process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
  if (!match) throw new Error('no rarefy_process_resident_memory_bytes on /metrics');
  return Number(match[1]);
}

// --- load ---------------------------------------------------------------------------------------
function recommendBodies(count: number): string[] {
  const rng = createRng(3);
  return Array.from({ length: count }, () =>
    JSON.stringify({ userId: `user-${rng.nextInt(userCount)}`, k: 10 }),
  );
}

function scoreBodies(count: number, rows: number): string[] {
  const rng = createRng(4);
  return Array.from({ length: count }, () =>
    JSON.stringify({
      rows: Array.from({ length: rows }, () => features.map(() => Number(rng.normal().toFixed(4)))),
    }),
  );
}

interface Load {
  requestsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  requests: number;
  errors: number;
  non2xx: number;
  timeouts: number;
}

async function load(
  url: string,
  path: string,
  bodies: string[],
  duration: number,
  rate?: number,
): Promise<Load> {
  let next = 0;
  const result = await autocannon({
    url,
    connections,
    duration,
    ...(rate === undefined ? {} : { overallRate: rate }),
    requests: [
      {
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => {
          request.body = bodies[next++ % bodies.length] as string;
          return request;
        },
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    requests: result.requests.total,
    errors: result.errors,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
  };
}

async function measured(url: string, path: string, bodies: string[]): Promise<Load> {
  await load(url, path, bodies, warmupSeconds);
  return load(url, path, bodies, seconds);
}

async function recall(hnswUrl: string, exactUrl: string, queries: number): Promise<number> {
  const rng = createRng(5);
  let hits = 0;
  for (let q = 0; q < queries; q++) {
    const body = JSON.stringify({ userId: `user-${rng.nextInt(userCount)}`, k: 10 });
    const ask = async (url: string): Promise<string[]> => {
      const response = await fetch(`${url}/v1/recommend`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      return ((await response.json()) as { items: Array<{ itemId: string }> }).items.map(
        (item) => item.itemId,
      );
    };
    const [approximate, exact] = await Promise.all([ask(hnswUrl), ask(exactUrl)]);
    const truth = new Set(exact);
    hits += approximate.filter((id) => truth.has(id)).length;
  }
  return hits / (queries * 10);
}

const loadBefore = loadavg()[0] as number;
console.log(`building the HNSW index of ${itemCount} x ${dimension} (2 threads)...`);
const hnsw = await startServer(retrievalDir, 'hnsw', 2);
console.log(`HNSW server ready in ${hnsw.startSeconds.toFixed(1)} s at ${hnsw.url}`);
const exact = await startServer(retrievalDir, 'exact', 1);
console.log(`exact server ready in ${exact.startSeconds.toFixed(1)} s at ${exact.url}`);
const hnswRecall = await recall(hnsw.url, exact.url, 200);
console.log(`HNSW recall of the exact top 10 (200 users): ${hnswRecall.toFixed(4)}`);

const bodies = recommendBodies(4096);
const hnswLoad = await measured(hnsw.url, '/v1/recommend', bodies);
console.log(`recommend HNSW: ${JSON.stringify(hnswLoad)}`);
const exactLoad = await measured(exact.url, '/v1/recommend', bodies);
console.log(`recommend exact: ${JSON.stringify(exactLoad)}`);
await stopServer(exact);

const logistic = await startServer(logisticDir, 'auto', 1);
const scoreLoad = await measured(logistic.url, '/v1/score', scoreBodies(64, 100));
console.log(`score (100 rows per request): ${JSON.stringify(scoreLoad)}`);
await stopServer(logistic);

const soakRate = Math.max(1, Math.floor(0.7 * hnswLoad.requestsPerSecond));
console.log(`soak: ${soakSeconds} s of /v1/recommend (HNSW) at ${soakRate} req/s (70% of capacity)...`);
const rssSamples: number[] = [await residentBytes(hnsw.url)];
const sampler = setInterval(() => {
  residentBytes(hnsw.url).then(
    (bytes) => rssSamples.push(bytes),
    () => {},
  );
}, 5000);
const soakLoad = await load(hnsw.url, '/v1/recommend', bodies, soakSeconds, soakRate);
clearInterval(sampler);
rssSamples.push(await residentBytes(hnsw.url));
await stopServer(hnsw);

const rssStart = rssSamples[0] as number;
const rssEnd = rssSamples[rssSamples.length - 1] as number;
const soak = {
  seconds: soakSeconds,
  targetRate: soakRate,
  ...soakLoad,
  rssStartMb: rssStart / 2 ** 20,
  rssEndMb: rssEnd / 2 ** 20,
  rssMaxMb: Math.max(...rssSamples) / 2 ** 20,
  rssGrowth: rssEnd / rssStart - 1,
};
const targets = {
  hnswRequestsPerSecond: hnswLoad.requestsPerSecond >= 3000,
  hnswP99: hnswLoad.p99Ms < 15,
  soakNoErrors: soak.errors + soak.non2xx + soak.timeouts === 0,
  soakRssGrowth: soak.rssGrowth < 0.1,
};
const result = {
  machine: { cpus: availableParallelism(), loadAverageAtStart: loadBefore },
  settings: { items: itemCount, users: userCount, dimension, connections, seconds, warmupSeconds, k: 10 },
  exactQueryMs,
  hnsw: { ...hnswLoad, startSeconds: hnsw.startSeconds, recallAt10: hnswRecall },
  exact: { ...exactLoad, startSeconds: exact.startSeconds },
  hnswOverExact: hnswLoad.requestsPerSecond / exactLoad.requestsPerSecond,
  score: { ...scoreLoad, rowsPerRequest: 100, rowsPerSecond: scoreLoad.requestsPerSecond * 100 },
  soak,
  targets,
};
const file = writeResult(packageDir, 'server', result);
const round = (value: number, digits = 1): string => value.toFixed(digits);
console.log(
  markdownTable([
    {
      run: `recommend HNSW (${itemCount} x ${dimension})`,
      'req/s': round(hnswLoad.requestsPerSecond, 0),
      'p50 ms': round(hnswLoad.p50Ms),
      'p99 ms': round(hnswLoad.p99Ms),
      errors: hnswLoad.errors + hnswLoad.non2xx,
      note: `recall@10 ${round(hnswRecall, 3)}`,
    },
    {
      run: `recommend exact (${itemCount} x ${dimension})`,
      'req/s': round(exactLoad.requestsPerSecond, 0),
      'p50 ms': round(exactLoad.p50Ms),
      'p99 ms': round(exactLoad.p99Ms),
      errors: exactLoad.errors + exactLoad.non2xx,
      note: `HNSW/exact ${round(result.hnswOverExact, 1)}x; one exact query ${round(exactQueryMs, 2)} ms`,
    },
    {
      run: 'score, logistic, 100 rows/request',
      'req/s': round(scoreLoad.requestsPerSecond, 0),
      'p50 ms': round(scoreLoad.p50Ms),
      'p99 ms': round(scoreLoad.p99Ms),
      errors: scoreLoad.errors + scoreLoad.non2xx,
      note: `${round(result.score.rowsPerSecond, 0)} rows/s`,
    },
    {
      run: `soak ${soakSeconds} s at ${soakRate} req/s`,
      'req/s': round(soakLoad.requestsPerSecond, 0),
      'p50 ms': round(soakLoad.p50Ms),
      'p99 ms': round(soakLoad.p99Ms),
      errors: soakLoad.errors + soakLoad.non2xx + soakLoad.timeouts,
      note: `RSS ${round(soak.rssStartMb)} -> ${round(soak.rssEndMb)} MB (${round(soak.rssGrowth * 100)}%)`,
    },
  ]),
);
console.log(`targets: ${JSON.stringify(targets)}`);
console.log(`wrote ${file}`);
