import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig, withOverrides, type AppConfig } from './config.ts';
import { connectDatabase, DatabaseUnavailableError, type DatabaseHandle } from './db/database.ts';
import { findPendingMigrations, MigrationError, migrateToLatest } from './db/migrate.ts';
import { InputFileError } from './lib/csv.ts';
import { ValidationFailed } from './lib/validation.ts';
import { NotFoundError } from './web/http-errors.ts';
import { isOrganisationRole, organisationRoles } from './modules/access/roles.ts';
import { createLogger, type Logger } from './logger.ts';
import { addPrescribingCommands } from './modules/prescribing/prescribing.cli.ts';

// The web application, its services and the stylesheet compiler are loaded only by the commands
// that use them, so that `--help` and the data commands start quickly.
const loadServices = () => import('./services.ts');
const loadSeeds = () => import('./seeds.ts');

/**
 * The `greenspace` command. Every subcommand reads its settings from the environment (see the
 * README's configuration table); flags override the few that are handy to change per run.
 */
export function buildCli(): Command {
  const program = new Command('greenspace')
    .description('Greenspace: the collaboration workspace for a greener NHS')
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(text) });

  program
    .command('start')
    .description('migrate the database, load reference data if the database is empty, then serve')
    .option('-p, --port <port>', 'port to listen on (default: PORT or 3000)', parsePort)
    .option('-H, --host <host>', 'address to listen on (default: HOST or localhost)')
    .action(async (options: ServeOptions) => {
      const config = withOverrides(loadConfig(), options);
      const logger = createLogger(config);
      const database = await connect(config, logger);
      const ran = await migrateToLatest(database);
      if (ran.length > 0) logger.info({ migrations: ran }, 'database migrated');
      const services = (await loadServices()).createServices(database, config);
      await (await loadSeeds()).prepareNewDatabase(services, (line) => logger.info(line));
      await serve(config, logger, database);
    });

  program
    .command('serve')
    .description('serve the web application (the database must already be migrated)')
    .option('-p, --port <port>', 'port to listen on (default: PORT or 3000)', parsePort)
    .option('-H, --host <host>', 'address to listen on (default: HOST or localhost)')
    .action(async (options: ServeOptions) => {
      const config = withOverrides(loadConfig(), options);
      const logger = createLogger(config);
      const database = await connect(config, logger);
      const pending = await findPendingMigrations(database);
      if (pending.length > 0) {
        await database.close();
        throw new MigrationError(
          `The database needs ${pending.length} migration(s) (${pending.join(', ')}): run "greenspace migrate" first, or use "greenspace start".`,
        );
      }
      await serve(config, logger, database);
    });

  program
    .command('migrate')
    .description('bring the database schema up to date (forward-only migrations)')
    .action(async () => {
      const config = loadConfig();
      const database = await connectDatabase(config.database);
      try {
        const ran = await migrateToLatest(database);
        console.log(
          ran.length === 0
            ? `Database is up to date (${database.description}).`
            : `Ran ${ran.length} migration(s) on ${database.description}: ${ran.join(', ')}`,
        );
      } finally {
        await database.close();
      }
    });

  program
    .command('seed')
    .description('load the reference data shipped in data/reference (safe to repeat)')
    .option(
      '-d, --dir <folder>',
      'reference data folder (default: REFERENCE_DATA_DIR or data/reference)',
    )
    .action(async (options: { dir?: string }) => {
      const config = loadConfig();
      const database = await connectDatabase(config.database);
      try {
        await migrateToLatest(database);
        // --dir stands in for REFERENCE_DATA_DIR for this run, so every seed reads the same
        // folder: organisations and profiles, and the Greener General Practice framework.
        const referenceDataDir = options.dir ?? config.referenceDataDir;
        const services = (await loadServices()).createServices(database, {
          ...config,
          referenceDataDir,
        });
        const summary = await services.organisations.loadReferenceData(referenceDataDir);
        const { inserted, updated, retired, unchanged } = summary.organisations;
        console.log(
          `Organisations: ${inserted} added, ${updated} updated, ${retired} retired, ${unchanged} unchanged.`,
        );
        console.log(
          `Practice profiles: ${summary.practiceProfiles.written} written, ${summary.practiceProfiles.unchanged} unchanged.`,
        );
        for (const dataset of summary.datasets) {
          console.log(
            `  ${dataset.key}: ${dataset.rows} rows${dataset.changed ? ' (new or changed)' : ''}`,
          );
        }
        await (await loadSeeds()).runContentSeeds(services, (line) => console.log(line));
      } finally {
        await database.close();
      }
    });

  program
    .command('create-user')
    .description(
      'create an account and email it a link to choose a password (for the first admin, say)',
    )
    .requiredOption('-e, --email <email>', 'email address of the new user')
    .requiredOption('-n, --name <name>', 'full name of the new user')
    .option(
      '--platform-admin',
      'make the user a platform admin (they must then set up two-factor authentication)',
    )
    .action(async (options: { email: string; name: string; platformAdmin?: boolean }) => {
      const config = loadConfig();
      const database = await connectDatabase(config.database);
      try {
        await migrateToLatest(database);
        const services = (await loadServices()).createServices(database, config);
        const created = await services.accounts.createAccountByOperator({
          email: options.email,
          displayName: options.name,
          platformAdmin: options.platformAdmin === true,
        });
        await services.email.deliverDue();
        console.log(
          `Created ${options.email}. They can choose a password with this link (valid 24 hours):`,
        );
        console.log(created.setPasswordLink);
      } finally {
        await database.close();
      }
    });

  program
    .command('add-member')
    .description(
      "give a user a role in an organisation (for bootstrapping; normally done on the organisation's pages)",
    )
    .requiredOption('-e, --email <email>', 'email address of the user')
    .requiredOption(
      '-o, --organisation <code>',
      'ODS code of the organisation, such as QK1 or C82001',
    )
    .requiredOption('-r, --role <role>', `one of: ${organisationRoles.join(', ')}`)
    .action(async (options: { email: string; organisation: string; role: string }) => {
      if (!isOrganisationRole(options.role))
        throw new ValidationFailed({
          role: `--role must be one of: ${organisationRoles.join(', ')}`,
        });
      const config = loadConfig();
      const database = await connectDatabase(config.database);
      try {
        await migrateToLatest(database);
        const services = (await loadServices()).createServices(database, config);
        const user = await services.accounts.findUserByEmail(options.email);
        if (!user)
          throw new ValidationFailed({
            email: `No account has the email address ${options.email}`,
          });
        await services.memberships.addMemberDirectly(
          user.id,
          options.organisation.toUpperCase(),
          options.role,
          null,
        );
        console.log(
          `${options.email} is now ${options.role} of ${options.organisation.toUpperCase()}.`,
        );
      } finally {
        await database.close();
      }
    });

  program
    .command('build-assets')
    .description(
      'compile the stylesheet and copy NHS.UK frontend assets (done automatically on serve)',
    )
    .action(async () => {
      const { ensureAssetsBuilt } = await import('./web/assets.ts');
      const { built } = ensureAssetsBuilt({ force: true });
      console.log(built ? 'Assets built.' : 'Assets were up to date.');
    });

  addPrescribingCommands(program);

  return program;
}

interface ServeOptions {
  port?: number;
  host?: string;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535)
    throw new InvalidArgumentError('must be a port number (0-65535)');
  return port;
}

async function connect(config: AppConfig, logger: Logger): Promise<DatabaseHandle> {
  return connectDatabase(config.database, (error) =>
    logger.warn(
      { err: error },
      'database connection lost; it will be re-established on the next query',
    ),
  );
}

/** What a shutdown may take beyond SHUTDOWN_TIMEOUT_MS: one email's send limit, and a little. */
const SHUTDOWN_GRACE_MS = 60_000;

async function serve(config: AppConfig, logger: Logger, database: DatabaseHandle): Promise<void> {
  const { startServer } = await import('./server.ts');
  const server = await startServer(config, { logger, database });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second Ctrl-C (or SIGTERM) is someone who will not wait: stop at once.
      logger.warn({ signal }, 'stopping at once: asked again while shutting down');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    // Requests get SHUTDOWN_TIMEOUT_MS; an email being sent gets its own time limit (45 s) on top.
    // Past both, something is stuck, and a service manager waiting for the process should not be.
    setTimeout(() => {
      logger.error('shutdown did not finish in time: stopping at once');
      process.exit(1);
    }, config.shutdownTimeoutMs + SHUTDOWN_GRACE_MS).unref();
    server
      .shutdown(signal)
      .then(() => database.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'error during shutdown');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** One clear message for the errors a user can fix; a stack trace only for real faults. */
export function describeFatalError(error: unknown): string {
  if (
    error instanceof ConfigError ||
    error instanceof DatabaseUnavailableError ||
    error instanceof MigrationError ||
    error instanceof InputFileError
  ) {
    return error.message;
  }
  if (error instanceof ValidationFailed) return Object.values(error.fieldErrors).join('; ');
  if (error instanceof NotFoundError) return error.message;
  const code = error instanceof Error ? (error as { code?: string }).code : undefined;
  if (code === 'EADDRINUSE') {
    return `Cannot listen: ${(error as Error).message}. Set PORT to a free port.`;
  }
  if (code === 'EACCES') {
    return `Cannot listen: ${(error as Error).message}. Ports below 1024 need special permission: set PORT to 1024 or above.`;
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return `Cannot listen: ${(error as Error).message}. Set HOST to an address of this machine, such as localhost or 0.0.0.0.`;
  }
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (error) {
    process.stderr.write(`greenspace: ${describeFatalError(error)}\n`);
    process.exit(1);
  }
}
