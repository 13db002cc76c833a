/**
 * The SQL text of every dialect against reviewed golden files (__golden__/<dialect>-<design>.sql;
 * `UPDATE_GOLDEN=1` rewrites them), literal precision, and every refused input. The DuckDB dialect
 * is also executed, in ../duckdb/sampling-sql.test.ts.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng, type DesignName, isRarefyError, type RarefyErrorCode } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import {
  DIALECT_FUNCTIONS,
  doubleLiteral,
  quoteTableName,
  SQL_DIALECTS,
  type SqlDialect,
} from './dialects.js';
import { type SamplingSqlOptions, samplingSql } from './sampling-sql.js';

const goldenDirectory = join(dirname(fileURLToPath(import.meta.url)), '__golden__');
const update = process.env.UPDATE_GOLDEN === '1';

/** Fixed inputs: a 3-feature pilot, an SPD M^-1 and a solved scale with mixing. */
const BASE: Omit<SamplingSqlOptions, 'dialect' | 'design'> = {
  inputTable: 'analytics.events',
  label: 'clicked',
  features: ['age', 'price', 'position'],
  pilotCoefficients: [-5.912345678901234, 0.4, -0.123456789, 1.5e-8],
  optAInverse: [4, 0.5, -0.25, 0, 0.5, 3, 0.125, -0.1, -0.25, 0.125, 2, 0.3, 0, -0.1, 0.3, 1.75],
  solution: { scale: 3.7000000000000006, uniformRate: 0.012345, alpha: 0.1, piMin: 1e-6 },
  seed: 42,
};

interface GoldenCase {
  dialect: SqlDialect;
  design: DesignName;
  /** Without a row key the uniforms come from the engine's seeded generator. */
  rowKey?: string;
  inputTable?: string;
  solution?: SamplingSqlOptions['solution'];
  file: string;
}

const GOLDEN_CASES: GoldenCase[] = [];
for (const dialect of SQL_DIALECTS) {
  for (const design of ['proportional', 'optA', 'LCC'] as const) {
    const seeded = dialect === 'duckdb' || dialect === 'spark';
    GOLDEN_CASES.push({
      dialect,
      design,
      // duckdb and spark: the proportional case shows the seeded generator, the others a row key.
      ...(seeded && design === 'proportional' ? {} : { rowKey: 'event_id' }),
      ...(dialect === 'bigquery' ? { inputTable: 'my-project.analytics.events' } : {}),
      file: `${dialect}-${design}.sql`,
    });
  }
}
GOLDEN_CASES.push(
  {
    dialect: 'duckdb',
    design: 'uniform',
    rowKey: 'event_id',
    solution: { scale: 0.0123, uniformRate: 0.0123, alpha: 0.1, piMin: 1e-6 },
    file: 'duckdb-uniform.sql',
  },
  { dialect: 'duckdb', design: 'optL', rowKey: 'event_id', file: 'duckdb-optL.sql' },
);

function sqlFor(c: GoldenCase): string {
  return samplingSql({
    ...BASE,
    dialect: c.dialect,
    design: c.design,
    ...(c.rowKey === undefined ? {} : { rowKey: c.rowKey }),
    ...(c.inputTable === undefined ? {} : { inputTable: c.inputTable }),
    ...(c.solution === undefined ? {} : { solution: c.solution }),
  });
}

describe('samplingSql golden files', () => {
  for (const c of GOLDEN_CASES) {
    it(`${c.file} is unchanged`, async () => {
      const sql = `${sqlFor(c)}\n`;
      const path = join(goldenDirectory, c.file);
      if (update) await writeFile(path, sql);
      const golden = await readFile(path, 'utf8').catch(() => '');
      expect(golden, `${path}: regenerate with UPDATE_GOLDEN=1 after reviewing the change`).toBe(sql);
    });
  }

  it('each dialect uses the spellings DIALECT_FUNCTIONS documents', () => {
    for (const c of GOLDEN_CASES) {
      const sql = sqlFor(c);
      const spelled = DIALECT_FUNCTIONS[c.dialect];
      for (const name of ['exp', 'ln', 'least', 'greatest'] as const) {
        if (c.design === 'uniform' && name !== 'ln') continue;
        const functionName = spelled[name].slice(0, spelled[name].indexOf('('));
        expect(sql, `${c.file} uses ${functionName}`).toContain(`${functionName}(`);
      }
      if (c.dialect === 'clickhouse') {
        // ClickHouse 18 evaluates every CASE branch and throwIf takes no message: a bad row is dropped.
        expect(sql).toContain('ELSE CAST(0 AS UInt8)');
        expect(sql).not.toMatch(/\bTRUE\b|\bFALSE\b|throwIf/);
      } else {
        const raise = spelled.raiseError.slice(0, spelled.raiseError.indexOf('('));
        expect(sql).toContain(`${raise}('rarefy: label clicked is not 0 or 1`);
      }
      if (c.rowKey === undefined) {
        expect(sql).toContain(c.dialect === 'spark' ? 'rand(42)' : 'random()');
      } else {
        const hashName = spelled.hashUniform.match(/([A-Za-z_0-9]+)\(/g) ?? [];
        for (const call of hashName) expect(sql).toContain(call);
      }
    }
  });

  it('DIALECT_FUNCTIONS documents every function for every dialect', () => {
    for (const dialect of SQL_DIALECTS) {
      const spelled = DIALECT_FUNCTIONS[dialect];
      for (const value of Object.values(spelled))
        expect(typeof value === 'string' && value.length > 0).toBe(true);
    }
    expect(DIALECT_FUNCTIONS.spark.random).toBe('rand(<seed>)');
    expect(DIALECT_FUNCTIONS.trino.random).toMatch(/row key/);
  });
});

describe('samplingSql text', () => {
  it('prints every double so that it reads back as the same double, with an exponent', () => {
    const rng = createRng(3);
    for (let k = 0; k < 5000; k++) {
      const value = (rng.nextFloat64() - 0.5) * 10 ** Math.floor(rng.nextFloat64() * 600 - 300);
      const literal = doubleLiteral(value);
      expect(literal).toMatch(/e-?\d+\)?$/);
      expect(Number(literal.replace(/[()]/g, ''))).toBe(value);
    }
    expect(doubleLiteral(0.5)).toBe('0.5e0');
    expect(doubleLiteral(-6)).toBe('(-6e0)');
    expect(doubleLiteral(1e21)).toBe('1e21');
    expect(doubleLiteral(1.5e-7)).toBe('1.5e-7');
  });

  it('keeps the listed columns, then pi, offset and weight', () => {
    const sql = samplingSql({
      ...BASE,
      dialect: 'trino',
      design: 'optL',
      rowKey: 'id',
      keepColumns: ['id', 'clicked'],
    });
    expect(sql).toContain('  scored."id", scored."clicked", scored."pi",\n');
    expect(sql).toContain('AS "offset"');
  });

  it('quotes table names of one to three parts', () => {
    expect(quoteTableName('events', 'duckdb')).toBe('"events"');
    expect(quoteTableName('hive.logs.events', 'trino')).toBe('"hive"."logs"."events"');
    expect(quoteTableName('my-project.ds.t', 'bigquery')).toBe('`my-project`.`ds`.`t`');
  });
});

describe('samplingSql refuses', () => {
  const valid: SamplingSqlOptions = { ...BASE, dialect: 'duckdb', design: 'optA', rowKey: 'id' };
  const cases: Array<
    [string, Partial<SamplingSqlOptions> | Record<string, unknown>, RarefyErrorCode, RegExp]
  > = [
    [
      'trino without a row key',
      { dialect: 'trino', rowKey: undefined },
      'RAREFY_INVALID_ARGUMENT',
      /rowKey.*cannot seed/,
    ],
    [
      'bigquery without a row key',
      { dialect: 'bigquery', rowKey: undefined },
      'RAREFY_INVALID_ARGUMENT',
      /rowKey/,
    ],
    ['an unknown dialect', { dialect: 'oracle' }, 'RAREFY_INVALID_ARGUMENT', /dialect.*oracle/],
    ['an unknown design', { design: 'optX' }, 'RAREFY_INVALID_ARGUMENT', /design.*optX/],
    ['a column with a quote', { label: 'cli"cked' }, 'RAREFY_INVALID_ARGUMENT', /options.label/],
    [
      'a backtick in spark',
      { dialect: 'spark', features: ['a`b', 'price', 'position'] },
      'RAREFY_INVALID_ARGUMENT',
      /features\[0\]/,
    ],
    ['a control character', { rowKey: 'id\n--' }, 'RAREFY_INVALID_ARGUMENT', /rowKey/],
    ['a four-part table', { inputTable: 'a.b.c.d' }, 'RAREFY_INVALID_ARGUMENT', /inputTable/],
    ['an empty table part', { inputTable: 'a..b' }, 'RAREFY_INVALID_ARGUMENT', /inputTable/],
    [
      'a missing coefficient',
      { pilotCoefficients: [1, 2, 3] },
      'RAREFY_DIMENSION_MISMATCH',
      /3 coefficients for 3 features/,
    ],
    [
      'a NaN coefficient',
      { pilotCoefficients: [1, Number.NaN, 3, 4] },
      'RAREFY_NON_FINITE',
      /pilotCoefficients\[1\]/,
    ],
    ['optA without M^-1', { optAInverse: undefined }, 'RAREFY_DIMENSION_MISMATCH', /optAInverse: missing/],
    ['a singular M^-1', { optAInverse: new Array(16).fill(0) }, 'RAREFY_RANK_DEFICIENT', /singular/],
    [
      'an unsolved scale',
      { solution: { scale: Number.NaN, uniformRate: 0.1, alpha: 0, piMin: 1e-6 } },
      'RAREFY_INVALID_ARGUMENT',
      /solved scale/,
    ],
    [
      'piMin 0',
      { solution: { scale: 1, uniformRate: 0.1, alpha: 0, piMin: 0 } },
      'RAREFY_PI_UNDERFLOW',
      /piMin/,
    ],
    ['a fractional seed', { seed: 1.5 }, 'RAREFY_INVALID_ARGUMENT', /seed/],
    ['a kept column named offset', { keepColumns: ['id', 'Offset'] }, 'RAREFY_INVALID_ARGUMENT', /clash/],
    ['an empty keep list', { keepColumns: [] }, 'RAREFY_INVALID_ARGUMENT', /keepColumns/],
    ['a feature listed twice', { features: ['age', 'age', 'price'] }, 'RAREFY_INVALID_ARGUMENT', /twice/],
  ];
  for (const [name, change, code, message] of cases) {
    it(name, () => {
      let caught: unknown;
      try {
        samplingSql({ ...valid, ...change } as SamplingSqlOptions);
      } catch (error) {
        caught = error;
      }
      expect(isRarefyError(caught, code), String(caught)).toBe(true);
      expect((caught as Error).message).toMatch(message);
    });
  }
});
