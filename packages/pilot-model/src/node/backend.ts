import { availableParallelism } from 'node:os';
import { measureMatMulGflops } from '@rarefy/model-kit';
import { type BackendName, selectBackend } from '@rarefy/model-kit/node';
import { onnxruntimeVersion } from './onnx-pilot.js';

/** What `rarefy doctor --json` prints. */
export interface DoctorReport {
  /** The TensorFlow.js backend in use. */
  readonly backend: BackendName;
  /** Why that backend. */
  readonly reason: string;
  /** Measured float32 matMul speed of that backend, GFLOP/s. */
  readonly matMulGflops: number;
  /** The onnxruntime-node version. */
  readonly onnxruntime: string;
  /** The Node.js version (`process.version`). */
  readonly node: string;
  /** `platform-arch`, e.g. `linux-x64`. */
  readonly platform: string;
  /** Logical CPU cores available. */
  readonly cpus: number;
}

/**
 * Selects the backend (as {@link selectBackend}), measures its matMul speed and reports it with the
 * onnxruntime version: the contract of `rarefy doctor --json`.
 *
 * @param options - `size` and `repeats` of the matMul measurement (default 256, 10) and `force`
 * @returns the report
 * @example
 * ```ts
 * import { doctorReport } from '@rarefy/pilot-model/node';
 * console.log(JSON.stringify(await doctorReport()));
 * ```
 */
export async function doctorReport(
  options: { size?: number; repeats?: number; force?: BackendName } = {},
): Promise<DoctorReport> {
  const selection = await selectBackend(options.force === undefined ? {} : { force: options.force });
  const matMulGflops = await measureMatMulGflops({
    size: options.size ?? 256,
    repeats: options.repeats ?? 10,
  });
  return {
    backend: selection.backend,
    reason: selection.reason,
    matMulGflops,
    onnxruntime: onnxruntimeVersion(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: availableParallelism(),
  };
}
