import type { AppConfig } from './config.ts';
import type { DatabaseHandle } from './db/database.ts';
import { createOrganisationRepository } from './modules/organisations/organisation.repository.ts';
import { createOrganisationService } from './modules/organisations/organisation.service.ts';
import { loadInhalerReference } from './modules/prescribing/inhaler-reference.ts';
import { createPrescribingRepository } from './modules/prescribing/prescribing.repository.ts';
import { createPrescribingService } from './modules/prescribing/prescribing.service.ts';

/**
 * Builds every service from the open database. Wiring is explicit, with no container, so the
 * dependencies of each service can be read here in one place.
 */
export function createServices(database: DatabaseHandle, config: AppConfig) {
  const organisations = createOrganisationService(createOrganisationRepository(database.db));
  const prescribing = createPrescribingService(
    createPrescribingRepository(database.db, database.dialect),
    loadInhalerReference(),
  );
  return {
    config,
    database,
    organisations,
    prescribing,
  };
}

export type Services = ReturnType<typeof createServices>;
