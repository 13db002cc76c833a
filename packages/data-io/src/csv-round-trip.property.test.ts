import type { ColumnType, DictionaryColumn } from '@rarefy/sampling-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byteSource, collectBatches, createBatchReader } from './batch-reader.js';
import { type CsvColumn, formatCsv } from './csv-format.js';
import { parseCsv } from './csv-tokenizer.js';

/** Characters that stress a CSV reader, mixed with any grapheme. */
const unit = fc.oneof(
  fc.constantFrom(',', ';', '|', '\t', '"', '""', '\n', '\r', '\r\n', ' ', '#', 'é', '€', '😀', '中'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
);
/** Text without a byte-order mark (a leading one would be read as the file's BOM). */
const text = (minLength: number) =>
  fc.string({ unit, minLength, maxLength: 12 }).filter((value) => !value.includes('\uFEFF'));

/** A table: 2-5 distinct column names, each column strings or finite doubles, 1-25 rows. */
const tables = fc
  .record({
    names: fc.uniqueArray(text(1), { minLength: 2, maxLength: 5 }),
    rows: fc.integer({ min: 1, max: 25 }),
    delimiter: fc.constantFrom(',', '\t', ';', '|'),
  })
  .chain(({ names, rows, delimiter }) =>
    fc.record({
      delimiter: fc.constant(delimiter),
      columns: fc.tuple(
        ...names.map((name) =>
          fc.oneof(
            fc
              .array(fc.double({ noNaN: true, noDefaultInfinity: true }), {
                minLength: rows,
                maxLength: rows,
              })
              .map((values): CsvColumn => ({ name, values: Float64Array.from(values) })),
            fc
              .array(text(0), { minLength: rows, maxLength: rows })
              .map((values): CsvColumn => ({ name, values })),
          ),
        ),
      ),
      chunkBytes: fc.integer({ min: 1, max: 64 }),
      batchRows: fc.integer({ min: 1, max: 30 }),
    }),
  );

describe('formatCsv then the CSV readers (property)', () => {
  it('createBatchReader returns the table formatCsv wrote, in any chunking and batching', async () => {
    await fc.assert(
      fc.asyncProperty(tables, async ({ delimiter, columns, chunkBytes, batchRows }) => {
        const csv = formatCsv(columns, { delimiter });
        const types = Object.create(null) as Record<string, ColumnType>;
        for (const column of columns)
          if (!(column.values instanceof Float64Array)) types[column.name] = 'string';
        const reader = await createBatchReader([byteSource('p.csv', csv, chunkBytes)], {
          format: 'csv',
          delimiter,
          types,
          batchRows,
        });
        expect(reader.schema).toEqual(
          columns.map((column) => ({
            name: column.name,
            type: column.values instanceof Float64Array ? 'number' : 'string',
          })),
        );
        const table = await collectBatches(reader);
        expect(table.rows).toBe(columns[0]?.values.length);
        for (const column of columns) {
          const read = table.columns[column.name];
          if (column.values instanceof Float64Array) {
            const numbers = read as Float64Array;
            column.values.forEach((value, i) => {
              if (!Object.is(numbers[i], value))
                expect.fail(`${column.name}[${i}]: ${numbers[i]} != ${value}`);
            });
          } else {
            const dictionary = read as DictionaryColumn;
            expect(Array.from(dictionary.codes, (code) => dictionary.values[code])).toEqual(column.values);
          }
        }
      }),
      { numRuns: 300, seed: 20240501 },
    );
  });

  it('parseCsv returns the text of every field formatCsv wrote', () => {
    fc.assert(
      fc.property(tables, ({ delimiter, columns }) => {
        const table = parseCsv(formatCsv(columns, { delimiter }), { delimiter });
        expect(table.columns).toEqual(columns.map((column) => column.name));
        columns.forEach((column, j) => {
          const values = Array.from(column.values as ArrayLike<number | string>);
          values.forEach((value, i) => {
            const field = table.rows[i]?.[j] as string;
            if (typeof value === 'number') expect(Object.is(Number(field), value)).toBe(true);
            else expect(field).toBe(value);
          });
        });
      }),
      { numRuns: 300, seed: 20240502 },
    );
  });
});
