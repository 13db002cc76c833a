import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { logisticFromSavedFiles, type ModelManifest } from '@rarefy/pilot-model';
import { type ModelFolder, OnnxPilot, readModelFolder } from '@rarefy/pilot-model/node';
import { type ColumnType, type Pilot, RarefyError, RarefyIoError } from '@rarefy/sampling-core';
import { RETRIEVAL_FILES, retrievalExportFromFiles } from '@rarefy/two-tower';
import { isRarefyServerError, RarefyServerError } from './errors.js';
import { createRecommendIndex, type RecommendIndex, type RecommendIndexOptions } from './recommend-index.js';
import { OnnxTower } from './tower.js';

/** A feature column a scoring model reads, in the order of a row sent as an array. */
export interface FeatureColumn {
  readonly name: string;
  /** `number` (also for `integer` and `label` columns) or `string` (a category, hashed by the model). */
  readonly type: 'number' | 'string';
}

/** What every served model has: where it came from and which version it is. */
export interface ServedModelBase {
  /** The export's absolute path. */
  readonly path: string;
  /** A short hash of the manifest (which lists every file's SHA-256): equal exports, equal versions. */
  readonly version: string;
  /** 1 for the model loaded at start, +1 per successful reload. */
  readonly generation: number;
  /** The export's manifest. */
  readonly manifest: ModelManifest;
  /** When it finished loading. */
  readonly loadedAt: Date;
}

/** A corrected classifier: rows of features in, population probabilities out. */
export interface ScoringModel extends ServedModelBase {
  readonly kind: 'logistic' | 'neural';
  /** Scores batches (a logistic model in-process, a network through onnxruntime). */
  readonly pilot: Pilot;
  /** `in-process` (logistic, float64) or `onnxruntime`. */
  readonly runtime: 'in-process' | 'onnxruntime';
  /** The columns a row must give, in the order of a row sent as an array. */
  readonly features: readonly FeatureColumn[];
}

/** Ids and L2-normalised embeddings of the users or the items of a retrieval export. */
export interface EmbeddingTable {
  /** Row r's id. */
  readonly ids: readonly string[];
  /** ids.length x dimension, row-major. */
  readonly embeddings: Float32Array;
  /** The row of every id. */
  readonly rows: ReadonlyMap<string, number>;
}

/** A two-tower retrieval export: item embeddings in an index, users by id or through the user tower. */
export interface RetrievalModel extends ServedModelBase {
  readonly kind: 'two-tower';
  /** Width of every embedding. */
  readonly dimension: number;
  /** The training temperature (scores served are the uncorrected inner products <u, v>). */
  readonly temperature: number;
  readonly items: EmbeddingTable;
  /** Users with trained embeddings, or null when the export has none. */
  readonly users: EmbeddingTable | null;
  /** Top-K search over the items. */
  readonly index: RecommendIndex;
  /** Embeds a user from features (cold start), or null when the export has no user tower. */
  readonly userTower: OnnxTower | null;
  /** Embeds an item from features, or null when the export has no item tower. */
  readonly itemTower: OnnxTower | null;
}

/** A loaded model: a scoring model or a retrieval export. */
export type ServedModel = ScoringModel | RetrievalModel;

/** Options of loading a model. */
export interface ModelLoadOptions {
  /** The recommendation index of a retrieval export (kind, threads, HNSW tuning). */
  index?: RecommendIndexOptions;
}

function versionOf(manifest: ModelManifest): string {
  return createHash('sha256').update(JSON.stringify(manifest)).digest('hex').slice(0, 12);
}

function featureColumns(manifest: ModelManifest, pilotFeatures: readonly string[]): FeatureColumn[] {
  const typeOf = (type: ColumnType): FeatureColumn['type'] => (type === 'string' ? 'string' : 'number');
  const schema = manifest.schema.features;
  if (schema.length === 0) return pilotFeatures.map((name) => ({ name, type: 'number' }));
  const columns = schema.map((feature) => ({ name: feature.name, type: typeOf(feature.type) }));
  const known = new Set(columns.map((column) => column.name));
  // The model may read a column the schema leaves out (a foreign export): rows must give it too.
  for (const name of pilotFeatures) if (!known.has(name)) columns.push({ name, type: 'number' });
  return columns;
}

async function loadScoringModel(
  folder: ModelFolder,
  base: Omit<ServedModelBase, 'loadedAt'>,
): Promise<ScoringModel> {
  const { manifest } = folder;
  if (manifest.kind === 'logistic') {
    const pilot = logisticFromSavedFiles(manifest as ModelManifest<'logistic'>, folder.files, base.path);
    return {
      ...base,
      kind: 'logistic',
      pilot,
      runtime: 'in-process',
      features: featureColumns(manifest, pilot.features),
      loadedAt: new Date(),
    };
  }
  const onnxFile = manifest.files.find((file) => file.role === 'onnx');
  const bytes = onnxFile === undefined ? undefined : folder.files.get(onnxFile.path);
  if (onnxFile === undefined || bytes === undefined) {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${base.path}: a ${manifest.kind} model without an ONNX file, which the server cannot score`,
      'save the model with its ONNX export (the default of saveModel)',
      { input: base.path },
    );
  }
  // OnnxPilot hashes the string columns a network's metadata names (`rarefy.hashing`) as in training.
  const pilot = await OnnxPilot.create(bytes, { source: `${base.path}/${onnxFile.path}` });
  return {
    ...base,
    kind: 'neural',
    pilot,
    runtime: 'onnxruntime',
    features: featureColumns(manifest, pilot.features),
    loadedAt: new Date(),
  };
}

function embeddingTable(ids: readonly string[], embeddings: Float32Array, source: string): EmbeddingTable {
  for (let at = 0; at < embeddings.length; at++) {
    if (!Number.isFinite(embeddings[at] as number)) {
      throw new RarefyIoError(
        'RAREFY_NON_FINITE',
        `${source}: value ${at} (row ${JSON.stringify(ids[Math.floor(at / (embeddings.length / ids.length))])}) is not finite`,
        'export the model again: its training diverged or the file is damaged',
        { input: source },
      );
    }
  }
  const rows = new Map<string, number>();
  ids.forEach((id, row) => {
    rows.set(id, row);
  });
  return { ids, embeddings, rows };
}

async function loadRetrievalModel(
  folder: ModelFolder,
  base: Omit<ServedModelBase, 'loadedAt'>,
  options: ModelLoadOptions,
): Promise<RetrievalModel> {
  const exported = retrievalExportFromFiles(folder.manifest, folder.files, base.path);
  const { dimension } = exported;
  if (exported.items.ids.length === 0) {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${base.path}: the export has no items`,
      'export a model trained on at least one item',
      { input: base.path },
    );
  }
  const items = embeddingTable(exported.items.ids, exported.items.embeddings, `${base.path}/item embeddings`);
  const users = exported.users
    ? embeddingTable(exported.users.ids, exported.users.embeddings, `${base.path}/user embeddings`)
    : null;
  let index: RecommendIndex | null = null;
  let userTower: OnnxTower | null = null;
  let itemTower: OnnxTower | null = null;
  try {
    if (exported.userTower) {
      userTower = await OnnxTower.create(exported.userTower, {
        source: `${base.path}/${RETRIEVAL_FILES.userTower}`,
        dimension,
        towerInputs: exported.towerInputs?.user,
      });
    }
    if (exported.itemTower) {
      itemTower = await OnnxTower.create(exported.itemTower, {
        source: `${base.path}/${RETRIEVAL_FILES.itemTower}`,
        dimension,
        towerInputs: exported.towerInputs?.item,
      });
    }
    index = await createRecommendIndex(items.embeddings, dimension, options.index);
    return {
      ...base,
      kind: 'two-tower',
      dimension,
      temperature: exported.temperature,
      items,
      users,
      index,
      userTower,
      itemTower,
      loadedAt: new Date(),
    };
  } catch (error) {
    await Promise.allSettled([index?.close(), userTower?.release(), itemTower?.release()]);
    throw error;
  }
}

/**
 * Loads and checks a whole model export: a `logistic` or `neural` folder (from `rarefy fit --save`)
 * becomes a {@link ScoringModel}; a `two-tower` folder (from `rarefy train-retrieval --out`) becomes
 * a {@link RetrievalModel} with its ids, embeddings (every value checked finite), towers (each run
 * once on a neutral row) and its index built. Nothing is half-loaded: on failure every resource
 * taken so far is released.
 *
 * @param path - the export folder
 * @param generation - the generation number to give the model
 * @param options - the recommendation index's options
 * @returns the model, ready to serve
 * @throws RarefyIoError `RAREFY_IO_ERROR` (no folder, a file missing) or `RAREFY_PARSE_ERROR` (a file
 *   malformed or changed since export), RarefyError for a model that cannot be bound
 * @example
 * ```ts
 * const model = await loadServedModel('models/ctr', 1);
 * ```
 */
export async function loadServedModel(
  path: string,
  generation: number,
  options: ModelLoadOptions = {},
): Promise<ServedModel> {
  const absolute = resolve(path);
  const folder = await readModelFolder(absolute);
  const base = { path: absolute, version: versionOf(folder.manifest), generation, manifest: folder.manifest };
  return folder.manifest.kind === 'two-tower'
    ? loadRetrievalModel(folder, base, options)
    : loadScoringModel(folder, base);
}

/**
 * Frees a model's native resources: its index workers and onnxruntime sessions.
 *
 * @param model - the model
 * @returns when freed
 */
export async function disposeServedModel(model: ServedModel): Promise<void> {
  if (model.kind === 'two-tower') {
    await Promise.allSettled([model.index.close(), model.userTower?.release(), model.itemTower?.release()]);
  } else if (model.pilot instanceof OnnxPilot) {
    await model.pilot.release();
  }
}

/** A model held for the length of one request: release it when the response is sent. */
export interface ModelLease {
  /** The model this request uses from start to end, whatever reloads happen meanwhile. */
  readonly model: ServedModel;
  /** Gives the model back (once; later calls do nothing). */
  release(): void;
}

interface Holder {
  readonly model: ServedModel;
  leases: number;
  retired: boolean;
  disposed: Promise<void> | null;
}

/** Whether two kinds are served by the same endpoints (scoring: logistic and neural). */
function sameFamily(a: ServedModel['kind'], b: ServedModel['kind']): boolean {
  return (a === 'two-tower') === (b === 'two-tower');
}

/** What {@link ModelState} reports when a model is swapped in. */
export type ModelSwapListener = (model: ServedModel) => void;

/**
 * The model being served, and its atomic replacement. A request takes a lease on the current model
 * (an immutable bundle: pilot, or ids, embeddings, index and towers) and keeps it until its response
 * is sent. A reload loads and checks the whole new export first — while the old model keeps
 * serving — then swaps one reference; the old model is freed when its last lease is released. A
 * broken export is refused and changes nothing.
 *
 * @example
 * ```ts
 * const state = await ModelState.open('models/ctr');
 * const lease = state.acquire();
 * try { await lease.model... } finally { lease.release(); }
 * await state.reload('models/ctr-v2');
 * ```
 */
export class ModelState {
  private current: Holder;
  private reloading = false;
  private closed = false;
  private readonly options: ModelLoadOptions;
  private readonly listeners: ModelSwapListener[] = [];

  private constructor(model: ServedModel, options: ModelLoadOptions) {
    this.current = { model, leases: 0, retired: false, disposed: null };
    this.options = options;
  }

  /**
   * Loads the first model.
   *
   * @param path - the export folder
   * @param options - index options (also used by every reload)
   * @returns the state, serving that model
   * @throws as {@link loadServedModel}
   */
  static async open(path: string, options: ModelLoadOptions = {}): Promise<ModelState> {
    return new ModelState(await loadServedModel(path, 1, options), options);
  }

  /** The model being served now (for facts such as its version; requests use {@link acquire}). */
  get model(): ServedModel {
    return this.current.model;
  }

  /** Whether a reload is loading a model now. */
  get isReloading(): boolean {
    return this.reloading;
  }

  /**
   * Registers a function called with every model swapped in (and once now with the current one).
   *
   * @param listener - the function
   * @returns nothing
   */
  onSwap(listener: ModelSwapListener): void {
    this.listeners.push(listener);
    listener(this.current.model);
  }

  /**
   * Takes a lease on the current model for one request.
   *
   * @returns the lease; release it when the response is sent
   */
  acquire(): ModelLease {
    const holder = this.current;
    holder.leases++;
    let released = false;
    return {
      model: holder.model,
      release: () => {
        if (released) return;
        released = true;
        holder.leases--;
        this.disposeIfIdle(holder);
      },
    };
  }

  /**
   * Loads a new export (by default the same folder again, for an export rewritten in place), checks
   * it, and swaps it in. Requests in flight finish on the old model.
   *
   * @param path - the new export folder (default: the current model's)
   * @returns the model now served
   * @throws RarefyServerError `RAREFY_RELOAD_IN_PROGRESS` (409) while another reload runs,
   *   `RAREFY_MODEL_REFUSED` (422) when the export cannot be loaded (the cause says why),
   *   `RAREFY_MODEL_KIND_CHANGED` (409) when a scoring model would replace a retrieval export or the
   *   reverse, `RAREFY_SHUTTING_DOWN` (503) after {@link close}
   */
  async reload(path: string = this.current.model.path): Promise<ServedModel> {
    if (this.closed) {
      throw new RarefyServerError(
        'RAREFY_SHUTTING_DOWN',
        503,
        'server: shutting down',
        'reload another server',
      );
    }
    if (this.reloading) {
      throw new RarefyServerError(
        'RAREFY_RELOAD_IN_PROGRESS',
        409,
        'reload: another reload is still loading a model',
        'wait for it to finish, then reload again if needed',
      );
    }
    this.reloading = true;
    try {
      let model: ServedModel;
      try {
        model = await loadServedModel(path, this.current.model.generation + 1, this.options);
      } catch (error) {
        if (isRarefyServerError(error)) throw error;
        const reason =
          error instanceof RarefyError
            ? error.message
            : error instanceof Error
              ? error.message
              : String(error);
        throw new RarefyServerError(
          'RAREFY_MODEL_REFUSED',
          422,
          `body.model: ${resolve(path)} cannot be loaded, so the model ${this.current.model.version} keeps serving (${reason})`,
          'fix or re-export the model, then reload again',
          { input: 'body.model', cause: error },
        );
      }
      const old = this.current;
      if (!sameFamily(old.model.kind, model.kind) || this.closed) {
        await disposeServedModel(model);
        if (this.closed) {
          throw new RarefyServerError(
            'RAREFY_SHUTTING_DOWN',
            503,
            'server: shutting down',
            'reload another server',
          );
        }
        throw new RarefyServerError(
          'RAREFY_MODEL_KIND_CHANGED',
          409,
          `body.model: ${model.path} is a ${model.kind} model, but this server serves a ${old.model.kind} model and its endpoints`,
          'start another server for it (`rarefy serve --model <dir>`)',
          { input: 'body.model' },
        );
      }
      this.current = { model, leases: 0, retired: false, disposed: null };
      old.retired = true;
      this.disposeIfIdle(old);
      for (const listener of this.listeners) listener(model);
      return model;
    } finally {
      this.reloading = false;
    }
  }

  /**
   * Retires the current model and frees it once its last lease is released (call it after the HTTP
   * server has drained).
   *
   * @returns when the model is freed
   */
  async close(): Promise<void> {
    this.closed = true;
    const holder = this.current;
    holder.retired = true;
    this.disposeIfIdle(holder);
    if (holder.disposed !== null) await holder.disposed;
  }

  private disposeIfIdle(holder: Holder): void {
    if (!holder.retired || holder.leases > 0 || holder.disposed !== null) return;
    holder.disposed = disposeServedModel(holder.model);
  }
}
