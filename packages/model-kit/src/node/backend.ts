import { RarefyError } from '@rarefy/sampling-core';
import {
  BACKEND_NAMES,
  type BackendName,
  type BackendSelection,
  type SelectBackendOptions,
  selectBackend as selectBackendCore,
} from '../backend/select.js';

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
