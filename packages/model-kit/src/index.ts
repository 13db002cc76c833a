/**
 * @packageDocumentation
 * The pieces every trained Rarefy model shares, browser-safe: TensorFlow.js backend selection and
 * its matMul roof, feature hashing, typed-array embedding tables with sparse row-wise updates, dense
 * layers whose gradients keep every matMul in the fast layout (ALGORITHMS.md B.10), ONNX graph
 * building, and the saved-model manifest. Node-only parts (tfjs-node, `RAREFY_BACKEND`, reading and
 * writing model folders) are under `@rarefy/model-kit/node`. `@rarefy/pilot-model` and
 * `@rarefy/two-tower` build on it.
 */

export { ensureBackend } from './backend/ensure.js';
export type { MatMulBenchmarkOptions } from './backend/gflops.js';
export { measureMatMulGflops } from './backend/gflops.js';
export type { RegisterTrainingKernelsOptions, TrainingKernels } from './backend/kernels.js';
export {
  gradientsRegistered,
  registerTrainingKernels,
  shareIdentityOnWasm,
  UNSORTED_SEGMENT_SUM,
} from './backend/kernels.js';
export type {
  BackendAttempt,
  BackendName,
  BackendSelection,
  SelectBackendOptions,
  WasmFileMap,
} from './backend/select.js';
export { BACKEND_NAMES, selectBackend } from './backend/select.js';
export type { DenseActivation } from './dense.js';
export { denseLayer } from './dense.js';
export { EmbeddingTable } from './embedding.js';
export type { NeuralFeatureHashing } from './hash.js';
export { FEATURE_HASH_FUNCTION, hashDictionary, hashFeature, murmur3x86_32 } from './hash.js';
export type { DenseLayerNodes, GraphParts, OnnxDenseLayer } from './onnx/proto.js';
export {
  BATCH_DIMENSION,
  denseLayerNodes,
  doubleInitializer,
  ELEMENT_DOUBLE,
  ELEMENT_FLOAT,
  ELEMENT_INT64,
  encodeModel,
  floatInitializer,
  int64Initializer,
  intAttribute,
  node as onnxNode,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  onnx,
  PRODUCER_NAME,
  tensorValueInfo,
} from './onnx/proto.js';
export type {
  SaveableModel,
  SavedModelContents,
  SavedModelFile,
  SaveModelOptions,
} from './saved-model/contents.js';
export { ONNX_FILE } from './saved-model/contents.js';
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
