/**
 * `pnpm bench` in packages/correction: runs every benchmark of the package, one after the other, or
 * only those named on the command line (`pnpm bench recipe monte-carlo`).
 * - `fit-logistic`: fitLogistic on 1e6 x 7 and on a 1000-row pilot, against a read pass.
 * - `recipe`: the whole fitRareEvents recipe on 1e6 x 7, per design, with per-stage timings.
 * - `monte-carlo`: the ALGORITHMS.md A.10 eMSE table at N = 1e5 beside the R package's figures.
 * Each writes bench-results/<name>.json in the package and prints Markdown tables. Not run in CI.
 */
const benchmarks = {
  'fit-logistic': () => import('./fit-logistic.js'),
  recipe: () => import('./recipe.js'),
  'monte-carlo': () => import('./monte-carlo.js'),
} as const;
type BenchmarkName = keyof typeof benchmarks;

const isBenchmark = (name: string): name is BenchmarkName => Object.hasOwn(benchmarks, name);
const asked = process.argv.slice(2).filter((argument) => argument !== '--');
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
