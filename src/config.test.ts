import path from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ConfigError,
  describeDatabase,
  loadConfig,
  parseDatabaseUrl,
  withOverrides,
} from './config.ts';

const projectRoot = path.resolve(import.meta.dirname, '..');

/** Calls loadConfig expecting a ConfigError, and returns its message. */
function configErrorFor(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('uses a working development default for every variable when none is set', () => {
    expect(loadConfig({})).toEqual({
      environment: 'development',
      exampleContent: true,
      host: 'localhost',
      port: 3000,
      dataDir: path.join(projectRoot, 'var'),
      database: { kind: 'sqlite', filename: path.join(projectRoot, 'var', 'greenspace.sqlite') },
      logLevel: 'info',
      trustProxy: false,
      shutdownTimeoutMs: 10_000,
      referenceDataDir: path.join(projectRoot, 'data', 'reference'),
      publicUrl: 'http://localhost:3000',
      secretKey: undefined,
      session: { idleTimeoutMinutes: 30, absoluteTimeoutHours: 12 },
      email: {
        smtpUrl: undefined,
        from: 'Greenspace <no-reply@greenspace.invalid>',
        outboxDir: path.join(projectRoot, 'var', 'outbox'),
        workerIntervalMs: 5000,
      },
      files: { store: 'disk', dir: path.join(projectRoot, 'var', 'files') },
      oidc: undefined,
    });
  });

  it('treats a variable set to the empty string as not set', () => {
    const config = loadConfig({
      NODE_ENV: '',
      HOST: '',
      PORT: '',
      DATABASE_URL: '',
      LOG_LEVEL: '',
      TRUST_PROXY: '',
    });
    expect(config).toEqual(loadConfig({}));
  });

  it('reads every variable when they are all given', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      HOST: '0.0.0.0',
      PORT: '8080',
      DATA_DIR: '/srv/greenspace',
      DATABASE_URL: 'postgres://green:secret@db:5432/greenspace',
      LOG_LEVEL: 'warn',
      TRUST_PROXY: 'true',
      SHUTDOWN_TIMEOUT_MS: '2500',
      REFERENCE_DATA_DIR: '/srv/reference',
      PUBLIC_URL: 'https://greenspace.example.nhs.uk/',
      SECRET_KEY: 'a'.repeat(40),
      SESSION_IDLE_TIMEOUT_MINUTES: '15',
      SESSION_ABSOLUTE_TIMEOUT_HOURS: '8',
      SMTP_URL: 'smtp://mailer:pw@mail.example:587',
      MAIL_FROM: 'Greenspace <greenspace@example.nhs.uk>',
      OUTBOX_DIR: '/srv/outbox',
      EMAIL_WORKER_INTERVAL_MS: '1000',
      FILE_STORE: 'database',
      FILES_DIR: '/srv/files',
      OIDC_ISSUER: 'https://login.example.nhs.uk/tenant/v2.0',
      OIDC_CLIENT_ID: 'greenspace',
      OIDC_CLIENT_SECRET: 'client-secret',
      OIDC_DISPLAY_NAME: 'NHSmail',
      EXAMPLE_CONTENT: 'true',
    });
    expect(config).toEqual({
      environment: 'production',
      exampleContent: true,
      host: '0.0.0.0',
      port: 8080,
      dataDir: '/srv/greenspace',
      database: {
        kind: 'postgres',
        connectionString: 'postgres://green:secret@db:5432/greenspace',
      },
      logLevel: 'warn',
      trustProxy: true,
      shutdownTimeoutMs: 2500,
      referenceDataDir: '/srv/reference',
      publicUrl: 'https://greenspace.example.nhs.uk',
      secretKey: 'a'.repeat(40),
      session: { idleTimeoutMinutes: 15, absoluteTimeoutHours: 8 },
      email: {
        smtpUrl: 'smtp://mailer:pw@mail.example:587',
        from: 'Greenspace <greenspace@example.nhs.uk>',
        outboxDir: '/srv/outbox',
        workerIntervalMs: 1000,
      },
      files: { store: 'database', dir: '/srv/files' },
      oidc: {
        issuer: 'https://login.example.nhs.uk/tenant/v2.0',
        clientId: 'greenspace',
        clientSecret: 'client-secret',
        displayName: 'NHSmail',
        allowHttp: false,
      },
    });
  });

  it('refuses to start in production without a secret key, a public address or a mail server', () => {
    const live = {
      NODE_ENV: 'production',
      SECRET_KEY: 'd'.repeat(32),
      PUBLIC_URL: 'https://greenspace.example.nhs.uk',
      SMTP_URL: 'smtp://mail.example:587',
    };
    expect(loadConfig(live).environment).toBe('production');
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      'Invalid configuration: SECRET_KEY must be set in production (32 characters or more); PUBLIC_URL must be set in production',
    );
    for (const name of ['SECRET_KEY', 'PUBLIC_URL', 'SMTP_URL'] as const) {
      const { [name]: _left, ...without } = live;
      expect(() => loadConfig(without), name).toThrow(`${name} must be set in production`);
    }
  });

  it('follows the command’s --port in the default public address, and keeps one that was set', () => {
    expect(withOverrides(loadConfig({}), { port: 4000 }).publicUrl).toBe('http://localhost:4000');
    expect(withOverrides(loadConfig({ PORT: '5000' }), {}).publicUrl).toBe('http://localhost:5000');
    const set = loadConfig({ PUBLIC_URL: 'https://greenspace.example.nhs.uk' });
    expect(withOverrides(set, { port: 4000 })).toMatchObject({
      port: 4000,
      publicUrl: 'https://greenspace.example.nhs.uk',
    });
  });

  it('refuses 0 where it would break the service rather than turn something off', () => {
    for (const name of [
      'SESSION_IDLE_TIMEOUT_MINUTES',
      'SESSION_ABSOLUTE_TIMEOUT_HOURS',
      'EMAIL_WORKER_INTERVAL_MS',
    ])
      expect(() => loadConfig({ [name]: '0' }), name).toThrow(`${name}: must be a whole number`);
    expect(loadConfig({ SHUTDOWN_TIMEOUT_MS: '0' }).shutdownTimeoutMs).toBe(0);
  });

  it('refuses half a single sign-on configuration, and http issuers in production', () => {
    expect(() => loadConfig({ OIDC_ISSUER: 'https://login.example' })).toThrow(
      /OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET/,
    );
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        SECRET_KEY: 'b'.repeat(32),
        PUBLIC_URL: 'https://greenspace.example.nhs.uk',
        SMTP_URL: 'smtp://mail.example:587',
        OIDC_ALLOW_HTTP: 'true',
      }),
    ).toThrow(/OIDC_ALLOW_HTTP cannot be used in production/);
  });

  it('puts the default SQLite file under the data directory that was given', () => {
    const config = loadConfig({ DATA_DIR: '/srv/greenspace' });
    expect(config.database).toEqual({
      kind: 'sqlite',
      filename: path.join('/srv/greenspace', 'greenspace.sqlite'),
    });
  });

  it('makes relative directories absolute, so a later change of working directory is harmless', () => {
    const config = loadConfig({ DATA_DIR: 'relative/data', REFERENCE_DATA_DIR: 'relative/ref' });
    expect(config.dataDir).toBe(path.resolve('relative/data'));
    expect(config.referenceDataDir).toBe(path.resolve('relative/ref'));
  });

  it('ignores variables it does not know', () => {
    expect(loadConfig({ UNRELATED: 'x', PATH: '/usr/bin' })).toEqual(loadConfig({}));
  });

  it.each([
    ['NODE_ENV', 'staging'],
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '3.5'],
    ['PORT', '-1'],
    ['LOG_LEVEL', 'loud'],
    ['TRUST_PROXY', 'yes'],
    ['SHUTDOWN_TIMEOUT_MS', '-5'],
    ['SHUTDOWN_TIMEOUT_MS', 'soon'],
  ])('names %s in the error when it is %j', (variable, value) => {
    const message = configErrorFor({ [variable]: value });
    expect(message).toMatch(/^Invalid configuration: /);
    expect(message).toContain(`${variable}: `);
  });

  it('names every invalid variable at once, not only the first', () => {
    const message = configErrorFor({ PORT: 'x', LOG_LEVEL: 'y', TRUST_PROXY: 'z' });
    expect(message).toContain('PORT: ');
    expect(message).toContain('LOG_LEVEL: ');
    expect(message).toContain('TRUST_PROXY: ');
    expect(message).not.toContain('NODE_ENV');
  });

  it('names DATABASE_URL when it is not a database address it understands', () => {
    expect(configErrorFor({ DATABASE_URL: 'mysql://db/greenspace' })).toContain('DATABASE_URL');
  });

  it('accepts the extremes of the port range', () => {
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
    expect(loadConfig({ PORT: '65535' }).port).toBe(65535);
  });

  // A PORT of spaces (easy to leave in an .env file) must not be read as 0, a random port.
  it('refuses a PORT made only of spaces rather than reading it as port 0', () => {
    expect(() => loadConfig({ PORT: ' ' })).toThrow(ConfigError);
  });
});

describe('parseDatabaseUrl', () => {
  const dataDir = '/srv/greenspace';

  it.each([undefined, '', '   '])(
    'chooses the SQLite file under the data directory for %j',
    (url) => {
      expect(parseDatabaseUrl(url, dataDir)).toEqual({
        kind: 'sqlite',
        filename: path.join(dataDir, 'greenspace.sqlite'),
      });
    },
  );

  it.each([
    'postgres://green:secret@db.internal:5432/greenspace',
    'postgresql://green@localhost/greenspace',
    'postgres://localhost/greenspace?sslmode=require',
  ])('chooses PostgreSQL for %s, keeping the address exactly as given', (url) => {
    expect(parseDatabaseUrl(url, dataDir)).toEqual({ kind: 'postgres', connectionString: url });
  });

  it('refuses a postgres:// address that is not a valid URL', () => {
    expect(() => parseDatabaseUrl('postgres://a b/c', dataDir)).toThrow(
      new ConfigError('Invalid configuration: DATABASE_URL is not a valid URL'),
    );
  });

  it.each([
    ['sqlite:relative.db', path.resolve('relative.db')],
    ['sqlite:nested/dir/file.sqlite', path.resolve('nested/dir/file.sqlite')],
    ['sqlite:///tmp/greenspace.sqlite', '/tmp/greenspace.sqlite'],
    ['sqlite://relative/x.db', path.resolve('relative/x.db')],
    ['sqlite:/abs/file.db', '/abs/file.db'],
  ])('reads %s as the SQLite file %s', (url, filename) => {
    expect(parseDatabaseUrl(url, dataDir)).toEqual({ kind: 'sqlite', filename });
  });

  it.each(['sqlite:', 'sqlite://'])('refuses %j, which names no file', (url) => {
    expect(() => parseDatabaseUrl(url, dataDir)).toThrow(/sqlite: needs a file path/);
  });

  it.each([
    'mysql://db/greenspace',
    'POSTGRES://db/greenspace',
    'postgres:db',
    'greenspace.sqlite',
    'file:greenspace.sqlite',
    'https://example.org',
  ])('refuses %j, naming the schemes it does accept', (url) => {
    let thrown: unknown;
    try {
      parseDatabaseUrl(url, dataDir);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).message).toBe(
      'Invalid configuration: DATABASE_URL must start with postgres://, postgresql:// or sqlite:',
    );
  });
});

describe('describeDatabase', () => {
  it('names the SQLite file', () => {
    expect(describeDatabase({ kind: 'sqlite', filename: '/srv/greenspace.sqlite' })).toBe(
      'SQLite file /srv/greenspace.sqlite',
    );
  });

  it('replaces the password but keeps the user, host, port, database and options', () => {
    expect(
      describeDatabase({
        kind: 'postgres',
        connectionString: 'postgresql://green:s3cret@db.internal:5432/greenspace?sslmode=require',
      }),
    ).toBe('PostgreSQL at postgresql://green:****@db.internal:5432/greenspace?sslmode=require');
  });

  it('leaves an address without a password as it is', () => {
    expect(
      describeDatabase({ kind: 'postgres', connectionString: 'postgres://green@db/greenspace' }),
    ).toBe('PostgreSQL at postgres://green@db/greenspace');
  });

  it('never shows any password, whatever characters it contains (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 30 }), (password) => {
        const encoded = encodeURIComponent(password);
        const description = describeDatabase({
          kind: 'postgres',
          connectionString: `postgres://green:${encoded}@db.internal:5432/greenspace`,
        });
        expect(description).toBe('PostgreSQL at postgres://green:****@db.internal:5432/greenspace');
      }),
    );
  });
});

describe('database addresses that would mislead', () => {
  it('refuses a PostgreSQL URL with no host', () => {
    expect(() => parseDatabaseUrl('postgres://', '/data')).toThrow(ConfigError);
  });

  it('hides a password passed as a query parameter', () => {
    const shown = describeDatabase({
      kind: 'postgres',
      connectionString: 'postgres://db.example/gs?password=hunter2',
    });
    expect(shown).not.toContain('hunter2');
  });
  it('loads example content everywhere but in production, unless EXAMPLE_CONTENT says otherwise', () => {
    const secret = {
      SECRET_KEY: 'c'.repeat(32),
      PUBLIC_URL: 'https://greenspace.example.nhs.uk',
      SMTP_URL: 'smtp://mail.example:587',
    };
    expect(loadConfig({}).exampleContent).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', ...secret }).exampleContent).toBe(false);
    expect(
      loadConfig({ NODE_ENV: 'production', EXAMPLE_CONTENT: 'true', ...secret }).exampleContent,
    ).toBe(true);
    expect(loadConfig({ EXAMPLE_CONTENT: 'false' }).exampleContent).toBe(false);
    expect(() => loadConfig({ EXAMPLE_CONTENT: 'yes' })).toThrow(/EXAMPLE_CONTENT/);
  });
});
