import { rarefyPackage } from '@rarefy/tsup-config';

export default rarefyPackage({ entry: { index: 'src/index.ts', bin: 'src/bin.ts' }, platform: 'node' });
