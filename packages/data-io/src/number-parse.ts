/**
 * Exact decimal-to-double conversion straight from ASCII bytes, without building a string.
 *
 * The fast path handles what CSV files written by programs contain: an optional sign, digits, an
 * optional fraction and an optional exponent, with at most 19 significant digits.
 * - Up to 15 significant digits and |exponent| <= 22: the mantissa and 10^|exponent| are exact
 *   doubles, so one multiplication or division is correctly rounded (Clinger's fast path).
 * - 16 to 19 significant digits (what `String(x)` writes for most doubles) and a negative exponent
 *   down to -22: the numerator is formed exactly with Dekker's error-free product, the quotient q
 *   in double precision, and the residual (m - q p) / p, computed exactly up to roundings far below
 *   half an ulp, corrects q; the correction is applied at (1 -+ 2^-40) times its value and both
 *   must round alike, which proves the result correctly rounded. Near-ties, and every other shape
 *   (more digits, larger exponents), are left to `Number()` on the text, which is correctly rounded.
 *
 * @internal
 */

/** Powers of ten that are exact doubles: 10^0 .. 10^22. */
const EXACT_POWERS_OF_TEN = Float64Array.from({ length: 23 }, (_, k) => 10 ** k);

/** Dekker's splitter for a 53-bit significand: 2^27 + 1. */
const SPLITTER = 134217729;

/**
 * A relative margin for the rounding check: the correction is applied at (1 - margin) and
 * (1 + margin) times its computed value, and the two must round alike. The computed correction is
 * within 2^-49 ulp of the exact one, so agreement proves the rounding; disagreement (a near-tie)
 * sends the text to Number().
 */
const TIE_MARGIN = 2 ** -40;

/** Dekker's split of each exact power of ten: the high half ... */
const POWER_HIGH = Float64Array.from(EXACT_POWERS_OF_TEN, (power) => {
  const t = SPLITTER * power;
  return t - (t - power);
});
/** ... and the low half. */
const POWER_LOW = Float64Array.from(EXACT_POWERS_OF_TEN, (power, k) => power - (POWER_HIGH[k] as number));

/**
 * (mantissa * 10^scaleDigits + tail) / 10^divisorDigits, correctly rounded, for a mantissa below
 * 10^15, a tail below 10^scaleDigits (scaleDigits 1..4) and divisorDigits 1..22; NaN when the
 * exact check cannot decide (a near-tie), so that the caller falls back to Number().
 *
 * The numerator m is mantissaProduct (formed exactly with Dekker's product) + tail; the quotient
 * q = fl(fl(m) / p) is corrected by c = (m - q p) / p, with q p also formed exactly, so that m - q p
 * is exact up to roundings far below the half-ulp boundary. Rounding q + c is monotone in c, so
 * when q + c (1 - margin) and q + c (1 + margin) agree, that is the correctly rounded m / p.
 */
function divideLongMantissa(
  mantissa: number,
  scaleDigits: number,
  tail: number,
  divisorDigits: number,
): number {
  const scale = EXACT_POWERS_OF_TEN[scaleDigits] as number;
  const productHigh = mantissa * scale;
  let t = SPLITTER * mantissa;
  const mantissaHigh = t - (t - mantissa);
  const mantissaLow = mantissa - mantissaHigh;
  const scaleHigh = POWER_HIGH[scaleDigits] as number;
  const scaleLow = POWER_LOW[scaleDigits] as number;
  const productLow =
    mantissaHigh * scaleHigh -
    productHigh +
    mantissaHigh * scaleLow +
    mantissaLow * scaleHigh +
    mantissaLow * scaleLow;
  const divisor = EXACT_POWERS_OF_TEN[divisorDigits] as number;
  const quotient = (productHigh + (tail + productLow)) / divisor;
  const backHigh = quotient * divisor;
  t = SPLITTER * quotient;
  const quotientHigh = t - (t - quotient);
  const quotientLow = quotient - quotientHigh;
  const divisorHigh = POWER_HIGH[divisorDigits] as number;
  const divisorLow = POWER_LOW[divisorDigits] as number;
  const backLow =
    quotientHigh * divisorHigh -
    backHigh +
    quotientHigh * divisorLow +
    quotientLow * divisorHigh +
    quotientLow * divisorLow;
  // m - q p: the high parts cancel exactly (Sterbenz); the rest is small.
  const correction = (productHigh - backHigh + (tail + (productLow - backLow))) / divisor;
  const below = quotient + correction * (1 - TIE_MARGIN);
  const above = quotient + correction * (1 + TIE_MARGIN);
  return below === above ? below : Number.NaN;
}

/** Where {@link scanDecimal} stopped: the index of the first byte after the number. */
export interface ScanCursor {
  end: number;
}

/**
 * Scans a decimal number at `bytes[start]` that must be followed by `delimiter`, a line break or
 * `limit`. Returns its correctly rounded value and sets `cursor.end`; returns NaN (cursor unset)
 * when the field is not a plain decimal or the exact fast path cannot decide, so the caller must
 * take the slow path on the field's text.
 *
 * @param bytes - the buffer
 * @param view - a DataView over the same bytes (`new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)`)
 * @param start - the first byte of the field
 * @param limit - one past the last byte that may be read
 * @param delimiter - the field delimiter byte
 * @param cursor - receives the end of the number
 * @returns the value, or NaN when the slow path must decide
 * @example
 * ```ts
 * const cursor = { end: 0 };
 * const bytes = new TextEncoder().encode('-1.5e3,');
 * scanDecimal(bytes, new DataView(bytes.buffer), 0, 7, 44, cursor); // -1500, cursor.end === 6
 * ```
 */
export function scanDecimal(
  bytes: Uint8Array,
  view: DataView,
  start: number,
  limit: number,
  delimiter: number,
  cursor: ScanCursor,
): number {
  let position = start;
  let negative = false;
  let byte = position < limit ? (bytes[position] as number) : -1;
  if (byte === 45) {
    negative = true;
    position++;
  } else if (byte === 43) {
    position++;
  }
  const digitsStart = position;
  let point = -1;
  let mantissa = 0; // the first (up to) 15 significant digits
  let significant = 0;
  // Leading zeros (and a point among them) add nothing to the mantissa.
  while (position < limit) {
    byte = bytes[position] as number;
    if (byte === 48) position++;
    else if (byte === 46 && point < 0) point = position++;
    else break;
  }
  // The integer part, up to 15 significant digits (the mantissa stays an exact integer < 10^15).
  if (point < 0) {
    while (position < limit && significant < 15) {
      const digit = (bytes[position] as number) - 48;
      if (digit < 0 || digit > 9) break;
      mantissa = mantissa * 10 + digit;
      significant++;
      position++;
    }
    if (position < limit && bytes[position] === 46) point = position++;
  }
  // Four digits at a time (SWAR on a little-endian 32-bit load) while they fit in 15.
  while (significant <= 11 && position + 4 <= limit) {
    const word = view.getUint32(position, true);
    // Every byte in '0'..'9': high nibble 3, and still 3 after adding 6.
    if (((word & 0xf0f0f0f0) | (((word + 0x06060606) & 0xf0f0f0f0) >>> 4)) !== 0x33333333) break;
    const digits = word - 0x30303030;
    const pairs = (digits * 10 + (digits >>> 8)) & 0x00ff00ff;
    mantissa = mantissa * 10000 + ((pairs * 100 + (pairs >>> 16)) & 0x3fff);
    significant += 4;
    position += 4;
  }
  // The rest of the first 15 significant digits, one at a time.
  while (position < limit) {
    byte = bytes[position] as number;
    const digit = byte - 48;
    if (digit >= 0 && digit <= 9) {
      if (significant === 15) break;
      mantissa = mantissa * 10 + digit;
      significant++;
    } else if (byte === 46 && point < 0) {
      point = position;
    } else {
      break;
    }
    position++;
  }
  // Digits 16..19 go to the tail; more than 19 leave the fast path.
  let tail = 0;
  let tailDigits = 0;
  let tooLong = false;
  while (position < limit) {
    byte = bytes[position] as number;
    const digit = byte - 48;
    if (digit >= 0 && digit <= 9) {
      if (tailDigits < 4) {
        tail = tail * 10 + digit;
        tailDigits++;
      } else {
        tooLong = true;
      }
    } else if (byte === 46 && point < 0) {
      point = position;
    } else {
      break;
    }
    position++;
  }
  const digitsEnd = position;
  if (digitsEnd - digitsStart - (point >= 0 ? 1 : 0) <= 0) return Number.NaN;
  let exponent = point >= 0 ? point + 1 - digitsEnd : 0;
  if (position < limit && (byte === 101 || byte === 69)) {
    position++;
    let exponentNegative = false;
    byte = position < limit ? (bytes[position] as number) : -1;
    if (byte === 45) {
      exponentNegative = true;
      position++;
    } else if (byte === 43) {
      position++;
    }
    let explicit = 0;
    const exponentStart = position;
    while (position < limit) {
      const digit = (bytes[position] as number) - 48;
      if (digit < 0 || digit > 9) break;
      if (explicit < 100000) explicit = explicit * 10 + digit;
      position++;
    }
    if (position === exponentStart) return Number.NaN;
    exponent += exponentNegative ? -explicit : explicit;
  }
  if (position < limit) {
    byte = bytes[position] as number;
    if (byte !== delimiter && byte !== 10 && byte !== 13) return Number.NaN;
  }
  if (tooLong) return Number.NaN;
  let value: number;
  if (tailDigits === 0) {
    if (exponent === 0) value = mantissa;
    else if (mantissa === 0) value = 0;
    else if (exponent > 0 && exponent <= 22) value = mantissa * (EXACT_POWERS_OF_TEN[exponent] as number);
    else if (exponent < 0 && exponent >= -22) value = mantissa / (EXACT_POWERS_OF_TEN[-exponent] as number);
    else return Number.NaN;
  } else if (exponent < 0 && exponent >= -22) {
    value = divideLongMantissa(mantissa, tailDigits, tail, -exponent);
    if (Number.isNaN(value)) return value;
  } else if (exponent === 0) {
    // An integer of 16..19 digits: form it exactly (Dekker) and round once.
    const scale = EXACT_POWERS_OF_TEN[tailDigits] as number;
    const productHigh = mantissa * scale;
    let t = SPLITTER * mantissa;
    const mantissaHigh = t - (t - mantissa);
    const mantissaLow = mantissa - mantissaHigh;
    t = SPLITTER * scale;
    const scaleHigh = t - (t - scale);
    const scaleLow = scale - scaleHigh;
    const productLow =
      mantissaHigh * scaleHigh -
      productHigh +
      mantissaHigh * scaleLow +
      mantissaLow * scaleHigh +
      mantissaLow * scaleLow;
    value = productHigh + (tail + productLow);
  } else {
    return Number.NaN;
  }
  cursor.end = position;
  return negative ? -value : value;
}

/** The grammar the fast path accepts, for the slow path's check of a decoded field. */
export const DECIMAL_PATTERN = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Parses a decoded field as a decimal number (surrounding spaces allowed), correctly rounded.
 *
 * @param text - the field's text
 * @returns the value, or NaN when the text is not a decimal number
 * @example
 * ```ts
 * parseDecimalText(' 1e-300 '); // 1e-300
 * parseDecimalText('NaN'); // NaN: not accepted
 * ```
 */
export function parseDecimalText(text: string): number {
  // Fast path: text made only of digits, signs, points and exponent letters, with a digit. On
  // such text Number() accepts exactly DECIMAL_PATTERN (no hex, Infinity, separators or blanks
  // are possible), so its NaN is the rejection.
  let digit = false;
  let plain = true;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 48 && code <= 57) digit = true;
    else if (code !== 43 && code !== 45 && code !== 46 && code !== 101 && code !== 69) {
      plain = false;
      break;
    }
  }
  if (plain) return digit ? Number(text) : Number.NaN;
  const trimmed = text.trim();
  return DECIMAL_PATTERN.test(trimmed) ? Number(trimmed) : Number.NaN;
}
