/**
 * @packageDocumentation
 * Readers and writers for Rarefy's data. This entry is browser-safe (bytes and strings in, typed
 * arrays out); file access lives in `@rarefy/data-io/node`.
 */

export type { ByteSource } from './batch-reader.js';
export {
  byteSource,
  collectBatches,
  createBatchReader,
  formatFromName,
  sniffFormat,
} from './batch-reader.js';
export type { CsvColumn, DesignMatrixColumnsOptions, FormatCsvOptions } from './csv-format.js';
export { designMatrixColumns, formatCsv, formatCsvNumber, quoteCsvField } from './csv-format.js';
export type { CsvMatrix, CsvMatrixOptions, ParseCsvMatrixOptions } from './csv-matrix.js';
export { CsvMatrixParser, parseCsvMatrix } from './csv-matrix.js';
export type { CsvRecord, CsvTable, CsvTokenizerOptions, ParseCsvOptions } from './csv-tokenizer.js';
export { CsvTokenizer, parseCsv } from './csv-tokenizer.js';
export type { LibsvmCsr, ParsedLibsvm, ParseLibsvmOptions } from './libsvm.js';
export { parseLibsvm } from './libsvm.js';
export { parseDecimalText } from './number-parse.js';
export type {
  BatchReader,
  InputFormat,
  LabelMapping,
  ReadOptions,
  ReadProgress,
  ReadStats,
  SchemaOptions,
  SkippedRow,
} from './schema.js';
export { DEFAULT_LABEL_MAPPING, inferColumnTypes, LabelMatcher, LIBSVM_LABEL_MAPPING } from './schema.js';
// The design score as SQL (used by the engine recipe to aggregate scores where the data lives).
export type {
  DesignScoreSqlOptions,
  DialectFunctionSpelling,
  SamplingSqlOptions,
  SqlDialect,
  SqlDialectSpec,
} from './sql/index.js';
export {
  DIALECT_FUNCTIONS,
  designScoreSql,
  doubleLiteral,
  quoteIdentifier,
  quoteTableName,
  SQL_DIALECT_SPECS,
  SQL_DIALECTS,
  samplingSql,
} from './sql/index.js';
