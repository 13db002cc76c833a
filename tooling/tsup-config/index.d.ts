import type { Options } from 'tsup';
export interface RarefyPackageOptions {
  /** Entry points: `{ index: 'src/index.ts', node: 'src/node.ts' }`. */
  entry: Record<string, string> | string[];
  /** `neutral` for browser-safe packages (the default), `node` for Node-only code. */
  platform?: 'node' | 'neutral';
  /** Emit declaration files (default true). */
  dts?: boolean;
}
export declare function rarefyPackage(options: RarefyPackageOptions): Options | Options[];
