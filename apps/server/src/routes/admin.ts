import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RarefyServerError } from '../errors.js';
import { ERROR_SCHEMA, type RouteContext } from './context.js';
import { MODEL_INFO_SCHEMA, type ModelInfo, modelInfo } from './health.js';

/** The body of `POST /v1/admin/reload` (optional: without it the same folder is loaded again). */
export interface ReloadRequest {
  /** The export folder to load (default: the folder of the model being served). */
  model?: string;
}

/** The response of a successful reload. */
export interface ReloadResponse {
  /** The model now served. */
  model: ModelInfo;
  /** The version it replaced. */
  previousVersion: string;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function authorize(request: FastifyRequest, expected: Buffer): void {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
  // Compares digests, so the comparison takes the same time whatever the token's length.
  if (match === null || !timingSafeEqual(digest(match[1] as string), expected)) {
    throw new RarefyServerError(
      'RAREFY_UNAUTHORIZED',
      401,
      match === null ? 'Authorization: no bearer token' : 'Authorization: the bearer token is wrong',
      'send `Authorization: Bearer <token>` with the token in the server’s RAREFY_ADMIN_TOKEN',
      { input: 'Authorization', headers: { 'www-authenticate': 'Bearer realm="rarefy-admin"' } },
    );
  }
}

/**
 * Registers `POST /v1/admin/reload`, protected by a bearer token: loads an export (by default the
 * same folder again), checks it whole, and swaps it in; requests in flight finish on the old model.
 * A broken export is refused (422) and the old model keeps serving. Without a token the route is
 * not registered at all (404).
 *
 * @param app - the Fastify instance
 * @param context - the model state and metrics
 * @param token - the bearer token (from RAREFY_ADMIN_TOKEN)
 * @returns nothing
 */
export function registerAdminRoutes(app: FastifyInstance, context: RouteContext, token: string): void {
  const expected = digest(token);
  app.post<{ Body: ReloadRequest | undefined }>(
    '/v1/admin/reload',
    {
      schema: {
        summary: 'Load a new export and swap it in atomically (bearer token)',
        description:
          'Loads and checks the whole export while the current model keeps serving, then swaps it in; requests ' +
          'in flight finish on the old model. A broken export is refused with 422 and changes nothing.',
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { model: { type: 'string', minLength: 1 } },
        },
        response: {
          200: {
            type: 'object',
            properties: { model: MODEL_INFO_SCHEMA, previousVersion: { type: 'string' } },
            required: ['model', 'previousVersion'],
          },
          '4xx': ERROR_SCHEMA,
        },
      },
      onRequest: async (request) => authorize(request, expected),
      // No body at all means "the same folder again".
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request): Promise<ReloadResponse> => {
      const previousVersion = context.state.model.version;
      try {
        const model = await context.state.reload(request.body?.model);
        context.metrics.observeReload('swapped');
        request.log.info({ version: model.version, previousVersion }, 'model reloaded');
        return { model: modelInfo(model), previousVersion };
      } catch (error) {
        context.metrics.observeReload('refused');
        throw error;
      }
    },
  );
}
