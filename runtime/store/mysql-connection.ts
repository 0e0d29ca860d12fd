/** How the MySQL store connects, and how driver errors become the contract's errors. */
import type { Pool, PoolOptions } from 'mysql2/promise';
import type { DatabaseConfig } from '../config.ts';
import { AutoamiError, StoreUnavailableError, ValidationError } from '../errors.ts';

// Strict mode turns an over-long value into an error instead of silent truncation, and a
// UTC session keeps any server-side time function in step with the UTC values we store.
export const SESSION_SETUP =
  "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES'), time_zone = '+00:00'";

/** Codes that mean "cannot reach or log in to the database", not "this query is wrong". */
const UNREACHABLE = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EACCES', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'EPIPE', 'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR', 'ER_CON_COUNT_ERROR', 'ER_TOO_MANY_USER_CONNECTIONS', 'ER_SERVER_SHUTDOWN', 'ER_HOST_IS_BLOCKED',
  'ER_HOST_NOT_PRIVILEGED', 'ER_NOT_SUPPORTED_AUTH_MODE', 'ER_CONNECTION_KILLED', 'ER_NO_SUCH_USER',
]);

export function poolOptions(db: DatabaseConfig): PoolOptions {
  const where = db.socket_path === undefined ? { host: db.host ?? 'localhost', port: db.port } : { socketPath: db.socket_path };
  return {
    ...where,
    user: db.user,
    password: db.password,
    database: db.name,
    connectionLimit: db.pool_size,
    timezone: 'Z',
    dateStrings: true,
    supportBigNumbers: true,
    charset: 'utf8mb4_bin',
    connectTimeout: 10_000,
    // The driver would capture a stack for every query, a tenth of a tracked report's cost;
    // a failure is wrapped in the store's own errors, which say what was being done.
    trace: false,
  };
}

type Driver = typeof import('mysql2/promise');

/**
 * mysql2 is loaded when a MySQL store opens, not when the sidecar starts: a sidecar on the
 * embedded store never needs its megabyte of code, and the built sidecar keeps it in a
 * chunk of its own. It is CommonJS: run from source its exports are the module's names,
 * but from that chunk they arrive under `default`.
 */
export async function createPool(db: DatabaseConfig): Promise<Pool> {
  const loaded: Driver | { readonly default: Driver } = await import('mysql2/promise');
  const driver = 'createPool' in loaded ? loaded : loaded.default;
  return driver.createPool(poolOptions(db));
}

export function describe(db: DatabaseConfig): string {
  return `${db.socket_path ?? `${db.host ?? 'localhost'}:${db.port}`} (database ${db.name}, user ${db.user})`;
}

export const isDuplicate = (error: unknown): boolean => (error as { code?: string } | null)?.code === 'ER_DUP_ENTRY';

export function translate(error: unknown, db: DatabaseConfig): unknown {
  if (error instanceof AutoamiError || !(error instanceof Error)) return error;
  const { code, fatal } = error as Error & { code?: string; fatal?: boolean };
  if (code === 'ER_DATA_TOO_LONG') {
    const column = /column '([a-z_]+)'/.exec(error.message)?.[1] ?? '(unknown)';
    return new ValidationError(column, 'is longer than the store allows', error);
  }
  if ((code !== undefined && UNREACHABLE.has(code)) || fatal === true || error.message === 'Pool is closed.') {
    return new StoreUnavailableError(`MySQL at ${describe(db)}: ${scrub(`${code ?? 'error'}: ${error.message}`, db.password)}`, error);
  }
  return error;
}

/** Belt and braces: no driver message should hold the password, but none may leak it. */
function scrub(text: string, password: string): string {
  return password.length === 0 ? text : text.split(password).join('***');
}
