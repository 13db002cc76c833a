import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { DesignName } from '../designs.js';
import { RarefyError } from '../errors.js';
import type { DesignMatrix } from '../matrix.js';
import type { SampleResult } from '../sample.js';
import type { ScaleSolution } from '../scale.js';
import {
  type BlockJob,
  type BlockOutput,
  type BlockSampleOptions,
  blockCount,
  blockJob,
  mergeBlocks,
  validateBlockJob,
} from './blocks.js';
import { type JobRequest, rebuildError, type WorkerReply } from './protocol.js';
import { requireShared } from './shared-memory.js';

/** Options of {@link ScoreWorkerPool}. */
export interface ScoreWorkerPoolOptions {
  /** Worker threads (default `os.availableParallelism()`). */
  workers?: number;
}

/** Throws RAREFY_INVALID_ARGUMENT unless `workers` is a whole number >= 1. */
export function requireWorkerCount(workers: number, input: string): void {
  if (!(Number.isInteger(workers) && workers >= 1 && workers <= 1024)) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `${input}: ${workers} is not a number of worker threads`,
      'pass a whole number from 1 to 1024, or leave it out for os.availableParallelism()',
      { input, value: workers },
    );
  }
}

/** How to start a worker thread: a script (path or URL) or, with `eval`, code, and its options. */
interface WorkerLaunch {
  readonly script: string | URL;
  readonly options: WorkerOptions;
}

/**
 * Where the worker script is and how to start it. Built (dist/node/index.js), the script is the tsup
 * entry dist/node/score-worker.js beside this module. From the TypeScript sources (vitest, tsx), this
 * module is a .ts file and the worker is src/node/score-worker.ts. Node 20 does not apply module
 * hooks given as `--import tsx` in a worker's execArgv, so the worker starts from a short bootstrap
 * that registers tsx in the worker itself (tsx's `register` from `tsx/esm/api`, resolved from this
 * file: tsx is a devDependency of the workspace) and then imports the .ts script, with the
 * `@rarefy/source` condition added to the inherited execArgv.
 */
function workerLaunch(): WorkerLaunch {
  const here = import.meta.url;
  if (!/\.[cm]?ts$/.test(here)) return { script: new URL('./score-worker.js', here), options: {} };
  let tsxApi: string;
  try {
    const tsxPackage = createRequire(here).resolve('tsx/package.json');
    tsxApi = pathToFileURL(join(dirname(tsxPackage), 'dist', 'esm', 'api', 'index.mjs')).href;
  } catch {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      'ScoreWorkerPool: running from the TypeScript sources, the worker thread needs tsx, which cannot be found',
      'install tsx (a devDependency of the workspace), or run the built package (dist)',
      { input: 'tsx' },
    );
  }
  const script = new URL('./score-worker.ts', here).href;
  const execArgv = [...process.execArgv];
  if (!execArgv.some((argument) => argument.includes('@rarefy/source'))) {
    execArgv.push('--conditions=@rarefy/source');
  }
  // Valid as a CommonJS script and as a module, so it runs however Node parses eval code.
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(script)}); });`;
  return { script: bootstrap, options: { eval: true, execArgv } };
}

/** One worker thread and the reply it owes. */
interface PooledWorker {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  waiting: { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void } | undefined;
}

/**
 * A set of worker threads for {@link parallelScoreAndSampleLogistic}, started once and reused across
 * calls (a call without a pool starts and terminates its own). Calls on one pool run one after the
 * other. Idle workers do not keep the process alive; `close()` terminates them.
 *
 * @example
 * ```ts
 * const pool = new ScoreWorkerPool({ workers: 2 });
 * try {
 *   await pool.ready();
 *   const a = await parallelScoreAndSampleLogistic(x, y, beta, 'optL', solution, { seed: 1, pool });
 *   const b = await parallelScoreAndSampleLogistic(x, y, beta, 'optL', solution, { seed: 2, pool });
 * } finally {
 *   await pool.close();
 * }
 * ```
 */
export class ScoreWorkerPool {
  /** The number of worker threads. */
  readonly size: number;
  private readonly workers: PooledWorker[];
  private tail: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  /** Set by close(): no new job is accepted. */
  private closing: Promise<void> | undefined;
  /** Set once the threads are being terminated: their exits are expected. */
  private terminating = false;
  private broken: Error | undefined;
  /** Pending ready() and job calls; the threads keep the process alive only while it is > 0. */
  private holds = 0;

  /**
   * Starts the worker threads (they load in the background; see {@link ScoreWorkerPool.ready}).
   *
   * @param options - `workers` (default `os.availableParallelism()`)
   * @example
   * ```ts
   * const pool = new ScoreWorkerPool({ workers: 2 });
   * ```
   */
  constructor(options: ScoreWorkerPoolOptions = {}) {
    const size = options.workers ?? availableParallelism();
    requireWorkerCount(size, 'options.workers');
    this.size = size;
    const launch = workerLaunch();
    this.workers = Array.from({ length: size }, () => this.startWorker(launch));
  }

  private startWorker(launch: WorkerLaunch): PooledWorker {
    const worker = new Worker(launch.script, launch.options);
    let markReady: () => void = () => undefined;
    let failReady: (error: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    ready.catch(() => undefined); // a start failure is reported by the call that waits on it
    const pooled: PooledWorker = { worker, ready, waiting: undefined };
    const fail = (error: Error) => {
      this.broken ??= error;
      failReady(error);
      const waiting = pooled.waiting;
      pooled.waiting = undefined;
      waiting?.reject(error);
    };
    worker.on('message', (reply: WorkerReply) => {
      if (reply.type === 'ready') {
        markReady();
        return;
      }
      const waiting = pooled.waiting;
      pooled.waiting = undefined;
      waiting?.resolve(reply);
    });
    worker.on('error', (error: Error) => fail(new Error(`score worker thread failed: ${error.message}`)));
    worker.on('exit', (code) => {
      if (!this.terminating) fail(new Error(`score worker thread exited with code ${code}`));
    });
    worker.unref();
    return pooled;
  }

  /**
   * Resolves when every worker thread has loaded and can take a job (calls wait for this anyway; await
   * it to keep start-up out of a timing).
   *
   * @returns a promise that rejects when a worker failed to start
   * @example
   * ```ts
   * await pool.ready();
   * ```
   */
  async ready(): Promise<void> {
    this.hold();
    try {
      await Promise.all(this.workers.map((pooled) => pooled.ready));
    } finally {
      this.release();
    }
  }

  /**
   * Terminates the worker threads. Later calls on the pool reject.
   *
   * @returns a promise resolved when every thread has exited
   * @example
   * ```ts
   * await pool.close();
   * ```
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.tail;
      this.terminating = true;
      await Promise.all(this.workers.map((pooled) => pooled.worker.terminate()));
    })();
    return this.closing;
  }

  /**
   * The pass of {@link parallelScoreAndSampleLogistic} on this pool's threads (calls on one pool run
   * one after the other).
   *
   * @param x - the design matrix, its data in a SharedArrayBuffer
   * @param labels - 0/1 per row, in a SharedArrayBuffer
   * @param pilotCoefficients - the population-scale pilot coefficients (intercept already corrected)
   * @param design - the design
   * @param solution - the solved scale
   * @param options - `seed`, `blockRows` (default 65536), `optAInverse` for optA
   * @returns the sample, equal to `blockScoreAndSampleLogistic` with the same arguments
   * @example
   * ```ts
   * const sample = await pool.scoreAndSampleLogistic(xs, ys, beta, 'optL', solution, { seed: 1 });
   * ```
   */
  scoreAndSampleLogistic(
    x: DesignMatrix,
    labels: Uint8Array,
    pilotCoefficients: Float64Array,
    design: DesignName,
    solution: ScaleSolution,
    options: BlockSampleOptions,
  ): Promise<SampleResult> {
    if (this.closing !== undefined) {
      return Promise.reject(
        new RarefyError(
          'RAREFY_INVALID_ARGUMENT',
          'options.pool: the ScoreWorkerPool is closed',
          'create a new ScoreWorkerPool, or leave out options.pool to use a pool for the call',
          { input: 'options.pool' },
        ),
      );
    }
    const job = blockJob(x, labels, pilotCoefficients, design, solution, options);
    const result = this.tail.then(() => this.execute(job));
    this.tail = result.catch(() => undefined);
    return result;
  }

  private hold(): void {
    if (this.holds++ === 0) for (const { worker } of this.workers) worker.ref();
  }

  private release(): void {
    if (--this.holds === 0) for (const { worker } of this.workers) worker.unref();
  }

  private async execute(job: BlockJob): Promise<SampleResult> {
    if (this.broken !== undefined) throw this.broken;
    validateBlockJob(job);
    requireShared(job.x.data, 'x.data', 'sharedDesignMatrix');
    requireShared(job.labels, 'labels', 'sharedLabels');
    const count = blockCount(job.x.rows, job.blockRows);
    if (count === 0) return mergeBlocks([], job.labels, job.design, 0);
    this.hold();
    try {
      await Promise.all(this.workers.map((pooled) => pooled.ready));
      const counter = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
      const request: JobRequest = { type: 'job', id: this.nextId++, job, counter };
      const replies = await Promise.all(
        this.workers.map(
          (pooled) =>
            new Promise<WorkerReply>((resolve, reject) => {
              pooled.waiting = { resolve, reject };
              pooled.worker.postMessage(request);
            }),
        ),
      );
      const outputs: BlockOutput[] = [];
      let failure: { block: number; error: Error } | undefined;
      for (const reply of replies) {
        if (reply.type === 'done') outputs.push(reply.output);
        else if (reply.type === 'failed' && (failure === undefined || reply.block < failure.block)) {
          failure = { block: reply.block, error: rebuildError(reply.error) };
        }
      }
      if (failure !== undefined) throw failure.error;
      return mergeBlocks(outputs, job.labels, job.design, count);
    } finally {
      this.release();
    }
  }
}
