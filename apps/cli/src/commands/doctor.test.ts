import { describe, expect, it } from 'vitest';
import { createMemoryIo, run } from '../index.js';

describe('rarefy doctor', () => {
  it('--json prints the backend, why, its measured matMul speed and the onnxruntime version', async () => {
    const io = createMemoryIo();
    const code = await run(['node', 'rarefy', 'doctor', '--json'], io);
    expect(code).toBe(0);
    expect(io.stdoutText().trim().split('\n')).toHaveLength(1);
    const report = JSON.parse(io.stdoutText()) as Record<string, unknown>;
    expect(['tensorflow', 'wasm', 'cpu']).toContain(report.backend);
    expect(typeof report.reason).toBe('string');
    expect(report.matMulGflops).toBeGreaterThan(0);
    expect(report.onnxruntime).toMatch(/^\d+\.\d+\.\d+/);
  });
});
