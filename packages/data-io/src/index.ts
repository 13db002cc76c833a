/**
 * @packageDocumentation
 * Readers and writers for Rarefy's data. This entry is browser-safe (bytes and strings in, typed
 * arrays out); file access lives in `@rarefy/data-io/node`.
 */
export type { CsvColumn, FormatCsvOptions } from './csv-format.js';
export { formatCsv, formatCsvNumber, quoteCsvField } from './csv-format.js';
export type { CsvMatrix, CsvMatrixOptions, ParseCsvMatrixOptions } from './csv-matrix.js';
export { CsvMatrixParser, parseCsvMatrix } from './csv-matrix.js';
export type { CsvRecord, CsvTable, CsvTokenizerOptions, ParseCsvOptions } from './csv-tokenizer.js';
export { CsvTokenizer, parseCsv } from './csv-tokenizer.js';
export { parseDecimalText } from './number-parse.js';
