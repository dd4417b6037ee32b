import { knowledgeHubSeed } from './modules/content/content.seed.ts';
import { llrGreenPlanSeed } from './modules/green-plans/llr-green-plan.seed.ts';
import { greenerPracticeSeed } from './modules/greener-practice/greener-practice.seed.ts';
import { createSetupSteps } from './setup-steps.ts';
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

/**
 * Runs every content seed, in order, and records the seeding as done once all have run (see
 * `prepareNewDatabase`). Each is idempotent, so running them again changes nothing.
 */
export async function runContentSeeds(
  services: Services,
  log: (line: string) => void,
  options: SeedOptions = { examples: services.config.exampleContent },
  seeds: readonly ContentSeed[] = contentSeeds,
): Promise<void> {
  for (const seed of seeds) {
    const result = await seed.run(services, options);
    log(`${seed.name}: ${result.created} created, ${result.unchanged} unchanged.`);
  }
  await createSetupSteps(services.database.db).markDone('content-seeds');
}

/**
 * What `greenspace start` does before serving: loads the reference data into a database that has
 * none, then the content seeds unless a run of them has finished on this database. The two are
 * separate steps, each recorded, so a first start stopped half way (Ctrl-C, a seed that failed)
 * carries on at the next start; once finished, the seeds are not run again at each start, which
 * would bring back example content that was deliberately deleted.
 */
export async function prepareNewDatabase(
  services: Services,
  log: (line: string) => void,
  seeds: readonly ContentSeed[] = contentSeeds,
): Promise<void> {
  if (await services.organisations.isEmpty()) {
    const { organisations } = await services.organisations.loadReferenceData(
      services.config.referenceDataDir,
    );
    log(`reference data loaded into the new database: ${organisations.inserted} organisations`);
  }
  if (await createSetupSteps(services.database.db).isDone('content-seeds')) return;
  await runContentSeeds(services, log, undefined, seeds);
}
