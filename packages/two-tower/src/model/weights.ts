import type { DenseActivation, NeuralFeatureHashing } from '@rarefy/model-kit';
import { RarefyInputError } from '@rarefy/sampling-core';
import {
  checkResolvedSpec,
  type FeatureEncoder,
  featureHashing,
  type ResolvedTowerSpec,
  towerInputSize,
} from './features.js';
import type { Tower, TowerParameters } from './tower.js';

/** One embedding table of a tower, with how its rows are chosen. */
export interface EmbeddingWeights {
  /** `id`: the id table (row 0 unknown, row k + 1 = vocabulary[k]); `categorical`: one hashed value; `multiHot`: mean of hashed values. */
  readonly kind: 'id' | 'categorical' | 'multiHot';
  /** The feature column (null for the id table). */
  readonly column: string | null;
  /** The hashing of the column's values (null for the id table). */
  readonly hashing: NeuralFeatureHashing | null;
  /** What separates a multi-hot cell's values (null otherwise). */
  readonly separator: string | null;
  /** Rows of the table. */
  readonly rows: number;
  /** Width of a row. */
  readonly dimension: number;
  /** The first column of the tower's input row this table fills. */
  readonly inputColumn: number;
  /** The table, rows x dimension, row-major. */
  readonly table: Float32Array;
}

/** One dense layer `activation(x W + b)`. */
export interface LayerWeights {
  readonly inputSize: number;
  readonly outputSize: number;
  /** W, inputSize x outputSize, row-major. */
  readonly weights: Float32Array;
  /** b, outputSize values. */
  readonly bias: Float32Array;
  /** `relu`/`tanh` for hidden layers, `linear` for the output layer. */
  readonly activation: DenseActivation;
}

/**
 * Everything one tower computes with. Its input row is, in this order: the id table's row (the id's
 * row when it is in `idVocabulary`, else row 0), each categorical table's row at
 * `hashFeature(String(value) or '' when missing, seed, buckets)`, each multi-hot table's mean row over
 * the cell's values split by `separator` (zeros for none), and `(x - mean) / sd` of each numeric
 * column (0 when missing). `layers` map it to the output, which is then L2-normalised.
 */
export interface TowerWeights {
  /** The spec with defaults filled in. */
  readonly spec: ResolvedTowerSpec;
  /** The width of the input row. */
  readonly inputSize: number;
  /** Ids with a trained id row: vocabulary[k] owns row k + 1. */
  readonly idVocabulary: readonly string[];
  /** Numeric standardisation, in the spec's order. */
  readonly numeric: {
    readonly columns: readonly string[];
    readonly means: Float64Array;
    readonly sds: Float64Array;
    /** The first input column of the numeric block. */
    readonly inputColumn: number;
  };
  /** Tables: the id table first (when present), then categorical, then multi-hot, as in the input row. */
  readonly embeddings: readonly EmbeddingWeights[];
  /** Dense layers, input first; the last is linear. */
  readonly layers: readonly LayerWeights[];
  /** What follows the last layer. */
  readonly output: 'l2-normalised';
}

/**
 * A two-tower model's weights: both towers, the temperature and the id dictionaries of the data it
 * was trained on. Scores are `<u, v> / temperature` with u, v the towers' unit outputs; serving ranks
 * by `<u, v>` (no log Q: the correction exists only in the training loss).
 */
export interface TwoTowerWeights {
  readonly format: 'rarefy-two-tower';
  readonly version: 1;
  /** tau. */
  readonly temperature: number;
  /** The output width of both towers. */
  readonly dimension: number;
  /** The user dictionary of the training data (index -> id). */
  readonly userIds: readonly string[];
  /** The item dictionary (the catalogue) of the training data. */
  readonly itemIds: readonly string[];
  /** The query tower. */
  readonly user: TowerWeights;
  /** The candidate tower. */
  readonly item: TowerWeights;
}

/**
 * The weights of one tower (copies).
 *
 * @param tower - the tower
 * @param encoder - its feature encoder (vocabulary, standardisation)
 * @returns the tower's weights
 */
export function towerWeights(tower: Tower, encoder: FeatureEncoder): TowerWeights {
  const spec = tower.spec;
  const parameters = tower.snapshot();
  const embeddings: EmbeddingWeights[] = [];
  let column = 0;
  let table = 0;
  const push = (
    kind: EmbeddingWeights['kind'],
    name: string | null,
    hashing: NeuralFeatureHashing | null,
    separator: string | null,
    dimension: number,
  ): void => {
    const values = parameters.tables[table++] as Float32Array;
    embeddings.push({
      kind,
      column: name,
      hashing,
      separator,
      rows: values.length / dimension,
      dimension,
      inputColumn: column,
      table: values,
    });
    column += dimension;
  };
  if (spec.id !== null) push('id', null, null, null, spec.id.dimension);
  for (const feature of spec.categorical)
    push('categorical', feature.column, featureHashing(feature), null, feature.dimension);
  for (const feature of spec.multiHot) {
    push('multiHot', feature.column, featureHashing(feature), feature.separator, feature.dimension);
  }
  const widths = [tower.inputSize, ...spec.hidden, spec.outputDimension];
  return {
    spec,
    inputSize: tower.inputSize,
    idVocabulary: [...encoder.vocabulary],
    numeric: {
      columns: spec.numeric.map((f) => f.column),
      means: encoder.standardisation.means.slice(),
      sds: encoder.standardisation.sds.slice(),
      inputColumn: column,
    },
    embeddings,
    layers: parameters.layers.map((layer, k) => ({
      inputSize: widths[k] as number,
      outputSize: widths[k + 1] as number,
      weights: layer.weights,
      bias: layer.bias,
      activation: k + 2 < widths.length ? spec.activation : 'linear',
    })),
    output: 'l2-normalised',
  };
}

function mismatch(input: string, problem: string): RarefyInputError {
  return new RarefyInputError(
    'RAREFY_DIMENSION_MISMATCH',
    `${input}: ${problem}`,
    'pass the unmodified output of TwoTowerModel.weights()',
    { input },
  );
}

/**
 * Checks one tower's weights against the spec they carry and returns the parameters a {@link Tower}
 * loads.
 *
 * @param weights - the tower's weights
 * @param input - its name for errors (`weights.user`, `weights.item`)
 * @returns the tables and layers
 * @throws RarefyInputError `RAREFY_DIMENSION_MISMATCH` when anything disagrees
 */
export function towerParametersOf(weights: TowerWeights, input: string): TowerParameters {
  const spec = checkResolvedSpec(weights.spec, `${input}.spec`);
  if (weights.inputSize !== towerInputSize(spec)) {
    throw mismatch(
      `${input}.inputSize`,
      `${weights.inputSize}, but the spec's inputs are ${towerInputSize(spec)} wide`,
    );
  }
  const expectedTables = (spec.id === null ? 0 : 1) + spec.categorical.length + spec.multiHot.length;
  if (weights.embeddings.length !== expectedTables) {
    throw mismatch(
      `${input}.embeddings`,
      `${weights.embeddings.length} tables for a spec with ${expectedTables}`,
    );
  }
  weights.embeddings.forEach((table, k) => {
    if (table.table.length !== table.rows * table.dimension) {
      throw mismatch(
        `${input}.embeddings[${k}]`,
        `${table.table.length} values for ${table.rows} x ${table.dimension}`,
      );
    }
  });
  if (spec.id !== null && weights.embeddings[0]?.rows !== weights.idVocabulary.length + 1) {
    throw mismatch(
      `${input}.idVocabulary`,
      `${weights.idVocabulary.length} ids, but the id table has ${weights.embeddings[0]?.rows} rows`,
    );
  }
  const p = spec.numeric.length;
  if (weights.numeric.means.length !== p || weights.numeric.sds.length !== p) {
    throw mismatch(
      `${input}.numeric`,
      `${weights.numeric.means.length} means and ${weights.numeric.sds.length} sds for ${p} columns`,
    );
  }
  return {
    tables: weights.embeddings.map((table) => table.table),
    layers: weights.layers.map((layer) => ({ weights: layer.weights, bias: layer.bias })),
  };
}
