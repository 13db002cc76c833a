import type { EstimatorName } from '@rarefy/correction';
import { correctionForPilot, type PilotCorrection } from '@rarefy/pilot-model';
import { DESIGN_NAMES, type DesignName, type Pilot } from '@rarefy/sampling-core';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Io } from '../io.js';
import { integer, positiveInteger } from '../options.js';
import {
  describeRuntime,
  type LoadedModel,
  loadPilot,
  type RuntimeChoice,
  type RuntimeOption,
  runtimeOption,
  type ScoringRuntime,
  settledChoice,
} from './score.js';

/** The estimators the CLI offers, as `--estimator` spells them. */
export const ESTIMATORS = ['log-odds', 'ipw'] as const;

/** Options shared by every command that runs the sampling recipe. */
export interface RecipeCliOptions {
  design: DesignName;
  estimator: (typeof ESTIMATORS)[number];
  pilotSize: number;
  sampleSize?: number;
  rate?: number;
  alpha: number;
  piMin: number;
  takeWholeClass?: boolean;
  seed: number;
}

function probability(option: string, open: { zero: boolean; one: boolean }): (text: string) => number {
  return (text) => {
    const value = Number(text);
    const low = open.zero ? value > 0 : value >= 0;
    const high = open.one ? value < 1 : value <= 1;
    if (text.trim() === '' || !Number.isFinite(value) || !low || !high) {
      const range = `${open.zero ? '(' : '['}0, 1${open.one ? ')' : ']'}`;
      throw new InvalidArgumentError(`${option} must be a number in ${range}, not '${text}'.`);
    }
    return value;
  };
}

/**
 * Adds the sampling options (design, estimator, sizes, mixing, floor, seed) with the defaults of
 * DESIGN.md: pilot 1000, sample size = the number of positives, seed 1.
 *
 * @param command - the command to extend
 * @param defaults - defaults that differ by command
 * @returns the command
 * @example
 * ```ts
 * addRecipeOptions(program.command('fit'), { design: 'optA' });
 * ```
 */
export function addRecipeOptions(command: Command, defaults: { design: DesignName }): Command {
  return command
    .addOption(
      new Option('--design <design>', 'sampling design of the negatives')
        .choices(DESIGN_NAMES as readonly string[])
        .default(defaults.design),
    )
    .addOption(
      new Option(
        '--estimator <estimator>',
        'log-odds correction (A.4) or inverse-probability weighting (A.5)',
      )
        .choices(ESTIMATORS)
        .default('log-odds'),
    )
    .option(
      '--pilot-size <n>',
      'rows in the balanced pilot (half per class)',
      positiveInteger('--pilot-size'),
      1000,
    )
    .option(
      '--sample-size <n>',
      'expected number of negatives to keep (exact scale; default: the number of positives)',
      positiveInteger('--sample-size'),
    )
    .option(
      '--rate <r>',
      'sampling rate in (0, 1] for the rate scale (c = r / mean score), instead of --sample-size',
      probability('--rate', { zero: true, one: false }),
    )
    .option(
      '--alpha <a>',
      'defensive mixing with the uniform design, in [0, 1)',
      probability('--alpha', { zero: false, one: true }),
      0,
    )
    .option(
      '--pi-min <p>',
      'floor of the keep probability (keeps offsets finite)',
      probability('--pi-min', { zero: true, one: true }),
      1e-6,
    )
    .option('--take-whole-class', 'take a whole class for the pilot when it has fewer rows than asked')
    .option('--seed <seed>', 'random seed (same seed, same result)', integer('--seed'), 1);
}

/** Turns parallel name and value arrays into an object keyed by name, in order. */
export function byName(names: readonly string[], values: ArrayLike<number>): Record<string, number> {
  const result: Record<string, number> = {};
  names.forEach((name, j) => {
    result[name] = values[j] as number;
  });
  return result;
}

/** The flags the engine paths (DuckDB, ClickHouse) turn into the recipe's plan options. */
export interface EnginePlanCliOptions extends RecipeCliOptions {
  label: string;
  rowKey?: string;
  scaleSampleRows?: number;
}

/** `--features a,b,c` as a list (undefined when not given). */
export function featureList(text: string | undefined): string[] | undefined {
  return text
    ?.split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
}

/** The recipe options of the engine path. */
export function planOptions(options: EnginePlanCliOptions, features: string[] | undefined) {
  return {
    label: options.label,
    ...(features === undefined ? {} : { features }),
    design: options.design,
    pilotSize: options.pilotSize,
    takeWholeClass: options.takeWholeClass ?? false,
    ...(options.sampleSize === undefined ? {} : { sampleSize: options.sampleSize }),
    ...(options.rate === undefined ? {} : { rate: options.rate }),
    alpha: options.alpha,
    piMin: options.piMin,
    seed: options.seed,
    ...(options.rowKey === undefined ? {} : { rowKey: options.rowKey }),
    ...(options.scaleSampleRows === undefined ? {} : { scaleSampleRows: options.scaleSampleRows }),
  };
}

/** The flags of a given pilot model, shared by `rarefy sample` and `rarefy fit`. */
export interface PilotCliOptions {
  /** A saved-model folder or a .onnx file whose probabilities drive the design. */
  pilot?: string;
  /** How a saved network given as `--pilot` is scored: `auto` (default), `tfjs` or `onnxruntime`. */
  runtime?: RuntimeOption;
}

/**
 * Adds `--pilot <model>` and `--runtime <runtime>` (the same flags and loader in `sample` and `fit`).
 *
 * @param command - the command to extend
 * @param help - what `--pilot` does in this command
 * @returns the command
 * @example
 * ```ts
 * addPilotOptions(program.command('fit'), 'fit with this pilot instead of fitting one');
 * ```
 */
export function addPilotOptions(command: Command, help: string): Command {
  return command.option('--pilot <model>', help).addOption(runtimeOption());
}

/**
 * Loads `--pilot` with `--runtime` (see `loadPilot`): a folder or a .onnx file, typed errors naming
 * the path when nothing is there or it cannot be read. With `io` (and not `json`), the runtime,
 * once chosen, goes to stderr as a line of its own.
 *
 * @param path - the `--pilot` value
 * @param options - the runtime, the input columns of a foreign .onnx file, where to say the runtime
 * @returns the loaded model (release its pilot with `releasePilot`)
 * @throws RarefyIoError `RAREFY_IO_ERROR` or `RAREFY_PARSE_ERROR` naming the path; as `loadPilot`
 * @example
 * ```ts
 * const loaded = await loadCliPilot('models/ctr', { runtime: 'auto', io, json: false });
 * ```
 */
export function loadCliPilot(
  path: string,
  options: { runtime?: RuntimeOption; features?: readonly string[]; io?: Io; json?: boolean },
): Promise<LoadedModel> {
  const { io } = options;
  return loadPilot(path, {
    runtime: options.runtime ?? 'auto',
    ...(options.features === undefined ? {} : { features: options.features }),
    ...(io === undefined || options.json
      ? {}
      : {
          onRuntimeChoice: (choice: RuntimeChoice) => io.stderr.write(`pilot ${describeRuntime(choice)}\n`),
        }),
  });
}

/** What `--json` says of a `--pilot` model: its path and kind, what scored it and why. */
export interface PilotModelInfo {
  path: string;
  kind: string;
  runtime: ScoringRuntime;
  runtimeReason: string;
  tfjsBackend?: string;
  runtimeMilliseconds?: Partial<Record<ScoringRuntime, number>>;
}

/**
 * The JSON record of a loaded `--pilot`, after scoring (an `auto` runtime is then settled).
 *
 * @param loaded - the model from {@link loadCliPilot}
 * @returns path, kind, runtime and its reason (backend and timings when measured)
 * @example
 * ```ts
 * pilotModelInfo(loaded); // { path: '/abs/models/ctr', kind: 'logistic', runtime: 'in-process', ... }
 * ```
 */
export function pilotModelInfo(loaded: LoadedModel): PilotModelInfo {
  const choice = settledChoice(loaded);
  return {
    path: loaded.path,
    kind: loaded.kind,
    runtime: choice.runtime,
    runtimeReason: choice.reason,
    ...(choice.backend === undefined ? {} : { tfjsBackend: choice.backend }),
    ...(choice.milliseconds === undefined ? {} : { runtimeMilliseconds: choice.milliseconds }),
  };
}

/** Where a value of {@link PilotCorrectionChoice} came from. */
export type CorrectionSource = 'given' | 'default for this pilot';

/** The estimator and mixing used with a given pilot, where each came from, and why. */
export interface PilotCorrectionChoice {
  estimator: EstimatorName;
  alpha: number;
  estimatorSource: CorrectionSource;
  alphaSource: CorrectionSource;
  /**
   * One sentence: `correctionForPilot`'s reason for this pilot, prefixed, when a flag overrode it,
   * with the flags given and the default they replaced.
   */
  reason: string;
  /** What `correctionForPilot` recommends for this pilot. */
  recommended: PilotCorrection;
}

/**
 * The correction for a given pilot (`correctionForPilot`: log-odds without mixing for a logistic
 * pilot, IPW with alpha 0.3 for any other), with `--estimator` and `--alpha` winning where the
 * caller gave them.
 *
 * @param pilot - the pilot that drives the design
 * @param given - the estimator and alpha the caller passed on the command line (undefined: not given)
 * @returns the estimator and alpha to use, their sources and the reason
 * @example
 * ```ts
 * pilotCorrectionChoice(loaded.pilot, { alpha: 0.1 }); // { estimator: 'ipw', alpha: 0.1, alphaSource: 'given', ... } for a network
 * ```
 */
export function pilotCorrectionChoice(
  pilot: Pilot,
  given: { estimator?: EstimatorName | undefined; alpha?: number | undefined },
): PilotCorrectionChoice {
  const recommended = correctionForPilot(pilot);
  const flags = [
    ...(given.estimator === undefined ? [] : [`--estimator ${given.estimator}`]),
    ...(given.alpha === undefined ? [] : [`--alpha ${given.alpha}`]),
  ];
  return {
    estimator: given.estimator ?? recommended.estimator,
    alpha: given.alpha ?? recommended.alpha,
    estimatorSource: given.estimator === undefined ? 'default for this pilot' : 'given',
    alphaSource: given.alpha === undefined ? 'default for this pilot' : 'given',
    reason:
      flags.length === 0
        ? recommended.reason
        : `${flags.join(' and ')} given; the default for this pilot is ${recommended.estimator} with alpha ${recommended.alpha}, because ${recommended.reason}`,
    recommended,
  };
}
