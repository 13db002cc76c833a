import { rarefyPackage } from '@rarefy/tsup-config';

export default rarefyPackage({
  entry: {
    index: 'src/index.ts',
    'node/index': 'src/node/index.ts',
    // Loaded by URL as a worker thread from dist/node/index.js, so it must exist as its own file.
    'node/score-worker': 'src/node/score-worker.ts',
  },
});
