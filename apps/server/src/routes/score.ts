import type { ColumnBatch, ColumnData, ColumnSchema } from '@rarefy/sampling-core';
import { isRarefyError } from '@rarefy/sampling-core';
import type { FastifyInstance } from 'fastify';
import { RarefyServerError, requestInputError } from '../errors.js';
import type { FeatureColumn, ScoringModel } from '../model-state.js';
import { ERROR_SCHEMA, MODEL_REF_SCHEMA, modelRef, type RouteContext, requireScoring } from './context.js';

/** The body of `POST /v1/score`. */
export interface ScoreRequest {
  /**
   * Rows of features: each an array in the model's feature order, or an object by feature name
   * (extra names are ignored). Strings are categories (hashed by a network that embeds them).
   */
  rows: Array<Array<number | string | null> | Record<string, number | string | null>>;
  /**
   * The keep probability of negatives in a sample (one for all rows, or one per row), in (0, 1]:
   * when given, the response also has each row's probability on that sample's scale.
   */
  pi?: number | number[];
}

/** The response of `POST /v1/score`. */
export interface ScoreResponse {
  /** Population-scale probabilities, one per row. */
  probabilities: number[];
  /** Probabilities on the scale of a sample that kept negatives with probability pi: p / (p + (1 - p) pi). */
  sampleProbabilities?: number[];
  model: { version: string; kind: string };
}

type Cell = number | string | null | undefined;

function cellAt(row: ScoreRequest['rows'][number], column: FeatureColumn, j: number): Cell {
  if (Array.isArray(row)) return row[j];
  return Object.hasOwn(row, column.name) ? row[column.name] : undefined;
}

/**
 * Builds the batch the model scores from the request's rows, checking every value and naming the
 * first bad one (`body.rows[3].x2`, `body.rows[0]` for an array of the wrong length).
 *
 * @param rows - the request's rows
 * @param features - the model's feature columns, in array order
 * @returns the batch
 * @throws RarefyServerError `RAREFY_DIMENSION_MISMATCH` or `RAREFY_BAD_REQUEST` (400)
 */
export function rowsToBatch(rows: ScoreRequest['rows'], features: readonly FeatureColumn[]): ColumnBatch {
  const n = rows.length;
  const order = features.map((feature) => feature.name).join(', ');
  for (let i = 0; i < n; i++) {
    const row = rows[i] as ScoreRequest['rows'][number];
    if (Array.isArray(row) && row.length !== features.length) {
      throw new RarefyServerError(
        'RAREFY_DIMENSION_MISMATCH',
        400,
        `body.rows[${i}] has ${row.length} value${row.length === 1 ? '' : 's'}, but the model reads ${features.length} features (${order})`,
        `send ${features.length} values in that order, or an object by feature name`,
        { input: `body.rows[${i}]` },
      );
    }
  }
  const columns: Record<string, ColumnData> = {};
  const schema: ColumnSchema[] = [];
  features.forEach((feature, j) => {
    const field = (i: number): string =>
      Array.isArray(rows[i]) ? `body.rows[${i}][${j}]` : `body.rows[${i}].${feature.name}`;
    if (feature.type === 'number') {
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const value = cellAt(rows[i] as ScoreRequest['rows'][number], feature, j);
        if (typeof value !== 'number') {
          throw new RarefyServerError(
            'RAREFY_BAD_REQUEST',
            400,
            value === undefined
              ? `${field(i)} is missing (the model reads ${order})`
              : `${field(i)} is ${JSON.stringify(value)}, not a number (feature "${feature.name}" is numeric)`,
            'send a finite number for every numeric feature',
            { input: field(i) },
          );
        }
        values[i] = value;
      }
      columns[feature.name] = values;
      schema.push({ name: feature.name, type: 'number' });
      return;
    }
    const dictionary = new Map<string, number>();
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const value = cellAt(rows[i] as ScoreRequest['rows'][number], feature, j);
      if (value === null || value === undefined) {
        codes[i] = -1;
        continue;
      }
      const text = String(value);
      let code = dictionary.get(text);
      if (code === undefined) {
        code = dictionary.size;
        dictionary.set(text, code);
      }
      codes[i] = code;
    }
    columns[feature.name] = { kind: 'dictionary', codes, values: [...dictionary.keys()] };
    schema.push({ name: feature.name, type: 'string' });
  });
  return { schema, rows: n, firstRow: 0, columns };
}

function keepProbabilities(pi: number | number[] | undefined, rows: number): Float64Array | null {
  if (pi === undefined) return null;
  if (Array.isArray(pi) && pi.length !== rows) {
    throw new RarefyServerError(
      'RAREFY_DIMENSION_MISMATCH',
      400,
      `body.pi has ${pi.length} values for ${rows} rows`,
      'send one pi for all rows, or one per row',
      { input: 'body.pi' },
    );
  }
  const values = Array.isArray(pi) ? Float64Array.from(pi) : new Float64Array(rows).fill(pi);
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (!(value > 0 && value <= 1)) {
      const field = Array.isArray(pi) ? `body.pi[${i}]` : 'body.pi';
      throw new RarefyServerError(
        'RAREFY_BAD_REQUEST',
        400,
        `${field} is ${value}, outside (0, 1]`,
        'send the keep probability of negatives in the sample, in (0, 1]',
        { input: field },
      );
    }
  }
  return values;
}

async function score(model: ScoringModel, body: ScoreRequest): Promise<ScoreResponse> {
  const batch = rowsToBatch(body.rows, model.features);
  const pi = keepProbabilities(body.pi, batch.rows);
  let probability: Float64Array;
  try {
    probability = await model.pilot.predictProbability(batch);
  } catch (error) {
    if (isRarefyError(error)) throw requestInputError(error);
    throw error;
  }
  const probabilities = Array.from(probability);
  if (pi === null) return { probabilities, model: modelRef(model) };
  const sampleProbabilities = probabilities.map((p, i) => {
    const keep = pi[i] as number;
    return p / (p + (1 - p) * keep);
  });
  return { probabilities, sampleProbabilities, model: modelRef(model) };
}

/**
 * Registers `POST /v1/score`: rows of features in, population probabilities out (and, given pi, the
 * probabilities on that sample's scale).
 *
 * @param app - the Fastify instance
 * @param context - the model state and limits
 * @returns nothing
 */
export function registerScoreRoute(app: FastifyInstance, context: RouteContext): void {
  const cell = { type: ['number', 'string', 'null'] };
  app.post<{ Body: ScoreRequest }>(
    '/v1/score',
    {
      schema: {
        summary: 'Population probabilities from the corrected classifier',
        description:
          'Rows are arrays in the model’s feature order (see /readyz) or objects by feature name. With pi (the ' +
          'keep probability of negatives in a sample, one or one per row) the response also gives p / (p + (1 - p) pi).',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['rows'],
          properties: {
            rows: {
              type: 'array',
              minItems: 1,
              maxItems: context.limits.maxRows,
              items: {
                type: ['array', 'object'],
                items: cell,
                maxItems: 10_000,
                maxProperties: 10_000,
                additionalProperties: cell,
              },
            },
            pi: {
              type: ['number', 'array'],
              items: { type: 'number' },
              maxItems: context.limits.maxRows,
            },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              probabilities: { type: 'array', items: { type: 'number' } },
              sampleProbabilities: { type: 'array', items: { type: 'number' } },
              model: MODEL_REF_SCHEMA,
            },
            required: ['probabilities', 'model'],
          },
          '4xx': ERROR_SCHEMA,
        },
      },
    },
    async (request) => {
      const lease = context.state.acquire();
      try {
        return await score(requireScoring(lease.model, 'POST /v1/score'), request.body);
      } finally {
        lease.release();
      }
    },
  );
}
