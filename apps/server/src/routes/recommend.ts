import { isRarefyError } from '@rarefy/sampling-core';
import type { FastifyInstance } from 'fastify';
import { RarefyServerError, requestInputError } from '../errors.js';
import type { EmbeddingTable, RetrievalModel } from '../model-state.js';
import type { FeatureRow } from '../tower.js';
import {
  ERROR_SCHEMA,
  FEATURE_ROW_SCHEMA,
  MODEL_REF_SCHEMA,
  modelRef,
  type RouteContext,
  requireRetrieval,
} from './context.js';

/** The default number of items a recommendation returns. */
export const DEFAULT_K = 10;

/** The body of `POST /v1/recommend`: a known user by id, or a user's features (cold start). */
export interface RecommendRequest {
  /** A user the model was trained with. */
  userId?: string;
  /** A user's features, embedded by the export's user tower. */
  userFeatures?: FeatureRow;
  /** How many items (default 10, at most the server's limit, 1,000 by default). */
  k?: number;
  /** Item ids never to return (already seen); ids the model does not know are ignored. */
  exclude?: string[];
}

/** The body of `POST /v1/similar-items`. */
export interface SimilarItemsRequest {
  /** An item the model knows. */
  itemId: string;
  /** How many items (default 10); the item itself is never returned. */
  k?: number;
  /** Item ids never to return; ids the model does not know are ignored. */
  exclude?: string[];
}

/** One recommended item. */
export interface ScoredItem {
  itemId: string;
  /** The inner product <query, item> of the L2-normalised embeddings (in [-1, 1]). */
  score: number;
}

/** The response of `POST /v1/recommend` and `POST /v1/similar-items`. */
export interface RecommendResponse {
  /** Best first. */
  items: ScoredItem[];
  model: { version: string; kind: string };
}

/**
 * The rows of the ids to exclude, ascending and distinct, plus `also` (a row to exclude in any case).
 * Ids the model does not know are skipped: a client may send a whole history, items since removed
 * from the catalogue included.
 */
function excludedRows(items: EmbeddingTable, ids: readonly string[] | undefined, also?: number): Int32Array {
  const rows: number[] = also === undefined ? [] : [also];
  for (const id of ids ?? []) {
    const row = items.rows.get(id);
    if (row !== undefined) rows.push(row);
  }
  const sorted = Int32Array.from(rows).sort();
  let kept = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[kept++] = sorted[i] as number;
  }
  return sorted.subarray(0, kept);
}

function embeddingRow(table: EmbeddingTable, row: number, dimension: number): Float32Array {
  return table.embeddings.subarray(row * dimension, (row + 1) * dimension);
}

async function search(
  model: RetrievalModel,
  query: Float32Array,
  k: number,
  exclude: Int32Array,
): Promise<RecommendResponse> {
  const found = await model.index.search(query, k, exclude);
  const items: ScoredItem[] = new Array(found.indices.length);
  for (let i = 0; i < found.indices.length; i++) {
    items[i] = {
      itemId: model.items.ids[found.indices[i] as number] as string,
      score: found.scores[i] as number,
    };
  }
  return { items, model: modelRef(model) };
}

async function userQuery(model: RetrievalModel, body: RecommendRequest): Promise<Float32Array> {
  const byId = body.userId !== undefined;
  const byFeatures = body.userFeatures !== undefined;
  if (byId === byFeatures) {
    throw new RarefyServerError(
      'RAREFY_BAD_REQUEST',
      400,
      byId
        ? 'body: both userId and userFeatures are given'
        : 'body: neither userId nor userFeatures is given',
      'send exactly one of them: userId for a known user, userFeatures for a new one',
      { input: 'body' },
    );
  }
  if (byId) {
    if (model.users === null) {
      throw new RarefyServerError(
        'RAREFY_NOT_SUPPORTED',
        409,
        'body.userId: the export has no user embeddings',
        model.userTower === null
          ? 'export the model with its user embeddings'
          : 'send userFeatures (the export has a user tower)',
        { input: 'body.userId' },
      );
    }
    const row = model.users.rows.get(body.userId as string);
    if (row === undefined) {
      throw new RarefyServerError(
        'RAREFY_UNKNOWN_ID',
        404,
        `body.userId: no user ${JSON.stringify(body.userId)} in the model (it knows ${model.users.ids.length} users)`,
        model.userTower === null
          ? 'pass an id the model was trained with'
          : 'pass an id the model was trained with, or the user’s features as userFeatures',
        { input: 'body.userId' },
      );
    }
    return embeddingRow(model.users, row, model.dimension);
  }
  if (model.userTower === null) {
    throw new RarefyServerError(
      'RAREFY_NOT_SUPPORTED',
      409,
      'body.userFeatures: the export has no user tower to embed features with',
      'send userId for a known user, or export the model with its user tower',
      { input: 'body.userFeatures' },
    );
  }
  try {
    return await model.userTower.embed([body.userFeatures as FeatureRow], 'body.userFeatures');
  } catch (error) {
    if (isRarefyError(error)) throw requestInputError(error);
    throw error;
  }
}

/**
 * Registers `POST /v1/recommend` (top-K items for a user) and `POST /v1/similar-items` (top-K items
 * for an item).
 *
 * @param app - the Fastify instance
 * @param context - the model state and limits
 * @returns nothing
 */
export function registerRecommendRoutes(app: FastifyInstance, context: RouteContext): void {
  const { maxK, maxExclude } = context.limits;
  const k = { type: 'integer', minimum: 1, maximum: maxK, default: DEFAULT_K };
  const exclude = { type: 'array', maxItems: maxExclude, items: { type: 'string' } };
  const response = {
    200: {
      type: 'object',
      properties: {
        items: {
          type: 'array',
          items: {
            type: 'object',
            properties: { itemId: { type: 'string' }, score: { type: 'number' } },
            required: ['itemId', 'score'],
          },
        },
        model: MODEL_REF_SCHEMA,
      },
      required: ['items', 'model'],
    },
    '4xx': ERROR_SCHEMA,
  };

  app.post<{ Body: RecommendRequest }>(
    '/v1/recommend',
    {
      schema: {
        summary: 'Top-K items for a user',
        description:
          'A known user by userId, or a new user by userFeatures (embedded by the export’s user tower). Items listed ' +
          'in exclude are never returned. Scores are the inner products of the L2-normalised embeddings.',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            userId: { type: 'string', minLength: 1 },
            userFeatures: FEATURE_ROW_SCHEMA,
            k,
            exclude,
          },
        },
        response,
      },
    },
    async (request) => {
      const lease = context.state.acquire();
      try {
        const model = requireRetrieval(lease.model, 'POST /v1/recommend');
        const query = await userQuery(model, request.body);
        return await search(
          model,
          query,
          request.body.k ?? DEFAULT_K,
          excludedRows(model.items, request.body.exclude),
        );
      } finally {
        lease.release();
      }
    },
  );

  app.post<{ Body: SimilarItemsRequest }>(
    '/v1/similar-items',
    {
      schema: {
        summary: 'Top-K items like an item',
        description:
          'The items whose embeddings have the largest inner product with the item’s; never the item itself.',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['itemId'],
          properties: { itemId: { type: 'string', minLength: 1 }, k, exclude },
        },
        response,
      },
    },
    async (request) => {
      const lease = context.state.acquire();
      try {
        const model = requireRetrieval(lease.model, 'POST /v1/similar-items');
        const { itemId } = request.body;
        const row = model.items.rows.get(itemId);
        if (row === undefined) {
          throw new RarefyServerError(
            'RAREFY_UNKNOWN_ID',
            404,
            `body.itemId: no item ${JSON.stringify(itemId)} in the model (it knows ${model.items.ids.length} items)`,
            'pass an item id of the export',
            { input: 'body.itemId' },
          );
        }
        const query = embeddingRow(model.items, row, model.dimension);
        return await search(
          model,
          query,
          request.body.k ?? DEFAULT_K,
          excludedRows(model.items, request.body.exclude, row),
        );
      } finally {
        lease.release();
      }
    },
  );
}
