import { describe, expect, it } from 'vitest';
import { LineSplitter } from './line-splitter.js';

/** Splits `bytes` fed in pieces of `size`; returns [line number, text] pairs. */
function split(bytes: Uint8Array, size: number): [number, string][] {
  const lines: [number, string][] = [];
  const decoder = new TextDecoder();
  const splitter = new LineSplitter((chunk, start, end, line) => {
    lines.push([line, decoder.decode(chunk.subarray(start, end))]);
  });
  for (let start = 0; start < bytes.length; start += size) splitter.push(bytes.subarray(start, start + size));
  splitter.finish();
  return lines;
}

describe('LineSplitter', () => {
  it('splits LF and CRLF lines, drops a BOM and keeps a last line without a break, in any chunking', () => {
    const bytes = Uint8Array.of(0xef, 0xbb, 0xbf, ...new TextEncoder().encode('ab\r\n\nçd\nlast'));
    for (const size of [1, 2, 3, 5, 100]) {
      expect(split(bytes, size)).toEqual([
        [1, 'ab'],
        [2, ''],
        [3, 'çd'],
        [4, 'last'],
      ]);
    }
  });

  it('handles inputs shorter than a byte-order mark', () => {
    const encode = (text: string) => new TextEncoder().encode(text);
    expect(split(encode('\n'), 1)).toEqual([[1, '']]);
    expect(split(encode('a\n'), 1)).toEqual([[1, 'a']]);
    expect(split(encode('ab'), 1)).toEqual([[1, 'ab']]);
    expect(split(encode(''), 1)).toEqual([]);
  });
});
