/**
 * The recipe inside a real ClickHouse cluster (issue 8): two clickhouse-server processes on
 * 127.0.0.1 as the two shards of the cluster `rarefy`, a Distributed table over a MergeTree table on
 * each, 1e6 rows of the A.10 data loaded through it. Skipped (with a message) when clickhouse-server
 * is not installed; CI installs it (.ci/run).
 */
import { fitRareEvents } from '@rarefy/correction';
import {
  designScores,
  isRarefyError,
  keepProbability,
  linearPredictor,
  sigmoid,
  simulateRareEvents,
} from '@rarefy/sampling-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseEngine } from './engine.js';
import { ClickHouseHttpClient, redactUrl } from './http-client.js';
import { sampleInClickHouse } from './sample-in-cluster.js';
import {
  clickHouseServerCommand,
  type LocalClickHouseCluster,
  startLocalClickHouseCluster,
} from './test-cluster.js';

const installed = clickHouseServerCommand() !== null;
if (!installed) {
  console.warn(
    'clickhouse cluster tests skipped: clickhouse-server is not installed (apt-get install -y clickhouse-server clickhouse-client)',
  );
}

const ROWS = 1_000_000;
const CHUNK = 250_000;
const SEED = 3;
const data = installed ? simulateRareEvents({ rows: ROWS, seed: 11 }) : null;
const FEATURES = data === null ? [] : data.x.names.slice(1);

/** Rows [start, end) as RowBinary: id UInt64, y UInt8, then the features as Float64 (exact doubles). */
function rowBinary(start: number, end: number): Uint8Array {
  if (data === null) throw new Error('no data');
  const d = data.x.columns;
  const width = 8 + 1 + 8 * (d - 1);
  const buffer = Buffer.alloc((end - start) * width);
  let at = 0;
  for (let i = start; i < end; i++) {
    buffer.writeBigUInt64LE(BigInt(i), at);
    buffer.writeUInt8(data.y[i] as number, at + 8);
    at += 9;
    for (let j = 1; j < d; j++, at += 8) buffer.writeDoubleLE(data.x.data[i * d + j] as number, at);
  }
  return buffer;
}

describe.skipIf(!installed)('sampling inside a two-shard ClickHouse cluster', () => {
  let cluster: LocalClickHouseCluster;
  let engine: ClickHouseEngine;

  beforeAll(async () => {
    cluster = await startLocalClickHouseCluster({ count: 2 });
    const columns = ['id UInt64', 'y UInt8', ...FEATURES.map((name) => `${name} Float64`)].join(', ');
    for (const server of cluster.servers) {
      await new ClickHouseHttpClient(server.url).command(
        `CREATE TABLE events_local (${columns}) ENGINE = MergeTree ORDER BY id`,
      );
    }
    const first = cluster.servers[0];
    if (first === undefined) throw new Error('no server');
    // Queries logged on every server (the shards inherit the setting): the test reads what each shard sent.
    engine = new ClickHouseEngine(`${first.url}?log_queries=1`);
    await engine.client.command(
      `CREATE TABLE events (${columns}) ENGINE = Distributed(rarefy, default, events_local, intHash64(id))`,
    );
    // Synchronous inserts through the Distributed table: each chunk is on its shards when it returns.
    const loader = new ClickHouseHttpClient(`${first.url}?insert_distributed_sync=1`);
    for (let start = 0; start < ROWS; start += CHUNK) {
      await loader.insert('events', 'RowBinary', rowBinary(start, Math.min(ROWS, start + CHUNK)));
    }
  }, 120_000);

  afterAll(async () => {
    await cluster?.close();
  }, 60_000);

  it('loads the rows through the Distributed table onto both shards', async () => {
    const counts: number[] = [];
    for (const server of cluster.servers) {
      const [row] = await new ClickHouseHttpClient(server.url).query('SELECT count() AS n FROM events_local');
      counts.push(Number(row?.n));
    }
    expect(counts.every((n) => n > 0.4 * ROWS)).toBe(true);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(ROWS);
    const [total] = await engine.query('SELECT count() AS n FROM events');
    expect(Number(total?.n)).toBe(ROWS);
  });

  it('samples in the cluster: exact pi, realised size within 4 sd, the fit agrees with the in-process recipe', async () => {
    if (data === null) throw new Error('no data');
    const stages: string[] = [];
    const result = await sampleInClickHouse(engine, 'events', {
      label: 'y',
      features: FEATURES,
      design: 'proportional',
      rowKey: 'id',
      seed: SEED,
      outputTable: 'events_sample',
      onProgress: (progress) => {
        if (progress.done) stages.push(progress.stage);
      },
    });
    expect(stages).toEqual(['count', 'pilot', 'histogram', 'sample']);
    expect(result.plan.population).toEqual({
      rows: ROWS,
      positives: data.positives,
      negatives: ROWS - data.positives,
    });

    // Every kept row's pi against the in-process pi of that row (same pilot and scale).
    const eta = linearPredictor(data.x, result.plan.pilotCoefficients);
    const p = eta.map((value) => sigmoid(value));
    const scores = designScores('proportional', p, data.x);
    const kept = await engine.query('SELECT id, y, pi FROM events_sample');
    expect(kept.length).toBe(result.sample.positives + result.sample.negatives);
    expect(result.sample.positives).toBe(data.positives);
    let worst = 0;
    for (const row of kept) {
      const id = Number(row.id);
      const expected = keepProbability(scores[id] as number, result.plan.solution);
      worst = Math.max(worst, Math.abs(Number(row.pi) - expected) / expected);
      expect(Number(row.y)).toBe(data.y[id]);
    }
    expect(worst).toBeLessThan(1e-12);

    // The realised negatives within 4 Poisson sd of the expectation.
    let mean = 0;
    let variance = 0;
    for (let i = 0; i < ROWS; i++) {
      if (data.y[i] !== 0) continue;
      const pi = keepProbability(scores[i] as number, result.plan.solution);
      mean += pi;
      variance += pi * (1 - pi);
    }
    expect(Math.abs(result.plan.solution.expectedNegatives - mean)).toBeLessThan(0.01 * mean);
    expect(Math.abs(result.sample.negatives - mean)).toBeLessThan(4 * Math.sqrt(variance));

    // The fit on the cluster's sample against the in-process recipe (subsample estimates, no pilot
    // combination): every coefficient within 3 standard errors of the difference.
    const local = fitRareEvents({
      x: data.x,
      y: data.y,
      design: 'proportional',
      estimator: 'log-odds',
      pilotSize: 1000,
      seed: SEED,
      combine: false,
    });
    const fit = result.fit;
    if (fit === null) throw new Error('no fit');
    expect(fit.names).toEqual(local.names);
    for (let j = 0; j < fit.coefficients.length; j++) {
      const se = Math.hypot(fit.standardErrors[j] as number, local.standardErrors[j] as number);
      expect(Math.abs((fit.coefficients[j] as number) - (local.coefficients[j] as number))).toBeLessThan(
        3 * se,
      );
    }
    expect(result.bytesRead).toBeGreaterThan(0);

    // The keep condition ran on the shards: the second shard sent the initiator only its kept rows.
    const second = new ClickHouseHttpClient(cluster.servers[1]?.url ?? '');
    await second.command('SYSTEM FLUSH LOGS');
    const [shardRows] = await second.query('SELECT count() AS n FROM events_local');
    const [sent] = await second.query(
      "SELECT sum(result_rows) AS n, count() AS queries FROM system.query_log WHERE type = 2 AND query LIKE '%AS pi FROM default.events_local%WHERE multiIf%'",
    );
    expect(Number(sent?.queries)).toBeGreaterThanOrEqual(1);
    expect(Number(sent?.n)).toBeGreaterThan(0);
    expect(Number(sent?.n)).toBeLessThan(0.05 * Number(shardRows?.n));
  }, 90_000);

  it('refuses an output table that exists, touching nothing', async () => {
    const error = await sampleInClickHouse(engine, 'events', {
      label: 'y',
      design: 'uniform',
      rowKey: 'id',
      outputTable: 'events_local',
    }).catch((caught: unknown) => caught);
    expect(isRarefyError(error, 'RAREFY_INVALID_ARGUMENT')).toBe(true);
    expect(String((error as Error).message)).toMatch(/events_local already exists/);
  });

  it('never echoes the password of the URL', async () => {
    expect(redactUrl('http://me:s3cret@127.0.0.1:1/')).toBe('http://me:***@127.0.0.1:1/');
    const client = new ClickHouseHttpClient('http://me:s3cret@127.0.0.1:1/');
    const error = await client.query('SELECT 1').catch((caught: unknown) => caught);
    expect(isRarefyError(error, 'RAREFY_IO_ERROR')).toBe(true);
    expect(
      JSON.stringify({
        message: (error as Error).message,
        details: (error as { details?: unknown }).details,
      }),
    ).not.toContain('s3cret');
  });

  it('fails naming the shard when one stops during the run, and leaves no output table', async () => {
    const second = cluster.servers[1];
    if (second === undefined) throw new Error('no second server');
    const error = await sampleInClickHouse(engine, 'events', {
      label: 'y',
      features: FEATURES,
      design: 'proportional',
      rowKey: 'id',
      seed: SEED,
      outputTable: 'events_failed',
      onProgress: (progress) => {
        // The sampling statement is about to run: the second shard goes down.
        if (progress.stage === 'sample' && !progress.done) second.process?.kill('SIGKILL');
      },
    }).catch((caught: unknown) => caught);
    expect(isRarefyError(error, 'RAREFY_IO_ERROR')).toBe(true);
    expect((error as Error).message).toContain(`shard ${second.shard}`);
    const [exists] = await engine.query('EXISTS TABLE events_failed');
    expect(Number(exists?.result)).toBe(0);
    const leftovers = await engine.query("SELECT name FROM system.tables WHERE name LIKE '%rarefy_tmp%'");
    expect(leftovers).toEqual([]);
  }, 60_000);
});
