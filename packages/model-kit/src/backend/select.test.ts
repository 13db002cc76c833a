import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { selectBackend } from './select.js';

describe('selectBackend (browser-safe core)', () => {
  it('skips tfjs-node without a native loader and takes wasm', async () => {
    const selection = await selectBackend();
    expect(selection.backend).toBe('wasm');
    expect(selection.reason).toBe(
      '@tensorflow/tfjs-node is unavailable (@tensorflow/tfjs-node runs in Node only); using wasm',
    );
    expect(tf.getBackend()).toBe('wasm');
  });

  it('reports a failing native loader and still falls back', async () => {
    const selection = await selectBackend({
      loadNative: () => Promise.reject(new Error('libtensorflow.so: cannot open shared object file')),
    });
    expect(selection.backend).toBe('wasm');
    expect(selection.reason).toMatch(/libtensorflow\.so: cannot open shared object file/);
  });

  it('rejects an unknown forced backend with a typed error', async () => {
    await expect(selectBackend({ force: 'webgpu' as never })).rejects.toThrowError(
      /the force option: 'webgpu' is not a backend. Fix: use one of tensorflow, wasm, cpu/,
    );
  });
});
