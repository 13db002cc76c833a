import type { ColumnBatch, ColumnData, Pilot } from '@rarefy/sampling-core';
import { RarefyError } from '@rarefy/sampling-core';
import { NeuralPilot } from '../neural/neural-pilot.js';

/**
 * What scores a model's rows: `in-process` (a logistic model's float64 sigma(x'beta) in JavaScript,
 * exact and faster than any runtime round trip), `tfjs` (a network rebuilt from its saved weights in
 * TensorFlow.js, on the selected backend) or `onnxruntime` (the model's ONNX through onnxruntime-node).
 */
export type ScoringRuntime = 'in-process' | 'tfjs' | 'onnxruntime';

/**
 * How `loadModel` scores a network that it can run both ways (a `neural` folder holds its weights
 * and `model.onnx`): `auto` (the default) times both on a sample of the first batch and keeps the
 * faster; `tfjs` or `onnxruntime` forces one. Other models have one way and ignore `auto`.
 */
export type RuntimeOption = 'auto' | 'tfjs' | 'onnxruntime';

/** The runtime options, as `--runtime` spells them. */
export const RUNTIME_OPTIONS: readonly RuntimeOption[] = ['auto', 'tfjs', 'onnxruntime'];

/** Which runtime scores a model, and why. */
export interface RuntimeChoice {
  readonly runtime: ScoringRuntime;
  /** One sentence: measured (with the timings), forced, or the only way this model can be scored. */
  readonly reason: string;
  /** The TensorFlow.js backend, when `tfjs` scores. */
  readonly backend?: string;
  /** The best of the timed runs per runtime, in milliseconds, when both were measured. */
  readonly milliseconds?: Partial<Record<ScoringRuntime, number>>;
  /** Rows of the first batch the runtimes were timed on. */
  readonly measuredRows?: number;
}

/** One way of scoring a model. */
export interface RuntimeCandidate {
  readonly runtime: ScoringRuntime;
  readonly pilot: Pilot;
  /** The TensorFlow.js backend, for a `tfjs` candidate. */
  readonly backend?: string;
}

/** Options of {@link RuntimeChoosingPilot}. */
export interface RuntimeChoosingOptions {
  /**
   * Rows of the first batch every candidate is timed on (default 65,536, data-io's batch size: the
   * whole first batch, so the runtimes are compared at the size they will score; fewer when the
   * batch is smaller). Per-row speed depends on the batch size (fixed costs per call), so a much
   * smaller sample can pick the runtime that is slower on real batches.
   */
  sampleRows?: number;
  /**
   * Timed runs per candidate, after one warm-up on 256 rows; the fastest run counts (default 2). When
   * the sample is the whole batch, the kept candidate's last run is the batch's answer, so the
   * choice costs (2 x runtimes - 1) extra scorings of the first batch.
   */
  repeats?: number;
  /** A clock in milliseconds (default `performance.now`). */
  now?: () => number;
  /** Called once, when the choice is made. */
  onChoice?: (choice: RuntimeChoice) => void;
  /** Release the candidates not chosen once the choice is made (default true). */
  releaseOthers?: boolean;
}

/** Rows [0, rows) of a batch, sharing its storage. */
function headOfBatch(batch: ColumnBatch, rows: number): ColumnBatch {
  if (rows >= batch.rows) return batch;
  const columns: Record<string, ColumnData> = {};
  for (const [name, column] of Object.entries(batch.columns)) {
    columns[name] = ArrayBuffer.isView(column)
      ? column.subarray(0, rows)
      : { kind: 'dictionary', codes: column.codes.subarray(0, rows), values: column.values };
  }
  return { schema: batch.schema, rows, firstRow: batch.firstRow, columns };
}

function label(candidate: RuntimeCandidate): string {
  return candidate.backend === undefined ? candidate.runtime : `${candidate.runtime} (${candidate.backend})`;
}

/**
 * Releases a pilot's native resources: an onnxruntime session, a network's tfjs variables, or
 * anything with a `release()` or `dispose()` method. Safe on any pilot.
 *
 * @param pilot - any pilot
 * @returns when released
 * @example
 * ```ts
 * await releasePilot(await loadModel('models/ctr'));
 * ```
 */
export async function releasePilot(pilot: Pilot): Promise<void> {
  if (pilot instanceof NeuralPilot) {
    pilot.dispose();
    return;
  }
  const disposable = pilot as Partial<{ release(): Promise<void> | void; dispose(): void }>;
  if (typeof disposable.release === 'function') await disposable.release();
  else if (typeof disposable.dispose === 'function') disposable.dispose();
}

/**
 * A pilot with two (or more) ways of scoring the same model — a network in TensorFlow.js and its
 * ONNX export in onnxruntime — that picks the faster on the machine at start-up: on the first batch
 * it scores the same rows (the whole batch, up to `sampleRows`) with every candidate, one warm-up run
 * on 256 rows and then `repeats` timed runs each, interleaved, keeps the candidate with the fastest
 * run, releases the others, and scores every batch with it from then on. {@link choice} says which
 * and why. Both candidates compute the same probabilities (to float32 rounding, about 1e-7), so the
 * choice changes speed only.
 *
 * @example
 * ```ts
 * const pilot = new RuntimeChoosingPilot([
 *   { runtime: 'tfjs', pilot: network, backend: 'wasm' },
 *   { runtime: 'onnxruntime', pilot: await OnnxPilot.create(bytes) },
 * ]);
 * const p = await pilot.predictProbability(firstBatch);
 * console.log(pilot.choice?.runtime, pilot.choice?.reason);
 * ```
 */
export class RuntimeChoosingPilot implements Pilot {
  /** The columns the model reads (the first candidate's). */
  readonly features: readonly string[];
  /** Every way of scoring the model. */
  readonly candidates: readonly RuntimeCandidate[];
  private readonly options: RuntimeChoosingOptions;
  private chosen: { candidate: RuntimeCandidate; choice: RuntimeChoice } | null = null;
  private choosing: Promise<void> | null = null;
  private released = false;

  /**
   * @param candidates - the ways of scoring the model (at least one)
   * @param options - sample size, repeats, clock, a callback for the choice
   */
  constructor(candidates: readonly RuntimeCandidate[], options: RuntimeChoosingOptions = {}) {
    const first = candidates[0];
    if (first === undefined) {
      throw new RarefyError('RAREFY_INVALID_ARGUMENT', 'candidates: none given', 'pass at least one pilot', {
        input: 'candidates',
      });
    }
    this.candidates = [...candidates];
    this.features = first.pilot.features;
    this.options = options;
    if (candidates.length === 1) {
      this.settle(first, {
        runtime: first.runtime,
        reason: `${label(first)} is the only runtime given`,
        ...(first.backend === undefined ? {} : { backend: first.backend }),
      });
    }
  }

  /** The runtime in use and why; null until the first batch has been scored. */
  get choice(): RuntimeChoice | null {
    return this.chosen?.choice ?? null;
  }

  /**
   * Scores a batch with the chosen runtime (choosing on this batch first, if it is the first).
   *
   * @param batch - rows with every feature column
   * @returns one probability per row
   */
  async predictProbability(batch: ColumnBatch): Promise<Float64Array> {
    if (this.chosen === null && batch.rows > 0) {
      if (this.choosing === null) {
        const choosing = this.choose(batch);
        this.choosing = choosing.then(() => undefined);
        // The measured runs scored this whole batch already: their probabilities are the answer.
        const scored = await choosing;
        if (scored !== null) return scored;
      } else {
        await this.choosing;
      }
    }
    const candidate = this.chosen?.candidate ?? (this.candidates[0] as RuntimeCandidate);
    return candidate.pilot.predictProbability(batch);
  }

  /**
   * Releases every candidate still held (the kept one and, before the choice, all of them).
   *
   * @returns when released
   */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const held =
      this.chosen === null || this.candidates.length === 1 ? this.candidates : [this.chosen.candidate];
    for (const candidate of held) await releasePilot(candidate.pilot);
  }

  private settle(candidate: RuntimeCandidate, choice: RuntimeChoice): void {
    this.chosen = { candidate, choice };
    this.options.onChoice?.(choice);
  }

  /** Times the candidates on the batch; returns the kept one's probabilities when it scored the whole batch. */
  private async choose(batch: ColumnBatch): Promise<Float64Array | null> {
    const now = this.options.now ?? (() => performance.now());
    const sampleRows = Math.max(1, Math.min(batch.rows, this.options.sampleRows ?? 65_536));
    const repeats = Math.max(1, this.options.repeats ?? 2);
    const sample = headOfBatch(batch, sampleRows);
    const warmup = headOfBatch(batch, Math.min(sampleRows, 256));
    // Warm-up: sessions, kernels and hash dictionaries start lazily.
    for (const candidate of this.candidates) await candidate.pilot.predictProbability(warmup);
    const best = this.candidates.map(() => Number.POSITIVE_INFINITY);
    const scores: Float64Array[] = [];
    for (let repeat = 0; repeat < repeats; repeat++) {
      for (let k = 0; k < this.candidates.length; k++) {
        const started = now();
        scores[k] = await (this.candidates[k] as RuntimeCandidate).pilot.predictProbability(sample);
        best[k] = Math.min(best[k] as number, now() - started);
      }
    }
    let fastest = 0;
    for (let k = 1; k < best.length; k++) if ((best[k] as number) < (best[fastest] as number)) fastest = k;
    const kept = this.candidates[fastest] as RuntimeCandidate;
    const milliseconds: Partial<Record<ScoringRuntime, number>> = {};
    this.candidates.forEach((candidate, k) => {
      milliseconds[candidate.runtime] = best[k] as number;
    });
    const others = this.candidates
      .filter((candidate) => candidate !== kept)
      .map((candidate) => {
        const time = milliseconds[candidate.runtime] as number;
        const keptTime = Math.max(best[fastest] as number, 1e-6);
        return `${label(candidate)} ${time.toFixed(2)} ms (${(time / keptTime).toFixed(2)}x slower)`;
      });
    const rows = sampleRows.toLocaleString('en-US');
    const reason = `measured on ${rows} rows of the first batch (fastest of ${repeats} runs): ${label(kept)} ${(best[fastest] as number).toFixed(2)} ms, ${others.join(', ')}`;
    if (this.options.releaseOthers ?? true) {
      for (const candidate of this.candidates) {
        if (candidate !== kept) await releasePilot(candidate.pilot);
      }
    }
    this.settle(kept, {
      runtime: kept.runtime,
      reason,
      ...(kept.backend === undefined ? {} : { backend: kept.backend }),
      milliseconds,
      measuredRows: sampleRows,
    });
    return sampleRows === batch.rows ? (scores[fastest] as Float64Array) : null;
  }
}
