import { knowledgeHubSeed } from './modules/content/content.seed.ts';
import { llrGreenPlanSeed } from './modules/green-plans/llr-green-plan.seed.ts';
import { greenerPracticeSeed } from './modules/greener-practice/greener-practice.seed.ts';
import type { Services } from './services.ts';

/**
 * Example content loaded by `greenspace seed` (and by `greenspace start` on a new database), after
 * the reference data. Each seed goes through the same services as the web pages, is clearly
 * labelled as example content, and is idempotent: running it again changes nothing.
 */
export type ContentSeed = {
  name: string;
  run(services: Services, options: SeedOptions): Promise<{ created: number; unchanged: number }>;
};

export interface SeedOptions {
  /**
   * Whether to load example content (labelled examples of case studies, a Green Plan, practice
   * assessments). Content that is real — the workspace pages, the programme framework — always
   * loads. See `EXAMPLE_CONTENT` in the README.
   */
  examples: boolean;
}

export const contentSeeds: ContentSeed[] = [
  knowledgeHubSeed,
  llrGreenPlanSeed,
  greenerPracticeSeed,
];

export async function runContentSeeds(
  services: Services,
  log: (line: string) => void,
  options: SeedOptions = { examples: services.config.exampleContent },
): Promise<void> {
  for (const seed of contentSeeds) {
    const result = await seed.run(services, options);
    log(`${seed.name}: ${result.created} created, ${result.unchanged} unchanged.`);
  }
}
