import { fitLogistic, fitRareEvents } from '@rarefy/correction';
import { selectRows, simulateRareEvents } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_EXPERIMENT, runExperiment, sampleSizeFor } from './experiment.js';
import { expectedPositiveRate, generatorOptions, linearPredictorSpread } from './generator.js';
import { ExperimentHandler } from './handler.js';
import { csvData, guessLabelColumn, headerColumns } from './sources.js';

describe('the A.10 generator behind the sliders', () => {
  it('reproduces A.10 (intercept -6, slopes -0.5, about 1.2% positives)', () => {
    // sum over the 6 x 6 AR(1) covariance of 0.5^|j-k| is 14.0625, so the spread is 0.5 * 3.75.
    expect(linearPredictorSpread(0.5)).toBeCloseTo(1.875, 12);
    const rate = expectedPositiveRate(-6, 1.875);
    expect(rate).toBeGreaterThan(0.0115);
    expect(rate).toBeLessThan(0.0125);
    const options = generatorOptions({ rows: 1000, positiveRate: rate, signal: 0.5, seed: 1 });
    // Bisection to 1e-13 in the intercept: it recovers -6 to the integral's own accuracy.
    expect(options.intercept).toBeCloseTo(-6, 8);
    expect(options.slopes).toEqual([-0.5, -0.5, -0.5, -0.5, -0.5, -0.5]);
  });

  it('hits the asked positive rate in simulated data (within 4 binomial standard errors)', () => {
    for (const [positiveRate, signal] of [
      [0.005, 0.3],
      [0.05, 1.2],
    ] as const) {
      const rows = 200_000;
      const data = simulateRareEvents(generatorOptions({ rows, positiveRate, signal, seed: 3 }));
      const se = Math.sqrt((positiveRate * (1 - positiveRate)) / rows);
      expect(Math.abs(data.positives / rows - positiveRate)).toBeLessThan(4 * se);
    }
  });

  it('names the setting that is out of range', () => {
    expect(() => generatorOptions({ rows: 10, positiveRate: 0.01, signal: 0.5, seed: 1 })).toThrow(
      /rows: 10/,
    );
    expect(() => generatorOptions({ rows: 1000, positiveRate: 0.7, signal: 0.5, seed: 1 })).toThrow(
      /positiveRate: 0.7/,
    );
    expect(() => sampleSizeFor(0, 100)).toThrow(/samplingRate: 0 is not in \(0, 1\]/);
  });
});

describe('runExperiment', () => {
  const data = simulateRareEvents(
    generatorOptions({ rows: 30_000, positiveRate: 0.03, signal: 0.5, seed: 7 }),
  );
  const holdout = simulateRareEvents(
    generatorOptions({ rows: 20_000, positiveRate: 0.03, signal: 0.5, seed: 8 }),
  );

  it("gives exactly the library's numbers for the same data and seed", () => {
    const settings = {
      ...DEFAULT_EXPERIMENT,
      design: 'optL' as const,
      samplingRate: 0.05,
      pilotSize: 400,
      seed: 4,
    };
    const result = runExperiment(
      {
        name: 'test',
        x: data.x,
        y: data.y,
        trueCoefficients: data.trueCoefficients,
        holdout: { x: holdout.x, y: holdout.y, name: 'holdout' },
      },
      settings,
    );
    const negatives = data.x.rows - data.positives;
    const fit = fitRareEvents({
      x: data.x,
      y: data.y,
      design: 'optL',
      estimator: 'log-odds',
      pilotSize: 400,
      sampleSize: Math.round(0.05 * negatives),
      seed: 4,
    });
    expect(result.sampleSize).toBe(Math.round(0.05 * negatives));
    expect(result.sample).toEqual({
      positives: fit.sample.positives,
      negatives: fit.sample.negatives,
      expectedNegatives: fit.sample.expectedNegatives,
    });
    fit.names.forEach((name, j) => {
      expect(result.corrected.coefficients[name]).toBe(fit.coefficients[j]);
      expect(result.corrected.lower[name]).toBe(fit.lower[j]);
    });
    const naive = fitLogistic(selectRows(data.x, fit.sample.rows), fit.sample.labels);
    for (const [j, name] of fit.names.entries())
      expect(result.naive.coefficients[name]).toBe(naive.coefficients[j]);
    expect(result.truth).toEqual({
      '(Intercept)': data.trueCoefficients[0],
      x1: -0.5,
      x2: -0.5,
      x3: -0.5,
      x4: -0.5,
      x5: -0.5,
      x6: -0.5,
    });
    // Calibration on the holdout: the naive model overstates, the corrected one does not (holdout of
    // 20,000 rows with ~600 positives: the ratio's sampling noise is about 0.04).
    const [corrected, naiveModel] = result.calibration.models;
    expect(result.calibration.rows).toBe(20_000);
    expect(Math.abs((corrected?.calibrationInTheLarge as number) - 1)).toBeLessThan(0.2);
    expect(naiveModel?.calibrationInTheLarge).toBeGreaterThan(3);
    expect(corrected?.reliability).toHaveLength(15);
    // pi histogram over every negative, kept and dropped.
    expect(result.piDistribution.keptNegatives).toBe(fit.sample.negatives);
    expect(result.piDistribution.keptNegatives + result.piDistribution.droppedNegatives).toBe(negatives);
    expect(result.scatter.totals).toEqual({
      dropped: negatives - fit.sample.negatives,
      keptNegatives: fit.sample.negatives,
      positives: data.positives,
    });
    expect(result.scatter.dropped.length).toBeLessThanOrEqual(2 * 2500);
  });

  it('survives structured cloning (what postMessage does) unchanged', () => {
    const result = runExperiment({ name: 'test', x: data.x, y: data.y }, DEFAULT_EXPERIMENT);
    expect(structuredClone(result)).toEqual(result);
    expect(result.calibration.evaluatedOn).toBe('all 30,000 rows of test (unsampled)');
  });
});

describe('the worker handler', () => {
  it('loads a CSV, runs on it, and reports a malformed row with its line and the fix', () => {
    const handler = new ExperimentHandler();
    const rows = ['clicked,a,b'];
    for (let i = 0; i < 400; i++)
      rows.push(`${i % 8 === 0 ? 1 : 0},${Math.sin(i)},${Math.cos(3 * i) + (i % 8 === 0 ? 1 : 0)}`);
    const good = new TextEncoder().encode(`${rows.join('\n')}\n`);
    const loaded = handler.handle({
      type: 'load-csv',
      id: 1,
      name: 'good.csv',
      label: 'clicked',
      bytes: good.buffer,
    });
    expect(loaded).toEqual({
      type: 'loaded',
      id: 1,
      name: 'good.csv',
      rows: 400,
      positives: 50,
      features: ['a', 'b'],
    });
    const run = handler.handle({
      type: 'run',
      id: 2,
      source: { kind: 'csv' },
      settings: { ...DEFAULT_EXPERIMENT, design: 'uniform', samplingRate: 0.5, pilotSize: 40 },
    });
    expect(run.type).toBe('result');
    if (run.type === 'result') expect(run.result.data.name).toBe('good.csv');

    const bad = new TextEncoder().encode('clicked,a,b\n1,0.5,2\n0,oops,1\n');
    const failed = handler.handle({
      type: 'load-csv',
      id: 3,
      name: 'bad.csv',
      label: 'clicked',
      bytes: bad.buffer,
    });
    expect(failed).toMatchObject({
      type: 'error',
      id: 3,
      error: { code: 'RAREFY_PARSE_ERROR', problem: 'bad.csv, line 3: column "a": "oops" is not a number' },
    });
  });

  it('refuses a CSV run before any CSV is loaded, with a typed error', () => {
    const response = new ExperimentHandler().handle({
      type: 'run',
      id: 9,
      source: { kind: 'csv' },
      settings: DEFAULT_EXPERIMENT,
    });
    expect(response).toMatchObject({
      type: 'error',
      error: { code: 'RAREFY_INVALID_ARGUMENT', fix: 'drop a CSV file onto the page first' },
    });
  });

  it('reads header names and guesses the label column', () => {
    expect(headerColumns('\uFEFFid,"x, 1",Clicked\r\n1,2,3')).toEqual(['id', 'x, 1', 'Clicked']);
    expect(guessLabelColumn(['id', 'x', 'Clicked'])).toBe('Clicked');
    expect(guessLabelColumn(['a', 'b'])).toBe('a');
    expect(() => csvData(new Uint8Array(), { name: 'empty.csv', label: 'y' })).toThrow(
      /empty.csv: the file is empty/,
    );
  });
});
