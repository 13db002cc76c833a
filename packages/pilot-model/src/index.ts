/**
 * @packageDocumentation
 * Pilots for the rare-events recipe and ONNX export, browser-safe: the logistic pilot, the
 * saved-model manifest, ONNX graph building (logistic models and MLPs), TensorFlow.js backend
 * selection. Node-only parts (onnxruntime, files, tfjs-node) are under `@rarefy/pilot-model/node`.
 */

// neural pilot: hashed embeddings + MLP in tfjs, corrected (offset / weighted) training
export type {
  BackendAttempt,
  BackendName,
  BackendSelection,
  DenseActivation,
  FeatureHashing,
  JsonObject,
  JsonValue,
  LogisticModelPayload,
  ManifestFile,
  MatMulBenchmarkOptions,
  ModelFileFormat,
  ModelFileRole,
  ModelKind,
  ModelManifest,
  ModelPayloads,
  ModelSchema,
  NeuralFeatureHashing,
  RegisterTrainingKernelsOptions,
  SaveableModel,
  SavedModelContents,
  SavedModelFile,
  SaveModelOptions,
  SchemaFeature,
  SelectBackendOptions,
  TrainingKernels,
  TrainingRecord,
  WasmFileMap,
} from '@rarefy/model-kit';
export {
  BACKEND_NAMES,
  denseLayer,
  FEATURE_HASH_FUNCTION,
  hashDictionary,
  hashFeature,
  isPlainFileName,
  MANIFEST_FILE,
  MODEL_FORMAT_VERSION,
  MODEL_KINDS,
  measureMatMulGflops,
  ONNX_FILE,
  registerTrainingKernels,
  selectBackend,
  validateManifest,
} from '@rarefy/model-kit';
export type { FitWithPilotOptions, FitWithPilotResult, PilotCorrection } from './correction.js';
export { correctionForPilot, fitWithPilot, NON_LOGISTIC_PILOT_ALPHA } from './correction.js';
export type {
  LogisticCoefficientsOptions,
  LogisticPilotFitOptions,
  LogisticPilotFitted,
} from './logistic-pilot.js';
export { LogisticPilot } from './logistic-pilot.js';
export type { NeuralRows } from './neural/encode.js';
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
export type { NeuralSaveOptions } from './neural/saved.js';
export {
  EMBEDDINGS_FILE,
  hasNeuralWeights,
  NETWORK_FILE,
  neuralModelContents,
  neuralWeightsFromSavedFiles,
  WEIGHTS_FILE,
} from './neural/saved.js';
export type { LogitModel, TrainWithOffsetOptions } from './neural/train-with-offset.js';
export { trainWithOffset } from './neural/train-with-offset.js';
export { hashingTransform } from './onnx/hashing.js';
export type { OnnxModelSummary } from './onnx/inspect.js';
export { inspectOnnxModel } from './onnx/inspect.js';
export type { LogisticToOnnxOptions, OnnxOutputKind } from './onnx/logistic.js';
export { logisticToOnnx } from './onnx/logistic.js';
export type { OnnxInputBinding, OnnxInputType } from './onnx/metadata.js';
export { METADATA_HASHING, METADATA_INPUTS, METADATA_KIND, METADATA_OUTPUT_KIND } from './onnx/metadata.js';
export type { MlpActivation, MlpEmbedding, MlpHashing, MlpLayer, MlpToOnnxOptions } from './onnx/mlp.js';
export { mlpToOnnx } from './onnx/mlp.js';
export { COEFFICIENTS_FILE, logisticFromSavedFiles, logisticModelContents } from './saved-model/contents.js';
