import { createRng, RarefyInputError } from '@rarefy/sampling-core';
import type { InteractionData } from '../interactions.js';
import type { FeatureTable } from '../model/features.js';

/** Options of {@link syntheticCatalogue}. */
export interface SyntheticCatalogueOptions {
  /** Users (default 2000). */
  readonly users?: number;
  /** Items (default 1000). */
  readonly items?: number;
  /** Clusters of the latent space (default 10); every user and item belongs to one. */
  readonly clusters?: number;
  /** Width of the latent vectors (default 16). */
  readonly dimension?: number;
  /** How far a vector strays from its cluster's centre (default 0.5; 0 = at the centre). */
  readonly spread?: number;
  /** Interactions drawn per user (default 20). */
  readonly interactionsPerUser?: number;
  /** Zipf exponent s of item popularity: item of popularity rank r gets weight (r + 1)^-s (default 1). */
  readonly popularityExponent?: number;
  /** Temperature T of the affinity term (default 0.25). */
  readonly temperature?: number;
  /** Seeds everything (default 0). */
  readonly seed?: number | string;
}

/** A synthetic catalogue with known structure. */
export interface SyntheticCatalogue {
  /** The interactions (users `u0...`, items `i0...`). */
  readonly data: InteractionData;
  /** Latent width. */
  readonly dimension: number;
  /** Unit latent vectors of the users, users x dimension. */
  readonly userVectors: Float32Array;
  /** Unit latent vectors of the items, items x dimension. */
  readonly itemVectors: Float32Array;
  /** Cluster of each user. */
  readonly userClusters: Int32Array;
  /** Cluster of each item. */
  readonly itemClusters: Int32Array;
  /** The popularity weight of each item (sums to 1). */
  readonly popularity: Float64Array;
  /** User features: `cluster` (categorical, e.g. `c3`). */
  readonly userFeatures: FeatureTable;
  /** Item features: `genre` (the cluster, e.g. `g3`), `tags` (multi-hot: the genre and a second one), `quality` (numeric). */
  readonly itemFeatures: FeatureTable;
}

function requireCount(value: number, input: string, fix: string): void {
  if (!(Number.isInteger(value) && value >= 1)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `${input}: ${value} is not a positive integer`,
      fix,
      { input },
    );
  }
}

function normaliseInto(values: Float32Array, at: number, dimension: number): void {
  let norm = 0;
  for (let j = 0; j < dimension; j++) norm += (values[at + j] as number) ** 2;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let j = 0; j < dimension; j++) values[at + j] = (values[at + j] as number) * scale;
}

/**
 * A seeded synthetic catalogue for testing retrieval: users and items have unit latent vectors around
 * cluster centres, item popularity follows a power law over a random ranking, and each user's
 * interactions are drawn (with replacement) from `softmax_j(<u, v_j> / T + log popularity_j)`: the
 * true conditional `p(item | user)` mixes affinity and popularity, as real logs do, so an uncorrected
 * in-batch softmax is biased against popular items (ALGORITHMS.md B.4) and the logQ correction matters.
 *
 * @param options - sizes, structure and seed
 * @returns the interactions, the latent truth and feature tables derived from it
 * @throws RarefyInputError for a size that is not a positive integer or a bad exponent/temperature
 * @example
 * ```ts
 * const { data, itemFeatures, popularity } = syntheticCatalogue({ users: 500, items: 300, seed: 1 });
 * ```
 */
export function syntheticCatalogue(options: SyntheticCatalogueOptions = {}): SyntheticCatalogue {
  const users = options.users ?? 2000;
  const items = options.items ?? 1000;
  const clusters = options.clusters ?? 10;
  const dimension = options.dimension ?? 16;
  const spread = options.spread ?? 0.5;
  const perUser = options.interactionsPerUser ?? 20;
  const exponent = options.popularityExponent ?? 1;
  const temperature = options.temperature ?? 0.25;
  requireCount(users, 'users', 'pass the number of users, e.g. 2000');
  requireCount(items, 'items', 'pass the number of items, e.g. 1000');
  requireCount(clusters, 'clusters', 'pass the number of clusters, e.g. 10');
  requireCount(dimension, 'dimension', 'pass the latent width, e.g. 16');
  requireCount(perUser, 'interactionsPerUser', 'pass the interactions per user, e.g. 20');
  for (const [name, value] of [
    ['spread', spread],
    ['popularityExponent', exponent],
  ] as const) {
    if (!(Number.isFinite(value) && value >= 0)) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${name}: ${value} is not a finite number >= 0`,
        `pass ${name} >= 0`,
        {
          input: name,
        },
      );
    }
  }
  if (!(Number.isFinite(temperature) && temperature > 0)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `temperature: ${temperature} is not a positive number`,
      'pass T > 0, e.g. 0.25',
      {
        input: 'temperature',
      },
    );
  }
  const rng = createRng(options.seed ?? 0);
  const centres = new Float32Array(clusters * dimension);
  for (let k = 0; k < centres.length; k++) centres[k] = rng.normal();
  for (let c = 0; c < clusters; c++) normaliseInto(centres, c * dimension, dimension);
  const draw = (count: number): { vectors: Float32Array; assigned: Int32Array } => {
    const vectors = new Float32Array(count * dimension);
    const assigned = new Int32Array(count);
    const noise = spread / Math.sqrt(dimension);
    for (let r = 0; r < count; r++) {
      const c = rng.nextInt(clusters);
      assigned[r] = c;
      for (let j = 0; j < dimension; j++) {
        vectors[r * dimension + j] = (centres[c * dimension + j] as number) + noise * rng.normal();
      }
      normaliseInto(vectors, r * dimension, dimension);
    }
    return { vectors, assigned };
  };
  const user = draw(users);
  const item = draw(items);
  // Popularity: a random ranking of the items, weight (rank + 1)^-s.
  const rank = new Int32Array(items);
  for (let j = 0; j < items; j++) rank[j] = j;
  for (let j = items - 1; j > 0; j--) {
    const k = rng.nextInt(j + 1);
    const t = rank[j] as number;
    rank[j] = rank[k] as number;
    rank[k] = t;
  }
  const popularity = new Float64Array(items);
  let total = 0;
  for (let j = 0; j < items; j++) {
    const w = ((rank[j] as number) + 1) ** -exponent;
    popularity[j] = w;
    total += w;
  }
  for (let j = 0; j < items; j++) popularity[j] = (popularity[j] as number) / total;
  const logPopularity = Float64Array.from(popularity, Math.log);
  const userIndex = new Int32Array(users * perUser);
  const itemIndex = new Int32Array(users * perUser);
  const cumulative = new Float64Array(items);
  for (let u = 0; u < users; u++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < items; j++) {
      let dot = 0;
      for (let d = 0; d < dimension; d++) {
        dot += (user.vectors[u * dimension + d] as number) * (item.vectors[j * dimension + d] as number);
      }
      const logit = dot / temperature + (logPopularity[j] as number);
      cumulative[j] = logit;
      if (logit > max) max = logit;
    }
    let sum = 0;
    for (let j = 0; j < items; j++) {
      sum += Math.exp((cumulative[j] as number) - max);
      cumulative[j] = sum;
    }
    for (let k = 0; k < perUser; k++) {
      const target = rng.nextFloat64() * sum;
      let low = 0;
      let high = items - 1;
      while (low < high) {
        const mid = (low + high) >> 1;
        if ((cumulative[mid] as number) > target) high = mid;
        else low = mid + 1;
      }
      userIndex[u * perUser + k] = u;
      itemIndex[u * perUser + k] = low;
    }
  }
  const userIds = Array.from({ length: users }, (_, u) => `u${u}`);
  const itemIds = Array.from({ length: items }, (_, j) => `i${j}`);
  const genre = Array.from(item.assigned, (c) => `g${c}`);
  const tags = Array.from(
    item.assigned,
    (c) => `g${c}|g${(c + 1 + rng.nextInt(Math.max(1, clusters - 1))) % clusters}`,
  );
  const quality = Array.from({ length: items }, () => rng.normal());
  return {
    data: { userIds, itemIds, users: userIndex, items: itemIndex },
    dimension,
    userVectors: user.vectors,
    itemVectors: item.vectors,
    userClusters: user.assigned,
    itemClusters: item.assigned,
    popularity,
    userFeatures: { ids: userIds, columns: { cluster: Array.from(user.assigned, (c) => `c${c}`) } },
    itemFeatures: { ids: itemIds, columns: { genre, tags, quality } },
  };
}
