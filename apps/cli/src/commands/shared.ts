import { DESIGN_NAMES, type DesignName } from '@rarefy/sampling-core';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { integer, positiveInteger } from '../options.js';

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
