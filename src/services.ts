import type { AppConfig } from './config.ts';
import type { DatabaseHandle } from './db/database.ts';
import { createOrganisationRepository } from './modules/organisations/organisation.repository.ts';
import { createOrganisationService } from './modules/organisations/organisation.service.ts';

/**
 * Builds every service from the open database. Wiring is explicit, with no container, so the
 * dependencies of each service can be read here in one place.
 */
export function createServices(database: DatabaseHandle, config: AppConfig) {
  const organisations = createOrganisationService(createOrganisationRepository(database.db));
  return {
    config,
    database,
    organisations,
  };
}

export type Services = ReturnType<typeof createServices>;
