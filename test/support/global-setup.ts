import type { TestProject } from 'vitest/node';
import { prepareTemplates, type DatabaseTemplates } from './templates.ts';

/**
 * Builds one migrated, seeded template database per dialect before any test runs; each test then
 * copies it, which is much faster than migrating and seeding from scratch every time.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const templates = await prepareTemplates();
  project.provide('databaseTemplates', templates);
  return async () => {};
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseTemplates: DatabaseTemplates;
  }
}
