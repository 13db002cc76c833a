import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { RarefyIoError } from '@rarefy/sampling-core';
import type { Command } from 'commander';
import packageJson from '../../package.json' with { type: 'json' };
import { printJson, printLine } from '../io.js';
import type { CommandContext } from '../program.js';
import { type ReportFigure, renderReport } from '../report/html.js';
import { parseReportInput, type ReportInput, type ReportInputKind } from '../report/inputs.js';

/** The options of `rarefy report`. */
export interface ReportOptions {
  /** The `--json` result files, in order. */
  input: string[];
  /** The HTML file to write. */
  out: string;
  /** The report's title. */
  title?: string;
  json?: boolean;
}

/** What `rarefy report --json` prints. */
export interface ReportResult {
  /** The absolute path of the HTML file written. */
  out: string;
  /** Its size. */
  bytes: number;
  /** Each input and what it was recognised as. */
  inputs: Array<{ path: string; kind: ReportInputKind }>;
  /** Every figure drawn: its element id, title and section. */
  figures: ReportFigure[];
}

function ioError(path: string, action: string, error: unknown, fix: string): RarefyIoError {
  const reason = error instanceof Error ? error.message : String(error);
  return new RarefyIoError('RAREFY_IO_ERROR', `${path}: cannot ${action} (${reason})`, fix, { input: path });
}

/**
 * Reads and recognises one result file.
 *
 * @param path - a file written by `rarefy <command> --json`
 * @returns the parsed input
 * @throws RarefyIoError `RAREFY_IO_ERROR` when it cannot be read, `RAREFY_PARSE_ERROR` when it is
 *   not JSON or not one of the four results
 */
export async function readReportInput(path: string): Promise<ReportInput> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw ioError(path, 'read it', error, 'pass a file written by `rarefy <command> --json > file.json`');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${path}: not JSON (${error instanceof Error ? error.message : String(error)})`,
      'pass the --json output of a rarefy command, unchanged (progress goes to stderr, so `> file.json` captures only the result)',
      { input: path },
    );
  }
  return parseReportInput(value, path);
}

/**
 * Writes text to a file atomically: a temporary file beside it (`<path>.rarefy-tmp-<pid>-<random>`),
 * flushed to disk, then renamed over `path`. Readers never see half a report; on error the
 * temporary file is removed and `path` is left as it was.
 *
 * @param path - the file to create or replace
 * @param text - its content
 * @returns when the file is in place
 * @throws RarefyIoError `RAREFY_IO_ERROR` naming the path
 */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.rarefy-tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw ioError(path, 'write it', error, `make sure the folder ${dirname(path)} exists and is writable`);
  }
}

/**
 * `rarefy report`: reads the JSON results of quickstart, fit, sample and eval-retrieval and writes one
 * self-contained HTML file of figures and tables (inline SVG and CSS, no script, no external
 * resource), atomically.
 *
 * @param options - the input files, the output file and a title
 * @param context - the command's Io (its clock stamps the report)
 * @returns what was written
 * @throws RarefyIoError for an unreadable, malformed or unrecognised input, or an unwritable output
 * @example
 * ```ts
 * await report({ input: ['quickstart.json', 'fit.json'], out: 'report.html' }, { io: processIo() });
 * ```
 */
export async function report(options: ReportOptions, context: CommandContext): Promise<ReportResult> {
  const inputs: ReportInput[] = [];
  for (const path of options.input) inputs.push(await readReportInput(path));
  const out = resolve(options.out);
  const rendered = renderReport(inputs, {
    title: options.title ?? 'Rarefy report',
    version: packageJson.version,
    generatedAt: new Date().toISOString(),
  });
  await writeFileAtomically(out, rendered.html);
  if (!options.json) {
    context.io.stderr.write(
      `read ${inputs.length} result(s): ${inputs.map((input) => `${input.path} (${input.kind})`).join(', ')}\n`,
    );
  }
  return {
    out,
    bytes: Buffer.byteLength(rendered.html),
    inputs: inputs.map((input) => ({ path: input.path, kind: input.kind })),
    figures: rendered.figures,
  };
}

/**
 * Adds `rarefy report` to the program.
 *
 * @param program - the `rarefy` program
 * @param context - the Io the command prints to
 * @returns the subcommand
 * @example
 * ```ts
 * registerReport(program, context);
 * ```
 */
export function registerReport(program: Command, context: CommandContext): Command {
  return program
    .command('report')
    .description(
      'Write one self-contained HTML report (inline SVG figures, opens offline) from the --json results of ' +
        'quickstart, fit (with --diagnostics for calibration and pi), sample and eval-retrieval.',
    )
    .option(
      '--input <file>',
      'a result file written by `rarefy <command> --json`; repeat for several',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .requiredOption('--out <file>', 'the HTML file to write (replaced atomically)')
    .option('--title <text>', 'the report title', 'Rarefy report')
    .option('--json', 'print one JSON object (out, bytes, inputs, figures) and nothing else on stdout')
    .action(async (options: Omit<ReportOptions, 'input'> & { input?: string[] }, self: Command) => {
      if (options.input === undefined || options.input.length === 0) {
        self.error("required option '--input <file>' not specified (give one or more result files)", {
          exitCode: 2,
          code: 'rarefy.usage',
        });
      }
      const result = await report({ ...options, input: options.input ?? [] }, context);
      if (options.json) printJson(context.io, result);
      else
        printLine(
          context.io,
          `wrote ${result.out}: ${result.figures.length} figure(s) from ${result.inputs.length} result(s), ${(result.bytes / 1024).toFixed(0)} KiB, self-contained`,
        );
    });
}
