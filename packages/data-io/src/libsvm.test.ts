import { isRarefyError, type RarefyError } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { byteSource, collectBatches, createBatchReader } from './batch-reader.js';
import { parseLibsvm } from './libsvm.js';

/** Runs `action`, expecting a RarefyError of `code`; returns it. */
function thrown(action: () => unknown, code: string): RarefyError {
  try {
    action();
  } catch (error) {
    if (!isRarefyError(error)) throw error;
    expect(error.code).toBe(code);
    return error;
  }
  throw new Error('expected an error');
}

const SAMPLE = [
  '# a comment line',
  '+1 1:0.5 3:2 # trailing comment',
  '-1 ',
  '-1 qid:7 2:-1.25e-1\t4:1',
  '1 4:3',
  '',
].join('\n');

describe('parseLibsvm', () => {
  it('reads labels and CSR, with empty rows, qid, comments, tabs and a trailing blank line', () => {
    const { labels, csr, stats } = parseLibsvm(SAMPLE, { source: 's.svm' });
    expect(Array.from(labels)).toEqual([1, 0, 0, 1]);
    expect(Array.from(csr.indptr)).toEqual([0, 2, 2, 4, 5]);
    expect(Array.from(csr.indices)).toEqual([0, 2, 1, 3, 3]);
    expect(Array.from(csr.values)).toEqual([0.5, 2, -0.125, 1, 3]);
    expect(csr.columns).toBe(4);
    expect(stats.rows).toBe(4);
  });

  it('gives the same result in any chunking, with CRLF and as bytes', () => {
    const bytes = new TextEncoder().encode(SAMPLE.replaceAll('\n', '\r\n'));
    const { csr } = parseLibsvm(bytes, { columns: 10 });
    expect(Array.from(csr.values)).toEqual([0.5, 2, -0.125, 1, 3]);
    expect(csr.columns).toBe(10);
  });

  it('maps 0/1 labels by default and others by a mapping; a label outside is RAREFY_INVALID_LABEL', () => {
    expect(Array.from(parseLibsvm('0 1:1\n1 2:1\n').labels)).toEqual([0, 1]);
    const mapped = parseLibsvm('2 1:1\n4 2:1\n', { labelMapping: { positive: [4], negative: [2] } });
    expect(Array.from(mapped.labels)).toEqual([0, 1]);
    const error = thrown(
      () => parseLibsvm('+1 1:1\n3 2:1\n', { source: 'multi.svm' }),
      'RAREFY_INVALID_LABEL',
    );
    expect(error.message).toContain('multi.svm, line 2, column "label": "3"');
    expect(error.message).toContain('positive 1; negative -1, 0');
  });

  it('reports malformed rows with file and line, or skips them', () => {
    const cases: [string, string][] = [
      ['+1 3:1 2:1\n', 'indices must be ascending'],
      ['+1 0:1\n', 'indices start at 1'],
      ['+1 2:abc\n', '"abc" is not a number'],
      ['+1 2\n', '"2" is not an index:value pair'],
      ['+1 2:1e999\n', 'overflows'],
    ];
    for (const [text, message] of cases) {
      const error = thrown(() => parseLibsvm(`-1 1:1\n${text}`, { source: 'bad.svm' }), 'RAREFY_PARSE_ERROR');
      expect(error.message).toContain('bad.svm, line 2');
      expect(error.message).toContain(message);
    }
    const beyond = thrown(() => parseLibsvm('+1 5:1\n', { columns: 4 }), 'RAREFY_PARSE_ERROR');
    expect(beyond.message).toContain('beyond libsvmColumns (4)');
    const skipped = parseLibsvm('+1 1:1\n+1 3:1 2:1\n7 1:1\n-1 2:2\n', { onInvalid: 'skip' });
    expect(Array.from(skipped.labels)).toEqual([1, 0]);
    expect(Array.from(skipped.csr.indptr)).toEqual([0, 1, 2]);
    expect(skipped.stats.skipped).toBe(2);
    expect(skipped.stats.skippedExamples.map((example) => example.line)).toEqual([2, 3]);
  });
});

describe('createBatchReader: LibSVM to dense columns', () => {
  it('finds the width in a first pass and fills f1..fK densely, identically for any batch size', async () => {
    const reference = parseLibsvm(SAMPLE);
    for (const batchRows of [1, 7, 65536]) {
      for (const chunkBytes of [3, 1 << 20]) {
        const reader = await createBatchReader([byteSource('data', SAMPLE, chunkBytes)], { batchRows });
        expect(reader.format).toBe('libsvm');
        expect(reader.schema.map((column) => column.name)).toEqual(['label', 'f1', 'f2', 'f3', 'f4']);
        const table = await collectBatches(reader);
        expect(Array.from(table.columns.label as Uint8Array)).toEqual(Array.from(reference.labels));
        expect(Array.from(table.columns.f1 as Float64Array)).toEqual([0.5, 0, 0, 0]);
        expect(Array.from(table.columns.f2 as Float64Array)).toEqual([0, 0, -0.125, 0]);
        expect(Array.from(table.columns.f4 as Float64Array)).toEqual([0, 0, 1, 3]);
      }
    }
  });

  it('honours libsvmColumns, drop, and rejects another label name', async () => {
    const reader = await createBatchReader([byteSource('x.libsvm', SAMPLE)], {
      libsvmColumns: 6,
      drop: ['f2'],
    });
    expect(reader.schema.map((column) => column.name)).toEqual(['label', 'f1', 'f3', 'f4', 'f5', 'f6']);
    const table = await collectBatches(reader);
    expect(Array.from(table.columns.f6 as Float64Array)).toEqual([0, 0, 0, 0]);
    await expect(createBatchReader([byteSource('x.svm', SAMPLE)], { label: 'y' })).rejects.toMatchObject({
      code: 'RAREFY_INVALID_ARGUMENT',
    });
    await expect(createBatchReader([byteSource('e.svm', '\n')])).rejects.toMatchObject({
      code: 'RAREFY_PARSE_ERROR',
    });
  });
});
