/**
 * SQL text for sampling inside an engine (browser-safe: strings in, a string out).
 */
export type { DialectFunctionSpelling, SqlDialect, SqlDialectSpec } from './dialects.js';
export {
  DIALECT_FUNCTIONS,
  doubleLiteral,
  quoteIdentifier,
  quoteTableName,
  SQL_DIALECT_SPECS,
  SQL_DIALECTS,
} from './dialects.js';
export type { DesignScoreSqlOptions, SamplingSqlOptions } from './sampling-sql.js';
export { designScoreSql, samplingSql } from './sampling-sql.js';
