// The server process of the benchmark (a process of its own, so that the load generator does not
// share its event loop): serves one model on a free loopback port, prints `listening on URL`, and
// drains on SIGTERM. Arguments: <model folder> <index: exact | hnsw | auto> [HNSW build threads]
// [HNSW search threads (default: the server's default)].
import { createServer, listen } from '../src/index.js';

const [model, index = 'auto', buildThreads = '1', searchThreads] = process.argv.slice(2);
if (model === undefined || !['exact', 'hnsw', 'auto'].includes(index)) {
  throw new Error('usage: serve.ts <model folder> <exact|hnsw|auto> [HNSW build threads]');
}
const app = await createServer({
  model,
  index: {
    kind: index as 'exact' | 'hnsw' | 'auto',
    hnsw: {
      buildThreads: Number(buildThreads),
      ...(searchThreads === undefined ? {} : { searchThreads: Number(searchThreads) }),
    },
  },
  // The load generator decides the concurrency; the in-flight limit is not what is measured.
  maxInFlight: 4096,
});
const url = await listen(app, { port: 0 });
console.log(`listening on ${url}`);
process.once('SIGTERM', () => {
  void app.close();
});
