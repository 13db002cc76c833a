import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { RarefyError, RarefyIoError } from '@rarefy/sampling-core';
import type { SavedModelContents } from '../saved-model/contents.js';
import {
  isPlainFileName,
  MANIFEST_FILE,
  type ManifestFile,
  MODEL_FORMAT_VERSION,
  type ModelManifest,
  validateManifest,
} from '../saved-model/manifest.js';

/** The package recorded as a saved model's producer. */
const DEFAULT_PRODUCER = { name: '@rarefy/model-kit', version: '0.1.0' } as const;

function systemMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isMissing(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT';
}

async function writeDurably(path: string, data: Uint8Array): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes a saved-model folder atomically: the files and then `manifest.json` go into a temporary
 * folder beside `dir` (`.<name>.tmp-XXXXXX`), which is renamed to `dir` once complete. An existing
 * `dir` (a saved model or an empty folder; anything else is refused) is moved aside first and removed
 * only after the rename, and put back if the rename fails. A failure before that removes the
 * temporary folder; a process killed mid-write leaves at most a `.<name>.tmp-*` folder, never a
 * partial `dir`.
 *
 * @param dir - the folder to write
 * @param contents - the manifest fields and files (from any kind's exporter)
 * @returns the manifest written
 * @throws RarefyIoError `RAREFY_IO_ERROR` when the folder cannot be written or `dir` is not replaceable;
 *   RarefyError `RAREFY_INVALID_ARGUMENT` for an unsafe or duplicate file name
 * @example
 * ```ts
 * await writeModelFolder('models/neural', neuralPilot.toSavedModel());
 * ```
 */
export async function writeModelFolder(dir: string, contents: SavedModelContents): Promise<ModelManifest> {
  const target = resolve(dir);
  const names = new Set<string>();
  for (const file of contents.files) {
    if (!isPlainFileName(file.path) || names.has(file.path)) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `contents.files: ${JSON.stringify(file.path)} is ${names.has(file.path) ? 'listed twice' : 'not a plain file name'}`,
        `name each file once, without directories, and not ${MANIFEST_FILE}`,
        { input: 'contents.files' },
      );
    }
    names.add(file.path);
  }
  const parent = dirname(target);
  const name = basename(target);
  await replaceableTarget(target);
  try {
    await mkdir(parent, { recursive: true });
  } catch (error) {
    throw ioError(
      parent,
      `cannot create the parent folder (${systemMessage(error)})`,
      'check the path and permissions',
    );
  }
  let temporary: string;
  try {
    temporary = await mkdtemp(join(parent, `.${name}.tmp-`));
  } catch (error) {
    throw ioError(
      target,
      `cannot create a temporary folder beside it (${systemMessage(error)})`,
      'check permissions on the parent folder',
    );
  }
  let manifest: ModelManifest;
  try {
    const files: ManifestFile[] = [];
    for (const file of contents.files) {
      const data = typeof file.data === 'string' ? new TextEncoder().encode(file.data) : file.data;
      await writeDurably(join(temporary, file.path), data);
      files.push({
        path: file.path,
        role: file.role,
        format: file.format,
        bytes: data.byteLength,
        sha256: createHash('sha256').update(data).digest('hex'),
      });
    }
    manifest = {
      kind: contents.kind,
      formatVersion: MODEL_FORMAT_VERSION,
      schema: contents.schema,
      training: contents.training,
      files,
      model: contents.model,
      producer: contents.producer ?? DEFAULT_PRODUCER,
    } as ModelManifest;
    // Validate what is about to be committed, so that a folder saved is a folder loadable.
    validateManifest(JSON.parse(JSON.stringify(manifest)), join(dir, MANIFEST_FILE));
    await writeDurably(
      join(temporary, MANIFEST_FILE),
      new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`),
    );
    await commit(temporary, target, parent, name);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    if (error instanceof RarefyError) throw error;
    throw ioError(
      target,
      `cannot write the saved model (${systemMessage(error)})`,
      'check free space and permissions, then save again',
    );
  }
  return manifest;
}

function ioError(path: string, problem: string, fix: string): RarefyIoError {
  return new RarefyIoError('RAREFY_IO_ERROR', `${path}: ${problem}`, fix, { input: path });
}

/** Refuses to replace anything but a saved-model folder or an empty folder. */
async function replaceableTarget(target: string): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(target);
  } catch (error) {
    if (isMissing(error)) return;
    throw ioError(target, `cannot inspect it (${systemMessage(error)})`, 'check the path and permissions');
  }
  if (!info.isDirectory()) {
    throw ioError(
      target,
      'exists and is not a folder',
      'pass a folder path for the saved model, or remove the file',
    );
  }
  const entries = await readdir(target);
  if (entries.length > 0 && !entries.includes(MANIFEST_FILE)) {
    throw ioError(
      target,
      `exists and is not a saved model (no ${MANIFEST_FILE}; it holds ${entries.length} entries), so it is not replaced`,
      'pass a new folder, an empty one, or one written by saveModel',
    );
  }
}

async function commit(temporary: string, target: string, parent: string, name: string): Promise<void> {
  let aside: string | null = null;
  try {
    await stat(target);
    aside = join(parent, `.${name}.old-${randomBytes(6).toString('hex')}`);
    await rename(target, aside);
  } catch (error) {
    if (!isMissing(error)) throw error;
    aside = null;
  }
  try {
    await rename(temporary, target);
  } catch (error) {
    if (aside !== null) await rename(aside, target);
    throw error;
  }
  if (aside !== null) await rm(aside, { recursive: true, force: true });
}

/** A saved-model folder read and checked: its manifest and every listed file's bytes. */
export interface ModelFolder {
  /** The folder's path. */
  readonly dir: string;
  readonly manifest: ModelManifest;
  /** Every file the manifest lists, by name (sizes and SHA-256 checked). */
  readonly files: ReadonlyMap<string, Uint8Array>;
}

/**
 * Reads a saved-model folder: parses and validates `manifest.json`, reads every listed file and
 * checks its size and SHA-256. Kinds loaded elsewhere (the neural pilot, two-tower models) build
 * their model from this.
 *
 * @param dir - the folder
 * @returns the manifest and files
 * @throws RarefyIoError `RAREFY_IO_ERROR` (no folder, no manifest, a listed file missing) or
 *   `RAREFY_PARSE_ERROR` (malformed manifest, unknown kind or version, a file changed)
 * @example
 * ```ts
 * const { manifest, files } = await readModelFolder('models/pilot');
 * ```
 */
export async function readModelFolder(dir: string): Promise<ModelFolder> {
  const manifestPath = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (error) {
    throw ioError(
      manifestPath,
      isMissing(error)
        ? 'missing: this is not a saved model folder'
        : `cannot be read (${systemMessage(error)})`,
      'point at a folder written by `rarefy fit --save` (saveModel), or at a .onnx file',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${manifestPath}: not JSON (${systemMessage(error)})`,
      'save the model again',
      {
        input: manifestPath,
      },
    );
  }
  const manifest = validateManifest(parsed, manifestPath);
  const files = new Map<string, Uint8Array>();
  for (const file of manifest.files) {
    const path = join(dir, file.path);
    let data: Uint8Array;
    try {
      data = await readFile(path);
    } catch (error) {
      throw ioError(
        path,
        isMissing(error)
          ? `listed in ${MANIFEST_FILE} but missing`
          : `cannot be read (${systemMessage(error)})`,
        'copy the whole folder, or save the model again',
      );
    }
    const digest = createHash('sha256').update(data).digest('hex');
    if (data.byteLength !== file.bytes || digest !== file.sha256) {
      throw new RarefyIoError(
        'RAREFY_PARSE_ERROR',
        `${path}: ${data.byteLength} bytes with SHA-256 ${digest.slice(0, 12)}…, but ${MANIFEST_FILE} lists ${file.bytes} bytes with ${file.sha256.slice(0, 12)}…`,
        'the file was changed or truncated: copy the folder again or save the model again',
        { input: path },
      );
    }
    files.set(file.path, data);
  }
  return { dir, manifest, files };
}
