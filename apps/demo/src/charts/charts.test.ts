import { describe, expect, it } from 'vitest';
import {
  barChart,
  coefficientFigures,
  emseFigure,
  intervalChart,
  linearScale,
  logScale,
  lossFigure,
  niceTicks,
  piDistribution,
  piDistributionFigure,
  popularityFigure,
  recallFigure,
  reliabilityFigure,
  sqrtScale,
  xyChart,
} from './index.js';

/** The numbers of a `d` path attribute, in pairs. */
function pathPoints(d: string): Array<[number, number]> {
  const numbers = (d.match(/-?\d+(\.\d+)?/g) ?? []).map(Number);
  const points: Array<[number, number]> = [];
  for (let k = 0; k + 1 < numbers.length; k += 2)
    points.push([numbers[k] as number, numbers[k + 1] as number]);
  return points;
}

/** Every figure must carry what a reader needs: title, labelled axes with units, a caption. */
function expectLabelledFigure(html: string, title: string): void {
  expect(html.startsWith('<figure class="rarefy-figure"')).toBe(true);
  expect(html).toContain(`>${title}</text>`);
  expect(html).toContain(`<title id=`);
  const captions = html.match(/<figcaption>([^<]+)<\/figcaption>/g) ?? [];
  expect(captions).toHaveLength(1);
  const axisLabels = [...html.matchAll(/class="axis-label">([^<]+)</g)].map((match) => match[1] as string);
  expect(axisLabels).toHaveLength(2);
  for (const label of axisLabels) expect(label).toMatch(/\(.+\)$/);
  // No script, no external reference: the markup renders offline and anywhere.
  expect(html).not.toMatch(/<script|href=|src=|url\((?!#)/);
}

describe('scales', () => {
  it('niceTicks covers the range with 1-2-5 steps and no binary noise', () => {
    expect(niceTicks(0, 0.93, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-0.63, -0.31, 4)).toEqual([-0.7, -0.6, -0.5, -0.4, -0.3]);
    expect(niceTicks(0.1, 0.3, 2)).toEqual([0.1, 0.2, 0.3]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });

  it('linear, log and sqrt scales map their domain onto the range', () => {
    const x = linearScale(0, 0.93, [100, 600]);
    expect(x.domain).toEqual([0, 1]);
    expect(x.position(0.5)).toBeCloseTo(350, 12);
    const y = logScale(2e-4, 0.3, [300, 0]);
    expect(y.domain).toEqual([1e-4, 1]);
    expect(y.position(1e-2)).toBeCloseTo(150, 9);
    expect(y.ticks()).toEqual([1e-4, 1e-3, 1e-2, 1e-1, 1]);
    const s = sqrtScale(0.9, [0, 100]);
    expect(s.domain).toEqual([0, 1]);
    expect(s.position(0.25)).toBeCloseTo(50, 12);
    expect(() => logScale(0, 1, [0, 1])).toThrow(RangeError);
  });
});

describe('xyChart', () => {
  it('draws one marker per finite point, skips NaN, and escapes text', () => {
    const html = xyChart({
      id: 'test-xy',
      title: 'Loss <per> epoch & more',
      caption: 'It should fall.',
      x: { label: 'Epoch', unit: 'count' },
      y: { label: 'Loss', unit: 'nats' },
      layers: [
        {
          kind: 'line',
          name: 'a',
          points: [
            { x: 1, y: 3 },
            { x: 2, y: Number.NaN },
            { x: 3, y: 1 },
          ],
        },
      ],
    });
    expectLabelledFigure(html, 'Loss &lt;per&gt; epoch &amp; more');
    expect(html).toContain('data-marks="2"');
    expect(html.match(/class="mark point"/g)).toHaveLength(2);
  });

  it('a log axis leaves out values that are not positive', () => {
    const html = xyChart({
      id: 'test-log',
      title: 'eMSE',
      caption: 'Lower is better.',
      x: { label: 'Rate', unit: '%', scale: 'log' },
      y: { label: 'eMSE', unit: 'squared log odds', scale: 'log' },
      layers: [
        {
          kind: 'points',
          name: 'p',
          points: [
            { x: 1, y: 0.1 },
            { x: 0, y: 0.1 },
            { x: 10, y: -1 },
            { x: 5, y: 0.01 },
          ],
        },
      ],
    });
    expect(html).toContain('data-marks="2"');
  });
});

describe('reliabilityFigure', () => {
  it('puts a perfectly calibrated bin on the diagonal and an overconfident one below it', () => {
    const calibrated = [0.01, 0.05, 0.2].map((p) => ({
      meanPredicted: p,
      observedRate: p,
      count: 100,
      lower: p / 2,
      upper: Math.min(1, p * 2),
    }));
    const overconfident = [0.1, 0.5, 0.8].map((p) => ({
      meanPredicted: p,
      observedRate: p / 10,
      count: 100,
      lower: p / 20,
      upper: p / 5,
    }));
    const html = reliabilityFigure({
      id: 'test-reliability',
      evaluatedOn: 'fresh rows',
      models: [
        { model: 'corrected', reliability: calibrated },
        { model: 'naive', reliability: overconfident },
      ],
    });
    expectLabelledFigure(html, 'Reliability on fresh rows');
    const diagonal = /<path d="([^"]+)"[^>]*class="reference"/.exec(html)?.[1] as string;
    const [[x0, y0], [x1, y1]] = pathPoints(diagonal) as [[number, number], [number, number]];
    const onDiagonal = (x: number, y: number) => y0 + ((x - x0) / (x1 - x0)) * (y1 - y0) - y;
    const layers = html.split('class="layer line"').slice(1);
    expect(layers).toHaveLength(2);
    const centres = (layer: string) =>
      [...layer.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((match) => [
        Number(match[1]),
        Number(match[2]),
      ]);
    // Same square-root transform on both axes: calibrated points sit on the drawn diagonal (to the 0.01 px rounding).
    for (const [x, y] of centres(layers[0] as string))
      expect(Math.abs(onDiagonal(x as number, y as number))).toBeLessThan(0.05);
    // Below the diagonal on the page means a larger SVG y than the diagonal's at that x.
    for (const [x, y] of centres(layers[1] as string))
      expect(onDiagonal(x as number, y as number)).toBeLessThan(-5);
    // Wilson intervals are drawn as error bars, one per bin.
    expect(html.match(/class="interval"/g)).toHaveLength(6);
  });
});

describe('piDistribution', () => {
  const labels = Uint8Array.from({ length: 1000 }, (_, i) => (i % 100 === 0 ? 1 : 0));
  const pi = Float64Array.from({ length: 1000 }, (_, i) => Math.min(1, 1e-4 * 10 ** (i / 200)));
  const kept = Array.from({ length: 1000 }, (_, i) => i).filter(
    (i) => labels[i] === 1 || i % 3 === 0 || i > 900,
  );

  it('counts every negative once, as kept or dropped, over log-spaced edges', () => {
    const histogram = piDistribution(labels, pi, kept, { design: 'optA', bins: 20 });
    const negatives = labels.length - 10;
    const keptNegatives = kept.filter((i) => labels[i] === 0).length;
    expect(histogram.keptNegatives).toBe(keptNegatives);
    expect(histogram.droppedNegatives).toBe(negatives - keptNegatives);
    expect(histogram.kept.reduce((a, b) => a + b, 0)).toBe(keptNegatives);
    expect(histogram.dropped.reduce((a, b) => a + b, 0)).toBe(negatives - keptNegatives);
    expect(histogram.edges).toHaveLength(21);
    expect(histogram.edges[0]).toBeCloseTo(1e-4 * 10 ** (1 / 200), 12);
    expect(histogram.edges[20]).toBeCloseTo(1, 12);
    for (let b = 1; b < histogram.edges.length; b++)
      expect(histogram.edges[b]).toBeGreaterThan(histogram.edges[b - 1] as number);
    // pi = 1 (the cap) falls in the last bin, not past it.
    expect(histogram.kept[19]).toBeGreaterThan(0);
    const html = piDistributionFigure({ id: 'test-pi', distribution: histogram });
    expectLabelledFigure(html, 'Keep probability pi of the kept and the dropped negatives (optA)');
    expect(html.match(/class="mark step"/g)).toHaveLength(2);
  });

  it('handles a uniform design (every pi equal) and rejects mismatched input', () => {
    const constant = new Float64Array(1000).fill(0.02);
    const histogram = piDistribution(labels, constant, kept, { design: 'uniform', bins: 10 });
    expect(histogram.kept.reduce((a, b) => a + b, 0) + histogram.dropped.reduce((a, b) => a + b, 0)).toBe(
      990,
    );
    expect(() => piDistribution(labels, new Float64Array(3), kept, { design: 'optA' })).toThrow(RangeError);
  });
});

describe('figures of the report', () => {
  it('coefficientFigures: slopes and intercept apart, truth as a series, every interval drawn', () => {
    const [slopes, intercept] = coefficientFigures({
      id: 'test-coef',
      sets: [
        {
          name: 'optA',
          coefficients: { '(Intercept)': -6, x1: -0.5 },
          lower: { '(Intercept)': -6.2, x1: -0.6 },
          upper: { '(Intercept)': -5.8, x1: -0.4 },
        },
        { name: 'uniform', coefficients: { '(Intercept)': -6.1, x1: -0.45 } },
      ],
      truth: { '(Intercept)': -6, x1: -0.5 },
    });
    expectLabelledFigure(slopes as string, 'Slopes with 95% intervals per design');
    expectLabelledFigure(intercept as string, 'Intercept with 95% intervals per design');
    expect(slopes).toContain('data-marks="3"');
    expect((slopes as string).match(/class="interval"/g)).toHaveLength(1);
    expect(slopes).toContain('data-series="truth"');
  });

  it('emseFigure: bars at one sampling rate, log-log lines at several', () => {
    const one = emseFigure({
      id: 'test-emse-1',
      points: [
        { design: 'optA', estimator: 'log-odds', rate: 0.01, emse: 0.01 },
        { design: 'uniform', estimator: 'log-odds', rate: 0.01, emse: 0.03 },
      ],
    });
    expect(one).toContain('data-kind="bar"');
    expect(one.match(/class="mark bar"/g)).toHaveLength(2);
    const many = emseFigure({
      id: 'test-emse-2',
      points: [0.01, 0.05, 0.2].flatMap((rate) => [
        { design: 'optA', estimator: 'log-odds', rate, emse: 0.001 / rate },
        { design: 'uniform', estimator: 'log-odds', rate, emse: 0.003 / rate },
      ]),
    });
    expectLabelledFigure(many, 'eMSE against the sampling rate of the negatives');
    expect(many.match(/class="mark line"/g)).toHaveLength(2);
  });

  it('recall, popularity and loss figures show what is present and nothing else', () => {
    const recall = recallFigure({
      id: 'test-recall',
      series: [
        { name: 'logQ', metrics: { 'recall@10': 0.1, 'recall@100': 0.3, 'ndcg@10': 0.05 } },
        { name: 'popularity', metrics: { 'recall@100': 0.2 } },
      ],
    });
    expectLabelledFigure(recall as string, 'Recall@K over the full catalogue');
    expect((recall as string).match(/class="mark bar"/g)).toHaveLength(3);
    expect(recallFigure({ id: 'x', series: [{ name: 'a', metrics: { 'ndcg@10': 1 } }] })).toBeNull();
    const buckets = popularityFigure({
      id: 'test-buckets',
      series: [
        {
          name: 'logQ',
          buckets: [
            { bucket: 'head', metrics: { 'recall@10': 0.2, 'recall@100': 0.5 } },
            { bucket: 'tail', metrics: { 'recall@10': 0.01, 'recall@100': 0.1 } },
          ],
        },
      ],
    });
    expect(buckets).toContain('recall@100 by item-popularity bucket');
    const loss = lossFigure({
      id: 'test-loss',
      series: [
        {
          name: 'run',
          points: [
            { epoch: 1, loss: 2 },
            { epoch: 2, loss: 1.5 },
          ],
        },
      ],
    });
    expectLabelledFigure(loss, 'Training loss per epoch');
  });

  it('barChart leaves a gap for null and intervalChart one row per estimate', () => {
    const bars = barChart({
      id: 'test-bars',
      title: 'Bars',
      caption: 'Gaps are missing values.',
      categories: ['a', 'b'],
      categoryLabel: 'Category',
      y: { label: 'Value', unit: 'count' },
      series: [{ name: 's', values: [1, null] }],
    });
    expect(bars).toContain('data-marks="1"');
    const rows = intervalChart({
      id: 'test-rows',
      title: 'Rows',
      caption: 'One row each.',
      categoryLabel: 'Term',
      x: { label: 'Estimate', unit: 'log odds' },
      rows: [
        { category: 'x1', series: 'a', estimate: 1, lower: 0, upper: 2 },
        { category: 'x2', series: 'a', estimate: Number.NaN },
      ],
    });
    expect(rows).toContain('data-marks="1"');
  });
});
