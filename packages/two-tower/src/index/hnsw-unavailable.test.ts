import { isRarefyError } from '@rarefy/sampling-core';
import { describe, expect, it, vi } from 'vitest';

// Simulate a machine without usearch: the CommonJS require that loads it fails.
vi.mock('node:module', () => ({
  createRequire: () => () => {
    throw new Error("Cannot find module 'usearch'");
  },
}));

describe('HnswIndex without usearch', () => {
  it('throws HnswUnavailableError saying how to install it', async () => {
    const { HnswIndex, HnswUnavailableError } = await import('./hnsw.js');
    try {
      new HnswIndex({ dim: 4 });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(HnswUnavailableError);
      expect(isRarefyError(error, 'RAREFY_IO_ERROR')).toBe(true);
      if (isRarefyError(error)) {
        expect(error.input).toBe('usearch');
        expect(error.message).toMatch(/Cannot find module 'usearch'/);
        expect(error.fix).toMatch(/pnpm add usearch@2\.26\.2/);
      }
    }
  });
});
