/**
 * @packageDocumentation
 * Pilots for the rare-events recipe and ONNX export, browser-safe: the logistic pilot, the
 * saved-model manifest, ONNX graph building (logistic models and MLPs), TensorFlow.js backend
 * selection. Node-only parts (onnxruntime, files, tfjs-node) are under `@rarefy/pilot-model/node`.
 */

export type { MatMulBenchmarkOptions } from './backend/gflops.js';
export { measureMatMulGflops } from './backend/gflops.js';
export type {
  BackendAttempt,
  BackendName,
  BackendSelection,
  SelectBackendOptions,
  WasmFileMap,
} from './backend/select.js';
export { BACKEND_NAMES, selectBackend } from './backend/select.js';
export type {
  LogisticCoefficientsOptions,
  LogisticPilotFitOptions,
  LogisticPilotFitted,
} from './logistic-pilot.js';
export { LogisticPilot } from './logistic-pilot.js';
// neural pilot: hashed embeddings + MLP in tfjs, corrected (offset / weighted) training
export type { DenseActivation } from './neural/dense.js';
export { denseLayer } from './neural/dense.js';
export type { NeuralRows } from './neural/encode.js';
export type { NeuralFeatureHashing } from './neural/hash.js';
export { FEATURE_HASH_FUNCTION, hashDictionary, hashFeature } from './neural/hash.js';
export { offsetBinaryCrossEntropy } from './neural/loss.js';
export type {
  NeuralCategoricalFeature,
  NeuralEmbeddingWeights,
  NeuralLayerWeights,
  NeuralPilotSpec,
  NeuralPilotWeights,
  NeuralTrainOptions,
  NeuralTrainProgress,
  NeuralTrainResult,
  NeuralValidation,
} from './neural/neural-pilot.js';
export { NeuralPilot } from './neural/neural-pilot.js';
export { neuralPilotOnnxOptions } from './neural/onnx-options.js';
export type { LogitModel, TrainWithOffsetOptions } from './neural/train-with-offset.js';
export { trainWithOffset } from './neural/train-with-offset.js';
export type { OnnxModelSummary } from './onnx/inspect.js';
export { inspectOnnxModel } from './onnx/inspect.js';
export type { LogisticToOnnxOptions, OnnxOutputKind } from './onnx/logistic.js';
export { logisticToOnnx } from './onnx/logistic.js';
export type { OnnxInputBinding, OnnxInputType } from './onnx/metadata.js';
export { METADATA_HASHING, METADATA_INPUTS, METADATA_KIND, METADATA_OUTPUT_KIND } from './onnx/metadata.js';
export type { MlpActivation, MlpEmbedding, MlpHashing, MlpLayer, MlpToOnnxOptions } from './onnx/mlp.js';
export { mlpToOnnx } from './onnx/mlp.js';
export type {
  SaveableModel,
  SavedModelContents,
  SavedModelFile,
  SaveModelOptions,
} from './saved-model/contents.js';
export {
  COEFFICIENTS_FILE,
  logisticFromSavedFiles,
  logisticModelContents,
  ONNX_FILE,
} from './saved-model/contents.js';
export type {
  FeatureHashing,
  JsonObject,
  JsonValue,
  LogisticModelPayload,
  ManifestFile,
  ModelFileFormat,
  ModelFileRole,
  ModelKind,
  ModelManifest,
  ModelPayloads,
  ModelSchema,
  SchemaFeature,
  TrainingRecord,
} from './saved-model/manifest.js';
export {
  isPlainFileName,
  MANIFEST_FILE,
  MODEL_FORMAT_VERSION,
  MODEL_KINDS,
  validateManifest,
} from './saved-model/manifest.js';
