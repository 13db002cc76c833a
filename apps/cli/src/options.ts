import { InvalidArgumentError } from 'commander';

/**
 * A commander argument parser for a positive integer (`1000`, `1e6`); rejects anything else as a
 * usage error (exit status 2).
 *
 * @param option - the option's name for the message (`--n`)
 * @returns the parser
 * @example
 * ```ts
 * command.requiredOption('--n <rows>', 'number of rows', positiveInteger('--n'));
 * ```
 */
export function positiveInteger(option: string): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isSafeInteger(value) || value < 1) {
      throw new InvalidArgumentError(`${option} must be a positive integer such as 1000 or 1e6.`);
    }
    return value;
  };
}

/**
 * A commander argument parser for an integer (negative allowed), such as a seed.
 *
 * @param option - the option's name for the message (`--seed`)
 * @returns the parser
 * @example
 * ```ts
 * command.option('--seed <seed>', 'random seed', integer('--seed'), 1);
 * ```
 */
export function integer(option: string): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isSafeInteger(value)) {
      throw new InvalidArgumentError(`${option} must be an integer such as 1 or 42.`);
    }
    return value;
  };
}

/**
 * A commander argument parser for a finite number (`-6`, `0.5`, `1e-3`).
 *
 * @param option - the option's name for the message (`--intercept`)
 * @returns the parser
 * @example
 * ```ts
 * command.option('--intercept <beta0>', 'true intercept', finiteNumber('--intercept'), -6);
 * ```
 */
export function finiteNumber(option: string): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) {
      throw new InvalidArgumentError(`${option} must be a finite number such as -6 or 0.5.`);
    }
    return value;
  };
}
