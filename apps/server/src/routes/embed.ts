import { isRarefyError } from '@rarefy/sampling-core';
import type { FastifyInstance } from 'fastify';
import { RarefyServerError, requestInputError } from '../errors.js';
import type { EmbeddingTable, RetrievalModel } from '../model-state.js';
import type { FeatureRow, OnnxTower } from '../tower.js';
import {
  ERROR_SCHEMA,
  FEATURE_ROW_SCHEMA,
  MODEL_REF_SCHEMA,
  modelRef,
  type RouteContext,
  requireRetrieval,
} from './context.js';

/** The body of `POST /v1/embed`: exactly one of the four fields. */
export interface EmbedRequest {
  /** Users the model knows. */
  userIds?: string[];
  /** Items the model knows. */
  itemIds?: string[];
  /** New users' features (needs the export's user tower). */
  userFeatures?: FeatureRow[];
  /** New items' features (needs the export's item tower). */
  itemFeatures?: FeatureRow[];
}

/** The response of `POST /v1/embed`: one L2-normalised embedding per id or feature row, in order. */
export interface EmbedResponse {
  dimension: number;
  /** With `id` for ids, without for feature rows. */
  embeddings: Array<{ id?: string; embedding: number[] }>;
  model: { version: string; kind: string };
}

const FIELDS = ['userIds', 'itemIds', 'userFeatures', 'itemFeatures'] as const;

function byIds(table: EmbeddingTable | null, ids: readonly string[], field: string, dimension: number) {
  if (table === null) {
    throw new RarefyServerError(
      'RAREFY_NOT_SUPPORTED',
      409,
      `body.${field}: the export has no user embeddings`,
      'send userFeatures (when the export has a user tower), or export the model with its user embeddings',
      { input: `body.${field}` },
    );
  }
  return ids.map((id, i) => {
    const row = table.rows.get(id);
    if (row === undefined) {
      throw new RarefyServerError(
        'RAREFY_UNKNOWN_ID',
        404,
        `body.${field}[${i}]: the model has no ${field === 'userIds' ? 'user' : 'item'} ${JSON.stringify(id)}`,
        'pass ids of the export',
        { input: `body.${field}[${i}]` },
      );
    }
    return { id, embedding: Array.from(table.embeddings.subarray(row * dimension, (row + 1) * dimension)) };
  });
}

async function byFeatures(
  tower: OnnxTower | null,
  rows: readonly FeatureRow[],
  field: string,
  dimension: number,
) {
  if (tower === null) {
    throw new RarefyServerError(
      'RAREFY_NOT_SUPPORTED',
      409,
      `body.${field}: the export has no ${field === 'userFeatures' ? 'user' : 'item'} tower to embed features with`,
      'send ids of the export, or export the model with its towers',
      { input: `body.${field}` },
    );
  }
  let embeddings: Float32Array;
  try {
    embeddings = await tower.embed(rows, `body.${field}`, true);
  } catch (error) {
    if (isRarefyError(error)) throw requestInputError(error);
    throw error;
  }
  return rows.map((_, i) => ({
    embedding: Array.from(embeddings.subarray(i * dimension, (i + 1) * dimension)),
  }));
}

async function embed(model: RetrievalModel, body: EmbedRequest): Promise<EmbedResponse> {
  const given = FIELDS.filter((field) => body[field] !== undefined);
  if (given.length !== 1) {
    throw new RarefyServerError(
      'RAREFY_BAD_REQUEST',
      400,
      given.length === 0
        ? 'body: none of userIds, itemIds, userFeatures, itemFeatures is given'
        : `body: ${given.join(' and ')} are both given`,
      'send exactly one of userIds, itemIds, userFeatures, itemFeatures',
      { input: 'body' },
    );
  }
  const { dimension } = model;
  const field = given[0] as (typeof FIELDS)[number];
  let embeddings: EmbedResponse['embeddings'];
  if (field === 'userIds') embeddings = byIds(model.users, body.userIds as string[], field, dimension);
  else if (field === 'itemIds') embeddings = byIds(model.items, body.itemIds as string[], field, dimension);
  else if (field === 'userFeatures')
    embeddings = await byFeatures(model.userTower, body.userFeatures ?? [], field, dimension);
  else embeddings = await byFeatures(model.itemTower, body.itemFeatures ?? [], field, dimension);
  return { dimension, embeddings, model: modelRef(model) };
}

/**
 * Registers `POST /v1/embed`: the embeddings of users or items, by id or from features.
 *
 * @param app - the Fastify instance
 * @param context - the model state and limits
 * @returns nothing
 */
export function registerEmbedRoute(app: FastifyInstance, context: RouteContext): void {
  const { maxBatch } = context.limits;
  const ids = { type: 'array', minItems: 1, maxItems: maxBatch, items: { type: 'string', minLength: 1 } };
  const rows = { type: 'array', minItems: 1, maxItems: maxBatch, items: FEATURE_ROW_SCHEMA };
  app.post<{ Body: EmbedRequest }>(
    '/v1/embed',
    {
      schema: {
        summary: 'Embeddings of users or items',
        description:
          'Exactly one of userIds, itemIds (trained embeddings) or userFeatures, itemFeatures (embedded by the ' +
          'export’s towers). Every embedding is L2-normalised.',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { userIds: ids, itemIds: ids, userFeatures: rows, itemFeatures: rows },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              dimension: { type: 'integer' },
              embeddings: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    embedding: { type: 'array', items: { type: 'number' } },
                  },
                  required: ['embedding'],
                },
              },
              model: MODEL_REF_SCHEMA,
            },
            required: ['dimension', 'embeddings', 'model'],
          },
          '4xx': ERROR_SCHEMA,
        },
      },
    },
    async (request) => {
      const lease = context.state.acquire();
      try {
        return await embed(requireRetrieval(lease.model, 'POST /v1/embed'), request.body);
      } finally {
        lease.release();
      }
    },
  );
}
