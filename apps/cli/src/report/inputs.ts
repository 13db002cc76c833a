import type { PiDistribution, ReliabilityPoint } from '@rarefy/demo/charts';
import { RarefyIoError } from '@rarefy/sampling-core';

/** The commands whose `--json` results `rarefy report` reads. */
export type ReportInputKind = 'quickstart' | 'fit' | 'sample' | 'eval-retrieval';

/** One model's calibration as quickstart and `fit --diagnostics` print it. */
export interface CalibrationModel {
  model: string;
  calibrationInTheLarge: number;
  logLoss: number;
  rocAuc: number;
  expectedCalibrationError: number;
  brier?: number;
  calibrationSlope?: number;
  /** Absent in results of versions before the report existed. */
  reliability?: ReliabilityPoint[];
}

/** Calibration of several models on the same unsampled rows. */
export interface CalibrationBlock {
  evaluatedOn: string;
  rows: number;
  observedRate: number;
  models: CalibrationModel[];
}

/** A coefficient vector with optional intervals, keyed by name. */
export interface Estimates {
  coefficients: Record<string, number>;
  lower?: Record<string, number>;
  upper?: Record<string, number>;
}

/** What the report uses of `rarefy quickstart --json`. */
export interface QuickstartInput {
  kind: 'quickstart';
  rows: number;
  positives: number;
  sampleSize: number;
  replications: number;
  truth: Record<string, number>;
  full: { coefficients: Record<string, number>; standardErrors: Record<string, number> };
  designs: Array<{
    design: string;
    estimator: string;
    expectedNegatives: number;
    mseVsFull: number;
    mseVsTruth: number | null;
  }>;
  calibration: CalibrationBlock;
  designFits: Array<{ design: string; estimator: string } & Estimates>;
  piDistribution: PiDistribution | null;
}

/** What the report uses of `rarefy fit --json` (with `--diagnostics` for calibration and pi). */
export interface FitInput extends Estimates {
  kind: 'fit';
  design: string;
  estimator: string;
  sample: { positives: number; negatives: number };
  population: { rows: number; positives: number; negatives: number } | null;
  calibration: CalibrationBlock | null;
  piDistribution: PiDistribution | null;
}

/** What the report uses of `rarefy sample --json`. */
export interface SampleInput {
  kind: 'sample';
  design: string;
  rowsRead: number;
  sample: { positives: number; negatives: number };
  expected: { positives: number; negatives: number };
  population: { rows: number; positives: number; negatives: number } | null;
  out: string | null;
  scaleMethod: string | null;
}

/** A retrieval model's metrics per popularity bucket. */
export interface BucketMetrics {
  bucket: string;
  metrics: Record<string, number>;
}

/** What the report uses of `rarefy eval-retrieval --json` (every part but `metrics` optional). */
export interface EvalRetrievalInput {
  kind: 'eval-retrieval';
  /** The model's own name when the result gives one (`model`, `name`, `label`, `correction`). */
  model: string | null;
  metrics: Record<string, number>;
  byPopularity: BucketMetrics[];
  /** Baselines by name (popularity, item-kNN, the uncorrected model, ...). */
  baselines: Array<{ name: string; metrics: Record<string, number>; byPopularity: BucketMetrics[] }>;
  history: Array<{ epoch: number; loss: number }>;
}

/** One parsed input file. */
export type ReportInput = (QuickstartInput | FitInput | SampleInput | EvalRetrievalInput) & {
  /** The file as given on the command line. */
  path: string;
  /** A short name for legends: the file name without `.json`. */
  label: string;
};

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads fields of one input file, naming the file and the field in every error. */
class Reader {
  constructor(readonly path: string) {}

  fail(field: string, problem: string): never {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${this.path}: ${field} ${problem}`,
      'pass the unchanged --json output of rarefy quickstart, fit, sample or eval-retrieval',
      { input: this.path, field },
    );
  }

  object(value: unknown, field: string): Json {
    if (!isObject(value)) this.fail(field, 'is not an object');
    return value;
  }

  number(value: unknown, field: string): number {
    if (typeof value !== 'number') this.fail(field, `is ${JSON.stringify(value) ?? 'missing'}, not a number`);
    return value;
  }

  /** A number, or null for null or a missing field (NaN is printed as null by JSON.stringify). */
  optionalNumber(value: unknown, field: string): number | null {
    return value === null || value === undefined ? null : this.number(value, field);
  }

  string(value: unknown, field: string): string {
    if (typeof value !== 'string') this.fail(field, `is ${JSON.stringify(value) ?? 'missing'}, not a string`);
    return value;
  }

  /** An object of numbers keyed by name (JSON null, a NaN, is left out). */
  numbers(value: unknown, field: string): Record<string, number> {
    const object = this.object(value, field);
    const out: Record<string, number> = {};
    for (const [key, entry] of Object.entries(object)) {
      if (entry === null) continue;
      out[key] = this.number(entry, `${field}.${key}`);
    }
    return out;
  }

  array(value: unknown, field: string): unknown[] {
    if (!Array.isArray(value)) this.fail(field, 'is not an array');
    return value;
  }

  reliability(value: unknown, field: string): ReliabilityPoint[] {
    return this.array(value, field).map((entry, k) => {
      const bin = this.object(entry, `${field}[${k}]`);
      return {
        meanPredicted: this.number(bin.meanPredicted, `${field}[${k}].meanPredicted`),
        observedRate: this.number(bin.observedRate, `${field}[${k}].observedRate`),
        count: this.number(bin.count, `${field}[${k}].count`),
        lower: this.number(bin.lower, `${field}[${k}].lower`),
        upper: this.number(bin.upper, `${field}[${k}].upper`),
      };
    });
  }

  calibration(value: unknown, field: string, evaluatedOn: string): CalibrationBlock {
    const block = this.object(value, field);
    return {
      evaluatedOn: typeof block.evaluatedOn === 'string' ? block.evaluatedOn : evaluatedOn,
      rows: this.number(block.rows, `${field}.rows`),
      observedRate: this.number(block.observedRate, `${field}.observedRate`),
      models: this.array(block.models, `${field}.models`).map((entry, k) => {
        const at = `${field}.models[${k}]`;
        const model = this.object(entry, at);
        return {
          model: this.string(model.model, `${at}.model`),
          calibrationInTheLarge: this.number(model.calibrationInTheLarge, `${at}.calibrationInTheLarge`),
          logLoss: this.number(model.logLoss, `${at}.logLoss`),
          rocAuc: this.number(model.rocAuc, `${at}.rocAuc`),
          expectedCalibrationError: this.number(
            model.expectedCalibrationError,
            `${at}.expectedCalibrationError`,
          ),
          ...(typeof model.brier === 'number' ? { brier: model.brier } : {}),
          ...(typeof model.calibrationSlope === 'number' ? { calibrationSlope: model.calibrationSlope } : {}),
          ...(model.reliability === undefined
            ? {}
            : { reliability: this.reliability(model.reliability, `${at}.reliability`) }),
        };
      }),
    };
  }

  pi(value: unknown, field: string): PiDistribution | null {
    if (value === undefined || value === null) return null;
    const pi = this.object(value, field);
    const list = (entry: unknown, name: string) =>
      this.array(entry, `${field}.${name}`).map((item, k) => this.number(item, `${field}.${name}[${k}]`));
    const edges = list(pi.edges, 'edges');
    const kept = list(pi.kept, 'kept');
    const dropped = list(pi.dropped, 'dropped');
    if (edges.length !== kept.length + 1 || kept.length !== dropped.length) {
      this.fail(
        field,
        `has ${edges.length} edges for ${kept.length} kept and ${dropped.length} dropped bins`,
      );
    }
    return {
      design: this.string(pi.design, `${field}.design`),
      edges,
      kept,
      dropped,
      keptNegatives: this.number(pi.keptNegatives, `${field}.keptNegatives`),
      droppedNegatives: this.number(pi.droppedNegatives, `${field}.droppedNegatives`),
    };
  }

  counts(value: unknown, field: string): { positives: number; negatives: number } {
    const object = this.object(value, field);
    return {
      positives: this.number(object.positives, `${field}.positives`),
      negatives: this.number(object.negatives, `${field}.negatives`),
    };
  }

  population(value: unknown, field: string): { rows: number; positives: number; negatives: number } | null {
    if (value === undefined || value === null) return null;
    const object = this.object(value, field);
    return { rows: this.number(object.rows, `${field}.rows`), ...this.counts(object, field) };
  }

  /**
   * Popularity buckets in either shape: an array of `{ bucket | name, <metric>: number, ... }` or
   * `{ metrics }`, or an object keyed by bucket whose values are metric objects (or one number,
   * taken as `recall`).
   */
  buckets(value: unknown, field: string): BucketMetrics[] {
    if (value === undefined || value === null) return [];
    if (Array.isArray(value)) {
      return value.map((entry, k) => {
        const bucket = this.object(entry, `${field}[${k}]`);
        const name = bucket.bucket ?? bucket.name;
        const metrics = isObject(bucket.metrics) ? bucket.metrics : bucket;
        return {
          bucket: this.string(name, `${field}[${k}].bucket`),
          metrics: numericEntries(metrics),
        };
      });
    }
    const object = this.object(value, field);
    return Object.entries(object).map(([bucket, entry]) => ({
      bucket,
      metrics:
        typeof entry === 'number'
          ? { recall: entry }
          : numericEntries(
              this.object(
                isObject(entry) && isObject(entry.metrics) ? entry.metrics : entry,
                `${field}.${bucket}`,
              ),
            ),
    }));
  }
}

/** The numeric fields of an object (others, like a bucket's name or item count text, are left out). */
function numericEntries(object: Json): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(object))
    if (typeof value === 'number' && Number.isFinite(value)) out[key] = value;
  return out;
}

function quickstartInput(json: Json, read: Reader): QuickstartInput {
  const full = read.object(json.full, 'full');
  const calibration = read.object(json.calibration, 'calibration');
  const holdoutRows = typeof calibration.rows === 'number' ? calibration.rows.toLocaleString('en-US') : 'the';
  return {
    kind: 'quickstart',
    rows: read.number(json.rows, 'rows'),
    positives: read.number(json.positives, 'positives'),
    sampleSize: read.number(json.sampleSize, 'sampleSize'),
    replications: read.number(json.replications, 'replications'),
    truth: read.numbers(json.truth, 'truth'),
    full: {
      coefficients: read.numbers(full.coefficients, 'full.coefficients'),
      standardErrors: read.numbers(full.standardErrors, 'full.standardErrors'),
    },
    designs: read.array(json.designs, 'designs').map((entry, k) => {
      const row = read.object(entry, `designs[${k}]`);
      return {
        design: read.string(row.design, `designs[${k}].design`),
        estimator: read.string(row.estimator, `designs[${k}].estimator`),
        expectedNegatives: read.number(row.expectedNegatives, `designs[${k}].expectedNegatives`),
        mseVsFull: read.number(row.mseVsFull, `designs[${k}].mseVsFull`),
        mseVsTruth: read.optionalNumber(row.mseVsTruth, `designs[${k}].mseVsTruth`),
      };
    }),
    calibration: read.calibration(json.calibration, 'calibration', `${holdoutRows} fresh rows (unsampled)`),
    designFits:
      json.designFits === undefined
        ? []
        : read.array(json.designFits, 'designFits').map((entry, k) => {
            const fit = read.object(entry, `designFits[${k}]`);
            return {
              design: read.string(fit.design, `designFits[${k}].design`),
              estimator: read.string(fit.estimator, `designFits[${k}].estimator`),
              coefficients: read.numbers(fit.coefficients, `designFits[${k}].coefficients`),
              lower: read.numbers(fit.lower, `designFits[${k}].lower`),
              upper: read.numbers(fit.upper, `designFits[${k}].upper`),
            };
          }),
    piDistribution: read.pi(json.piDistribution, 'piDistribution'),
  };
}

function fitInput(json: Json, read: Reader): FitInput {
  const diagnostics = json.diagnostics === undefined ? null : read.object(json.diagnostics, 'diagnostics');
  return {
    kind: 'fit',
    design: read.string(json.design, 'design'),
    estimator: read.string(json.estimator, 'estimator'),
    coefficients: read.numbers(json.coefficients, 'coefficients'),
    ...(json.lower === undefined ? {} : { lower: read.numbers(json.lower, 'lower') }),
    ...(json.upper === undefined ? {} : { upper: read.numbers(json.upper, 'upper') }),
    sample: read.counts(json.sample, 'sample'),
    population: read.population(json.population, 'population'),
    calibration:
      diagnostics === null
        ? null
        : read.calibration(diagnostics.calibration, 'diagnostics.calibration', 'the data (unsampled)'),
    piDistribution:
      diagnostics === null ? null : read.pi(diagnostics.piDistribution, 'diagnostics.piDistribution'),
  };
}

function sampleInput(json: Json, read: Reader): SampleInput {
  const scale = isObject(json.scale) ? json.scale : {};
  return {
    kind: 'sample',
    design: typeof json.design === 'string' ? json.design : 'unknown design',
    rowsRead: read.number(json.rowsRead, 'rowsRead'),
    sample: read.counts(json.sample, 'sample'),
    expected: read.counts(json.expected, 'expected'),
    population: read.population(json.population, 'population'),
    out: typeof json.out === 'string' ? json.out : null,
    scaleMethod: typeof scale.method === 'string' ? scale.method : null,
  };
}

function evalRetrievalInput(json: Json, read: Reader): EvalRetrievalInput {
  const metrics = read.numbers(json.metrics, 'metrics');
  const baselines: EvalRetrievalInput['baselines'] = [];
  if (json.baselines !== undefined && json.baselines !== null) {
    for (const [name, entry] of Object.entries(read.object(json.baselines, 'baselines'))) {
      const baseline = read.object(entry, `baselines.${name}`);
      const inner = isObject(baseline.metrics) ? baseline.metrics : baseline;
      baselines.push({
        name,
        metrics: numericEntries(inner),
        byPopularity: read.buckets(baseline.byPopularity, `baselines.${name}.byPopularity`),
      });
    }
  }
  const history =
    json.history === undefined || json.history === null
      ? []
      : read.array(json.history, 'history').map((entry, k) => {
          const point = read.object(entry, `history[${k}]`);
          return {
            epoch: read.number(point.epoch, `history[${k}].epoch`),
            loss: read.number(point.loss, `history[${k}].loss`),
          };
        });
  const name = [json.model, json.name, json.label, json.correction].find(
    (value) => typeof value === 'string',
  );
  return {
    kind: 'eval-retrieval',
    model: (name as string | undefined) ?? null,
    metrics,
    byPopularity: read.buckets(json.byPopularity, 'byPopularity'),
    baselines,
    history,
  };
}

/** The short name of an input in legends: its file name without directories and `.json`. */
export function inputLabel(path: string): string {
  return (path.split(/[\\/]/).pop() ?? path).replace(/\.json$/i, '');
}

/**
 * Recognises which command wrote a parsed `--json` result and reads what the report uses of it.
 * quickstart: `designs`, `full` and `calibration`; fit: `coefficients`, `design` and `estimator`;
 * sample: `rowsRead`, `sample` and `expected`; eval-retrieval: `metrics`.
 *
 * @param value - the parsed JSON
 * @param path - the file, for legends and messages
 * @returns the input
 * @throws RarefyIoError `RAREFY_PARSE_ERROR` naming the file (and the field) when it is a command's
 *   error object, is not one of the four results, or has a field of the wrong type
 * @example
 * ```ts
 * const input = parseReportInput(JSON.parse(await readFile('fit.json', 'utf8')), 'fit.json');
 * ```
 */
export function parseReportInput(value: unknown, path: string): ReportInput {
  const read = new Reader(path);
  const json = read.object(value, 'the result');
  if (isObject(json.error)) {
    const code = typeof json.error.code === 'string' ? json.error.code : 'an error';
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${path}: holds the ${code} of a command that failed, not a result`,
      'run the command again until it succeeds, and pass its --json output',
      { input: path },
    );
  }
  const base = { path, label: inputLabel(path) };
  if (Array.isArray(json.designs) && isObject(json.full) && isObject(json.calibration)) {
    return { ...base, ...quickstartInput(json, read) };
  }
  if (isObject(json.coefficients) && typeof json.design === 'string' && typeof json.estimator === 'string') {
    return { ...base, ...fitInput(json, read) };
  }
  if (typeof json.rowsRead === 'number' && isObject(json.sample) && isObject(json.expected)) {
    return { ...base, ...sampleInput(json, read) };
  }
  if (isObject(json.metrics)) return { ...base, ...evalRetrievalInput(json, read) };
  throw new RarefyIoError(
    'RAREFY_PARSE_ERROR',
    `${path}: not the --json result of rarefy quickstart, fit, sample or eval-retrieval (its keys: ${Object.keys(json).slice(0, 8).join(', ') || 'none'})`,
    'pass files written by `rarefy <command> --json > result.json`',
    { input: path },
  );
}
