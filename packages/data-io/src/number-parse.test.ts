import { createRng } from '@rarefy/sampling-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCsvMatrix } from './csv-matrix.js';
import { DECIMAL_PATTERN, parseDecimalText, scanDecimal } from './number-parse.js';

const encoder = new TextEncoder();

/** scanDecimal on a whole string, falling back like the parser does. */
function parseLikeTheReader(text: string): number {
  const bytes = encoder.encode(text);
  const fast = scanDecimal(bytes, new DataView(bytes.buffer), 0, bytes.length, 44, { end: 0 });
  return !Number.isNaN(fast) ? fast : parseDecimalText(text);
}

/** A double from 64 random bits (every exponent and sign), skipping NaN and infinities. */
function randomBitsDouble(rng: ReturnType<typeof createRng>): number {
  const view = new DataView(new ArrayBuffer(8));
  for (;;) {
    view.setUint32(0, rng.nextUint32());
    view.setUint32(4, rng.nextUint32());
    const value = view.getFloat64(0);
    if (Number.isFinite(value)) return value;
  }
}

describe('number parsing from bytes', () => {
  it('gives exactly what Number() gives on many seeded random doubles written with String()', () => {
    // Exactness is the claim, so the comparison is bitwise (Object.is), with no tolerance.
    const rng = createRng(20240611);
    const generators: Array<() => number> = [
      () => rng.normal(), // the A.10 features
      () => rng.normal() * 10 ** (rng.nextInt(44) - 22), // every exponent of the fast path
      () => rng.nextFloat64() * 1e-3,
      () => Math.round(rng.normal() * 1e6) / 1e3, // short decimals
      () => randomBitsDouble(rng),
    ];
    let normalHits = 0;
    for (let i = 0; i < 200_000; i++) {
      const value = (generators[i % generators.length] as () => number)();
      const text = String(value);
      const bytes = encoder.encode(text);
      const fast = scanDecimal(bytes, new DataView(bytes.buffer), 0, bytes.length, 44, { end: 0 });
      if (!Number.isNaN(fast)) {
        if (i % generators.length === 0) normalHits++;
        if (!Object.is(fast, Number(text))) expect.fail(`${text}: fast path gave ${fast}`);
      }
      if (!Object.is(parseLikeTheReader(text), value)) expect.fail(`${text} did not round-trip`);
    }
    // The A.10 features (normals, 40,000 of them) must nearly all take the fast path.
    expect(normalHits).toBeGreaterThan(39_900);
  });

  it('is exact on hand-picked tricky values', () => {
    const tricky = [
      '1e-300',
      '-0',
      '0.1',
      '123456789012345678',
      '9007199254740993', // 2^53 + 1: a tie, rounds to even
      '0.30000000000000004',
      '2.2250738585072014e-308',
      '4.9e-324',
      '1.7976931348623157e308',
      '1e22',
      '1e23',
      '8.98846567431158e307',
      '0.000001',
      '1.0000000000000002',
      '0.9999999999999999',
      '+3.5',
      '.5',
      '5.',
      '00012.50',
      '1E5',
      '1e+5',
      '-1.2345678901234567e-7',
      '12345678901234567890',
      '0.1234567890123456789012',
    ];
    for (const text of tricky) expect(Object.is(parseLikeTheReader(text), Number(text)), text).toBe(true);
    expect(Object.is(parseLikeTheReader('-0'), -0)).toBe(true);
  });

  it('rejects what is not a plain decimal', () => {
    for (const text of [
      '',
      '-',
      '.',
      'NaN',
      'Inf',
      'Infinity',
      '0x10',
      '1e',
      '1e+',
      '1,5',
      'abc',
      '1.2.3',
      '--1',
    ]) {
      const bytes = encoder.encode(text);
      expect(scanDecimal(bytes, new DataView(bytes.buffer), 0, bytes.length, 59, { end: 0 })).toBeNaN();
      expect(parseDecimalText(text)).toBeNaN();
    }
    expect(parseDecimalText('  2.5 ')).toBe(2.5);
  });

  it('reads the same doubles through parseCsvMatrix', () => {
    const rng = createRng(7);
    const values = Array.from({ length: 2000 }, (_, i) => (i % 2 ? rng.normal() : randomBitsDouble(rng)));
    const text = `y,v\n${values.map((value, i) => `${i % 2},${String(value)}`).join('\n')}\n`;
    const { x } = parseCsvMatrix(encoder.encode(text), { label: 'y', intercept: false });
    values.forEach((value, i) => {
      if (!Object.is(x.data[i], value)) expect.fail(`row ${i}: ${value} read as ${x.data[i]}`);
    });
  });
});

describe('parseDecimalText fast path (property)', () => {
  it('accepts exactly what DECIMAL_PATTERN accepts, with the value Number() gives', () => {
    const reference = (text: string) => {
      const trimmed = text.trim();
      return DECIMAL_PATTERN.test(trimmed) ? Number(trimmed) : Number.NaN;
    };
    const unit = fc.constantFrom('0', '1', '5', '9', '+', '-', '.', 'e', 'E', ' ', 'x', 'I', '_');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 10 }), (text) => {
        expect(Object.is(parseDecimalText(text), reference(text))).toBe(true);
      }),
      { numRuns: 5000, seed: 7 },
    );
  });
});
