import type {
  ModelFileFormat,
  ModelFileRole,
  ModelKind,
  ModelPayloads,
  ModelSchema,
  TrainingRecord,
} from './manifest.js';

/** One file to write into a saved-model folder. */
export interface SavedModelFile {
  /** A plain file name (no directories). */
  readonly path: string;
  readonly role: ModelFileRole;
  readonly format: ModelFileFormat;
  /** The content: bytes, or text written as UTF-8. */
  readonly data: Uint8Array | string;
}

/**
 * Everything a saved-model folder holds, before it is written: the manifest's fields (the writer adds
 * `formatVersion`, `producer` and each file's size and SHA-256) and the files. Any kind's exporter
 * (logistic here, `NeuralPilot`, two-tower models) produces one and hands it to `saveModel`.
 */
export interface SavedModelContents<K extends ModelKind = ModelKind> {
  readonly kind: K;
  readonly schema: ModelSchema;
  readonly training: TrainingRecord;
  readonly model: ModelPayloads[K];
  readonly files: readonly SavedModelFile[];
  /** The package recorded as the producer (default `@rarefy/model-kit`). */
  readonly producer?: { readonly name: string; readonly version: string };
}

/** A model that can describe itself as a saved-model folder (what `saveModel` accepts besides LogisticPilot). */
export interface SaveableModel {
  /**
   * @param options - what to include (`label`, `onnx`)
   * @returns the folder's contents
   */
  toSavedModel(options?: SaveModelOptions): SavedModelContents;
}

/** Options of saving a model. */
export interface SaveModelOptions {
  /** The label column the model was trained on (default null: unknown). */
  label?: string | null;
  /** Also write `model.onnx` (default true). */
  onnx?: boolean;
}

/** The ONNX file's name. */
export const ONNX_FILE = 'model.onnx';
