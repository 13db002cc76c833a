import { randomBytes } from 'node:crypto';
import { type FileHandle, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  inspectOnnxModel,
  logisticFromSavedFiles,
  type ModelKind,
  type ModelManifest,
} from '@rarefy/pilot-model';
import { readModelFolder } from '@rarefy/pilot-model/node';
import { RarefyError, RarefyIoError } from '@rarefy/sampling-core';
import { type Command, Option } from 'commander';
import { formatDuration } from '../format.js';
import { printJson, printLine } from '../io.js';
import type { CommandContext } from '../program.js';

/** The formats `rarefy export --format` writes. */
export const EXPORT_FORMATS = ['onnx'] as const;

/** A format `rarefy export` writes. */
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The options of `rarefy export`, as commander parses them. */
export interface ExportOptions {
  /** A saved-model folder (or a `.onnx` file, copied after a check). */
  model: string;
  format: ExportFormat;
  /** The file to write. */
  out: string;
  json?: boolean;
}

/** What `rarefy export --json` prints: one object. */
export interface ExportResult {
  /** The absolute path of the file written. */
  out: string;
  format: ExportFormat;
  /** Bytes written. */
  bytes: number;
  /** The model's kind (`logistic`, `neural`, `two-tower`), or `onnx` for a bare .onnx file. */
  kind: ModelKind | 'onnx';
  /**
   * Where the ONNX came from: the folder's `model.onnx`, `coefficients` (regenerated with
   * `logisticToOnnx` for a logistic folder saved without one), or `file` (a .onnx file given).
   */
  from: 'model.onnx' | 'coefficients' | 'file';
  /** Wall-clock seconds. */
  seconds: number;
}

/** A model's ONNX bytes and where they came from. */
export interface ModelOnnx {
  readonly bytes: Uint8Array;
  readonly kind: ModelKind | 'onnx';
  readonly from: ExportResult['from'];
  /** The folder's manifest (null for a .onnx file). */
  readonly manifest: ModelManifest | null;
}

function systemMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Writes bytes to a file atomically: they go to a temporary file beside `path`
 * (`.<name>.rarefy-tmp-<pid>-<random>`), which is flushed to disk and renamed over `path`. A reader
 * never sees half a file; on any error the temporary file is removed and `path` is left as it was.
 *
 * @param path - the file to create or replace
 * @param data - the content
 * @returns when the file is in place
 * @throws RarefyIoError `RAREFY_IO_ERROR` naming the path when it cannot be written
 * @example
 * ```ts
 * await writeFileAtomically('model.onnx', bytes);
 * ```
 */
export async function writeFileAtomically(path: string, data: Uint8Array): Promise<void> {
  const target = resolve(path);
  const temporary = join(
    dirname(target),
    `.${basename(target)}.rarefy-tmp-${process.pid}-${randomBytes(6).toString('hex')}`,
  );
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporary, 'wx');
    await handle.writeFile(data);
    await handle.sync();
    const closing = handle;
    handle = undefined;
    await closing.close();
    await rename(temporary, target);
  } catch (error) {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    throw new RarefyIoError(
      'RAREFY_IO_ERROR',
      `${target}: cannot write it (${systemMessage(error)})`,
      'check that the folder exists and is writable, and that there is free space',
      { input: target },
    );
  }
}

/**
 * The ONNX of a model: a saved folder's `model.onnx` (checked against the manifest's SHA-256), or,
 * for a `logistic` folder saved without one, the export of its coefficients (`logisticToOnnx`:
 * input `features`, output `probability`); a `.onnx` file is read and checked to be a model.
 *
 * @param path - a saved-model folder or a `.onnx` file
 * @returns the bytes, the kind and where they came from
 * @throws RarefyIoError as `readModelFolder` (not a folder, damaged files) or `RAREFY_PARSE_ERROR`
 *   for a file that is not ONNX; RarefyError `RAREFY_INVALID_ARGUMENT` for a non-logistic folder
 *   without `model.onnx`
 * @example
 * ```ts
 * const { bytes } = await modelOnnx('models/ctr');
 * ```
 */
export async function modelOnnx(path: string): Promise<ModelOnnx> {
  let isFile: boolean;
  try {
    isFile = (await stat(path)).isFile();
  } catch (error) {
    throw new RarefyIoError(
      'RAREFY_IO_ERROR',
      `${path}: cannot read it (${systemMessage(error)})`,
      'pass a saved-model folder (from `rarefy fit --save`) or a .onnx file with --model',
      { input: path },
    );
  }
  if (isFile) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw new RarefyIoError(
        'RAREFY_IO_ERROR',
        `${path}: cannot read it (${systemMessage(error)})`,
        'check the path and permissions',
        { input: path },
      );
    }
    inspectOnnxModel(bytes, path); // throws RAREFY_PARSE_ERROR for anything but a ModelProto
    return { bytes, kind: 'onnx', from: 'file', manifest: null };
  }
  const folder = await readModelFolder(path);
  const { manifest } = folder;
  const onnxFile = manifest.files.find((file) => file.role === 'onnx');
  const stored = onnxFile === undefined ? undefined : folder.files.get(onnxFile.path);
  if (stored !== undefined) return { bytes: stored, kind: manifest.kind, from: 'model.onnx', manifest };
  if (manifest.kind === 'logistic') {
    const model = logisticFromSavedFiles(manifest as ModelManifest<'logistic'>, folder.files, path);
    return { bytes: model.toOnnx(), kind: 'logistic', from: 'coefficients', manifest };
  }
  throw new RarefyError(
    'RAREFY_INVALID_ARGUMENT',
    `${path}: a ${manifest.kind} model saved without model.onnx has no ONNX to export`,
    'save the model again with its ONNX export (the default of saveModel)',
    { input: path },
  );
}

/**
 * `rarefy export`: writes a saved model's ONNX to a file, atomically.
 *
 * @param options - the model, the format and the output file
 * @param context - the command's Io (its clock)
 * @returns the JSON-ready result
 * @throws as {@link modelOnnx} and {@link writeFileAtomically}
 * @example
 * ```ts
 * await exportModel({ model: 'models/ctr', format: 'onnx', out: 'ctr.onnx' }, { io: processIo() });
 * ```
 */
export async function exportModel(options: ExportOptions, context: CommandContext): Promise<ExportResult> {
  const started = context.io.now();
  const out = resolve(options.out);
  const model = resolve(options.model);
  if (model === out) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `--out ${options.out}: it is the model itself`,
      'write the export to another file',
      { input: '--out' },
    );
  }
  const onnx = await modelOnnx(model);
  await writeFileAtomically(out, onnx.bytes);
  return {
    out,
    format: options.format,
    bytes: onnx.bytes.byteLength,
    kind: onnx.kind,
    from: onnx.from,
    seconds: (context.io.now() - started) / 1000,
  };
}

/**
 * Adds `rarefy export` to the program.
 *
 * @param program - the `rarefy` program
 * @param context - the Io the command prints to
 * @returns the subcommand
 * @example
 * ```ts
 * registerExport(program, context);
 * ```
 */
export function registerExport(program: Command, context: CommandContext): Command {
  return program
    .command('export')
    .description(
      'Write a saved model as ONNX (its model.onnx, or one generated from a logistic model’s coefficients): ' +
        'input `features` (float32, the manifest’s columns in order), output `probability` on the population scale.',
    )
    .requiredOption('--model <dir>', 'a saved-model folder (from `rarefy fit --save`)')
    .addOption(new Option('--format <format>', 'the format to write').choices(EXPORT_FORMATS).default('onnx'))
    .requiredOption('--out <file.onnx>', 'the file to write (atomically: complete or not at all)')
    .option(
      '--json',
      'print one JSON object { out, format, bytes, kind, from, seconds } and nothing else on stdout',
    )
    .action(async (options: ExportOptions) => {
      const result = await exportModel(options, context);
      if (options.json) {
        printJson(context.io, result);
        return;
      }
      const source =
        result.from === 'coefficients' ? 'generated from its coefficients' : `from ${result.from}`;
      printLine(
        context.io,
        `wrote ${result.out} (${result.bytes.toLocaleString('en-US')} bytes, ${result.kind} model, ${source}) in ${formatDuration(result.seconds)}`,
      );
    });
}
