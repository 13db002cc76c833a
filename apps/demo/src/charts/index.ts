/**
 * @packageDocumentation
 * Hand-written SVG charts for the demo page and the `rarefy report` file: x-y charts (lines with
 * intervals, points, step histograms, reference lines), grouped bars and dot-and-whisker intervals,
 * and the figures both show (reliability curves, pi of kept and dropped negatives, coefficients per
 * design, eMSE against the sampling rate, recall@K, recall by popularity bucket, loss curves).
 * Every chart is a string of markup with no script and no external resource, so it renders offline
 * and in Node; every figure has a title, axis labels with units and a one-line caption.
 */

export type {
  Axis,
  BarChartSpec,
  FigureText,
  IntervalChartSpec,
  IntervalRow,
  XyChartSpec,
  XyLayer,
  XyPoint,
} from './chart.js';
export { barChart, intervalChart, xyChart } from './chart.js';
export type {
  BucketSeries,
  CoefficientSet,
  EmsePoint,
  LossSeries,
  MetricSeries,
  ModelReliability,
  PiDistribution,
  ReliabilityPoint,
} from './figures.js';
export {
  coefficientFigures,
  emseFigure,
  INTERCEPT,
  lossFigure,
  metricK,
  piDistribution,
  piDistributionFigure,
  popularityFigure,
  recallFigure,
  reliabilityFigure,
} from './figures.js';
export type { Scale, ScaleKind } from './scale.js';
export { formatValue, linearScale, logScale, niceTicks, sqrtScale } from './scale.js';
export { element, escapeXml, PALETTE, seriesColor } from './svg.js';
