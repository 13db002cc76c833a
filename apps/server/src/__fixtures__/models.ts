import { selectBackend } from '@rarefy/model-kit';
import { LogisticPilot } from '@rarefy/pilot-model';
import { saveModel } from '@rarefy/pilot-model/node';
import { createRng, type Rng } from '@rarefy/sampling-core';
import {
  type FeatureTable,
  modelExport,
  type RetrievalExport,
  syntheticCatalogue,
  type TowerSpec,
  type TwoTowerModel,
  trainTwoTower,
} from '@rarefy/two-tower';
import { writeRetrievalExport } from '@rarefy/two-tower/node';

/** The coefficients of the test classifier: intercept, x1, x2, x3. */
export const LOGISTIC_COEFFICIENTS = [-3, 1, -0.5, 0.25] as const;

/**
 * Saves a logistic model sigma(-3 + x1 - 0.5 x2 + 0.25 x3) as a model folder.
 *
 * @param dir - the folder
 * @param coefficients - intercept and three slopes (default {@link LOGISTIC_COEFFICIENTS})
 * @returns the pilot saved
 */
export async function writeLogisticModel(
  dir: string,
  coefficients: readonly number[] = LOGISTIC_COEFFICIENTS,
): Promise<LogisticPilot> {
  const pilot = LogisticPilot.fromCoefficients(['(Intercept)', 'x1', 'x2', 'x3'], coefficients);
  await saveModel(dir, pilot, { label: 'y' });
  return pilot;
}

/** Rows of L2-normalised Gaussian vectors. */
export function unitRows(rng: Rng, rows: number, dimension: number): Float32Array {
  const values = new Float32Array(rows * dimension);
  for (let i = 0; i < rows; i++) {
    let norm = 0;
    for (let j = 0; j < dimension; j++) {
      const value = rng.normal();
      values[i * dimension + j] = value;
      norm += value * value;
    }
    norm = Math.sqrt(norm);
    for (let j = 0; j < dimension; j++)
      values[i * dimension + j] = (values[i * dimension + j] as number) / norm;
  }
  return values;
}

/**
 * Rows drawn around `clusters` random centres and normalised: what trained item embeddings look
 * like (groups of similar items), unlike uniform random vectors, on which no approximate index does
 * well at 64 dimensions.
 */
export function clusteredUnitRows(rng: Rng, rows: number, dimension: number, clusters: number): Float32Array {
  const centres = unitRows(rng, clusters, dimension);
  const values = new Float32Array(rows * dimension);
  const spread = 0.35 / Math.sqrt(dimension);
  for (let i = 0; i < rows; i++) {
    const centre = rng.nextInt(clusters);
    let norm = 0;
    for (let j = 0; j < dimension; j++) {
      const value = (centres[centre * dimension + j] as number) + spread * rng.normal() * 4;
      values[i * dimension + j] = value;
      norm += value * value;
    }
    norm = Math.sqrt(norm);
    for (let j = 0; j < dimension; j++)
      values[i * dimension + j] = (values[i * dimension + j] as number) / norm;
  }
  return values;
}

/** The user tower of the test models: id (cold start: the unknown row), categorical, multi-hot, numeric. */
export const USER_TOWER: TowerSpec = {
  id: { dimension: 8 },
  categorical: [{ column: 'cluster', buckets: 16, dimension: 4, hashSeed: 7 }],
  multiHot: [{ column: 'genres', buckets: 16, dimension: 4, hashSeed: 3, separator: '|' }],
  numeric: [{ column: 'age' }],
  hidden: [16],
  outputDimension: 16,
};

/** The item tower of the test models (synthetic catalogue features: genre, tags, quality). */
export const ITEM_TOWER: TowerSpec = {
  id: { dimension: 8 },
  categorical: [{ column: 'genre', buckets: 16, dimension: 4 }],
  multiHot: [{ column: 'tags', buckets: 16, dimension: 4, separator: '|' }],
  numeric: [{ column: 'quality' }],
  hidden: [16],
  outputDimension: 16,
};

/** Options of {@link writeRetrievalModel}. */
export interface RetrievalFixtureOptions {
  items?: number;
  users?: number;
  seed?: number;
  /** Export the towers with their input description (default true). */
  towers?: boolean;
  /** Export the user embeddings (default true). */
  userEmbeddings?: boolean;
  /** Prefix of the ids (default none: `user-0..`, `item-0..`). */
  idPrefix?: string;
}

/** A written retrieval export and the trained model it came from (dispose it when done). */
export interface RetrievalFixture {
  readonly exported: RetrievalExport;
  readonly model: TwoTowerModel;
  /** The users' features, by id: the training table. */
  readonly userFeatures: FeatureTable;
}

/** `syntheticCatalogue`'s `u3` / `i42` as `<prefix>user-3` / `<prefix>item-42`. */
function renameId(id: string, prefix: string): string {
  return `${prefix}${id.startsWith('u') ? 'user' : 'item'}-${id.slice(1)}`;
}

function renamed(table: FeatureTable, prefix: string): FeatureTable {
  return { ids: table.ids.map((id) => renameId(id, prefix)), columns: table.columns };
}

/**
 * Trains a small two-tower model on a synthetic catalogue (users `user-0..`, items `item-0..`;
 * 16-dimensional towers over id, hashed categorical, multi-hot and numeric features; two epochs, a
 * few hundred milliseconds) and writes it
 * with two-tower's exporter (`modelExport` + `writeRetrievalExport`): item and user embeddings, both
 * towers as ONNX and their input description, as `rarefy train-retrieval --out` does.
 *
 * @param dir - the folder
 * @param options - sizes, seed, id prefix, what to export
 * @returns the export written and the model
 */
export async function writeRetrievalModel(
  dir: string,
  options: RetrievalFixtureOptions = {},
): Promise<RetrievalFixture> {
  await selectBackend();
  const seed = options.seed ?? 1;
  const prefix = options.idPrefix ?? '';
  const catalogue = syntheticCatalogue({
    users: options.users ?? 40,
    items: options.items ?? 300,
    clusters: 6,
    interactionsPerUser: 12,
    seed,
  });
  const rng = createRng(seed);
  const clusters = catalogue.userFeatures.columns.cluster as readonly string[];
  // Users' numeric and multi-hot columns (some missing), derived from their cluster.
  const userFeatures = renamed(
    {
      ids: catalogue.userFeatures.ids,
      columns: {
        cluster: clusters,
        age: clusters.map((_, u) => (u % 7 === 3 ? null : Math.round(20 + 50 * rng.nextFloat64()))),
        genres: clusters.map((cluster, u) =>
          u % 5 === 4 ? null : `g${cluster.slice(1)}|g${(Number(cluster.slice(1)) + 1 + (u % 3)) % 6}`,
        ),
      },
    },
    prefix,
  );
  const train = {
    ...catalogue.data,
    userIds: catalogue.data.userIds.map((id) => renameId(id, prefix)),
    itemIds: catalogue.data.itemIds.map((id) => renameId(id, prefix)),
  };
  const { model } = await trainTwoTower({
    train,
    userFeatures,
    itemFeatures: renamed(catalogue.itemFeatures, prefix),
    userTower: USER_TOWER,
    itemTower: ITEM_TOWER,
    batchSize: 128,
    epochs: 2,
    seed,
  });
  const exported = modelExport(model, {
    towers: options.towers ?? true,
    users: options.userEmbeddings ?? true,
  });
  await writeRetrievalExport(dir, exported);
  return { exported, model, userFeatures };
}

/**
 * Writes a retrieval export of random embeddings (no towers): items `item-0..`, users `user-0..`.
 *
 * @param dir - the folder
 * @param options - sizes, dimension, seed, clustered items
 * @returns the export written
 */
export async function writeEmbeddingsExport(
  dir: string,
  options: { items?: number; users?: number; dimension?: number; seed?: number; clusters?: number } = {},
): Promise<RetrievalExport> {
  const rng = createRng(options.seed ?? 1);
  const dimension = options.dimension ?? 16;
  const itemCount = options.items ?? 300;
  const userCount = options.users ?? 40;
  const exported: RetrievalExport = {
    dimension,
    temperature: 0.05,
    items: {
      ids: Array.from({ length: itemCount }, (_, i) => `item-${i}`),
      embeddings:
        options.clusters === undefined
          ? unitRows(rng, itemCount, dimension)
          : clusteredUnitRows(rng, itemCount, dimension, options.clusters),
    },
    users: {
      ids: Array.from({ length: userCount }, (_, i) => `user-${i}`),
      embeddings: unitRows(rng, userCount, dimension),
    },
  };
  await writeRetrievalExport(dir, exported);
  return exported;
}

/**
 * Exact top-K by inner product, by brute force in float64 (the reference the server is checked against).
 *
 * @returns item rows, best first
 */
export function bruteForceTopK(
  items: Float32Array,
  dimension: number,
  query: Float32Array,
  k: number,
  exclude: ReadonlySet<number> = new Set(),
): number[] {
  const scores: Array<[number, number]> = [];
  for (let row = 0; row < items.length / dimension; row++) {
    if (exclude.has(row)) continue;
    let score = 0;
    for (let j = 0; j < dimension; j++)
      score += (items[row * dimension + j] as number) * (query[j] as number);
    scores.push([row, score]);
  }
  scores.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  return scores.slice(0, k).map(([row]) => row);
}
