import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURE_HASH_FUNCTION, type JsonObject } from '@rarefy/model-kit';
import { writeModelFolder } from '@rarefy/model-kit/node';
import { isRarefyError } from '@rarefy/sampling-core';
import { afterAll, describe, expect, it } from 'vitest';
import { RETRIEVAL_FILES, retrievalExportContents } from '../export/format.js';
import {
  encodeTowerInputs,
  parseTowerInputsDescription,
  TOWER_INPUTS_FORMAT,
  TOWER_INPUTS_VERSION,
  type TowerFeeds,
} from '../export/tower-inputs.js';
import { readRetrievalExport, writeRetrievalExport } from './export.js';

const root = await mkdtemp(join(tmpdir(), 'rarefy-export-'));
afterAll(() => rm(root, { recursive: true, force: true }));

describe('retrieval export', () => {
  const items = { ids: ['m1', 'm2', 'm3'], embeddings: Float32Array.of(1, 0, 0.6, 0.8, -1, 0) };
  const users = { ids: ['u1'], embeddings: Float32Array.of(0.28, 0.96) };

  it('round-trips ids, embeddings, towers and the training record exactly', async () => {
    const dir = join(root, 'model');
    const tower = Uint8Array.of(8, 1, 2, 3);
    await writeRetrievalExport(dir, {
      dimension: 2,
      temperature: 0.05,
      items,
      users,
      userTower: tower,
      training: { design: 'in-batch', estimator: 'logQ', sizes: { interactions: 10 }, seed: 7 },
    });
    const back = await readRetrievalExport(dir);
    expect(back.dimension).toBe(2);
    expect(back.temperature).toBe(0.05);
    expect(back.items.ids).toEqual(items.ids);
    expect(Array.from(back.items.embeddings)).toEqual(Array.from(items.embeddings));
    expect(back.users?.ids).toEqual(['u1']);
    expect(Array.from(back.userTower ?? [])).toEqual([8, 1, 2, 3]);
    expect(back.itemTower).toBeUndefined();
    expect(back.training?.seed).toBe(7);
    expect((await readdir(root)).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });

  it('refuses mismatched ids and embeddings, and repeated ids, naming the side', () => {
    expect(() => retrievalExportContents({ dimension: 3, temperature: 1, items })).toThrow(
      /items: 6 embedding values for 3 ids of dimension 3/,
    );
    try {
      retrievalExportContents({
        dimension: 2,
        temperature: 1,
        items: { ids: ['a', 'a'], embeddings: new Float32Array(4) },
      });
      expect.unreachable();
    } catch (error) {
      expect(isRarefyError(error, 'RAREFY_INVALID_ARGUMENT')).toBe(true);
      expect(String(error)).toMatch(/"a" appears twice/);
    }
  });

  it('detects a changed embeddings file', async () => {
    const dir = join(root, 'tampered');
    await writeRetrievalExport(dir, { dimension: 2, temperature: 1, items });
    const path = join(dir, 'item-embeddings.f32');
    const bytes = await readFile(path);
    bytes[0] = (bytes[0] as number) ^ 1;
    await writeFile(path, bytes);
    await expect(readRetrievalExport(dir)).rejects.toThrow(/SHA-256/);
  });
});

/** A tower's input description as the exporter writes it: an id input with its vocabulary, a categorical. */
function description(vocabulary: readonly string[]): JsonObject {
  return {
    format: TOWER_INPUTS_FORMAT,
    version: TOWER_INPUTS_VERSION,
    output: { name: 'embedding', dimension: 2, normalisation: 'l2' },
    inputs: [
      { kind: 'id', name: 'id', type: 'int64', shape: ['N'], vocabulary, unknownRow: 0 },
      {
        kind: 'categorical',
        name: 'categorical_0',
        column: 'country',
        type: 'int64',
        shape: ['N'],
        hashing: { function: FEATURE_HASH_FUNCTION, seed: 7, buckets: 8, missing: '' },
      },
    ],
  };
}

/** The rows of the id table that `encodeTowerInputs` feeds. */
function idRows(feeds: TowerFeeds): bigint[] {
  const feed = feeds.id;
  if (feed?.type !== 'int64') throw new Error('no int64 id feed');
  return Array.from(feed.data);
}

async function readManifest(dir: string): Promise<{ model: JsonObject; files: { path: string }[] }> {
  return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
}

async function rewriteFile(dir: string, name: string, text: string): Promise<void> {
  // Rewrites a file and its manifest entry (size and SHA-256), so only the content is wrong.
  const data = new TextEncoder().encode(text);
  await writeFile(join(dir, name), data);
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  for (const file of manifest.files) {
    if (file.path === name) {
      file.bytes = data.byteLength;
      file.sha256 = createHash('sha256').update(data).digest('hex');
    }
  }
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
}

describe('retrieval export: tower id vocabularies', () => {
  const items = { ids: ['m1', 'm2'], embeddings: Float32Array.of(1, 0, 0, 1) };
  // Ids are any strings: quotes, backslashes, newlines, tabs, non-ASCII, the empty string.
  const userVocabulary = ['u1', 'line\nbreak', 'tab\there', '"quoted" \\ back', 'Zoë 😀', '', '\r\n'];
  const itemVocabulary = ['m1', 'm2'];
  const towerInputs: JsonObject = { user: description(userVocabulary), item: description(itemVocabulary) };

  it('writes each vocabulary as its own checksummed file, named by the manifest, and reads it back inline', async () => {
    const dir = join(root, 'vocabularies');
    await writeRetrievalExport(dir, { dimension: 2, temperature: 1, items, towerInputs });
    const manifest = await readManifest(dir);
    expect(manifest.files.map((file) => file.path)).toEqual(
      expect.arrayContaining([RETRIEVAL_FILES.userVocabulary, RETRIEVAL_FILES.itemVocabulary]),
    );
    expect(manifest.files.find((file) => file.path === RETRIEVAL_FILES.userVocabulary)).toMatchObject({
      role: 'ids',
      format: 'json',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const record = manifest.model.towerInputs as { user: { inputs: JsonObject[] } };
    expect(record.user.inputs[0]).toEqual({
      kind: 'id',
      name: 'id',
      type: 'int64',
      shape: ['N'],
      vocabularyFile: RETRIEVAL_FILES.userVocabulary,
      vocabularySize: userVocabulary.length,
      unknownRow: 0,
    });
    expect(JSON.stringify(manifest.model)).not.toContain('Zoë');
    expect(JSON.parse(await readFile(join(dir, RETRIEVAL_FILES.userVocabulary), 'utf8'))).toEqual(
      userVocabulary,
    );

    const back = await readRetrievalExport(dir);
    expect(back.towerInputs).toEqual(towerInputs);
    const user = parseTowerInputsDescription(back.towerInputs?.user, 'towerInputs.user');
    const feeds = encodeTowerInputs(user, [
      { id: 'line\nbreak' },
      { id: '' },
      { id: 'unseen' },
      { id: '\r\n' },
    ]);
    expect(idRows(feeds)).toEqual([2n, 6n, 0n, 7n]);
    expect((await readdir(root)).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });

  it('reads an export written before the vocabulary files (vocabularies inline in the manifest)', async () => {
    const dir = join(root, 'inline-vocabularies');
    const contents = retrievalExportContents({ dimension: 2, temperature: 1, items });
    await writeModelFolder(dir, { ...contents, model: { ...contents.model, towerInputs } });
    const manifest = await readManifest(dir);
    expect(manifest.files.map((file) => file.path)).not.toContain(RETRIEVAL_FILES.userVocabulary);
    const back = await readRetrievalExport(dir);
    expect(back.towerInputs).toEqual(towerInputs);
    const item = parseTowerInputsDescription(back.towerInputs?.item, 'towerInputs.item');
    expect(idRows(encodeTowerInputs(item, [{ id: 'm2' }]))).toEqual([2n]);
  });

  it('refuses a vocabulary file that was changed, is missing, is not listed, is malformed or of the wrong size', async () => {
    const write = async (name: string): Promise<string> => {
      const dir = join(root, name);
      await writeRetrievalExport(dir, { dimension: 2, temperature: 1, items, towerInputs });
      return dir;
    };
    const expectError = async (dir: string, code: string, message: RegExp): Promise<void> => {
      const error = await readRetrievalExport(dir).catch((caught: unknown) => caught);
      expect(isRarefyError(error)).toBe(true);
      expect(error).toMatchObject({ code, input: expect.stringContaining(RETRIEVAL_FILES.userVocabulary) });
      expect(String(error)).toMatch(message);
      expect((error as { fix: string }).fix).toMatch(/export the model again|copy the/);
    };

    const changed = await write('vocabulary-changed');
    const text = await readFile(join(changed, RETRIEVAL_FILES.userVocabulary), 'utf8');
    await writeFile(join(changed, RETRIEVAL_FILES.userVocabulary), text.replace('u1', 'u2'));
    await expectError(changed, 'RAREFY_PARSE_ERROR', /SHA-256/);

    const missing = await write('vocabulary-missing');
    await rm(join(missing, RETRIEVAL_FILES.userVocabulary));
    await expectError(missing, 'RAREFY_IO_ERROR', /missing/);

    const unlisted = await write('vocabulary-unlisted');
    const manifest = JSON.parse(await readFile(join(unlisted, 'manifest.json'), 'utf8'));
    manifest.files = manifest.files.filter(
      (file: { path: string }) => file.path !== RETRIEVAL_FILES.userVocabulary,
    );
    await writeFile(join(unlisted, 'manifest.json'), JSON.stringify(manifest));
    await expectError(
      unlisted,
      'RAREFY_IO_ERROR',
      /towerInputs\.user\.inputs\[0\]\.vocabularyFile.*not in the export/,
    );

    const malformed = await write('vocabulary-malformed');
    await rewriteFile(malformed, RETRIEVAL_FILES.userVocabulary, 'u1\nu2\n');
    await expectError(malformed, 'RAREFY_PARSE_ERROR', /not JSON/);
    await rewriteFile(malformed, RETRIEVAL_FILES.userVocabulary, '["u1", 2]');
    await expectError(malformed, 'RAREFY_PARSE_ERROR', /not an array of string ids/);

    const resized = await write('vocabulary-resized');
    await rewriteFile(resized, RETRIEVAL_FILES.userVocabulary, '["u1"]');
    await expectError(
      resized,
      'RAREFY_PARSE_ERROR',
      /1 ids, but towerInputs\.user\.inputs\[0\]\.vocabularySize is 7/,
    );
  });

  it('refuses to write a vocabulary that is not a list of strings', () => {
    const broken = description([]);
    const inputs = [{ ...(broken.inputs as JsonObject[])[0], vocabulary: ['a', 1] }];
    expect(() =>
      retrievalExportContents({
        dimension: 2,
        temperature: 1,
        items,
        towerInputs: { user: { ...broken, inputs } },
      }),
    ).toThrow(/towerInputs\.user\.inputs\[0\]\.vocabulary: not a list of string ids/);
  });
});
