import { requireArgument } from './errors.js';
import { type Rng, shuffleInPlace } from './rng.js';

/**
 * A seeded stratified train/held-out split: within each class a random `trainShare` of the rows
 * (rounded) goes to training, the rest is held out, so both parts keep the class balance. Evaluate a
 * corrected model on the held-out part, unsampled (ALGORITHMS.md part C).
 *
 * @param labels - 0/1 per row
 * @param trainShare - the share of each class for training, in (0, 1)
 * @param rng - the generator (the same seed gives the same split)
 * @returns the training and held-out row indices, each ascending
 * @example
 * ```ts
 * const { train, test } = stratifiedSplit(y, 0.7, createRng(2026));
 * ```
 */
export function stratifiedSplit(
  labels: ArrayLike<number>,
  trainShare: number,
  rng: Rng,
): { train: Int32Array; test: Int32Array } {
  requireArgument(
    trainShare > 0 && trainShare < 1,
    'trainShare',
    `${trainShare} is not a share in (0, 1)`,
    'pass the share of each class to train on, e.g. 0.7',
  );
  const train: number[] = [];
  const test: number[] = [];
  for (const label of [0, 1]) {
    const rows: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === label) rows.push(i);
    shuffleInPlace(rows, rng);
    const cut = Math.round(trainShare * rows.length);
    for (let k = 0; k < rows.length; k++) (k < cut ? train : test).push(rows[k] as number);
  }
  return { train: Int32Array.from(train).sort(), test: Int32Array.from(test).sort() };
}
