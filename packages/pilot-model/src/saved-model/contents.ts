import {
  isPlainFileName,
  type ModelManifest,
  ONNX_FILE,
  type SavedModelContents,
  type SavedModelFile,
  type SaveModelOptions,
  type TrainingRecord,
} from '@rarefy/model-kit';
import { RarefyIoError } from '@rarefy/sampling-core';
import { LogisticPilot, type LogisticPilotFitted } from '../logistic-pilot.js';

/** The coefficients file's name. */
export const COEFFICIENTS_FILE = 'coefficients.json';

/**
 * A logistic model's saved-model contents: `coefficients.json` ({ names, coefficients, intercept },
 * exact float64 values) and, unless `onnx` is false, `model.onnx` (the probability-output export).
 *
 * @param model - the model
 * @param options - `label` column and whether to write `model.onnx`
 * @returns the contents for `saveModel`
 * @example
 * ```ts
 * const contents = logisticModelContents(pilot, { label: 'y' });
 * ```
 */
export function logisticModelContents(
  model: LogisticPilot,
  options: SaveModelOptions = {},
): SavedModelContents<'logistic'> {
  const files: SavedModelFile[] = [
    {
      path: COEFFICIENTS_FILE,
      role: 'coefficients',
      format: 'json',
      data: `${JSON.stringify(
        { names: model.names, coefficients: Array.from(model.coefficients), intercept: model.intercept },
        null,
        2,
      )}\n`,
    },
  ];
  const withOnnx = options.onnx ?? true;
  if (withOnnx) files.push({ path: ONNX_FILE, role: 'onnx', format: 'onnx', data: model.toOnnx() });
  const training: TrainingRecord = model.training ?? {
    design: 'unknown',
    estimator: 'unknown',
    sizes: {},
    seed: null,
  };
  return {
    kind: 'logistic',
    schema: {
      features: model.features.map((name) => ({ name, type: 'number' as const })),
      label: options.label ?? null,
    },
    training,
    model: { coefficients: COEFFICIENTS_FILE, intercept: model.intercept, onnx: withOnnx ? ONNX_FILE : null },
    files,
  };
}

function fittedFromTraining(training: TrainingRecord): LogisticPilotFitted | undefined {
  if (training.design !== 'balanced' || training.estimator !== 'case-control') return undefined;
  const sizes = training.sizes;
  const correction = training.interceptCorrection;
  const wholeClass = training.wholeClass;
  if (
    typeof sizes.negatives !== 'number' ||
    typeof sizes.positives !== 'number' ||
    typeof sizes.populationNegatives !== 'number' ||
    typeof sizes.populationPositives !== 'number' ||
    typeof correction !== 'number'
  ) {
    return undefined;
  }
  return {
    design: 'balanced',
    sizes: {
      negatives: sizes.negatives,
      positives: sizes.positives,
      populationNegatives: sizes.populationNegatives,
      populationPositives: sizes.populationPositives,
    },
    interceptCorrection: correction,
    seed: training.seed,
    wholeClass: wholeClass === 'positives' || wholeClass === 'negatives' ? wholeClass : null,
  };
}

/**
 * Rebuilds a logistic model from a saved folder's manifest and files.
 *
 * @param manifest - the validated manifest (kind `logistic`)
 * @param files - the folder's files by name
 * @param source - the folder, for messages
 * @returns the model, with its training record (and, for a balanced pilot, `fitted`)
 * @throws RarefyIoError `RAREFY_PARSE_ERROR` when the coefficients file is malformed or disagrees with the schema
 * @example
 * ```ts
 * const pilot = logisticFromSavedFiles(manifest, files, 'models/pilot');
 * ```
 */
export function logisticFromSavedFiles(
  manifest: ModelManifest<'logistic'>,
  files: ReadonlyMap<string, Uint8Array>,
  source: string,
): LogisticPilot {
  const path = manifest.model.coefficients;
  const where = `${source}/${path}`;
  const fail = (problem: string): never => {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${where}: ${problem}`,
      'save the model again (the folder was edited or damaged)',
      { input: where },
    );
  };
  const bytes = files.get(path);
  if (bytes === undefined || !isPlainFileName(path)) return fail('the coefficients file is missing');
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    return fail(`not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof parsed !== 'object' || parsed === null) return fail('not a JSON object');
  const record = parsed as { names?: unknown; coefficients?: unknown; intercept?: unknown };
  const names = record.names;
  const coefficients = record.coefficients;
  if (
    !Array.isArray(names) ||
    !names.every((name) => typeof name === 'string') ||
    !Array.isArray(coefficients) ||
    !coefficients.every((value) => typeof value === 'number' && Number.isFinite(value)) ||
    typeof record.intercept !== 'boolean'
  ) {
    return fail('not { names: string[], coefficients: finite number[], intercept: boolean }');
  }
  if (record.intercept !== manifest.model.intercept) fail('intercept disagrees with manifest.json');
  const fitted = fittedFromTraining(manifest.training);
  const pilot = LogisticPilot.fromCoefficients(names as string[], coefficients as number[], {
    intercept: record.intercept,
    training: manifest.training,
    ...(fitted === undefined ? {} : { fitted }),
  });
  const schemaNames = manifest.schema.features.map((feature) => feature.name);
  if (schemaNames.join('\u0000') !== pilot.features.join('\u0000')) {
    fail(
      `its features (${pilot.features.join(', ')}) differ from manifest.json's schema (${schemaNames.join(', ')})`,
    );
  }
  return pilot;
}
