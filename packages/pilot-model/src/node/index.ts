/**
 * @packageDocumentation
 * The Node-only part of `@rarefy/pilot-model`: ONNX pilots through onnxruntime-node, saving and
 * loading model folders, backend selection with tfjs-node and `RAREFY_BACKEND`, and the doctor report.
 */

export type { DoctorReport } from './backend.js';
export { BACKEND_ENVIRONMENT_VARIABLE, doctorReport, selectBackend } from './backend.js';
export type { OnnxOutputKindOption, OnnxPilotOptions } from './onnx-pilot.js';
export { OnnxPilot, onnxruntimeVersion } from './onnx-pilot.js';
export type { LoadModelOptions, ModelFolder, ModelLoader } from './saved-model.js';
export { loadModel, readModelFolder, saveModel, writeModelFolder } from './saved-model.js';
