import { barChart, type IntervalRow, intervalChart, type XyLayer, xyChart } from './chart.js';
import { formatValue } from './scale.js';

/** One bin of a reliability curve (the shape of `calibrationReport(...).reliability`). */
export interface ReliabilityPoint {
  meanPredicted: number;
  observedRate: number;
  count: number;
  /** Wilson 95% interval of the observed rate. */
  lower: number;
  upper: number;
}

/** A model's reliability curve. */
export interface ModelReliability {
  /** The model's name ("optA sample, naive (no correction)"). */
  model: string;
  reliability: readonly ReliabilityPoint[];
}

/**
 * Reliability curves of several models on the same unsampled rows, on square-root axes with the
 * same domain (so the diagonal is straight and small probabilities are spread out), with Wilson 95%
 * intervals of each bin's observed rate.
 *
 * @param options - `id`, the models, and what rows they were evaluated on (for the title)
 * @returns the figure's markup
 * @example
 * ```ts
 * reliabilityFigure({ id: 'reliability', evaluatedOn: '200,000 fresh rows',
 *   models: [{ model: 'corrected', reliability: report.reliability }] });
 * ```
 */
export function reliabilityFigure(options: {
  id: string;
  models: readonly ModelReliability[];
  evaluatedOn: string;
  title?: string;
}): string {
  const layers: XyLayer[] = options.models.map((model) => ({
    kind: 'line',
    name: model.model,
    points: model.reliability.map((bin) => ({
      x: bin.meanPredicted,
      y: bin.observedRate,
      yLow: bin.lower,
      yHigh: bin.upper,
    })),
  }));
  let top = 0;
  for (const model of options.models)
    for (const bin of model.reliability) top = Math.max(top, bin.meanPredicted, bin.upper);
  layers.push({
    kind: 'reference',
    name: 'perfect calibration',
    from: { x: 0, y: 0 },
    to: { x: top > 0 ? top * 2 : 1, y: top > 0 ? top * 2 : 1 },
  });
  return xyChart({
    id: options.id,
    title: options.title ?? `Reliability on ${options.evaluatedOn}`,
    caption:
      'A calibrated model follows the dashed diagonal; a model that overstates probabilities sits below it ' +
      '(points: equal-mass bins, bars: Wilson 95% intervals of the observed rate).',
    x: { label: 'Mean predicted probability', unit: '0–1, square-root scale', scale: 'sqrt' },
    y: { label: 'Observed positive rate', unit: '0–1, square-root scale', scale: 'sqrt' },
    squareDomain: true,
    layers,
  });
}

/** Histogram of pi over the negatives, split into those the sample kept and those it dropped. */
export interface PiDistribution {
  /** The design that produced pi. */
  design: string;
  /** Bin edges on the pi scale (log-spaced), `bins + 1` of them. */
  edges: number[];
  /** Kept negatives per bin. */
  kept: number[];
  /** Dropped negatives per bin. */
  dropped: number[];
  keptNegatives: number;
  droppedNegatives: number;
}

/**
 * Bins pi of every negative on a log scale, separately for the kept and the dropped ones.
 *
 * @param labels - 0/1 per row of the population
 * @param pi - the design's negative-keep probability per row (`fitRareEvents(...).populationPi`)
 * @param keptRows - the kept rows' indices (`fit.sample.rows`)
 * @param options - the design's name and the number of bins (default 30)
 * @returns the histogram
 * @throws RangeError when pi and labels differ in length, or no negative has a pi in (0, 1]
 * @example
 * ```ts
 * const histogram = piDistribution(y, fit.populationPi, fit.sample.rows, { design: 'optA' });
 * ```
 */
export function piDistribution(
  labels: ArrayLike<number>,
  pi: ArrayLike<number>,
  keptRows: ArrayLike<number>,
  options: { design: string; bins?: number },
): PiDistribution {
  if (labels.length !== pi.length) {
    throw new RangeError(`piDistribution: ${pi.length} values of pi for ${labels.length} labels`);
  }
  const bins = options.bins ?? 30;
  const kept = new Uint8Array(labels.length);
  for (let k = 0; k < keptRows.length; k++) kept[keptRows[k] as number] = 1;
  let low = Number.POSITIVE_INFINITY;
  let high = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0) continue;
    const value = pi[i] as number;
    if (!(value > 0 && value <= 1)) continue;
    if (value < low) low = value;
    if (value > high) high = value;
  }
  if (!(high > 0)) throw new RangeError('piDistribution: no negative row has a pi in (0, 1]');
  let lowLog = Math.log10(low);
  let highLog = Math.log10(high);
  if (highLog - lowLog < 1e-9) {
    lowLog -= 0.5;
    highLog += 0.5;
  }
  const width = (highLog - lowLog) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, b) => 10 ** (lowLog + b * width));
  const keptCounts = new Array<number>(bins).fill(0);
  const droppedCounts = new Array<number>(bins).fill(0);
  let keptNegatives = 0;
  let droppedNegatives = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0) continue;
    const value = pi[i] as number;
    if (!(value > 0 && value <= 1)) continue;
    const bin = Math.min(bins - 1, Math.max(0, Math.floor((Math.log10(value) - lowLog) / width)));
    if (kept[i] === 1) {
      keptCounts[bin] = (keptCounts[bin] as number) + 1;
      keptNegatives++;
    } else {
      droppedCounts[bin] = (droppedCounts[bin] as number) + 1;
      droppedNegatives++;
    }
  }
  return {
    design: options.design,
    edges,
    kept: keptCounts,
    dropped: droppedCounts,
    keptNegatives,
    droppedNegatives,
  };
}

/**
 * The distribution of pi over kept and dropped negatives, each as a share of its own group so that
 * the few kept and the many dropped can be compared.
 *
 * @param options - `id`, the histogram and an optional title
 * @returns the figure's markup
 * @example
 * ```ts
 * piDistributionFigure({ id: 'pi', distribution: piDistribution(y, pi, rows, { design: 'optA' }) });
 * ```
 */
export function piDistributionFigure(options: {
  id: string;
  distribution: PiDistribution;
  title?: string;
}): string {
  const { distribution } = options;
  const share = (counts: readonly number[], total: number) =>
    counts.map((count) => (total > 0 ? (100 * count) / total : 0));
  return xyChart({
    id: options.id,
    title:
      options.title ?? `Keep probability pi of the kept and the dropped negatives (${distribution.design})`,
    caption:
      distribution.design === 'uniform'
        ? 'Uniform sampling gives every negative the same pi: kept and dropped negatives look alike.'
        : 'The kept negatives sit at higher pi than the dropped ones: the design keeps the informative negatives, and the correction weighs each by its pi.',
    x: { label: 'Keep probability pi', unit: 'probability, log scale', scale: 'log' },
    y: { label: 'Share of the group', unit: '% of its negatives', include: [0] },
    layers: [
      {
        kind: 'step',
        name: `dropped negatives (${distribution.droppedNegatives.toLocaleString('en-US')})`,
        edges: distribution.edges,
        values: share(distribution.dropped, distribution.droppedNegatives),
        color: '#999999',
      },
      {
        kind: 'step',
        name: `kept negatives (${distribution.keptNegatives.toLocaleString('en-US')})`,
        edges: distribution.edges,
        values: share(distribution.kept, distribution.keptNegatives),
        color: '#0072B2',
      },
    ],
  });
}

/** A set of coefficient estimates (one fit) with optional 95% intervals, keyed by name. */
export interface CoefficientSet {
  /** The fit's name (its design and estimator). */
  name: string;
  coefficients: Readonly<Record<string, number>>;
  lower?: Readonly<Record<string, number>>;
  upper?: Readonly<Record<string, number>>;
}

/** The intercept's name in every Rarefy result. */
export const INTERCEPT = '(Intercept)';

/**
 * Coefficient estimates with 95% intervals per fit (design), as two figures: the slopes, and the
 * intercept on its own axis (it lives on another scale: about -6 against slopes near -0.5 in A.10).
 * The truth, when known, is drawn as its own series without an interval.
 *
 * @param options - an id prefix, the fits, the truth when known, and a title suffix
 * @returns the figures' markup (the intercept figure only when some fit has an intercept)
 * @example
 * ```ts
 * coefficientFigures({ id: 'coef', sets: [{ name: 'optA', coefficients, lower, upper }] });
 * ```
 */
export function coefficientFigures(options: {
  id: string;
  sets: readonly CoefficientSet[];
  truth?: Readonly<Record<string, number>>;
  about?: string;
}): string[] {
  const rows = (want: (name: string) => boolean): IntervalRow[] => {
    const out: IntervalRow[] = [];
    const sets: CoefficientSet[] = [...options.sets];
    if (options.truth) sets.push({ name: 'truth', coefficients: options.truth });
    for (const set of sets) {
      for (const [name, estimate] of Object.entries(set.coefficients)) {
        if (!want(name)) continue;
        const lower = set.lower?.[name];
        const upper = set.upper?.[name];
        out.push({
          category: name,
          series: set.name,
          estimate,
          ...(lower === undefined ? {} : { lower }),
          ...(upper === undefined ? {} : { upper }),
        });
      }
    }
    return out;
  };
  const about = options.about ? ` ${options.about}` : '';
  const figures: string[] = [];
  const slopes = rows((name) => name !== INTERCEPT);
  if (slopes.length > 0) {
    figures.push(
      intervalChart({
        id: `${options.id}-slopes`,
        title: `Slopes with 95% intervals per design${about}`,
        caption: options.truth
          ? 'Every interval should cover the truth about 95% of the time; narrower intervals mean a more efficient design.'
          : 'Narrower intervals mean a more efficient design; the designs should agree within their intervals.',
        categoryLabel: 'Coefficient',
        x: { label: 'Estimate', unit: 'log odds per unit of the feature' },
        rows: slopes,
        reference: 0,
      }),
    );
  }
  const intercept = rows((name) => name === INTERCEPT);
  if (intercept.length > 0) {
    figures.push(
      intervalChart({
        id: `${options.id}-intercept`,
        title: `Intercept with 95% intervals per design${about}`,
        caption:
          'The corrected intercept estimates the population log odds at x = 0; a naive fit on the sample would sit far above it.',
        categoryLabel: 'Coefficient',
        x: { label: 'Estimate', unit: 'log odds' },
        rows: intercept,
      }),
    );
  }
  return figures;
}

/** eMSE of one design and estimator at one sampling rate. */
export interface EmsePoint {
  design: string;
  estimator: string;
  /** Expected share of the negatives kept, in (0, 1]. */
  rate: number;
  /** eMSE against the full-data fit. */
  emse: number;
}

/**
 * eMSE against the sampling rate, one line per design and estimator (log-log), or, when every point
 * has the same rate, one bar per design and estimator.
 *
 * @param options - `id` and the points
 * @returns the figure's markup
 * @example
 * ```ts
 * emseFigure({ id: 'emse', points: [{ design: 'optA', estimator: 'log-odds', rate: 0.01, emse: 0.012 }] });
 * ```
 */
export function emseFigure(options: { id: string; points: readonly EmsePoint[] }): string {
  const rates = new Set(options.points.map((point) => point.rate));
  const keys = [...new Set(options.points.map((point) => `${point.design} / ${point.estimator}`))];
  if (rates.size < 2) {
    const rate = options.points[0]?.rate ?? Number.NaN;
    return barChart({
      id: options.id,
      title: `eMSE against the full-data fit at a sampling rate of ${formatValue(100 * rate)}% of the negatives`,
      caption:
        'Lower is better: the optimal designs (optA, optL) should beat uniform sampling at the same size.',
      categories: keys,
      categoryLabel: 'Design / estimator',
      y: { label: 'eMSE vs full-data fit', unit: 'squared log odds' },
      series: [
        {
          name: 'eMSE',
          values: keys.map(
            (key) =>
              options.points.find((point) => `${point.design} / ${point.estimator}` === key)?.emse ?? null,
          ),
        },
      ],
    });
  }
  return xyChart({
    id: options.id,
    title: 'eMSE against the sampling rate of the negatives',
    caption:
      'Lower is better; eMSE should fall as the rate grows, and the optimal designs sit below uniform.',
    x: { label: 'Negatives kept', unit: '% of all negatives, log scale', scale: 'log' },
    y: { label: 'eMSE vs full-data fit', unit: 'squared log odds, log scale', scale: 'log' },
    layers: keys.map((key) => ({
      kind: 'line',
      name: key,
      points: options.points
        .filter((point) => `${point.design} / ${point.estimator}` === key)
        .map((point) => ({ x: 100 * point.rate, y: point.emse }))
        .sort((a, b) => a.x - b.x),
    })),
  });
}

/** A retrieval model's metrics ("recall@10": 0.12, ...). */
export interface MetricSeries {
  name: string;
  metrics: Readonly<Record<string, number>>;
}

/** The K of a metric key such as `recall@10`, or null. */
export function metricK(key: string, metric = 'recall'): number | null {
  const match = new RegExp(`^${metric}@(\\d+)$`, 'i').exec(key);
  return match ? Number(match[1]) : null;
}

/**
 * Recall@K of several retrieval models (with and without the logQ correction, baselines) as grouped
 * bars over K.
 *
 * @param options - `id` and the models
 * @returns the figure's markup, or null when no model has a recall@K
 * @example
 * ```ts
 * recallFigure({ id: 'recall', series: [{ name: 'logQ', metrics: { 'recall@10': 0.1 } }] });
 * ```
 */
export function recallFigure(options: { id: string; series: readonly MetricSeries[] }): string | null {
  const ks = [
    ...new Set(
      options.series.flatMap((series) =>
        Object.keys(series.metrics)
          .map((key) => metricK(key))
          .filter((k): k is number => k !== null),
      ),
    ),
  ].sort((a, b) => a - b);
  if (ks.length === 0) return null;
  return barChart({
    id: options.id,
    title: 'Recall@K over the full catalogue',
    caption:
      'Higher is better: the logQ-corrected model should beat the uncorrected one and the popularity baseline, most clearly at large K.',
    categories: ks.map((k) => `K = ${k}`),
    categoryLabel: 'Cut-off K',
    y: { label: 'Recall@K', unit: 'share of held-out pairs, 0–1' },
    series: options.series.map((series) => ({
      name: series.name,
      values: ks.map((k) => {
        const entry = Object.entries(series.metrics).find(([key]) => metricK(key) === k);
        return entry ? entry[1] : null;
      }),
    })),
  });
}

/** Per popularity bucket (head, torso, tail), a model's metric values. */
export interface BucketSeries {
  name: string;
  /** Bucket name to metric key to value. */
  buckets: ReadonlyArray<{ bucket: string; metrics: Readonly<Record<string, number>> }>;
}

/**
 * Recall@K by item-popularity bucket, one bar per model in each bucket.
 *
 * @param options - `id`, the models, and the metric to show (default: the largest recall@K present)
 * @returns the figure's markup, or null when no bucket has a recall@K
 * @example
 * ```ts
 * popularityFigure({ id: 'buckets', series: [{ name: 'logQ', buckets: [{ bucket: 'tail', metrics: { 'recall@100': 0.05 } }] }] });
 * ```
 */
export function popularityFigure(options: {
  id: string;
  series: readonly BucketSeries[];
  metric?: string;
}): string | null {
  const keys = new Set<string>();
  for (const series of options.series)
    for (const bucket of series.buckets) for (const key of Object.keys(bucket.metrics)) keys.add(key);
  const recallKeys = [...keys].filter((key) => metricK(key) !== null);
  const metric =
    options.metric ??
    recallKeys.sort((a, b) => (metricK(b) as number) - (metricK(a) as number))[0] ??
    [...keys][0];
  if (metric === undefined) return null;
  const buckets = [
    ...new Set(options.series.flatMap((series) => series.buckets.map((bucket) => bucket.bucket))),
  ];
  return barChart({
    id: options.id,
    title: `${metric} by item-popularity bucket`,
    caption:
      'The correction shows in the tail: the logQ-corrected model should recover more tail items than the uncorrected one.',
    categories: buckets,
    categoryLabel: 'Item-popularity bucket',
    y: { label: metric, unit: 'share of held-out pairs in the bucket, 0–1' },
    series: options.series.map((series) => ({
      name: series.name,
      values: buckets.map(
        (name) => series.buckets.find((bucket) => bucket.bucket === name)?.metrics[metric] ?? null,
      ),
    })),
  });
}

/** A training run's loss per epoch. */
export interface LossSeries {
  name: string;
  points: ReadonlyArray<{ epoch: number; loss: number }>;
}

/**
 * Training loss curves, one line per run.
 *
 * @param options - `id` and the runs
 * @returns the figure's markup
 * @example
 * ```ts
 * lossFigure({ id: 'loss', series: [{ name: 'logQ', points: [{ epoch: 1, loss: 5.1 }, { epoch: 2, loss: 4.7 }] }] });
 * ```
 */
export function lossFigure(options: { id: string; series: readonly LossSeries[] }): string {
  return xyChart({
    id: options.id,
    title: 'Training loss per epoch',
    caption:
      'The loss should fall and level off; a curve that rises again is overfitting or too large a learning rate.',
    x: { label: 'Epoch', unit: 'passes over the training data' },
    y: { label: 'Training loss', unit: 'nats per example' },
    layers: options.series.map((series) => ({
      kind: 'line',
      name: series.name,
      points: series.points.map((point) => ({ x: point.epoch, y: point.loss })),
    })),
  });
}
