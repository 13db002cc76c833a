import { rarefyProject } from '@rarefy/vitest-config';

export default rarefyProject({ name: 'integration', testTimeout: 120_000 });
