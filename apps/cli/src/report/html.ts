import {
  type BucketSeries,
  barChart,
  type CoefficientSet,
  coefficientFigures,
  type EmsePoint,
  emseFigure,
  escapeXml,
  formatValue,
  INTERCEPT,
  type LossSeries,
  lossFigure,
  type MetricSeries,
  piDistributionFigure,
  popularityFigure,
  recallFigure,
  reliabilityFigure,
} from '@rarefy/demo/charts';
import type {
  CalibrationBlock,
  EvalRetrievalInput,
  FitInput,
  QuickstartInput,
  ReportInput,
  SampleInput,
} from './inputs.js';

/** What was drawn, for the command's JSON output. */
export interface ReportFigure {
  id: string;
  title: string;
  section: string;
}

/** The rendered report. */
export interface RenderedReport {
  html: string;
  figures: ReportFigure[];
}

/** Facts printed in the report's header. */
export interface ReportMeta {
  title: string;
  version: string;
  generatedAt: string;
}

/** z for 95% Wald intervals (the normal quantile at 0.975). */
const Z_95 = 1.959963984540054;

const STYLE = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1b1b1b;
  background: #f6f7f9; margin: 0; padding: 1.5rem 2rem 3rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin: 0 0 0.3rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 0.6rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 0.4rem; }
.meta { color: #555; font-size: 0.9rem; }
.figures { display: flex; flex-wrap: wrap; gap: 1rem; }
figure.rarefy-figure { margin: 0; background: #fff; border: 1px solid #e3e3e3; border-radius: 8px; padding: 0.5rem; max-width: 660px; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 0.85rem; color: #444; margin: 0.3rem 0.2rem 0; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; background: #fff; font-size: 0.88rem; }
caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
th, td { border-bottom: 1px solid #e5e5e5; padding: 0.3rem 0.7rem; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #555; font-size: 0.9rem; max-width: 60rem; }
code { font-size: 0.9em; }
`;

function cell(value: number | null | undefined, digits = 4): string {
  return `<td class="number">${value === null || value === undefined ? '–' : escapeXml(formatValue(value, digits))}</td>`;
}

function table(caption: string, header: readonly string[], rows: readonly string[][]): string {
  return `<table><caption>${escapeXml(caption)}</caption><thead><tr>${header
    .map((name) => `<th>${escapeXml(name)}</th>`)
    .join('')}</tr></thead><tbody>${rows.map((row) => `<tr>${row.join('')}</tr>`).join('')}</tbody></table>`;
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);
}

/** Collects figures (for the JSON summary) and markup, section by section. */
class ReportBuilder {
  readonly figures: ReportFigure[] = [];
  private readonly sections: string[] = [];
  private readonly used = new Set<string>();

  /** A unique figure id built from parts. */
  id(...parts: string[]): string {
    const base = `fig-${parts.map(slug).filter(Boolean).join('-')}`;
    let id = base;
    for (let k = 2; this.used.has(id); k++) id = `${base}-${k}`;
    this.used.add(id);
    return id;
  }

  section(
    title: string,
    intro: string,
    blocks: Array<{ figures: string[]; after?: string; heading?: string }>,
  ): void {
    const body = blocks
      .filter((block) => block.figures.length > 0 || block.after)
      .map((block) => {
        for (const figure of block.figures) {
          const id = /<figure[^>]* id="([^"]+)"/.exec(figure)?.[1] ?? '';
          const figureTitle = /<title id="[^"]+">([^<]*)<\/title>/.exec(figure)?.[1] ?? '';
          this.figures.push({ id, title: unescapeXml(figureTitle), section: title });
        }
        return `${block.heading ? `<h3>${escapeXml(block.heading)}</h3>` : ''}<div class="figures">${block.figures.join('')}</div>${block.after ?? ''}`;
      })
      .join('');
    if (body.length === 0) return;
    this.sections.push(
      `<section id="${slug(title)}"><h2>${escapeXml(title)}</h2><p class="note">${escapeXml(intro)}</p>${body}</section>`,
    );
  }

  markup(): string {
    return this.sections.join('\n');
  }
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

function calibrationTable(block: CalibrationBlock): string {
  return table(
    `Calibration on ${block.evaluatedOn} (observed positive rate ${formatValue(100 * block.observedRate, 3)}%)`,
    ['model', 'mean predicted / observed', 'log loss', 'Brier', 'ROC AUC', 'calibration slope', 'ECE'],
    block.models.map((model) => [
      `<th scope="row">${escapeXml(model.model)}</th>`,
      cell(model.calibrationInTheLarge),
      cell(model.logLoss),
      cell(model.brier),
      cell(model.rocAuc),
      cell(model.calibrationSlope),
      cell(model.expectedCalibrationError),
    ]),
  );
}

function calibrationSection(builder: ReportBuilder, inputs: readonly ReportInput[]): void {
  const blocks: Array<{ figures: string[]; after?: string; heading?: string }> = [];
  for (const input of inputs) {
    const block = input.kind === 'quickstart' || input.kind === 'fit' ? input.calibration : null;
    if (block === null) continue;
    const curves = block.models.filter(
      (model) => model.reliability !== undefined && model.reliability.length > 0,
    );
    const figures =
      curves.length === 0
        ? []
        : [
            reliabilityFigure({
              id: builder.id('reliability', input.label),
              evaluatedOn: block.evaluatedOn,
              title: `Reliability on unsampled data: ${input.label}`,
              models: curves.map((model) => ({ model: model.model, reliability: model.reliability ?? [] })),
            }),
          ];
    const missing =
      curves.length === 0
        ? '<p class="note">This result has no reliability bins: it was written by an older rarefy; run the command again to draw the curves.</p>'
        : '';
    blocks.push({ heading: input.label, figures, after: calibrationTable(block) + missing });
  }
  builder.section(
    'Calibration on unsampled data',
    'A model fitted on a negative-sampled data set without correction overstates every probability; the log-odds correction puts its predictions back on the diagonal. Everything here is measured on rows the sampling never touched.',
    blocks,
  );
}

function piSection(builder: ReportBuilder, inputs: readonly ReportInput[]): void {
  const figures: string[] = [];
  for (const input of inputs) {
    const distribution = input.kind === 'quickstart' || input.kind === 'fit' ? input.piDistribution : null;
    if (distribution === null) continue;
    figures.push(
      piDistributionFigure({
        id: builder.id('pi', input.label),
        distribution,
        title: `pi of the kept and the dropped negatives (${distribution.design}): ${input.label}`,
      }),
    );
  }
  builder.section(
    'Which negatives the design keeps',
    'pi is the probability that the design keeps a negative; the correction adds -log pi to each kept row’s log odds (or weights it by 1/pi).',
    [{ figures }],
  );
}

function fullFitEstimates(input: QuickstartInput): CoefficientSet {
  const lower: Record<string, number> = {};
  const upper: Record<string, number> = {};
  for (const [name, estimate] of Object.entries(input.full.coefficients)) {
    const se = input.full.standardErrors[name];
    if (se === undefined) continue;
    lower[name] = estimate - Z_95 * se;
    upper[name] = estimate + Z_95 * se;
  }
  return { name: 'full-data MLE', coefficients: input.full.coefficients, lower, upper };
}

function coefficientTable(caption: string, sets: readonly CoefficientSet[]): string {
  const names = [...new Set(sets.flatMap((set) => Object.keys(set.coefficients)))];
  return table(
    caption,
    ['fit', ...names],
    sets.map((set) => [
      `<th scope="row">${escapeXml(set.name)}</th>`,
      ...names.map((name) => {
        const estimate = set.coefficients[name];
        const lower = set.lower?.[name];
        const upper = set.upper?.[name];
        if (estimate === undefined) return '<td class="number">–</td>';
        const interval =
          lower !== undefined && upper !== undefined
            ? ` [${formatValue(lower, 3)}, ${formatValue(upper, 3)}]`
            : '';
        return `<td class="number">${escapeXml(formatValue(estimate, 4) + interval)}</td>`;
      }),
    ]),
  );
}

function coefficientSection(builder: ReportBuilder, inputs: readonly ReportInput[]): void {
  const blocks: Array<{ figures: string[]; after?: string; heading?: string }> = [];
  for (const input of inputs) {
    if (input.kind !== 'quickstart' || input.designFits.length === 0) continue;
    const sets: CoefficientSet[] = [
      fullFitEstimates(input),
      ...input.designFits.map((fit) => ({ name: `${fit.design} (${fit.estimator})`, ...fit })),
    ];
    blocks.push({
      heading: `${input.label}: one fit per design, seed as in the result`,
      figures: coefficientFigures({
        id: builder.id('coefficients', input.label),
        sets,
        truth: input.truth,
        about: `(${input.label})`,
      }),
      after: coefficientTable('Estimates and 95% intervals (log odds)', [
        ...sets,
        { name: 'truth', coefficients: input.truth },
      ]),
    });
  }
  const fits = inputs.filter((input): input is FitInput & ReportInput => input.kind === 'fit');
  if (fits.length > 0) {
    const sets: CoefficientSet[] = fits.map((fit) => ({
      name: `${fit.label}: ${fit.design}, ${fit.estimator}`,
      coefficients: fit.coefficients,
      ...(fit.lower ? { lower: fit.lower } : {}),
      ...(fit.upper ? { upper: fit.upper } : {}),
    }));
    blocks.push({
      heading: 'rarefy fit results',
      figures: coefficientFigures({ id: builder.id('coefficients', 'fits'), sets, about: '(fit results)' }),
      after: coefficientTable('Estimates and 95% intervals (log odds)', sets),
    });
  }
  builder.section(
    'Coefficient estimates per design',
    `Each design's corrected estimate with its 95% sandwich interval. The ${INTERCEPT} is drawn apart: it lives on another scale.`,
    blocks,
  );
}

function emseSection(builder: ReportBuilder, inputs: readonly ReportInput[]): void {
  const points: EmsePoint[] = [];
  let rows: string[][] = [];
  for (const input of inputs) {
    if (input.kind !== 'quickstart') continue;
    const negatives = input.rows - input.positives;
    // Every design is compared at the same expected size (LCC's own expectation differs a little,
    // since it thins both classes): the rate of a result is the one asked for.
    for (const row of input.designs) {
      points.push({
        design: row.design,
        estimator: row.estimator,
        rate: input.sampleSize / negatives,
        emse: row.mseVsFull,
      });
    }
    rows = rows.concat(
      input.designs.map((row) => [
        `<th scope="row">${escapeXml(`${row.design} / ${row.estimator}`)}</th>`,
        `<td>${escapeXml(input.label)}</td>`,
        cell((100 * input.sampleSize) / negatives, 3),
        cell(row.mseVsFull),
        cell(row.mseVsTruth),
      ]),
    );
  }
  if (points.length === 0) return;
  builder.section(
    'Efficiency: eMSE against the sampling rate',
    'eMSE is the mean over seeded replications of the squared distance from each estimate to the full-data fit, at the expected sample size asked for. Pass several quickstart results (different --sample-size) to draw it against the sampling rate.',
    [
      {
        figures: [emseFigure({ id: builder.id('emse'), points })],
        after: table(
          'eMSE per design and estimator',
          [
            'design / estimator',
            'result',
            'expected negatives kept (% of all)',
            'eMSE vs full',
            'eMSE vs truth',
          ],
          rows,
        ),
      },
    ],
  );
}

function sampleSection(builder: ReportBuilder, inputs: readonly ReportInput[]): void {
  const samples = inputs.filter((input): input is SampleInput & ReportInput => input.kind === 'sample');
  if (samples.length === 0) return;
  const figure = barChart({
    id: builder.id('sample-sizes'),
    title: 'Negatives kept: expected against realised',
    caption: 'Realised counts should lie within a few square roots of the expected count (Poisson sampling).',
    categories: samples.map((input) => `${input.label} (${input.design})`),
    categoryLabel: 'Sample',
    y: { label: 'Negatives kept', unit: 'rows' },
    series: [
      { name: 'expected', values: samples.map((input) => input.expected.negatives) },
      { name: 'realised', values: samples.map((input) => input.sample.negatives) },
    ],
  });
  builder.section(
    'Samples written by rarefy sample',
    'Kept rows by class against the design’s expectation.',
    [
      {
        figures: [figure],
        after: table(
          'Samples',
          [
            'result',
            'design',
            'rows read',
            'positives kept',
            'negatives kept',
            'expected negatives',
            'scale',
            'file',
          ],
          samples.map((input) => [
            `<th scope="row">${escapeXml(input.label)}</th>`,
            `<td>${escapeXml(input.design)}</td>`,
            cell(input.rowsRead, 8),
            cell(input.sample.positives, 8),
            cell(input.sample.negatives, 8),
            cell(input.expected.negatives, 6),
            `<td>${escapeXml(input.scaleMethod ?? '–')}</td>`,
            `<td><code>${escapeXml(input.out ?? '–')}</code></td>`,
          ]),
        ),
      },
    ],
  );
}

function retrievalSection(builder: ReportBuilder, inputs: readonly ReportInput[]): void {
  const evaluations = inputs.filter(
    (input): input is EvalRetrievalInput & ReportInput => input.kind === 'eval-retrieval',
  );
  if (evaluations.length === 0) return;
  const name = (input: EvalRetrievalInput & ReportInput) => input.model ?? input.label;
  const metricSeries: MetricSeries[] = [];
  const bucketSeries: BucketSeries[] = [];
  const lossSeries: LossSeries[] = [];
  const seenBaselines = new Set<string>();
  for (const input of evaluations) {
    metricSeries.push({ name: name(input), metrics: input.metrics });
    if (input.byPopularity.length > 0) bucketSeries.push({ name: name(input), buckets: input.byPopularity });
    if (input.history.length > 0) lossSeries.push({ name: name(input), points: input.history });
    for (const baseline of input.baselines) {
      // One bar per baseline: the same baseline repeated by every result is drawn once.
      const key = `${baseline.name}:${JSON.stringify(baseline.metrics)}`;
      if (seenBaselines.has(key)) continue;
      seenBaselines.add(key);
      const label = baselineAgrees(evaluations, baseline.name)
        ? baseline.name
        : `${baseline.name} (${input.label})`;
      metricSeries.push({ name: label, metrics: baseline.metrics });
      if (baseline.byPopularity.length > 0)
        bucketSeries.push({ name: label, buckets: baseline.byPopularity });
    }
  }
  const figures: string[] = [];
  const recall = recallFigure({ id: builder.id('recall'), series: metricSeries });
  if (recall) figures.push(recall);
  const buckets =
    bucketSeries.length > 0
      ? popularityFigure({ id: builder.id('recall-by-popularity'), series: bucketSeries })
      : null;
  if (buckets) figures.push(buckets);
  if (lossSeries.length > 0) figures.push(lossFigure({ id: builder.id('loss'), series: lossSeries }));
  const keys = [...new Set(metricSeries.flatMap((series) => Object.keys(series.metrics)))];
  builder.section(
    'Retrieval',
    'Full-catalogue metrics of two-tower models (rarefy eval-retrieval) beside their baselines; the logQ correction should show most in the tail.',
    [
      {
        figures,
        after: table(
          'Metrics',
          ['model', ...keys],
          metricSeries.map((series) => [
            `<th scope="row">${escapeXml(series.name)}</th>`,
            ...keys.map((key) => cell(series.metrics[key])),
          ]),
        ),
      },
    ],
  );
}

/** Whether every evaluation that has a baseline of this name reports the same metrics for it (then its name alone labels it). */
function baselineAgrees(evaluations: ReadonlyArray<EvalRetrievalInput>, name: string): boolean {
  const versions = new Set<string>();
  for (const input of evaluations) {
    const baseline = input.baselines.find((candidate) => candidate.name === name);
    if (baseline) versions.add(JSON.stringify(baseline.metrics));
  }
  return versions.size <= 1;
}

function inputsList(inputs: readonly ReportInput[]): string {
  const describe = (input: ReportInput): string => {
    switch (input.kind) {
      case 'quickstart':
        return `quickstart: ${input.rows.toLocaleString('en-US')} rows, ${input.positives.toLocaleString('en-US')} positives, ${input.replications} replications, sample size ${input.sampleSize.toLocaleString('en-US')}`;
      case 'fit':
        return `fit: ${input.design}, ${input.estimator}; kept ${input.sample.positives.toLocaleString('en-US')} positives and ${input.sample.negatives.toLocaleString('en-US')} negatives${input.calibration ? '; with diagnostics' : ''}`;
      case 'sample':
        return `sample: ${input.design}, ${input.rowsRead.toLocaleString('en-US')} rows read`;
      case 'eval-retrieval':
        return `eval-retrieval: ${Object.keys(input.metrics).length} metrics, ${input.baselines.length} baseline(s)${input.history.length ? `, ${input.history.length} epochs of loss` : ''}`;
    }
  };
  return `<ul>${inputs.map((input) => `<li><code>${escapeXml(input.path)}</code>: ${escapeXml(describe(input))}</li>`).join('')}</ul>`;
}

/**
 * The report as one self-contained HTML document: inline CSS and inline SVG figures, no script and
 * no external resource (it opens offline, from a file, anywhere). Sections appear only for what the
 * inputs hold: calibration on unsampled data (reliability curves), pi of kept and dropped negatives,
 * coefficient estimates with intervals per design, eMSE against the sampling rate, samples, and
 * retrieval metrics (recall@K, recall by popularity bucket, training loss).
 *
 * @param inputs - the parsed results, in command-line order
 * @param meta - title, rarefy version and time of generation for the header
 * @returns the HTML and the list of figures drawn
 * @example
 * ```ts
 * const { html } = renderReport([parseReportInput(json, 'quickstart.json')], { title: 'Rarefy report', version: '0.1.0', generatedAt: new Date().toISOString() });
 * ```
 */
export function renderReport(inputs: readonly ReportInput[], meta: ReportMeta): RenderedReport {
  const builder = new ReportBuilder();
  calibrationSection(builder, inputs);
  piSection(builder, inputs);
  coefficientSection(builder, inputs);
  emseSection(builder, inputs);
  sampleSection(builder, inputs);
  retrievalSection(builder, inputs);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="rarefy ${escapeXml(meta.version)}">
<title>${escapeXml(meta.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeXml(meta.title)}</h1>
<p class="meta">Written by <code>rarefy report</code> ${escapeXml(meta.version)} on ${escapeXml(meta.generatedAt)} from ${inputs.length} result(s); ${builder.figures.length} figure(s). Self-contained: it needs no network.</p>
${inputsList(inputs)}
</header>
<main>
${builder.markup()}
</main>
</body>
</html>
`;
  return { html, figures: builder.figures };
}
