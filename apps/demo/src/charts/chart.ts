import { formatValue, linearScale, logScale, type Scale, type ScaleKind, sqrtScale } from './scale.js';
import { element, escapeXml, pathThrough, round2, seriesColor } from './svg.js';

/** A continuous axis: what it shows, in which unit, and how values map to positions. */
export interface Axis {
  /** What the axis measures ("Mean predicted probability"). */
  label: string;
  /** Its unit, shown in parentheses after the label ("0–1", "%", "log odds", "rows"). */
  unit: string;
  /** `linear` (default), `log` (positive values only) or `sqrt` (from 0). */
  scale?: ScaleKind;
  /** Always include these values in the domain (e.g. 0 for counts). */
  include?: readonly number[];
  /** Tick label formatter (default {@link formatValue}). */
  format?: (value: number) => string;
}

/** What every figure has: an id, a title, a one-line caption saying what to look for. */
export interface FigureText {
  /** A slug, unique on the page: element ids derive from it. */
  id: string;
  title: string;
  /** One line: what to look for in the figure. */
  caption: string;
  /** Width and height of the SVG in px (default 640 x 400). */
  width?: number;
  height?: number;
}

/** A point with optional intervals. */
export interface XyPoint {
  x: number;
  y: number;
  /** Vertical interval (drawn as an error bar). */
  yLow?: number;
  yHigh?: number;
  /** Horizontal interval. */
  xLow?: number;
  xHigh?: number;
}

/** One layer of an x-y chart. */
export type XyLayer =
  | {
      kind: 'line';
      name: string;
      points: readonly XyPoint[];
      /** Draw a marker at each point (default true) and its intervals. */
      markers?: boolean;
      dashed?: boolean;
      color?: string;
    }
  | {
      kind: 'points';
      name: string;
      points: readonly XyPoint[];
      /** Marker radius in px (default 3.5). */
      radius?: number;
      opacity?: number;
      color?: string;
    }
  | {
      kind: 'step';
      name: string;
      /** Bin edges (length = values.length + 1). */
      edges: readonly number[];
      values: readonly number[];
      /** Fill under the steps (default true). */
      fill?: boolean;
      color?: string;
    }
  | {
      /** A reference line (the diagonal of a reliability plot, a truth line); not in the data domain. */
      kind: 'reference';
      name: string;
      from: { x: number; y: number };
      to: { x: number; y: number };
      color?: string;
    };

/** An x-y chart: continuous axes, layers of lines, points, histograms and reference lines. */
export interface XyChartSpec extends FigureText {
  x: Axis;
  y: Axis;
  layers: readonly XyLayer[];
  /** Give both axes the same domain (a reliability plot, so the diagonal is the 45° line). */
  squareDomain?: boolean;
}

/** A grouped bar chart over categories. */
export interface BarChartSpec extends FigureText {
  /** The x axis: category names, shown in order, and what they are. */
  categories: readonly string[];
  categoryLabel: string;
  y: Axis;
  /** One bar per category and series; null leaves a gap (no value). */
  series: ReadonlyArray<{ name: string; values: ReadonlyArray<number | null>; color?: string }>;
}

/** One estimate with its interval, in a category (a coefficient of one fit). */
export interface IntervalRow {
  /** The category (the coefficient's name). */
  category: string;
  /** The series (the design or the model the estimate comes from). */
  series: string;
  estimate: number;
  lower?: number;
  upper?: number;
}

/** Horizontal dot-and-whisker chart: categories down the side, one row per series inside each. */
export interface IntervalChartSpec extends FigureText {
  rows: readonly IntervalRow[];
  /** What the categories are ("coefficient"). */
  categoryLabel: string;
  x: Axis;
  /** Vertical reference at this value (e.g. 0), when given. */
  reference?: number;
}

const DEFAULT_WIDTH = 640;
const DEFAULT_HEIGHT = 400;
const MARGIN = { top: 56, right: 20, bottom: 58, left: 76 };
const LEGEND_ROW = 18;
const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif';

function axisTitle(axis: { label: string; unit: string }): string {
  return `${axis.label} (${axis.unit})`;
}

function isFiniteNumber(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Legend items laid out in rows across the top; returns markup and the height used. */
function legend(
  items: ReadonlyArray<{ name: string; color: string; dashed?: boolean }>,
  left: number,
  top: number,
  width: number,
): { markup: string; height: number } {
  if (items.length === 0) return { markup: '', height: 0 };
  let x = left;
  let y = top;
  let markup = '';
  for (const item of items) {
    const itemWidth = 26 + Math.min(item.name.length, 48) * 6.4 + 14;
    if (x + itemWidth > left + width && x > left) {
      x = left;
      y += LEGEND_ROW;
    }
    markup += element('line', {
      x1: x,
      y1: y - 4,
      x2: x + 18,
      y2: y - 4,
      stroke: item.color,
      'stroke-width': 3,
      'stroke-dasharray': item.dashed ? '5 3' : undefined,
    });
    markup += element(
      'text',
      { x: x + 24, y, 'font-size': 12, fill: '#222', class: 'legend-label' },
      escapeXml(truncate(item.name, 48)),
    );
    x += itemWidth;
  }
  return { markup: element('g', { class: 'legend' }, markup), height: y - top + LEGEND_ROW };
}

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

/** The visible title: 15 px, smaller (down to 11 px) when long, cut with an ellipsis beyond that. */
function titleText(title: string, width: number): string {
  const room = width - MARGIN.left - 8;
  // Bold system sans-serif runs at about 0.56 em per character.
  const size = Math.max(11, Math.min(15, room / (0.56 * Math.max(1, title.length))));
  const fits = Math.floor(room / (0.56 * size));
  return element(
    'text',
    {
      x: MARGIN.left,
      y: 22,
      'font-size': round2(size),
      'font-weight': 600,
      fill: '#111',
      class: 'chart-title',
    },
    escapeXml(truncate(title, fits)),
  );
}

/** The outer SVG with its accessible title and description, and the figure around it. */
function figure(spec: FigureText, kind: string, body: string, marks: number): string {
  const width = spec.width ?? DEFAULT_WIDTH;
  const height = spec.height ?? DEFAULT_HEIGHT;
  const titleId = `${spec.id}-title`;
  const descId = `${spec.id}-desc`;
  const svg = element(
    'svg',
    {
      xmlns: 'http://www.w3.org/2000/svg',
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: 'img',
      'aria-labelledby': `${titleId} ${descId}`,
      'font-family': FONT,
      class: 'chart',
    },
    element('title', { id: titleId }, escapeXml(spec.title)) +
      element('desc', { id: descId }, escapeXml(spec.caption)) +
      element('rect', { x: 0, y: 0, width, height, fill: '#fff' }) +
      titleText(spec.title, width) +
      body,
  );
  return element(
    'figure',
    { class: 'rarefy-figure', id: spec.id, 'data-kind': kind, 'data-marks': marks },
    `${svg}${element('figcaption', {}, escapeXml(spec.caption))}`,
  );
}

/** The plot area in px. */
interface PlotArea {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** A labelled axis' pieces: grid lines (drawn first) and the axis itself. */
interface AxisMarkup {
  grid: string;
  axis: string;
}

/** The x axis along the bottom: ticks, grid, line and title. */
function xAxis(scale: Scale, axis: Axis, plot: PlotArea): AxisMarkup {
  const format = axis.format ?? ((value: number) => formatValue(value));
  let grid = '';
  let ticks = '';
  for (const tick of scale.ticks()) {
    const px = scale.position(tick);
    if (px < plot.left - 0.5 || px > plot.right + 0.5) continue;
    grid += element('line', { x1: px, y1: plot.top, x2: px, y2: plot.bottom, stroke: '#eee' });
    ticks +=
      element('line', { x1: px, y1: plot.bottom, x2: px, y2: plot.bottom + 5, stroke: '#444' }) +
      element(
        'text',
        { x: px, y: plot.bottom + 18, 'text-anchor': 'middle', 'font-size': 11, fill: '#333' },
        escapeXml(format(tick)),
      );
  }
  return { grid, axis: bottomAxis(plot, ticks, axisTitle(axis)) };
}

/** The line, tick labels and title of a bottom axis. */
function bottomAxis(plot: PlotArea, ticks: string, title: string): string {
  return element(
    'g',
    { class: 'axis x-axis' },
    element('line', { x1: plot.left, y1: plot.bottom, x2: plot.right, y2: plot.bottom, stroke: '#444' }) +
      ticks +
      element(
        'text',
        {
          x: (plot.left + plot.right) / 2,
          y: plot.bottom + 40,
          'text-anchor': 'middle',
          'font-size': 12.5,
          class: 'axis-label',
        },
        escapeXml(title),
      ),
  );
}

/** The y axis along the left: ticks, grid, line and title. */
function yAxis(scale: Scale, axis: Axis, plot: PlotArea): AxisMarkup {
  const format = axis.format ?? ((value: number) => formatValue(value));
  let grid = '';
  let ticks = '';
  for (const tick of scale.ticks()) {
    const py = scale.position(tick);
    if (py < plot.top - 0.5 || py > plot.bottom + 0.5) continue;
    grid += element('line', { x1: plot.left, y1: py, x2: plot.right, y2: py, stroke: '#eee' });
    ticks +=
      element('line', { x1: plot.left - 5, y1: py, x2: plot.left, y2: py, stroke: '#444' }) +
      element(
        'text',
        { x: plot.left - 8, y: py + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#333' },
        escapeXml(format(tick)),
      );
  }
  return { grid, axis: leftAxis(plot, ticks, axisTitle(axis)) };
}

/** The line, tick labels and rotated title of a left axis. */
function leftAxis(plot: PlotArea, ticks: string, title: string): string {
  const middle = (plot.top + plot.bottom) / 2;
  return element(
    'g',
    { class: 'axis y-axis' },
    element('line', { x1: plot.left, y1: plot.top, x2: plot.left, y2: plot.bottom, stroke: '#444' }) +
      ticks +
      element(
        'text',
        {
          x: 16,
          y: middle,
          'text-anchor': 'middle',
          'font-size': 12.5,
          transform: `rotate(-90 16 ${round2(middle)})`,
          class: 'axis-label',
        },
        escapeXml(title),
      ),
  );
}

/** The values a layer contributes to each axis' domain. */
function layerExtent(layer: XyLayer): { xs: number[]; ys: number[] } {
  const xs: number[] = [];
  const ys: number[] = [];
  if (layer.kind === 'line' || layer.kind === 'points') {
    for (const point of layer.points) {
      if (!isFiniteNumber(point.x) || !isFiniteNumber(point.y)) continue;
      xs.push(point.x);
      ys.push(point.y);
      for (const value of [point.xLow, point.xHigh]) if (isFiniteNumber(value)) xs.push(value);
      for (const value of [point.yLow, point.yHigh]) if (isFiniteNumber(value)) ys.push(value);
    }
  } else if (layer.kind === 'step') {
    for (const edge of layer.edges) if (isFiniteNumber(edge)) xs.push(edge);
    for (const value of layer.values) if (isFiniteNumber(value)) ys.push(value);
  }
  return { xs, ys };
}

function makeScale(axis: Axis, values: number[], range: readonly [number, number]): Scale {
  const all = [...values, ...(axis.include ?? [])];
  if (axis.scale === 'log') {
    const positive = all.filter((value) => value > 0);
    if (positive.length === 0) return logScale(0.1, 1, range);
    return logScale(Math.min(...positive), Math.max(...positive), range);
  }
  if (axis.scale === 'sqrt') return sqrtScale(all.length ? Math.max(...all) : 1, range);
  if (all.length === 0) return linearScale(0, 1, range);
  return linearScale(Math.min(...all), Math.max(...all), range);
}

/** Whether a value can be placed on the scale (log scales take positive values only). */
function placeable(scale: Scale, value: number | null | undefined): value is number {
  return isFiniteNumber(value) && (scale.kind !== 'log' || value > 0);
}

/**
 * An x-y chart as a `<figure>` with an inline SVG (no script, no external resource): lines with
 * markers and error bars, scatter points, step histograms and reference lines, axes labelled with
 * their units, a legend, the title and a one-line caption. Non-finite values are skipped.
 *
 * @param spec - title, caption, axes and layers
 * @returns the figure's markup
 * @example
 * ```ts
 * const html = xyChart({ id: 'loss', title: 'Training loss', caption: 'It should fall and level off.',
 *   x: { label: 'Epoch', unit: 'count' }, y: { label: 'Loss', unit: 'nats per example' },
 *   layers: [{ kind: 'line', name: 'train', points: [{ x: 1, y: 0.9 }, { x: 2, y: 0.7 }] }] });
 * ```
 */
export function xyChart(spec: XyChartSpec): string {
  const width = spec.width ?? DEFAULT_WIDTH;
  const height = spec.height ?? DEFAULT_HEIGHT;
  const legendItems = spec.layers.map((layer, k) => ({
    name: layer.name,
    color: layer.color ?? (layer.kind === 'reference' ? '#777' : seriesColor(k)),
    dashed: layer.kind === 'reference' || (layer.kind === 'line' && layer.dashed === true),
  }));
  const key = legend(legendItems, MARGIN.left, 42, width - MARGIN.left - MARGIN.right);
  const plot = {
    left: MARGIN.left,
    top: MARGIN.top + key.height,
    right: width - MARGIN.right,
    bottom: height - MARGIN.bottom,
  };
  const xs: number[] = [];
  const ys: number[] = [];
  for (const layer of spec.layers) {
    const extent = layerExtent(layer);
    xs.push(...extent.xs);
    ys.push(...extent.ys);
  }
  let xScale: Scale;
  let yScale: Scale;
  if (spec.squareDomain) {
    const both = [...xs, ...ys];
    xScale = makeScale(spec.x, both, [plot.left, plot.right]);
    yScale = makeScale(spec.y, both, [plot.bottom, plot.top]);
  } else {
    xScale = makeScale(spec.x, xs, [plot.left, plot.right]);
    yScale = makeScale(spec.y, ys, [plot.bottom, plot.top]);
  }
  let marks = 0;
  let body = '';
  spec.layers.forEach((layer, k) => {
    const color = legendItems[k]?.color as string;
    const series = layer.name;
    if (layer.kind === 'reference') {
      const from = clipToDomain(layer.from, xScale, yScale);
      const to = clipToDomain(layer.to, xScale, yScale);
      body += element('path', {
        d: pathThrough([
          [xScale.position(from.x), yScale.position(from.y)],
          [xScale.position(to.x), yScale.position(to.y)],
        ]),
        stroke: color,
        'stroke-width': 1.5,
        'stroke-dasharray': '5 3',
        fill: 'none',
        class: 'reference',
        'data-series': series,
      });
      return;
    }
    if (layer.kind === 'step') {
      const points: Array<[number, number]> = [];
      const base = yScale.kind === 'log' ? yScale.domain[0] : Math.max(0, yScale.domain[0]);
      for (let b = 0; b < layer.values.length; b++) {
        const low = layer.edges[b];
        const high = layer.edges[b + 1];
        const value = layer.values[b];
        if (!placeable(xScale, low) || !placeable(xScale, high) || !isFiniteNumber(value)) continue;
        const py = yScale.position(placeable(yScale, value) ? value : base);
        if (points.length === 0) points.push([xScale.position(low), yScale.position(base)]);
        points.push([xScale.position(low), py], [xScale.position(high), py]);
        marks++;
      }
      if (points.length > 0) {
        const last = points.at(-1) as [number, number];
        points.push([last[0], yScale.position(base)]);
        body += element('path', {
          d: pathThrough(points),
          stroke: color,
          'stroke-width': 2,
          fill: layer.fill === false ? 'none' : color,
          'fill-opacity': layer.fill === false ? undefined : 0.18,
          class: 'mark step',
          'data-series': series,
        });
      }
      return;
    }
    const valid = layer.points.filter((point) => placeable(xScale, point.x) && placeable(yScale, point.y));
    let group = '';
    if (layer.kind === 'line' && valid.length > 1) {
      group += element('path', {
        d: pathThrough(valid.map((point) => [xScale.position(point.x), yScale.position(point.y)])),
        stroke: color,
        'stroke-width': 2,
        fill: 'none',
        'stroke-dasharray': layer.dashed ? '6 4' : undefined,
        class: 'mark line',
      });
    }
    const drawMarkers = layer.kind === 'points' || layer.markers !== false;
    const radius = layer.kind === 'points' ? (layer.radius ?? 3.5) : 3.5;
    const opacity = layer.kind === 'points' ? layer.opacity : undefined;
    for (const point of valid) {
      const px = xScale.position(point.x);
      const py = yScale.position(point.y);
      if (drawMarkers) {
        if (placeable(yScale, point.yLow) && placeable(yScale, point.yHigh)) {
          group += errorBar(
            [px, yScale.position(point.yLow)],
            [px, yScale.position(point.yHigh)],
            color,
            'vertical',
          );
        }
        if (placeable(xScale, point.xLow) && placeable(xScale, point.xHigh)) {
          group += errorBar(
            [xScale.position(point.xLow), py],
            [xScale.position(point.xHigh), py],
            color,
            'horizontal',
          );
        }
        group += element('circle', {
          cx: px,
          cy: py,
          r: radius,
          fill: color,
          'fill-opacity': opacity,
          class: 'mark point',
        });
      }
      marks++;
    }
    body += element('g', { class: `layer ${layer.kind}`, 'data-series': series }, group);
  });
  const clipId = `${spec.id}-clip`;
  const plotArea =
    element(
      'clipPath',
      { id: clipId },
      element('rect', {
        x: plot.left,
        y: plot.top - 6,
        width: plot.right - plot.left + 6,
        height: plot.bottom - plot.top + 6,
      }),
    ) + element('g', { 'clip-path': `url(#${clipId})`, class: 'plot' }, body);
  const bottom = xAxis(xScale, spec.x, plot);
  const left = yAxis(yScale, spec.y, plot);
  return figure(spec, 'xy', bottom.grid + left.grid + bottom.axis + left.axis + plotArea + key.markup, marks);
}

function clipToDomain(point: { x: number; y: number }, x: Scale, y: Scale): { x: number; y: number } {
  const clamp = (value: number, [low, high]: readonly [number, number]) =>
    Math.min(high, Math.max(low, value));
  return { x: clamp(point.x, x.domain), y: clamp(point.y, y.domain) };
}

function errorBar(
  from: readonly [number, number],
  to: readonly [number, number],
  color: string,
  direction: 'vertical' | 'horizontal',
): string {
  const cap = 3;
  const caps =
    direction === 'vertical'
      ? pathThrough([
          [from[0] - cap, from[1]],
          [from[0] + cap, from[1]],
        ]) +
        pathThrough([
          [to[0] - cap, to[1]],
          [to[0] + cap, to[1]],
        ])
      : pathThrough([
          [from[0], from[1] - cap],
          [from[0], from[1] + cap],
        ]) +
        pathThrough([
          [to[0], to[1] - cap],
          [to[0], to[1] + cap],
        ]);
  return element('path', {
    d: pathThrough([from, to]) + caps,
    stroke: color,
    'stroke-width': 1.3,
    fill: 'none',
    class: 'interval',
  });
}

/**
 * A grouped bar chart: one group per category, one bar per series, a legend and labelled axes.
 * Null values leave a gap.
 *
 * @param spec - title, caption, categories, y axis and series
 * @returns the figure's markup
 * @example
 * ```ts
 * barChart({ id: 'recall', title: 'Recall@K', caption: 'Higher is better.', categories: ['10', '100'],
 *   categoryLabel: 'K', y: { label: 'Recall', unit: '0–1', include: [0] },
 *   series: [{ name: 'logQ', values: [0.1, 0.3] }, { name: 'no logQ', values: [0.08, 0.25] }] });
 * ```
 */
export function barChart(spec: BarChartSpec): string {
  const width = spec.width ?? DEFAULT_WIDTH;
  const height = spec.height ?? DEFAULT_HEIGHT;
  const legendItems = spec.series.map((series, k) => ({
    name: series.name,
    color: series.color ?? seriesColor(k),
  }));
  const key = legend(legendItems, MARGIN.left, 42, width - MARGIN.left - MARGIN.right);
  const plot = {
    left: MARGIN.left,
    top: MARGIN.top + key.height,
    right: width - MARGIN.right,
    bottom: height - MARGIN.bottom,
  };
  const values = spec.series.flatMap((series) => series.values.filter(isFiniteNumber));
  const yScale = makeScale(
    { ...spec.y, include: spec.y.scale === 'log' ? spec.y.include : [0, ...(spec.y.include ?? [])] },
    values,
    [plot.bottom, plot.top],
  );
  const categories = spec.categories.length;
  const band = (plot.right - plot.left) / Math.max(1, categories);
  const groupWidth = band * 0.78;
  const barWidth = groupWidth / Math.max(1, spec.series.length);
  const base = yScale.kind === 'log' ? yScale.domain[0] : 0;
  let bars = '';
  let marks = 0;
  spec.series.forEach((series, s) => {
    let group = '';
    const color = legendItems[s]?.color as string;
    series.values.forEach((value, c) => {
      if (c >= categories || !placeable(yScale, value)) return;
      const x0 = plot.left + c * band + (band - groupWidth) / 2 + s * barWidth;
      const top = yScale.position(value as number);
      const bottom = yScale.position(base);
      group += element(
        'rect',
        {
          x: x0 + 1,
          y: Math.min(top, bottom),
          width: Math.max(1, barWidth - 2),
          height: Math.max(0.5, Math.abs(bottom - top)),
          fill: color,
          class: 'mark bar',
        },
        element(
          'title',
          {},
          escapeXml(`${series.name}, ${spec.categories[c]}: ${formatValue(value as number, 4)}`),
        ),
      );
      marks++;
    });
    bars += element('g', { class: 'layer bars', 'data-series': series.name }, group);
  });
  // Category axis: names under each group.
  let categoryTicks = '';
  spec.categories.forEach((name, c) => {
    const px = plot.left + (c + 0.5) * band;
    categoryTicks += element(
      'text',
      { x: px, y: plot.bottom + 18, 'text-anchor': 'middle', 'font-size': 11, fill: '#333' },
      escapeXml(truncate(name, Math.max(6, Math.floor(band / 6.5)))),
    );
  });
  const left = yAxis(yScale, spec.y, plot);
  const bottom = bottomAxis(plot, categoryTicks, `${spec.categoryLabel} (category)`);
  return figure(
    spec,
    'bar',
    left.grid + bottom + left.axis + element('g', { class: 'plot' }, bars) + key.markup,
    marks,
  );
}

/**
 * A dot-and-whisker chart: categories (coefficients) down the side, one row per series (design)
 * inside each, the estimate as a dot and its interval as a whisker, and an optional vertical
 * reference line.
 *
 * @param spec - title, caption, rows and the x axis
 * @returns the figure's markup
 * @example
 * ```ts
 * intervalChart({ id: 'coef', title: 'Slopes', caption: 'Intervals should cover the truth.',
 *   categoryLabel: 'coefficient', x: { label: 'Estimate', unit: 'log odds' },
 *   rows: [{ category: 'x1', series: 'optA', estimate: -0.49, lower: -0.55, upper: -0.43 }] });
 * ```
 */
export function intervalChart(spec: IntervalChartSpec): string {
  const width = spec.width ?? DEFAULT_WIDTH;
  const seriesNames = [...new Set(spec.rows.map((row) => row.series))];
  const categories = [...new Set(spec.rows.map((row) => row.category))];
  const rowHeight = 12;
  const groupGap = 10;
  const legendItems = seriesNames.map((name, k) => ({ name, color: seriesColor(k) }));
  const key = legend(legendItems, MARGIN.left + 50, 42, width - MARGIN.left - 50 - MARGIN.right);
  const top = MARGIN.top + key.height;
  const plotHeight = categories.length * (seriesNames.length * rowHeight + groupGap);
  const height = spec.height ?? top + plotHeight + MARGIN.bottom;
  const plot = { left: MARGIN.left + 50, top, right: width - MARGIN.right, bottom: top + plotHeight };
  const values: number[] = [];
  for (const row of spec.rows) {
    for (const value of [row.estimate, row.lower, row.upper]) if (isFiniteNumber(value)) values.push(value);
  }
  if (spec.reference !== undefined) values.push(spec.reference);
  const xScale = makeScale(spec.x, values, [plot.left, plot.right]);
  let body = '';
  let marks = 0;
  let labels = '';
  categories.forEach((category, c) => {
    const groupTop = plot.top + c * (seriesNames.length * rowHeight + groupGap) + groupGap / 2;
    const middle = groupTop + (seriesNames.length * rowHeight) / 2;
    labels += element(
      'text',
      { x: plot.left - 8, y: middle + 4, 'text-anchor': 'end', 'font-size': 11.5, fill: '#222' },
      escapeXml(truncate(category, 14)),
    );
    if (c > 0) {
      const line = groupTop - groupGap / 2;
      body += element('line', { x1: plot.left, y1: line, x2: plot.right, y2: line, stroke: '#ddd' });
    }
    seriesNames.forEach((name, s) => {
      const row = spec.rows.find((candidate) => candidate.category === category && candidate.series === name);
      if (row === undefined || !placeable(xScale, row.estimate)) return;
      const py = groupTop + s * rowHeight + rowHeight / 2;
      const color = seriesColor(s);
      let group = '';
      if (placeable(xScale, row.lower) && placeable(xScale, row.upper)) {
        group += errorBar(
          [xScale.position(row.lower), py],
          [xScale.position(row.upper), py],
          color,
          'horizontal',
        );
      }
      group += element(
        'circle',
        { cx: xScale.position(row.estimate), cy: py, r: 3.5, fill: color, class: 'mark point' },
        element(
          'title',
          {},
          escapeXml(
            `${name}, ${category}: ${formatValue(row.estimate, 4)}` +
              (isFiniteNumber(row.lower) && isFiniteNumber(row.upper)
                ? ` [${formatValue(row.lower, 4)}, ${formatValue(row.upper, 4)}]`
                : ''),
          ),
        ),
      );
      body += element('g', { class: 'layer interval-row', 'data-series': name }, group);
      marks++;
    });
  });
  if (spec.reference !== undefined) {
    const px = xScale.position(spec.reference);
    body += element('line', {
      x1: px,
      y1: plot.top,
      x2: px,
      y2: plot.bottom,
      stroke: '#777',
      'stroke-dasharray': '5 3',
      class: 'reference',
    });
  }
  const bottom = xAxis(xScale, spec.x, plot);
  return figure(
    { ...spec, height },
    'interval',
    bottom.grid +
      bottom.axis +
      leftAxis(plot, '', `${spec.categoryLabel} (name)`) +
      element('g', { class: 'category-labels' }, labels) +
      element('g', { class: 'plot' }, body) +
      key.markup,
    marks,
  );
}
