import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  sql,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  type SqliteDatabase,
  type SqliteStatement,
} from 'kysely';
import type pg from 'pg';
import { describeDatabase, type DatabaseConfig } from '../config.ts';
import type { Database } from './schema.ts';

// Each driver is loaded when a database of its kind is first opened, not with this module: the
// embedded database never needs the PostgreSQL client's modules, nor PostgreSQL the SQLite addon,
// and every command pays for what it loads before it starts.
const requireDriver = createRequire(import.meta.url);
const loadSqliteDriver = () => requireDriver('better-sqlite3') as typeof BetterSqlite3;
const loadPostgresDriver = () => requireDriver('pg') as typeof pg;

export type Dialect = DatabaseConfig['kind'];

/** An open database: the Kysely instance plus what the rest of the app needs to know about it. */
export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: Dialect;
  description: string;
  /** Resolves when a trivial query succeeds; rejects with the driver's error otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
}

/** Callback for errors that happen on idle connections, outside any query. */
export type BackgroundErrorHandler = (error: Error) => void;

export function openDatabase(
  config: DatabaseConfig,
  onBackgroundError: BackgroundErrorHandler = () => {},
): DatabaseHandle {
  return config.kind === 'sqlite'
    ? openSqlite(config.filename)
    : openPostgres(config.connectionString, onBackgroundError);
}

/**
 * Opens the database and checks it answers, so a wrong DATABASE_URL is reported at start-up in one
 * line rather than at the first request.
 */
export async function connectDatabase(
  config: DatabaseConfig,
  onBackgroundError?: BackgroundErrorHandler,
): Promise<DatabaseHandle> {
  let handle: DatabaseHandle;
  try {
    handle = openDatabase(config, onBackgroundError);
  } catch (error) {
    throw new DatabaseUnavailableError(
      `Cannot open the database (${describeDatabase(config)}): ${errorMessage(error)}`,
    );
  }
  try {
    await handle.ping();
  } catch (error) {
    await handle.close().catch(() => {});
    throw new DatabaseUnavailableError(
      `Cannot connect to the database (${describeDatabase(config)}): ${errorMessage(error)}`,
    );
  }
  return handle;
}

function openSqlite(filename: string): DatabaseHandle {
  fs.mkdirSync(path.dirname(filename), { recursive: true });
  const Sqlite = loadSqliteDriver();
  const connection = new Sqlite(filename);
  // WAL lets readers continue during a write; busy_timeout waits for a lock instead of failing
  // at once; SQLite leaves foreign keys off unless asked.
  connection.pragma('journal_mode = WAL');
  connection.pragma('busy_timeout = 5000');
  connection.pragma('foreign_keys = ON');
  connection.pragma('synchronous = NORMAL');
  const db = new Kysely<Database>({ dialect: new ImmediateTransactionSqliteDialect(connection) });
  return {
    db,
    dialect: 'sqlite',
    description: describeDatabase({ kind: 'sqlite', filename }),
    async ping() {
      // `select 1` is answered without opening the file; the schema table is on its first page,
      // so reading it shows whether the file can still be read.
      await sql`select count(*) from sqlite_master`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}

/**
 * better-sqlite3 with write transactions opened by `BEGIN IMMEDIATE`: a deferred transaction that
 * reads first and writes later can fail with SQLITE_BUSY when another writer got in between, while an
 * immediate one takes the write lock up front and waits for it under busy_timeout.
 */
class ImmediateTransactionSqliteDialect extends SqliteDialect {
  readonly #connection: SqliteDatabase;

  constructor(connection: BetterSqlite3.Database) {
    const cached = new StatementCachingSqlite(connection);
    super({ database: cached });
    this.#connection = cached;
  }

  override createDriver(): Driver {
    return new ImmediateTransactionSqliteDriver({ database: this.#connection });
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/**
 * SQLite can roll back a change of schema like any other, but Kysely assumes it cannot and then
 * runs migrations outside a transaction: one that failed half way (or a start stopped with Ctrl-C
 * during a long one) would leave its first steps behind, and every later start would fail on
 * them ("table … already exists"). Said here, the pending migrations run in one transaction, and
 * a failure leaves the database as it was.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/**
 * Kysely prepares every query afresh on SQLite. Compiling the statement can cost more than running
 * it (a bulk insert of a few hundred rows spends a third of its time there), and the application
 * runs the same few hundred query texts over and over, so prepared statements are kept, the most
 * recently used first, and reused. A statement still being iterated is never handed out twice.
 */
export class StatementCachingSqlite implements SqliteDatabase {
  static readonly capacity = 500;
  readonly #connection: BetterSqlite3.Database;
  readonly #statements = new Map<string, BetterSqlite3.Statement>();

  constructor(connection: BetterSqlite3.Database) {
    this.#connection = connection;
  }

  prepare(text: string): SqliteStatement {
    const cached = this.#statements.get(text);
    if (cached && !cached.busy) {
      // Map order is insertion order: moving the entry to the end keeps the least recently used
      // first, where eviction looks.
      this.#statements.delete(text);
      this.#statements.set(text, cached);
      return cached;
    }
    const statement = this.#connection.prepare(text);
    if (!cached) {
      this.#statements.set(text, statement);
      if (this.#statements.size > StatementCachingSqlite.capacity) {
        this.#statements.delete(this.#statements.keys().next().value!);
      }
    }
    return statement;
  }

  /** How many statements are kept (for tests). */
  get size(): number {
    return this.#statements.size;
  }

  close(): void {
    this.#statements.clear();
    this.#connection.close();
  }
}

class ImmediateTransactionSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

function openPostgres(
  connectionString: string,
  onBackgroundError: BackgroundErrorHandler,
): DatabaseHandle {
  const { Pool, types } = loadPostgresDriver();
  const pool = new Pool({
    connectionString,
    max: 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    types: { getTypeParser: (oid, format) => postgresTypeParser(types, oid, format) },
  });
  // Without a listener, an error on an idle client (the server restarting, a connection killed)
  // would crash the process; the pool drops that client and makes a new one on the next query.
  pool.on('error', onBackgroundError);
  // The pool listens to its idle clients only. A client a transaction holds between statements
  // has no listener, so the server ending its connection (a restart, an administrator) would crash
  // the process too; the transaction's next statement fails and reports it instead.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    description: describeDatabase({ kind: 'postgres', connectionString }),
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}

const PG_INT8 = 20;
const PG_NUMERIC = 1700;

/**
 * `count(*)` and `sum()` come back from PostgreSQL as int8/numeric, which node-postgres returns as
 * strings to avoid losing precision. Our counts and sums fit comfortably in a double, and SQLite
 * returns numbers, so both databases hand repositories the same types.
 */
function postgresTypeParser(
  types: typeof pg.types,
  oid: number,
  format?: string,
): (value: string) => unknown {
  if (oid === PG_INT8 || oid === PG_NUMERIC) return (value: string) => Number(value);
  return types.getTypeParser(oid, format as 'text');
}

function errorMessage(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return errorMessage(error.errors[0]);
  }
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return error.message || code || error.name;
  }
  return String(error);
}
