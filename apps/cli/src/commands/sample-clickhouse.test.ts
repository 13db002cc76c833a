/**
 * `rarefy sample --engine clickhouse` against a real two-shard ClickHouse cluster on 127.0.0.1.
 * Skipped (with a message) when clickhouse-server is not installed; CI installs it (.ci/run).
 */
import {
  ClickHouseHttpClient,
  clickHouseServerCommand,
  type LocalClickHouseCluster,
  startLocalClickHouseCluster,
} from '@rarefy/data-io/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryIo, run } from '../index.js';

const installed = clickHouseServerCommand() !== null;
if (!installed) {
  console.warn('rarefy sample --engine clickhouse tests skipped: clickhouse-server is not installed');
}

async function rarefy(args: string[], env: Record<string, string | undefined> = {}) {
  const io = createMemoryIo({ env });
  const code = await run(['node', 'rarefy', ...args], io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

describe('rarefy sample --engine clickhouse usage', () => {
  it('needs --url and --table, and refuses the file options', async () => {
    const noUrl = await rarefy(['sample', '--engine', 'clickhouse', '--table', 't', '--label', 'y']);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toMatch(/needs --url/);
    const withData = await rarefy([
      'sample',
      '--engine',
      'clickhouse',
      '--url',
      'http://127.0.0.1:1/',
      '--table',
      't',
      '--label',
      'y',
      '--data',
      'x.csv',
    ]);
    expect(withData.code).toBe(2);
    expect(withData.stderr).toMatch(/--data is for files/);
    const withPilot = await rarefy([
      'sample',
      '--engine',
      'clickhouse',
      '--url',
      'http://127.0.0.1:1/',
      '--table',
      't',
      '--label',
      'y',
      '--pilot',
      'model.onnx',
    ]);
    expect(withPilot.code).toBe(2);
    expect(withPilot.stderr).toMatch(/--pilot is not used with --engine clickhouse/);
    const noData = await rarefy(['sample', '--label', 'y', '--out', 'x.csv']);
    expect(noData.code).toBe(2);
    expect(noData.stderr).toMatch(/--data/);
  });

  it('never echoes the password of --url', async () => {
    const result = await rarefy([
      'sample',
      '--engine',
      'clickhouse',
      '--url',
      'http://me:hunter22@127.0.0.1:1/',
      '--table',
      't',
      '--label',
      'y',
      '--json',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('me:***@127.0.0.1:1');
    expect(result.stdout + result.stderr).not.toContain('hunter22');
  });
});

describe.skipIf(!installed)('rarefy sample --engine clickhouse on a two-shard cluster', () => {
  let cluster: LocalClickHouseCluster;
  let url: string;

  beforeAll(async () => {
    cluster = await startLocalClickHouseCluster({ count: 2 });
    const columns = 'id UInt64, y UInt8, x1 Float64, x2 Float64';
    for (const server of cluster.servers) {
      await new ClickHouseHttpClient(server.url).command(
        `CREATE TABLE clicks_local (${columns}) ENGINE = MergeTree ORDER BY id`,
      );
    }
    url = cluster.servers[0]?.url ?? '';
    const client = new ClickHouseHttpClient(`${url}?insert_distributed_sync=1`);
    await client.command(
      `CREATE TABLE clicks (${columns}) ENGINE = Distributed(rarefy, default, clicks_local, intHash64(id))`,
    );
    // 200,000 rows, about 2% positives, from ClickHouse's own generator (deterministic in id).
    await client.command(
      'INSERT INTO clicks SELECT number AS id, toUInt8(sipHash64(number, 1) % 1000 < 10 + 20 * (number % 2)) AS y, ' +
        'toFloat64(number % 2) AS x1, toFloat64(sipHash64(number, 2) % 1000) / 1000 AS x2 FROM numbers(200000)',
    );
  }, 120_000);

  afterAll(async () => {
    await cluster?.close();
  }, 60_000);

  it('samples the Distributed table into a new table and fits the sample (--json)', async () => {
    const result = await rarefy(
      [
        'sample',
        '--engine',
        'clickhouse',
        '--url',
        url,
        '--table',
        'clicks',
        '--label',
        'y',
        '--features',
        'x1,x2',
        '--design',
        'optL',
        '--row-key',
        'id',
        '--output-table',
        'clicks_sample',
        '--json',
      ],
      {},
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout) as {
      engine: string;
      outputTable: string;
      sample: { positives: number; negatives: number };
      population: { positives: number };
      fit: { names: string[]; coefficients: number[]; standardErrors: number[] };
    };
    expect(parsed.engine).toBe('clickhouse');
    expect(parsed.sample.positives).toBe(parsed.population.positives);
    expect(parsed.sample.negatives).toBeGreaterThan(0);
    expect(parsed.fit.names).toEqual(['(Intercept)', 'x1', 'x2']);
    // x1 = 1 triples the positive rate (30 vs 10 per 1000): its log-odds coefficient is ln((30/970)/(10/990)).
    expect(Math.abs((parsed.fit.coefficients[1] as number) - Math.log(30 / 970 / (10 / 990)))).toBeLessThan(
      4 * (parsed.fit.standardErrors[1] as number),
    );
    const [count] = await new ClickHouseHttpClient(url).query('SELECT count() AS n FROM clicks_sample');
    expect(Number(count?.n)).toBe(parsed.sample.positives + parsed.sample.negatives);
  }, 60_000);
});
