import type { ModelManifest } from '@rarefy/model-kit';
import { readModelFolder, writeModelFolder } from '@rarefy/model-kit/node';
import { type RetrievalExport, retrievalExportContents, retrievalExportFromFiles } from '../export/format.js';

/** The package recorded as the producer of retrieval exports. */
const PRODUCER = { name: '@rarefy/two-tower', version: '0.1.0' } as const;

/**
 * Writes a retrieval export folder atomically (a temporary folder renamed into place): `manifest.json`
 * (kind `two-tower`), ids as JSON, embeddings as little-endian Float32, towers as ONNX, and the towers'
 * id vocabularies as JSON files of their own (`user-vocabulary.json`, `item-vocabulary.json`) that the
 * manifest's `towerInputs` names. `rarefy serve` and the demo read it.
 *
 * @param dir - the folder
 * @param model - embeddings, ids, towers
 * @returns the manifest written
 * @example
 * ```ts
 * await writeRetrievalExport('models/movies', { dimension: 64, temperature: 0.05, items, users });
 * ```
 */
export function writeRetrievalExport(dir: string, model: RetrievalExport): Promise<ModelManifest> {
  return writeModelFolder(dir, { producer: PRODUCER, ...retrievalExportContents(model) });
}

/**
 * Reads a retrieval export folder, checking every file's size and SHA-256. The towers' id vocabularies
 * are read from their files into `towerInputs` (inline, as `modelExport` built them); an export that
 * holds them inline in its manifest (written before the vocabulary files) is read too.
 *
 * @param dir - the folder written by {@link writeRetrievalExport}
 * @returns the export
 * @throws RarefyIoError when the folder is missing, not a two-tower export, or a file (a vocabulary
 *   file included) is missing, changed or malformed; the error names the file
 */
export async function readRetrievalExport(dir: string): Promise<RetrievalExport> {
  const { manifest, files } = await readModelFolder(dir);
  return retrievalExportFromFiles(manifest, files, dir);
}
