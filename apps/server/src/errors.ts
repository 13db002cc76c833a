import type { RarefyError, RarefyErrorCode } from '@rarefy/sampling-core';

/**
 * The stable codes of the errors the server answers with (in the JSON body's `error.code`). Errors
 * raised by the Rarefy packages keep their own `RAREFY_*` code (a request whose rows hold a string
 * where a number belongs answers `RAREFY_INVALID_ARGUMENT`, for example).
 */
export type ServerErrorCode =
  /** The body is not valid JSON, or does not match the endpoint's schema (a field's type or range). */
  | 'RAREFY_BAD_REQUEST'
  /** The body is larger than the server's `bodyLimit`. */
  | 'RAREFY_BODY_TOO_LARGE'
  /** The body is not `application/json`. */
  | 'RAREFY_UNSUPPORTED_MEDIA_TYPE'
  /** A user or item id the loaded model does not know. */
  | 'RAREFY_UNKNOWN_ID'
  /** A feature vector or embedding of the wrong length. */
  | 'RAREFY_DIMENSION_MISMATCH'
  /** The loaded model cannot answer this endpoint (scoring a retrieval export, or the reverse). */
  | 'RAREFY_WRONG_MODEL_KIND'
  /** The loaded model lacks what the request needs (no user tower for `userFeatures`, no user ids). */
  | 'RAREFY_NOT_SUPPORTED'
  /** No route for this method and path. */
  | 'RAREFY_NOT_FOUND'
  /** The admin endpoint was called without the right bearer token. */
  | 'RAREFY_UNAUTHORIZED'
  /** Too many requests in flight: retry after the `Retry-After` seconds. */
  | 'RAREFY_OVERLOADED'
  /** Another reload is still loading a model. */
  | 'RAREFY_RELOAD_IN_PROGRESS'
  /** A reload was refused: the new export cannot be loaded (the old model keeps serving). */
  | 'RAREFY_MODEL_REFUSED'
  /** The new export is of another kind than the model being served. */
  | 'RAREFY_MODEL_KIND_CHANGED'
  /** The server is shutting down. */
  | 'RAREFY_SHUTTING_DOWN'
  /** A bug: the server failed on a valid request. */
  | 'RAREFY_INTERNAL';

/** The JSON body of every error response. */
export interface ErrorResponseBody {
  error: {
    /** A {@link ServerErrorCode} or a Rarefy package's `RAREFY_*` code. */
    code: string;
    /** What went wrong and what to do about it. */
    message: string;
    /** The field or input at fault (`body.k`, `body.rows[3]`, `Authorization`), or null. */
    input: string | null;
  };
}

/** Extra fields of a {@link RarefyServerError}. */
export interface RarefyServerErrorOptions {
  /** The field or input at fault (`body.k`). */
  input?: string;
  /** Response headers to send with the error (`Retry-After`, `WWW-Authenticate`). */
  headers?: Readonly<Record<string, string>>;
  /** The error that caused this one. */
  cause?: unknown;
}

/**
 * An error the server answers with: a stable {@link ServerErrorCode}, the HTTP status, the input at
 * fault, and a message that names the problem and the fix. Routes throw it; the error handler turns
 * it into `{ error: { code, message, input } }` with that status.
 *
 * @example
 * ```ts
 * throw new RarefyServerError('RAREFY_UNKNOWN_ID', 404, 'body.userId: no user "u9" in the model',
 *   'pass an id the model was trained with, or send userFeatures', { input: 'body.userId' });
 * ```
 */
export class RarefyServerError extends Error {
  override readonly name = 'RarefyServerError';
  /** The stable code: the server's own, or the Rarefy package error's that caused it. */
  readonly code: ServerErrorCode | RarefyErrorCode;
  /** The HTTP status (4xx for the caller's mistakes, 5xx for the server's state). */
  readonly statusCode: number;
  /** The field or input at fault, or undefined. */
  readonly input: string | undefined;
  /** What is wrong. */
  readonly problem: string;
  /** What the caller should do about it. */
  readonly fix: string;
  /** Headers to send with the response. */
  readonly headers: Readonly<Record<string, string>>;

  /**
   * @param code - the stable code
   * @param statusCode - the HTTP status
   * @param problem - what is wrong, naming the input (`body.k: 5000 is above the limit 1000`)
   * @param fix - what to do about it
   * @param options - the input at fault, headers, the cause
   */
  constructor(
    code: ServerErrorCode | RarefyErrorCode,
    statusCode: number,
    problem: string,
    fix: string,
    options: RarefyServerErrorOptions = {},
  ) {
    super(`${problem}. Fix: ${fix}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.statusCode = statusCode;
    this.input = options.input;
    this.problem = problem;
    this.fix = fix;
    this.headers = options.headers ?? {};
  }
}

/**
 * True when `error` is a {@link RarefyServerError}, optionally of the given code.
 *
 * @param error - anything thrown
 * @param code - the code to match (every code when left out)
 * @returns whether it is one
 * @example
 * ```ts
 * if (isRarefyServerError(error, 'RAREFY_MODEL_REFUSED')) console.error(error.fix);
 * ```
 */
export function isRarefyServerError(
  error: unknown,
  code?: ServerErrorCode | RarefyErrorCode,
): error is RarefyServerError {
  return error instanceof RarefyServerError && (code === undefined || error.code === code);
}

/** One ajv error as Fastify reports it in `error.validation`. */
export interface ValidationIssue {
  readonly keyword: string;
  readonly instancePath: string;
  readonly message?: string;
  readonly params: Readonly<Record<string, unknown>>;
}

/**
 * Turns an ajv instance path (`/rows/3/1`) into the field name the server reports
 * (`body.rows[3][1]`), given where it was validated (`body`, `querystring`, ...).
 *
 * @param context - `body`, `querystring`, `params` or `headers`
 * @param instancePath - the JSON pointer ajv reports
 * @returns the field name
 * @example
 * ```ts
 * fieldName('body', '/exclude/2'); // 'body.exclude[2]'
 * ```
 */
export function fieldName(context: string, instancePath: string): string {
  let name = context;
  for (const raw of instancePath.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    name += /^\d+$/.test(part)
      ? `[${part}]`
      : /^[A-Za-z_$][\w$]*$/.test(part)
        ? `.${part}`
        : `[${JSON.stringify(part)}]`;
  }
  return name;
}

/**
 * The server error for a request that failed schema validation: 400, naming the first field at
 * fault (for a missing property, the property itself; for an unknown one, that one).
 *
 * @param context - where it was validated (`body`, `querystring`, ...)
 * @param issues - the ajv errors
 * @returns the error to answer with
 * @example
 * ```ts
 * validationError('body', [{ keyword: 'maximum', instancePath: '/k', message: 'must be <= 1000', params: {} }]);
 * // body.k must be <= 1000
 * ```
 */
export function validationError(context: string, issues: readonly ValidationIssue[]): RarefyServerError {
  const first = issues[0];
  if (first === undefined) {
    return new RarefyServerError(
      'RAREFY_BAD_REQUEST',
      400,
      `${context}: does not match the endpoint's schema`,
      'see the OpenAPI description at /docs/json',
      { input: context },
    );
  }
  let field = fieldName(context, first.instancePath);
  let problem = `${field} ${first.message ?? 'is invalid'}`;
  const { params } = first;
  if (first.keyword === 'required' && typeof params.missingProperty === 'string') {
    field = fieldName(field, `/${params.missingProperty}`);
    problem = `${field} is missing`;
  } else if (first.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    field = fieldName(field, `/${params.additionalProperty}`);
    problem = `${field} is not a field of this endpoint`;
  } else if (first.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    problem = `${field} must be one of ${params.allowedValues.map((value) => JSON.stringify(value)).join(', ')}`;
  }
  return new RarefyServerError(
    'RAREFY_BAD_REQUEST',
    400,
    problem,
    'send a body that matches the endpoint (see the OpenAPI description at /docs/json)',
    { input: field },
  );
}

/**
 * The HTTP status for an error a Rarefy package raised while a request's own data was processed
 * (for example a row whose value is not finite): 400, the caller's input is at fault.
 *
 * @param error - the package's error
 * @returns the server error, keeping the package's code and input
 * @example
 * ```ts
 * try { pilot.predictProbability(batch); } catch (error) { if (isRarefyError(error)) throw requestInputError(error); }
 * ```
 */
export function requestInputError(error: RarefyError): RarefyServerError {
  // Keeps the package's own stable code (RAREFY_NON_FINITE, RAREFY_INVALID_ARGUMENT, ...).
  return new RarefyServerError(error.code, 400, error.problem, error.fix, {
    ...(error.input === undefined ? {} : { input: error.input }),
    cause: error,
  });
}
