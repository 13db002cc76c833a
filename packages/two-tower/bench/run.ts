/**
 * `pnpm bench` in packages/two-tower: runs every benchmark of the package, one after the other, or
 * only those named on the command line (`pnpm bench topk`).
 * - `train-throughput`: examples/s and achieved FLOP/s at B = 1024, embedding 64, against the
 *   backend's matMul roof and a plain tfjs Layers model, measured in the same run.
 * - `topk`: exact top-K over 1e6 x 64 against a plain loop, and HNSW with its recall against exact.
 * The MovieLens comparison of negative sources and corrections is in apps/cli (bench/retrieval.ts),
 * which reads the data with data-io. Not run in CI.
 */
const benchmarks = {
  'train-throughput': () => import('./train-throughput.js'),
  topk: () => import('./topk.js'),
} as const;
type BenchmarkName = keyof typeof benchmarks;

const isBenchmark = (name: string): name is BenchmarkName => Object.hasOwn(benchmarks, name);
const asked = process.argv.slice(2).filter((argument) => argument !== '--' && !argument.startsWith('-'));
const unknown = asked.filter((name) => !isBenchmark(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(benchmarks).join(', ')}`);
  process.exit(2);
}
const selected = asked.length > 0 ? asked.filter(isBenchmark) : (Object.keys(benchmarks) as BenchmarkName[]);
for (const name of selected) {
  console.log(`\n## ${name}\n`);
  await benchmarks[name]();
}
