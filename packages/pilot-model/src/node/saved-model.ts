import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  MANIFEST_FILE,
  type ModelFolder,
  type ModelKind,
  type ModelManifest,
  readModelFolder,
  type SaveableModel,
  type SavedModelContents,
  type SaveModelOptions,
  selectBackend,
  writeModelFolder,
} from '@rarefy/model-kit/node';
import { type Pilot, RarefyError, RarefyIoError } from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';
import { LogisticPilot } from '../logistic-pilot.js';
import { NeuralPilot } from '../neural/neural-pilot.js';
import { hasNeuralWeights, type NeuralSaveOptions } from '../neural/saved.js';
import { logisticFromSavedFiles, logisticModelContents } from '../saved-model/contents.js';
import { OnnxPilot, type OnnxPilotOptions } from './onnx-pilot.js';
import {
  RUNTIME_OPTIONS,
  type RuntimeCandidate,
  type RuntimeChoice,
  type RuntimeChoosingOptions,
  RuntimeChoosingPilot,
  type RuntimeOption,
  releasePilot,
} from './runtime.js';

/** The package recorded as the producer of the models it saves. */
const PRODUCER = { name: '@rarefy/pilot-model', version: '0.1.0' } as const;

function systemMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isMissing(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT';
}

function ioError(path: string, problem: string, fix: string): RarefyIoError {
  return new RarefyIoError('RAREFY_IO_ERROR', `${path}: ${problem}`, fix, { input: path });
}

/**
 * Saves a model as a folder (DESIGN.md "What a saved model is"), atomically (see
 * {@link writeModelFolder}): `manifest.json` plus the model's files — for a {@link LogisticPilot},
 * `coefficients.json` and `model.onnx`; for a {@link NeuralPilot}, `network.json`, `weights.bin`,
 * `embeddings.bin` and `model.onnx`. Any model with `toSavedModel()` (a {@link SaveableModel}) or
 * ready {@link SavedModelContents} can be saved the same way.
 *
 * @param dir - the folder to write (replaced if it holds a saved model)
 * @param model - the model, or its contents
 * @param options - `label` column, whether to write `model.onnx` (default true), and for a
 *   NeuralPilot additions to its `training` record (design, estimator)
 * @returns the manifest written
 * @example
 * ```ts
 * const pilot = LogisticPilot.fit({ x, y, seed: 1 });
 * await saveModel('models/pilot', pilot, { label: 'clicked' });
 * const again = await loadModel('models/pilot');
 * ```
 */
export async function saveModel(
  dir: string,
  model: LogisticPilot | SaveableModel | SavedModelContents,
  options: SaveModelOptions | NeuralSaveOptions = {},
): Promise<ModelManifest> {
  const contents =
    model instanceof LogisticPilot
      ? logisticModelContents(model, options)
      : 'toSavedModel' in model
        ? model.toSavedModel(options)
        : model;
  return writeModelFolder(dir, { producer: PRODUCER, ...contents });
}

/** Builds a pilot from a read folder (for kinds this package does not load itself). */
export type ModelLoader = (folder: ModelFolder) => Pilot | Promise<Pilot>;

/** Options of {@link loadModel} and {@link openModel}. */
export interface LoadModelOptions {
  /** Loaders by kind, used before the built-in ones (the built-in `neural` loader rebuilds a NeuralPilot). */
  loaders?: Partial<Record<ModelKind, ModelLoader>>;
  /** Options for an ONNX model (a `.onnx` path, or a folder kind scored through its `model.onnx`). */
  onnx?: OnnxPilotOptions;
  /**
   * How to score a network that can run both ways (a `neural` folder with its weights and
   * `model.onnx`): `auto` (default) measures both on the first batch and keeps the faster (see
   * {@link RuntimeChoosingPilot}); `tfjs` or `onnxruntime` forces one (an error when the folder cannot
   * be scored that way). Logistic models are always scored in-process and `.onnx` files by onnxruntime.
   */
  runtime?: RuntimeOption;
  /** The measurement of `runtime: 'auto'`: sample rows, repeats, clock, and a callback for the choice. */
  runtimeChoice?: RuntimeChoosingOptions;
}

/** A model loaded for scoring: the pilot, what it is, and which runtime scores it and why. */
export interface LoadedModel {
  /** The pilot to score with (a {@link RuntimeChoosingPilot} when the runtime is chosen on the first batch). */
  readonly pilot: Pilot;
  /** The folder's kind, or `onnx` for a bare .onnx file. */
  readonly kind: ModelKind | 'onnx';
  /** The absolute path loaded. */
  readonly path: string;
  /** The folder's manifest (null for a .onnx file). */
  readonly manifest: ModelManifest | null;
  /** The runtime and why; null while an `auto` choice waits for the first batch. */
  readonly choice: RuntimeChoice | null;
}

/** Activates a tfjs backend (as `selectBackend`, honouring RAREFY_BACKEND) unless one is active. */
async function readyBackend(): Promise<string> {
  if (!tf.getBackend()) await selectBackend();
  await tf.ready();
  return tf.getBackend();
}

function loaded(
  pilot: Pilot,
  kind: ModelKind | 'onnx',
  path: string,
  manifest: ModelManifest | null,
  fixed: RuntimeChoice | null,
  options: LoadModelOptions,
): LoadedModel {
  if (fixed !== null) options.runtimeChoice?.onChoice?.(fixed);
  return {
    pilot,
    kind,
    path,
    manifest,
    get choice(): RuntimeChoice | null {
      return pilot instanceof RuntimeChoosingPilot ? pilot.choice : fixed;
    },
  };
}

/**
 * Loads a model for scoring, from a saved-model folder or a `.onnx` file, and says which runtime
 * scores it and why:
 * - a `.onnx` file: an {@link OnnxPilot} (onnxruntime; columns from its Rarefy metadata or
 *   `onnx.features`; categorical columns hashed as its metadata says);
 * - a `logistic` folder: a {@link LogisticPilot}, scored in-process (exact float64);
 * - a `neural` folder written by `NeuralPilot.toSavedModel`: the network rebuilt in TensorFlow.js
 *   ({@link NeuralPilot.fromSavedModel}; a backend is selected first if none is active) and its
 *   `model.onnx` in onnxruntime; with `runtime: 'auto'` (the default) a {@link RuntimeChoosingPilot}
 *   times both on the first batch and keeps the faster;
 * - any other folder (or a neural one holding only `model.onnx`): its `model.onnx` through onnxruntime;
 * - a loader given for the folder's kind overrides all of these.
 *
 * @param path - a saved-model folder or a `.onnx` file
 * @param options - per-kind loaders, ONNX options, the runtime
 * @returns the pilot with its kind, path, manifest and runtime choice
 * @throws RarefyIoError as {@link readModelFolder}; RarefyError when nothing can score the model, or
 *   the runtime asked for cannot
 * @example
 * ```ts
 * const model = await openModel('models/ctr', { runtime: 'auto' });
 * const p = await model.pilot.predictProbability(firstBatch);
 * console.log(model.choice?.runtime, model.choice?.reason);
 * ```
 */
export async function openModel(path: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const absolute = resolve(path);
  const runtime = options.runtime ?? 'auto';
  if (!(RUNTIME_OPTIONS as readonly string[]).includes(runtime)) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `runtime: '${String(runtime)}' is not a runtime`,
      `use one of ${RUNTIME_OPTIONS.join(', ')}`,
      { input: 'runtime' },
    );
  }
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    throw ioError(
      path,
      isMissing(error) ? 'does not exist' : `cannot be read (${systemMessage(error)})`,
      'pass a saved-model folder (from `rarefy fit --save`) or a .onnx file',
    );
  }
  const refuse = (kind: string, why: string): never => {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `${path}: runtime '${runtime}' cannot score this ${kind} model (${why})`,
      "leave the runtime to Rarefy ('auto')",
      { input: 'runtime' },
    );
  };
  if (info.isFile()) {
    if (runtime === 'tfjs') refuse('.onnx', 'a .onnx file runs in onnxruntime only');
    const pilot = await OnnxPilot.create(path, options.onnx ?? {});
    return loaded(
      pilot,
      'onnx',
      absolute,
      null,
      { runtime: 'onnxruntime', reason: 'a .onnx file is scored by onnxruntime' },
      options,
    );
  }
  const folder = await readModelFolder(path);
  const { manifest } = folder;
  const loader = options.loaders?.[manifest.kind];
  if (loader !== undefined) {
    const pilot = await loader(folder);
    return loaded(
      pilot,
      manifest.kind,
      absolute,
      manifest,
      { runtime: 'in-process', reason: `the ${manifest.kind} loader given scores it` },
      options,
    );
  }
  if (manifest.kind === 'logistic') {
    if (runtime === 'tfjs') refuse('logistic', 'it is scored in-process, exactly');
    const pilot = logisticFromSavedFiles(manifest as ModelManifest<'logistic'>, folder.files, path);
    return loaded(
      pilot,
      'logistic',
      absolute,
      manifest,
      {
        runtime: 'in-process',
        reason: 'a logistic model is scored in-process: exact float64, and faster than a runtime round trip',
      },
      options,
    );
  }
  const onnxFile = manifest.files.find((file) => file.role === 'onnx');
  const bytes = onnxFile === undefined ? undefined : folder.files.get(onnxFile.path);
  const withWeights = manifest.kind === 'neural' && hasNeuralWeights(manifest);
  const onnxCandidate = async (): Promise<RuntimeCandidate> => ({
    runtime: 'onnxruntime',
    pilot: await OnnxPilot.create(bytes as Uint8Array, {
      source: join(path, (onnxFile as { path: string }).path),
      ...options.onnx,
    }),
  });
  const tfjsCandidate = async (): Promise<RuntimeCandidate> => {
    const backend = await readyBackend();
    return { runtime: 'tfjs', pilot: NeuralPilot.fromSavedModel(folder), backend };
  };
  const hasOnnx = bytes !== undefined;
  if (!withWeights && !hasOnnx) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `${join(path, MANIFEST_FILE)}: a ${manifest.kind} model without model.onnx cannot be loaded as a pilot here`,
      `pass loaders.${manifest.kind} (the loader of the package that wrote it)`,
      { input: path },
    );
  }
  if (runtime === 'tfjs' && !withWeights) {
    refuse(manifest.kind, 'the folder holds no network weights, only model.onnx');
  }
  if (runtime === 'onnxruntime' && !hasOnnx) refuse(manifest.kind, 'the folder has no model.onnx');
  if (runtime === 'tfjs' || (runtime === 'auto' && !hasOnnx)) {
    const candidate = await tfjsCandidate();
    const reason =
      runtime === 'tfjs'
        ? "forced (runtime 'tfjs')"
        : 'the folder has no model.onnx, so its weights run in TensorFlow.js';
    return loaded(
      candidate.pilot,
      manifest.kind,
      absolute,
      manifest,
      { runtime: 'tfjs', reason, backend: candidate.backend as string },
      options,
    );
  }
  if (runtime === 'onnxruntime' || !withWeights) {
    const candidate = await onnxCandidate();
    const reason =
      runtime === 'onnxruntime'
        ? "forced (runtime 'onnxruntime')"
        : manifest.kind === 'neural'
          ? 'the folder holds the network as model.onnx only (no saved weights for TensorFlow.js)'
          : `a ${manifest.kind} model is scored through its model.onnx`;
    return loaded(
      candidate.pilot,
      manifest.kind,
      absolute,
      manifest,
      { runtime: 'onnxruntime', reason },
      options,
    );
  }
  const tfjsPilot = await tfjsCandidate();
  let onnxPilot: RuntimeCandidate;
  try {
    onnxPilot = await onnxCandidate();
  } catch (error) {
    await releasePilot(tfjsPilot.pilot);
    throw error;
  }
  const pilot = new RuntimeChoosingPilot([tfjsPilot, onnxPilot], options.runtimeChoice ?? {});
  return loaded(pilot, manifest.kind, absolute, manifest, null, options);
}

/**
 * Loads a pilot from a saved-model folder or a `.onnx` file: {@link openModel}'s pilot. A `neural`
 * folder's network runs in TensorFlow.js or onnxruntime, whichever is faster on the first batch
 * (`runtime: 'auto'`, the default), or as `runtime` forces.
 *
 * @param path - a saved-model folder or a `.onnx` file
 * @param options - per-kind loaders, ONNX options, the runtime
 * @returns the pilot
 * @throws RarefyIoError as {@link readModelFolder}; RarefyError when no loader fits the kind
 * @example
 * ```ts
 * const pilot = await loadModel('models/pilot');
 * const p = await pilot.predictProbability(batch);
 * ```
 */
export async function loadModel(path: string, options: LoadModelOptions = {}): Promise<Pilot> {
  return (await openModel(path, options)).pilot;
}
