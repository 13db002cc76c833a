import { rarefyPackage } from '@rarefy/tsup-config';

export default rarefyPackage({
  // The index worker is loaded by URL as a worker thread from dist/index.js, so it must exist as its own file.
  entry: { index: 'src/index.ts', 'index-worker': 'src/index-worker.ts' },
  platform: 'node',
});
