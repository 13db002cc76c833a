/**
 * @packageDocumentation
 * The `rarefy` command line as a library: build the program, or run it in-process with any Io
 * (tests capture its output with {@link createMemoryIo}).
 */
export type { SimulateOptions, SimulateResult } from './commands/simulate.js';
export { simulate } from './commands/simulate.js';
export type { FormatTableOptions, TableColumn } from './format.js';
export { formatDuration, formatNumber, formatTable } from './format.js';
export type { Io, MemoryIo, OutputStream } from './io.js';
export { createMemoryIo, printJson, printLine, processIo } from './io.js';
export { finiteNumber, integer, positiveInteger } from './options.js';
export type { CommandContext } from './program.js';
export { createProgram, VERSION } from './program.js';
export type { Progress, ProgressOptions } from './progress.js';
export { createProgress } from './progress.js';
export type { JsonError } from './run.js';
export { ExitCode, run } from './run.js';
