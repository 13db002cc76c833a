import { defineConfig } from 'tsup';

/**
 * The one build recipe of the workspace: ESM only, declaration files, source maps, Node 20 target.
 * Every dependency stays external (tsup's default for dependencies and peers), so a package never
 * bundles another package's code or types.
 *
 * @param {{ entry: Record<string, string> | string[], platform?: 'node' | 'neutral', shims?: boolean, dts?: boolean }} options
 */
export function rarefyPackage(options) {
  return defineConfig({
    entry: options.entry,
    format: ['esm'],
    dts: options.dts ?? true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: options.platform ?? 'neutral',
    splitting: true,
    treeshake: true,
    outDir: 'dist',
  });
}
