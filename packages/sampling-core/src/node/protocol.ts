/** The messages between the score worker pool and its worker threads, and error transfer. */
import {
  RarefyError,
  type RarefyErrorCode,
  type RarefyErrorDetails,
  RarefyFitError,
  RarefyInputError,
  RarefyIoError,
  RarefySamplingError,
} from '../errors.js';
import type { BlockJob, BlockOutput } from './blocks.js';

/** Main thread to worker: sample blocks of `job`, taking block indices from `counter[0]`. */
export interface JobRequest {
  readonly type: 'job';
  readonly id: number;
  readonly job: BlockJob;
  /** One Int32 in shared memory: the next block to take (Atomics.add). */
  readonly counter: Int32Array;
}

/** An error as it crosses the thread boundary. */
export interface TransferredError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** Present for a RarefyError: enough to rebuild it with the same class and fields. */
  readonly rarefy:
    | { code: RarefyErrorCode; problem: string; fix: string; details: RarefyErrorDetails }
    | undefined;
}

/** Worker to main thread. */
export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly id: number; readonly output: BlockOutput }
  | {
      readonly type: 'failed';
      readonly id: number;
      /** The block being sampled when it failed (-1 before the first block). */
      readonly block: number;
      readonly error: TransferredError;
    };

/** Flattens an error for postMessage; RarefyError details are kept when they are cloneable. */
export function transferError(error: unknown): TransferredError {
  const plain = error instanceof Error ? error : new Error(String(error));
  let rarefy: TransferredError['rarefy'];
  if (error instanceof RarefyError) {
    let details = error.details;
    try {
      structuredClone(details);
    } catch {
      details = error.input === undefined ? {} : { input: error.input };
    }
    rarefy = { code: error.code, problem: error.problem, fix: error.fix, details };
  }
  return { name: plain.name, message: plain.message, stack: plain.stack, rarefy };
}

const RAREFY_CLASSES: Record<string, typeof RarefyError> = {
  RarefyError,
  RarefyInputError,
  RarefyFitError,
  RarefySamplingError,
  RarefyIoError,
};

/** Rebuilds a transferred error: a RarefyError of the same class, code, problem, fix and details. */
export function rebuildError(transferred: TransferredError): Error {
  const { rarefy } = transferred;
  let error: Error;
  if (rarefy !== undefined) {
    const ErrorClass = RAREFY_CLASSES[transferred.name] ?? RarefyError;
    error = new ErrorClass(rarefy.code, rarefy.problem, rarefy.fix, rarefy.details);
  } else {
    error = new Error(`score worker: ${transferred.message}`);
  }
  if (transferred.stack !== undefined) {
    error.stack = `${error.stack ?? ''}\n    --- in the score worker thread ---\n${transferred.stack}`;
  }
  return error;
}
