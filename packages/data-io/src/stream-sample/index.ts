/**
 * Out-of-core sampling: the streaming passes of `sampleStream` and the atomic sample writer.
 * @packageDocumentation
 */
export { logisticPilot, SAMPLE_COLUMNS } from './batch-rows.js';
export { ScoreHistogram } from './histogram.js';
export type {
  BatchSource,
  StreamPassName,
  StreamSampleOptions,
  StreamSampleProgress,
  StreamSampleResult,
  StreamScale,
} from './sample-stream.js';
export { sampleStream } from './sample-stream.js';
export type { ParquetCopy, SampleWriter, SampleWriterOptions, SampleWriterSummary } from './sample-writer.js';
export {
  duckDbCopyToParquet,
  openSampleWriter,
  removeStaleTemporaryFiles,
  TEMPORARY_PREFIX,
} from './sample-writer.js';
export type { HistogramScaleProblem, HistogramScaleSolution } from './scale-solver.js';
export { fitLogisticPilot, HISTOGRAM_BITS, solveHistogramScale } from './scale-solver.js';
