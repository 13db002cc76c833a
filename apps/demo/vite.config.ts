import { defaultClientConditions, defineConfig } from 'vite';

// The demo bundles the workspace packages from their TypeScript sources (the `@rarefy/source`
// condition, as the tests do), so `pnpm --filter demo dev` needs no build of the packages first.
// `base: './'` makes dist/ work from any folder and any server path (`rarefy demo`, file copies).
export default defineConfig({
  base: './',
  resolve: { conditions: ['@rarefy/source', ...defaultClientConditions] },
  worker: { format: 'es' },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
