import type { ExperimentResult, ExperimentSettings } from './experiment.js';
import type { GeneratorSettings } from './generator.js';

/** Where a run's data comes from: the generator, or the CSV loaded last. */
export type DataSource = { kind: 'generator'; settings: GeneratorSettings } | { kind: 'csv' };

/** Messages from the page to the worker. */
export type WorkerRequest =
  | { type: 'load-csv'; id: number; name: string; label: string; bytes: ArrayBuffer }
  | { type: 'run'; id: number; source: DataSource; settings: ExperimentSettings };

/** A RarefyError (or any error) as plain data, so it survives postMessage. */
export interface ErrorMessage {
  code: string;
  message: string;
  problem: string;
  fix: string | null;
}

/** Messages from the worker to the page; `id` answers the request's id. */
export type WorkerResponse =
  | { type: 'loaded'; id: number; name: string; rows: number; positives: number; features: string[] }
  | { type: 'result'; id: number; result: ExperimentResult }
  | { type: 'error'; id: number; error: ErrorMessage };

/**
 * Any thrown value as an {@link ErrorMessage}: a RarefyError keeps its code, problem and fix;
 * anything else becomes `RAREFY_INTERNAL` with its message.
 *
 * @param error - what was thrown
 * @returns plain data for postMessage
 * @example
 * ```ts
 * toErrorMessage(new Error('boom')); // { code: 'RAREFY_INTERNAL', message: 'boom', problem: 'boom', fix: null }
 * ```
 */
export function toErrorMessage(error: unknown): ErrorMessage {
  if (error instanceof Error) {
    const candidate = error as Error & { code?: unknown; problem?: unknown; fix?: unknown };
    if (typeof candidate.code === 'string' && candidate.code.startsWith('RAREFY_')) {
      return {
        code: candidate.code,
        message: error.message,
        problem: typeof candidate.problem === 'string' ? candidate.problem : error.message,
        fix: typeof candidate.fix === 'string' ? candidate.fix : null,
      };
    }
    return { code: 'RAREFY_INTERNAL', message: error.message, problem: error.message, fix: null };
  }
  return { code: 'RAREFY_INTERNAL', message: String(error), problem: String(error), fix: null };
}
