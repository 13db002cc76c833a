import { RarefyInputError } from '@rarefy/sampling-core';

const SQRT_PI = Math.sqrt(Math.PI);
const SQRT_TWO = Math.SQRT2;
const SQRT_TWO_PI = Math.sqrt(2 * Math.PI);

/**
 * erfc(z) for z >= 0: the everywhere-positive series of erf below 1 (no cancellation between its
 * terms, and erfc >= 0.157 there), the continued fraction of erfc from 1 on (300 terms reach full
 * double precision at z = 1, 100 from z = 2).
 */
function complementaryErrorFunction(z: number): number {
  if (z < 1) {
    // erf(z) = 2/sqrt(pi) exp(-z^2) sum_n z (2 z^2)^n / (1 * 3 * ... * (2n + 1))
    const twoZSquared = 2 * z * z;
    let term = z;
    let sum = z;
    for (let n = 1; n < 200; n++) {
      term *= twoZSquared / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return 1 - (2 / SQRT_PI) * Math.exp(-z * z) * sum;
  }
  // erfc(z) = exp(-z^2)/sqrt(pi) / (z + (1/2)/(z + 1/(z + (3/2)/(z + 2/(z + ...)))))
  let fraction = z;
  for (let k = z < 2 ? 300 : 100; k >= 1; k--) fraction = z + k / 2 / fraction;
  return Math.exp(-z * z) / (SQRT_PI * fraction);
}

/**
 * The standard normal distribution function Phi(x), accurate to about 1e-15 relative in the tails.
 *
 * @param x - any real number
 * @returns P(Z <= x) for Z ~ N(0, 1)
 * @example
 * ```ts
 * normalCdf(1.959963984540054); // 0.975
 * ```
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return 0.5 * complementaryErrorFunction(-x / SQRT_TWO);
  return 1 - 0.5 * complementaryErrorFunction(x / SQRT_TWO);
}

// Acklam's rational approximation of the normal quantile (relative error below 1.2e-9), refined
// below by one Halley step on Phi, which brings it to full double precision.
const A = [
  -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
  2.506628277459239,
];
const B = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
const C = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const D = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
const LOWER_REGION = 0.02425;

function acklamLowerHalf(p: number): number {
  const [a0, a1, a2, a3, a4, a5] = A as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = B as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = C as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = D as [number, number, number, number];
  if (p < LOWER_REGION) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1)
    );
  }
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
    (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1)
  );
}

/**
 * The standard normal quantile Phi^-1(p): Acklam's rational approximation refined by one Halley step
 * (full double precision; `normalQuantile(0.975)` is 1.959963984540054).
 *
 * @param probability - p in [0, 1] (0 and 1 give -Infinity and Infinity)
 * @returns the x with Phi(x) = p
 * @throws RarefyInputError `RAREFY_INVALID_ARGUMENT` when p is outside [0, 1] or NaN
 * @example
 * ```ts
 * const z = normalQuantile(0.975); // 1.959963984540054
 * ```
 */
export function normalQuantile(probability: number): number {
  if (!(probability >= 0 && probability <= 1)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `probability: ${probability} is outside [0, 1]`,
      'pass a probability between 0 and 1',
      { input: 'probability' },
    );
  }
  if (probability === 0) return Number.NEGATIVE_INFINITY;
  if (probability === 1) return Number.POSITIVE_INFINITY;
  if (probability > 0.5) return -normalQuantile(1 - probability);
  let x = acklamLowerHalf(probability);
  const error = normalCdf(x) - probability;
  const u = error * SQRT_TWO_PI * Math.exp((x * x) / 2);
  x -= u / (1 + (x * u) / 2);
  return x;
}
