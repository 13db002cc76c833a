import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticCatalogue } from '@rarefy/two-tower';
import { readRetrievalExport } from '@rarefy/two-tower/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryIo, run } from '../index.js';

let directory: string;
let ratings: string;
let movies: string;
/** The same pairs as `ratings` with an event column: `clean` without one, `labelled` all engagements. */
let clean: string;
let labelled: string;
/** `labelled` with impression rows (event `impression`) interleaved. */
let withImpressions: string;
/** `labelled` with a 0/1 `clicked` column, some rows 0. */
let zeroOne: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'rarefy-retrieval-'));
  // A seeded catalogue with clustered tastes and power-law popularity, written as MovieLens files.
  const { data, itemFeatures } = syntheticCatalogue({
    users: 200,
    items: 150,
    interactionsPerUser: 20,
    seed: 5,
  });
  const lines = ['userId,movieId,rating,timestamp'];
  for (let k = 0; k < data.users.length; k++) {
    const rating = 1 + (k % 5);
    lines.push(
      `${data.userIds[data.users[k] as number]},${data.itemIds[data.items[k] as number]},${rating},${1000 + k}`,
    );
  }
  ratings = join(directory, 'ratings.csv');
  await writeFile(ratings, `${lines.join('\n')}\n`);
  const genreColumn = Object.values(itemFeatures.columns)[0] ?? [];
  const catalogue = ['movieId,title,genres'];
  itemFeatures.ids.forEach((id, row) => {
    catalogue.push(`${id},"Item ${id}",${String(genreColumn[row] ?? 'Drama') || 'Drama'}`);
  });
  // One item nobody rated: it is in the catalogue (cold start) and must be exported.
  catalogue.push('cold-1,"A new film",Comedy|Drama');
  movies = join(directory, 'movies.csv');
  await writeFile(movies, `${catalogue.join('\n')}\n`);

  const pairs: Array<[string, string, number]> = [];
  for (let k = 0; k < data.users.length; k++) {
    pairs.push([
      data.userIds[data.users[k] as number] ?? '',
      data.itemIds[data.items[k] as number] ?? '',
      1000 + k,
    ]);
  }
  const write = async (name: string, header: string, rows: string[]) => {
    const path = join(directory, name);
    await writeFile(path, `${[header, ...rows].join('\n')}\n`);
    return path;
  };
  clean = await write(
    'clean.csv',
    'userId,movieId,timestamp',
    pairs.map(([user, item, time]) => `${user},${item},${time}`),
  );
  const event = (k: number) => (k % 7 === 0 ? 'Purchase' : 'click');
  labelled = await write(
    'labelled.csv',
    'userId,event,movieId,timestamp',
    pairs.map(([user, item, time], k) => `${user},${event(k)},${item},${time}`),
  );
  withImpressions = await write(
    'impressions.csv',
    'userId,event,movieId,timestamp',
    pairs.flatMap(([user, item, time], k) => {
      const row = `${user},${event(k)},${item},${time}`;
      // An impression of another item before every third engagement.
      const shown = pairs[(k * 31 + 7) % pairs.length]?.[1] ?? item;
      return k % 3 === 0 ? [`${user},impression,${shown},${time}`, row] : [row];
    }),
  );
  zeroOne = await write(
    'clicked.csv',
    'userId,movieId,clicked,timestamp',
    pairs.map(([user, item, time], k) => `${user},${item},${k % 5 === 2 ? 0 : 1},${time}`),
  );
});
afterAll(() => rm(directory, { recursive: true, force: true }));

async function rarefy(args: string[]) {
  const io = createMemoryIo();
  const code = await run(['node', 'rarefy', ...args], io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

interface TrainJson {
  metrics: Record<string, number>;
  baselines: { popularity: { metrics: Record<string, number> } & Record<string, unknown> };
  examplesPerSecond: number;
  seconds: number;
  out: string;
  training: { epochs: number; logQ: string; history: Array<{ epoch: number; loss: number }> };
  data: { items: number; train: number; test: number };
}

describe('rarefy train-retrieval, eval-retrieval, index', () => {
  const common = ['--interactions', '', '--protocol', 'per-user', '--seed', '3'];
  const withData = () => common.map((value, k) => (k === 1 ? ratings : value));

  it('trains, evaluates against the baselines, exports, and eval-retrieval reproduces the metrics', async () => {
    const out = join(directory, 'model');
    const train = await rarefy([
      'train-retrieval',
      ...withData(),
      '--items',
      movies,
      '--epochs',
      '3',
      '--batch-size',
      '256',
      '--dimension',
      '16',
      '--hidden',
      '32',
      '--out',
      out,
      '--json',
    ]);
    expect(train.stderr).toBe('');
    expect(train.code).toBe(0);
    const result = JSON.parse(train.stdout) as TrainJson;
    for (const key of ['recall@10', 'recall@100', 'ndcg@10']) {
      expect(result.metrics[key]).toBeGreaterThanOrEqual(0);
      expect(result.metrics[key]).toBeLessThanOrEqual(1);
      expect(result.baselines.popularity.metrics[key]).toBeGreaterThanOrEqual(0);
      // The contract's reading: the same keys directly on the baseline.
      expect(result.baselines.popularity[key]).toBe(result.baselines.popularity.metrics[key]);
    }
    // The clustered structure is learnable: the model beats chance by far.
    expect(result.metrics['recall@10']).toBeGreaterThan(10 / result.data.items);
    expect(result.examplesPerSecond).toBeGreaterThan(0);
    expect(result.training.logQ).toBe('exact');
    expect(result.training.history.length).toBe(result.training.epochs);

    const exported = await readRetrievalExport(out);
    expect(exported.dimension).toBe(16);
    expect(exported.items.ids).toContain('cold-1');
    expect(exported.userTower?.byteLength ?? 0).toBeGreaterThan(0);
    expect(exported.towerInputs).toBeDefined();
    // The embeddings also as Parquet, listed in the manifest: id + e0..e15, one row per item.
    const { DuckDbEngine } = await import('@rarefy/data-io/node');
    const engine = await DuckDbEngine.open();
    try {
      const rows = await engine.query(
        `SELECT count(*)::INTEGER AS n, max(id = 'cold-1')::INTEGER AS cold FROM '${join(out, 'item-embeddings.parquet')}'`,
      );
      expect(rows[0]).toEqual({ n: exported.items.ids.length, cold: 1 });
    } finally {
      await engine.close();
    }
    expect((await readdir(directory)).filter((name) => name.includes('.tmp-'))).toEqual([]);

    const evaluated = await rarefy([
      'eval-retrieval',
      ...withData(),
      '--items',
      movies,
      '--model',
      out,
      '--json',
    ]);
    expect(evaluated.code).toBe(0);
    const again = JSON.parse(evaluated.stdout) as { metrics: Record<string, number> };
    expect(again.metrics['recall@10']).toBeCloseTo(result.metrics['recall@10'] as number, 6);
    expect(again.metrics['ndcg@10']).toBeCloseTo(result.metrics['ndcg@10'] as number, 6);

    const index = await rarefy([
      'index',
      '--model',
      out,
      '--out',
      join(directory, 'items.usearch'),
      '--json',
    ]);
    expect(index.code).toBe(0);
    const built = JSON.parse(index.stdout) as { items: number; recallAt10: number };
    expect(built.items).toBe(exported.items.ids.length);
    expect(built.recallAt10).toBeGreaterThanOrEqual(0.95);
  }, 120_000);

  it('refuses an unknown protocol and a missing column, naming them', async () => {
    const protocol = await rarefy([
      'train-retrieval',
      '--interactions',
      ratings,
      '--protocol',
      'random',
      '--out',
      join(directory, 'x'),
      '--json',
    ]);
    expect(protocol.code).not.toBe(0);
    expect(protocol.stderr).toMatch(/--protocol: 'random' is not a protocol/);
    const column = await rarefy([
      'train-retrieval',
      '--interactions',
      ratings,
      '--user-column',
      'customer',
      '--out',
      join(directory, 'y'),
    ]);
    expect(column.code).not.toBe(0);
    expect(column.stderr).toMatch(/customer/);
  });
});

describe('train-retrieval --label-column (ALGORITHMS.md B.8)', () => {
  const split = ['--protocol', 'per-user', '--seed', '3'];
  const small = [
    ...split,
    '--epochs',
    '2',
    '--batch-size',
    '256',
    '--dimension',
    '8',
    '--hidden',
    '0',
    '--uniform-negatives',
    '64',
  ];
  const train = (data: string, name: string, extra: string[] = []) =>
    rarefy([
      'train-retrieval',
      '--interactions',
      data,
      ...small,
      ...extra,
      '--out',
      join(directory, name),
      '--json',
    ]);

  it('refuses impressions without a click as retrieval data, naming the column and the fix', async () => {
    const refused = await train(withImpressions, 'refused', ['--label-column', 'event']);
    expect(refused.code).toBe(1);
    const { error } = JSON.parse(refused.stdout) as {
      error: { code: string; message: string; input: string };
    };
    expect(error.code).toBe('RAREFY_INVALID_LABEL');
    expect(error.input).toBe('--label-column');
    expect(error.message).toContain(`${withImpressions}: column "event" (--label-column)`);
    expect(error.message).toMatch(
      /rows are impressions without a click \(first: row 0, value "impression"\)/,
    );
    expect(error.message).toMatch(/wreck recall/);
    // The fix in the command line's words: drop the rows, --for-ranking, or --positive-labels.
    expect(error.message).toMatch(/Fix: drop those rows/);
    expect(error.message).toContain('--for-ranking');
    expect(error.message).toContain('--positive-labels');
    expect(error.message).not.toMatch(/purpose|positiveLabels/);
    expect(refused.stderr).toMatch(/^rarefy: RAREFY_INVALID_LABEL: .*column "event"/);
    expect(await readdir(directory)).not.toContain('refused');

    // A 0/1 column: 0 is "shown, not clicked" by default.
    const zeros = await train(zeroOne, 'zeros', ['--label-column', 'clicked']);
    expect(zeros.code).toBe(1);
    expect(zeros.stderr).toMatch(/column "clicked" \(--label-column\): \d+ of 4000 rows are impressions/);
    // With --positive-labels, a value on neither list is refused as unknown.
    const unknown = await train(labelled, 'unknown', [
      '--label-column',
      'event',
      '--positive-labels',
      'click',
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /column "event" \(--label-column\): row 0 is "Purchase", neither a positive label/,
    );
    expect(unknown.stderr).toContain('add the value to --positive-labels');
  });

  it('positive labels give the metrics of the same pairs without the column; --for-ranking leaves impressions out', async () => {
    const plain = await train(clean, 'plain');
    expect(plain.code).toBe(0);
    const expected = JSON.parse(plain.stdout) as TrainJson;
    const withLabels = await train(labelled, 'labelled', [
      '--label-column',
      'event',
      '--positive-labels',
      'click,purchase',
    ]);
    expect(withLabels.stderr).toBe('');
    expect(withLabels.code).toBe(0);
    const labelledJson = JSON.parse(withLabels.stdout) as TrainJson;
    expect(labelledJson.metrics).toEqual(expected.metrics);
    expect(labelledJson.data).toEqual(expected.data);
    // The same JSON keys as without a label column.
    expect(Object.keys(labelledJson).sort()).toEqual(Object.keys(expected).sort());
    // Default vocabulary: 'click' and 'Purchase' are engagements.
    const defaults = await train(labelled, 'defaults', ['--label-column', 'event']);
    expect((JSON.parse(defaults.stdout) as TrainJson).metrics).toEqual(expected.metrics);

    const ranking = await train(withImpressions, 'ranking', ['--label-column', 'event', '--for-ranking']);
    expect(ranking.code).toBe(0);
    const rankingJson = JSON.parse(ranking.stdout) as TrainJson & { data: { interactions: number } };
    expect(rankingJson.metrics).toEqual(expected.metrics);
    expect(rankingJson.data.train + rankingJson.data.test).toBe(expected.data.train + expected.data.test);
    // Without --json the left-out rows are reported on stderr.
    const text = await rarefy([
      'train-retrieval',
      '--interactions',
      withImpressions,
      ...small,
      '--label-column',
      'event',
      '--for-ranking',
      '--out',
      join(directory, 'ranking-text'),
    ]);
    expect(text.code).toBe(0);
    expect(text.stderr).toMatch(/--for-ranking: left out 1,334 impression rows of --label-column event/);

    // eval-retrieval reads the data the same way: refused without --for-ranking, the same split with it.
    const evaluate = (data: string, extra: string[]) =>
      rarefy([
        'eval-retrieval',
        '--interactions',
        data,
        ...split,
        ...extra,
        '--model',
        join(directory, 'plain'),
        '--json',
      ]);
    const refused = await evaluate(withImpressions, ['--label-column', 'event']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({
      error: { code: 'RAREFY_INVALID_LABEL', input: '--label-column' },
    });
    const evaluated = await evaluate(withImpressions, ['--label-column', 'event', '--for-ranking']);
    expect(evaluated.code).toBe(0);
    const reference = await evaluate(clean, []);
    expect(JSON.parse(evaluated.stdout).metrics).toEqual(JSON.parse(reference.stdout).metrics);
  }, 120_000);

  it('lists the label options in --help; label flags without --label-column are a usage error', async () => {
    const help = await rarefy(['train-retrieval', '--help']);
    expect(help.code).toBe(0);
    for (const flag of [
      '--label-column <column>',
      '--positive-labels <values>',
      '--impression-labels <values>',
      '--for-ranking',
    ]) {
      expect(help.stdout).toContain(flag);
    }
    expect(help.stdout).toMatch(/B\.8/);
    const evalHelp = await rarefy(['eval-retrieval', '--help']);
    expect(evalHelp.stdout).toContain('--label-column <column>');
    const misuse = await rarefy([
      'train-retrieval',
      '--interactions',
      labelled,
      '--for-ranking',
      '--out',
      join(directory, 'misuse'),
    ]);
    expect(misuse.code).toBe(2);
    expect(misuse.stderr).toContain('--for-ranking goes with --label-column');
    const empty = await rarefy([
      'train-retrieval',
      '--interactions',
      labelled,
      '--label-column',
      'event',
      '--positive-labels',
      ' , ',
      '--out',
      join(directory, 'empty'),
    ]);
    expect(empty.code).toBe(2);
    const missing = await train(labelled, 'missing', ['--label-column', 'kind']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no column "kind"/);
  });
});
