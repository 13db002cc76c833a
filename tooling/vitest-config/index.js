import { defineProject } from 'vitest/config';

/**
 * A vitest project for one package. Workspace packages resolve to their TypeScript sources through
 * the `@rarefy/source` export condition, so tests never need a build first.
 *
 * @param {{ name: string, testTimeout?: number, environment?: 'node' }} options
 */
export function rarefyProject(options) {
  return defineProject({
    resolve: {
      conditions: ['@rarefy/source'],
    },
    ssr: {
      resolve: {
        conditions: ['@rarefy/source'],
      },
    },
    test: {
      name: options.name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: options.environment ?? 'node',
      testTimeout: options.testTimeout ?? 60_000,
      hookTimeout: 60_000,
    },
  });
}
