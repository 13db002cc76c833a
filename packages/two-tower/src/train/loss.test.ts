import { selectBackend } from '@rarefy/model-kit';
import { createRng, isRarefyError } from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  correctedSoftmaxKernel,
  type InBatchSoftmaxOptions,
  inBatchSoftmaxLoss,
  type SoftmaxLossOptions,
  type SoftmaxScores,
} from './loss.js';

beforeAll(async () => {
  await selectBackend();
});

/** The loss of row-wise softmax cross-entropy computed naively in float64 (the reference). */
function naiveLoss(
  scores: number[][],
  temperature: number,
  logQ: number[] | undefined,
  excluded: (i: number, j: number) => boolean,
  rewards?: number[],
  extra?: number[][],
): number {
  let total = 0;
  let weight = 0;
  scores.forEach((row, i) => {
    const z = row.map((s, j) => s / temperature - (logQ?.[j] ?? 0));
    const kept = z.filter((_, j) => j === i || !excluded(i, j));
    for (const e of extra?.[i] ?? []) kept.push(e / temperature);
    const max = Math.max(...kept);
    const lse = max + Math.log(kept.reduce((sum, value) => sum + Math.exp(value - max), 0));
    const r = rewards?.[i] ?? 1;
    total += r * (lse - (z[i] as number));
    weight += r;
  });
  return total / weight;
}

function kernelLoss(
  batch: SoftmaxScores,
  options: SoftmaxLossOptions,
): { loss: number; gradient: Float32Array; extra: Float32Array } {
  const gradient = new Float32Array(batch.rows * batch.columns);
  const extra = new Float32Array(batch.rows * (batch.extraColumns ?? 0));
  const loss = correctedSoftmaxKernel(batch, options, gradient, extra);
  return { loss, gradient, extra };
}

const SCORES = [
  [0.9, 0.1, -0.3, 0.4],
  [0.2, 0.7, 0.5, -0.6],
  [-0.1, 0.3, 0.8, 0.2],
];

describe('correctedSoftmaxKernel', () => {
  it('matches a hand computation on a 2 x 2 matrix', () => {
    // Row 0: z = [2, 0] -> loss log(1 + e^-2); row 1: z = [1, 3] -> loss log(1 + e^-2) as well.
    const { loss, gradient } = kernelLoss(
      { rows: 2, columns: 2, scores: Float32Array.of(1, 0, 0.5, 1.5) },
      { temperature: 0.5 },
    );
    expect(loss).toBeCloseTo(Math.log(1 + Math.exp(-2)), 12);
    const p = 1 / (1 + Math.exp(2)); // the wrong column's softmax weight in each row
    // d loss / d score = (softmax - onehot) / (tau B): the positive's weight is 1 - p.
    expect(gradient[0]).toBeCloseTo(-p / (0.5 * 2), 6);
    expect(gradient[1]).toBeCloseTo(p / (0.5 * 2), 6);
    expect(gradient[2]).toBeCloseTo(p / (0.5 * 2), 6);
    expect(gradient[3]).toBeCloseTo(-p / (0.5 * 2), 6);
  });

  it('matches the naive loss with log Q, masks, rewards and extra columns', () => {
    const logQ = [0.3, -0.2, 1.1, 0.5];
    const mask = new Uint8Array(12);
    mask[0 * 4 + 2] = 1;
    mask[2 * 4 + 1] = 1;
    const rewards = [1, 2, 0.5];
    const extra = [
      [0.4, -0.2],
      [0.1, 0.9],
      [0.3, 0.0],
    ];
    const extraMask = Uint8Array.of(0, 0, 0, 1, 0, 0);
    const { loss } = kernelLoss(
      {
        rows: 3,
        columns: 4,
        scores: Float32Array.from(SCORES.flat()),
        extraColumns: 2,
        extraScores: Float32Array.from(extra.flat()),
      },
      {
        temperature: 0.2,
        logQ: Float64Array.from(logQ),
        mask,
        rewards: Float32Array.from(rewards),
        extraMask,
      },
    );
    const expected = naiveLoss(
      SCORES,
      0.2,
      logQ,
      (i, j) => mask[i * 4 + j] === 1,
      rewards,
      extra.map((row, i) => row.filter((_, m) => extraMask[i * 2 + m] === 0)),
    );
    expect(loss).toBeCloseTo(expected, 5);
  });

  it('gives a gradient equal to the finite difference of its loss', () => {
    const scores = Float32Array.from(SCORES.flat());
    const extraScores = Float32Array.of(0.4, -0.2, 0.1, 0.9, 0.3, 0.0);
    const options: SoftmaxLossOptions = {
      temperature: 0.3,
      logQ: Float64Array.of(0.3, -0.2, 1.1, 0.5),
      rewards: Float32Array.of(1, 2, 0.5),
      mask: Uint8Array.from({ length: 12 }, (_, k) => (k === 2 ? 1 : 0)),
    };
    const batch = { rows: 3, columns: 4, scores, extraColumns: 2, extraScores };
    const { gradient, extra } = kernelLoss(batch, options);
    const h = 1e-3;
    const lossAt = (target: Float32Array, k: number, delta: number): number => {
      const saved = target[k] as number;
      target[k] = saved + delta;
      const value = kernelLoss(batch, options).loss;
      target[k] = saved;
      return value;
    };
    for (let k = 0; k < scores.length; k++) {
      const numeric = (lossAt(scores, k, h) - lossAt(scores, k, -h)) / (2 * h);
      expect(gradient[k]).toBeCloseTo(numeric, 3);
    }
    expect(gradient[2]).toBe(0); // masked
    for (let k = 0; k < extraScores.length; k++) {
      const numeric = (lossAt(extraScores, k, h) - lossAt(extraScores, k, -h)) / (2 * h);
      expect(extra[k]).toBeCloseTo(numeric, 3);
    }
  });

  it('masks an accidental hit exactly like removing the column', () => {
    const mask = new Uint8Array(12);
    mask[1 * 4 + 3] = 1;
    const masked = kernelLoss(
      { rows: 3, columns: 4, scores: Float32Array.from(SCORES.flat()) },
      { temperature: 0.1, mask },
    );
    // Removing column 3 from row 1 only: the naive loss with that entry excluded.
    expect(masked.loss).toBeCloseTo(
      naiveLoss(SCORES, 0.1, undefined, (i, j) => i === 1 && j === 3),
      5,
    );
    expect(masked.gradient[1 * 4 + 3]).toBe(0);
    // The positive itself is never masked, even when asked.
    const own = new Uint8Array(12).fill(0);
    own[0] = 1;
    const ownLoss = kernelLoss(
      { rows: 3, columns: 4, scores: Float32Array.from(SCORES.flat()) },
      { temperature: 0.1, mask: own },
    ).loss;
    expect(ownLoss).toBeCloseTo(
      naiveLoss(SCORES, 0.1, undefined, () => false),
      5,
    );
  });

  it('is unchanged by a constant log Q and equivalent to shifting the scores of one column', () => {
    const scores = Float32Array.from(SCORES.flat());
    const base = kernelLoss({ rows: 3, columns: 4, scores }, { temperature: 0.25 }).loss;
    const constant = kernelLoss(
      { rows: 3, columns: 4, scores },
      { temperature: 0.25, logQ: new Float64Array(4).fill(3) },
    ).loss;
    expect(constant).toBeCloseTo(base, 5);
    // log Q_2 = 0.5 is the same as lowering column 2's scores by 0.5 tau.
    const shifted = Float32Array.from(SCORES.flat().map((s, k) => (k % 4 === 2 ? s - 0.5 * 0.25 : s)));
    const corrected = kernelLoss(
      { rows: 3, columns: 4, scores },
      { temperature: 0.25, logQ: Float64Array.of(0, 0, 0.5, 0) },
    ).loss;
    expect(corrected).toBeCloseTo(
      kernelLoss({ rows: 3, columns: 4, scores: shifted }, { temperature: 0.25 }).loss,
      5,
    );
    expect(Math.abs(corrected - base)).toBeGreaterThan(1e-4);
  });

  it('keeps only the k hardest negatives under hard selection', () => {
    const scores = Float32Array.from(SCORES.flat());
    const hard = kernelLoss(
      { rows: 3, columns: 4, scores },
      { temperature: 0.2, selection: { kind: 'hard', count: 1 } },
    );
    // Row 0 keeps column 3 (0.4), row 1 column 2 (0.5), row 2 column 1 (0.3 > 0.2 > -0.1).
    const keep = [3, 2, 1];
    expect(hard.loss).toBeCloseTo(
      naiveLoss(SCORES, 0.2, undefined, (i, j) => j !== keep[i]),
      5,
    );
    expect(hard.gradient[0 * 4 + 1]).toBe(0);
    expect(hard.gradient[0 * 4 + 3]).toBeGreaterThan(0);
  });

  it('keeps negatives inside the window under semi-hard selection and k random ones under random', () => {
    const scores = Float32Array.from(SCORES.flat());
    const semi = kernelLoss(
      { rows: 3, columns: 4, scores },
      { temperature: 0.2, selection: { kind: 'semi-hard', margin: 0.55 } },
    );
    // Window [s_pos - 0.55, s_pos): row 0 [0.35, 0.9): column 3; row 1 [0.15, 0.7): 0, 2; row 2 [0.25, 0.8): 1.
    const windows = [[3], [0, 2], [1]];
    expect(semi.loss).toBeCloseTo(
      naiveLoss(SCORES, 0.2, undefined, (i, j) => !(windows[i] as number[]).includes(j)),
      5,
    );
    const random = kernelLoss(
      { rows: 3, columns: 4, scores },
      { temperature: 0.2, selection: { kind: 'random', count: 2 }, rng: createRng(5) },
    );
    for (let i = 0; i < 3; i++) {
      let kept = 0;
      for (let j = 0; j < 4; j++) if (j !== i && random.gradient[i * 4 + j] !== 0) kept++;
      expect(kept).toBe(2);
    }
  });

  it('rejects inconsistent inputs with typed errors', () => {
    const scores = Float32Array.from(SCORES.flat());
    const run = (options: SoftmaxLossOptions, columns = 4): unknown => {
      try {
        kernelLoss({ rows: 3, columns, scores }, options);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const logQ = run({ temperature: 0.1, logQ: new Float64Array(3) });
    expect(isRarefyError(logQ, 'RAREFY_DIMENSION_MISMATCH')).toBe(true);
    expect((logQ as Error).message).toMatch(/logQ: 3 entries, expected 4/);
    expect((run({ temperature: 0 }) as Error).message).toMatch(/temperature: 0 is not a positive number/);
    expect((run({ temperature: 0.1, selection: { kind: 'random', count: 2 } }) as Error).message).toMatch(
      /rng: is missing/,
    );
    expect((run({ temperature: 0.1, rewards: Float32Array.of(1, -1, 1) }) as Error).message).toMatch(
      /rewards: row 1 is -1/,
    );
  });
});

describe('inBatchSoftmaxLoss (tfjs op with a custom gradient)', () => {
  const B = 3;
  const d = 4;
  const rng = createRng(11);
  const userValues = Float32Array.from({ length: B * d }, () => 0.5 * rng.normal());
  // 3 positives, 2 sampled negatives, then 2 extra columns per row.
  const itemValues = Float32Array.from({ length: (5 + B * 2) * d }, () => 0.5 * rng.normal());
  const cacheValues = Float32Array.from({ length: 2 * d }, () => 0.5 * rng.normal());

  function gradients(options: InBatchSoftmaxOptions): { loss: number; du: Float32Array; dv: Float32Array } {
    return tf.tidy(() => {
      const u = tf.tensor2d(userValues, [B, d]);
      const v = tf.tensor2d(itemValues, [5 + B * 2, d]);
      const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) =>
        inBatchSoftmaxLoss(a as tf.Tensor2D, b as tf.Tensor2D, options),
      )([u, v]);
      return {
        loss: (value.dataSync() as Float32Array)[0] as number,
        du: (grads[0] as tf.Tensor).dataSync() as Float32Array,
        dv: (grads[1] as tf.Tensor).dataSync() as Float32Array,
      };
    });
  }

  function lossOnly(options: InBatchSoftmaxOptions, users: Float32Array, items: Float32Array): number {
    return tf.tidy(
      () =>
        (
          inBatchSoftmaxLoss(
            tf.tensor2d(users, [B, d]),
            tf.tensor2d(items, [5 + B * 2, d]),
            options,
          ).dataSync() as Float32Array
        )[0] as number,
    );
  }

  const cases: Array<[string, () => InBatchSoftmaxOptions]> = [
    [
      'backend path (masks, log Q, rewards, extra columns, cache)',
      () => ({
        temperature: 0.5,
        sharedColumns: 5,
        extraColumns: 2,
        cache: tf.tensor2d(cacheValues, [2, d]),
        logQ: Float64Array.of(0.2, -0.1, 0.4, 1.0, 0.3, 0.5, -0.4),
        maskedEntries: Int32Array.of(0 * 7 + 4, 2 * 7 + 1, 1 * 7 + 6),
        extraMask: Uint8Array.of(0, 0, 1, 0, 0, 0),
        rewards: Float32Array.of(1, 0.5, 2),
      }),
    ],
    [
      'backend path with deduplicated columns (shared positives, multiplicities)',
      () => ({
        temperature: 0.5,
        sharedColumns: 5,
        extraColumns: 2,
        cache: tf.tensor2d(cacheValues, [2, d]),
        logQ: Float64Array.of(0.2, -0.1, 0.4, 1.0, 0.3, 0.5, -0.4),
        positives: Int32Array.of(0, 1, 0),
        multiplicity: Float32Array.of(2, 1, 3, 1, 2, 1, 1),
        maskedEntries: Int32Array.of(0 * 7 + 4, 1 * 7 + 6),
        rewards: Float32Array.of(1, 0.5, 2),
      }),
    ],
    [
      'typed-array path (hard selection)',
      () => ({
        temperature: 0.5,
        sharedColumns: 5,
        extraColumns: 2,
        cache: tf.tensor2d(cacheValues, [2, d]),
        logQ: Float64Array.of(0.2, -0.1, 0.4, 1.0, 0.3, 0.5, -0.4),
        maskedEntries: Int32Array.of(0 * 7 + 4, 2 * 7 + 1),
        rewards: Float32Array.of(1, 0.5, 2),
        selection: { kind: 'hard', count: 4 },
      }),
    ],
  ];

  for (const [name, makeOptions] of cases) {
    it(`has gradients equal to finite differences: ${name}`, () => {
      const options = makeOptions();
      try {
        const { du, dv } = gradients(options);
        const h = 2e-3;
        const check = (values: Float32Array, analytic: Float32Array, isUser: boolean): void => {
          for (let k = 0; k < values.length; k++) {
            const saved = values[k] as number;
            values[k] = saved + h;
            const plus = lossOnly(options, userValues, itemValues);
            values[k] = saved - h;
            const minus = lossOnly(options, userValues, itemValues);
            values[k] = saved;
            const numeric = (plus - minus) / (2 * h);
            expect(Math.abs((analytic[k] as number) - numeric), `${isUser ? 'dU' : 'dV'}[${k}]`).toBeLessThan(
              2e-3,
            );
          }
        };
        check(userValues, du, true);
        check(itemValues, dv, false);
      } finally {
        options.cache?.dispose();
      }
    });
  }

  it('computes the same loss and gradients on both paths when selection keeps everything', () => {
    const [, makeBackend] = cases[0] as [string, () => InBatchSoftmaxOptions];
    const backendOptions = makeBackend();
    const typedOptions: InBatchSoftmaxOptions = {
      ...backendOptions,
      selection: { kind: 'hard', count: 100 },
    };
    try {
      const a = gradients(backendOptions);
      const b = gradients(typedOptions);
      expect(a.loss).toBeCloseTo(b.loss, 5);
      a.du.forEach((value, k) => {
        expect(value).toBeCloseTo(b.du[k] as number, 5);
      });
      a.dv.forEach((value, k) => {
        expect(value).toBeCloseTo(b.dv[k] as number, 5);
      });
      // And both equal the float64 reference loss.
      const scores = Array.from({ length: B }, (_, i) =>
        Array.from({ length: 7 }, (_, j) => {
          const column =
            j < 5 ? itemValues.subarray(j * d, j * d + d) : cacheValues.subarray((j - 5) * d, (j - 4) * d);
          let dot = 0;
          for (let t = 0; t < d; t++) dot += (userValues[i * d + t] as number) * (column[t] as number);
          return dot;
        }),
      );
      const extra = Array.from({ length: B }, (_, i) =>
        [0, 1]
          .filter((m) => backendOptions.extraMask?.[i * 2 + m] !== 1)
          .map((m) => {
            let dot = 0;
            for (let t = 0; t < d; t++)
              dot += (userValues[i * d + t] as number) * (itemValues[(5 + i * 2 + m) * d + t] as number);
            return dot;
          }),
      );
      const entries = Array.from(backendOptions.maskedEntries ?? []);
      const reference = naiveLoss(
        scores,
        0.5,
        Array.from(backendOptions.logQ ?? []),
        (i, j) => entries.includes(i * 7 + j),
        Array.from(backendOptions.rewards ?? []),
        extra,
      );
      expect(a.loss).toBeCloseTo(reference, 5);
    } finally {
      backendOptions.cache?.dispose();
    }
  });

  it('computes the same loss and gradients in the column and the row layout', () => {
    for (const [name, makeOptions] of cases.slice(0, 2)) {
      const used: string[] = [];
      const columnOptions = makeOptions();
      const rowOptions: InBatchSoftmaxOptions = { ...makeOptions(), layout: 'row' };
      try {
        const a = gradients({ ...columnOptions, onLayout: (layout) => used.push(layout) });
        const b = gradients(rowOptions);
        expect(used, name).toEqual(['column']);
        expect(a.loss, name).toBeCloseTo(b.loss, 5);
        a.du.forEach((value, k) => {
          expect(value, `${name} dU[${k}]`).toBeCloseTo(b.du[k] as number, 5);
        });
        a.dv.forEach((value, k) => {
          expect(value, `${name} dV[${k}]`).toBeCloseTo(b.dv[k] as number, 5);
        });
      } finally {
        columnOptions.cache?.dispose();
        rowOptions.cache?.dispose();
      }
    }
  });

  it('matches the row layout on a 256 x 200 batch at tau 0.05 with log Q over a Zipf catalogue', () => {
    const rows = 256;
    const columns = 200;
    const width = 16;
    const random = createRng(5);
    const unit = (n: number): Float32Array => {
      const values = Float32Array.from({ length: n * width }, () => random.normal());
      for (let r = 0; r < n; r++) {
        let norm = 0;
        for (let t = 0; t < width; t++) norm += (values[r * width + t] as number) ** 2;
        for (let t = 0; t < width; t++)
          values[r * width + t] = (values[r * width + t] as number) / Math.sqrt(norm);
      }
      return values;
    };
    const users = unit(rows);
    const items = unit(columns);
    const positives = Int32Array.from({ length: rows }, (_, i) => i % columns);
    const multiplicity = Float32Array.from(
      { length: columns },
      (_, j) => (j < rows % columns ? 2 : 1) + (j < 56 ? 1 : 0),
    );
    const logQ = Float64Array.from({ length: columns }, (_, j) => Math.log(rows / (j + 1)) - 2);
    const run = (layout: 'auto' | 'row', used: string[]) =>
      tf.tidy(() => {
        const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) =>
          inBatchSoftmaxLoss(a as tf.Tensor2D, b as tf.Tensor2D, {
            temperature: 0.05,
            sharedColumns: columns,
            positives,
            multiplicity,
            logQ,
            maskedEntries: Int32Array.of(3 * columns + 7, 100 * columns + 1),
            layout,
            onLayout: (name) => used.push(name),
          }),
        )([tf.tensor2d(users, [rows, width]), tf.tensor2d(items, [columns, width])]);
        return {
          loss: value.dataSync()[0] as number,
          du: (grads[0] as tf.Tensor).dataSync() as Float32Array,
          dv: (grads[1] as tf.Tensor).dataSync() as Float32Array,
        };
      });
    const usedColumn: string[] = [];
    const usedRow: string[] = [];
    const column = run('auto', usedColumn);
    const row = run('row', usedRow);
    expect(usedColumn).toEqual(['column']);
    expect(usedRow).toEqual(['row']);
    expect(column.loss).toBeCloseTo(row.loss, 4);
    const scale = Math.max(...Array.from(row.dv, Math.abs), ...Array.from(row.du, Math.abs));
    row.du.forEach((value, k) => {
      expect(Math.abs((column.du[k] as number) - value) / scale, `dU[${k}]`).toBeLessThan(1e-4);
    });
    row.dv.forEach((value, k) => {
      expect(Math.abs((column.dv[k] as number) - value) / scale, `dV[${k}]`).toBeLessThan(1e-4);
    });
  });

  it('stays exact when a positive probability underflows float32', () => {
    // Row 0's positive is opposite to its user and column 1 matches it: z_00 - z_01 = -2 / 0.01 = -200.
    const u = Float32Array.of(1, 0, 0, 1, 0.6, 0.8);
    const v = Float32Array.of(-1, 0, 1, 0, 0.8, 0.6);
    const run = (selection?: {
      kind: 'hard';
      count: number;
    }): { loss: number; du: Float32Array; dv: Float32Array } =>
      tf.tidy(() => {
        const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) =>
          inBatchSoftmaxLoss(a as tf.Tensor2D, b as tf.Tensor2D, {
            temperature: 0.01,
            sharedColumns: 3,
            ...(selection ? { selection } : {}),
            onLayout: (layout) => layouts.push(layout),
          }),
        )([tf.tensor2d(u, [3, 2]), tf.tensor2d(v, [3, 2])]);
        return {
          loss: value.dataSync()[0] as number,
          du: (grads[0] as tf.Tensor).dataSync() as Float32Array,
          dv: (grads[1] as tf.Tensor).dataSync() as Float32Array,
        };
      });
    const layouts: string[] = [];
    const backend = run();
    // Row 0 scores column 1 200 above its positive: beyond what the column layout's float32 sums hold.
    expect(layouts).toEqual(['row']);
    const typed = run({ kind: 'hard', count: 10 });
    // The loss of row 0 is clamped at -log(float32's smallest normal) = 87.3 on the backend path.
    expect(typed.loss).toBeGreaterThan(60);
    backend.du.forEach((value, k) => {
      expect(value).toBeCloseTo(typed.du[k] as number, 3);
    });
    backend.dv.forEach((value, k) => {
      expect(value).toBeCloseTo(typed.dv[k] as number, 3);
    });
  });

  it('gives the same loss and gradients on deduplicated columns (multiplicities, shared positives)', () => {
    // Rows' positives: items 7, 3, 7, 5; sampled negatives 3 and 9. Expanded: six columns with the
    // accidental hits masked; deduplicated: items 7, 3, 5, 9 counted 2, 2, 1, 1 times.
    const expandedItems = [7, 3, 7, 5, 3, 9];
    const unique = [7, 3, 5, 9];
    const rng = createRng(21);
    const itemVector = new Map(
      unique.map((item) => [item, Array.from({ length: d }, () => 0.5 * rng.normal())]),
    );
    const users = Float32Array.from({ length: 4 * d }, () => 0.5 * rng.normal());
    const logQOf = new Map([
      [7, 0.9],
      [3, 0.4],
      [5, -0.3],
      [9, -0.8],
    ]);
    const expandedMask: number[] = [];
    expandedItems.forEach((item, j) => {
      for (let i = 0; i < 4; i++) if (j !== i && expandedItems[i] === item) expandedMask.push(i * 6 + j);
    });
    const run = (
      items: number[],
      extra: Partial<InBatchSoftmaxOptions>,
    ): { loss: number; du: Float32Array; dv: Float32Array } =>
      tf.tidy(() => {
        const v = tf.tensor2d(Float32Array.from(items.flatMap((item) => itemVector.get(item) as number[])), [
          items.length,
          d,
        ]);
        const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) =>
          inBatchSoftmaxLoss(a as tf.Tensor2D, b as tf.Tensor2D, {
            temperature: 0.3,
            sharedColumns: items.length,
            logQ: Float64Array.from(items, (item) => logQOf.get(item) as number),
            rewards: Float32Array.of(1, 2, 0.5, 1),
            ...extra,
          }),
        )([tf.tensor2d(users, [4, d]), v]);
        return {
          loss: value.dataSync()[0] as number,
          du: (grads[0] as tf.Tensor).dataSync() as Float32Array,
          dv: (grads[1] as tf.Tensor).dataSync() as Float32Array,
        };
      });
    const dedup = { positives: Int32Array.of(0, 1, 0, 2), multiplicity: Float32Array.of(2, 2, 1, 1) };
    const reference = run(expandedItems, { maskedEntries: Int32Array.from(expandedMask) });
    for (const variant of [dedup, { ...dedup, selection: { kind: 'hard', count: 100 } as const }]) {
      const result = run(unique, variant);
      expect(result.loss).toBeCloseTo(reference.loss, 5);
      result.du.forEach((value, k) => {
        expect(value).toBeCloseTo(reference.du[k] as number, 5);
      });
      // A deduplicated column's gradient is the sum of its copies' gradients.
      unique.forEach((item, j) => {
        for (let t = 0; t < d; t++) {
          let sum = 0;
          expandedItems.forEach((other, c) => {
            if (other === item) sum += reference.dv[c * d + t] as number;
          });
          expect(result.dv[j * d + t]).toBeCloseTo(sum, 5);
        }
      });
    }
  });

  it('leaves no tensor behind', () => {
    const before = tf.memory().numTensors;
    for (let step = 0; step < 3; step++) gradients({ temperature: 0.1, sharedColumns: 5, extraColumns: 2 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects item embeddings that do not fit the columns', () => {
    tf.tidy(() => {
      const u = tf.zeros([B, d]) as tf.Tensor2D;
      const v = tf.zeros([4, d]) as tf.Tensor2D;
      expect(() => inBatchSoftmaxLoss(u, v, { temperature: 0.1, sharedColumns: 5 })).toThrowError(
        /items: 4 entries, expected 5/,
      );
      expect(() =>
        inBatchSoftmaxLoss(u, v, { temperature: 0.1, sharedColumns: 4, maskedEntries: Int32Array.of(12) }),
      ).toThrowError(/maskedEntries: entry 0 is 12, outside \[0, 12\)/);
    });
  });
});
