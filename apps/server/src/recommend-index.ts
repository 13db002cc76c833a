import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { RarefyError } from '@rarefy/sampling-core';
import { HnswIndex } from '@rarefy/two-tower/search';
import { type SearchResult, searchExcluding } from './exclusion.js';
import type {
  GraphTuning,
  IndexWorkerJob,
  IndexWorkerReply,
  IndexWorkerRequest,
  IndexWorkerSetup,
} from './index-worker.js';

export type { SearchResult } from './exclusion.js';

/** Which search an index runs: exact (every item scored) or approximate (an HNSW graph). */
export type IndexKind = 'exact' | 'hnsw';

/**
 * A top-K inner-product search over a fixed set of item embeddings. Both implementations answer
 * without blocking the event loop for longer than one HNSW descent (well under a millisecond at
 * 100,000 x 64): exact search runs in worker threads.
 */
export interface RecommendIndex {
  /** `exact` or `hnsw`. */
  readonly kind: IndexKind;
  /** Items indexed. */
  readonly size: number;
  /** Width of every embedding. */
  readonly dimension: number;
  /**
   * The `k` items with the largest inner product with `query`, leaving out `exclude`.
   *
   * @param query - `dimension` values
   * @param k - how many to return (a positive integer)
   * @param exclude - item rows never to return, ascending (the user's already seen items)
   * @returns rows and scores, best first
   */
  search(query: Float32Array, k: number, exclude?: Int32Array): Promise<SearchResult>;
  /** Frees the index (stops its workers). Searches after this are refused. */
  close(): Promise<void>;
}

/** Tuning of the HNSW graph (two-tower's `HnswIndex` on usearch) and its threads. */
export interface HnswOptions {
  /** Edges per node (default: two-tower's, 16). */
  connectivity?: number;
  /** Candidate list size while building (default: two-tower's, 128; higher is slower to build, better recall). */
  expansionAdd?: number;
  /**
   * Candidate list size while searching (default {@link DEFAULT_EXPANSION_SEARCH}; raised to k +
   * excluded items when smaller).
   */
  expansionSearch?: number;
  /** Threads building the graph (default: all cores but one, so that serving goes on). */
  buildThreads?: number;
  /**
   * Worker threads searching the graph, which they share (default {@link DEFAULT_HNSW_SEARCH_THREADS});
   * 0 searches on the calling thread.
   */
  searchThreads?: number;
}

/** Options of {@link createRecommendIndex}. */
export interface RecommendIndexOptions {
  /** `exact`, `hnsw`, or `auto` (default): exact up to {@link AUTO_EXACT_MAX_ITEMS} items, else HNSW. */
  kind?: IndexKind | 'auto';
  /** Worker threads answering exact searches (default: all cores but one, at most 4). */
  searchThreads?: number;
  /** HNSW tuning and threads. */
  hnsw?: HnswOptions;
}

/**
 * The serving default of the HNSW search list: recall@10 0.94-0.95 of the exact top 10 on the
 * benchmark's 100,000 x 64 embeddings (two-tower's own default, 128, trades throughput for recall).
 */
export const DEFAULT_EXPANSION_SEARCH = 64;

/** The largest catalogue that `kind: 'auto'` searches exactly (a search costs about 2-3 ms at 100,000 x 64). */
export const AUTO_EXACT_MAX_ITEMS = 20_000;

function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/**
 * The default number of worker threads searching an HNSW graph: all cores but one (which serves
 * HTTP), at most 4; 0 (search on the calling thread) on a single core. The threads share the
 * memory-mapped graph, so more threads cost no memory.
 */
export const DEFAULT_HNSW_SEARCH_THREADS: number = Math.max(0, Math.min(4, availableParallelism() - 1));

function checkItems(items: Float32Array, dimension: number): void {
  if (!Number.isSafeInteger(dimension) || dimension < 1 || items.length % dimension !== 0) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `items: ${items.length} values are not rows of dimension ${dimension}`,
      'pass size x dimension values',
      { input: 'items' },
    );
  }
}

function checkQuery(query: Float32Array, dimension: number, k: number): void {
  if (query.length !== dimension) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `query: ${query.length} values for an index of dimension ${dimension}`,
      `pass ${dimension} values`,
      { input: 'query' },
    );
  }
  if (!Number.isSafeInteger(k) || k < 1) {
    throw new RarefyError('RAREFY_INVALID_ARGUMENT', `k: ${k} is not a positive integer`, 'pass k >= 1', {
      input: 'k',
    });
  }
}

function closedError(): RarefyError {
  return new RarefyError(
    'RAREFY_INVALID_ARGUMENT',
    'index: it was closed',
    'search the index of the model being served (it is replaced on reload)',
    { input: 'index' },
  );
}

/** How a worker thread is started: its script (a file URL, or code with `eval`) and options. */
interface WorkerLaunch {
  readonly script: string | URL;
  readonly options: WorkerOptions;
}

let launch: WorkerLaunch | undefined;

/**
 * How to start the index worker (src/index-worker.ts, which imports @rarefy/two-tower/search: no tfjs
 * or onnx in each thread). Built, it is dist/index-worker.js beside this module. From the TypeScript
 * sources (vitest, `--import tsx`) Node 20 applies no module hooks of the parent in a worker, so the
 * worker starts from a one-line bootstrap that registers tsx there (resolved from this package: a
 * devDependency) and imports the .ts module with the `@rarefy/source` condition.
 */
function workerLaunch(): WorkerLaunch {
  if (launch !== undefined) return launch;
  const here = import.meta.url;
  if (!here.endsWith('.ts')) {
    launch = { script: new URL('./index-worker.js', here), options: {} };
    return launch;
  }
  const tsx = pathToFileURL(
    join(dirname(createRequire(here).resolve('tsx/package.json')), 'dist', 'esm', 'api', 'index.mjs'),
  ).href;
  const worker = new URL('./index-worker.ts', here).href;
  const execArgv = process.execArgv.some((argument) => argument.includes('@rarefy/source'))
    ? [...process.execArgv]
    : [...process.execArgv, '--conditions=@rarefy/source'];
  launch = {
    script: `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(worker)}); });`,
    options: { eval: true, execArgv },
  };
  return launch;
}

/** One worker thread, answering requests one at a time in order. */
class SearchWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  private nextId = 0;
  private failure: Error | null = null;

  constructor(setup: IndexWorkerSetup) {
    const { script, options } = workerLaunch();
    this.worker = new Worker(script, { ...options, workerData: setup });
    this.worker.on('message', (reply: IndexWorkerReply) => {
      const waiter = this.pending.get(reply.id);
      if (waiter === undefined) return;
      this.pending.delete(reply.id);
      if (reply.error !== undefined) {
        waiter.reject(
          new RarefyError('RAREFY_INVALID_ARGUMENT', `index worker: ${reply.error}`, 'see the server log', {
            input: 'index',
          }),
        );
      } else {
        waiter.resolve(reply.result);
      }
    });
    const fail = (error: Error): void => {
      this.failure = error;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      if (this.failure === null) fail(new Error(`the index worker exited (code ${code})`));
    });
  }

  /** Requests waiting for this worker. */
  get load(): number {
    return this.pending.size;
  }

  /** Whether the worker died. */
  get failed(): boolean {
    return this.failure !== null;
  }

  request<T>(request: IndexWorkerRequest): Promise<T> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      const job: IndexWorkerJob = { ...request, id };
      this.worker.postMessage(job);
    });
  }

  async terminate(): Promise<void> {
    this.failure ??= closedError();
    await this.worker.terminate();
  }
}

/** Worker threads with the same setup; a request goes to the least busy, a dead worker is replaced. */
class WorkerPool {
  private readonly workers: SearchWorker[];
  private closed = false;

  constructor(
    private readonly setup: IndexWorkerSetup,
    size: number,
  ) {
    this.workers = Array.from({ length: size }, () => new SearchWorker(setup));
  }

  /** Waits until every worker has started (its graph mapped). */
  async ready(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.request({ type: 'ping' })));
  }

  request<T>(request: IndexWorkerRequest): Promise<T> {
    if (this.closed) return Promise.reject(closedError());
    let worker = this.workers[0] as SearchWorker;
    for (const candidate of this.workers) if (candidate.load < worker.load) worker = candidate;
    if (worker.failed) {
      const replacement = new SearchWorker(this.setup);
      this.workers[this.workers.indexOf(worker)] = replacement;
      void worker.terminate();
      worker = replacement;
    }
    return worker.request<T>(request);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}

/** `items` as an array of its own: posting a view to a worker would clone its whole buffer. */
function wholeArray(items: Float32Array): Float32Array {
  return items.byteOffset === 0 && items.byteLength === items.buffer.byteLength ? items : items.slice();
}

/**
 * Exact top-K by inner product: every item is scored by two-tower's `topKByDotProductNative`
 * (usearch's SIMD brute force) in worker threads, each holding a copy of the embeddings, so a search
 * (about 2-3 ms at 100,000 x 64 on one core) never blocks the event loop. A search goes to the least
 * busy worker; a worker that dies is replaced.
 *
 * @example
 * ```ts
 * const index = new ExactRecommendIndex(embeddings, 64, { threads: 1 });
 * const { indices, scores } = await index.search(query, 10, Int32Array.of(3, 17));
 * await index.close();
 * ```
 */
export class ExactRecommendIndex implements RecommendIndex {
  readonly kind = 'exact' as const;
  readonly size: number;
  readonly dimension: number;
  private readonly pool: WorkerPool;

  /**
   * @param items - `size x dimension` embeddings, row-major (copied into each worker)
   * @param dimension - width of every embedding
   * @param options - `threads`: worker threads (default: all cores but one, at most 4)
   */
  constructor(items: Float32Array, dimension: number, options: { threads?: number } = {}) {
    checkItems(items, dimension);
    this.dimension = dimension;
    this.size = items.length / dimension;
    const threads = Math.max(1, Math.floor(options.threads ?? defaultThreads()));
    // A whole array also spares two-tower a copy per search (usearch ignores a view's offset).
    this.pool = new WorkerPool({ items: wholeArray(items), dimension }, threads);
  }

  /**
   * Waits until every worker has started (a worker loads @rarefy/two-tower/search: a fraction of a
   * second), so that the first searches do not wait for it.
   *
   * @returns this index
   */
  async ready(): Promise<this> {
    await this.pool.ready();
    return this;
  }

  /** {@inheritDoc RecommendIndex.search} */
  async search(
    query: Float32Array,
    k: number,
    exclude: Int32Array = new Int32Array(0),
  ): Promise<SearchResult> {
    checkQuery(query, this.dimension, k);
    if (this.size === 0) return { indices: new Int32Array(0), scores: new Float32Array(0) };
    // Copies: posting a view clones its whole buffer (a user's row is a view of all the embeddings).
    return this.pool.request<SearchResult>({
      type: 'exact',
      query: query.slice(),
      k,
      exclude: exclude.slice(),
    });
  }

  /** {@inheritDoc RecommendIndex.close} */
  async close(): Promise<void> {
    await this.pool.close();
  }
}

/**
 * Approximate top-K by inner product over an HNSW graph: two-tower's `HnswIndex` (usearch), built in a
 * worker thread and saved to a temporary file, which the searching threads memory-map, so neither
 * building nor loading blocks serving. Searches (a graph descent: a fraction of a millisecond at
 * 100,000 x 64) run in `searchThreads` worker threads that share the mapped graph, or on the calling
 * thread when `searchThreads` is 0. Excluded items are dropped from a search for k + excluded items
 * (asking for more when too few are left).
 *
 * @example
 * ```ts
 * const index = await HnswRecommendIndex.build(embeddings, 64, { expansionSearch: 128 });
 * const { indices } = await index.search(query, 10);
 * ```
 */
export class HnswRecommendIndex implements RecommendIndex {
  readonly kind = 'hnsw' as const;
  readonly size: number;
  readonly dimension: number;
  /** The mapped graph, when searched on the calling thread. */
  private index: HnswIndex | null;
  /** The search workers, when searched in worker threads. */
  private readonly pool: WorkerPool | null;
  /** The most candidates a search asks for before settling for fewer than k. */
  private readonly candidateLimit: number;
  /** The graph's files while memory-mapped and not removable yet (Windows). */
  private files: string[];
  private closed = false;

  private constructor(parts: {
    index: HnswIndex | null;
    pool: WorkerPool | null;
    size: number;
    dimension: number;
    expansionSearch: number;
    files: string[];
  }) {
    this.index = parts.index;
    this.pool = parts.pool;
    this.size = parts.size;
    this.dimension = parts.dimension;
    this.candidateLimit = parts.expansionSearch * 8;
    this.files = parts.files;
  }

  /**
   * Builds the graph of `items` in a worker thread and saves it (with two-tower's manifest beside it)
   * to a temporary file, which the searching threads memory-map (reading 100,000 x 64 into memory
   * would block the event loop for a tenth of a second; a mapping takes none of it). The files are
   * removed as soon as the graph is mapped where the system allows it (a mapped file stays
   * readable), else when the index is closed.
   *
   * @param items - `size x dimension` embeddings, row-major
   * @param dimension - width of every embedding
   * @param options - graph tuning, build and search threads
   * @returns the index
   * @throws RarefyError `RAREFY_DIMENSION_MISMATCH` when `items` is not rows of `dimension`
   */
  static async build(
    items: Float32Array,
    dimension: number,
    options: HnswOptions = {},
  ): Promise<HnswRecommendIndex> {
    checkItems(items, dimension);
    const tuning: GraphTuning = {
      ...(options.connectivity === undefined ? {} : { connectivity: options.connectivity }),
      ...(options.expansionAdd === undefined ? {} : { expansionAdd: options.expansionAdd }),
      expansionSearch: options.expansionSearch ?? DEFAULT_EXPANSION_SEARCH,
    };
    const searchThreads = Math.max(0, Math.floor(options.searchThreads ?? DEFAULT_HNSW_SEARCH_THREADS));
    const path = join(tmpdir(), `rarefy-hnsw-${process.pid}-${randomBytes(6).toString('hex')}.usearch`);
    const files = [path, `${path}.json`];
    const builder = new SearchWorker({ items: wholeArray(items), dimension });
    let index: HnswIndex | null = null;
    let pool: WorkerPool | null = null;
    let size: number;
    try {
      ({ size } = await builder.request<{ size: number }>({
        type: 'build',
        path,
        tuning,
        threads: Math.max(1, Math.floor(options.buildThreads ?? Math.max(1, availableParallelism() - 1))),
      }));
      const graph = { path, expansionSearch: tuning.expansionSearch };
      if (searchThreads === 0) {
        index = HnswIndex.load(path, { view: true, expansionSearch: graph.expansionSearch, threads: 1 });
      } else {
        pool = new WorkerPool({ dimension, graph }, searchThreads);
        await pool.ready();
      }
    } catch (error) {
      await pool?.close();
      await Promise.all(files.map((file) => rm(file, { force: true })));
      throw error;
    } finally {
      await builder.terminate();
    }
    const left: string[] = [];
    for (const file of files) {
      try {
        await rm(file);
      } catch {
        // A mapped file cannot be removed on Windows: it is removed at close.
        left.push(file);
      }
    }
    return new HnswRecommendIndex({
      index,
      pool,
      size,
      dimension,
      expansionSearch: tuning.expansionSearch,
      files: left,
    });
  }

  /** {@inheritDoc RecommendIndex.search} */
  async search(
    query: Float32Array,
    k: number,
    exclude: Int32Array = new Int32Array(0),
  ): Promise<SearchResult> {
    if (this.closed) throw closedError();
    checkQuery(query, this.dimension, k);
    if (this.size === 0) return { indices: new Int32Array(0), scores: new Float32Array(0) };
    if (this.pool !== null) {
      return this.pool.request<SearchResult>({
        type: 'hnsw',
        query: query.slice(),
        k,
        exclude: exclude.slice(),
        limit: this.candidateLimit,
      });
    }
    const index = this.index as HnswIndex;
    return searchExcluding((asked) => index.search(query, asked), this.size, k, exclude, this.candidateLimit);
  }

  /** {@inheritDoc RecommendIndex.close} */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.index = null;
    await this.pool?.close();
    const files = this.files;
    this.files = [];
    // Left to the system's temporary-file cleanup if the mapping still holds them.
    await Promise.all(files.map((file) => rm(file, { force: true }).catch(() => {})));
  }
}

/**
 * Builds the index a model is served with: exact for small catalogues, HNSW for large ones (see
 * {@link RecommendIndexOptions.kind}).
 *
 * @param items - `size x dimension` item embeddings, row-major
 * @param dimension - width of every embedding
 * @param options - which index, its threads and tuning
 * @returns the index, ready to search (its workers started)
 * @example
 * ```ts
 * const index = await createRecommendIndex(model.items.embeddings, model.dimension, { kind: 'auto' });
 * ```
 */
export async function createRecommendIndex(
  items: Float32Array,
  dimension: number,
  options: RecommendIndexOptions = {},
): Promise<RecommendIndex> {
  const kind = options.kind ?? 'auto';
  const size = items.length / dimension;
  const exact = kind === 'exact' || (kind === 'auto' && size <= AUTO_EXACT_MAX_ITEMS);
  if (exact) {
    const index = new ExactRecommendIndex(items, dimension, {
      ...(options.searchThreads === undefined ? {} : { threads: options.searchThreads }),
    });
    try {
      return await index.ready();
    } catch (error) {
      await index.close();
      throw error;
    }
  }
  return HnswRecommendIndex.build(items, dimension, options.hnsw);
}
