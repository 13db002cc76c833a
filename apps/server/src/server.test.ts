import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURE_HASH_FUNCTION, hashFeature, mlpToOnnx } from '@rarefy/pilot-model';
import { saveModel } from '@rarefy/pilot-model/node';
import { sigmoid } from '@rarefy/sampling-core';
import type { FeatureTable, FeatureValue } from '@rarefy/two-tower';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bruteForceTopK,
  LOGISTIC_COEFFICIENTS,
  type RetrievalFixture,
  writeLogisticModel,
  writeRetrievalModel,
} from './__fixtures__/models.js';
import { createServer, type ErrorResponseBody, listen, type RarefyServer } from './index.js';

let root: string;
let fixture: RetrievalFixture;
const servers: RarefyServer[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rarefy-server-'));
  await writeLogisticModel(join(root, 'logistic'));
  await writeLogisticModel(join(root, 'logistic-v2'), [-1, 0.5, 0.5, 0.5]);
  fixture = await writeRetrievalModel(join(root, 'retrieval'), { seed: 4 });
  const others = [
    await writeRetrievalModel(join(root, 'retrieval-v2'), { seed: 5, idPrefix: 'v2-' }),
    await writeRetrievalModel(join(root, 'no-tower'), { seed: 6, towers: false, userEmbeddings: false }),
  ];
  for (const other of others) other.model.dispose();
  const site = new Float32Array([0.9, -0.4, 0.1, 0.7, -1.2, 0.3, 0.05, -0.6]);
  await saveModel(join(root, 'neural'), {
    kind: 'neural',
    schema: {
      features: [
        { name: 'x1', type: 'number' },
        { name: 'site', type: 'string' },
      ],
      label: 'y',
    },
    training: { design: 'optA', estimator: 'log-odds', sizes: {}, seed: 1 },
    model: { layers: [2, 1] },
    files: [
      {
        path: 'model.onnx',
        role: 'onnx',
        format: 'onnx',
        data: mlpToOnnx({
          numericFeatures: ['x1'],
          embeddings: [{ inputName: 'site', table: site, buckets: 8, dimension: 1 }],
          layers: [
            { weights: new Float32Array([0.5, 1]), bias: new Float32Array([-1]), activation: 'linear' },
          ],
          hashing: { function: FEATURE_HASH_FUNCTION, seed: 3, buckets: 8, columns: ['site'], missing: '' },
        }),
      },
    ],
  });
});

afterAll(async () => {
  fixture.model.dispose();
  await Promise.all(servers.map((server) => server.close()));
  await rm(root, { recursive: true, force: true });
});

async function serve(
  model: string,
  options: Partial<Parameters<typeof createServer>[0]> = {},
): Promise<RarefyServer> {
  const server = await createServer({ model: join(root, model), defaultMetrics: false, ...options });
  servers.push(server);
  return server;
}

function post(server: RarefyServer, url: string, payload: unknown, headers: Record<string, string> = {}) {
  return server.inject({
    method: 'POST',
    url,
    headers,
    ...(typeof payload === 'string' ? { payload } : { payload: payload as object }),
  });
}

function errorOf(response: LightMyRequestResponse): ErrorResponseBody['error'] {
  return (response.json() as ErrorResponseBody).error;
}

function expectError(
  response: LightMyRequestResponse,
  status: number,
  code: string,
  input: string | null,
): void {
  expect(response.statusCode, response.body).toBe(status);
  const error = errorOf(response);
  expect(error.code).toBe(code);
  expect(error.input).toBe(input);
  expect(error.message).toMatch(/Fix: /);
}

describe('POST /v1/score (logistic)', () => {
  let app: RarefyServer;
  beforeAll(async () => {
    app = await serve('logistic', { maxRows: 50, bodyLimit: 4096 });
  });

  it('answers population probabilities for array and object rows, and the sample scale for pi', async () => {
    const rows = [
      [1, 2, 3],
      [0, -1, 0.5],
    ];
    const response = await post(app, '/v1/score', {
      rows: [rows[0], { x3: 0.5, x1: 0, x2: -1, extra: 'ignored' }],
      pi: 0.1,
    });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as {
      probabilities: number[];
      sampleProbabilities: number[];
      model: unknown;
    };
    const [b0, b1, b2, b3] = LOGISTIC_COEFFICIENTS;
    const expected = rows.map(([x1, x2, x3]) => sigmoid(b0 + b1 * x1! + b2 * x2! + b3 * x3!));
    // Both are float64 sigma of the same sum: equal up to rounding in the sum's order.
    body.probabilities.forEach((p, i) => {
      expect(p).toBeCloseTo(expected[i] as number, 14);
    });
    body.sampleProbabilities.forEach((q, i) => {
      const p = expected[i] as number;
      expect(q).toBeCloseTo(p / (p + (1 - p) * 0.1), 14);
      expect(q).toBeGreaterThan(p);
    });
    expect(body.model).toEqual({ version: app.rarefy.state.model.version, kind: 'logistic' });
    const perRow = await post(app, '/v1/score', { rows, pi: [1, 0.5] });
    const scaled = perRow.json() as { probabilities: number[]; sampleProbabilities: number[] };
    expect(scaled.sampleProbabilities[0]).toBeCloseTo(scaled.probabilities[0] as number, 14);
    expect(scaled.sampleProbabilities[1]).toBeGreaterThan(scaled.probabilities[1] as number);
  });

  it.each([
    [
      {
        rows: [
          [1, 2, 3],
          [1, 2],
        ],
      },
      'RAREFY_DIMENSION_MISMATCH',
      'body.rows[1]',
    ],
    [{ rows: [[1, 'two', 3]] }, 'RAREFY_BAD_REQUEST', 'body.rows[0][1]'],
    [{ rows: [[1, null, 3]] }, 'RAREFY_BAD_REQUEST', 'body.rows[0][1]'],
    [{ rows: [{ x1: 1, x3: 2 }] }, 'RAREFY_BAD_REQUEST', 'body.rows[0].x2'],
    [{ rows: [[1, 2, 3]], pi: 0 }, 'RAREFY_BAD_REQUEST', 'body.pi'],
    [{ rows: [[1, 2, 3]], pi: [0.5, 0.5] }, 'RAREFY_DIMENSION_MISMATCH', 'body.pi'],
    [{ rows: [[1, 2, 3]], pi: [1.5] }, 'RAREFY_BAD_REQUEST', 'body.pi[0]'],
    [{ rows: [] }, 'RAREFY_BAD_REQUEST', 'body.rows'],
    [{ rows: 'all of them' }, 'RAREFY_BAD_REQUEST', 'body.rows'],
    [{ rows: [true] }, 'RAREFY_BAD_REQUEST', 'body.rows[0]'],
    [{}, 'RAREFY_BAD_REQUEST', 'body.rows'],
    [{ rows: [[1, 2, 3]], threshold: 0.5 }, 'RAREFY_BAD_REQUEST', 'body.threshold'],
    [{ rows: Array.from({ length: 51 }, () => [0, 0, 0]) }, 'RAREFY_BAD_REQUEST', 'body.rows'],
  ])('refuses %j with 400 naming the field', async (payload, code, input) => {
    expectError(await post(app, '/v1/score', payload), 400, code, input);
  });

  it('answers malformed JSON, an empty JSON body, a wrong content type and an oversized body with 4xx', async () => {
    const json = { 'content-type': 'application/json' };
    expectError(await post(app, '/v1/score', '{"rows": [[1, 2', json), 400, 'RAREFY_BAD_REQUEST', 'body');
    expectError(await post(app, '/v1/score', '', json), 400, 'RAREFY_BAD_REQUEST', 'body');
    expectError(
      await post(app, '/v1/score', 'rows=1', { 'content-type': 'text/plain' }),
      415,
      'RAREFY_UNSUPPORTED_MEDIA_TYPE',
      'Content-Type',
    );
    const big = JSON.stringify({
      rows: Array.from({ length: 200 }, () => [123456.789, 123456.789, 123456.789]),
    });
    expect(big.length).toBeGreaterThan(4096);
    expectError(await post(app, '/v1/score', big, json), 413, 'RAREFY_BODY_TOO_LARGE', 'body');
  });

  it('answers 409 on the retrieval endpoints of a classifier, and 404 for unknown routes', async () => {
    expectError(await post(app, '/v1/recommend', { userId: 'u' }), 409, 'RAREFY_WRONG_MODEL_KIND', null);
    expectError(await post(app, '/v1/similar-items', { itemId: 'i' }), 409, 'RAREFY_WRONG_MODEL_KIND', null);
    expectError(await post(app, '/v1/embed', { itemIds: ['i'] }), 409, 'RAREFY_WRONG_MODEL_KIND', null);
    expectError(await app.inject({ method: 'GET', url: '/v1/scores' }), 404, 'RAREFY_NOT_FOUND', null);
    expectError(await app.inject({ method: 'GET', url: '/v1/score' }), 404, 'RAREFY_NOT_FOUND', null);
  });

  it('has no admin endpoint without a token', async () => {
    expectError(await post(app, '/v1/admin/reload', {}), 404, 'RAREFY_NOT_FOUND', null);
  });
});

describe('POST /v1/score (neural, through onnxruntime)', () => {
  it('hashes string features as the model’s metadata says and scores them', async () => {
    const app = await serve('neural');
    const table = [0.9, -0.4, 0.1, 0.7, -1.2, 0.3, 0.05, -0.6];
    const response = await post(app, '/v1/score', {
      rows: [[2, 'news'], { x1: -1, site: 'sports' }, [0, null]],
    });
    expect(response.statusCode, response.body).toBe(200);
    const { probabilities } = response.json() as { probabilities: number[] };
    const expected = [
      [2, 'news'],
      [-1, 'sports'],
      [0, ''],
    ].map(([x1, site]) =>
      sigmoid(0.5 * (x1 as number) + (table[hashFeature(site as string, 3, 8)] as number) - 1),
    );
    // onnxruntime computes in float32: 1e-6 is a few float32 ulps of these probabilities.
    probabilities.forEach((p, i) => {
      expect(p).toBeCloseTo(expected[i] as number, 6);
    });
    const ready = (await app.inject({ method: 'GET', url: '/readyz' })).json() as {
      model: Record<string, unknown>;
    };
    expect(ready.model).toMatchObject({
      kind: 'neural',
      runtime: 'onnxruntime',
      features: [
        { name: 'x1', type: 'number' },
        { name: 'site', type: 'string' },
      ],
    });
    expectError(
      await post(app, '/v1/score', { rows: [['two', 'news']] }),
      400,
      'RAREFY_BAD_REQUEST',
      'body.rows[0][0]',
    );
  });
});

describe('POST /v1/recommend, /v1/similar-items, /v1/embed (retrieval)', () => {
  let app: RarefyServer;
  const dimension = 16;
  beforeAll(async () => {
    app = await serve('retrieval', { index: { kind: 'exact', searchThreads: 1 }, maxK: 50, maxBatch: 5 });
  });

  const retrieval = () => fixture.exported;
  const userRow = (row: number): Float32Array =>
    retrieval().users!.embeddings.subarray(row * dimension, (row + 1) * dimension);
  const itemIds = (rows: number[]): string[] => rows.map((row) => retrieval().items.ids[row] as string);

  it('recommends the exact top K for a known user, best first, with inner-product scores', async () => {
    const response = await post(app, '/v1/recommend', { userId: 'user-3', k: 12 });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as {
      items: Array<{ itemId: string; score: number }>;
      model: { kind: string };
    };
    expect(body.items.map((item) => item.itemId)).toEqual(
      itemIds(bruteForceTopK(retrieval().items.embeddings, dimension, userRow(3), 12)),
    );
    for (let i = 1; i < body.items.length; i++)
      expect(body.items[i]!.score).toBeLessThanOrEqual(body.items[i - 1]!.score);
    expect(body.model.kind).toBe('two-tower');
    const defaults = (await post(app, '/v1/recommend', { userId: 'user-3' })).json() as { items: unknown[] };
    expect(defaults.items).toHaveLength(10);
  });

  it('leaves out the excluded items (unknown ids ignored) and still returns k', async () => {
    const best = itemIds(bruteForceTopK(retrieval().items.embeddings, dimension, userRow(5), 4));
    const response = await post(app, '/v1/recommend', {
      userId: 'user-5',
      k: 4,
      exclude: [best[0], best[2], 'retired-item', best[0]],
    });
    const items = (response.json() as { items: Array<{ itemId: string }> }).items.map((item) => item.itemId);
    const excluded = new Set([
      retrieval().items.ids.indexOf(best[0]!),
      retrieval().items.ids.indexOf(best[2]!),
    ]);
    expect(items).toEqual(
      itemIds(bruteForceTopK(retrieval().items.embeddings, dimension, userRow(5), 4, excluded)),
    );
    expect(items).not.toContain(best[0]);
    expect(items).not.toContain(best[2]);
  });

  /** A feature table of rows by column (what embedNewUsers / embedNewItems take). */
  function table(ids: string[], rows: Array<Record<string, FeatureValue>>, columns: string[]): FeatureTable {
    return {
      ids,
      columns: Object.fromEntries(columns.map((column) => [column, rows.map((row) => row[column] ?? null)])),
    };
  }

  function embeddingsOf(response: LightMyRequestResponse): Float32Array {
    expect(response.statusCode, response.body).toBe(200);
    const { embeddings } = response.json() as { embeddings: Array<{ embedding: number[] }> };
    return Float32Array.from(embeddings.flatMap((entry) => entry.embedding));
  }

  function expectClose(actual: Float32Array, expected: Float32Array): void {
    expect(actual).toHaveLength(expected.length);
    // onnxruntime and tfjs sum in float32 in different orders: 1e-5 on unit vectors.
    actual.forEach((value, at) => {
      expect(Math.abs(value - (expected[at] as number))).toBeLessThan(1e-5);
    });
  }

  it('embeds new users from features as the model does (cold start), and recommends for them', async () => {
    const users: Array<Record<string, FeatureValue>> = [
      { cluster: 'c2', genres: 'g2|g3', age: 31 },
      { cluster: 'c5', genres: 'g0', age: null }, // a missing numeric value: the training mean
      { genres: '||g4|' }, // missing columns and empty multi-hot tokens
      { cluster: 3, genres: 'g1|g1', age: 64, unused: 'ignored' }, // a number is hashed as its string
      {},
    ];
    const served = embeddingsOf(await post(app, '/v1/embed', { userFeatures: users }));
    // New ids: the tower's unknown id row, trained by id dropout.
    const ids = users.map((_, r) => `new-user-${r}`);
    const expected = fixture.model.embedNewUsers(ids, table(ids, users, ['cluster', 'genres', 'age']));
    expectClose(served, expected);
    // The same user sent alone to /v1/recommend gets the same embedding, and the exact top K of it.
    const recommended = await post(app, '/v1/recommend', { userFeatures: users[0], k: 5 });
    expect(recommended.statusCode, recommended.body).toBe(200);
    const items = (recommended.json() as { items: Array<{ itemId: string; score: number }> }).items;
    expect(items.map((item) => item.itemId)).toEqual(
      itemIds(bruteForceTopK(retrieval().items.embeddings, dimension, served.subarray(0, dimension), 5)),
    );
  });

  it('embeds new items from features with the item tower', async () => {
    const items: Array<Record<string, FeatureValue>> = [
      { genre: 'g1', tags: 'g1|g4', quality: 0.7 },
      { genre: 'g9', tags: null, quality: -2 },
    ];
    const served = embeddingsOf(await post(app, '/v1/embed', { itemFeatures: items }));
    const ids = ['new-item-0', 'new-item-1'];
    expectClose(served, fixture.model.embedNewItems(ids, table(ids, items, ['genre', 'tags', 'quality'])));
  });

  it('finds items similar to an item, never the item itself', async () => {
    const row = 42;
    const query = retrieval().items.embeddings.subarray(row * dimension, (row + 1) * dimension);
    const response = await post(app, '/v1/similar-items', { itemId: 'item-42', k: 6, exclude: ['item-0'] });
    const items = (response.json() as { items: Array<{ itemId: string }> }).items.map((item) => item.itemId);
    expect(items).toEqual(
      itemIds(bruteForceTopK(retrieval().items.embeddings, dimension, query, 6, new Set([row, 0]))),
    );
    expect(items).not.toContain('item-42');
  });

  it('returns stored embeddings by id', async () => {
    const response = await post(app, '/v1/embed', { itemIds: ['item-2', 'item-9'] });
    const body = response.json() as {
      dimension: number;
      embeddings: Array<{ id: string; embedding: number[] }>;
    };
    expect(body.dimension).toBe(dimension);
    expect(body.embeddings.map((entry) => entry.id)).toEqual(['item-2', 'item-9']);
    expect(body.embeddings[1]!.embedding).toEqual(
      Array.from(retrieval().items.embeddings.subarray(9 * dimension, 10 * dimension)),
    );
    const users = (await post(app, '/v1/embed', { userIds: ['user-1'] })).json() as {
      embeddings: Array<{ embedding: number[] }>;
    };
    expect(users.embeddings[0]!.embedding).toEqual(Array.from(userRow(1)));
  });

  it.each([
    ['/v1/recommend', { userId: 'user-404' }, 404, 'RAREFY_UNKNOWN_ID', 'body.userId'],
    ['/v1/recommend', { userId: 'user-1', userFeatures: { age: 1 } }, 400, 'RAREFY_BAD_REQUEST', 'body'],
    ['/v1/recommend', { k: 3 }, 400, 'RAREFY_BAD_REQUEST', 'body'],
    ['/v1/recommend', { userId: 'user-1', k: 51 }, 400, 'RAREFY_BAD_REQUEST', 'body.k'],
    ['/v1/recommend', { userId: 'user-1', k: 0 }, 400, 'RAREFY_BAD_REQUEST', 'body.k'],
    ['/v1/recommend', { userId: 'user-1', k: '5' }, 400, 'RAREFY_BAD_REQUEST', 'body.k'],
    ['/v1/recommend', { userId: 'user-1', k: 2.5 }, 400, 'RAREFY_BAD_REQUEST', 'body.k'],
    ['/v1/recommend', { userId: 7 }, 400, 'RAREFY_BAD_REQUEST', 'body.userId'],
    ['/v1/recommend', { userId: 'user-1', exclude: 'item-1' }, 400, 'RAREFY_BAD_REQUEST', 'body.exclude'],
    [
      '/v1/recommend',
      { userId: 'user-1', exclude: ['item-1', 2] },
      400,
      'RAREFY_BAD_REQUEST',
      'body.exclude[1]',
    ],
    ['/v1/recommend', { user: 'user-1' }, 400, 'RAREFY_BAD_REQUEST', 'body.user'],
    [
      '/v1/recommend',
      { userFeatures: { age: 'old', cluster: 'c1' } },
      400,
      'RAREFY_INVALID_ARGUMENT',
      'body.userFeatures.age',
    ],
    ['/v1/recommend', { userFeatures: { age: [1] } }, 400, 'RAREFY_BAD_REQUEST', 'body.userFeatures.age'],
    [
      '/v1/embed',
      { userFeatures: [{ age: 30 }, { age: 'old' }] },
      400,
      'RAREFY_INVALID_ARGUMENT',
      'body.userFeatures[1].age',
    ],
    [
      '/v1/embed',
      { itemFeatures: [{ quality: '0.5' }] },
      400,
      'RAREFY_INVALID_ARGUMENT',
      'body.itemFeatures[0].quality',
    ],
    ['/v1/similar-items', { itemId: 'item-999' }, 404, 'RAREFY_UNKNOWN_ID', 'body.itemId'],
    ['/v1/similar-items', {}, 400, 'RAREFY_BAD_REQUEST', 'body.itemId'],
    ['/v1/embed', { itemIds: ['item-1', 'nope'] }, 404, 'RAREFY_UNKNOWN_ID', 'body.itemIds[1]'],
    ['/v1/embed', { itemIds: ['item-1'], userIds: ['user-1'] }, 400, 'RAREFY_BAD_REQUEST', 'body'],
    ['/v1/embed', {}, 400, 'RAREFY_BAD_REQUEST', 'body'],
    ['/v1/embed', { itemIds: [] }, 400, 'RAREFY_BAD_REQUEST', 'body.itemIds'],
    ['/v1/embed', { itemIds: ['a', 'b', 'c', 'd', 'e', 'f'] }, 400, 'RAREFY_BAD_REQUEST', 'body.itemIds'],
    ['/v1/score', { rows: [[1]] }, 409, 'RAREFY_WRONG_MODEL_KIND', null],
  ])('POST %s %j answers %i %s naming %s', async (url, payload, status, code, input) => {
    expectError(await post(app, url, payload), status, code, input);
  });

  it('answers 409 for features without towers and for ids without user embeddings', async () => {
    const bare = await serve('no-tower');
    expectError(
      await post(bare, '/v1/recommend', { userFeatures: { age: 1 } }),
      409,
      'RAREFY_NOT_SUPPORTED',
      'body.userFeatures',
    );
    expectError(
      await post(bare, '/v1/recommend', { userId: 'user-1' }),
      409,
      'RAREFY_NOT_SUPPORTED',
      'body.userId',
    );
    expectError(
      await post(bare, '/v1/embed', { userIds: ['user-1'] }),
      409,
      'RAREFY_NOT_SUPPORTED',
      'body.userIds',
    );
    expectError(
      await post(bare, '/v1/embed', { itemFeatures: [{ genre: 'g1' }] }),
      409,
      'RAREFY_NOT_SUPPORTED',
      'body.itemFeatures',
    );
    expect((await post(bare, '/v1/similar-items', { itemId: 'item-1', k: 3 })).statusCode).toBe(200);
  });

  it('serves the same answers from an HNSW index on this small catalogue', async () => {
    const hnsw = await serve('retrieval', {
      index: { kind: 'hnsw', hnsw: { buildThreads: 1, expansionSearch: 300 } },
    });
    const response = await post(hnsw, '/v1/recommend', { userId: 'user-3', k: 5 });
    const items = (response.json() as { items: Array<{ itemId: string }> }).items.map((item) => item.itemId);
    // 300 items with a search list of 300: the graph search visits every item, so it is exact.
    expect(items).toEqual(itemIds(bruteForceTopK(retrieval().items.embeddings, dimension, userRow(3), 5)));
    const ready = (await hnsw.inject({ method: 'GET', url: '/readyz' })).json() as {
      model: { index: string };
    };
    expect(ready.model.index).toBe('hnsw');
  });
});

describe('health, readiness, metrics and docs', () => {
  it('reports liveness, the model on /readyz, Prometheus metrics and the OpenAPI description', async () => {
    const app = await createServer({
      model: join(root, 'retrieval'),
      index: { kind: 'exact', searchThreads: 1 },
    });
    servers.push(app);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({
      ready: true,
      reloading: false,
      model: {
        kind: 'two-tower',
        generation: 1,
        dimension: 16,
        items: 300,
        users: 40,
        index: 'exact',
        userTower: true,
      },
    });
    await post(app, '/v1/recommend', { userId: 'user-1' });
    await post(app, '/v1/recommend', { userId: 'nobody' });
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    const text = metrics.body;
    expect(text).toContain('rarefy_http_requests_total{method="POST",route="/v1/recommend",status="200"} 1');
    expect(text).toContain('rarefy_http_requests_total{method="POST",route="/v1/recommend",status="404"} 1');
    expect(text).toMatch(
      /rarefy_http_request_duration_seconds_bucket\{le="0.015",method="POST",route="\/v1\/recommend",status="200"\}/,
    );
    expect(text).toContain(
      `rarefy_model_info{version="${app.rarefy.state.model.version}",kind="two-tower"} 1`,
    );
    expect(text).toContain('rarefy_model_generation 1');
    expect(text).toContain('rarefy_index_items{index="exact"} 300');
    expect(text).toContain('rarefy_process_resident_memory_bytes');
    const docs = (await app.inject({ method: 'GET', url: '/docs' })).json() as {
      openapi: string;
      paths: object;
    };
    expect(docs.openapi).toMatch(/^3\./);
    expect(Object.keys(docs.paths)).toEqual(
      expect.arrayContaining([
        '/v1/score',
        '/v1/recommend',
        '/v1/similar-items',
        '/v1/embed',
        '/healthz',
        '/readyz',
        '/metrics',
      ]),
    );
    await app.close();
    servers.splice(servers.indexOf(app), 1);
  });
});

describe('overload', () => {
  it('answers 503 with Retry-After above the in-flight limit, keeps health answering, and recovers', async () => {
    const app = await serve('logistic', { maxInFlight: 2, retryAfterSeconds: 3 });
    const held = [app.rarefy.limiter.acquire(), app.rarefy.limiter.acquire()];
    const refused = await post(app, '/v1/score', { rows: [[0, 0, 0]] });
    expectError(refused, 503, 'RAREFY_OVERLOADED', null);
    expect(refused.headers['retry-after']).toBe('3');
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toContain(
      'rarefy_http_overloaded_total 1',
    );
    for (const release of held) release();
    expect((await post(app, '/v1/score', { rows: [[0, 0, 0]] })).statusCode).toBe(200);
    expect(app.rarefy.limiter.inFlight).toBe(0);
  });

  it('frees the slot of every answered request, errors included', async () => {
    const app = await serve('logistic', { maxInFlight: 1 });
    for (let i = 0; i < 5; i++) {
      expect((await post(app, '/v1/score', { rows: [[1, 2]] })).statusCode).toBe(400);
      expect((await post(app, '/v1/score', { rows: [[1, 2, 3]] })).statusCode).toBe(200);
    }
    expect(app.rarefy.limiter.inFlight).toBe(0);
  });

  it('lets several requests through concurrently on a real socket', async () => {
    const app = await serve('retrieval', { index: { kind: 'exact', searchThreads: 1 }, maxInFlight: 64 });
    const url = await listen(app, { port: 0 });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const responses = await Promise.all(
      Array.from({ length: 32 }, (_, i) =>
        fetch(`${url}/v1/recommend`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ userId: `user-${i % 40}`, k: 3 }),
        }),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(32).fill(200));
  });
});

describe('POST /v1/admin/reload', () => {
  const token = 'test-token-0123456789';
  const auth = { authorization: `Bearer ${token}` };

  it('needs the bearer token', async () => {
    const app = await serve('logistic', { adminToken: token });
    const none = await post(app, '/v1/admin/reload', {});
    expectError(none, 401, 'RAREFY_UNAUTHORIZED', 'Authorization');
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expectError(
      await post(app, '/v1/admin/reload', {}, { authorization: 'Bearer wrong' }),
      401,
      'RAREFY_UNAUTHORIZED',
      'Authorization',
    );
    expectError(
      await post(app, '/v1/admin/reload', {}, { authorization: token }),
      401,
      'RAREFY_UNAUTHORIZED',
      'Authorization',
    );
  });

  it('swaps in a new export, refuses a broken one or another kind, and keeps serving throughout', async () => {
    const app = await serve('retrieval', { adminToken: token, index: { kind: 'exact', searchThreads: 1 } });
    const first = app.rarefy.state.model.version;
    const reloaded = await post(app, '/v1/admin/reload', { model: join(root, 'retrieval-v2') }, auth);
    expect(reloaded.statusCode, reloaded.body).toBe(200);
    const body = reloaded.json() as {
      model: { version: string; generation: number };
      previousVersion: string;
    };
    expect(body.previousVersion).toBe(first);
    expect(body.model.generation).toBe(2);
    expect(body.model.version).not.toBe(first);
    const after = await post(app, '/v1/recommend', { userId: 'v2-user-1', k: 2 });
    expect(after.statusCode).toBe(200);
    expect((after.json() as { items: Array<{ itemId: string }> }).items[0]!.itemId).toMatch(/^v2-item-/);
    expectError(
      await post(app, '/v1/recommend', { userId: 'user-1' }),
      404,
      'RAREFY_UNKNOWN_ID',
      'body.userId',
    );

    expectError(
      await post(app, '/v1/admin/reload', { model: join(root, 'missing') }, auth),
      422,
      'RAREFY_MODEL_REFUSED',
      'body.model',
    );
    expectError(
      await post(app, '/v1/admin/reload', { model: join(root, 'logistic') }, auth),
      409,
      'RAREFY_MODEL_KIND_CHANGED',
      'body.model',
    );
    expectError(
      await post(app, '/v1/admin/reload', { model: 3 }, auth),
      400,
      'RAREFY_BAD_REQUEST',
      'body.model',
    );
    expect(app.rarefy.state.model.version).toBe(body.model.version);
    expect((await post(app, '/v1/recommend', { userId: 'v2-user-1', k: 2 })).statusCode).toBe(200);
    // No body: the same folder again.
    const same = await app.inject({ method: 'POST', url: '/v1/admin/reload', headers: auth });
    expect(same.statusCode, same.body).toBe(200);
    expect((same.json() as { model: { version: string; generation: number } }).model).toMatchObject({
      version: body.model.version,
      generation: 3,
    });
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('rarefy_model_generation 3');
    expect(metrics).toContain('rarefy_model_reloads_total{outcome="swapped"} 2');
    expect(metrics).toContain('rarefy_model_reloads_total{outcome="refused"} 2');
  });

  it('finishes requests in flight on the old model while a reload swaps', async () => {
    const app = await serve('logistic', { adminToken: token });
    const old = app.rarefy.state.model.version;
    const requests = Array.from({ length: 50 }, () => post(app, '/v1/score', { rows: [[1, 2, 3]] }));
    const reload = post(app, '/v1/admin/reload', { model: join(root, 'logistic-v2') }, auth);
    const later = Array.from({ length: 50 }, () => post(app, '/v1/score', { rows: [[1, 2, 3]] }));
    const answered = await Promise.all([...requests, reload, ...later]);
    expect(answered.map((response) => response.statusCode)).toEqual(Array(101).fill(200));
    const versions = new Set(
      [...answered.slice(0, 50), ...answered.slice(51)].map(
        (response) => (response.json() as { model: { version: string } }).model.version,
      ),
    );
    const fresh = app.rarefy.state.model.version;
    expect(fresh).not.toBe(old);
    for (const version of versions) expect([old, fresh]).toContain(version);
    const now = (await post(app, '/v1/score', { rows: [[1, 2, 3]] })).json() as { probabilities: number[] };
    expect(now.probabilities[0]).toBeCloseTo(sigmoid(-1 + 0.5 * 6), 14);
  });
});

describe('shutdown', () => {
  it('frees the model (its index workers) when the server closes', async () => {
    const app = await createServer({
      model: join(root, 'retrieval'),
      index: { kind: 'exact', searchThreads: 1 },
    });
    const model = app.rarefy.state.model;
    if (model.kind !== 'two-tower') throw new Error('expected a retrieval model');
    await app.close();
    await expect(model.index.search(model.items.embeddings.subarray(0, 16), 1)).rejects.toMatchObject({
      input: 'index',
    });
  });
});
