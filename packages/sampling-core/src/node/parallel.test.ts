import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DesignName, optAMatrix } from '../designs.js';
import { isRarefyError, RarefyError, RarefyInputError } from '../errors.js';
import { type DesignMatrix, linearPredictor, sigmoid } from '../matrix.js';
import { logisticDesignScores, type SampleResult } from '../sample.js';
import { keepProbability, type ScaleSolution, solveScale } from '../scale.js';
import { simulateRareEvents } from '../simulate.js';
import {
  blockScoreAndSampleLogistic,
  parallelScoreAndSampleLogistic,
  ScoreWorkerPool,
  sharedDesignMatrix,
  sharedLabels,
} from './index.js';

/** Element-wise identity of two samples (Object.is per value), and identical totals. */
function expectSameSample(actual: SampleResult, expected: SampleResult): void {
  for (const key of ['rows', 'labels', 'pi', 'offset', 'weight'] as const) {
    const a = actual[key];
    const b = expected[key];
    expect(a.length, key).toBe(b.length);
    let mismatches = 0;
    for (let k = 0; k < a.length; k++) if (!Object.is(a[k], b[k])) mismatches++;
    expect(mismatches, key).toBe(0);
  }
  for (const key of [
    'positives',
    'negatives',
    'expectedNegatives',
    'expectedPositives',
    'atCap',
    'atFloor',
  ] as const) {
    expect(actual[key], key).toBe(expected[key]);
  }
}

// 50_001 rows: not a multiple of any block size used below, so every run ends on a short block.
const ROWS = 50_001;
const data = simulateRareEvents({ rows: ROWS, seed: 11, intercept: -3.5 });
const x = sharedDesignMatrix(data.x);
const y = sharedLabels(data.y);
const beta = data.trueCoefficients;
const probability = linearPredictor(x, beta).map(sigmoid);
const optAInverse = optAMatrix(x, y, probability, { negativeRate: 1, positiveRate: 1 }).inverse;
const DESIGNS: readonly DesignName[] = ['uniform', 'proportional', 'optL', 'optA', 'LCC'];

/** A rate solution with mixing, so floors and caps occur. */
function rateSolution(design: DesignName): ScaleSolution {
  const scores = logisticDesignScores(x, beta, design, { optAInverse });
  return solveScale(design, scores, y, { method: 'rate', rate: 0.3, alpha: 0.01, piMin: 0.004 });
}
const solutions = new Map(DESIGNS.map((design) => [design, rateSolution(design)] as const));
const solutionOf = (design: DesignName) => solutions.get(design) as ScaleSolution;

const pools = new Map<number, ScoreWorkerPool>();
const poolOf = (workers: number) => pools.get(workers) as ScoreWorkerPool;

beforeAll(async () => {
  for (const workers of [1, 2, 3]) pools.set(workers, new ScoreWorkerPool({ workers }));
  await Promise.all([...pools.values()].map((pool) => pool.ready()));
});

afterAll(async () => {
  await Promise.all([...pools.values()].map((pool) => pool.close()));
});

describe('parallelScoreAndSampleLogistic', () => {
  it('equals the single-thread block reference exactly, for 1, 2 and 3 workers and every design', async () => {
    for (const design of DESIGNS) {
      for (const blockRows of [4096, 1000, 65_536]) {
        const options = { seed: 'parallel', blockRows, optAInverse };
        const reference = blockScoreAndSampleLogistic(x, y, beta, design, solutionOf(design), options);
        expect(reference.rows.length).toBeGreaterThan(0);
        for (const workers of [1, 2, 3]) {
          const sample = await parallelScoreAndSampleLogistic(x, y, beta, design, solutionOf(design), {
            ...options,
            pool: poolOf(workers),
          });
          expectSameSample(sample, reference);
        }
      }
    }
    // The mixing and floor are exercised: some negatives sit at the floor or the cap.
    const optL = blockScoreAndSampleLogistic(x, y, beta, 'optL', solutionOf('optL'), { seed: 1 });
    expect(optL.atFloor).toBeGreaterThan(0);
    expect(optL.atCap).toBeGreaterThan(0);
  });

  it('returns rows ascending with the labels, and the expected sizes of the whole data', async () => {
    const design = 'proportional';
    const sample = await parallelScoreAndSampleLogistic(x, y, beta, design, solutionOf(design), {
      seed: 3,
      blockRows: 4096,
      pool: poolOf(2),
    });
    for (let k = 1; k < sample.rows.length; k++) {
      expect(sample.rows[k] as number).toBeGreaterThan(sample.rows[k - 1] as number);
    }
    sample.rows.forEach((row, k) => {
      expect(sample.labels[k]).toBe(y[row]);
    });
    expect(sample.positives).toBe(data.positives);
    // Summed block by block rather than row by row: equal up to rounding (relative 1e-12 is
    // thousands of ulps for a sum of 5e4 terms of size <= 1).
    expect(Math.abs(sample.expectedNegatives / solutionOf(design).expectedNegatives - 1)).toBeLessThan(1e-12);
  });

  it('starts and terminates its own pool when none is given; the default block size', async () => {
    const design = 'optL';
    const reference = blockScoreAndSampleLogistic(x, y, beta, design, solutionOf(design), { seed: 5 });
    const sample = await parallelScoreAndSampleLogistic(x, y, beta, design, solutionOf(design), {
      seed: 5,
      workers: 2,
    });
    expectSameSample(sample, reference);
  });

  it('depends on the seed and the block size, and only on them', async () => {
    const design = 'optL';
    const run = (seed: number | string, blockRows: number, workers: number) =>
      parallelScoreAndSampleLogistic(x, y, beta, design, solutionOf(design), {
        seed,
        blockRows,
        pool: poolOf(workers),
      });
    const first = await run(7, 2048, 2);
    expectSameSample(await run(7, 2048, 2), first);
    expectSameSample(await run(7, 2048, 3), first);
    expectSameSample(await run('7', 2048, 1), first); // documented: the stream key is `${seed}:block:${b}`
    expect([...(await run(8, 2048, 2)).rows]).not.toEqual([...first.rows]);
    expect([...(await run(7, 4096, 2)).rows]).not.toEqual([...first.rows]);
  });

  it('handles no rows, and more workers than blocks', async () => {
    const empty: DesignMatrix = { ...x, rows: 0, data: new Float64Array(new SharedArrayBuffer(0)) };
    const none = await parallelScoreAndSampleLogistic(
      empty,
      sharedLabels(new Uint8Array(0)),
      beta,
      'optL',
      solutionOf('optL'),
      {
        seed: 1,
      },
    );
    expect(none.rows.length).toBe(0);
    expect(none.expectedNegatives).toBe(0);
    const few = 100;
    const small: DesignMatrix = { ...x, rows: few, data: x.data.subarray(0, few * x.columns) };
    const smallY = y.subarray(0, few);
    const options = { seed: 2, blockRows: 64 };
    expectSameSample(
      await parallelScoreAndSampleLogistic(small, smallY, beta, 'uniform', solutionOf('uniform'), {
        ...options,
        pool: poolOf(3),
      }),
      blockScoreAndSampleLogistic(small, smallY, beta, 'uniform', solutionOf('uniform'), options),
    );
  });
});

describe('errors', () => {
  it('rejects data outside shared memory, naming the helper to use', async () => {
    const call = (xIn: DesignMatrix, yIn: Uint8Array) =>
      parallelScoreAndSampleLogistic(xIn, yIn, beta, 'optL', solutionOf('optL'), { seed: 1 });
    const plainX: DesignMatrix = { ...x, data: Float64Array.from(x.data) };
    await expect(call(plainX, y)).rejects.toSatisfy(
      (error) =>
        isRarefyError(error, 'RAREFY_INVALID_ARGUMENT') &&
        error.input === 'x.data' &&
        error.fix.includes('sharedDesignMatrix'),
    );
    await expect(call(x, Uint8Array.from(y))).rejects.toSatisfy(
      (error) => isRarefyError(error, 'RAREFY_INVALID_ARGUMENT') && error.fix.includes('sharedLabels'),
    );
    await expect(
      parallelScoreAndSampleLogistic(x, y, beta, 'optL', solutionOf('optL'), { seed: 1, blockRows: 0 }),
    ).rejects.toSatisfy((error) => isRarefyError(error, 'RAREFY_INVALID_ARGUMENT'));
    await expect(
      parallelScoreAndSampleLogistic(x, y, beta, 'optL', solutionOf('optL'), { seed: 1.5 }),
    ).rejects.toSatisfy((error) => isRarefyError(error, 'RAREFY_INVALID_ARGUMENT'));
    await expect(
      parallelScoreAndSampleLogistic(x, y, beta, 'optL', solutionOf('optL'), { seed: 1, workers: 0 }),
    ).rejects.toSatisfy((error) => isRarefyError(error, 'RAREFY_INVALID_ARGUMENT'));
  });

  it('rethrows a worker error as the same typed error (the first failing block), and the pool survives', async () => {
    const broken = sharedDesignMatrix({ ...x, data: Float64Array.from(x.data) });
    const badRow = 30_123;
    const laterRow = 45_000;
    broken.data[badRow * x.columns + 2] = Number.NaN;
    broken.data[laterRow * x.columns + 1] = Number.POSITIVE_INFINITY;
    for (const workers of [1, 2, 3]) {
      const error = await parallelScoreAndSampleLogistic(broken, y, beta, 'optL', solutionOf('optL'), {
        seed: 1,
        blockRows: 4096,
        pool: poolOf(workers),
      }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RarefyInputError);
      expect(error).toBeInstanceOf(RarefyError);
      const typed = error as RarefyInputError;
      expect(typed.code).toBe('RAREFY_NON_FINITE');
      expect(typed.details.row).toBe(badRow);
      expect(typed.details.column).toBe(x.names[2]);
      expect(typed.message).toContain(`row ${badRow + 1}`);
      expect(typed.fix).toContain('impute');
    }
    // The same error as the single-thread reference.
    expect(() =>
      blockScoreAndSampleLogistic(broken, y, beta, 'optL', solutionOf('optL'), { seed: 1, blockRows: 4096 }),
    ).toThrow(/row 30124 /);
    // A bad label, too.
    const badLabels = sharedLabels(Uint8Array.from(y));
    badLabels[777] = 2;
    await expect(
      parallelScoreAndSampleLogistic(x, badLabels, beta, 'proportional', solutionOf('proportional'), {
        seed: 1,
        pool: poolOf(2),
      }),
    ).rejects.toSatisfy((error) => isRarefyError(error, 'RAREFY_INVALID_LABEL'));
    // The pools still work.
    const reference = blockScoreAndSampleLogistic(x, y, beta, 'optL', solutionOf('optL'), { seed: 1 });
    for (const workers of [1, 2, 3]) {
      expectSameSample(
        await parallelScoreAndSampleLogistic(x, y, beta, 'optL', solutionOf('optL'), {
          seed: 1,
          pool: poolOf(workers),
        }),
        reference,
      );
    }
  });

  it('a closed pool rejects', async () => {
    const pool = new ScoreWorkerPool({ workers: 1 });
    await pool.close();
    await expect(
      parallelScoreAndSampleLogistic(x, y, beta, 'optL', solutionOf('optL'), { seed: 1, pool }),
    ).rejects.toSatisfy((error) => isRarefyError(error, 'RAREFY_INVALID_ARGUMENT'));
  });
});

describe('sharedDesignMatrix / sharedLabels', () => {
  it('copy into shared memory once, and are no-ops on shared data', () => {
    expect(sharedDesignMatrix(x)).toBe(x);
    expect(sharedLabels(y)).toBe(y);
    const copy = sharedDesignMatrix(data.x);
    expect(Object.prototype.toString.call(copy.data.buffer)).toBe('[object SharedArrayBuffer]');
    expect([...copy.data.subarray(0, 70)]).toEqual([...data.x.data.subarray(0, 70)]);
    expect(copy.names).toEqual(data.x.names);
    expect([...sharedLabels(data.y)]).toEqual([...data.y]);
  });
});

describe('inclusion frequencies (statistical, fixed seeds)', () => {
  it('each row is kept with its probability pi, across block streams', async () => {
    // 20_000 rows in 20 blocks of 1000, 200 seeds. Rows are grouped in 10 bins of pi; in each bin the
    // kept count over seeds is a sum of independent Bernoullis with mean sum(pi) and variance
    // sum(pi (1 - pi)). |observed - expected| <= 5 sd fails with probability < 1e-5 per bin for
    // correct sampling; the seeds are fixed, so the test is deterministic.
    const rows = 20_000;
    const sub: DesignMatrix = { ...x, rows, data: x.data.subarray(0, rows * x.columns) };
    const subY = y.subarray(0, rows);
    const design = 'proportional';
    const scores = logisticDesignScores(sub, beta, design);
    const solution = solveScale(design, scores, subY, { method: 'rate', rate: 0.3 });
    const seeds = 200;
    const keptCount = new Int32Array(rows);
    for (let seed = 0; seed < seeds; seed++) {
      const sample = await parallelScoreAndSampleLogistic(sub, subY, beta, design, solution, {
        seed,
        blockRows: 1000,
        pool: poolOf(2),
      });
      for (const row of sample.rows) keptCount[row] = (keptCount[row] as number) + 1;
    }
    const bins = 10;
    const mean = new Float64Array(bins);
    const variance = new Float64Array(bins);
    const observed = new Float64Array(bins);
    for (let i = 0; i < rows; i++) {
      if (subY[i] === 1) {
        expect(keptCount[i]).toBe(seeds); // positives are always kept
        continue;
      }
      const pi = keepProbability(scores[i] as number, solution);
      const bin = Math.min(bins - 1, Math.floor(pi * bins));
      mean[bin] = (mean[bin] as number) + seeds * pi;
      variance[bin] = (variance[bin] as number) + seeds * pi * (1 - pi);
      observed[bin] = (observed[bin] as number) + (keptCount[i] as number);
    }
    let checked = 0;
    for (let bin = 0; bin < bins; bin++) {
      const sd = Math.sqrt(variance[bin] as number);
      if (!(sd > 0)) continue;
      checked++;
      expect(Math.abs((observed[bin] as number) - (mean[bin] as number))).toBeLessThanOrEqual(5 * sd);
    }
    expect(checked).toBeGreaterThan(1);
  });
});
