import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeModelFolder } from '@rarefy/model-kit/node';
import { RETRIEVAL_FILES, retrievalExportContents, towerToOnnx } from '@rarefy/two-tower';
import { writeRetrievalExport } from '@rarefy/two-tower/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLogisticModel, writeRetrievalModel } from './__fixtures__/models.js';
import { isRarefyServerError } from './errors.js';
import { loadServedModel, ModelState, type RetrievalModel } from './model-state.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rarefy-server-state-'));
  for (const [name, options] of [
    ['v1', { seed: 1 }],
    ['v2', { seed: 2, idPrefix: 'v2-' }],
  ] as const) {
    (await writeRetrievalModel(join(root, name), options)).model.dispose();
  }
  await writeLogisticModel(join(root, 'logistic'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('loadServedModel', () => {
  it('loads a retrieval export whole: ids, embeddings, index, user tower, and a stable version', async () => {
    const model = (await loadServedModel(join(root, 'v1'), 1)) as RetrievalModel;
    const again = (await loadServedModel(join(root, 'v1'), 1)) as RetrievalModel;
    try {
      expect(model.kind).toBe('two-tower');
      expect(model.items.ids).toHaveLength(300);
      expect(model.items.rows.get('item-7')).toBe(7);
      expect(model.users?.rows.get('user-3')).toBe(3);
      expect(model.index.size).toBe(300);
      expect(model.userTower?.columns).toEqual(['cluster', 'genres', 'age']);
      expect(model.itemTower?.description.inputs.map((input) => input.kind)).toEqual([
        'id',
        'categorical',
        'multiHot',
        'numeric',
      ]);
      expect(model.version).toMatch(/^[0-9a-f]{12}$/);
      expect(again.version).toBe(model.version);
    } finally {
      await Promise.all([
        model.index.close(),
        again.index.close(),
        model.userTower?.release(),
        again.userTower?.release(),
        model.itemTower?.release(),
        again.itemTower?.release(),
      ]);
    }
  });

  it('refuses an export whose embeddings were changed after export, naming the file', async () => {
    const dir = join(root, 'tampered');
    (await writeRetrievalModel(dir, { seed: 3, towers: false })).model.dispose();
    const path = join(dir, 'item-embeddings.f32');
    const bytes = await readFile(path);
    bytes[0] = (bytes[0] as number) ^ 0xff;
    await writeFile(path, bytes);
    await expect(loadServedModel(dir, 1)).rejects.toMatchObject({
      code: 'RAREFY_PARSE_ERROR',
      input: expect.stringContaining('item-embeddings.f32'),
    });
  });
});

describe('retrieval exports with towers', () => {
  it('reads the towers’ input description from the ONNX metadata when the export has none', async () => {
    const dir = join(root, 'metadata-only');
    const { exported, model } = await writeRetrievalModel(dir, { seed: 7, towers: false });
    const weights = model.weights();
    await writeRetrievalExport(dir, {
      ...exported,
      userTower: towerToOnnx(weights.user, { side: 'user' }),
      itemTower: towerToOnnx(weights.item, { side: 'item' }),
    });
    const served = (await loadServedModel(dir, 1, {
      index: { kind: 'exact', searchThreads: 1 },
    })) as RetrievalModel;
    try {
      const features = { cluster: 'c1', genres: 'g1|g2', age: 44 };
      const embedding = await served.userTower?.embed([features], 'body.userFeatures');
      const expected = model.embedNewUsers(['someone'], {
        ids: ['someone'],
        columns: { cluster: ['c1'], genres: ['g1|g2'], age: [44] },
      });
      embedding?.forEach((value, j) => {
        expect(Math.abs(value - (expected[j] as number))).toBeLessThan(1e-5);
      });
    } finally {
      model.dispose();
      await Promise.all([served.index.close(), served.userTower?.release(), served.itemTower?.release()]);
    }
  });

  it('reads the towers’ id vocabularies from their files, or inline from an older export', async () => {
    const { exported, model } = await writeRetrievalModel(join(root, 'vocabulary-files'), { seed: 9 });
    const weights = model.weights();
    model.dispose();
    const manifest = await readFile(join(root, 'vocabulary-files', 'manifest.json'), 'utf8');
    expect(manifest).toContain(`"vocabularyFile": "${RETRIEVAL_FILES.userVocabulary}"`);
    expect(manifest).not.toContain('"vocabulary"');
    // The same export as written before the vocabulary files: inline in the manifest.
    const { towerInputs = {}, ...withoutInputs } = exported;
    const contents = retrievalExportContents(withoutInputs);
    await writeModelFolder(join(root, 'vocabulary-inline'), {
      ...contents,
      model: { ...contents.model, towerInputs },
    });
    for (const name of ['vocabulary-files', 'vocabulary-inline']) {
      const served = (await loadServedModel(join(root, name), 1, {
        index: { kind: 'exact', searchThreads: 1 },
      })) as RetrievalModel;
      try {
        const [id] = served.userTower?.description.inputs ?? [];
        expect(id).toMatchObject({ kind: 'id', vocabulary: weights.user.idVocabulary });
        const [itemId] = served.itemTower?.description.inputs ?? [];
        expect(itemId).toMatchObject({ kind: 'id', vocabulary: weights.item.idVocabulary });
      } finally {
        await Promise.all([served.index.close(), served.userTower?.release(), served.itemTower?.release()]);
      }
    }
    // A damaged vocabulary file refuses the export, naming the file.
    const path = join(root, 'vocabulary-files', RETRIEVAL_FILES.itemVocabulary);
    await writeFile(path, (await readFile(path, 'utf8')).replace('item-', 'item_'));
    await expect(loadServedModel(join(root, 'vocabulary-files'), 1)).rejects.toMatchObject({
      code: 'RAREFY_PARSE_ERROR',
      input: expect.stringContaining(RETRIEVAL_FILES.itemVocabulary),
    });
  });

  it('refuses towers without an input description, or with one of another format, naming the tower', async () => {
    const { exported, model } = await writeRetrievalModel(join(root, 'described'), { seed: 8 });
    model.dispose();
    const { towerInputs, ...undescribed } = exported;
    await writeRetrievalExport(join(root, 'undescribed'), undescribed);
    await expect(loadServedModel(join(root, 'undescribed'), 1)).rejects.toMatchObject({
      code: 'RAREFY_PARSE_ERROR',
      input: expect.stringContaining('user-tower.onnx'),
    });
    // The binding this server once read ({ inputs: [{ name, columns, type }] }) is not two-tower's format.
    await writeRetrievalExport(join(root, 'foreign'), {
      ...exported,
      towerInputs: {
        ...towerInputs,
        user: { inputs: [{ name: 'numeric', columns: ['age'], type: 'float32' }] },
      },
    });
    await expect(loadServedModel(join(root, 'foreign'), 1)).rejects.toMatchObject({
      code: 'RAREFY_PARSE_ERROR',
      message: expect.stringContaining('rarefy-tower-inputs'),
    });
  });
});

describe('ModelState', () => {
  it('keeps a leased model alive across a reload and frees it when the last lease ends', async () => {
    const state = await ModelState.open(join(root, 'v1'));
    const lease = state.acquire();
    const old = lease.model as RetrievalModel;
    const swapped = await state.reload(join(root, 'v2'));
    expect(swapped.generation).toBe(2);
    expect(state.model).toBe(swapped);
    expect((state.model as RetrievalModel).items.ids[0]).toBe('v2-item-0');
    // The request that leased v1 still searches v1's index.
    const found = await old.index.search(old.items.embeddings.subarray(0, old.dimension), 1);
    expect(found.indices[0]).toBe(0);
    lease.release();
    lease.release(); // twice is once
    await expect(old.index.search(old.items.embeddings.subarray(0, old.dimension), 1)).rejects.toMatchObject({
      input: 'index',
    });
    await state.close();
  });

  it('refuses a broken export, a different kind and a concurrent reload, and keeps serving', async () => {
    const state = await ModelState.open(join(root, 'v1'));
    const before = state.model;
    const missing = await state.reload(join(root, 'nothing-here')).catch((error: unknown) => error);
    expect(isRarefyServerError(missing, 'RAREFY_MODEL_REFUSED')).toBe(true);
    expect(missing).toMatchObject({ statusCode: 422, input: 'body.model' });
    const kind = await state.reload(join(root, 'logistic')).catch((error: unknown) => error);
    expect(isRarefyServerError(kind, 'RAREFY_MODEL_KIND_CHANGED')).toBe(true);
    expect(kind).toMatchObject({ statusCode: 409 });
    const [first, second] = await Promise.allSettled([state.reload(), state.reload()]);
    expect(first.status).toBe('fulfilled');
    expect(second).toMatchObject({
      status: 'rejected',
      reason: { code: 'RAREFY_RELOAD_IN_PROGRESS', statusCode: 409 },
    });
    expect(state.model.version).toBe(before.version);
    expect(state.model.generation).toBe(2);
    const lease = state.acquire();
    const model = lease.model as RetrievalModel;
    expect(
      (await model.index.search(model.items.embeddings.subarray(0, model.dimension), 1)).indices[0],
    ).toBe(0);
    lease.release();
    await state.close();
    await expect(state.reload()).rejects.toMatchObject({ code: 'RAREFY_SHUTTING_DOWN' });
  });
});
