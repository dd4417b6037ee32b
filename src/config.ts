import path from 'node:path';
import { z } from 'zod';

/** Where the database lives: an embedded SQLite file or a PostgreSQL server. */
export type DatabaseConfig =
  { kind: 'sqlite'; filename: string } | { kind: 'postgres'; connectionString: string };

export interface AppConfig {
  environment: 'development' | 'test' | 'production';
  /** Whether seeds load labelled example content (default: everywhere but production). */
  exampleContent: boolean;
  host: string;
  port: number;
  dataDir: string;
  database: DatabaseConfig;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  trustProxy: boolean;
  /** How long a SIGTERM waits for in-flight requests before giving up. */
  shutdownTimeoutMs: number;
  /** Folder of reference data CSV files loaded by `greenspace seed`. */
  referenceDataDir: string;
  /** The address people reach the service at, used in emailed links and single sign-on. */
  publicUrl: string;
  /** Secret for keys (CSRF, encryption of two-factor secrets). Unset outside production: see secrets.ts. */
  secretKey: string | undefined;
  session: { idleTimeoutMinutes: number; absoluteTimeoutHours: number };
  email: {
    /** `smtp://` or `smtps://` address of the mail server; unset writes messages to the outbox folder. */
    smtpUrl: string | undefined;
    from: string;
    outboxDir: string;
    /** How often the delivery worker looks for messages to send. */
    workerIntervalMs: number;
  };
  files: {
    /** `disk` (default) or `database`, for several app instances sharing one PostgreSQL database. */
    store: 'disk' | 'database';
    /** Where the disk store keeps files; outside any folder the web server serves. */
    dir: string;
  };
  oidc:
    | {
        issuer: string;
        clientId: string;
        clientSecret: string;
        displayName: string;
        /** Allows an http:// issuer; for local testing only, refused in production. */
        allowHttp: boolean;
      }
    | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const projectRoot = path.resolve(import.meta.dirname, '..');

/** Digits only: `z.coerce` would read " " as 0, silently turning a typo into a setting. */
function wholeNumber(description: string) {
  return z
    .string()
    .regex(/^\d{1,9}$/, `must be ${description}`)
    .transform(Number);
}

/**
 * A whole number of at least 1, for settings where 0 would not mean "off" but break the service:
 * a session that ends as it starts, a mail worker that asks the database every millisecond.
 */
function positiveWholeNumber(description: string) {
  return wholeNumber(`${description}, 1 or more`).refine(
    (value) => value >= 1,
    `must be ${description}, 1 or more`,
  );
}

const environmentSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('localhost'),
  PORT: wholeNumber('a port number from 0 to 65535')
    .refine((port) => port <= 65535, 'must be a port number from 0 to 65535')
    .default(3000),
  DATA_DIR: z.string().min(1).default(path.join(projectRoot, 'var')),
  DATABASE_URL: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: z.enum(['true', 'false']).default('false'),
  SHUTDOWN_TIMEOUT_MS: wholeNumber('a whole number of milliseconds').default(10_000),
  REFERENCE_DATA_DIR: z
    .string()
    .min(1)
    .default(path.join(projectRoot, 'data', 'reference')),
  PUBLIC_URL: z
    .url({ error: 'must be a full web address such as https://greenspace.example.nhs.uk' })
    .optional(),
  SECRET_KEY: z.string().min(32, 'must be 32 characters or more').optional(),
  SESSION_IDLE_TIMEOUT_MINUTES: positiveWholeNumber('a whole number of minutes').default(30),
  SESSION_ABSOLUTE_TIMEOUT_HOURS: positiveWholeNumber('a whole number of hours').default(12),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^/]+/, 'must be an address such as smtp://user:password@mail.example:587')
    .optional(),
  MAIL_FROM: z.string().min(3).default('Greenspace <no-reply@greenspace.invalid>'),
  OUTBOX_DIR: z.string().min(1).optional(),
  EMAIL_WORKER_INTERVAL_MS: positiveWholeNumber('a whole number of milliseconds').default(5000),
  FILE_STORE: z.enum(['disk', 'database']).default('disk'),
  FILES_DIR: z.string().min(1).optional(),
  OIDC_ISSUER: z.url({ error: 'must be the issuer address of the OpenID provider' }).optional(),
  OIDC_CLIENT_ID: z.string().min(1).optional(),
  OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  OIDC_DISPLAY_NAME: z.string().min(1).default('NHSmail'),
  OIDC_ALLOW_HTTP: z.enum(['true', 'false']).default('false'),
  EXAMPLE_CONTENT: z.enum(['true', 'false']).optional(),
});

/** Reads the process environment into a typed configuration, or says exactly which variable is wrong. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = environmentSchema.safeParse(stripEmpty(env));
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.')}: ${issue.message}`,
    );
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const values = parsed.data;
  const dataDir = path.resolve(values.DATA_DIR);
  if (values.NODE_ENV === 'production') {
    // A live service must not fall back to what suits a laptop: a key kept in a file beside the
    // data, links to localhost in every email, and emails written to a folder nobody reads.
    const missing = [
      !values.SECRET_KEY && 'SECRET_KEY must be set in production (32 characters or more)',
      !values.PUBLIC_URL &&
        'PUBLIC_URL must be set in production (the address people open Greenspace at, used in emailed links and the single sign-on return address)',
      !values.SMTP_URL &&
        'SMTP_URL must be set in production (without a mail server no email is sent: no invitation, password reset or notification)',
    ].filter((problem): problem is string => Boolean(problem));
    if (missing.length > 0) throw new ConfigError(`Invalid configuration: ${missing.join('; ')}`);
  }
  const oidcValues = [values.OIDC_ISSUER, values.OIDC_CLIENT_ID, values.OIDC_CLIENT_SECRET];
  if (oidcValues.some(Boolean) && !oidcValues.every(Boolean)) {
    throw new ConfigError(
      'Invalid configuration: single sign-on needs all of OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET',
    );
  }
  const allowHttp = values.OIDC_ALLOW_HTTP === 'true';
  if (allowHttp && values.NODE_ENV === 'production') {
    throw new ConfigError('Invalid configuration: OIDC_ALLOW_HTTP cannot be used in production');
  }
  return {
    environment: values.NODE_ENV,
    // Labelled example content helps people try the service; a live service starts without it.
    exampleContent: (values.EXAMPLE_CONTENT ?? String(values.NODE_ENV !== 'production')) === 'true',
    host: values.HOST,
    port: values.PORT,
    dataDir,
    database: parseDatabaseUrl(values.DATABASE_URL, dataDir),
    logLevel: values.LOG_LEVEL,
    trustProxy: values.TRUST_PROXY === 'true',
    shutdownTimeoutMs: values.SHUTDOWN_TIMEOUT_MS,
    referenceDataDir: path.resolve(values.REFERENCE_DATA_DIR),
    publicUrl: (values.PUBLIC_URL ?? `http://localhost:${values.PORT}`).replace(/\/+$/, ''),
    secretKey: values.SECRET_KEY,
    session: {
      idleTimeoutMinutes: values.SESSION_IDLE_TIMEOUT_MINUTES,
      absoluteTimeoutHours: values.SESSION_ABSOLUTE_TIMEOUT_HOURS,
    },
    email: {
      smtpUrl: values.SMTP_URL,
      from: values.MAIL_FROM,
      outboxDir: path.resolve(values.OUTBOX_DIR ?? path.join(dataDir, 'outbox')),
      workerIntervalMs: values.EMAIL_WORKER_INTERVAL_MS,
    },
    files: {
      store: values.FILE_STORE,
      dir: path.resolve(values.FILES_DIR ?? path.join(dataDir, 'files')),
    },
    oidc:
      values.OIDC_ISSUER && values.OIDC_CLIENT_ID && values.OIDC_CLIENT_SECRET
        ? {
            issuer: values.OIDC_ISSUER,
            clientId: values.OIDC_CLIENT_ID,
            clientSecret: values.OIDC_CLIENT_SECRET,
            displayName: values.OIDC_DISPLAY_NAME,
            allowHttp,
          }
        : undefined,
  };
}

/**
 * `postgres://…` or `postgresql://…` selects PostgreSQL; `sqlite:<path>` selects a SQLite file;
 * no URL at all selects the embedded default under the data directory.
 */
export function parseDatabaseUrl(url: string | undefined, dataDir: string): DatabaseConfig {
  if (url === undefined || url.trim() === '') {
    return { kind: 'sqlite', filename: path.join(dataDir, 'greenspace.sqlite') };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError('Invalid configuration: DATABASE_URL is not a valid URL');
    }
    if (parsed.hostname === '' && !parsed.searchParams.has('host')) {
      throw new ConfigError('Invalid configuration: DATABASE_URL must name the PostgreSQL host');
    }
    return { kind: 'postgres', connectionString: url };
  }
  if (url.startsWith('sqlite:')) {
    const filename = url.slice('sqlite:'.length).replace(/^\/\//, '');
    if (filename === '') {
      throw new ConfigError('Invalid configuration: DATABASE_URL sqlite: needs a file path');
    }
    return { kind: 'sqlite', filename: path.resolve(filename) };
  }
  throw new ConfigError(
    'Invalid configuration: DATABASE_URL must start with postgres://, postgresql:// or sqlite:',
  );
}

/** A URL safe to print: the password, if any, is replaced. */
export function describeDatabase(database: DatabaseConfig): string {
  if (database.kind === 'sqlite') return `SQLite file ${database.filename}`;
  const url = new URL(database.connectionString);
  if (url.password) url.password = '****';
  for (const key of [...url.searchParams.keys()]) {
    if (/password|secret/i.test(key)) url.searchParams.set(key, '****');
  }
  return `PostgreSQL at ${url.toString()}`;
}

function stripEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') result[key] = value;
  }
  return result;
}

/**
 * The configuration with the command's --port and --host. The address emails link to follows the
 * port when it was left to its default, so that links reach the server that sent them.
 */
export function withOverrides(
  config: AppConfig,
  options: { port?: number; host?: string },
): AppConfig {
  const port = options.port ?? config.port;
  const defaultPublicUrl = `http://localhost:${config.port}`;
  return {
    ...config,
    port,
    host: options.host ?? config.host,
    publicUrl:
      config.publicUrl === defaultPublicUrl ? `http://localhost:${port}` : config.publicUrl,
  };
}
