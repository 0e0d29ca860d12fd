/**
 * The store shared by several masters. Every statement goes through `execute` (server-side
 * prepared statements), so values never pass through SQL text, whatever the sql_mode.
 * Leases and transitions are single conditional UPDATEs: the server decides who wins.
 */
import { createPool, type Pool, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import type { PoolConnection as CoreConnection } from 'mysql2';
import type { DatabaseConfig } from '../config.ts';
import { ConflictError, StoreUnavailableError } from '../errors.ts';
import { migrate } from './migrations.ts';
import { SESSION_SETUP, describe, isDuplicate, poolOptions, translate } from './mysql-connection.ts';
import {
  INSERT_BAKE, INSERT_GROUP, INSERT_IMAGE, SELECT_BAKES, SELECT_GROUPS, SELECT_IMAGES, groupValues, imageValues, newBakeValues,
  rowToBake, rowToGroup, rowToImage, toDatetime,
} from './mysql-rows.ts';
import { checkChallengeHash, checkState, newBake, nowUtc, pickImage, pickReport, transitionValues, utc } from './records.ts';
import {
  newGroup, type Bake, type BakeFilter, type BakeState, type BakeUpdate, type Group, type GroupSettings, type ImageRecord,
  type NewBake, type ReportSummary, type Store,
} from './store.ts';

export { poolOptions } from './mysql-connection.ts';

type Value = string | number | null;
const SET_GROUP_IMAGE = 'UPDATE `groups` SET `image` = ?, `updated_at` = ? WHERE `name` = ?';

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
      throw translate(error, this.#db);
    }
    this.#pool = pool;
  }

  async createGroup(settings: GroupSettings): Promise<Group> {
    const group = newGroup(settings, nowUtc());
    await this.#run(INSERT_GROUP, groupValues(group), () => new ConflictError('name', `group ${JSON.stringify(group.name)} already exists`));
    return group;
  }

  async getGroup(name: string): Promise<Group | undefined> {
    return (await this.#select(`${SELECT_GROUPS} WHERE \`name\` = ?`, [name])).map(rowToGroup)[0];
  }

  async listGroups(): Promise<Group[]> {
    return (await this.#select(`${SELECT_GROUPS} ORDER BY \`name\``, [])).map(rowToGroup);
  }

  async deleteGroup(name: string): Promise<boolean> {
    return (await this.#run('DELETE FROM `groups` WHERE `name` = ?', [name])) > 0;
  }

  async setGroupImage(name: string, image: string): Promise<boolean> {
    return (await this.#run(SET_GROUP_IMAGE, [image, toDatetime(nowUtc()), name])) > 0;
  }

  async createBake(input: NewBake): Promise<Bake> {
    const bake = newBake(input, nowUtc());
    // certname is NULL on a new row, so the primary key is the only one that can clash.
    await this.#run(INSERT_BAKE, newBakeValues(bake), () => new ConflictError('id', `bake ${JSON.stringify(bake.id)} already exists`));
    return bake;
  }

  async getBake(id: string): Promise<Bake | undefined> {
    return (await this.#select(`${SELECT_BAKES} WHERE \`id\` = ?`, [id])).map(rowToBake)[0];
  }

  async findBakeByCertname(certname: string): Promise<Bake | undefined> {
    return (await this.#select(`${SELECT_BAKES} WHERE \`certname\` = ?`, [certname])).map(rowToBake)[0];
  }

  async listBakes(filter: BakeFilter = {}): Promise<Bake[]> {
    const where = ['TRUE'];
    const values: Value[] = [];
    if (filter.active === true) where.push("`state` <> 'done'");
    if (filter.group_name !== undefined) {
      where.push('`group_name` = ?');
      values.push(filter.group_name);
    }
    if (filter.run_id !== undefined) {
      where.push('`run_id` = ?');
      values.push(filter.run_id);
    }
    return (await this.#select(`${SELECT_BAKES} WHERE ${where.join(' AND ')} ORDER BY \`created_at\`, \`id\``, values)).map(rowToBake);
  }

  async acquireLease(id: string, owner: string, expires: string, now: string): Promise<Bake | undefined> {
    const sql = `UPDATE \`bakes\` SET \`lease_owner\` = ?, \`lease_expires\` = ?
      WHERE \`id\` = ? AND (\`lease_owner\` IS NULL OR \`lease_owner\` = ? OR \`lease_expires\` < ?)`;
    const taken = await this.#run(sql, [owner, toDatetime(utc('expires', expires)), id, owner, toDatetime(utc('now', now))]);
    return taken > 0 ? this.getBake(id) : undefined;
  }

  async releaseLease(id: string, owner: string): Promise<void> {
    await this.#run('UPDATE `bakes` SET `lease_owner` = NULL, `lease_expires` = NULL WHERE `id` = ? AND `lease_owner` = ?', [id, owner]);
  }

  async transition(id: string, owner: string, from: BakeState, update: BakeUpdate): Promise<Bake | undefined> {
    checkState('from', from);
    const now = toDatetime(nowUtc());
    const sets = ['`state` = ?', '`updated_at` = ?'];
    const values: Value[] = [update.state, now];
    // Column names come from UPDATABLE, never from the caller's keys.
    for (const [column, value] of Object.entries(transitionValues(update))) {
      sets.push(`\`${column}\` = ?`);
      values.push(column === 'deadline' ? toDatetime(value as string) : (value ?? null));
    }
    if (update.state === 'done') {
      sets.push('`finished_at` = ?', '`lease_owner` = NULL', '`lease_expires` = NULL');
      values.push(now);
    }
    const where = ['`id` = ?', '`state` = ?', '`lease_owner` = ?'];
    const conditions: Value[] = [id, from, owner];
    if (update.expect_challenge !== undefined) {
      where.push('`challenge_hash` = ?');
      conditions.push(update.expect_challenge);
    }
    const sql = `UPDATE \`bakes\` SET ${sets.join(', ')} WHERE ${where.join(' AND ')}`;
    const clash = () => new ConflictError('certname', `another bake already has certname ${JSON.stringify(update.certname)}`);
    return (await this.#run(sql, [...values, ...conditions], clash)) > 0 ? this.getBake(id) : undefined;
  }

  async setChallenge(id: string, owner: string, state: BakeState, hash: string): Promise<Bake | undefined> {
    checkState('state', state);
    const sql = 'UPDATE `bakes` SET `challenge_hash` = ?, `updated_at` = ? WHERE `id` = ? AND `state` = ? AND `lease_owner` = ?';
    return (await this.#run(sql, [checkChallengeHash(hash), toDatetime(nowUtc()), id, state, owner])) > 0 ? this.getBake(id) : undefined;
  }

  async clearChallenge(id: string, hash: string): Promise<boolean> {
    const sql = 'UPDATE `bakes` SET `challenge_hash` = NULL, `updated_at` = ? WHERE `id` = ? AND `challenge_hash` = ?';
    return (await this.#run(sql, [toDatetime(nowUtc()), id, checkChallengeHash(hash)])) > 0;
  }

  async recordReport(id: string, report: ReportSummary): Promise<boolean> {
    const summary = pickReport(report);
    const sql = 'UPDATE `bakes` SET `report` = ?, `report_uuid` = ?, `updated_at` = ? WHERE `id` = ? AND `report` IS NULL';
    return (await this.#run(sql, [JSON.stringify(summary), summary.transaction_uuid, toDatetime(nowUtc()), id])) > 0;
  }

  async promote(input: ImageRecord): Promise<void> {
    const image = pickImage(input);
    const conn = await this.#pool_().getConnection().catch((error: unknown) => Promise.reject(translate(error, this.#db)));
    try {
      await conn.beginTransaction();
      await conn.execute(SET_GROUP_IMAGE, [image.image_id, toDatetime(nowUtc()), image.group_name]);
      await conn.execute(INSERT_IMAGE, imageValues(image));
      await conn.commit();
    } catch (error) {
      await conn.rollback().catch(() => undefined);
      throw translate(error, this.#db);
    } finally {
      conn.release();
    }
  }

  async listImages(groupName: string): Promise<ImageRecord[]> {
    const sql = `${SELECT_IMAGES} WHERE \`group_name\` = ? ORDER BY \`created_at\` DESC, \`image_id\` DESC`;
    return (await this.#select(sql, [groupName])).map(rowToImage);
  }

  async markImageDeregistered(imageId: string, at: string): Promise<void> {
    // The first time stands: a retried retention pass does not move it.
    const sql = 'UPDATE `images` SET `deregistered_at` = ? WHERE `image_id` = ? AND `deregistered_at` IS NULL';
    await this.#run(sql, [toDatetime(utc('at', at)), imageId]);
  }

  async ping(): Promise<void> {
    await this.#select('SELECT 1', []);
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.end();
  }

  /** Rows matched (mysql2 sets FOUND_ROWS), so a no-op UPDATE of a matching row still counts. */
  async #run(sql: string, values: Value[], onDuplicate?: () => ConflictError): Promise<number> {
    try {
      const [result] = await this.#pool_().execute<ResultSetHeader>(sql, values);
      return result.affectedRows;
    } catch (error) {
      throw onDuplicate && isDuplicate(error) ? onDuplicate() : translate(error, this.#db);
    }
  }

  async #select(sql: string, values: Value[]): Promise<RowDataPacket[]> {
    try {
      const [rows] = await this.#pool_().execute<RowDataPacket[]>(sql, values);
      return rows;
    } catch (error) {
      throw translate(error, this.#db);
    }
  }

  #pool_(): Pool {
    if (!this.#pool) throw new StoreUnavailableError(`MySQL store ${describe(this.#db)} is not open`);
    return this.#pool;
  }
}
