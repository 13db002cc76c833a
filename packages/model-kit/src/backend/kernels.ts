import { RarefyError } from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';

/** The kernel the wasm backend lacks for training through `tf.gather`: the gradient of a gather. */
export const UNSORTED_SEGMENT_SUM = 'UnsortedSegmentSum';

/** Kernels whose gradients tell whether tfjs-core's gradients are registered already. */
const GRADIENT_SENTINELS = ['Add', 'BatchMatMul', 'GatherV2', 'Sigmoid', 'Sum'] as const;

/** What {@link registerTrainingKernels} did. */
export interface TrainingKernels {
  /**
   * `loaded`: tfjs-core's gradients were registered by this call; `present`: they were registered
   * already (an earlier call, or the `@tensorflow/tfjs` bundle).
   */
  readonly gradients: 'loaded' | 'present';
  /** Kernels this call registered, as `Name/backend` (empty when all were there). */
  readonly kernels: readonly string[];
}

/** Options of {@link registerTrainingKernels}. */
export interface RegisterTrainingKernelsOptions {
  /**
   * Loads tfjs-core's gradients. Default: a dynamic import of
   * `@tensorflow/tfjs-core/dist/register_all_gradients.js`, preceded in Node by a resolution hook
   * that lets Node load it (see {@link registerTrainingKernels}).
   */
  loadGradients?: () => Promise<unknown>;
}

/** Whether tfjs-core's gradients are registered (in this or another copy of tfjs-core). */
export function gradientsRegistered(): boolean {
  return GRADIENT_SENTINELS.every((name) => tf.getGradient(name) !== undefined);
}

/** The wasm backend's surface this file uses (its class is not imported: that would register it). */
interface WasmLikeBackend {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: tf.backend_util.BackendValues,
  ): tf.TensorInfo;
}

/**
 * `UnsortedSegmentSum` on the data of any backend that reads synchronously: `out[s, ...] = sum of
 * x[i, ...] over the rows i with segmentIds[i] = s`, in a typed-array loop in JavaScript. The
 * segment ids may have any rank r; they index the first r dimensions of x (TensorFlow's semantics),
 * and the output has shape [numSegments, ...x.shape.slice(r)] and x's dtype (float32 data is summed
 * in float64 and rounded once; int32 sums wrap as int32, as in TensorFlow). Ids outside
 * [0, numSegments) are dropped, as tfjs' cpu backend does.
 *
 * @param args - the kernel's inputs (`x`, `segmentIds`), backend and attributes (`numSegments`)
 * @returns the output tensor's info, allocated by the backend
 */
function unsortedSegmentSum(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as WasmLikeBackend;
  const x = args.inputs.x as tf.TensorInfo;
  const segmentIds = args.inputs.segmentIds as tf.TensorInfo;
  const numSegments = args.attrs?.numSegments as number;
  if (!(Number.isInteger(numSegments) && numSegments >= 0)) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `${UNSORTED_SEGMENT_SUM}: numSegments ${String(numSegments)} is not a non-negative integer`,
      'pass an integer number of segments',
      { input: 'numSegments' },
    );
  }
  const idRank = segmentIds.shape.length;
  const leading = x.shape.slice(0, idRank);
  if (leading.length !== idRank || leading.some((size, k) => size !== segmentIds.shape[k])) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `${UNSORTED_SEGMENT_SUM}: segment ids of shape [${segmentIds.shape.join(', ')}] do not index the first dimensions of x [${x.shape.join(', ')}]`,
      'pass one segment id per row of x',
      { input: 'segmentIds' },
    );
  }
  const trailing = x.shape.slice(idRank);
  let width = 1;
  for (const size of trailing) width *= size;
  const ids = backend.readSync(segmentIds.dataId) as Int32Array;
  const values = backend.readSync(x.dataId) as Float32Array | Int32Array;
  const sums =
    x.dtype === 'int32' ? new Int32Array(numSegments * width) : new Float64Array(numSegments * width);
  for (let i = 0; i < ids.length; i++) {
    const segment = ids[i] as number;
    if (segment < 0 || segment >= numSegments) continue;
    const from = i * width;
    const to = segment * width;
    for (let j = 0; j < width; j++) sums[to + j] = (sums[to + j] as number) + (values[from + j] as number);
  }
  const out = sums instanceof Int32Array ? sums : Float32Array.from(sums);
  return backend.makeOutput([numSegments, ...trailing], x.dtype, undefined, out);
}

/**
 * A module resolution hook for files inside `@tensorflow/tfjs-core/dist/`: tfjs-core publishes its
 * gradients only as ES modules whose relative imports have no file extensions
 * (`'./gradients/Abs_grad'`), which bundlers resolve and Node's ESM resolver refuses. For a relative
 * specifier from such a file the hook tries it with `.js` and `/index.js` and reads the file as an
 * ES module; every other resolution passes through untouched.
 */
const TFJS_CORE_RESOLVE_HOOK = `
export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL ?? '';
  if (parent.includes('/@tensorflow/tfjs-core/dist/') && (specifier.startsWith('./') || specifier.startsWith('../'))) {
    for (const suffix of ['', '.js', '/index.js']) {
      try {
        const resolved = await nextResolve(specifier + suffix, context);
        if (resolved.url.endsWith('.js')) return { ...resolved, format: 'module' };
      } catch {}
    }
  }
  return nextResolve(specifier, context);
}
`;

let hookRegistered = false;

/** Registers {@link TFJS_CORE_RESOLVE_HOOK} once, when running in Node (a no-op elsewhere). */
async function registerNodeResolveHook(): Promise<void> {
  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (hookRegistered || !isNode) return;
  // A variable specifier: bundlers for the browser must not try to resolve `node:module`.
  const specifier: string = 'node:module';
  const { register } = (await import(specifier)) as typeof import('node:module');
  register(`data:text/javascript,${encodeURIComponent(TFJS_CORE_RESOLVE_HOOK)}`);
  hookRegistered = true;
}

/** The wasm backend's reference counting (the same calls its own Reshape kernel makes). */
interface RefCountingBackend {
  incRef(dataId: tf.DataId): void;
}

/** The wasm backend's own Identity kernel, kept while {@link shareIdentityOnWasm} has replaced it. */
let stockIdentity: tf.KernelConfig | undefined;

/**
 * Replaces the wasm backend's `Identity` kernel (what `tf.clone` runs, and what autograd runs on
 * every tensor a custom gradient saves for its backward pass) with one that shares the input's data
 * and counts a reference, as the cpu backend's Identity and the wasm backend's own Reshape do. The
 * stock kernel copies the data: in a two-tower training step that is 18 copies, the B x C softmax
 * among them. Tensor data is never written in place (every kernel allocates its output; a
 * variable's `assign` swaps its data), so sharing is safe. `selectBackend` and `ensureBackend` call
 * it for wasm. Idempotent; does nothing when the wasm backend's kernels are not registered (it was
 * never imported). `shareIdentityOnWasm(false)` puts the stock kernel back (benchmarks use it to
 * measure plain tfjs).
 *
 * @param enabled - share (default) or restore the stock copying kernel
 * @returns whether the wasm Identity kernel is now the sharing one
 */
export function shareIdentityOnWasm(enabled = true): boolean {
  const current = tf.getKernel('Identity', 'wasm');
  if (current === undefined) return false;
  if (!enabled) {
    if (stockIdentity !== undefined) {
      tf.unregisterKernel('Identity', 'wasm');
      tf.registerKernel(stockIdentity);
      stockIdentity = undefined;
    }
    return false;
  }
  if (stockIdentity !== undefined) return true;
  stockIdentity = current;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: (({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }) => {
      const x = inputs.x as tf.TensorInfo;
      (backend as RefCountingBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    }) as unknown as tf.KernelFunc,
  });
  return true;
}

/** The default gradient loader. */
async function importGradients(): Promise<unknown> {
  await registerNodeResolveHook();
  return import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
}

/**
 * Makes autograd training work on every backend: registers tfjs-core's gradients (tfjs-core alone
 * registers none; the `@tensorflow/tfjs` bundle does) unless they are registered already, and the
 * kernels the wasm backend lacks for them: `UnsortedSegmentSum`, the gradient of `tf.gather` (so
 * embedding lookups train), implemented on the backend's data in JavaScript. Idempotent: a second
 * call does nothing. Models whose every differentiated op has a custom gradient (`denseLayer`, the
 * offset loss, `EmbeddingTable`) do not need it; a plain tfjs model (tf.gather, tf.matMul, layers)
 * does.
 *
 * tfjs-core publishes its gradients as ES modules whose relative imports have no file extensions:
 * bundlers resolve them, Node does not. In Node this function therefore first registers a module
 * resolution hook (`module.register`) that adds the `.js` for imports made from inside
 * `@tensorflow/tfjs-core/dist/` and changes nothing else. The gradients then live in a second copy of
 * tfjs-core's modules, which registers them in the same global registry the installed copy reads.
 *
 * @param options - how to load the gradients (see {@link RegisterTrainingKernelsOptions})
 * @returns whether the gradients were loaded and which kernels were registered
 * @example
 * ```ts
 * await selectBackend();
 * await registerTrainingKernels();
 * const grads = tf.grads((table: tf.Tensor) => tf.sum(tf.gather(table, ids)))([table]);
 * ```
 */
export async function registerTrainingKernels(
  options: RegisterTrainingKernelsOptions = {},
): Promise<TrainingKernels> {
  let gradients: TrainingKernels['gradients'] = 'present';
  if (!gradientsRegistered()) {
    await (options.loadGradients ?? importGradients)();
    gradients = 'loaded';
    if (!gradientsRegistered()) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        'registerTrainingKernels: tfjs-core’s gradients loaded, but the gradient registry still lacks them',
        'make sure one version of @tensorflow/tfjs-core is installed (npm ls @tensorflow/tfjs-core)',
        { input: 'loadGradients' },
      );
    }
  }
  const kernels: string[] = [];
  if (tf.getKernel(UNSORTED_SEGMENT_SUM, 'wasm') === undefined) {
    tf.registerKernel({
      kernelName: UNSORTED_SEGMENT_SUM,
      backendName: 'wasm',
      kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
    });
    kernels.push(`${UNSORTED_SEGMENT_SUM}/wasm`);
  }
  return { gradients, kernels };
}
