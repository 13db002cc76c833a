import { rarefyPackage } from '@rarefy/tsup-config';

export default rarefyPackage({
  entry: { index: 'src/index.ts', 'node/index': 'src/node/index.ts', 'search/index': 'src/search/index.ts' },
});
