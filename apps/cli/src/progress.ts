import cliProgress from 'cli-progress';
import type { OutputStream } from './io.js';

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** What is being done ("writing", "fitting"). */
  label: string;
  /** The amount of work in all (rows, iterations), when known. */
  total?: number;
  /** Whether the command prints JSON: then, off a terminal, nothing is printed. */
  json?: boolean;
  /** Print nothing at all. */
  silent?: boolean;
  /** Where progress goes (default `process.stderr`). */
  stream?: OutputStream;
  /** Milliseconds from a fixed origin (default `performance.now`). */
  now?: () => number;
  /** The least time between two plain lines, in milliseconds (default 1000). */
  intervalMs?: number;
}

/** A progress reporter for a long job. */
export interface Progress {
  /**
   * Reports how much is done.
   *
   * @param done - the amount done so far (same unit as `total`)
   * @param extra - a short note shown after the counts ("12 positives")
   */
  update(done: number, extra?: string): void;
  /** Ends the report (clears the bar; prints a last line if lines were printed). */
  stop(): void;
}

function describe(label: string, done: number, total: number | undefined, extra: string | undefined): string {
  const counts =
    total !== undefined && total > 0
      ? `${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} (${Math.floor((100 * done) / total)}%)`
      : done.toLocaleString('en-US');
  return `${label}: ${counts}${extra ? ` ${extra}` : ''}`;
}

/**
 * Creates a progress reporter on stderr: a bar (cli-progress) when stderr is a terminal; plain lines
 * at most once per second otherwise; nothing when `silent`, or off a terminal with `json`. Stdout
 * is never touched, so `--json` output stays one object.
 *
 * @param options - label, total, json mode, stream
 * @returns the reporter: call `update(done)` as work advances and `stop()` at the end
 * @example
 * ```ts
 * const progress = createProgress({ label: 'writing', total: rows, json: options.json });
 * for (...) progress.update(rowsWritten);
 * progress.stop();
 * ```
 */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const { label, total } = options;
  if (options.silent) return { update() {}, stop() {} };
  if (stream.isTTY === true) {
    const format =
      total !== undefined
        ? `${label} [{bar}] {percentage}% | {value}/{total} {extra}`
        : `${label} {value} {extra}`;
    const bar = new cliProgress.SingleBar(
      {
        // The bar writes through the stream's write(); a terminal stream is a Node stream.
        stream: stream as NodeJS.WritableStream,
        format,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total ?? 0, 0, { extra: '' });
    let stopped = false;
    return {
      update(done, extra) {
        if (!stopped) bar.update(done, { extra: extra ?? '' });
      },
      stop() {
        if (stopped) return;
        stopped = true;
        bar.stop();
      },
    };
  }
  if (options.json) return { update() {}, stop() {} };
  const now = options.now ?? (() => performance.now());
  const interval = options.intervalMs ?? 1000;
  const started = now();
  let last = started;
  let printed = false;
  let latest = 0;
  let latestExtra: string | undefined;
  return {
    update(done, extra) {
      latest = done;
      latestExtra = extra;
      const time = now();
      if (time - last < interval) return;
      last = time;
      printed = true;
      stream.write(`${describe(label, done, total, extra)}\n`);
    },
    stop() {
      if (!printed) return;
      printed = false;
      const seconds = (now() - started) / 1000;
      stream.write(`${describe(label, latest, total, latestExtra)}, done in ${seconds.toFixed(1)} s\n`);
    },
  };
}
