/**
 * ClickHouse benchmark (issue 8; not in CI): two local clickhouse-server processes as the two shards
 * of a cluster, 1e7 rows generated inside ClickHouse (every value a function of the row number) and
 * inserted through a Distributed table. Measured in the same run:
 * - the in-cluster sampling pass (the one `INSERT INTO <new table> SELECT ...` of
 *   `sampleInClickHouse`, proportional and optL), as rows per second of the source;
 * - baselines: a plain `SELECT count()` over the Distributed table, and a scan summing every feature;
 * - the bytes that left the cluster through the client for the whole recipe (counts, pilot rows,
 *   histogram bins, the sample read back for the fit) against the table's size (uncompressed and on
 *   disk, from system.parts on both shards).
 * Run with `node --conditions=@rarefy/source --import tsx bench/clickhouse.ts` in packages/data-io
 * (needs clickhouse-server on the PATH).
 */
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { markdownTable, measure, writeResult } from '@rarefy/bench';
import type { DesignName } from '@rarefy/sampling-core';
import {
  ClickHouseEngine,
  ClickHouseHttpClient,
  clickHouseServerCommand,
  sampleInClickHouse,
  startLocalClickHouseCluster,
} from '../src/node.js';

const ROWS = Number(process.env.RAREFY_BENCH_CLICKHOUSE_ROWS ?? 10_000_000);
const FEATURES = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6'];

if (clickHouseServerCommand() === null) {
  console.log('clickhouse benchmark skipped: clickhouse-server is not installed');
  process.exit(0);
}

const cluster = await startLocalClickHouseCluster({ count: 2 });
try {
  const columns = ['id UInt64', 'y UInt8', ...FEATURES.map((name) => `${name} Float64`)].join(', ');
  for (const server of cluster.servers) {
    await new ClickHouseHttpClient(server.url).command(
      `CREATE TABLE events_local (${columns}) ENGINE = MergeTree ORDER BY id`,
    );
  }
  const url = cluster.servers[0]?.url ?? '';
  const loader = new ClickHouseHttpClient(`${url}?insert_distributed_sync=1`);
  await loader.command(
    `CREATE TABLE events (${columns}) ENGINE = Distributed(rarefy, default, events_local, intHash64(id))`,
  );
  // Features uniform in [-2, 2) from hashes of the row number; y ~ Bernoulli(sigmoid(-6 - 0.5 sum x)).
  const x = FEATURES.map(
    (name, j) => `(toFloat64(sipHash64(number, ${j + 1}) % 4000000) / 1e6 - 2e0) AS ${name}`,
  );
  const eta = `-6e0 - 0.5e0 * (${FEATURES.join(' + ')})`;
  const loadStarted = performance.now();
  await loader.command(
    `INSERT INTO events SELECT id, toUInt8(toFloat64(sipHash64(id, 99) % 1000000) / 1e6 < 1e0 / (1e0 + exp(-(${eta})))) AS y, ${FEATURES.join(', ')} ` +
      `FROM (SELECT number AS id, ${x.join(', ')} FROM numbers(${ROWS}))`,
  );
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  let uncompressed = 0;
  let compressed = 0;
  for (const server of cluster.servers) {
    const [parts] = await new ClickHouseHttpClient(server.url).query(
      "SELECT sum(data_uncompressed_bytes) AS u, sum(data_compressed_bytes) AS c FROM system.parts WHERE table = 'events_local' AND active",
    );
    uncompressed += Number(parts?.u);
    compressed += Number(parts?.c);
  }

  const engine = new ClickHouseEngine(url);
  const count = await measure(() => engine.query('SELECT count() AS n FROM events'), {
    repeats: 5,
    warmup: 1,
  });
  const scan = await measure(() => engine.query(`SELECT sum(${FEATURES.join(' + ')}) AS s FROM events`), {
    repeats: 3,
    warmup: 1,
  });
  const rows: Array<Record<string, unknown>> = [];
  let run = 0;
  for (const design of ['proportional', 'optL'] as DesignName[]) {
    for (let repeat = 0; repeat < 3; repeat++) {
      run += 1;
      const client = engine.client;
      const before = client.bytesReceived;
      let sampleStarted = 0;
      let sampleSeconds = 0;
      const started = performance.now();
      const result = await sampleInClickHouse(engine, 'events', {
        label: 'y',
        features: FEATURES,
        design,
        rowKey: 'id',
        seed: repeat + 1,
        outputTable: `sample_${run}`,
        onProgress: ({ stage, done }) => {
          if (stage !== 'sample') return;
          if (!done) sampleStarted = performance.now();
          else sampleSeconds = (performance.now() - sampleStarted) / 1000;
        },
      });
      const seconds = (performance.now() - started) / 1000;
      const left = client.bytesReceived - before;
      rows.push({
        design,
        repeat: repeat + 1,
        'sampling pass s': sampleSeconds.toFixed(3),
        'pass rows/s': Math.round(ROWS / sampleSeconds),
        'recipe s': seconds.toFixed(2),
        kept: result.sample.positives + result.sample.negatives,
        'bytes left cluster': left,
        'left / uncompressed': (left / uncompressed).toExponential(2),
      });
    }
  }
  const result = {
    rows: ROWS,
    shards: cluster.servers.length,
    loadSeconds,
    tableBytes: { uncompressed, compressed },
    countSeconds: count.median,
    countRowsPerSecond: ROWS / count.median,
    scanSeconds: scan.median,
    scanRowsPerSecond: ROWS / scan.median,
    runs: rows,
  };
  console.log(
    `${ROWS} rows on ${cluster.servers.length} local shards (loaded in ${loadSeconds.toFixed(1)} s): table ${(uncompressed / 1e6).toFixed(0)} MB uncompressed, ${(compressed / 1e6).toFixed(0)} MB on disk`,
  );
  console.log(
    `SELECT count(): ${count.median.toFixed(4)} s; scan of every feature: ${scan.median.toFixed(3)} s (${Math.round(ROWS / scan.median).toLocaleString('en-US')} rows/s)`,
  );
  console.log(markdownTable(rows));
  const packageDirectory = `${dirname(fileURLToPath(import.meta.url))}/..`;
  console.log(`wrote ${writeResult(packageDirectory, 'clickhouse', result)}`);
} finally {
  await cluster.close();
}
