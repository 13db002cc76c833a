import { RarefyServerError } from '../errors.js';
import type { ServerMetrics } from '../metrics.js';
import type { ModelState, RetrievalModel, ScoringModel, ServedModel } from '../model-state.js';

/** The limits every request is checked against. */
export interface RequestLimits {
  /** The largest `k` of a recommendation (default 1,000). */
  readonly maxK: number;
  /** The most rows per `/v1/score` request (default 10,000). */
  readonly maxRows: number;
  /** The most ids or feature rows per `/v1/embed` request (default 1,000). */
  readonly maxBatch: number;
  /** The most ids in an `exclude` list (default 10,000). */
  readonly maxExclude: number;
}

/** What the routes share: the model state, the metrics and the limits. */
export interface RouteContext {
  readonly state: ModelState;
  readonly metrics: ServerMetrics;
  readonly limits: RequestLimits;
  /** Set once shutdown has started (readyz answers 503 from then on). */
  readonly closing: () => boolean;
}

/**
 * The endpoints that count against the in-flight limit (the model endpoints). Health, readiness,
 * metrics and the admin endpoint answer even under overload.
 */
export const LIMITED_ROUTES: ReadonlySet<string> = new Set([
  '/v1/score',
  '/v1/recommend',
  '/v1/similar-items',
  '/v1/embed',
]);

/**
 * The model as a scoring model, or a 409 naming what is loaded.
 *
 * @param model - the leased model
 * @param route - the endpoint, for the message
 * @returns the model
 * @throws RarefyServerError `RAREFY_WRONG_MODEL_KIND` (409)
 */
export function requireScoring(model: ServedModel, route: string): ScoringModel {
  if (model.kind !== 'two-tower') return model;
  throw new RarefyServerError(
    'RAREFY_WRONG_MODEL_KIND',
    409,
    `${route}: this server serves a two-tower retrieval export, which scores no rows`,
    'use /v1/recommend, /v1/similar-items or /v1/embed, or serve a model from `rarefy fit --save`',
  );
}

/**
 * The model as a retrieval export, or a 409 naming what is loaded.
 *
 * @param model - the leased model
 * @param route - the endpoint, for the message
 * @returns the model
 * @throws RarefyServerError `RAREFY_WRONG_MODEL_KIND` (409)
 */
export function requireRetrieval(model: ServedModel, route: string): RetrievalModel {
  if (model.kind === 'two-tower') return model;
  throw new RarefyServerError(
    'RAREFY_WRONG_MODEL_KIND',
    409,
    `${route}: this server serves a ${model.kind} classifier, which has no items to recommend`,
    'use /v1/score, or serve an export from `rarefy train-retrieval --out`',
  );
}

/** A JSON-schema fragment: a feature value (number, string or null). */
export const FEATURE_VALUE_SCHEMA = { type: ['number', 'string', 'null'] } as const;

/** A JSON-schema fragment: one row of features by name. */
export const FEATURE_ROW_SCHEMA = {
  type: 'object',
  maxProperties: 10_000,
  additionalProperties: FEATURE_VALUE_SCHEMA,
} as const;

/** A JSON-schema fragment: the model facts every response carries. */
export const MODEL_REF_SCHEMA = {
  type: 'object',
  properties: { version: { type: 'string' }, kind: { type: 'string' } },
  required: ['version', 'kind'],
} as const;

/**
 * The `{ version, kind }` reference to the model that answered.
 *
 * @param model - the model
 * @returns its version and kind
 */
export function modelRef(model: ServedModel): { version: string; kind: string } {
  return { version: model.version, kind: model.kind };
}

/** A JSON-schema fragment: the error body. */
export const ERROR_SCHEMA = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        input: { type: ['string', 'null'] },
      },
      required: ['code', 'message', 'input'],
    },
  },
  required: ['error'],
} as const;
