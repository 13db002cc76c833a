import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRarefyError } from '@rarefy/sampling-core';
import { afterAll, describe, expect, it } from 'vitest';
import { retrievalExportContents } from '../export/format.js';
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
