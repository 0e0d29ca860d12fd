/**
 * The store shared by several masters. Every statement goes through `execute` (server-side
 * prepared statements), so values never pass through SQL text, whatever the sql_mode.
 */
import { createPool, type Pool, type PoolOptions, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import type { PoolConnection as CoreConnection } from 'mysql2';
import type { DatabaseConfig } from '../config.ts';
import { AutoamiError, ConflictError, StoreUnavailableError, ValidationError } from '../errors.ts';
import { migrate } from './migrations.ts';
import { newGroup, type Group, type GroupSettings, type Store } from './store.ts';

const COLUMNS = [
  'name', 'image', 'base_image', 'type', 'keyname', 'keyfile', 'login', 'puppetserver', 'node_group', 'enc_user',
  'enc_pass', 'enc_server', 'enc_port', 'region', 'subnet', 'security_group', 'bootstrap', 'keep', 'created_at', 'updated_at',
] as const satisfies readonly (keyof Group)[];
const COLUMN_LIST = COLUMNS.map((c) => `\`${c}\``).join(', ');
const SELECT_GROUPS = `SELECT ${COLUMN_LIST} FROM \`groups\``;
const INSERT_GROUP = `INSERT INTO \`groups\` (${COLUMN_LIST}) VALUES (${COLUMNS.map(() => '?').join(', ')})`;

// Strict mode turns an over-long value into an error instead of silent truncation, and a
// UTC session keeps any server-side time function in step with the UTC values we store.
const SESSION_SETUP = "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES'), time_zone = '+00:00'";

/** Codes that mean "cannot reach or log in to the database", not "this query is wrong". */
const UNREACHABLE = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EACCES', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'EPIPE', 'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR', 'ER_CON_COUNT_ERROR', 'ER_TOO_MANY_USER_CONNECTIONS', 'ER_SERVER_SHUTDOWN', 'ER_HOST_IS_BLOCKED',
  'ER_HOST_NOT_PRIVILEGED', 'ER_NOT_SUPPORTED_AUTH_MODE', 'ER_CONNECTION_KILLED', 'ER_NO_SUCH_USER',
]);

// DATETIME(3) arrives as "YYYY-MM-DD HH:MM:SS.mmm" (dateStrings) and holds UTC.
const toIso = (value: unknown): string => new Date(`${String(value).replace(' ', 'T')}Z`).toISOString();
const toDatetime = (iso: string): string => iso.replace('T', ' ').replace('Z', '');
const nullable = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

function rowToGroup(row: RowDataPacket): Group {
  return {
    name: String(row.name), image: String(row.image), base_image: String(row.base_image), type: String(row.type),
    keyname: String(row.keyname), keyfile: String(row.keyfile), login: String(row.login),
    puppetserver: String(row.puppetserver), node_group: String(row.node_group), enc_user: String(row.enc_user),
    enc_pass: String(row.enc_pass), enc_server: nullable(row.enc_server), enc_port: Number(row.enc_port),
    region: String(row.region), subnet: nullable(row.subnet), security_group: nullable(row.security_group),
    bootstrap: String(row.bootstrap) as Group['bootstrap'], keep: Number(row.keep),
    created_at: toIso(row.created_at), updated_at: toIso(row.updated_at),
  };
}

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
  };
}

export class MysqlStore implements Store {
  readonly backend = 'mysql' as const;
  readonly #db: DatabaseConfig;
  #pool: Pool | undefined;

  constructor(db: DatabaseConfig) {
    this.#db = db;
  }

  async open(): Promise<void> {
    if (this.#pool) return;
    const pool = createPool(poolOptions(this.#db));
    // mysql2 hands this event the callback-style connection, whatever its typings say.
    pool.on('connection', (conn) => void (conn as unknown as CoreConnection).query(SESSION_SETUP, () => undefined));
    try {
      const conn = await pool.getConnection();
      try {
        await migrate(conn);
      } finally {
        conn.release();
      }
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw this.#translate(error);
    }
    this.#pool = pool;
  }

  async createGroup(settings: GroupSettings): Promise<Group> {
    const group = newGroup(settings, new Date().toISOString());
    const values = COLUMNS.map((c) => (c === 'created_at' || c === 'updated_at' ? toDatetime(group[c]) : group[c]));
    try {
      await this.#pool_().execute(INSERT_GROUP, values);
    } catch (error) {
      if ((error as { code?: string }).code === 'ER_DUP_ENTRY') {
        throw new ConflictError('name', `group ${JSON.stringify(settings.name)} already exists`);
      }
      throw this.#translate(error);
    }
    return group;
  }

  async getGroup(name: string): Promise<Group | undefined> {
    const rows = await this.#select(`${SELECT_GROUPS} WHERE \`name\` = ?`, [name]);
    return rows[0] === undefined ? undefined : rowToGroup(rows[0]);
  }

  async listGroups(): Promise<Group[]> {
    return (await this.#select(`${SELECT_GROUPS} ORDER BY \`name\``, [])).map(rowToGroup);
  }

  async deleteGroup(name: string): Promise<boolean> {
    try {
      const [result] = await this.#pool_().execute<ResultSetHeader>('DELETE FROM `groups` WHERE `name` = ?', [name]);
      return result.affectedRows > 0;
    } catch (error) {
      throw this.#translate(error);
    }
  }

  async ping(): Promise<void> {
    await this.#select('SELECT 1', []);
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.end();
  }

  async #select(sql: string, values: (string | number)[]): Promise<RowDataPacket[]> {
    try {
      const [rows] = await this.#pool_().execute<RowDataPacket[]>(sql, values);
      return rows;
    } catch (error) {
      throw this.#translate(error);
    }
  }

  #pool_(): Pool {
    if (!this.#pool) throw new StoreUnavailableError(`MySQL store ${this.#where()} is not open`);
    return this.#pool;
  }

  #where(): string {
    const db = this.#db;
    return `${db.socket_path ?? `${db.host ?? 'localhost'}:${db.port}`} (database ${db.name}, user ${db.user})`;
  }

  #translate(error: unknown): unknown {
    if (error instanceof AutoamiError || !(error instanceof Error)) return error;
    const { code, fatal } = error as Error & { code?: string; fatal?: boolean };
    if (code === 'ER_DATA_TOO_LONG') {
      const column = /column '([a-z_]+)'/.exec(error.message)?.[1] ?? '(unknown)';
      return new ValidationError(column, 'is longer than the store allows', error);
    }
    if ((code !== undefined && UNREACHABLE.has(code)) || fatal === true || error.message === 'Pool is closed.') {
      return new StoreUnavailableError(`MySQL at ${this.#where()}: ${this.#scrub(`${code ?? 'error'}: ${error.message}`)}`, error);
    }
    return error;
  }

  /** Belt and braces: no driver message should hold the password, but none may leak it. */
  #scrub(text: string): string {
    const password = this.#db.password;
    return password.length === 0 ? text : text.split(password).join('***');
  }
}
