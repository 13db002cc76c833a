/**
 * The sampling recipe run inside an SQL engine (Node only): counts, pilot draw, score histogram and
 * the sampling statement all in SQL, the pilot fitted and the scale solved locally.
 */
export type {
  EnginePlanOptions,
  EngineSampleOptions,
  EngineSamplePlan,
  EngineSampleProgress,
  EngineSampleResult,
  EngineScaleSample,
  EngineScaleSampleClass,
  EngineStageName,
} from './sample-with-engine.js';
export {
  DEFAULT_SCALE_SAMPLE_ROWS,
  engineSamplingSql,
  planEngineSample,
  sampleWithEngine,
} from './sample-with-engine.js';
export type { SqlColumn, SqlEngine, SqlSourceHandle } from './sql-engine.js';
