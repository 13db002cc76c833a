/**
 * The embedded DuckDB engine (Node only).
 */
export type {
  DuckDbClassCounts,
  DuckDbEngineOptions,
  DuckDbStreamOptions,
  ReadCsvWithDuckDbOptions,
} from './engine.js';
export { DuckDbEngine, readCsvWithDuckDb } from './engine.js';
export { duckDbError } from './errors.js';
