import { RarefyInputError, type Rng } from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Online selection of the shared negatives of each row (ALGORITHMS.md B.7), applied before the
 * softmax; the kept columns keep their log Q and the rest are masked:
 * - `hard`: the `count` highest-scoring negatives of the row;
 * - `semi-hard`: the negatives whose score `<u, v>` lies in `[s_pos - margin, s_pos)`;
 * - `random`: `count` negatives drawn uniformly (the plain alternative).
 * Scores are the uncorrected `<u, v>`. The row's own extra columns (B x k) are always kept.
 */
export type NegativeSelection =
  | { readonly kind: 'hard'; readonly count: number }
  | { readonly kind: 'semi-hard'; readonly margin: number }
  | { readonly kind: 'random'; readonly count: number };

/** What the corrected softmax needs besides the scores. */
export interface SoftmaxLossOptions {
  /** tau: logits are `<u, v> / temperature`. */
  readonly temperature: number;
  /** log Q_j per shared column (subtracted from every logit of the column, the positive's included); default 0. */
  readonly logQ?: Float32Array | Float64Array;
  /**
   * The shared column of each row's positive (default: row i's is column i). With deduplicated
   * columns several rows share one positive column.
   */
  readonly positives?: Int32Array;
  /**
   * How many candidates each shared column stands for (default 1): a deduplicated column j holds an
   * item that occurred m_j times among the batch's candidates, so it enters every other row's
   * softmax as m_j copies (`+ log m_j` on its logit); for the rows whose positive it is, it counts
   * once (its other copies were accidental hits). Exactly the loss over the duplicated columns.
   */
  readonly multiplicity?: Float32Array | Float64Array;
  /** B x C, 1 where a shared column is excluded from a row (known positives, cache hits). A row's positive column is never excluded. */
  readonly mask?: Uint8Array;
  /** B x k, 1 where an extra column is excluded (padding, hits). */
  readonly extraMask?: Uint8Array;
  /** Reward weight r_i per row (default 1): loss = sum_i r_i l_i / sum_i r_i. */
  readonly rewards?: Float32Array;
  /** Online hard, semi-hard or random selection among the shared negatives. */
  readonly selection?: NegativeSelection;
  /** Draws the `random` selection. */
  readonly rng?: Rng;
}

/** The scores of one batch, as {@link correctedSoftmaxKernel} reads them. */
export interface SoftmaxScores {
  /** B: rows (queries); row i's positive is shared column i. */
  readonly rows: number;
  /** C >= B: shared columns. */
  readonly columns: number;
  /** `<u_i, v_j>`, B x C row-major. */
  readonly scores: Float32Array;
  /** k: extra columns per row (0 when none). */
  readonly extraColumns?: number;
  /** `<u_i, e_{i,m}>` of each row's own extra columns, B x k row-major. */
  readonly extraScores?: Float32Array;
}

function invalid(input: string, problem: string, fix: string): RarefyInputError {
  return new RarefyInputError('RAREFY_INVALID_ARGUMENT', `${input}: ${problem}`, fix, { input });
}

function lengthMismatch(input: string, actual: number, expected: number, fix: string): RarefyInputError {
  return new RarefyInputError(
    'RAREFY_DIMENSION_MISMATCH',
    `${input}: ${actual} entries, expected ${expected}`,
    fix,
    { input, actual, expected },
  );
}

/** Checks the options against a batch of B rows, C shared and k extra columns. */
function checkOptions(options: SoftmaxLossOptions, rows: number, columns: number, extra: number): void {
  if (!(Number.isFinite(options.temperature) && options.temperature > 0)) {
    throw invalid(
      'temperature',
      `${options.temperature} is not a positive number`,
      'pass tau > 0, e.g. 0.05',
    );
  }
  if (options.positives === undefined && columns < rows) {
    throw invalid(
      'columns',
      `${columns} shared columns for ${rows} rows`,
      "put the batch's positives first (row i's positive is column i) or pass positives",
    );
  }
  if (options.logQ !== undefined && options.logQ.length !== columns) {
    throw lengthMismatch('logQ', options.logQ.length, columns, 'pass one log Q per shared column');
  }
  if (options.mask !== undefined && options.mask.length !== rows * columns) {
    throw lengthMismatch('mask', options.mask.length, rows * columns, 'pass a rows x columns mask');
  }
  if (options.extraMask !== undefined && options.extraMask.length !== rows * extra) {
    throw lengthMismatch(
      'extraMask',
      options.extraMask.length,
      rows * extra,
      'pass a rows x extra-columns mask',
    );
  }
  if (options.positives !== undefined) {
    if (options.positives.length !== rows) {
      throw lengthMismatch('positives', options.positives.length, rows, 'pass one positive column per row');
    }
    for (let i = 0; i < rows; i++) {
      const column = options.positives[i] as number;
      if (!(Number.isInteger(column) && column >= 0 && column < columns)) {
        throw invalid(
          'positives',
          `row ${i} points at column ${column}, outside [0, ${columns})`,
          'pass shared column indices',
        );
      }
    }
  }
  if (options.multiplicity !== undefined) {
    if (options.multiplicity.length !== columns) {
      throw lengthMismatch(
        'multiplicity',
        options.multiplicity.length,
        columns,
        'pass one count per shared column',
      );
    }
    for (let j = 0; j < columns; j++) {
      const m = options.multiplicity[j] as number;
      if (!(Number.isFinite(m) && m > 0)) {
        throw invalid(
          'multiplicity',
          `column ${j} is ${m}, not a positive count`,
          'pass how many candidates each column stands for (>= 1)',
        );
      }
    }
  }
  if (options.rewards !== undefined && options.rewards.length !== rows) {
    throw lengthMismatch('rewards', options.rewards.length, rows, 'pass one reward weight per row');
  }
  const selection = options.selection;
  if (selection !== undefined) {
    if (selection.kind === 'semi-hard') {
      if (!(Number.isFinite(selection.margin) && selection.margin > 0)) {
        throw invalid(
          'selection.margin',
          `${selection.margin} is not a positive number`,
          'pass a window in cosine units, e.g. 0.2',
        );
      }
    } else if (selection.kind === 'hard' || selection.kind === 'random') {
      if (!(Number.isInteger(selection.count) && selection.count >= 1)) {
        throw invalid(
          'selection.count',
          `${selection.count} is not a positive integer`,
          'pass how many negatives to keep per row',
        );
      }
      if (selection.kind === 'random' && options.rng === undefined) {
        throw invalid(
          'rng',
          'is missing for the random selection',
          'pass a seeded generator (createRng(seed))',
        );
      }
    } else {
      throw invalid(
        'selection.kind',
        `${JSON.stringify((selection as { kind: unknown }).kind)} is not a selection`,
        "use 'hard', 'semi-hard' or 'random'",
      );
    }
  }
}

/** Reusable buffers of {@link correctedSoftmaxKernel} and {@link inBatchSoftmaxLoss} (one per training loop). */
export class SoftmaxWorkspace {
  private values = new Float32Array(0);
  private extra = new Float32Array(0);
  /** Per-row scratch for selection. */
  scratch = new Float64Array(0);
  /** Per-row candidate columns for selection. */
  candidates = new Int32Array(0);

  /**
   * A gradient buffer of at least `size` entries (the same memory on every call).
   *
   * @param size - entries needed
   */
  gradient(size: number): Float32Array {
    if (this.values.length < size) this.values = new Float32Array(size);
    return this.values.subarray(0, size);
  }

  /**
   * A second buffer, for the extra columns' gradient.
   *
   * @param size - entries needed
   */
  extraGradient(size: number): Float32Array {
    if (this.extra.length < size) this.extra = new Float32Array(size);
    return this.extra.subarray(0, size);
  }

  /**
   * Scratch buffers of at least `columns` entries.
   *
   * @param columns - shared columns
   */
  ensureScratch(columns: number): void {
    if (this.scratch.length < columns) {
      this.scratch = new Float64Array(columns);
      this.candidates = new Int32Array(columns);
    }
  }
}

/** The k-th largest of values[0..n) (1-based k <= n), by quickselect (reorders `values`). */
function kthLargest(values: Float64Array, n: number, k: number): number {
  let left = 0;
  let right = n - 1;
  const target = k - 1;
  while (left < right) {
    const pivot = values[(left + right) >> 1] as number;
    let i = left;
    let j = right;
    while (i <= j) {
      while ((values[i] as number) > pivot) i++;
      while ((values[j] as number) < pivot) j--;
      if (i <= j) {
        const t = values[i] as number;
        values[i] = values[j] as number;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) right = j;
    else if (target >= i) left = i;
    else return values[target] as number;
  }
  return values[target] as number;
}

/**
 * Marks in `keep` (row-local, length C) the shared negatives row i keeps under `selection`; masked
 * columns and the positive are never marked.
 */
function selectRow(
  selection: NegativeSelection,
  scores: Float32Array,
  rowStart: number,
  columns: number,
  positive: number,
  mask: Uint8Array | undefined,
  keep: Uint8Array,
  workspace: SoftmaxWorkspace,
  rng: Rng | undefined,
): void {
  const candidates = workspace.candidates;
  let count = 0;
  for (let j = 0; j < columns; j++) {
    keep[j] = 0;
    if (j === positive || (mask !== undefined && mask[rowStart + j] === 1)) continue;
    candidates[count++] = j;
  }
  if (selection.kind === 'semi-hard') {
    const top = scores[rowStart + positive] as number;
    const low = top - selection.margin;
    for (let c = 0; c < count; c++) {
      const j = candidates[c] as number;
      const s = scores[rowStart + j] as number;
      if (s >= low && s < top) keep[j] = 1;
    }
    return;
  }
  if (count <= selection.count) {
    for (let c = 0; c < count; c++) keep[candidates[c] as number] = 1;
    return;
  }
  if (selection.kind === 'random') {
    // Partial Fisher-Yates: the first `count` of a random permutation of the candidates.
    const r = rng as Rng;
    for (let c = 0; c < selection.count; c++) {
      const pick = c + r.nextInt(count - c);
      const j = candidates[pick] as number;
      candidates[pick] = candidates[c] as number;
      candidates[c] = j;
      keep[j] = 1;
    }
    return;
  }
  const scratch = workspace.scratch;
  for (let c = 0; c < count; c++) scratch[c] = scores[rowStart + (candidates[c] as number)] as number;
  const threshold = kthLargest(scratch, count, selection.count);
  let kept = 0;
  for (let c = 0; c < count; c++) {
    const j = candidates[c] as number;
    if ((scores[rowStart + j] as number) > threshold) {
      keep[j] = 1;
      kept++;
    }
  }
  for (let c = 0; c < count && kept < selection.count; c++) {
    const j = candidates[c] as number;
    if ((scores[rowStart + j] as number) === threshold) {
      keep[j] = 1;
      kept++;
    }
  }
}

/**
 * The corrected in-batch softmax loss of ALGORITHMS.md B.4 and its gradient, in typed arrays (one
 * pass of `exp` over the B x C scores; this is what makes a step fast, B.10). With
 * `z_ij = <u_i, v_j> / tau - log Q_j` over the row's unmasked (and selected) shared columns plus its
 * own extra columns (log Q = 0):
 *
 *     loss = sum_i r_i (logsumexp_j z_ij - z_ii) / sum_i r_i
 *     d loss / d <u_i, v_j> = r_i (softmax(z_i)_j - [j = i]) / (tau sum_i r_i)
 *
 * Masked columns get a logit of -infinity (weight 0 in the softmax, gradient 0).
 *
 * @param batch - the scores
 * @param options - temperature, log Q, masks, rewards, selection
 * @param gradient - receives d loss / d scores, B x C
 * @param extraGradient - receives d loss / d extra scores, B x k (when there are extra columns)
 * @param workspace - scratch buffers (optional)
 * @returns the loss
 * @throws RarefyInputError for inconsistent sizes or options
 * @example
 * ```ts
 * const gradient = new Float32Array(4);
 * const loss = correctedSoftmaxKernel({ rows: 2, columns: 2, scores: Float32Array.of(1, 0, 0, 1) },
 *   { temperature: 1 }, gradient); // log(1 + e^-1) per row
 * ```
 */
export function correctedSoftmaxKernel(
  batch: SoftmaxScores,
  options: SoftmaxLossOptions,
  gradient: Float32Array,
  extraGradient?: Float32Array,
  workspace: SoftmaxWorkspace = new SoftmaxWorkspace(),
): number {
  const { rows, columns, scores } = batch;
  const extra = batch.extraColumns ?? 0;
  checkOptions(options, rows, columns, extra);
  if (scores.length !== rows * columns) {
    throw lengthMismatch('scores', scores.length, rows * columns, 'pass rows x columns scores');
  }
  if (gradient.length < rows * columns) {
    throw lengthMismatch('gradient', gradient.length, rows * columns, 'pass a rows x columns buffer');
  }
  const extraScores = batch.extraScores;
  if (extra > 0 && (extraScores === undefined || extraScores.length !== rows * extra)) {
    throw lengthMismatch(
      'extraScores',
      extraScores?.length ?? 0,
      rows * extra,
      'pass rows x extraColumns scores',
    );
  }
  if (extra > 0 && (extraGradient === undefined || extraGradient.length < rows * extra)) {
    throw lengthMismatch(
      'extraGradient',
      extraGradient?.length ?? 0,
      rows * extra,
      'pass a rows x extraColumns buffer',
    );
  }
  const inverse = 1 / options.temperature;
  const { logQ, mask, extraMask, rewards, selection, positives, multiplicity } = options;
  // Column bias: -log Q_j + log m_j (the positive's own column drops its log m_j below).
  const bias = new Float64Array(columns);
  for (let j = 0; j < columns; j++) {
    bias[j] =
      (multiplicity === undefined ? 0 : Math.log(multiplicity[j] as number)) -
      (logQ === undefined ? 0 : (logQ[j] as number));
  }
  let totalReward = rows;
  if (rewards !== undefined) {
    totalReward = 0;
    for (let i = 0; i < rows; i++) {
      const r = rewards[i] as number;
      if (!(Number.isFinite(r) && r >= 0)) {
        throw invalid('rewards', `row ${i} is ${r}, not a finite number >= 0`, 'pass reward weights >= 0');
      }
      totalReward += r;
    }
  }
  let keep: Uint8Array | undefined;
  if (selection !== undefined) {
    workspace.ensureScratch(columns);
    keep = new Uint8Array(columns);
  }
  const NEG = Number.NEGATIVE_INFINITY;
  let loss = 0;
  for (let i = 0; i < rows; i++) {
    const at = i * columns;
    const reward = rewards === undefined ? 1 : (rewards[i] as number);
    const own = positives === undefined ? i : (positives[i] as number);
    if (keep !== undefined) {
      selectRow(selection as NegativeSelection, scores, at, columns, own, mask, keep, workspace, options.rng);
    }
    // Pass 1: logits (excluded columns -inf) and their maximum.
    let max = NEG;
    for (let j = 0; j < columns; j++) {
      let z: number;
      if (
        j !== own &&
        ((mask !== undefined && mask[at + j] === 1) || (keep !== undefined && keep[j] === 0))
      ) {
        z = NEG;
      } else {
        z = (scores[at + j] as number) * inverse + (bias[j] as number);
        if (z > max) max = z;
      }
      gradient[at + j] = z;
    }
    if (multiplicity !== undefined) {
      // The row's positive counts once.
      gradient[at + own] = (gradient[at + own] as number) - Math.log(multiplicity[own] as number);
      max = Math.max(max, gradient[at + own] as number);
    }
    const positive = gradient[at + own] as number;
    const extraAt = i * extra;
    for (let m = 0; m < extra; m++) {
      let z = NEG;
      if (extraMask === undefined || extraMask[extraAt + m] !== 1) {
        z = ((extraScores as Float32Array)[extraAt + m] as number) * inverse;
        if (z > max) max = z;
      }
      (extraGradient as Float32Array)[extraAt + m] = z;
    }
    // Pass 2: exp and their sum.
    let sum = 0;
    for (let j = 0; j < columns; j++) {
      const z = gradient[at + j] as number;
      const e = z === NEG ? 0 : Math.exp(z - max);
      gradient[at + j] = e;
      sum += e;
    }
    for (let m = 0; m < extra; m++) {
      const z = (extraGradient as Float32Array)[extraAt + m] as number;
      const e = z === NEG ? 0 : Math.exp(z - max);
      (extraGradient as Float32Array)[extraAt + m] = e;
      sum += e;
    }
    loss += reward * (max + Math.log(sum) - positive);
    // Pass 3: r_i (softmax - onehot) / (tau sum r).
    const factor = totalReward > 0 ? (reward * inverse) / totalReward : 0;
    const scale = factor / sum;
    for (let j = 0; j < columns; j++) gradient[at + j] = (gradient[at + j] as number) * scale;
    gradient[at + own] = (gradient[at + own] as number) - factor;
    for (let m = 0; m < extra; m++) {
      (extraGradient as Float32Array)[extraAt + m] =
        ((extraGradient as Float32Array)[extraAt + m] as number) * scale;
    }
  }
  return totalReward > 0 ? loss / totalReward : 0;
}

/** The large negative logit of an excluded column (B.4): its softmax weight is exactly 0 in float32. */
export const MASKED_LOGIT = -1e9;

/** The extra logit of the backward pass's transposed softmax (see inBatchSoftmaxLoss). */
const SENTINEL = 30;

/** The smallest probability whose log the loss takes (float32's smallest normal number). */
const TINY = 1.1754943508222875e-38;

/** Options of {@link inBatchSoftmaxLoss}. */
export interface InBatchSoftmaxOptions extends Omit<SoftmaxLossOptions, 'mask'> {
  /**
   * The first `sharedColumns` rows of the item embeddings are shared columns (the batch's B positives
   * first, then sampled negatives); the remaining rows are each row's extra columns, k per row in row
   * order (B x k of them).
   */
  readonly sharedColumns: number;
  /** k: extra columns per row (default 0). */
  readonly extraColumns?: number;
  /** More shared columns without gradient (the cross-batch cache), after the item embeddings' shared rows. */
  readonly cache?: tf.Tensor2D;
  /**
   * Excluded entries of the B x C shared block (C = sharedColumns + cache rows), as flat indices
   * `i * C + j` (repeats allowed; row i's own column i is never excluded).
   */
  readonly maskedEntries?: Int32Array;
  /** Reusable buffers (one per training loop). */
  readonly workspace?: SoftmaxWorkspace;
  /** Receives each step's loss before autograd continues (optional). */
  readonly onLoss?: (loss: number) => void;
  /**
   * Which layout computes the loss without online selection: `auto` (default) tries the column
   * layout (one softmax, three large products) and falls back to the row layout (two softmaxes,
   * four) when float32 cannot hold its shifted sums; `row` always uses the row layout. Both give
   * the same loss and gradients; the option exists for tests and benchmarks.
   */
  readonly layout?: 'auto' | 'row';
  /** Told which layout computed the step (`column` or `row`; tests and benchmarks). */
  readonly onLayout?: (layout: 'column' | 'row') => void;
}

/** Dense B x C mask from flat indices (the kernel never excludes a row's positive column). */
function denseMask(entries: Int32Array, rows: number, columns: number): Uint8Array {
  const mask = new Uint8Array(rows * columns);
  for (let k = 0; k < entries.length; k++) mask[entries[k] as number] = 1;
  return mask;
}

/** Per-row weights s_i = r_i / (tau sum r) of the gradient (zeros when every reward is 0). */
function rowScales(rows: number, temperature: number, rewards: Float32Array | undefined): Float32Array {
  const scales = new Float32Array(rows);
  if (rewards === undefined) return scales.fill(1 / (temperature * rows));
  let total = 0;
  for (let i = 0; i < rows; i++) {
    const r = rewards[i] as number;
    if (!(Number.isFinite(r) && r >= 0)) {
      throw invalid('rewards', `row ${i} is ${r}, not a finite number >= 0`, 'pass reward weights >= 0');
    }
    total += r;
  }
  if (total > 0) for (let i = 0; i < rows; i++) scales[i] = (rewards[i] as number) / (temperature * total);
  return scales;
}

/**
 * The corrected in-batch softmax loss of ALGORITHMS.md B.4 on tfjs tensors, with a custom gradient
 * (B.10). With `z_ij = <u_i, v_j> / tau - log Q_j` over the shared columns (excluded entries at
 * {@link MASKED_LOGIT}) and `<u_i, e_im> / tau` over row i's own extra columns:
 *
 *     loss = sum_i r_i (logsumexp_j z_ij - z_ii) / sum_i r_i,   d loss / d z = r_i (softmax - onehot) / sum r
 *
 * Without online selection the large products run on the backend in the plain layout (a transposed
 * operand is several times slower on wasm), in one of two layouts with the same loss and gradients:
 *
 * - column (the default): the transposed logits of every column, shifted per row close to the row's
 *   log-sum-exp, one backend softmax per column, then one product that gives every row's sum and
 *   P V at once, and one for dV (see columnLayoutPath); three B x C products, one softmax;
 * - row (the fallback when float32 cannot hold the column layout's shifted sums, or `layout: 'row'`):
 *   the logits from one fused `matMul(U, (V / tau)^T) + (-log Q)` with V transposed explicitly, the
 *   backend's softmax, only the B diagonal entries read back for the loss; the backward pass never
 *   builds `softmax - onehot`: with `s_i = r_i / (tau sum r)`,
 *
 *       dU = s ⊙ (P V - V_pos),   dV = P^T (s ⊙ U) - [s ⊙ U; 0],
 *
 *   where P^T, for the second product, is recomputed in the plain layout by a second fused matMul
 *   and softmax over the transposed logits (with the row log-sum-exps as a bias and a sentinel
 *   column); four B x C products, two softmaxes.
 *
 * Masks are scattered into the logits. With online selection (hard, semi-hard, random) the scores are read back
 * and {@link correctedSoftmaxKernel} computes the loss and gradient in typed arrays. Extra per-row
 * columns are scored and differentiated in JavaScript (B x k dot products). Cache columns take part in
 * the softmax but get no gradient.
 *
 * @param users - U, shape [B, d] (the query tower's unit outputs)
 * @param items - V, shape [sharedColumns + B k, d]
 * @param options - temperature, log Q (over shared + cache columns), masks, rewards, selection
 * @returns the scalar loss
 * @throws RarefyInputError for inconsistent shapes or options
 * @example
 * ```ts
 * const loss = inBatchSoftmaxLoss(u, v, { temperature: 0.05, sharedColumns: 1024, logQ, maskedEntries });
 * ```
 */
export function inBatchSoftmaxLoss(
  users: tf.Tensor2D,
  items: tf.Tensor2D,
  options: InBatchSoftmaxOptions,
): tf.Scalar {
  const [rows, d] = users.shape;
  const shared = options.sharedColumns;
  const extra = options.extraColumns ?? 0;
  const cacheRows = options.cache?.shape[0] ?? 0;
  if (items.shape[1] !== d || (options.cache !== undefined && options.cache.shape[1] !== d)) {
    throw new RarefyInputError(
      'RAREFY_DIMENSION_MISMATCH',
      `items: embeddings of width ${items.shape[1]}${options.cache ? ` and cache of width ${options.cache.shape[1]}` : ''}, users of width ${d}`,
      'give both towers the same output dimension',
      { input: 'items' },
    );
  }
  if (items.shape[0] !== shared + rows * extra) {
    throw lengthMismatch(
      'items',
      items.shape[0],
      shared + rows * extra,
      'pass sharedColumns + rows x extraColumns item embeddings',
    );
  }
  const columns = shared + cacheRows;
  checkOptions(options, rows, columns, extra);
  const entries = options.maskedEntries;
  if (entries !== undefined) {
    for (let k = 0; k < entries.length; k++) {
      const at = entries[k] as number;
      if (!(at >= 0 && at < rows * columns)) {
        throw invalid(
          'maskedEntries',
          `entry ${k} is ${at}, outside [0, ${rows * columns})`,
          'pass flat indices i * columns + j',
        );
      }
    }
  }
  const workspace = options.workspace ?? new SoftmaxWorkspace();
  const temperature = options.temperature;
  const op = tf.customGrad<tf.Scalar>((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [u, v, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    const sharedItems = extra > 0 ? tf.slice(v, [0, 0], [shared, d]) : v;
    const allColumns = options.cache !== undefined ? tf.concat([sharedItems, options.cache], 0) : sharedItems;
    let userValues: Float32Array | undefined;
    let extraValues: Float32Array | undefined;
    let extraScores: Float32Array | undefined;
    if (extra > 0) {
      userValues = u.dataSync() as Float32Array;
      extraValues = tf.slice(v, [shared, 0], [rows * extra, d]).dataSync() as Float32Array;
      extraScores = new Float32Array(rows * extra);
      for (let i = 0; i < rows; i++) {
        for (let m = 0; m < extra; m++) {
          const e = (i * extra + m) * d;
          let dot = 0;
          for (let j = 0; j < d; j++)
            dot += (userValues[i * d + j] as number) * (extraValues[e + j] as number);
          extraScores[i * extra + m] = dot;
        }
      }
    }
    if (options.selection !== undefined) {
      return typedArrayPath(
        u,
        allColumns,
        save,
        { rows, columns, extra, shared, d, cacheRows },
        options,
        workspace,
        {
          userValues,
          extraValues,
          extraScores,
        },
      );
    }
    const width = columns + extra;
    const scales = rowScales(rows, temperature, options.rewards);
    const positives = options.positives;
    const multiplicity = options.multiplicity;
    const ownColumn = (i: number): number => (positives === undefined ? i : (positives[i] as number));
    const logCount = (j: number): number =>
      multiplicity === undefined ? 0 : Math.log(multiplicity[j] as number);
    // Column bias -log Q_j + log m_j; the row's own positive is corrected for its log m below.
    let columnBias: Float32Array | undefined;
    if (options.logQ !== undefined || multiplicity !== undefined) {
      columnBias = new Float32Array(columns);
      for (let j = 0; j < columns; j++)
        columnBias[j] = logCount(j) - (options.logQ === undefined ? 0 : (options.logQ[j] as number));
    }
    // Small operands are laid out in JavaScript (the [B, d] and [C, d] embeddings are read back once):
    // on wasm a transpose or concat kernel costs more than the copy.
    const userData = u.dataSync() as Float32Array;
    const columnData = allColumns.dataSync() as Float32Array;
    // The positives' logits z'_ip = <u_i, v_p> / tau + bias_p, in JavaScript (B dot products; a
    // backend gather from the B x C logits costs more on wasm).
    const positiveLogits = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      const j = ownColumn(i);
      let dot = 0;
      for (let t = 0; t < d; t++) dot += (userData[i * d + t] as number) * (columnData[j * d + t] as number);
      positiveLogits[i] = dot / temperature + (columnBias === undefined ? 0 : (columnBias[j] as number));
    }
    if (options.layout !== 'row') {
      const column = columnLayoutPath(
        { rows, columns, extra, shared, d, cacheRows },
        {
          temperature,
          userData,
          columnData,
          columnBias,
          positiveLogits,
          scales,
          ownColumn,
          multiplicity,
          entries,
          extraScores,
          extraMask: options.extraMask,
          userValues,
          extraValues,
        },
        save,
      );
      if (column !== undefined) {
        options.onLoss?.(column.loss);
        options.onLayout?.('column');
        return column.result;
      }
    }
    options.onLayout?.('row');
    const scaledColumns = new Float32Array(d * columns);
    // Transposed by writing whole rows of the target (strided reads are cheaper than strided writes).
    for (let t = 0; t < d; t++) {
      const to = t * columns;
      for (let j = 0; j < columns; j++)
        scaledColumns[to + j] = (columnData[j * d + t] as number) / temperature;
    }
    let logits = tf.fused.matMul({
      a: u,
      b: tf.tensor2d(scaledColumns, [d, columns]),
      ...(columnBias ? { bias: tf.tensor1d(columnBias) } : {}),
    }) as tf.Tensor2D;
    if (extra > 0) {
      const values = extraScores as Float32Array;
      for (let k = 0; k < values.length; k++) {
        values[k] = options.extraMask?.[k] === 1 ? MASKED_LOGIT : (values[k] as number) / temperature;
      }
      logits = tf.concat([logits, tf.tensor2d(values, [rows, extra])], 1);
    }
    logits = maskEntries(logits, entries, columns, ownColumn, (i, j) => i * width + j);
    // P' = softmax of these logits, in which a row's positive counts m_p times instead of once.
    const probabilities = tf.softmax(logits) as tf.Tensor2D;
    const positiveIndex = new Int32Array(rows);
    for (let i = 0; i < rows; i++) positiveIndex[i] = i * width + ownColumn(i);
    const positiveAt = tf.tensor1d(positiveIndex, 'int32');
    const positiveP = tf.gather(tf.reshape(probabilities, [rows * width]), positiveAt).dataSync();
    // log-sum-exp of each row of the logits, from its positive: lse'_i = z'_ip - log P'_ip. Where P'_ip
    // is too small for that to be accurate, from the row's largest logit (probability >= 1 / width).
    const negativeLse = new Float32Array(rows);
    let underflow = false;
    for (let i = 0; i < rows; i++) {
      const p = positiveP[i] as number;
      if (!(p > 1e-30)) underflow = true;
      negativeLse[i] = Math.log(Math.max(p, TINY)) - (positiveLogits[i] as number);
    }
    if (underflow) {
      const best = tf.argMax(logits, 1).dataSync();
      const at = tf.tensor1d(
        Int32Array.from(best, (column, i) => i * width + column),
        'int32',
      );
      const top = tf.gather(tf.reshape(probabilities, [rows * width]), at).dataSync();
      const topLogits = tf.gather(tf.reshape(logits, [rows * width]), at).dataSync();
      for (let i = 0; i < rows; i++) negativeLse[i] = Math.log(top[i] as number) - (topLogits[i] as number);
    }
    // The true softmax P (positive counted once): P_ij = c_i P'_ij (j != p), P_ip = c_i P'_ip / m_p, with
    // c_i = 1 / (1 - (1 - 1/m_p) P'_ip). Loss_i = -log P_ip.
    const { rescale, positiveWeight, loss } = positiveTerms(
      positiveLogits,
      negativeLse,
      multiplicity,
      ownColumn,
      scales,
      temperature,
    );
    const extraProbabilities =
      extra > 0
        ? (tf.slice(probabilities, [0, columns], [rows, extra]).dataSync() as Float32Array)
        : undefined;
    options.onLoss?.(loss);
    // The forward pass runs in its own tidy scope: what the backward pass needs must be saved.
    save([allColumns, probabilities]);
    return {
      value: tf.scalar(loss),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedColumns, p] = saved as [tf.Tensor2D, tf.Tensor2D];
        const upstream = (dy.dataSync() as Float32Array)[0] as number;
        // d loss / d z_ij = g_ij = s_i (P_ij - [j = p_i]), s_i = r_i / (tau sum r) (times the upstream).
        const { sc, own } = rowWeights(scales, upstream, rescale, positiveWeight);
        const scColumn = tf.tensor2d(sc, [rows, 1]);
        const paddedColumns = extra > 0 ? tf.concat([savedColumns, tf.zeros([extra, d])], 0) : savedColumns;
        // dU = (s c) ⊙ (P' V) + kappa ⊙ V_pos: P' is the left operand, V (small) the right one.
        const positiveTerm = new Float32Array(rows * d);
        for (let i = 0; i < rows; i++) {
          const k = own[i] as number;
          const from = ownColumn(i) * d;
          for (let t = 0; t < d; t++) positiveTerm[i * d + t] = k * (columnData[from + t] as number);
        }
        let du: tf.Tensor2D = tf.add(
          tf.mul(tf.matMul(p, paddedColumns), scColumn),
          tf.tensor2d(positiveTerm, [rows, d]),
        );
        // dV = P'^T ((s c) ⊙ U) + sum over the rows of each positive column of kappa_i u_i. P'^T is
        // rebuilt in the plain layout rather than transposing P' (slow on wasm) or multiplying with P'
        // as the right operand (repacked on every call): over the shared columns,
        // P'^T_ji = exp(z'_ij - lse'_i), all exponents <= 0. One fused matMul gives
        // V U^T / tau + bias_j - lse'_i with an extra last column of SENTINEL; the backend's softmax of
        // each row (vectorised exp) is then e^-SENTINEL P'^T_j. / (1 + e^-SENTINEL sum_i P'_ij), and
        // sum_i P'_ij <= B makes that denominator 1 to within B e^-30 (1e-10 for B = 1024).
        // A = [V / tau | bias_j] over the shared columns, B = [U^T; 1] with a zero sentinel column.
        const inner = columnBias === undefined ? d : d + 1;
        const aData = new Float32Array(shared * inner);
        const bData = new Float32Array(inner * (rows + 1));
        for (let j = 0; j < shared; j++) {
          for (let t = 0; t < d; t++) aData[j * inner + t] = (columnData[j * d + t] as number) / temperature;
          if (columnBias !== undefined) aData[j * inner + d] = columnBias[j] as number;
        }
        for (let t = 0; t < d; t++) {
          const to = t * (rows + 1);
          for (let i = 0; i < rows; i++) bData[to + i] = userData[i * d + t] as number;
        }
        if (columnBias !== undefined) bData.fill(1, d * (rows + 1), d * (rows + 1) + rows);
        const a = tf.tensor2d(aData, [shared, inner]);
        const b = tf.tensor2d(bData, [inner, rows + 1]);
        const bias = new Float32Array(rows + 1);
        bias.set(negativeLse);
        bias[rows] = SENTINEL;
        let transposedLogits = tf.fused.matMul({ a, b, bias: tf.tensor1d(bias) }) as tf.Tensor2D;
        transposedLogits = maskEntries(transposedLogits, entries, columns, ownColumn, (i, j) =>
          j < shared ? j * (rows + 1) + i : -1,
        );
        // e^SENTINEL (s c) ⊙ U with a zero last row: the sentinel column drops out of the product.
        const weightedData = new Float32Array((rows + 1) * d);
        const boost = Math.exp(SENTINEL);
        for (let i = 0; i < rows; i++) {
          const w = (sc[i] as number) * boost;
          for (let t = 0; t < d; t++) weightedData[i * d + t] = w * (userData[i * d + t] as number);
        }
        const weighted = tf.tensor2d(weightedData, [rows + 1, d]);
        const positiveRows = positiveRowsOf(own, userData, ownColumn, rows, shared, d);
        let dv: tf.Tensor2D = tf.add(
          tf.matMul(tf.softmax(transposedLogits), weighted),
          tf.tensor2d(positiveRows, [shared, d]),
        );
        if (extra > 0) {
          [du, dv] = withExtraGradients(
            du,
            dv,
            extraProbabilities as Float32Array,
            sc,
            userValues as Float32Array,
            extraValues as Float32Array,
            rows,
            extra,
            d,
          );
        }
        return [du, dv];
      },
    };
  });
  return op(users, items);
}

/**
 * `logits` with {@link MASKED_LOGIT} at every excluded entry `i * columns + j` of `entries` other than
 * a row's own column; `at(i, j)` is where entry (i, j) lies in the flattened logits (-1: not in them).
 */
function maskEntries(
  logits: tf.Tensor2D,
  entries: Int32Array | undefined,
  columns: number,
  ownColumn: (i: number) => number,
  at: (i: number, j: number) => number,
): tf.Tensor2D {
  if (entries === undefined || entries.length === 0) return logits;
  const flat = new Int32Array(entries.length);
  let count = 0;
  for (let k = 0; k < entries.length; k++) {
    const entry = entries[k] as number;
    const i = Math.floor(entry / columns);
    const j = entry - i * columns;
    if (j === ownColumn(i)) continue;
    const position = at(i, j);
    if (position >= 0) flat[count++] = position;
  }
  if (count === 0) return logits;
  const [height, width] = logits.shape;
  return tf.reshape(
    tf.tensorScatterUpdate(
      tf.reshape(logits, [height * width]),
      tf.tensor2d(flat.subarray(0, count), [count, 1], 'int32'),
      tf.fill([count], MASKED_LOGIT),
    ),
    [height, width],
  );
}

/**
 * The loss and the positive-column terms of both layouts, from the positives' logits z'_ip and the
 * rows' negated log-sum-exps: with P'_ip = exp(z'_ip - lse'_i) (the positive counted m_p times),
 * c_i = 1 / (1 - (1 - 1/m_p) P'_ip) rescales P' to the true softmax and loss_i = -log(c_i P'_ip / m_p).
 */
function positiveTerms(
  positiveLogits: Float64Array,
  negativeLse: Float32Array | Float64Array,
  multiplicity: Float32Array | Float64Array | undefined,
  ownColumn: (i: number) => number,
  scales: Float32Array,
  temperature: number,
): { rescale: Float32Array; positiveWeight: Float32Array; loss: number } {
  const rows = positiveLogits.length;
  const rescale = new Float32Array(rows);
  const positiveWeight = new Float32Array(rows);
  let loss = 0;
  for (let i = 0; i < rows; i++) {
    const logP = (positiveLogits[i] as number) + (negativeLse[i] as number); // log P'_ip, float64
    const pPrime = Math.exp(logP);
    const m = multiplicity === undefined ? 1 : (multiplicity[ownColumn(i)] as number);
    const c = 1 / (1 - (1 - 1 / m) * pPrime);
    rescale[i] = c;
    positiveWeight[i] = c * pPrime * (1 / m - 1);
    loss -= (scales[i] as number) * (Math.log(c) + logP - Math.log(m));
  }
  return { rescale, positiveWeight, loss: loss * temperature };
}

/**
 * The backward pass's row weights: s_i c_i, the weight of P', and kappa_i = s_i (c_i P'_ip (1/m_p - 1) - 1),
 * the positive's extra, with s_i = r_i / (tau sum r) times the upstream gradient.
 */
function rowWeights(
  scales: Float32Array,
  upstream: number,
  rescale: Float32Array,
  positiveWeight: Float32Array,
): { sc: Float32Array; own: Float32Array } {
  const rows = scales.length;
  const sc = new Float32Array(rows);
  const own = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const s = (scales[i] as number) * upstream;
    sc[i] = s * (rescale[i] as number);
    own[i] = s * ((positiveWeight[i] as number) - 1);
  }
  return { sc, own };
}

/** The positives' share of dV: kappa_i u_i summed into each row's positive column (shared columns x d). */
function positiveRowsOf(
  own: Float32Array,
  userData: Float32Array,
  ownColumn: (i: number) => number,
  rows: number,
  shared: number,
  d: number,
): Float32Array {
  const positiveRows = new Float32Array(shared * d);
  for (let i = 0; i < rows; i++) {
    const k = own[i] as number;
    const to = ownColumn(i) * d;
    const from = i * d;
    for (let t = 0; t < d; t++)
      positiveRows[to + t] = (positiveRows[to + t] as number) + k * (userData[from + t] as number);
  }
  return positiveRows;
}

/** What the column layout needs from the forward pass besides the sizes. */
interface ColumnLayoutInputs {
  temperature: number;
  userData: Float32Array;
  columnData: Float32Array;
  columnBias: Float32Array | undefined;
  positiveLogits: Float64Array;
  scales: Float32Array;
  ownColumn: (i: number) => number;
  multiplicity: Float32Array | Float64Array | undefined;
  entries: Int32Array | undefined;
  /** Raw `<u_i, e_im>` of the extra columns (not divided by tau), B x k. */
  extraScores: Float32Array | undefined;
  extraMask: Uint8Array | undefined;
  userValues: Float32Array | undefined;
  extraValues: Float32Array | undefined;
}

/**
 * The smallest sentinel probability the column layout accepts: row j of the transposed softmax is
 * exp(x_ij - R_j), with R_j = -log(sentinel_j) <= 40, so every entry with P'_ij >= e^-30 stays a
 * normal float32 (e^-87) and e^R_j stays far below float32's largest value.
 */
const MIN_SENTINEL = Math.exp(-40);

/**
 * The corrected softmax with every large product in the plain layout and one backend softmax (the
 * row layout below needs two, and four products with B x C outputs). Each row i is shifted by
 * h_i = z'_ip + log(width), close to its log-sum-exp, and the transposed logits x_ij = z_ij - h_i
 * (C x B, plus a zero sentinel column) come from one fused matMul; the backend's softmax of each
 * column row j gives exp(x_ij - R_j) and, in the sentinel, e^-R_j. Then one product
 * [(e^R v_j)^T; e^R] x softmax gives, for every row at once, sum_j exp(x_ij) v_j and sum_j exp(x_ij):
 * the row's log-sum-exp lse'_i = h_i + log(sum) and P'V. The backward pass needs only
 * dV = diag(e^R) softmax W (W = the rows' weighted U): the same softmax as the left operand.
 * Returns undefined (the caller uses the row layout) when a shift is too far from its row's
 * log-sum-exp for float32 (R_j > 40, a row sum of 0 or infinity): a model far from trained at a
 * very small temperature.
 */
function columnLayoutPath(
  sizes: Sizes,
  inputs: ColumnLayoutInputs,
  save: tf.GradSaveFunc,
):
  | {
      loss: number;
      result: { value: tf.Scalar; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };
    }
  | undefined {
  const { rows, columns, extra, shared, d, cacheRows } = sizes;
  const { temperature, userData, columnData, columnBias, positiveLogits, scales, ownColumn } = inputs;
  const width = columns + extra;
  const stride = rows + 1;
  const shift = new Float64Array(rows);
  const logWidth = Math.log(width);
  for (let i = 0; i < rows; i++) shift[i] = (positiveLogits[i] as number) + logWidth;
  // A = [V / tau | bias_j] over every column, B = [U^T; 1] with a zero sentinel column.
  const inner = columnBias === undefined ? d : d + 1;
  const aData = new Float32Array(columns * inner);
  for (let j = 0; j < columns; j++) {
    const from = j * d;
    const to = j * inner;
    for (let t = 0; t < d; t++) aData[to + t] = (columnData[from + t] as number) / temperature;
    if (columnBias !== undefined) aData[to + d] = columnBias[j] as number;
  }
  const bData = new Float32Array(inner * stride);
  for (let t = 0; t < d; t++) {
    const to = t * stride;
    for (let i = 0; i < rows; i++) bData[to + i] = userData[i * d + t] as number;
  }
  if (columnBias !== undefined) bData.fill(1, d * stride, d * stride + rows);
  const biasData = new Float32Array(stride);
  for (let i = 0; i < rows; i++) biasData[i] = -(shift[i] as number);
  let logits = tf.fused.matMul({
    a: tf.tensor2d(aData, [columns, inner]),
    b: tf.tensor2d(bData, [inner, stride]),
    bias: tf.tensor1d(biasData),
  }) as tf.Tensor2D;
  logits = maskEntries(logits, inputs.entries, columns, ownColumn, (i, j) => j * stride + i);
  const softmax = tf.softmax(logits) as tf.Tensor2D;
  // The sentinel column as a product with a unit vector: the backend's Slice of one strided column
  // costs several times more on wasm.
  const unit = new Float32Array(stride);
  unit[rows] = 1;
  const sentinel = tf.matMul(softmax, tf.tensor2d(unit, [stride, 1])).dataSync();
  const lift = new Float32Array(columns); // e^R_j
  for (let j = 0; j < columns; j++) {
    const value = sentinel[j] as number;
    if (!(value >= MIN_SENTINEL)) return undefined;
    lift[j] = 1 / value;
  }
  // [(e^R v_j)^T; e^R] (d + 1 x C) times the softmax: sum_j exp(x_ij) v_j and sum_j exp(x_ij) per row.
  const liftedData = new Float32Array((d + 1) * columns);
  for (let t = 0; t < d; t++) {
    const to = t * columns;
    for (let j = 0; j < columns; j++)
      liftedData[to + j] = (lift[j] as number) * (columnData[j * d + t] as number);
  }
  liftedData.set(lift, d * columns);
  const sums = tf.matMul(tf.tensor2d(liftedData, [d + 1, columns]), softmax).dataSync() as Float32Array;
  // The extra columns' logits e_im / tau (excluded: none), added to each row's sum in float64.
  const extraLogits = extra > 0 ? new Float64Array(rows * extra) : undefined;
  const negativeLse = new Float64Array(rows);
  const inverseSum = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let sum = sums[d * stride + i] as number;
    if (extraLogits !== undefined) {
      const scores = inputs.extraScores as Float32Array;
      for (let m = 0; m < extra; m++) {
        const at = i * extra + m;
        const logit =
          inputs.extraMask?.[at] === 1 ? Number.NEGATIVE_INFINITY : (scores[at] as number) / temperature;
        extraLogits[at] = logit;
        sum += Math.exp(logit - (shift[i] as number));
      }
    }
    if (!(sum > 0 && Number.isFinite(sum))) return undefined;
    inverseSum[i] = 1 / sum;
    negativeLse[i] = -((shift[i] as number) + Math.log(sum));
  }
  const { rescale, positiveWeight, loss } = positiveTerms(
    positiveLogits,
    negativeLse,
    inputs.multiplicity,
    ownColumn,
    scales,
    temperature,
  );
  let extraProbabilities: Float32Array | undefined;
  if (extraLogits !== undefined) {
    extraProbabilities = new Float32Array(rows * extra);
    for (let i = 0; i < rows; i++) {
      for (let m = 0; m < extra; m++) {
        const at = i * extra + m;
        extraProbabilities[at] = Math.exp((extraLogits[at] as number) + (negativeLse[i] as number));
      }
    }
  }
  save([softmax]);
  return {
    loss,
    result: {
      value: tf.scalar(loss),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedSoftmax] = saved as [tf.Tensor2D];
        const upstream = (dy.dataSync() as Float32Array)[0] as number;
        const { sc, own } = rowWeights(scales, upstream, rescale, positiveWeight);
        // dU = (s c) ⊙ (P' V) + kappa ⊙ V_pos, with P'V_i = sum_j exp(x_ij) v_j / sum_j exp(x_ij).
        const duData = new Float32Array(rows * d);
        for (let i = 0; i < rows; i++) {
          const weight = (sc[i] as number) * (inverseSum[i] as number);
          const k = own[i] as number;
          const from = ownColumn(i) * d;
          for (let t = 0; t < d; t++) {
            duData[i * d + t] =
              weight * (sums[t * stride + i] as number) + k * (columnData[from + t] as number);
          }
        }
        // dV = diag(e^R) softmax W, W = [(s c / sum) ⊙ U; 0]: the sentinel column drops out.
        const weightedData = new Float32Array(stride * d);
        for (let i = 0; i < rows; i++) {
          const weight = (sc[i] as number) * (inverseSum[i] as number);
          for (let t = 0; t < d; t++) weightedData[i * d + t] = weight * (userData[i * d + t] as number);
        }
        let lifted: tf.Tensor2D = tf.mul(
          tf.matMul(savedSoftmax, tf.tensor2d(weightedData, [stride, d])),
          tf.tensor2d(lift, [columns, 1]),
        );
        if (cacheRows > 0) lifted = tf.slice(lifted, [0, 0], [shared, d]);
        let dv: tf.Tensor2D = tf.add(
          lifted,
          tf.tensor2d(positiveRowsOf(own, userData, ownColumn, rows, shared, d), [shared, d]),
        );
        let du: tf.Tensor2D = tf.tensor2d(duData, [rows, d]);
        if (extra > 0) {
          [du, dv] = withExtraGradients(
            du,
            dv,
            extraProbabilities as Float32Array,
            sc,
            inputs.userValues as Float32Array,
            inputs.extraValues as Float32Array,
            rows,
            extra,
            d,
          );
        }
        return [du, dv];
      },
    },
  };
}

/**
 * dU and dV with the extra columns' share: dU gains sum_m g_im e_im (B x d) and dV gets the extra
 * columns' own gradient g_im u_i (B k x d) appended, from g_im = s_i P_im.
 */
function withExtraGradients(
  du: tf.Tensor2D,
  dv: tf.Tensor2D,
  weights: Float32Array,
  scales: Float32Array | undefined,
  userValues: Float32Array,
  extraValues: Float32Array,
  rows: number,
  extra: number,
  d: number,
): [tf.Tensor2D, tf.Tensor2D] {
  const duExtra = new Float32Array(rows * d);
  const dvExtra = new Float32Array(rows * extra * d);
  for (let i = 0; i < rows; i++) {
    const scale = scales === undefined ? 1 : (scales[i] as number);
    for (let m = 0; m < extra; m++) {
      const w = (weights[i * extra + m] as number) * scale;
      if (w === 0) continue;
      const e = (i * extra + m) * d;
      for (let j = 0; j < d; j++) {
        duExtra[i * d + j] = (duExtra[i * d + j] as number) + w * (extraValues[e + j] as number);
        dvExtra[e + j] = w * (userValues[i * d + j] as number);
      }
    }
  }
  return [
    tf.add(du, tf.tensor2d(duExtra, [rows, d])),
    tf.concat([dv, tf.tensor2d(dvExtra, [rows * extra, d])], 0),
  ];
}

interface Sizes {
  rows: number;
  columns: number;
  extra: number;
  shared: number;
  d: number;
  cacheRows: number;
}

/** The loss with online selection: scores read back, loss and gradient by {@link correctedSoftmaxKernel}. */
function typedArrayPath(
  u: tf.Tensor2D,
  allColumns: tf.Tensor2D,
  save: tf.GradSaveFunc,
  sizes: Sizes,
  options: InBatchSoftmaxOptions,
  workspace: SoftmaxWorkspace,
  extras: {
    userValues: Float32Array | undefined;
    extraValues: Float32Array | undefined;
    extraScores: Float32Array | undefined;
  },
): { value: tf.Scalar; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] } {
  const { rows, columns, extra, shared, d, cacheRows } = sizes;
  const scores = tf.matMul(u, tf.transpose(allColumns)).dataSync() as Float32Array;
  const gradient = workspace.gradient(rows * columns);
  const extraGradient = extra > 0 ? workspace.extraGradient(rows * extra) : undefined;
  const { maskedEntries, ...rest } = options;
  const loss = correctedSoftmaxKernel(
    {
      rows,
      columns,
      scores,
      extraColumns: extra,
      ...(extras.extraScores ? { extraScores: extras.extraScores } : {}),
    },
    { ...rest, ...(maskedEntries !== undefined ? { mask: denseMask(maskedEntries, rows, columns) } : {}) },
    gradient,
    extraGradient,
    workspace,
  );
  options.onLoss?.(loss);
  save([u, allColumns]);
  return {
    value: tf.scalar(loss),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [savedUsers, savedColumns] = saved as [tf.Tensor2D, tf.Tensor2D];
      const upstream = (dy.dataSync() as Float32Array)[0] as number;
      const g = tf.tensor2d(gradient, [rows, columns]);
      let du: tf.Tensor2D = tf.matMul(g, savedColumns);
      let dv = tf.transpose(tf.matMul(tf.transpose(savedUsers), g)) as tf.Tensor2D;
      if (cacheRows > 0) dv = tf.slice(dv, [0, 0], [shared, d]);
      if (extra > 0) {
        [du, dv] = withExtraGradients(
          du,
          dv,
          extraGradient as Float32Array,
          undefined,
          extras.userValues as Float32Array,
          extras.extraValues as Float32Array,
          rows,
          extra,
          d,
        );
      }
      if (upstream !== 1) {
        du = tf.mul(du, upstream);
        dv = tf.mul(dv, upstream);
      }
      return [du, dv];
    },
  };
}
