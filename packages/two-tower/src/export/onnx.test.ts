import { selectBackend } from '@rarefy/model-kit';
import { createRng, isRarefyError, type Rng } from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FeatureTable, FeatureValue, TowerSpec } from '../model/features.js';
import { TwoTowerModel } from '../model/two-tower-model.js';
import type { TowerWeights, TwoTowerWeights } from '../model/weights.js';
import { retrievalExportContents, retrievalExportFromFiles } from './format.js';
import { TOWER_METADATA, towerToOnnx } from './onnx.js';
import {
  encodeTowerInputs,
  parseTowerInputsDescription,
  retrievalTowerInputs,
  TOWER_OUTPUT,
  type TowerFeed,
  type TowerFeeds,
  type TowerInputRow,
  type TowerInputsDescription,
  towerInputsDescription,
} from './tower-inputs.js';

beforeAll(async () => {
  await selectBackend();
});

/** float32 towers in tfjs and onnxruntime (different summation orders): 1e-5 on unit vectors. */
const TOLERANCE = 1e-5;

function toOrt(feeds: TowerFeeds): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [name, feed] of Object.entries(feeds)) {
    if (feed.type === 'int64') out[name] = new ort.Tensor('int64', feed.data, feed.dims);
    else if (feed.type === 'float32') out[name] = new ort.Tensor('float32', feed.data, feed.dims);
    else out[name] = new ort.Tensor('float64', feed.data, feed.dims);
  }
  return out;
}

async function runTower(bytes: Uint8Array, feeds: TowerFeeds): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const result = await session.run(toOrt(feeds));
    return (result[TOWER_OUTPUT] as ort.Tensor).data as Float32Array;
  } finally {
    await session.release();
  }
}

function valuesOf(feed: TowerFeed | undefined): Array<number | bigint> {
  return feed === undefined ? [] : Array.from(feed.data as ArrayLike<number | bigint>);
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs((a[k] as number) - (b[k] as number)));
  return worst;
}

const TAGS = ['action', 'drama', 'comedy', 'noir', 'kids', 'space', 'war', 'romance'];
const COUNTRIES = ['NZ', 'FR', 'JP', 'BR', 'KE', 'IS'];

/** A random cell of each kind, with missing values, numbers in categorical columns and empty tokens. */
function randomCells(rng: Rng): Record<string, FeatureValue> {
  const pick = <T>(values: readonly T[]): T => values[rng.nextInt(values.length)] as T;
  const tokens = Array.from({ length: rng.nextInt(5) }, () => pick(TAGS));
  const roll = rng.nextFloat64();
  return {
    country: roll < 0.1 ? null : roll < 0.2 ? rng.nextInt(50) : pick(COUNTRIES),
    tags: roll < 0.15 ? null : rng.nextFloat64() < 0.1 ? `${tokens.join('||')}|` : tokens.join('|'),
    age: rng.nextFloat64() < 0.1 ? null : 20 + 60 * rng.nextFloat64(),
    score: rng.nextFloat64() < 0.1 ? null : 1000 + 50 * rng.normal(),
  };
}

function featureTable(ids: readonly string[], rng: Rng): FeatureTable {
  const columns: Record<string, FeatureValue[]> = { country: [], tags: [], age: [], score: [] };
  for (const _ of ids) {
    const cells = randomCells(rng);
    for (const [column, value] of Object.entries(cells)) (columns[column] as FeatureValue[]).push(value);
  }
  return { ids, columns };
}

function rowsOf(ids: readonly (string | null)[], table: FeatureTable): TowerInputRow[] {
  return table.ids.map((tableId, r) => {
    const features: Record<string, FeatureValue> = {};
    for (const [column, values] of Object.entries(table.columns)) {
      // Leave some missing cells out altogether: absent and null must encode alike.
      const value = values[r] as FeatureValue;
      if (value !== null || r % 2 === 0) features[column] = value;
    }
    const id = ids[r];
    return id === null ? { features } : { id: id ?? tableId, features };
  });
}

const SPEC = (hidden: number[]): TowerSpec => ({
  id: { dimension: 6 },
  categorical: [{ column: 'country', buckets: 11, dimension: 4, hashSeed: 7 }],
  multiHot: [{ column: 'tags', buckets: 13, dimension: 5, hashSeed: 3, separator: '|' }],
  numeric: [{ column: 'age' }, { column: 'score' }],
  hidden,
  outputDimension: 8,
  activation: 'relu',
});

/** Random biases and a random unknown row, so that neither is zero as at initialisation. */
function perturb(weights: TowerWeights, rng: Rng): TowerWeights {
  const random = (values: Float32Array, scale: number): Float32Array =>
    values.map(() => scale * (2 * rng.nextFloat64() - 1));
  return {
    ...weights,
    embeddings: weights.embeddings.map((table, k) => {
      const values = table.table.slice();
      if (k === 0) values.set(random(values.subarray(0, table.dimension), 0.5));
      return { ...table, table: values };
    }),
    layers: weights.layers.map((layer) => ({ ...layer, bias: random(layer.bias, 0.3) })),
  };
}

describe('towerToOnnx', () => {
  it('matches the tfjs towers to 1e-5 on 1,000 rows per tower, cold-start rows included', async () => {
    const rng = createRng('tower-onnx-parity');
    const userIds = Array.from({ length: 600 }, (_, k) => `u${k}`);
    const itemIds = Array.from({ length: 500 }, (_, k) => `i${k}`);
    const userFeatures = featureTable(userIds, rng);
    const itemFeatures = featureTable(itemIds, rng);
    const initial = TwoTowerModel.initialise({
      userIds,
      itemIds,
      // The last 100 users and 80 items have no id row: cold start inside the dictionary.
      userVocabulary: userIds.slice(0, 500),
      itemVocabulary: itemIds.slice(0, 420),
      userTower: { ...SPEC([16, 12]), activation: 'tanh' },
      itemTower: SPEC([16]),
      userFeatures,
      itemFeatures,
      rng: createRng(11),
    });
    const raw = initial.weights();
    initial.dispose();
    const weights: TwoTowerWeights = { ...raw, user: perturb(raw.user, rng), item: perturb(raw.item, rng) };
    const model = TwoTowerModel.fromWeights(weights, { userFeatures, itemFeatures });
    const before = tf.memory().numTensors;
    try {
      const errors: number[] = [];
      for (const side of ['user', 'item'] as const) {
        const known = side === 'user' ? userIds : itemIds;
        const knownTable = side === 'user' ? userFeatures : itemFeatures;
        const coldCount = 1000 - known.length;
        const coldIds = Array.from({ length: coldCount }, (_, k) => `new-${side}-${k}`);
        const coldTable = featureTable(coldIds, rng);
        const tfjs = new Float32Array(1000 * 8);
        tfjs.set(side === 'user' ? model.embedAllUsers() : model.embedAllItems());
        tfjs.set(
          side === 'user' ? model.embedNewUsers(coldIds, coldTable) : model.embedNewItems(coldIds, coldTable),
          known.length * 8,
        );
        // Half of the cold rows send no id at all: the unknown row as for an unseen id.
        const rows = [
          ...rowsOf(known, knownTable),
          ...rowsOf(
            coldIds.map((id, k) => (k % 2 === 0 ? id : null)),
            coldTable,
          ),
        ];
        const towerWeights = weights[side];
        const bytes = towerToOnnx(towerWeights, { side });
        // Feed through the JSON round trip, as a server reading the export would.
        const description = parseTowerInputsDescription(
          JSON.parse(JSON.stringify(retrievalTowerInputs(weights)))[side],
          `towerInputs.${side}`,
        );
        expect(description).toEqual(towerInputsDescription(towerWeights));
        const onnx = await runTower(bytes, encodeTowerInputs(description, rows));
        const error = maxAbsDifference(onnx, tfjs);
        errors.push(error);
        expect(error).toBeLessThan(TOLERANCE);
        // The cold rows really use the unknown row (they differ from a known row's output).
        expect(onnx.subarray(known.length * 8).some((value) => value !== 0)).toBe(true);
      }
      console.info(`towerToOnnx parity: max abs error user ${errors[0]}, item ${errors[1]}`);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      model.dispose();
    }
  });

  it('exports an id-only tower and a row without any multi-hot value (zeros, no NaN)', async () => {
    const userIds = ['a', 'b', 'c'];
    const model = TwoTowerModel.initialise({
      userIds,
      itemIds: ['x', 'y'],
      userTower: { id: { dimension: 4 }, hidden: [], outputDimension: 3 },
      itemTower: {
        multiHot: [{ column: 'tags', buckets: 5, dimension: 3 }],
        hidden: [4],
        outputDimension: 3,
      },
      itemFeatures: { ids: ['x', 'y'], columns: { tags: ['p|q', null] } },
      rng: createRng(2),
    });
    try {
      const weights = model.weights();
      const users = await runTower(
        towerToOnnx(weights.user),
        encodeTowerInputs(towerInputsDescription(weights.user), [{ id: 'c' }, { id: 'a' }]),
      );
      expect(maxAbsDifference(users, model.embedUsers([2, 0]))).toBeLessThan(TOLERANCE);
      // No item has a tag: one padded column, all masked; the mean is zero, not 0/0.
      const feeds = encodeTowerInputs(towerInputsDescription(weights.item), [
        { features: { tags: null } },
        {},
      ]);
      expect(feeds.multi_hot_0?.dims).toEqual([2, 1]);
      const items = await runTower(towerToOnnx(weights.item), feeds);
      expect(items.every(Number.isFinite)).toBe(true);
      expect(maxAbsDifference(items, model.embedNewItems(['n1', 'n2']))).toBeLessThan(TOLERANCE);
    } finally {
      model.dispose();
    }
  });

  it('writes the input description into the metadata and the export record', () => {
    const model = TwoTowerModel.initialise({
      userIds: ['a'],
      itemIds: ['x'],
      userTower: { id: { dimension: 2 }, hidden: [], outputDimension: 2 },
      itemTower: { id: { dimension: 2 }, hidden: [], outputDimension: 2 },
      rng: createRng(3),
    });
    try {
      const weights = model.weights();
      const bytes = towerToOnnx(weights.item, { side: 'item' });
      const text = new TextDecoder().decode(bytes);
      expect(text).toContain(TOWER_METADATA.towerInputs);
      expect(text).toContain('"vocabulary":["x"]');
      expect(new TextDecoder().decode(towerToOnnx(weights.item, { describeInputs: false }))).not.toContain(
        TOWER_METADATA.towerInputs,
      );
      const contents = retrievalExportContents({
        dimension: 2,
        temperature: 0.05,
        items: { ids: ['x'], embeddings: model.embedAllItems() },
        itemTower: bytes,
        towerInputs: retrievalTowerInputs(weights),
      });
      // The manifest names the vocabulary's file; the file holds it; reading puts it back inline.
      const record = (contents.model.towerInputs as Record<string, { inputs: unknown[] }>).item;
      expect(record?.inputs[0]).toMatchObject({
        kind: 'id',
        vocabularyFile: 'item-vocabulary.json',
        vocabularySize: 1,
      });
      expect(JSON.stringify(contents.model)).not.toContain('"vocabulary"');
      const file = contents.files.find((entry) => entry.path === 'item-vocabulary.json');
      expect(file).toMatchObject({ role: 'ids', format: 'json', data: '["x"]' });
      expect(() => parseTowerInputsDescription(record, 'towerInputs.item')).toThrow(
        /item-vocabulary\.json.*readRetrievalExport/,
      );
      const files = new Map(
        contents.files.map((entry) => [
          entry.path,
          typeof entry.data === 'string' ? new TextEncoder().encode(entry.data) : entry.data,
        ]),
      );
      const manifest = {
        ...contents,
        formatVersion: 1,
        files: [],
        producer: { name: 't', version: '0' },
      } as const;
      const back = retrievalExportFromFiles(manifest, files, 'export');
      expect(back.towerInputs).toEqual(retrievalTowerInputs(weights));
      expect(parseTowerInputsDescription(back.towerInputs?.item, 'towerInputs.item').inputs[0]).toMatchObject(
        {
          kind: 'id',
          name: 'id',
          vocabulary: ['x'],
          unknownRow: 0,
        },
      );
    } finally {
      model.dispose();
    }
  });

  it('refuses non-finite parameters, naming the table', () => {
    const model = TwoTowerModel.initialise({
      userIds: ['a'],
      itemIds: ['x'],
      userTower: { id: { dimension: 2 }, hidden: [], outputDimension: 2 },
      itemTower: { id: { dimension: 2 }, hidden: [], outputDimension: 2 },
      rng: createRng(4),
    });
    const weights = model.weights();
    model.dispose();
    const table = weights.user.embeddings[0]?.table.slice() as Float32Array;
    table[1] = Number.NaN;
    const broken: TowerWeights = {
      ...weights.user,
      embeddings: [{ ...(weights.user.embeddings[0] as TowerWeights['embeddings'][number]), table }],
    };
    let caught: unknown;
    try {
      towerToOnnx(broken, { side: 'user' });
    } catch (error) {
      caught = error;
    }
    expect(isRarefyError(caught, 'RAREFY_NON_FINITE')).toBe(true);
    expect((caught as Error).message).toContain('weights.user.embeddings[0].table');
  });
});

describe('encodeTowerInputs', () => {
  const description: TowerInputsDescription = {
    format: 'rarefy-tower-inputs',
    version: 1,
    output: { name: 'embedding', dimension: 2, normalisation: 'l2' },
    inputs: [
      { kind: 'id', name: 'id', type: 'int64', shape: ['N'], vocabulary: ['a', 'b'], unknownRow: 0 },
      {
        kind: 'multiHot',
        name: 'multi_hot_0',
        mask: 'multi_hot_0_mask',
        column: 'tags',
        separator: ',',
        type: 'int64',
        maskType: 'float32',
        shape: ['N', 'L'],
        hashing: { function: 'murmur3_x86_32-utf8', seed: 0, buckets: 1000, missing: '' },
      },
      {
        kind: 'numeric',
        name: 'numeric',
        columns: ['age'],
        type: 'float64',
        shape: ['N', 1],
        means: [40],
        sds: [10],
        missing: 'mean',
      },
    ],
  };

  it('maps ids to rows (0 unknown), pads multi-hot ids with a mask and feeds missing numbers as the mean', () => {
    const feeds = encodeTowerInputs(description, [
      { id: 'b', features: { tags: 'p,,q,r', age: 31 } },
      { id: 'zz', features: { tags: 'q' } },
      { features: { age: null } },
    ]);
    expect(valuesOf(feeds.id)).toEqual([2n, 0n, 0n]);
    expect(feeds.multi_hot_0?.dims).toEqual([3, 3]);
    expect(valuesOf(feeds.multi_hot_0_mask)).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 0]);
    const ids = valuesOf(feeds.multi_hot_0);
    expect(ids[1]).toBe(ids[3]); // 'q' in both rows
    expect(ids[4]).toBe(0n); // padding
    expect(valuesOf(feeds.numeric)).toEqual([31, 40, 40]);
  });

  it('refuses a text value in a numeric column, naming the row and column', () => {
    let caught: unknown;
    try {
      encodeTowerInputs(description, [{ features: { age: 1 } }, { features: { age: 'old' } }]);
    } catch (error) {
      caught = error;
    }
    expect(isRarefyError(caught, 'RAREFY_INVALID_ARGUMENT')).toBe(true);
    expect((caught as Error).message).toContain('rows[1].features.age');
  });

  it('refuses malformed descriptions and foreign hash functions', () => {
    const json = JSON.parse(JSON.stringify(description)) as { inputs: Array<Record<string, unknown>> };
    expect(() => parseTowerInputsDescription({ ...json, version: 2 }, 'x')).toThrow(/version/);
    const foreign = JSON.parse(JSON.stringify(json)) as typeof json;
    (foreign.inputs[1] as { hashing: { function: string } }).hashing.function = 'xxhash64';
    let caught: unknown;
    try {
      parseTowerInputsDescription(foreign, 'towerInputs.item');
    } catch (error) {
      caught = error;
    }
    expect(isRarefyError(caught, 'RAREFY_INVALID_ARGUMENT')).toBe(true);
    const repeated = JSON.parse(JSON.stringify(json)) as typeof json;
    (repeated.inputs[2] as { name: string }).name = 'id';
    expect(() => parseTowerInputsDescription(repeated, 'x')).toThrow(/used twice/);
    expect(parseTowerInputsDescription(json, 'x')).toEqual(description);
  });
});
