import { RarefyError } from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';
import { shareIdentityOnWasm } from './kernels.js';

/** The TensorFlow.js backends Rarefy uses, fastest first. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/** Every {@link BackendName}, in order of preference. */
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** The wasm backend's binaries by file name, mapped to where they are served. */
export type WasmFileMap = Readonly<
  Partial<
    Record<
      'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm',
      string
    >
  >
>;

/** One backend tried by {@link selectBackend}. */
export interface BackendAttempt {
  readonly backend: BackendName;
  readonly ok: boolean;
  /** Why it failed (or `loaded`). */
  readonly detail: string;
}

/** The backend in use and why. */
export interface BackendSelection {
  readonly backend: BackendName;
  /** One sentence: forced, or which faster backends failed and why. */
  readonly reason: string;
  readonly attempts: readonly BackendAttempt[];
}

/** Options of {@link selectBackend}. */
export interface SelectBackendOptions {
  /** Use this backend or fail (no fallback). */
  force?: BackendName;
  /** Who forced it, for the reason (default `force option`; the Node entry passes `RAREFY_BACKEND=...`). */
  forcedBy?: string;
  /**
   * Loads `@tensorflow/tfjs-node` (which registers the `tensorflow` backend). Only the Node entry
   * point passes one; without it the `tensorflow` backend is skipped as unavailable.
   */
  loadNative?: () => Promise<void>;
  /**
   * Where the wasm backend finds its `.wasm` files (a folder URL or path prefix, or a file map); see
   * `setWasmPaths` of `@tensorflow/tfjs-backend-wasm`. Default: the package's own resolution (in
   * Node, its installed folder; in a bundler, configure this).
   */
  wasmPaths?: string | WasmFileMap;
}

function message(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}

async function tryBackend(name: BackendName, options: SelectBackendOptions): Promise<BackendAttempt> {
  try {
    if (name === 'tensorflow') {
      if (options.loadNative === undefined) {
        return { backend: name, ok: false, detail: '@tensorflow/tfjs-node runs in Node only' };
      }
      await options.loadNative();
    } else if (name === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      shareIdentityOnWasm();
      if (options.wasmPaths !== undefined) {
        wasm.setWasmPaths(
          typeof options.wasmPaths === 'string' ? options.wasmPaths : { ...options.wasmPaths },
        );
      }
    } else {
      await import('@tensorflow/tfjs-backend-cpu');
    }
    const ok = await tf.setBackend(name);
    if (!ok) return { backend: name, ok: false, detail: `the ${name} backend failed to initialise` };
    await tf.ready();
    return { backend: name, ok: true, detail: 'loaded' };
  } catch (error) {
    return { backend: name, ok: false, detail: message(error) };
  }
}

function describe(attempt: BackendAttempt): string {
  return attempt.backend === 'tensorflow'
    ? `@tensorflow/tfjs-node is unavailable (${attempt.detail})`
    : `the ${attempt.backend} backend failed (${attempt.detail})`;
}

/**
 * Chooses and activates the TensorFlow.js backend: `tensorflow` (tfjs-node, when a native loader is
 * given and it loads), else `wasm`, else `cpu`. With `force`, that backend or a typed error. The
 * backend packages are imported only here, so importing this package registers nothing. In Node use
 * the `@rarefy/pilot-model/node` version, which honours `RAREFY_BACKEND` and tries tfjs-node.
 *
 * @param options - `force`, the native loader, wasm file paths
 * @returns the backend in use, the reason, and every attempt
 * @throws RarefyError `RAREFY_INVALID_ARGUMENT` when a forced backend is unknown or fails to load
 * @example
 * ```ts
 * const { backend, reason } = await selectBackend();
 * console.log(backend, reason); // "wasm", "@tensorflow/tfjs-node runs in Node only; ..."
 * ```
 */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendSelection> {
  const forcedBy = options.forcedBy ?? 'the force option';
  if (options.force !== undefined) {
    if (!BACKEND_NAMES.includes(options.force)) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${forcedBy}: '${String(options.force)}' is not a backend`,
        `use one of ${BACKEND_NAMES.join(', ')}`,
        { input: 'force' },
      );
    }
    const attempt = await tryBackend(options.force, options);
    if (!attempt.ok) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${forcedBy} asks for the ${options.force} backend, but ${describe(attempt)}`,
        options.force === 'tensorflow'
          ? 'install @tensorflow/tfjs-node (it downloads libtensorflow at install), or choose wasm or cpu'
          : 'choose another backend, or leave the choice to Rarefy',
        { input: 'force' },
      );
    }
    return { backend: options.force, reason: `forced by ${forcedBy}`, attempts: [attempt] };
  }
  const attempts: BackendAttempt[] = [];
  for (const name of BACKEND_NAMES) {
    const attempt = await tryBackend(name, options);
    attempts.push(attempt);
    if (attempt.ok) {
      const failed = attempts.filter((tried) => !tried.ok).map(describe);
      const reason =
        failed.length === 0
          ? `${name} is the fastest backend available`
          : `${failed.join('; ')}; using ${name}`;
      return { backend: name, reason, attempts };
    }
  }
  throw new RarefyError(
    'RAREFY_INVALID_ARGUMENT',
    `backend: no TensorFlow.js backend could be loaded (${attempts.map(describe).join('; ')})`,
    'reinstall @rarefy/pilot-model and its @tensorflow dependencies',
    { input: 'backend' },
  );
}
