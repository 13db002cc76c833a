import type { AddressInfo } from 'node:net';
import swagger from '@fastify/swagger';
import { isRarefyError, RarefyError } from '@rarefy/sampling-core';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { ConcurrencyLimiter } from './concurrency.js';
import {
  type ErrorResponseBody,
  isRarefyServerError,
  RarefyServerError,
  requestInputError,
  type ValidationIssue,
  validationError,
} from './errors.js';
import { ServerMetrics } from './metrics.js';
import { ModelState } from './model-state.js';
import type { RecommendIndexOptions } from './recommend-index.js';
import { registerAdminRoutes } from './routes/admin.js';
import { LIMITED_ROUTES, type RequestLimits, type RouteContext } from './routes/context.js';
import { registerEmbedRoute } from './routes/embed.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerRecommendRoutes } from './routes/recommend.js';
import { registerScoreRoute } from './routes/score.js';

/** The host the server listens on unless told otherwise: loopback only. */
export const DEFAULT_HOST = '127.0.0.1';
/** The port the server listens on unless told otherwise. */
export const DEFAULT_PORT = 8080;

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** The export folder to serve (from `rarefy fit --save` or `rarefy train-retrieval --out`). */
  model: string;
  /** The recommendation index of a retrieval export (default `auto`: exact up to 20,000 items, else HNSW). */
  index?: RecommendIndexOptions;
  /** The largest `k` of a recommendation (default 1,000). */
  maxK?: number;
  /** The most rows per `/v1/score` request (default 10,000). */
  maxRows?: number;
  /** The most ids or feature rows per `/v1/embed` request (default 1,000). */
  maxBatch?: number;
  /** The most ids in an `exclude` list (default 10,000). */
  maxExclude?: number;
  /** The most model requests answered at once; more are refused with 503 and Retry-After (default 256). */
  maxInFlight?: number;
  /** What `Retry-After` says on a 503, in seconds (default 1). */
  retryAfterSeconds?: number;
  /** The largest body accepted, in bytes (default 1 MiB); larger ones get 413. */
  bodyLimit?: number;
  /**
   * The bearer token of `POST /v1/admin/reload` (the CLI passes RAREFY_ADMIN_TOKEN). Without one the
   * endpoint does not exist (404).
   */
  adminToken?: string;
  /** Fastify's logger option (default false: no logs). */
  logger?: FastifyServerOptions['logger'];
  /** Also export Node's process metrics on /metrics (default true). */
  defaultMetrics?: boolean;
}

/** What {@link createServer} adds to the Fastify instance, under `rarefy`. */
export interface RarefyServerState {
  /** The model being served and its reload. */
  readonly state: ModelState;
  /** The Prometheus metrics. */
  readonly metrics: ServerMetrics;
  /** The in-flight limit. */
  readonly limiter: ConcurrencyLimiter;
}

/** The Fastify instance {@link createServer} returns. */
export type RarefyServer = FastifyInstance & { readonly rarefy: RarefyServerState };

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen < 1) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `${name}: ${chosen} is not a positive integer`,
      `pass e.g. ${fallback}`,
      {
        input: name,
      },
    );
  }
  return chosen;
}

function errorBody(code: string, message: string, input: string | null): ErrorResponseBody {
  return { error: { code, message, input } };
}

/**
 * Turns anything a request raised into the server error to answer with. Bad input is always a 4xx
 * naming the field: schema violations and malformed JSON 400, oversized bodies 413, a wrong content
 * type 415; a Rarefy package error raised on the request's data 400. Anything else is a 500.
 */
function toServerError(error: FastifyError | Error): RarefyServerError | null {
  if (isRarefyServerError(error)) return error;
  if (isRarefyError(error)) return requestInputError(error);
  const fastifyError = error as FastifyError & { validationContext?: string };
  if (Array.isArray(fastifyError.validation)) {
    return validationError(
      fastifyError.validationContext ?? 'body',
      fastifyError.validation as ValidationIssue[],
    );
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RarefyServerError(
        'RAREFY_BODY_TOO_LARGE',
        413,
        'body: larger than the server accepts',
        'send fewer rows or ids per request (or start the server with a larger bodyLimit)',
        { input: 'body' },
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new RarefyServerError(
        'RAREFY_UNSUPPORTED_MEDIA_TYPE',
        415,
        `Content-Type: ${fastifyError.message}`,
        'send the body as JSON with `Content-Type: application/json`',
        { input: 'Content-Type' },
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new RarefyServerError(
        'RAREFY_BAD_REQUEST',
        400,
        'body: empty, but Content-Type says JSON',
        'send a JSON object',
        { input: 'body' },
      );
    default:
      break;
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const json = error instanceof SyntaxError || fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY';
    return new RarefyServerError(
      'RAREFY_BAD_REQUEST',
      status,
      json ? `body: not valid JSON (${error.message})` : `request: ${error.message}`,
      json ? 'send a well-formed JSON object' : 'fix the request',
      { input: json ? 'body' : 'request' },
    );
  }
  return null;
}

/**
 * Creates the Rarefy HTTP server for one model export and loads the model: Fastify 5 with
 * JSON-schema validated endpoints, OpenAPI at `/docs`, Prometheus metrics, a bounded number of
 * requests in flight, and atomic model reload. It does not listen yet: call `listen` (host
 * `127.0.0.1` unless you need otherwise) or test it with `inject`. `close()` stops accepting
 * connections, lets the requests in flight finish, then frees the model.
 *
 * Endpoints: `POST /v1/score` (classifiers), `POST /v1/recommend`, `POST /v1/similar-items`,
 * `POST /v1/embed` (retrieval exports), `GET /healthz`, `GET /readyz`, `GET /metrics`, `GET /docs`,
 * and `POST /v1/admin/reload` when `adminToken` is set.
 *
 * @param options - the model folder, limits, admin token, logger
 * @returns the Fastify instance, with `rarefy.state` (the model) and `rarefy.metrics`
 * @throws RarefyIoError when the model cannot be loaded (missing, malformed, damaged);
 *   RarefyError `RAREFY_INVALID_ARGUMENT` for a limit that is not a positive integer
 * @example
 * ```ts
 * const app = await createServer({ model: 'models/ctr' });
 * const url = await listen(app, { port: 8080 }); // http://127.0.0.1:8080
 * // ...
 * await app.close(); // drains
 * ```
 */
export async function createServer(options: ServerOptions): Promise<RarefyServer> {
  const limits: RequestLimits = {
    maxK: positiveInteger('maxK', options.maxK, 1000),
    maxRows: positiveInteger('maxRows', options.maxRows, 10_000),
    maxBatch: positiveInteger('maxBatch', options.maxBatch, 1000),
    maxExclude: positiveInteger('maxExclude', options.maxExclude, 10_000),
  };
  const limiter = new ConcurrencyLimiter(
    positiveInteger('maxInFlight', options.maxInFlight, 256),
    positiveInteger('retryAfterSeconds', options.retryAfterSeconds, 1),
  );
  const bodyLimit = positiveInteger('bodyLimit', options.bodyLimit, 1024 * 1024);
  if (options.adminToken !== undefined && options.adminToken.length === 0) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      'adminToken: empty',
      'pass a long random token, or leave it out to turn the admin endpoint off',
      { input: 'adminToken' },
    );
  }
  const state = await ModelState.open(
    options.model,
    options.index === undefined ? {} : { index: options.index },
  );
  try {
    const metrics = new ServerMetrics({ defaultMetrics: options.defaultMetrics ?? true });
    state.onSwap((model) =>
      metrics.setModel({
        version: model.version,
        kind: model.kind,
        generation: model.generation,
        indexSize: model.kind === 'two-tower' ? model.index.size : 0,
        indexKind: model.kind === 'two-tower' ? model.index.kind : 'none',
      }),
    );

    let closing = false;
    const app = Fastify({
      logger: options.logger ?? false,
      bodyLimit,
      return503OnClosing: true,
      ajv: {
        customOptions: {
          // Wrong types are errors, not silently converted; unknown fields are errors, not dropped.
          coerceTypes: false,
          removeAdditional: false,
          useDefaults: true,
          allErrors: false,
          allowUnionTypes: true,
        },
      },
    });
    // Bodies are JSON only: a text/plain body is refused with 415, not parsed into a string.
    app.removeContentTypeParser('text/plain');
    const context: RouteContext = { state, metrics, limits, closing: () => closing };
    const decorated = app.decorate('rarefy', { state, metrics, limiter } satisfies RarefyServerState);

    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'Rarefy server',
          description:
            'Calibrated probabilities from corrected rare-event classifiers and top-K recommendations from two-tower ' +
            'retrieval models. Errors are `{ error: { code, message, input } }`.',
          version: '0.1.0',
        },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      },
    });

    // Callback hooks (not async): these run on every request, and a promise each costs time.
    app.addHook('onRequest', (request, reply, done) => {
      if (!LIMITED_ROUTES.has(request.routeOptions.url ?? '')) {
        done();
        return;
      }
      let release: () => void;
      try {
        release = limiter.acquire();
      } catch (error) {
        metrics.observeOverload();
        done(error as RarefyServerError);
        return;
      }
      metrics.inFlight.set(limiter.inFlight);
      reply.raw.once('close', () => {
        release();
        metrics.inFlight.set(limiter.inFlight);
      });
      done();
    });
    app.addHook('onResponse', (request, reply, done) => {
      metrics.observeRequest(
        request.method,
        request.routeOptions.url ?? 'unmatched',
        reply.statusCode,
        reply.elapsedTime / 1000,
      );
      done();
    });
    app.addHook('preClose', async () => {
      closing = true;
    });
    app.addHook('onClose', async () => {
      await state.close();
    });

    app.setErrorHandler(async (error: FastifyError, request, reply) => {
      const known = toServerError(error);
      if (known === null) {
        if (isClientGone(error)) return reply;
        request.log.error({ err: error }, 'request failed');
        return reply
          .code(500)
          .send(
            errorBody(
              'RAREFY_INTERNAL',
              `server: ${error.message} (a bug: please report it with the request)`,
              null,
            ),
          );
      }
      if (known.statusCode >= 500) request.log.warn({ code: known.code }, known.message);
      return reply
        .code(known.statusCode)
        .headers(known.headers)
        .send(errorBody(known.code, known.message, known.input ?? null));
    });
    app.setNotFoundHandler(async (request, reply) =>
      reply
        .code(404)
        .send(
          errorBody(
            'RAREFY_NOT_FOUND',
            `${request.method} ${request.url.split('?')[0]}: no such endpoint. Fix: see the endpoints at /docs`,
            null,
          ),
        ),
    );

    const openapi = { schema: { hide: true } };
    app.get('/docs', openapi, async () => app.swagger());
    app.get('/docs/json', openapi, async () => app.swagger());
    registerHealthRoutes(app, context);
    registerScoreRoute(app, context);
    registerRecommendRoutes(app, context);
    registerEmbedRoute(app, context);
    if (options.adminToken !== undefined) registerAdminRoutes(app, context, options.adminToken);

    await app.ready();
    return decorated as RarefyServer;
  } catch (error) {
    await state.close();
    throw error;
  }
}

/** A client that went away mid-response: nothing to answer. */
function isClientGone(error: FastifyError): boolean {
  return error.code === 'ECONNRESET' || error.code === 'EPIPE';
}

/** Where {@link listen} listens. */
export interface ListenOptions {
  /** The host (default `127.0.0.1`: loopback only). */
  host?: string;
  /** The port (default 8080; 0 picks a free one). */
  port?: number;
}

/**
 * Starts listening (on `127.0.0.1:8080` unless told otherwise) and returns the address served.
 *
 * @param app - a server from {@link createServer}
 * @param options - host and port
 * @returns the URL, `http://HOST:PORT` with the port actually bound (IPv6 hosts in brackets)
 * @example
 * ```ts
 * const url = await listen(await createServer({ model: 'models/ctr' }), { port: 0 });
 * ```
 */
export async function listen(app: FastifyInstance, options: ListenOptions = {}): Promise<string> {
  await app.listen({ host: options.host ?? DEFAULT_HOST, port: options.port ?? DEFAULT_PORT });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
