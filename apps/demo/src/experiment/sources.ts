import { parseCsvMatrix } from '@rarefy/data-io';
import { RarefyError, simulateRareEvents } from '@rarefy/sampling-core';
import type { ExperimentData } from './experiment.js';
import { type GeneratorSettings, generatorOptions } from './generator.js';

/** The most fresh rows the calibration check of generated data uses. */
export const HOLDOUT_ROWS = 50_000;

/**
 * The page's generated data set: A.10 with the sliders' N, positive rate and signal, and a fresh
 * holdout of min(N, 50,000) rows drawn with the seed `${seed}:holdout` (as `rarefy quickstart`
 * does) for the calibration check.
 *
 * @param settings - rows, positive rate, signal, seed
 * @returns the population, its true coefficients and the holdout
 * @example
 * ```ts
 * const data = generatedData({ rows: 100_000, positiveRate: 0.012, signal: 0.5, seed: 1 });
 * ```
 */
export function generatedData(settings: GeneratorSettings): ExperimentData {
  const options = generatorOptions(settings);
  const population = simulateRareEvents(options);
  const holdoutRows = Math.min(settings.rows, HOLDOUT_ROWS);
  const holdout = simulateRareEvents({ ...options, rows: holdoutRows, seed: `${settings.seed}:holdout` });
  return {
    name: 'the A.10 generator',
    x: population.x,
    y: population.y,
    trueCoefficients: population.trueCoefficients,
    holdout: {
      x: holdout.x,
      y: holdout.y,
      name: `${holdoutRows.toLocaleString('en-US')} fresh rows (unsampled)`,
    },
  };
}

/** Column names that are taken as the label when a CSV is dropped (case-insensitive). */
const LABEL_NAMES = /^(y|label|target|class|clicks?|clicked|converted|conversion|outcome|positive)$/i;

/**
 * The column names of a CSV's header line (unquoted; enough to offer a label column).
 *
 * @param text - the start of the file (its first line is enough)
 * @returns the names
 * @example
 * ```ts
 * headerColumns('y,x1,"x 2"\n1,2,3'); // ['y', 'x1', 'x 2']
 * ```
 */
export function headerColumns(text: string): string[] {
  const line = (text.split(/\r?\n/, 1)[0] ?? '').replace(/^\uFEFF/, '');
  const names: string[] = [];
  let field = '';
  let quoted = false;
  for (let k = 0; k < line.length; k++) {
    const char = line[k] as string;
    if (quoted) {
      if (char === '"' && line[k + 1] === '"') {
        field += '"';
        k++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      names.push(field.trim());
      field = '';
    } else field += char;
  }
  names.push(field.trim());
  return names.filter((name) => name.length > 0);
}

/**
 * The column to use as the label of a dropped CSV: the first one named like a label (y, label,
 * target, click, converted, ...), else the first column.
 *
 * @param columns - the header's names
 * @returns the label column, or undefined for an empty header
 * @example
 * ```ts
 * guessLabelColumn(['x1', 'clicked', 'x2']); // 'clicked'
 * ```
 */
export function guessLabelColumn(columns: readonly string[]): string | undefined {
  return columns.find((name) => LABEL_NAMES.test(name)) ?? columns[0];
}

/**
 * A dropped CSV as the page's data set: every numeric column but the label is a feature, an
 * intercept is added, and the calibration check runs on all of its rows (they are unsampled).
 *
 * @param bytes - the file's bytes
 * @param options - the file's name (in messages) and the label column
 * @returns the data set
 * @throws RarefyInputError `RAREFY_PARSE_ERROR` naming the file, line and column of a malformed row;
 *   `RAREFY_INVALID_LABEL` for a label that is not 0/1
 * @example
 * ```ts
 * const data = csvData(new TextEncoder().encode('y,a\n1,0.5\n0,1.5\n'), { name: 'drop.csv', label: 'y' });
 * ```
 */
export function csvData(bytes: Uint8Array, options: { name: string; label: string }): ExperimentData {
  if (bytes.byteLength === 0) {
    throw new RarefyError(
      'RAREFY_PARSE_ERROR',
      `${options.name}: the file is empty`,
      'drop a CSV with a header line and rows',
      {
        input: options.name,
      },
    );
  }
  const matrix = parseCsvMatrix(bytes, { label: options.label, source: options.name });
  return { name: options.name, x: matrix.x, y: matrix.y };
}
