/**
 * Every error Rarefy raises on purpose. The code is stable (scripts and tests may match on it); the
 * message names the input, the problem and the fix.
 */
export type RarefyErrorCode =
  /** A function argument is out of its domain (a negative size, alpha outside [0, 1), ...). */
  | 'RAREFY_INVALID_ARGUMENT'
  /** Arrays that must agree in length or shape do not. */
  | 'RAREFY_DIMENSION_MISMATCH'
  /** A label is not 0 or 1. */
  | 'RAREFY_INVALID_LABEL'
  /** A feature value is NaN or infinite. */
  | 'RAREFY_NON_FINITE'
  /** The data has no positive rows. */
  | 'RAREFY_NO_POSITIVES'
  /** The data has no negative rows. */
  | 'RAREFY_NO_NEGATIVES'
  /** A class has fewer rows than the pilot asks of it. */
  | 'RAREFY_PILOT_TOO_LARGE'
  /** More negatives were asked for than the data has. */
  | 'RAREFY_SAMPLE_TOO_LARGE'
  /** A feature column is constant (it duplicates the intercept). */
  | 'RAREFY_CONSTANT_COLUMN'
  /** The design matrix is rank deficient (collinear columns). */
  | 'RAREFY_RANK_DEFICIENT'
  /** The classes are perfectly (or quasi-) separable: the MLE does not exist. */
  | 'RAREFY_SEPARATION'
  /** An iterative fit did not converge in its iteration budget. */
  | 'RAREFY_NOT_CONVERGED'
  /** Keep probabilities fell below what can be represented without the piMin floor. */
  | 'RAREFY_PI_UNDERFLOW'
  /** A file or stream could not be parsed. */
  | 'RAREFY_PARSE_ERROR'
  /** A file could not be read or written. */
  | 'RAREFY_IO_ERROR';

/** Extra facts carried by an error, for programs (the message is for people). */
export interface RarefyErrorDetails {
  /** The input at fault: an argument name, a column, a file. */
  input?: string;
  /** Anything else worth reporting: counts, sizes, the offending value. */
  [key: string]: unknown;
}

/**
 * The base class of Rarefy's errors. `code` is stable; `input` names what was wrong; `fix` says
 * what to do about it. The message joins the three.
 *
 * @example
 * ```ts
 * try { drawBalancedPilot(labels, 10_000, rng); }
 * catch (error) { if (isRarefyError(error, 'RAREFY_PILOT_TOO_LARGE')) console.error(error.fix); }
 * ```
 */
export class RarefyError extends Error {
  readonly code: RarefyErrorCode;
  readonly input: string | undefined;
  readonly problem: string;
  readonly fix: string;
  readonly details: RarefyErrorDetails;

  /**
   * @param code - the stable code
   * @param problem - what is wrong, naming the input ("labels: row 17 is 2")
   * @param fix - what the caller should do ("encode the label as 0/1, or pass a label mapping")
   * @param details - machine-readable facts, `input` first
   */
  constructor(code: RarefyErrorCode, problem: string, fix: string, details: RarefyErrorDetails = {}) {
    super(`${problem}. Fix: ${fix}`);
    this.name = 'RarefyError';
    this.code = code;
    this.input = details.input;
    this.problem = problem;
    this.fix = fix;
    this.details = details;
  }
}

/** Bad data: labels, non-finite values, too few rows of a class, constant columns. */
export class RarefyInputError extends RarefyError {
  override readonly name = 'RarefyInputError';
}

/** A fit failed for a reason of the data: separation, rank deficiency, no convergence. */
export class RarefyFitError extends RarefyError {
  override readonly name = 'RarefyFitError';
}

/** A sampling request cannot be met: sizes too large, probabilities underflowing. */
export class RarefySamplingError extends RarefyError {
  override readonly name = 'RarefySamplingError';
}

/** A file or stream could not be read, parsed or written. */
export class RarefyIoError extends RarefyError {
  override readonly name = 'RarefyIoError';
}

/**
 * True when `error` is a RarefyError, optionally of the given code.
 *
 * @example
 * ```ts
 * if (isRarefyError(error, 'RAREFY_SEPARATION')) { ... }
 * ```
 */
export function isRarefyError(error: unknown, code?: RarefyErrorCode): error is RarefyError {
  return error instanceof RarefyError && (code === undefined || error.code === code);
}

/** Throws RAREFY_INVALID_ARGUMENT unless `condition` holds. */
export function requireArgument(
  condition: boolean,
  input: string,
  problem: string,
  fix: string,
): asserts condition {
  if (!condition) throw new RarefyError('RAREFY_INVALID_ARGUMENT', `${input}: ${problem}`, fix, { input });
}
