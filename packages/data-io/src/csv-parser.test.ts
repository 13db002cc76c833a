import { createRng, isRarefyError } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { CsvParser, CsvRecordSink, recordPlan } from './csv-parser.js';

const encoder = new TextEncoder();

/** The records of `bytes` fed in pieces whose sizes `nextSize` gives. */
function records(bytes: Uint8Array, nextSize: () => number, options = {}) {
  const sink = new CsvRecordSink();
  const parser = new CsvParser(options, sink.rows, recordPlan());
  for (let start = 0; start < bytes.length; ) {
    const size = nextSize();
    parser.push(bytes.subarray(start, start + size));
    start += size;
  }
  parser.finish();
  return sink.records;
}

describe('CsvParser (the one CSV loop)', () => {
  it('gives the same records and lines for seeded random chunkings, records longer than the head it joins', () => {
    const long = 'z'.repeat(150_000);
    const text = `a,b\r\n"${long}",1\n"q""\n",2\r3,"${long.slice(0, 70_000)}"\n\n# not a comment\n4,5`;
    const bytes = encoder.encode(text);
    const whole = records(bytes, () => bytes.length);
    expect(whole.map((record) => record.line)).toEqual([1, 2, 3, 5, 7, 8]);
    expect(whole[1]?.fields).toEqual([long, '1']);
    expect(whole[2]?.fields).toEqual(['q"\n', '2']);
    expect(whole[3]?.fields).toEqual(['3', long.slice(0, 70_000)]);
    const rng = createRng(11);
    for (const maximum of [3, 100, 40_000, 1 << 20]) {
      expect(records(bytes, () => 1 + rng.nextInt(maximum))).toEqual(whole);
    }
  });

  it('stops after the records a sink asks for, and the rest stays unparsed', () => {
    const sink = new CsvRecordSink(2);
    const parser = new CsvParser({}, sink.rows, recordPlan());
    parser.push(encoder.encode('a\n1\n2\n3\n"never closed\n'));
    expect(sink.records.map((record) => record.fields)).toEqual([['a'], ['1']]);
  });

  it('reports text after a closing quote with its line and field', () => {
    try {
      records(encoder.encode('a,b\n1,"x\ny"z\n'), () => 4);
      expect.fail('expected an error');
    } catch (error) {
      if (!isRarefyError(error)) throw error;
      expect(error.code).toBe('RAREFY_PARSE_ERROR');
      expect(error.message).toContain('<csv>, line 3: unexpected "z" after the closing quote of field 2');
    }
  });

  it('rejects a comment character equal to the delimiter and an unknown encoding', () => {
    const sink = new CsvRecordSink();
    expect(() => new CsvParser({ comment: ',' }, sink.rows, recordPlan())).toThrow('comment character');
    expect(() => new CsvParser({ encoding: 'utf-16' as 'utf-8' }, sink.rows, recordPlan())).toThrow(
      'encoding',
    );
  });
});
