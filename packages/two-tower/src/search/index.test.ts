import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A module loader hook, run by Node on its hooks thread: it sends every URL resolved (any ESM import,
 * tsx's TypeScript sources included) to the main thread.
 */
const HOOKS = `
let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  port.postMessage(result.url);
  return result;
}
`;

/** Registers {@link HOOKS} (after tsx, so it sees the URLs tsx resolves) and collects what they send. */
const REGISTER = (hooks: string): string => `
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
globalThis.__resolved = [];
port1.on('message', (url) => globalThis.__resolved.push(url));
port1.unref();
register(${JSON.stringify(hooks)}, { data: { port: port2 }, transferList: [port2] });
`;

/**
 * Imports PROBE_TARGET (by its package specifier, from the package's own folder) and prints the RSS
 * before and after (each after a full GC), its exports, every ESM URL resolved and every CommonJS
 * module loaded (`require.cache`: what tfjs, onnx-proto and usearch are loaded as).
 */
const PROBE = `
const sentinel = 'data:text/javascript,export const probe = 1;';
globalThis.gc();
const before = process.memoryUsage().rss;
const loaded = await import(process.env.PROBE_TARGET);
globalThis.gc();
const after = process.memoryUsage().rss;
await import(sentinel);
// Messages on one port arrive in order: once the sentinel's URL is in, every earlier one is.
for (let k = 0; k < 1000 && !globalThis.__resolved.includes(sentinel); k++) {
  await new Promise((done) => setTimeout(done, 5));
}
const { createRequire } = await import('node:module');
const cjs = Object.keys(createRequire(process.cwd() + '/').cache);
process.stdout.write(JSON.stringify({
  before, after, exports: Object.keys(loaded).sort(), resolved: globalThis.__resolved, cjs,
  complete: globalThis.__resolved.includes(sentinel),
}));
`;

interface Probe {
  readonly before: number;
  readonly after: number;
  readonly exports: readonly string[];
  readonly resolved: readonly string[];
  readonly cjs: readonly string[];
  readonly complete: boolean;
}

/** tfjs, onnx-proto, onnxruntime: what the search entry must never load. */
const HEAVY = /[\\/]node_modules[\\/](@tensorflow[\\/]|onnx[^\\/]*[\\/])/;

const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
let register: string;
let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'rarefy-search-entry-'));
  const hooks = join(folder, 'hooks.mjs');
  register = join(folder, 'register.mjs');
  await writeFile(hooks, HOOKS);
  await writeFile(register, REGISTER(pathToFileURL(hooks).href));
});
afterAll(() => rm(folder, { recursive: true, force: true }));

function probe(target: string): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--conditions=@rarefy/source',
        '--expose-gc',
        '--import',
        'tsx',
        '--import',
        pathToFileURL(register).href,
        '--input-type=module',
        '-e',
        PROBE,
      ],
      { cwd: packageRoot, env: { ...process.env, PROBE_TARGET: target }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`importing ${target} failed (exit ${code}): ${stderr}`));
      else resolve(JSON.parse(stdout) as Probe);
    });
  });
}

const megabytes = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;

describe('@rarefy/two-tower/search', () => {
  it('loads no tfjs and no onnx, and costs a fraction of the /node entry', async () => {
    const [search, node] = await Promise.all([
      probe('@rarefy/two-tower/search'),
      probe('@rarefy/two-tower/node'),
    ]);
    for (const result of [search, node]) expect(result.complete).toBe(true);

    expect(search.exports).toEqual(
      expect.arrayContaining(['ExactIndex', 'HnswIndex', 'topKByDotProduct', 'topKByDotProductNative']),
    );
    // The hook saw the sources (so an import of tfjs from any of them would be seen too).
    expect(search.resolved.some((url) => url.endsWith('/src/search/index.ts'))).toBe(true);
    expect(search.resolved.some((url) => url.endsWith('/src/index/hnsw.ts'))).toBe(true);
    const heavy = [...search.resolved, ...search.cjs].filter((path) => HEAVY.test(path));
    expect(heavy).toEqual([]);
    // The probe does find them where they are: the /node entry loads tfjs and onnx-proto.
    const nodeHeavy = [...node.resolved, ...node.cjs].filter((path) => HEAVY.test(path));
    expect(nodeHeavy.some((path) => /@tensorflow[\\/]tfjs-core/.test(path))).toBe(true);
    expect(nodeHeavy.some((path) => /onnx-proto/.test(path))).toBe(true);
    // Everything /search exports, /node exports too.
    expect(node.exports).toEqual(expect.arrayContaining([...search.exports]));

    const searchCost = search.after - search.before;
    const nodeCost = node.after - node.before;
    console.info(
      `RSS of importing (TypeScript sources through tsx): @rarefy/two-tower/search +${megabytes(searchCost)}` +
        ` (${search.resolved.length} ESM, ${search.cjs.length} CommonJS modules), @rarefy/two-tower/node` +
        ` +${megabytes(nodeCost)} (${node.resolved.length} ESM, ${node.cjs.length} CommonJS); difference` +
        ` ${megabytes(nodeCost - searchCost)}`,
    );
  }, 120_000);
});
