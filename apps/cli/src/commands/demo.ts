import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { type StaticServer, serveDirectory } from '@rarefy/demo/serve';
import { RarefyIoError } from '@rarefy/sampling-core';
import type { Command } from 'commander';
import { printJson, printLine } from '../io.js';
import { positiveInteger } from '../options.js';
import type { CommandContext } from '../program.js';

/** The options of `rarefy demo`. */
export interface DemoOptions {
  /** The built page (default: apps/demo/dist of the Rarefy workspace this CLI runs from). */
  dir?: string;
  /** Port (default 0, which lets the system pick a free port). */
  port?: number;
  json?: boolean;
}

/** What `rarefy demo --json` prints once the page is served. */
export interface DemoResult {
  url: string;
  dir: string;
}

/**
 * The built demo page of the workspace (apps/demo/dist), or null where `@rarefy/demo` cannot be
 * found (an installed CLI: the demo is not published).
 *
 * @returns the folder, or null
 */
export function defaultDemoDirectory(): string | null {
  try {
    const manifest = createRequire(import.meta.url).resolve('@rarefy/demo/package.json');
    return join(dirname(manifest), 'dist');
  } catch {
    return null;
  }
}

/**
 * Serves the built demo page on 127.0.0.1 and returns its URL (the server runs until closed).
 *
 * @param options - the folder (default apps/demo/dist) and the port (default any free one)
 * @returns the running server and the folder served
 * @throws RarefyIoError `RAREFY_IO_ERROR` when the folder has no index.html (the demo is not built)
 *   or the port is taken
 * @example
 * ```ts
 * const { server } = await startDemo({ port: 5180 });
 * console.log(server.url);
 * ```
 */
export async function startDemo(options: DemoOptions): Promise<{ server: StaticServer; dir: string }> {
  const found = options.dir === undefined ? defaultDemoDirectory() : resolve(options.dir);
  if (found === null || !existsSync(join(found, 'index.html'))) {
    const where = found ?? 'apps/demo/dist';
    throw new RarefyIoError(
      'RAREFY_IO_ERROR',
      `${where}: no built demo page (index.html is missing)`,
      'run `pnpm build` (or `pnpm --filter demo build`) in the Rarefy repository first, or pass --dir <folder with index.html>',
      { input: options.dir === undefined ? '--dir' : options.dir },
    );
  }
  try {
    return { server: await serveDirectory(found, { port: options.port ?? 0 }), dir: found };
  } catch (error) {
    throw new RarefyIoError(
      'RAREFY_IO_ERROR',
      `127.0.0.1:${options.port ?? 0}: cannot serve the demo (${error instanceof Error ? error.message : String(error)})`,
      'pick another --port, or leave it out to take any free port',
      { input: '--port' },
    );
  }
}

/**
 * Adds `rarefy demo` to the program: serves the built page on 127.0.0.1, prints its URL, and keeps
 * serving until the process is stopped (Ctrl-C).
 *
 * @param program - the `rarefy` program
 * @param context - the Io the command prints to
 * @returns the subcommand
 * @example
 * ```ts
 * registerDemo(program, context);
 * ```
 */
export function registerDemo(program: Command, context: CommandContext): Command {
  return program
    .command('demo')
    .description(
      'Serve the demo page (watch the sampling and the correction, browse a retrieval export) on 127.0.0.1 ' +
        'and print its URL; build it first with `pnpm build`.',
    )
    .option('--dir <folder>', 'the built page (default: apps/demo/dist of this workspace)')
    .option('--port <n>', 'the port (default: a free port the system picks)', positiveInteger('--port'))
    .option('--json', 'print one JSON object (url, dir) once the page is served')
    .action(async (options: DemoOptions) => {
      const { server, dir } = await startDemo(options);
      if (options.json) printJson(context.io, { url: server.url, dir } satisfies DemoResult);
      else printLine(context.io, `serving the Rarefy demo from ${dir} at ${server.url} (Ctrl-C to stop)`);
      await new Promise<void>((resolveClosed) => server.server.once('close', () => resolveClosed()));
    });
}
