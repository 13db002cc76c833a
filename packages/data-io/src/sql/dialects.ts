import { RarefyError } from '@rarefy/sampling-core';

/**
 * The SQL engines {@link samplingSql} writes for. The table of dialects is keyed by this name, so a new
 * engine (ClickHouse, issue 8) is one more entry in {@link SQL_DIALECT_SPECS} plus its name here.
 */
export type SqlDialect = 'duckdb' | 'spark' | 'trino' | 'bigquery' | 'clickhouse';

/** Every supported dialect, in the order the docs list them. */
export const SQL_DIALECTS: readonly SqlDialect[] = Object.freeze([
  'duckdb',
  'spark',
  'trino',
  'bigquery',
  'clickhouse',
] as const);

/**
 * How one engine spells what the sampling statement needs. Every member returns SQL text; the
 * arguments are SQL expressions (already quoted) or plain numbers.
 */
export interface SqlDialectSpec {
  readonly name: SqlDialect;
  /** The character that quotes identifiers (`"` or a backtick). */
  readonly identifierQuote: '"' | '`';
  /** The name of the 64-bit float type in CAST. */
  readonly doubleType: string;
  /** The name of the boolean type in CAST. */
  readonly booleanType: string;
  /** The literal true (`TRUE`; ClickHouse 18, which has no boolean literals: `1`). */
  readonly trueLiteral: string;
  /** The literal false (`FALSE`; ClickHouse 18: `0`). */
  readonly falseLiteral: string;
  exp(x: string): string;
  ln(x: string): string;
  least(a: string, b: string): string;
  greatest(a: string, b: string): string;
  sqrt(x: string): string;
  /**
   * A uniform in [0, 1) that depends only on the row key and the seed: the low 53 bits of a 64-bit
   * hash, times 2^-53 (exact in a double, never 1).
   */
  hashUniform(key: string, seed: string): string;
  /**
   * A seeded uniform in [0, 1) without a row key, or null when the engine cannot seed `rand`
   * (then a row key is required). `seed` is the integer seed as SQL text, `unitSeed` the same seed
   * mapped into [0, 1) (for DuckDB's `setseed`). `setup` is a common table expression the statement
   * must join (DuckDB's `setseed`), or null.
   */
  seededRandom(
    seed: string,
    unitSeed: string,
  ): { expression: string; setup: { name: string; query: string } | null } | null;
  /** An expression of any type that aborts the query with `message` (plain text, no quotes). */
  raiseError(message: string): string;
}

/** 2^53 - 1: masks the low 53 bits of a 64-bit hash. */
const LOW_53_BITS = '9007199254740991';
/** 2^-53 as a double literal (exact). */
const TWO_TO_MINUS_53 = '1.1102230246251565e-16';

/** A decimal integer seed as its unsigned 64-bit value (two's complement), for UBIGINT arithmetic. */
function unsignedSeed(seed: string): string {
  return /^-?\d+$/.test(seed) ? BigInt.asUintN(64, BigInt(seed)).toString() : seed;
}

/** Single-quoted SQL string literal; callers pass only text from {@link sqlSafeText}. */
function stringLiteral(text: string): string {
  return `'${text}'`;
}

/**
 * DuckDB's `setseed` takes a value in [-1, 1]: the seed is mapped to (seed mod 2^31) / 2^31.
 *
 * @param seed - a safe integer
 * @returns the argument of `setseed`
 */
export function duckDbSetseedArgument(seed: number): number {
  const modulus = 2 ** 31;
  return (((seed % modulus) + modulus) % modulus) / modulus;
}

/** exp, ln, least, greatest and sqrt as standard SQL spells them (every dialect here does), in one case. */
function standardMath(
  letters: 'lower' | 'upper',
): Pick<SqlDialectSpec, 'exp' | 'ln' | 'least' | 'greatest' | 'sqrt'> {
  const name = (text: string) => (letters === 'upper' ? text.toUpperCase() : text);
  return {
    exp: (x) => `${name('exp')}(${x})`,
    ln: (x) => `${name('ln')}(${x})`,
    least: (a, b) => `${name('least')}(${a}, ${b})`,
    greatest: (a, b) => `${name('greatest')}(${a}, ${b})`,
    sqrt: (x) => `${name('sqrt')}(${x})`,
  };
}

const DUCKDB: SqlDialectSpec = {
  name: 'duckdb',
  identifierQuote: '"',
  doubleType: 'DOUBLE',
  booleanType: 'BOOLEAN',
  trueLiteral: 'TRUE',
  falseLiteral: 'FALSE',
  ...standardMath('lower'),
  // hash() is DuckDB's 64-bit hash (UBIGINT). Its multi-argument form only XORs in the second
  // hash, so hash(key, 1) and hash(key, 2) are almost perfectly correlated: the seed is XORed into
  // hash(key) and the result hashed again (a full 64-bit mix). Stable within a DuckDB version.
  hashUniform: (key, seed) =>
    `CAST(hash(xor(hash(${key}), CAST(${unsignedSeed(seed)} AS UBIGINT))) & CAST(${LOW_53_BITS} AS UBIGINT) AS DOUBLE) * ${TWO_TO_MINUS_53}`,
  seededRandom: (_seed, unitSeed) => ({
    expression: 'random()',
    setup: { name: 'rarefy_seed', query: `SELECT setseed(${unitSeed}) AS seeded` },
  }),
  raiseError: (message) => `error(${stringLiteral(message)})`,
};

const SPARK: SqlDialectSpec = {
  name: 'spark',
  identifierQuote: '`',
  doubleType: 'DOUBLE',
  booleanType: 'BOOLEAN',
  trueLiteral: 'TRUE',
  falseLiteral: 'FALSE',
  ...standardMath('lower'),
  // xxhash64(cols...) is Spark's 64-bit xxHash (BIGINT, seed 42 inside), stable across versions.
  hashUniform: (key, seed) =>
    `CAST(xxhash64(${key}, CAST(${seed} AS BIGINT)) & ${LOW_53_BITS}L AS DOUBLE) * ${TWO_TO_MINUS_53}`,
  // rand(seed) seeds one generator per partition with seed + partition index: reproducible for the
  // same input partitioning.
  seededRandom: (seed) => ({ expression: `rand(${seed})`, setup: null }),
  raiseError: (message) => `raise_error(${stringLiteral(message)})`,
};

const TRINO: SqlDialectSpec = {
  name: 'trino',
  identifierQuote: '"',
  doubleType: 'DOUBLE',
  booleanType: 'BOOLEAN',
  trueLiteral: 'TRUE',
  falseLiteral: 'FALSE',
  ...standardMath('lower'),
  // xxhash64(varbinary) returns 8 bytes; from_big_endian_64 reads them as a BIGINT.
  hashUniform: (key, seed) =>
    `CAST(bitwise_and(from_big_endian_64(xxhash64(to_utf8(CAST(${key} AS varchar) || ${stringLiteral(`:${seed}`)}))), ${LOW_53_BITS}) AS DOUBLE) * ${TWO_TO_MINUS_53}`,
  seededRandom: () => null,
  // fail(varchar) is the function Trino's own planner uses to raise errors from queries.
  raiseError: (message) => `fail(${stringLiteral(message)})`,
};

const BIGQUERY: SqlDialectSpec = {
  name: 'bigquery',
  identifierQuote: '`',
  doubleType: 'FLOAT64',
  booleanType: 'BOOL',
  trueLiteral: 'TRUE',
  falseLiteral: 'FALSE',
  ...standardMath('upper'),
  // FARM_FINGERPRINT(STRING) is BigQuery's stable 64-bit fingerprint (INT64).
  hashUniform: (key, seed) =>
    `CAST(FARM_FINGERPRINT(CONCAT(CAST(${key} AS STRING), ${stringLiteral(`:${seed}`)})) & ${LOW_53_BITS} AS FLOAT64) * ${TWO_TO_MINUS_53}`,
  seededRandom: () => null,
  raiseError: (message) => `ERROR(${stringLiteral(message)})`,
};

/** 2^-32 as a double literal (exact): scales ClickHouse's 32-bit `rand()` into [0, 1). */
const TWO_TO_MINUS_32 = '2.3283064365386963e-10';

const CLICKHOUSE: SqlDialectSpec = {
  name: 'clickhouse',
  identifierQuote: '"',
  doubleType: 'Float64',
  // ClickHouse 18 has no boolean type nor boolean literals: conditions are UInt8 0/1.
  booleanType: 'UInt8',
  trueLiteral: '1',
  falseLiteral: '0',
  exp: (x) => `exp(${x})`,
  // log is the natural logarithm in ClickHouse (ln is an alias only in newer versions).
  ln: (x) => `log(${x})`,
  least: (a, b) => `least(${a}, ${b})`,
  greatest: (a, b) => `greatest(${a}, ${b})`,
  sqrt: (x) => `sqrt(${x})`,
  // sipHash64(key, seed) hashes both arguments' binary forms into one UInt64 (stable across
  // versions and servers); the seed is cast to UInt64 so that its literal's width never matters.
  hashUniform: (key, seed) =>
    `toFloat64(bitAnd(sipHash64(${key}, toUInt64(${unsignedSeed(seed)})), toUInt64(${LOW_53_BITS}))) * ${TWO_TO_MINUS_53}`,
  // rand() is a 32-bit generator that cannot be seeded: without a row key the sample differs run
  // to run (pass a row key for a reproducible one).
  seededRandom: () => ({ expression: `toFloat64(rand()) * ${TWO_TO_MINUS_32}`, setup: null }),
  // ClickHouse 18 evaluates every branch of a CASE (multiIf) for every row and its throwIf takes no
  // message, so no row-level abort is possible: such a row is dropped (0). The engine recipe
  // refuses labels other than 0/1 (count) and NULL/NaN scores (histogram, mean) before sampling.
  raiseError: () => '0',
};

/**
 * The specification of every dialect, keyed by name. {@link samplingSql} writes SQL only through
 * these functions, and {@link DIALECT_FUNCTIONS} is derived from them, so the docs cannot drift.
 */
export const SQL_DIALECT_SPECS: Readonly<Record<SqlDialect, SqlDialectSpec>> = Object.freeze({
  duckdb: DUCKDB,
  spark: SPARK,
  trino: TRINO,
  bigquery: BIGQUERY,
  clickhouse: CLICKHOUSE,
});

/** How one engine spells each function the sampling SQL uses (`x`, `a`, `b`, `<key>`, `<seed>` are placeholders). */
export interface DialectFunctionSpelling {
  /** The uniform random number without a row key (and how it is seeded), or why there is none. */
  readonly random: string;
  readonly exp: string;
  readonly ln: string;
  readonly least: string;
  readonly greatest: string;
  readonly sqrt: string;
  /** The uniform in [0, 1) from a hash of the row key and the seed. */
  readonly hashUniform: string;
  /** How the statement aborts on a bad row (NULL feature, label not 0/1). */
  readonly raiseError: string;
}

function spellings(spec: SqlDialectSpec): DialectFunctionSpelling {
  const seeded = spec.seededRandom('<seed>', '(<seed> mod 2^31) / 2^31');
  const random =
    seeded === null
      ? 'none that can be seeded: a row key is required (hashUniform)'
      : seeded.setup === null
        ? seeded.expression
        : `${seeded.expression} after ${seeded.setup.query} (a materialized CTE joined to the input)`;
  return {
    random,
    exp: spec.exp('x'),
    ln: spec.ln('x'),
    least: spec.least('a', 'b'),
    greatest: spec.greatest('a', 'b'),
    sqrt: spec.sqrt('x'),
    hashUniform: spec.hashUniform('<key>', '<seed>'),
    raiseError: spec.raiseError('message'),
  };
}

/**
 * How each engine spells the functions the sampling SQL uses: random numbers, exp/log,
 * least/greatest, square root, the hash-based uniform and the error raised on a bad row. Derived
 * from the dialect table that writes the SQL, so it always matches what {@link samplingSql} emits.
 *
 * @example
 * ```ts
 * console.log(DIALECT_FUNCTIONS.spark.random); // 'rand(<seed>)'
 * ```
 */
export const DIALECT_FUNCTIONS: Readonly<Record<SqlDialect, DialectFunctionSpelling>> = Object.freeze({
  duckdb: spellings(DUCKDB),
  spark: spellings(SPARK),
  trino: spellings(TRINO),
  bigquery: spellings(BIGQUERY),
  clickhouse: spellings(CLICKHOUSE),
});

/**
 * A double as an SQL literal that every supported engine parses as a 64-bit float, with full
 * round-trip precision: the shortest decimal that reads back as the same double (`String(x)`),
 * always with an exponent (`0.5e0`, `1.25e-7`), since a plain `0.5` is DECIMAL in DuckDB, Spark and
 * Trino. Negative values are parenthesised, so `a - (-1e0)` never becomes a `--` comment.
 *
 * @param value - a finite double
 * @returns the literal
 * @example
 * ```ts
 * doubleLiteral(-0.5); // '(-0.5e0)'
 * ```
 */
export function doubleLiteral(value: number): string {
  if (!Number.isFinite(value)) {
    throw new RarefyError(
      'RAREFY_NON_FINITE',
      `SQL literal: ${value} is not a finite number`,
      'pass finite coefficients and a solved scale',
      { input: 'value', value },
    );
  }
  const magnitude = unsignedDoubleLiteral(Math.abs(value));
  return value < 0 || Object.is(value, -0) ? `(-${magnitude})` : magnitude;
}

/** |value| with an exponent: '6e0', '1.25e-7', '1e21'. */
export function unsignedDoubleLiteral(magnitude: number): string {
  const text = String(magnitude);
  return text.includes('e') ? text.replace('e+', 'e') : `${text}e0`;
}

/**
 * Text safe inside a single-quoted string literal of every dialect: no quotes, backslashes,
 * semicolons (some command-line clients split statements on them) or control characters.
 */
export function sqlSafeText(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  return text.replace(/['\\;\u0000-\u001f\u007f]/g, '');
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/**
 * Quotes one identifier (a column, or one part of a table name) for a dialect, refusing names that
 * cannot be quoted safely: empty, longer than 300 characters, containing a control character or the
 * dialect's quote character.
 *
 * @param name - the identifier as the engine knows it
 * @param dialect - the dialect
 * @param input - what the caller calls it, for the error message
 * @returns the quoted identifier
 * @example
 * ```ts
 * quoteIdentifier('offset', 'spark', 'label'); // '`offset`'
 * ```
 */
export function quoteIdentifier(name: string, dialect: SqlDialect, input: string): string {
  const quote = SQL_DIALECT_SPECS[dialect].identifierQuote;
  if (typeof name !== 'string' || name.length === 0 || name.length > 300 || CONTROL_CHARACTERS.test(name)) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `${input}: ${JSON.stringify(name)} is not a usable identifier (empty, over 300 characters, or with control characters)`,
      'pass the column or table name exactly as the engine knows it',
      { input, value: name },
    );
  }
  if (name.includes(quote)) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `${input}: ${JSON.stringify(name)} contains ${quote}, the quote character of ${dialect} identifiers`,
      'rename the column (or create a view that renames it) and pass the new name',
      { input, value: name },
    );
  }
  return `${quote}${name}${quote}`;
}

/**
 * Quotes a table name of one to three dot-separated parts (`table`, `schema.table`,
 * `catalog.schema.table`; BigQuery's `project.dataset.table`), each part quoted on its own.
 *
 * @param name - the table name
 * @param dialect - the dialect
 * @returns the quoted name, e.g. `"main"."events"`
 * @example
 * ```ts
 * quoteTableName('analytics.events', 'trino'); // '"analytics"."events"'
 * ```
 */
export function quoteTableName(name: string, dialect: SqlDialect): string {
  const parts = typeof name === 'string' ? name.split('.') : [];
  if (parts.length < 1 || parts.length > 3 || parts.some((part) => part.trim() !== part || part === '')) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `inputTable: ${JSON.stringify(name)} is not a table name of 1 to 3 dot-separated parts`,
      'pass table, schema.table or catalog.schema.table (no spaces around the dots; a name with a dot inside cannot be used, create a view)',
      { input: 'inputTable', value: name },
    );
  }
  return parts.map((part) => quoteIdentifier(part, dialect, 'inputTable')).join('.');
}
