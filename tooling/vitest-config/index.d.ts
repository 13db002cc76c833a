import type { UserWorkspaceConfig } from 'vitest/config';
export interface RarefyProjectOptions {
  /** Shown beside every test of the project. */
  name: string;
  /** Per-test limit in milliseconds (default 60 s: Monte-Carlo tests are slow on 2 cores). */
  testTimeout?: number;
  environment?: 'node';
}
export declare function rarefyProject(options: RarefyProjectOptions): UserWorkspaceConfig;
