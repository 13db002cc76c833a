/** How an axis maps values to positions. */
export type ScaleKind = 'linear' | 'log' | 'sqrt';

/** A continuous scale: value to pixel, with the ticks to draw. */
export interface Scale {
  readonly kind: ScaleKind;
  /** The value range shown, after padding and rounding to nice ticks. */
  readonly domain: readonly [number, number];
  /** The pixel range, in the same order as `domain`. */
  readonly range: readonly [number, number];
  /** The pixel position of a value (values outside the domain map outside the range). */
  position(value: number): number;
  /** The values where ticks and grid lines go. */
  ticks(): number[];
}

/**
 * Tick values for a linear axis: multiples of 1, 2 or 5 times a power of ten, about `count` of them,
 * covering `[low, high]`.
 *
 * @param low - the smallest value to cover
 * @param high - the largest value to cover (>= low)
 * @param count - about how many ticks (default 5)
 * @returns the ticks in increasing order
 * @example
 * ```ts
 * niceTicks(0, 0.93, 5); // [0, 0.2, 0.4, 0.6, 0.8, 1]
 * ```
 */
export function niceTicks(low: number, high: number, count = 5): number[] {
  if (!(Number.isFinite(low) && Number.isFinite(high))) return [];
  if (high === low) return [low];
  const step = niceStep((high - low) / Math.max(1, count));
  const first = Math.floor(low / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let value = first; value <= high + step * 1e-6 || ticks.length === 0; value += step) {
    ticks.push(roundTo(value, step));
    if (ticks.length > 100) break;
  }
  if ((ticks.at(-1) as number) < high - step * 1e-6)
    ticks.push(roundTo((ticks.at(-1) as number) + step, step));
  return ticks;
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

/** Rounds away the binary noise of repeated additions (0.30000000000000004 -> 0.3). */
function roundTo(value: number, step: number): number {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(value.toFixed(Math.min(20, digits)));
}

/**
 * A linear scale whose domain is widened to the nice ticks around `[low, high]`.
 *
 * @param low - smallest data value
 * @param high - largest data value
 * @param range - pixel range `[start, end]` (end < start for a y axis drawn upwards)
 * @param options - `nice: false` keeps the domain as given; `count`: about how many ticks
 * @returns the scale
 * @example
 * ```ts
 * const x = linearScale(0, 0.93, [60, 600]);
 * x.position(0.5);
 * ```
 */
export function linearScale(
  low: number,
  high: number,
  range: readonly [number, number],
  options: { nice?: boolean; count?: number } = {},
): Scale {
  let [a, b] = padDegenerate(low, high);
  const count = options.count ?? 5;
  if (options.nice !== false) {
    const ticks = niceTicks(a, b, count);
    a = ticks[0] as number;
    b = ticks.at(-1) as number;
  }
  const [r0, r1] = range;
  const span = b - a;
  return {
    kind: 'linear',
    domain: [a, b],
    range,
    position: (value) => r0 + ((value - a) / span) * (r1 - r0),
    ticks: () => niceTicks(a, b, count).filter((tick) => tick >= a - span * 1e-9 && tick <= b + span * 1e-9),
  };
}

/**
 * A square-root scale from 0: it spreads the small values of rare-event probabilities while keeping
 * 0 on the axis (a log axis cannot), and the diagonal y = x stays straight when both axes use it
 * with the same domain.
 *
 * @param high - largest data value (the domain is `[0, high]`, widened to a nice tick)
 * @param range - pixel range
 * @returns the scale
 * @example
 * ```ts
 * const x = sqrtScale(0.9, [60, 600]);
 * ```
 */
export function sqrtScale(high: number, range: readonly [number, number]): Scale {
  const top = high > 0 && Number.isFinite(high) ? high : 1;
  const b = niceTicks(0, top, 4).at(-1) as number;
  const ticks = sqrtTicks(b);
  const [r0, r1] = range;
  return {
    kind: 'sqrt',
    domain: [0, b],
    range,
    position: (value) => r0 + Math.sqrt(Math.max(0, value) / b) * (r1 - r0),
    ticks: () => ticks,
  };
}

/** Ticks of a square-root axis over [0, end]: 0, values spread evenly in sqrt space, and end. */
function sqrtTicks(end: number): number[] {
  const ticks = new Set<number>([0, end]);
  for (const fraction of [0.04, 0.16, 0.36, 0.64]) {
    const value = fraction * end;
    const step = niceStep(value / 2);
    const tick = roundTo(Math.round(value / step) * step, step);
    if (tick > 0 && tick < end * 0.9) ticks.add(tick);
  }
  return [...ticks].sort((p, q) => p - q);
}

/**
 * A base-10 log scale over the decades around `[low, high]` (both > 0).
 *
 * @param low - smallest positive data value
 * @param high - largest data value
 * @param range - pixel range
 * @returns the scale
 * @throws RangeError when `low` is not a positive finite number
 * @example
 * ```ts
 * const y = logScale(1e-4, 0.2, [300, 20]);
 * ```
 */
export function logScale(low: number, high: number, range: readonly [number, number]): Scale {
  if (!(low > 0 && Number.isFinite(low) && high >= low && Number.isFinite(high))) {
    throw new RangeError(`logScale: [${low}, ${high}] is not a range of positive finite numbers`);
  }
  const a = Math.floor(Math.log10(low) + 1e-9);
  let b = Math.ceil(Math.log10(high) - 1e-9);
  if (a === b) b += 1;
  const [r0, r1] = range;
  return {
    kind: 'log',
    domain: [Number((10 ** a).toPrecision(12)), Number((10 ** b).toPrecision(12))],
    range,
    position: (value) => r0 + ((Math.log10(value) - a) / (b - a)) * (r1 - r0),
    ticks: () => {
      const decades = b - a;
      const ticks: number[] = [];
      for (let power = a; power <= b; power++) {
        ticks.push(Number((10 ** power).toPrecision(12)));
        if (decades <= 2 && power < b) {
          ticks.push(Number((2 * 10 ** power).toPrecision(12)), Number((5 * 10 ** power).toPrecision(12)));
        }
      }
      return ticks;
    },
  };
}

function padDegenerate(low: number, high: number): [number, number] {
  if (!(Number.isFinite(low) && Number.isFinite(high))) return [0, 1];
  if (high > low) return [low, high];
  const pad = low === 0 ? 1 : Math.abs(low) * 0.1;
  return [low - pad, high + pad];
}

/**
 * A short label for a tick or a value: up to `digits` significant digits, exponent form for very
 * small or large numbers, no trailing zeros.
 *
 * @param value - the number
 * @param digits - significant digits (default 3)
 * @returns the text
 * @example
 * ```ts
 * formatValue(0.000123); // '1.23e-4'
 * formatValue(1234567); // '1.23e+6'
 * formatValue(0.25); // '0.25'
 * ```
 */
export function formatValue(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude < 1e-3 || magnitude >= 1e6) {
    const [mantissa, exponent] = value.toExponential(digits - 1).split('e');
    return `${trimZeros(mantissa as string)}e${Number(exponent) > 0 ? '+' : ''}${Number(exponent)}`;
  }
  // Number() turns toPrecision's '1.50e+3' back into plain 1500 and drops trailing zeros.
  return String(Number(value.toPrecision(digits)));
}

function trimZeros(text: string): string {
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}
