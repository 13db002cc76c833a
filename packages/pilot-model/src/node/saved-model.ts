import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  MANIFEST_FILE,
  type ModelFolder,
  type ModelKind,
  type ModelManifest,
  readModelFolder,
  type SaveableModel,
  type SavedModelContents,
  type SaveModelOptions,
  writeModelFolder,
} from '@rarefy/model-kit/node';
import { type Pilot, RarefyError, RarefyIoError } from '@rarefy/sampling-core';
import { LogisticPilot } from '../logistic-pilot.js';
import { logisticFromSavedFiles, logisticModelContents } from '../saved-model/contents.js';
import { OnnxPilot, type OnnxPilotOptions } from './onnx-pilot.js';

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
 * `coefficients.json` and `model.onnx`. Any model with `toSavedModel()` (a {@link SaveableModel}, such
 * as the neural pilot) or ready {@link SavedModelContents} can be saved the same way.
 *
 * @param dir - the folder to write (replaced if it holds a saved model)
 * @param model - the model, or its contents
 * @param options - `label` column, whether to write `model.onnx` (default true)
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
  options: SaveModelOptions = {},
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

/** Options of {@link loadModel}. */
export interface LoadModelOptions {
  /** Loaders by kind, used before the built-in ones (e.g. `neural`: the neural pilot's loader). */
  loaders?: Partial<Record<ModelKind, ModelLoader>>;
  /** Options for an ONNX model (a `.onnx` path, or a folder kind scored through its `model.onnx`). */
  onnx?: OnnxPilotOptions;
}

/**
 * Loads a pilot from a saved-model folder or a `.onnx` file. A folder is read with
 * {@link readModelFolder}; then a loader given for its kind builds the pilot, else `logistic` gives a
 * {@link LogisticPilot}, and any other kind with a `model.onnx` is scored through {@link OnnxPilot}
 * with the manifest's columns. A file is loaded as an {@link OnnxPilot}.
 *
 * @param path - a saved-model folder or a `.onnx` file
 * @param options - per-kind loaders, ONNX options
 * @returns the pilot
 * @throws RarefyIoError as {@link readModelFolder}; RarefyError when no loader fits the kind
 * @example
 * ```ts
 * const pilot = await loadModel('models/pilot');
 * const p = await pilot.predictProbability(batch);
 * ```
 */
export async function loadModel(path: string, options: LoadModelOptions = {}): Promise<Pilot> {
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
  if (info.isFile()) return OnnxPilot.create(path, options.onnx ?? {});
  const folder = await readModelFolder(path);
  const { manifest } = folder;
  const loader = options.loaders?.[manifest.kind];
  if (loader !== undefined) return loader(folder);
  if (manifest.kind === 'logistic') {
    return logisticFromSavedFiles(manifest as ModelManifest<'logistic'>, folder.files, path);
  }
  const onnxFile = manifest.files.find((file) => file.role === 'onnx');
  const bytes = onnxFile === undefined ? undefined : folder.files.get(onnxFile.path);
  if (onnxFile === undefined || bytes === undefined) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `${join(path, MANIFEST_FILE)}: a ${manifest.kind} model without model.onnx cannot be loaded as a pilot here`,
      `pass loaders.${manifest.kind} (the loader of the package that wrote it)`,
      { input: path },
    );
  }
  return OnnxPilot.create(bytes, { source: join(path, onnxFile.path), ...options.onnx });
}
