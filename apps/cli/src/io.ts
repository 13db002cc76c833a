/** Where a stream of text goes: `process.stdout`, `process.stderr`, or a test's buffer. */
export interface OutputStream {
  /** Writes text. */
  write(chunk: string): unknown;
  /** True when the stream is a terminal (progress bars are drawn only then). */
  isTTY?: boolean;
  /** The terminal's width in characters, when known. */
  columns?: number;
}

/**
 * Everything a command touches outside itself: its output streams, the environment and a clock.
 * `run` takes one, so tests run commands in-process and read what they printed.
 */
export interface Io {
  /** Results: one JSON object with `--json`, otherwise text for people. */
  stdout: OutputStream;
  /** Messages, errors and progress. */
  stderr: OutputStream;
  /** Environment variables (`RAREFY_DEBUG=1` prints stack traces). */
  env: Readonly<Record<string, string | undefined>>;
  /** Milliseconds from some fixed origin (default `performance.now`). */
  now: () => number;
}

/**
 * The process's own streams, environment and clock.
 *
 * @returns the Io of this process
 * @example
 * ```ts
 * const exitCode = await run(process.argv, processIo());
 * ```
 */
export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, now: () => performance.now() };
}

/** An Io that keeps what is written, for tests. */
export interface MemoryIo extends Io {
  /** Everything written to stdout so far. */
  stdoutText(): string;
  /** Everything written to stderr so far. */
  stderrText(): string;
}

/**
 * An Io whose streams write into memory, for running commands in tests.
 *
 * @param options - environment variables, whether stderr claims to be a terminal, a clock
 * @returns the Io, with `stdoutText()` and `stderrText()`
 * @example
 * ```ts
 * const io = createMemoryIo();
 * const code = await run(['node', 'rarefy', 'simulate', '--n', '100', '--out', 'x.csv', '--json'], io);
 * JSON.parse(io.stdoutText());
 * ```
 */
export function createMemoryIo(
  options: { env?: Record<string, string | undefined>; stderrIsTTY?: boolean; now?: () => number } = {},
): MemoryIo {
  let stdout = '';
  let stderr = '';
  return {
    stdout: {
      write(chunk: string) {
        stdout += chunk;
        return true;
      },
      isTTY: false,
    },
    stderr: {
      write(chunk: string) {
        stderr += chunk;
        return true;
      },
      isTTY: options.stderrIsTTY ?? false,
      columns: 80,
    },
    env: options.env ?? {},
    now: options.now ?? (() => performance.now()),
    stdoutText: () => stdout,
    stderrText: () => stderr,
  };
}

/**
 * Prints one JSON object and a line break on stdout: the whole output of a `--json` command.
 *
 * @param io - where to print
 * @param value - the result
 * @returns nothing
 * @example
 * ```ts
 * printJson(io, { rows: 1000, positives: 12 });
 * ```
 */
export function printJson(io: Io, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * Prints a line of text for people on stdout.
 *
 * @param io - where to print
 * @param text - the line (a line break is added)
 * @returns nothing
 * @example
 * ```ts
 * printLine(io, 'wrote 1000 rows');
 * ```
 */
export function printLine(io: Io, text: string): void {
  io.stdout.write(`${text}\n`);
}
