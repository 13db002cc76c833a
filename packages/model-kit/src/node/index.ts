/**
 * @packageDocumentation
 * The Node-only part of `@rarefy/model-kit`: backend selection with `@tensorflow/tfjs-node` and
 * `RAREFY_BACKEND`, and atomic reading and writing of saved-model folders. Everything browser-safe
 * is re-exported too, so Node callers need one import.
 */

export * from '../index.js';
export { BACKEND_ENVIRONMENT_VARIABLE, selectBackend } from './backend.js';
export type { ModelFolder } from './model-folder.js';
export { readModelFolder, writeModelFolder } from './model-folder.js';
