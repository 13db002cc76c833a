import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { designMatrix } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import {
  fitReference,
  quantileType7,
  type ReferenceCriterion,
  type ReferenceLikelihood,
} from './reference.js';

const fixtures = new URL('./__fixtures__/ssp-relogit/', import.meta.url);

interface RunIndex {
  index_plt: number[];
  index: number[];
}
interface RunOutput {
  n_plt: number;
  n_ssp: number;
  N: number;
  N1: number;
  alpha: number;
  b: number;
  coef: Record<string, number>;
  se: Record<string, number>;
  coef_plt: Record<string, number> | null;
  coef_ssp: Record<string, number> | null;
  se_ssp: Record<string, number> | null;
}

function loadData(): { features: Float64Array; names: string[]; y: Uint8Array } {
  const text = gunzipSync(readFileSync(new URL('data.csv.gz', fixtures))).toString('utf8');
  const lines = text.split('\n').filter((line) => line.length > 0);
  const header = (lines[0] as string).split(',').map((name) => name.replaceAll('"', ''));
  const names = header.slice(1);
  const rows = lines.length - 1;
  const features = new Float64Array(rows * names.length);
  const y = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    const cells = (lines[i + 1] as string).split(',');
    y[i] = Number(cells[0]);
    for (let j = 0; j < names.length; j++) features[i * names.length + j] = Number(cells[j + 1]);
  }
  return { features, names, y };
}

function readJson<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, fixtures), 'utf8')) as T;
}

function toVector(record: Record<string, number>, names: readonly string[]): Float64Array {
  return Float64Array.from(names, (name) => record[name === '(Intercept)' ? 'Intercept' : name] as number);
}

function maxRelativeError(actual: Float64Array, expected: Float64Array): number {
  let worst = 0;
  for (let j = 0; j < expected.length; j++) {
    const e = expected[j] as number;
    worst = Math.max(worst, Math.abs((actual[j] as number) - e) / Math.abs(e));
  }
  return worst;
}

const runs: Array<[ReferenceCriterion, ReferenceLikelihood]> = [
  ['optA', 'logOddsCorrection'],
  ['optA', 'weighted'],
  ['optL', 'logOddsCorrection'],
  ['optL', 'weighted'],
  ['LCC', 'logOddsCorrection'],
  ['LCC', 'weighted'],
  ['uniform', 'logOddsCorrection'],
];

describe('fitReference reproduces R ssp.relogit (subsampling 0.1)', () => {
  const data = loadData();
  const x = designMatrix(data.features, data.names);

  it('reads the fixture data as described (N = 20000, 247 positives)', () => {
    expect(x.rows).toBe(20_000);
    expect(x.columns).toBe(7);
    expect(data.y.reduce((sum, label) => sum + label, 0)).toBe(247);
  });

  // 1e-6 relative: R stops IRLS at |delta dev| / (|dev| + 0.1) < 1e-8, which leaves its numbers
  // about 1e-7 from the exact optimum (README of the fixtures); same rows, same formulas otherwise.
  const tolerance = 1e-6;
  it.each(runs)(
    '%s / %s: coef, se, coef_plt, coef_ssp, se_ssp within 1e-6 relative',
    (criterion, likelihood) => {
      const file = criterion === 'uniform' ? 'uniform' : `${criterion}_${likelihood}`;
      const index = readJson<RunIndex>(`idx_${file}.json`);
      const output = readJson<RunOutput>(`out_${file}.json`);
      const result = fitReference({
        x,
        y: data.y,
        criterion,
        likelihood,
        pilotRows: Int32Array.from(index.index_plt, (row) => row - 1),
        sampleRows: Int32Array.from(index.index, (row) => row - 1),
        sampleSize: output.n_ssp,
        alpha: output.alpha,
        b: output.b,
      });
      const errors: Record<string, number> = {
        coef: maxRelativeError(result.coefficients, toVector(output.coef, x.names)),
        se: maxRelativeError(result.standardErrors, toVector(output.se, x.names)),
      };
      if (output.coef_plt === null) {
        expect(result.pilotCoefficients).toBeNull();
      } else {
        errors.coef_plt = maxRelativeError(
          result.pilotCoefficients as Float64Array,
          toVector(output.coef_plt, x.names),
        );
      }
      if (output.coef_ssp === null) {
        expect(result.subsampleCoefficients).toBeNull();
      } else {
        errors.coef_ssp = maxRelativeError(
          result.subsampleCoefficients as Float64Array,
          toVector(output.coef_ssp, x.names),
        );
      }
      if (output.se_ssp === null) {
        expect(result.subsampleStandardErrors).toBeNull();
      } else {
        errors.se_ssp = maxRelativeError(
          result.subsampleStandardErrors as Float64Array,
          toVector(output.se_ssp, x.names),
        );
      }
      for (const [name, error] of Object.entries(errors)) {
        if (process.env.RAREFY_PRINT_REFERENCE_ERRORS) console.log(file, name, error.toExponential(2));
        expect(error, `${file} ${name}`).toBeLessThan(tolerance);
      }
    },
  );
});

describe('quantileType7', () => {
  it("matches R's quantile(type = 7)", () => {
    // quantile(c(1, 2, 4, 8), 0.5) = 3; 0.9 -> h = 2.7 -> 4 + 0.7 * 4 = 6.8
    expect(quantileType7(Float64Array.from([8, 1, 4, 2]), 0.5)).toBeCloseTo(3, 14);
    expect(quantileType7(Float64Array.from([8, 1, 4, 2]), 0.9)).toBeCloseTo(6.8, 14);
    expect(quantileType7(Float64Array.from([8, 1, 4, 2]), 1)).toBe(8);
    expect(quantileType7(Float64Array.from([8, 1, 4, 2]), 0)).toBe(1);
  });
});
