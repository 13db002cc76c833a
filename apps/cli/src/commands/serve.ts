import { RarefyIoError } from '@rarefy/sampling-core';
import {
  createServer,
  DEFAULT_HOST,
  DEFAULT_PORT,
  listen,
  modelInfo,
  type RarefyServer,
} from '@rarefy/server';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type Io, printJson, printLine } from '../io.js';
import { positiveInteger } from '../options.js';
import type { CommandContext } from '../program.js';

/** The options of `rarefy serve`, as commander parses them. */
export interface ServeOptions {
  /** The export folder (from `rarefy fit --save` or `rarefy train-retrieval --out`). */
  model: string;
  /** The host to listen on (default 127.0.0.1: loopback only). */
  host: string;
  /** The port (default 8080; 0 picks a free one). */
  port: number;
  /** The recommendation index of a retrieval export. */
  index: 'auto' | 'exact' | 'hnsw';
  /** The most model requests answered at once (more get 503 with Retry-After). */
  maxInFlight: number;
  /** Seconds to let requests in flight finish after SIGTERM before closing their connections. */
  drainTimeout: number;
  json?: boolean;
}

/**
 * Waits for the signal that stops the server and says which it was. The default waits for SIGTERM
 * or SIGINT (a second one during the drain is no longer caught, so it kills the process).
 */
export type StopSignal = () => Promise<string>;

/**
 * Resolves at the first SIGTERM or SIGINT of this process.
 *
 * @returns the signal's name
 * @example
 * ```ts
 * const signal = await processStopSignal();
 * ```
 */
export function processStopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(signal);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

function portNumber(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(value) || value < 0 || value > 65_535) {
    throw new InvalidArgumentError(
      `--port must be an integer in [0, 65535] (0 picks a free port), not '${text}'.`,
    );
  }
  return value;
}

function listenError(error: unknown, options: ServeOptions): unknown {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  const where = `${options.host}:${options.port}`;
  switch (code) {
    case 'EADDRINUSE':
      return new RarefyIoError(
        'RAREFY_IO_ERROR',
        `--port ${options.port}: ${where} is already in use`,
        'stop what listens there, pick another --port, or pass --port 0 for a free one',
        { input: '--port' },
      );
    case 'EACCES':
      return new RarefyIoError(
        'RAREFY_IO_ERROR',
        `--port ${options.port}: not allowed to listen on ${where}`,
        'use a port above 1023, or run with the permission to bind low ports',
        { input: '--port' },
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new RarefyIoError(
        'RAREFY_IO_ERROR',
        `--host ${options.host}: no such address on this machine`,
        'pass an address of this machine, such as 127.0.0.1 (loopback only) or 0.0.0.0 (every interface)',
        { input: '--host' },
      );
    default:
      return error;
  }
}

/** Closes the server, letting requests in flight finish; after `seconds`, closes their connections. */
async function drain(app: RarefyServer, seconds: number): Promise<void> {
  const closed = app.close();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), seconds * 1000);
    timer.unref();
  });
  const outcome = await Promise.race([closed.then(() => 'closed' as const), timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    app.server.closeAllConnections();
    await closed;
  }
}

/**
 * Runs `rarefy serve`: loads the model, listens, prints `listening on http://HOST:PORT` (or one
 * JSON object with `--json`) once it answers, and serves until `stop` resolves; then it stops
 * accepting connections, lets the requests in flight finish and frees the model.
 *
 * @param options - model, host, port, index, limits
 * @param io - where to print; its `RAREFY_ADMIN_TOKEN` turns the reload endpoint on, its
 *   `RAREFY_LOG_LEVEL` (default `warn`) sets the level of the JSON logs written to stderr
 * @param stop - resolves when the server must stop (default: SIGTERM or SIGINT)
 * @returns when the server has stopped
 * @throws RarefyIoError when the model cannot be loaded or the address cannot be listened on
 * @example
 * ```ts
 * await serve({ model: 'models/ctr', host: '127.0.0.1', port: 0, index: 'auto', maxInFlight: 256, drainTimeout: 30 }, io);
 * ```
 */
export async function serve(
  options: ServeOptions,
  io: Io,
  stop: StopSignal = processStopSignal,
): Promise<void> {
  const token = io.env.RAREFY_ADMIN_TOKEN;
  const app = await createServer({
    model: options.model,
    index: { kind: options.index },
    maxInFlight: options.maxInFlight,
    ...(token === undefined || token === '' ? {} : { adminToken: token }),
    logger: {
      level: io.env.RAREFY_LOG_LEVEL ?? 'warn',
      stream: { write: (line: string) => io.stderr.write(line) },
    },
  });
  let url: string;
  try {
    url = await listen(app, { host: options.host, port: options.port });
  } catch (error) {
    await app.close();
    throw listenError(error, options);
  }
  // Wait for the signal before saying we listen: a SIGTERM sent as soon as the line is printed
  // must drain, not kill.
  const stopped = stop();
  if (options.json) {
    const model = modelInfo(app.rarefy.state.model);
    printJson(io, { url, model: { kind: model.kind, version: model.version } });
  } else {
    printLine(io, `listening on ${url}`);
  }
  const signal = await stopped;
  io.stderr.write(`rarefy serve: ${signal}: draining requests in flight, then stopping\n`);
  await drain(app, options.drainTimeout);
}

/**
 * Adds `rarefy serve`: serve a model export over HTTP (see `@rarefy/server`).
 *
 * @param program - the `rarefy` program
 * @param context - the Io the command prints to
 * @returns the subcommand
 * @example
 * ```ts
 * registerServe(program, context);
 * ```
 */
export function registerServe(program: Command, context: CommandContext): Command {
  return program
    .command('serve')
    .description(
      'Serve a model over HTTP until SIGTERM: calibrated probabilities from a classifier (`rarefy fit --save`) or ' +
        'top-K recommendations from a retrieval export (`rarefy train-retrieval --out`). Prints ' +
        '`listening on http://HOST:PORT` when ready. RAREFY_ADMIN_TOKEN turns on POST /v1/admin/reload.',
    )
    .requiredOption('--model <dir>', 'the model export folder')
    .option('--host <host>', 'the address to listen on (127.0.0.1: this machine only)', DEFAULT_HOST)
    .option('--port <port>', 'the port (0 picks a free one)', portNumber, DEFAULT_PORT)
    .addOption(
      new Option(
        '--index <kind>',
        'top-K search of a retrieval export (auto: exact up to 20,000 items, else HNSW)',
      )
        .choices(['auto', 'exact', 'hnsw'])
        .default('auto'),
    )
    .option(
      '--max-in-flight <n>',
      'model requests answered at once; more are refused with 503 and Retry-After',
      positiveInteger('--max-in-flight'),
      256,
    )
    .option(
      '--drain-timeout <seconds>',
      'after SIGTERM, how long requests in flight may take before their connections are closed',
      positiveInteger('--drain-timeout'),
      30,
    )
    .option('--json', 'print one JSON object { url, model } when ready instead of the listening line')
    .action(async (options: ServeOptions) => {
      await serve(options, context.io);
    });
}
