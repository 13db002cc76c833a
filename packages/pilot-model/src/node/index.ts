/**
 * @packageDocumentation
 * The Node-only part of `@rarefy/pilot-model`: ONNX pilots through onnxruntime-node, saving and
 * loading model folders, backend selection with tfjs-node and `RAREFY_BACKEND`, and the doctor report.
 */

export type { ModelFolder } from '@rarefy/model-kit/node';
export {
  BACKEND_ENVIRONMENT_VARIABLE,
  readModelFolder,
  selectBackend,
  writeModelFolder,
} from '@rarefy/model-kit/node';
export type { DoctorReport } from './backend.js';
export { doctorReport } from './backend.js';
export type { OnnxOutputKindOption, OnnxPilotOptions } from './onnx-pilot.js';
export { OnnxPilot, onnxruntimeVersion } from './onnx-pilot.js';
export type {
  RuntimeCandidate,
  RuntimeChoice,
  RuntimeChoosingOptions,
  RuntimeOption,
  ScoringRuntime,
} from './runtime.js';
export { RUNTIME_OPTIONS, RuntimeChoosingPilot, releasePilot } from './runtime.js';
export type { LoadedModel, LoadModelOptions, ModelLoader } from './saved-model.js';
export { loadModel, openModel, saveModel } from './saved-model.js';
