import { rarefyPackage } from '@rarefy/tsup-config';

export default rarefyPackage({ entry: { index: 'src/index.ts', node: 'src/node.ts' } });
