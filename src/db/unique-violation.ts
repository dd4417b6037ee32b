/**
 * Whether a database error is a unique constraint refusing a second row with the same key: what
 * happens when two people save the same thing at the same moment, after both passed the check that
 * it was not there yet. better-sqlite3 gives SQLite's extended code, PostgreSQL its SQLSTATE.
 */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === '23505'
  );
}
