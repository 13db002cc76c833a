import { measureMatMulGflops } from '@rarefy/model-kit';
import { selectBackend } from '@rarefy/model-kit/node';
import { isRarefyError } from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { doctorReport } from './backend.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('selectBackend (Node)', () => {
  it('falls back to wasm (or cpu) here, recording why tfjs-node is not used', async () => {
    vi.stubEnv('RAREFY_BACKEND', '');
    const selection = await selectBackend();
    expect(['wasm', 'cpu']).toContain(selection.backend);
    expect(tf.getBackend()).toBe(selection.backend);
    expect(selection.reason).toMatch(/@tensorflow\/tfjs-node is unavailable \(.*tfjs-node/);
    expect(selection.attempts[0]).toMatchObject({ backend: 'tensorflow', ok: false });
    console.info(`selectBackend: ${selection.backend} — ${selection.reason}`);
  });

  it('RAREFY_BACKEND=cpu forces cpu, and an unusable or unknown forced backend is a typed error', async () => {
    vi.stubEnv('RAREFY_BACKEND', 'cpu');
    const selection = await selectBackend();
    expect(selection).toMatchObject({ backend: 'cpu', reason: 'forced by RAREFY_BACKEND=cpu' });
    expect(tf.getBackend()).toBe('cpu');

    vi.stubEnv('RAREFY_BACKEND', 'tensorflow');
    await expect(selectBackend()).rejects.toThrowError(
      /RAREFY_BACKEND=tensorflow asks for the tensorflow backend, but @tensorflow\/tfjs-node is unavailable.*install @tensorflow\/tfjs-node/,
    );
    vi.stubEnv('RAREFY_BACKEND', 'gpu');
    try {
      await selectBackend();
      expect.unreachable();
    } catch (error) {
      expect(isRarefyError(error, 'RAREFY_INVALID_ARGUMENT')).toBe(true);
      expect((error as Error).message).toMatch(/RAREFY_BACKEND: 'gpu' is not a backend/);
    }
  });

  it('force selects without fallback', async () => {
    vi.stubEnv('RAREFY_BACKEND', '');
    expect((await selectBackend({ force: 'wasm' })).backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });
});

describe('doctorReport', () => {
  it('has the contract keys and a positive matMul speed', async () => {
    vi.stubEnv('RAREFY_BACKEND', '');
    const report = await doctorReport({ size: 256, repeats: 5 });
    expect(Object.keys(report)).toEqual(
      expect.arrayContaining(['backend', 'reason', 'matMulGflops', 'onnxruntime', 'node', 'platform']),
    );
    expect(['tensorflow', 'wasm', 'cpu']).toContain(report.backend);
    expect(report.matMulGflops).toBeGreaterThan(0);
    expect(report.onnxruntime).toMatch(/^\d+\.\d+\.\d+/);
    expect(report.node).toBe(process.version);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
    console.info(`doctor: ${JSON.stringify(report)}`);
  });

  it('measures the cpu backend too (slower, still positive)', async () => {
    vi.stubEnv('RAREFY_BACKEND', 'cpu');
    await selectBackend();
    const gflops = await measureMatMulGflops({ size: 128, repeats: 2 });
    console.info(`cpu matMul 128: ${gflops.toFixed(2)} GFLOP/s`);
    expect(gflops).toBeGreaterThan(0);
    await expect(measureMatMulGflops({ size: 0 })).rejects.toThrowError(/size: 0 is not an integer/);
  });
});
