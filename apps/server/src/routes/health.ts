import type { FastifyInstance } from 'fastify';
import type { FeatureColumn, ServedModel } from '../model-state.js';
import type { RouteContext } from './context.js';

/** What `/readyz` and a reload say about the model being served. */
export interface ModelInfo {
  kind: string;
  /** A short hash of the manifest. */
  version: string;
  /** 1 at start, +1 per successful reload. */
  generation: number;
  /** ISO time at which it was loaded. */
  loadedAt: string;
  /** Scoring models: the features a row gives, in array order. */
  features?: FeatureColumn[];
  /** Scoring models: `in-process` or `onnxruntime`. */
  runtime?: string;
  /** Retrieval exports: the embedding width. */
  dimension?: number;
  /** Retrieval exports: items in the index. */
  items?: number;
  /** Retrieval exports: users with trained embeddings. */
  users?: number;
  /** Retrieval exports: `exact` or `hnsw`. */
  index?: string;
  /** Retrieval exports: whether new users (items) can be embedded from features. */
  userTower?: boolean;
  itemTower?: boolean;
}

/**
 * The facts about a model that clients may rely on (no file paths).
 *
 * @param model - the model
 * @returns its info
 * @example
 * ```ts
 * modelInfo(state.model).version; // 'a1b2c3d4e5f6'
 * ```
 */
export function modelInfo(model: ServedModel): ModelInfo {
  const base = {
    kind: model.kind,
    version: model.version,
    generation: model.generation,
    loadedAt: model.loadedAt.toISOString(),
  };
  if (model.kind !== 'two-tower') return { ...base, features: [...model.features], runtime: model.runtime };
  return {
    ...base,
    dimension: model.dimension,
    items: model.items.ids.length,
    users: model.users?.ids.length ?? 0,
    index: model.index.kind,
    userTower: model.userTower !== null,
    itemTower: model.itemTower !== null,
  };
}

/** A JSON-schema fragment: {@link ModelInfo}. */
export const MODEL_INFO_SCHEMA = {
  type: 'object',
  properties: {
    kind: { type: 'string' },
    version: { type: 'string' },
    generation: { type: 'integer' },
    loadedAt: { type: 'string' },
    features: {
      type: 'array',
      items: { type: 'object', properties: { name: { type: 'string' }, type: { type: 'string' } } },
    },
    runtime: { type: 'string' },
    dimension: { type: 'integer' },
    items: { type: 'integer' },
    users: { type: 'integer' },
    index: { type: 'string' },
    userTower: { type: 'boolean' },
    itemTower: { type: 'boolean' },
  },
  required: ['kind', 'version', 'generation', 'loadedAt'],
} as const;

/**
 * Registers `GET /healthz` (the process answers), `GET /readyz` (a model is loaded and the server is
 * not shutting down; 503 otherwise) and `GET /metrics` (Prometheus text).
 *
 * @param app - the Fastify instance
 * @param context - the model state, metrics and shutdown flag
 * @returns nothing
 */
export function registerHealthRoutes(app: FastifyInstance, context: RouteContext): void {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: the process answers',
        response: {
          200: { type: 'object', properties: { status: { type: 'string' } }, required: ['status'] },
        },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: a model is loaded and the server is not shutting down',
        response: {
          200: {
            type: 'object',
            properties: {
              ready: { type: 'boolean' },
              reloading: { type: 'boolean' },
              model: MODEL_INFO_SCHEMA,
            },
            required: ['ready', 'model'],
          },
          503: {
            type: 'object',
            properties: { ready: { type: 'boolean' }, reason: { type: 'string' } },
            required: ['ready', 'reason'],
          },
        },
      },
    },
    async (_request, reply) => {
      if (context.closing()) {
        return reply.code(503).send({ ready: false, reason: 'shutting down' });
      }
      return { ready: true, reloading: context.state.isReloading, model: modelInfo(context.state.model) };
    },
  );

  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics (text exposition format)' } },
    async (_request, reply) => {
      const text = await context.metrics.registry.metrics();
      return reply.type(context.metrics.registry.contentType).send(text);
    },
  );
}
