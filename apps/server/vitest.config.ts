import { rarefyProject } from '@rarefy/vitest-config';

export default rarefyProject({ name: 'server' });
