import { availableParallelism } from 'node:os';
import { RarefyError } from '@rarefy/sampling-core';
import { measureMatMulGflops } from '../backend/gflops.js';
import {
  BACKEND_NAMES,
  type BackendName,
  type BackendSelection,
  type SelectBackendOptions,
  selectBackend as selectBackendCore,
} from '../backend/select.js';
import { onnxruntimeVersion } from './onnx-pilot.js';

/** The environment variable that forces a backend. */
export const BACKEND_ENVIRONMENT_VARIABLE = 'RAREFY_BACKEND';

/** The optional native backend's package (an optional peer dependency). */
const TFJS_NODE = '@tensorflow/tfjs-node';

/**
 * Imports `@tensorflow/tfjs-node` (registering the `tensorflow` backend). The specifier is a variable
 * so that bundlers and type checkers do not require the optional peer.
 */
async function loadTfjsNode(): Promise<void> {
  const specifier: string = TFJS_NODE;
  try {
    await import(specifier);
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
    const missing =
      code === 'ERR_MODULE_NOT_FOUND' ||
      /Cannot find (package|module)|Could not resolve|Failed to load url/.test(text);
    throw new Error(
      missing
        ? `not installed: ${text.split('\n')[0]}`
        : `installed but failed to load: ${text.split('\n')[0]}`,
    );
  }
}

/**
 * Chooses and activates the TensorFlow.js backend in Node: `RAREFY_BACKEND` (`tensorflow`, `wasm`
 * or `cpu`) or `force` selects one without fallback; otherwise `@tensorflow/tfjs-node` when it is
 * installed and loads, else `wasm`, else `cpu`. The reason records why (for example that tfjs-node is
 * not installed).
 *
 * @param options - `force` (the environment variable wins over it) and `wasmPaths`
 * @returns the backend in use, the reason, and every attempt
 * @throws RarefyError `RAREFY_INVALID_ARGUMENT` when `RAREFY_BACKEND` is unknown or the forced backend fails
 * @example
 * ```ts
 * import { selectBackend } from '@rarefy/pilot-model/node';
 * const { backend, reason } = await selectBackend(); // "wasm", "@tensorflow/tfjs-node is unavailable (...)"
 * ```
 */
export async function selectBackend(
  options: Omit<SelectBackendOptions, 'loadNative' | 'forcedBy'> = {},
): Promise<BackendSelection> {
  const fromEnvironment = process.env[BACKEND_ENVIRONMENT_VARIABLE]?.trim();
  if (fromEnvironment !== undefined && fromEnvironment !== '') {
    if (!(BACKEND_NAMES as readonly string[]).includes(fromEnvironment)) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${BACKEND_ENVIRONMENT_VARIABLE}: '${fromEnvironment}' is not a backend`,
        `set it to one of ${BACKEND_NAMES.join(', ')}, or unset it to choose automatically`,
        { input: BACKEND_ENVIRONMENT_VARIABLE },
      );
    }
    return selectBackendCore({
      ...options,
      force: fromEnvironment as BackendName,
      forcedBy: `${BACKEND_ENVIRONMENT_VARIABLE}=${fromEnvironment}`,
      loadNative: loadTfjsNode,
    });
  }
  return selectBackendCore({ ...options, loadNative: loadTfjsNode });
}

/** What `rarefy doctor --json` prints. */
export interface DoctorReport {
  /** The TensorFlow.js backend in use. */
  readonly backend: BackendName;
  /** Why that backend. */
  readonly reason: string;
  /** Measured float32 matMul speed of that backend, GFLOP/s. */
  readonly matMulGflops: number;
  /** The onnxruntime-node version. */
  readonly onnxruntime: string;
  /** The Node.js version (`process.version`). */
  readonly node: string;
  /** `platform-arch`, e.g. `linux-x64`. */
  readonly platform: string;
  /** Logical CPU cores available. */
  readonly cpus: number;
}

/**
 * Selects the backend (as {@link selectBackend}), measures its matMul speed and reports it with the
 * onnxruntime version: the contract of `rarefy doctor --json`.
 *
 * @param options - `size` and `repeats` of the matMul measurement (default 256, 10) and `force`
 * @returns the report
 * @example
 * ```ts
 * import { doctorReport } from '@rarefy/pilot-model/node';
 * console.log(JSON.stringify(await doctorReport()));
 * ```
 */
export async function doctorReport(
  options: { size?: number; repeats?: number; force?: BackendName } = {},
): Promise<DoctorReport> {
  const selection = await selectBackend(options.force === undefined ? {} : { force: options.force });
  const matMulGflops = await measureMatMulGflops({
    size: options.size ?? 256,
    repeats: options.repeats ?? 10,
  });
  return {
    backend: selection.backend,
    reason: selection.reason,
    matMulGflops,
    onnxruntime: onnxruntimeVersion(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: availableParallelism(),
  };
}
