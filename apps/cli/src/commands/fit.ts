import { resolve } from 'node:path';
import { fitRareEvents, type RareEventsFit } from '@rarefy/correction';
import { readDesignMatrix } from '@rarefy/data-io/node';
import { type FitWithPilotOptions, fitWithPilot, LogisticPilot } from '@rarefy/pilot-model';
import { saveModel } from '@rarefy/pilot-model/node';
import type { Command } from 'commander';
import { formatDuration, formatNumber, formatTable } from '../format.js';
import { printJson, printLine } from '../io.js';
import type { CommandContext } from '../program.js';
import { createProgress } from '../progress.js';
import { type SamplingDiagnostics, samplingDiagnostics } from './diagnostics.js';
import { type LoadedModel, releasePilot, requireModelColumns } from './score.js';
import {
  addPilotOptions,
  addRecipeOptions,
  byName,
  type CorrectionSource,
  loadCliPilot,
  type PilotCliOptions,
  type PilotModelInfo,
  pilotCorrectionChoice,
  pilotModelInfo,
  type RecipeCliOptions,
} from './shared.js';

/** The options of `rarefy fit`, as commander parses them. */
export interface FitOptions extends RecipeCliOptions, PilotCliOptions {
  data: string;
  label: string;
  /**
   * Whether `estimator` / `alpha` were chosen by the caller. When false (the CLI without `--estimator`
   * or `--alpha`), a `--pilot` fit uses what `correctionForPilot` recommends for that pilot instead.
   * Default true.
   */
  estimatorGiven?: boolean;
  alphaGiven?: boolean;
  /** Save the corrected final model as a `logistic` model folder here (atomically). */
  save?: string;
  /** Also score every row: calibration of the corrected and the naive model, pi of kept and dropped negatives. */
  diagnostics?: boolean;
  json?: boolean;
}

/**
 * What `rarefy fit --json` prints: one object. `coefficients`, `standardErrors`, `sample` and
 * `seconds` are the contract scripts rely on; the rest is extra detail.
 */
export interface FitResult {
  /** Coefficients keyed by name, `(Intercept)` first. */
  coefficients: Record<string, number>;
  /** Sandwich standard errors keyed by name. */
  standardErrors: Record<string, number>;
  /** Realised numbers of kept rows by class. */
  sample: { positives: number; negatives: number };
  /** Wall-clock seconds, reading the file included. */
  seconds: number;
  design: string;
  estimator: string;
  /** Wald 95% intervals keyed by name. */
  lower: Record<string, number>;
  upper: Record<string, number>;
  /** The rows read and their class balance. */
  population: { rows: number; positives: number; negatives: number };
  /** Expected sizes and the solved scale. */
  expected: { negatives: number; positives: number };
  scale: { method: string; value: number; atCap: number; atFloor: number };
  /** Seconds spent reading and in each stage of the recipe. */
  timings: Record<string, number>;
  /** With `--save`: the absolute path of the model folder written. */
  saved?: string;
  /**
   * With `--diagnostics`: the corrected and the naive model's calibration on every row of the data
   * (unsampled), with reliability bins, and the pi of the kept and the dropped negatives (what
   * `rarefy report` draws).
   */
  diagnostics?: SamplingDiagnostics;
  /** With `--pilot`: the model that drove the design (absolute path, kind), what scored it and why. */
  pilotModel?: PilotModelInfo;
  /**
   * With `--pilot`: the correction of the final model and why (`correctionForPilot`): log-odds
   * without mixing after a logistic pilot, IPW with alpha 0.3 after any other, unless `--estimator`
   * or `--alpha` said otherwise (`estimatorSource`, `alphaSource`).
   */
  correction?: {
    estimator: string;
    alpha: number;
    reason: string;
    estimatorSource: CorrectionSource;
    alphaSource: CorrectionSource;
  };
}

/** Builds the JSON result from a fit (shared by `fit` and tests). */
export function fitResult(fit: RareEventsFit, readSeconds: number, seconds: number): FitResult {
  return {
    coefficients: byName(fit.names, fit.coefficients),
    standardErrors: byName(fit.names, fit.standardErrors),
    sample: { positives: fit.sample.positives, negatives: fit.sample.negatives },
    seconds,
    design: fit.design,
    estimator: fit.estimator,
    lower: byName(fit.names, fit.lower),
    upper: byName(fit.names, fit.upper),
    population: { ...fit.population },
    expected: { negatives: fit.scale.expectedNegatives, positives: fit.scale.expectedPositives },
    scale: {
      method: fit.scale.method,
      value: fit.scale.scale,
      atCap: fit.scale.atCap,
      atFloor: fit.scale.atFloor,
    },
    timings: { read: readSeconds, ...fit.timings },
  };
}

/**
 * Reads a CSV file, runs the whole recipe on it and returns the fit.
 *
 * @param options - file, label column and the sampling options
 * @param context - the command's Io
 * @returns the JSON-ready result
 * @example
 * ```ts
 * const result = await fit({ data: 'a10.csv', label: 'y', design: 'optA', estimator: 'log-odds',
 *   pilotSize: 1000, alpha: 0, piMin: 1e-6, seed: 1 }, { io: processIo() });
 * ```
 */
export async function fit(options: FitOptions, context: CommandContext): Promise<FitResult> {
  const { io } = context;
  const started = io.now();
  const path = resolve(options.data);
  // The pilot first: a missing or damaged folder fails before the data is read.
  const loaded =
    options.pilot === undefined
      ? null
      : await loadCliPilot(options.pilot, {
          ...(options.runtime === undefined ? {} : { runtime: options.runtime }),
          io,
          ...(options.json === undefined ? {} : { json: options.json }),
        });
  try {
    const reading = createProgress({
      label: `reading ${options.data}`,
      json: options.json,
      stream: io.stderr,
    });
    let data: Awaited<ReturnType<typeof readDesignMatrix>>;
    try {
      data = await readDesignMatrix(path, {
        label: options.label,
        onProgress: ({ rows }) => reading.update(rows, 'rows'),
      });
    } finally {
      reading.stop();
    }
    const readSeconds = (io.now() - started) / 1000;
    const stages = createProgress({ label: 'fitting', json: options.json, stream: io.stderr });
    let result: RareEventsFit;
    let pilotRecord: Pick<FitResult, 'pilotModel' | 'correction'> = {};
    try {
      const recipe = {
        x: data.x,
        y: data.y,
        design: options.design,
        ...(options.sampleSize === undefined ? {} : { sampleSize: options.sampleSize }),
        ...(options.rate === undefined ? {} : { rate: options.rate }),
        piMin: options.piMin,
        seed: options.seed,
        ...(options.diagnostics ? { returnPopulationPi: true } : {}),
        onProgress: (stage: string) => stages.update(0, stage),
      };
      if (loaded === null) {
        result = fitRareEvents({
          ...recipe,
          estimator: options.estimator,
          pilotSize: options.pilotSize,
          alpha: options.alpha,
          takeWholeClass: options.takeWholeClass ?? false,
        });
      } else {
        const given = givenCorrection(options);
        result = await fitWithGivenPilot(loaded, recipe, given, options.data);
        const correction = pilotCorrectionChoice(loaded.pilot, given);
        pilotRecord = {
          pilotModel: pilotModelInfo(loaded),
          correction: {
            estimator: correction.estimator,
            alpha: correction.alpha,
            reason: correction.reason,
            estimatorSource: correction.estimatorSource,
            alphaSource: correction.alphaSource,
          },
        };
      }
    } finally {
      stages.stop();
    }
    const diagnostics = options.diagnostics
      ? { diagnostics: samplingDiagnostics(data.x, data.y, result, options.data) }
      : {};
    const saved = options.save === undefined ? {} : { saved: await saveFit(options.save, result, options) };
    return {
      ...fitResult(result, readSeconds, (io.now() - started) / 1000),
      ...saved,
      ...diagnostics,
      ...pilotRecord,
    };
  } finally {
    if (loaded !== null) await releasePilot(loaded.pilot);
  }
}

/** `--estimator` and `--alpha` where the caller gave them (a `--pilot` fit defaults the others). */
function givenCorrection(options: FitOptions): { estimator?: FitOptions['estimator']; alpha?: number } {
  return {
    ...(options.estimatorGiven === false ? {} : { estimator: options.estimator }),
    ...(options.alphaGiven === false ? {} : { alpha: options.alpha }),
  };
}

/**
 * The recipe with `--pilot`: `fitWithPilot` scores every row with the given pilot, draws the sample
 * with those probabilities (no balanced pilot draw: `--pilot-size` is not used) and corrects the
 * final model with the estimator and mixing `correctionForPilot` recommends for it, unless given.
 */
async function fitWithGivenPilot(
  loaded: LoadedModel,
  recipe: Omit<FitWithPilotOptions, 'pilot' | 'estimator' | 'alpha'>,
  given: { estimator?: FitOptions['estimator']; alpha?: number },
  data: string,
): Promise<RareEventsFit> {
  // Name the data and the model when the data lacks a column the pilot reads.
  const first = recipe.x.intercept ? 1 : 0;
  requireModelColumns(
    loaded.pilot.features,
    recipe.x.names.slice(first).map((name) => ({ name, type: 'number' as const })),
    data,
    loaded.path,
  );
  return fitWithPilot({
    ...recipe,
    pilot: loaded.pilot,
    ...(given.estimator === undefined ? {} : { estimator: given.estimator }),
    ...(given.alpha === undefined ? {} : { alpha: given.alpha }),
  });
}

/**
 * Saves the corrected final model of a fit as a `logistic` model folder (DESIGN.md "What a saved
 * model is"), atomically: `manifest.json` (feature schema, label, how it was trained: design,
 * estimator, realised, population and pilot sizes, seed), `coefficients.json` (exact float64) and
 * `model.onnx` (the population-probability export of `logisticToOnnx`, for `score`, `serve` and any
 * onnxruntime).
 *
 * @param dir - the folder to write (replaced only if it holds a saved model or is empty)
 * @param result - the recipe's result
 * @param options - the label column and the seed the recipe ran with
 * @returns the folder's absolute path
 * @throws RarefyIoError `RAREFY_IO_ERROR` when the folder cannot be written or is not replaceable
 * @example
 * ```ts
 * const dir = await saveFit('models/ctr', fit, { label: 'y', seed: 1 });
 * ```
 */
export async function saveFit(
  dir: string,
  result: RareEventsFit,
  options: { label: string; seed: number },
): Promise<string> {
  const target = resolve(dir);
  const model = LogisticPilot.fromRareEventsFit(result, { seed: options.seed });
  await saveModel(target, model, { label: options.label, onnx: true });
  return target;
}

/** Prints a fit for people: the coefficient table, the sample and the time taken. */
function printFit(context: CommandContext, options: FitOptions, result: FitResult): void {
  const names = Object.keys(result.coefficients);
  const rows = names.map((name) => ({
    term: name,
    estimate: result.coefficients[name],
    'std. error': result.standardErrors[name],
    z: (result.coefficients[name] as number) / (result.standardErrors[name] as number),
    '95% interval': `[${formatNumber(result.lower[name] as number)}, ${formatNumber(result.upper[name] as number)}]`,
  }));
  const { population, sample, expected } = result;
  printLine(
    context.io,
    [
      `${options.data}: ${population.rows.toLocaleString('en-US')} rows, ${population.positives.toLocaleString('en-US')} positives ` +
        `(${formatNumber((100 * population.positives) / population.rows, 3)}%)`,
      `design ${result.design}, ${result.estimator} estimator: kept ${sample.positives.toLocaleString('en-US')} positives and ` +
        `${sample.negatives.toLocaleString('en-US')} negatives (expected ${formatNumber(expected.negatives, 6)}), seed ${options.seed}`,
      '',
      formatTable(rows, { columns: ['term', 'estimate', 'std. error', 'z', '95% interval'] }),
      '',
      `coefficients are population-scale log odds (predict with sigmoid(x'beta), no offset); ` +
        `${formatDuration(result.seconds)} in all (reading ${formatDuration(result.timings.read as number)})`,
      ...(result.pilotModel === undefined || result.correction === undefined
        ? []
        : [
            `pilot ${result.pilotModel.path} (${result.pilotModel.kind}, scored by ${result.pilotModel.runtime}) drove the design; ` +
              `correction: ${result.correction.estimator} with alpha ${result.correction.alpha}: ${result.correction.reason}`,
          ]),
      ...(result.saved === undefined ? [] : [`saved the model to ${result.saved}`]),
    ].join('\n'),
  );
}

/**
 * Adds `rarefy fit` to the program.
 *
 * @param program - the `rarefy` program
 * @param context - the Io the command prints to
 * @returns the subcommand
 * @example
 * ```ts
 * registerFit(program, context);
 * ```
 */
export function registerFit(program: Command, context: CommandContext): Command {
  const command = program
    .command('fit')
    .description(
      'Fit a logistic regression to a data file (CSV, TSV, JSON Lines, LibSVM, Parquet) by sampling the negatives with a pilot and correcting the ' +
        'log odds: every numeric column but the label is a feature, and an intercept is added. The pilot is a logistic model fitted on a ' +
        'balanced draw, or a saved model given with --pilot.',
    )
    .requiredOption(
      '--data <file|glob>',
      'the data: CSV, TSV, JSON Lines, LibSVM or Parquet (a file or a glob)',
    )
    .requiredOption('--label <column>', 'the 0/1 label column')
    .option(
      '--save <dir>',
      'save the corrected model as a folder (manifest.json, coefficients.json, model.onnx) for score, export and serve',
    )
    .option(
      '--diagnostics',
      'also score every row: calibration of the corrected and the naive model on the unsampled data, and pi of the kept and dropped negatives (for rarefy report)',
    );
  addPilotOptions(
    command,
    'sample the negatives with this pilot instead of fitting one on a balanced draw (the same flag as `rarefy sample --pilot`): ' +
      'a saved-model folder (from `rarefy fit --save`) or a .onnx file, reading columns of --data. Its probabilities drive the design ' +
      '(which negatives are kept, with what pi; --pilot-size is not used), and the final logistic model is corrected for it: ' +
      'log-odds after a logistic pilot, IPW with defensive mixing alpha 0.3 after any other (a network, an ONNX classifier), ' +
      'unless --estimator or --alpha say otherwise; the output says which correction and why',
  );
  addRecipeOptions(command, { design: 'optA' });
  return command
    .option(
      '--json',
      'print one JSON object (coefficients, standardErrors, sample, seconds, ...; saved with --save) and nothing else on stdout',
    )
    .action(async (options: FitOptions, self: Command) => {
      if (options.pilot !== undefined && options.design === 'uniform') {
        self.error(
          '--pilot drives the design, but --design uniform keeps every negative with the same probability and uses no pilot; pass another design or leave --pilot out',
          { exitCode: 2, code: 'rarefy.usage' },
        );
      }
      // Without --estimator or --alpha, a --pilot fit uses the correction recommended for that pilot.
      const result = await fit(
        {
          ...options,
          estimatorGiven: self.getOptionValueSource('estimator') === 'cli',
          alphaGiven: self.getOptionValueSource('alpha') === 'cli',
        },
        context,
      );
      if (options.json) printJson(context.io, result);
      else printFit(context, options, result);
    });
}
