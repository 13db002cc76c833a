import { inspectOnnxModel } from '@rarefy/pilot-model';
import { isRarefyError, RarefyError, RarefyInputError, RarefyIoError } from '@rarefy/sampling-core';
import {
  encodeTowerInputs,
  type FeatureValue,
  parseTowerInputsDescription,
  TOWER_METADATA,
  type TowerFeeds,
  type TowerInputsDescription,
} from '@rarefy/two-tower';
import { InferenceSession, Tensor } from 'onnxruntime-node';

export type { FeatureValue } from '@rarefy/two-tower';

/**
 * The features of one user (or item), by column name: a string or number for a categorical column
 * (hashed as `String(value)`), the `separator`-joined values of a multi-hot one (`"Comedy|Drama"`),
 * a number for a numeric one; null or absent for a missing value.
 */
export type FeatureRow = Readonly<Record<string, FeatureValue>>;

/** Every feature column a tower's description reads, in input order. */
function columnsOf(description: TowerInputsDescription): string[] {
  const columns = description.inputs.flatMap((input) => {
    switch (input.kind) {
      case 'id':
        return [];
      case 'numeric':
        return [...input.columns];
      default:
        return [input.column];
    }
  });
  return [...new Set(columns)];
}

/** The graph inputs a description feeds (a multi-hot input also feeds its mask). */
function inputNamesOf(description: TowerInputsDescription): string[] {
  return description.inputs.flatMap((input) =>
    input.kind === 'multiHot' ? [input.name, input.mask] : [input.name],
  );
}

function toTensors(feeds: TowerFeeds): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = {};
  for (const [name, feed] of Object.entries(feeds)) {
    if (feed.type === 'int64') tensors[name] = new Tensor('int64', feed.data, feed.dims);
    else if (feed.type === 'float32') tensors[name] = new Tensor('float32', feed.data, feed.dims);
    else tensors[name] = new Tensor('float64', feed.data, feed.dims);
  }
  return tensors;
}

/** The request field of row r: the field itself for a single row, else `<field>[r]`. */
function fieldOf(field: string, list: boolean, row: number): string {
  return list ? `${field}[${row}]` : field;
}

/**
 * An error of `encodeTowerInputs` (which names `rows[r].features.<column>`) renamed to the request's
 * field of the row (`body.userFeatures.<column>`).
 */
function renamed(error: RarefyError, field: string, list: boolean): RarefyInputError {
  const rename = (text: string): string =>
    text.replace(/rows\[(\d+)\](\.features)?/g, (_, row: string) => fieldOf(field, list, Number(row)));
  return new RarefyInputError(error.code, rename(error.problem), error.fix, {
    ...error.details,
    ...(error.input === undefined ? {} : { input: rename(error.input) }),
  });
}

/**
 * A tower of a two-tower model exported by `@rarefy/two-tower` (`modelExport`, `towerToOnnx`), run by
 * onnxruntime: turns feature rows (a new user's or item's features: cold start) into L2-normalised
 * embeddings, asynchronously (onnxruntime runs off the event loop).
 *
 * How features become the graph's inputs is two-tower's input description (`format:
 * 'rarefy-tower-inputs'`), from the export's `towerInputs.<side>` or else the ONNX model's
 * `rarefy.towerInputs` metadata, applied with two-tower's `encodeTowerInputs`: the id input gets the
 * shared unknown row (the server embeds users it has no embedding for), categorical and multi-hot
 * values are hashed into their buckets, a missing numeric value is fed as its training mean. The
 * embedding is the graph's output named by the description, float32 `[N, dimension]`, unit rows.
 *
 * @example
 * ```ts
 * const tower = await OnnxTower.create(exported.userTower, {
 *   source: 'user-tower.onnx', dimension: 64, towerInputs: exported.towerInputs?.user,
 * });
 * const embeddings = await tower.embed([{ age: 31, country: 'NZ', genres: 'Comedy|Drama' }], 'body.userFeatures');
 * ```
 */
export class OnnxTower {
  /** The description of the tower's inputs (two-tower's). */
  readonly description: TowerInputsDescription;
  /** Every feature column the tower reads. */
  readonly columns: readonly string[];
  /** Width of the embeddings it returns. */
  readonly dimension: number;
  private readonly session: InferenceSession;
  private readonly source: string;

  private constructor(session: InferenceSession, description: TowerInputsDescription, source: string) {
    this.session = session;
    this.description = description;
    this.dimension = description.output.dimension;
    this.columns = columnsOf(description);
    this.source = source;
  }

  /**
   * Loads a tower, reads the description of its inputs, checks that it names the graph's inputs and
   * output, and embeds one row of missing values (the output must be `[1, dimension]` and finite).
   *
   * @param bytes - the tower's ONNX model
   * @param options - the file's name for messages, the expected embedding width, the export's
   *   `towerInputs` record for this side (when the exporter wrote one)
   * @returns the tower
   * @throws RarefyIoError `RAREFY_PARSE_ERROR` when the model cannot be loaded or its description is
   *   missing, malformed or does not fit the graph; RarefyError `RAREFY_DIMENSION_MISMATCH` when its
   *   output is not `[N, dimension]`
   */
  static async create(
    bytes: Uint8Array,
    options: { source: string; dimension: number; towerInputs?: unknown },
  ): Promise<OnnxTower> {
    const { source, dimension } = options;
    const description = readDescription(bytes, source, options.towerInputs);
    if (description.output.dimension !== dimension) {
      throw new RarefyError(
        'RAREFY_DIMENSION_MISMATCH',
        `${source}: the tower's output has ${description.output.dimension} values, the item embeddings ${dimension}`,
        'export the towers with the embeddings of the same model',
        { input: source },
      );
    }
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(bytes);
    } catch (error) {
      throw new RarefyIoError(
        'RAREFY_PARSE_ERROR',
        `${source}: onnxruntime cannot load the model (${error instanceof Error ? error.message : String(error)})`,
        'export the tower again',
        { input: source },
      );
    }
    try {
      const fed = inputNamesOf(description);
      const unfed = session.inputNames.filter((name) => !fed.includes(name));
      const unknown = fed.filter((name) => !session.inputNames.includes(name));
      if (unfed.length > 0 || unknown.length > 0 || !session.outputNames.includes(description.output.name)) {
        throw new RarefyIoError(
          'RAREFY_PARSE_ERROR',
          `${source}: the input description does not fit the graph (inputs ${session.inputNames.join(', ')}; described ${fed.join(', ')}; output ${description.output.name} among ${session.outputNames.join(', ')})`,
          'export the tower and its description together (modelExport writes both)',
          { input: source },
        );
      }
      const tower = new OnnxTower(session, description, source);
      await tower.embed([{}], 'check');
      return tower;
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  /**
   * Embeds rows of features: one L2-normalised embedding per row. Columns the tower does not read are
   * ignored; a missing one is a missing value.
   *
   * @param rows - feature values by column
   * @param field - the request field of the rows, for messages (`body.userFeatures`)
   * @param list - whether the field is a list (its row r is then named `<field>[r]`; default false:
   *   the field is the one row)
   * @returns `rows.length x dimension` values, row-major
   * @throws RarefyInputError naming the field and column when a numeric value is not a finite number
   */
  async embed(rows: readonly FeatureRow[], field: string, list = false): Promise<Float32Array> {
    const n = rows.length;
    if (n === 0) return new Float32Array(0);
    let feeds: TowerFeeds;
    try {
      feeds = encodeTowerInputs(
        this.description,
        rows.map((features) => ({ features })),
      );
    } catch (error) {
      throw isRarefyError(error) ? renamed(error, field, list) : error;
    }
    const output = this.description.output.name;
    let results: InferenceSession.ReturnType;
    try {
      results = await this.session.run(toTensors(feeds), [output]);
    } catch (error) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${field}: ${this.source} failed on these features (${error instanceof Error ? error.message : String(error)})`,
        `pass the tower's columns (${this.columns.join(', ')}) with values of the types it was trained on`,
        { input: field },
      );
    }
    const tensor = results[output] as Tensor;
    const dims = tensor.dims;
    if (dims.length !== 2 || dims[0] !== n || dims[1] !== this.dimension) {
      throw new RarefyError(
        'RAREFY_DIMENSION_MISMATCH',
        `${this.source}: output "${output}" has shape [${dims.join(', ')}] for ${n} rows, not [${n}, ${this.dimension}]`,
        'export the tower with the same output width as the item embeddings',
        { input: this.source },
      );
    }
    const embeddings = Float32Array.from(tensor.data as Float32Array);
    const bad = embeddings.findIndex((value) => !Number.isFinite(value));
    if (bad >= 0) {
      const input = fieldOf(field, list, Math.floor(bad / this.dimension));
      throw new RarefyInputError(
        'RAREFY_NON_FINITE',
        `${input}: the tower's embedding is not finite`,
        'check the numeric features (they must be finite numbers on the training scale)',
        { input },
      );
    }
    return embeddings;
  }

  /**
   * Releases the onnxruntime session.
   *
   * @returns when released
   */
  async release(): Promise<void> {
    await this.session.release();
  }
}

/** The tower's input description: the export's record, else the model's `rarefy.towerInputs` metadata. */
function readDescription(bytes: Uint8Array, source: string, declared: unknown): TowerInputsDescription {
  if (declared !== undefined && declared !== null) {
    return parseTowerInputsDescription(declared, `${source} towerInputs`);
  }
  const text = inspectOnnxModel(bytes, source).metadata[TOWER_METADATA.towerInputs];
  if (text === undefined) {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${source}: neither the export's towerInputs nor the model's ${TOWER_METADATA.towerInputs} metadata describes its inputs`,
      'export the model with @rarefy/two-tower (modelExport writes the description), or remove the tower from the export',
      { input: source },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${source}: metadata ${TOWER_METADATA.towerInputs} is not JSON (${error instanceof Error ? error.message : String(error)})`,
      'export the tower again',
      { input: source },
    );
  }
  return parseTowerInputsDescription(parsed, `${source} metadata ${TOWER_METADATA.towerInputs}`);
}
