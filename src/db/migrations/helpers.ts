import { PostgresAdapter, type CreateTableBuilder, type Kysely } from 'kysely';

/** True when a migration runs on PostgreSQL; the few statements that differ branch on it. */
export function isPostgres(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * An auto-incrementing integer primary key: an identity column on PostgreSQL, and SQLite's
 * `integer primary key autoincrement`, which never reuses a number.
 */
export function addIdentityColumn<T extends string>(
  table: CreateTableBuilder<T, never>,
  db: Kysely<unknown>,
  name: string,
): CreateTableBuilder<T, string> {
  return isPostgres(db)
    ? table.addColumn(name, 'integer', (column) => column.primaryKey().generatedAlwaysAsIdentity())
    : table.addColumn(name, 'integer', (column) => column.primaryKey().autoIncrement());
}
