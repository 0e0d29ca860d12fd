/**
 * The store shared by several masters. Every statement goes through `execute` (server-side
 * prepared statements), so values never pass through SQL text, whatever the sql_mode; the
 * column names in that text come from the record tables.
 * Leases and transitions are single conditional UPDATEs: the server decides who wins.
 */
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { systemClock, type Clock } from '../clock.ts';
import type { DatabaseConfig } from '../config.ts';
import { ConflictError, StoreUnavailableError } from '../errors.ts';
import { BAKES, BAKE_TABLE, REPORT_SHAPE, REPORT_UUID } from './bake-table.ts';
import { CATALOGS, CATALOG_TABLE } from './catalog-table.ts';
import { FACTS_TABLE, GROUP_FACTS } from './facts-table.ts';
import { GROUPS, GROUP_TABLE } from './group-table.ts';
import { IMAGES, IMAGE_TABLE } from './image-table.ts';
import { BatchedLookup } from './batched-lookup.ts';
import { migrate } from './migrations.ts';
import { WAIT_HISTORY, WAIT_TABLE, WAITS_KEPT, newWait } from './wait-table.ts';
import { SESSION_SETUP, createPool, describe, isDuplicate, translate } from './mysql-connection.ts';
import { PUBLICATIONS, PUBLICATION_TABLE } from './publication-table.ts';
import {
  UPDATABLE, checkCatalogHash, checkCatalogKey, checkChallengeHash, checkCheck, checkDistribution, checkFinish, checkProgress, checkRetentionNote, checkState,
  checkTime, groupChanges, newBake, newCatalog, newGroup, newPublication, transitionValues, type Changes,
} from './records.ts';
import type {
  Bake, BakeFilter, BakeState, BakeUpdate, CatalogCheck, Distribution, Group, GroupFacts, GroupSettings, ImageRecord, NewBake, NewPublication, Publication,
  PublicationOutcome, PublicationProgress, ReportSummary, Store, WaitKind, WaitRecord,
} from './store.ts';
import { columnEquals, columnList, fill, fromRow, insertInto, sqlValues, type SqlValue, type Table } from './table.ts';

export { poolOptions } from './mysql-connection.ts';

const G = GROUP_TABLE;
const B = BAKE_TABLE;
const I = IMAGE_TABLE;
const P = PUBLICATION_TABLE;
const F = FACTS_TABLE;
const C = CATALOG_TABLE;
const W = WAIT_TABLE;

const SELECT_GROUPS = `SELECT ${columnList(G)} FROM ${GROUPS}`;
const SELECT_BAKES = `SELECT ${columnList(B)} FROM ${BAKES}`;
const SELECT_IMAGES = `SELECT ${columnList(I)} FROM ${IMAGES}`;
const SELECT_PUBLICATIONS = `SELECT ${columnList(P)} FROM ${PUBLICATIONS}`;
const SELECT_FACTS = `SELECT ${columnList(F)} FROM ${GROUP_FACTS}`;
const SELECT_WAITS = `SELECT ${columnList(W)} FROM ${WAIT_HISTORY} WHERE ${W.group_name.sql} = ? AND ${W.kind.sql} = ? ORDER BY \`id\` DESC LIMIT ${WAITS_KEPT}`;
// The derived table is materialised first, so the DELETE may read the table it deletes from.
const TRIM_WAITS = `DELETE FROM ${WAIT_HISTORY} WHERE ${W.group_name.sql} = ? AND ${W.kind.sql} = ? AND \`id\` NOT IN (
  SELECT \`id\` FROM (SELECT \`id\` FROM ${WAIT_HISTORY} WHERE ${W.group_name.sql} = ? AND ${W.kind.sql} = ? ORDER BY \`id\` DESC LIMIT ${WAITS_KEPT}) AS \`newest\`)`;
const INSERT_GROUP = insertInto(GROUPS, G);
const INSERT_BAKE = insertInto(BAKES, B);
// A retried promotion keeps the lineage row it first wrote, as the contract asks. Not INSERT
// IGNORE: that would also turn strict-mode errors (an over-long value) into warnings.
const INSERT_IMAGE = `${insertInto(IMAGES, I)} ON DUPLICATE KEY UPDATE ${I.image_id.sql} = ${I.image_id.sql}`;
// A resumed bake starts its publication again and must get the first one back, as it is.
const INSERT_PUBLICATION = `${insertInto(PUBLICATIONS, P)} ON DUPLICATE KEY UPDATE ${P.id.sql} = ${P.id.sql}`;
// One statement, so two masters recording at once leave one whole row, never a mix. VALUES()
// rather than MySQL 8's row alias, which MariaDB lacks.
const UPSERT_FACTS = `${insertInto(GROUP_FACTS, F)} ON DUPLICATE KEY UPDATE ${Object.values(F)
  .filter((column) => column !== F.group_name)
  .map((column) => `${column.sql} = VALUES(${column.sql})`)
  .join(', ')}`;
// The image and its catalog hash together, so a group never pairs one image with another's catalog.
const SET_GROUP_IMAGE = `UPDATE ${GROUPS} SET ${G.image.sql} = ?, ${G.catalog_hash.sql} = ?, ${G.updated_at.sql} = ? WHERE ${G.name.sql} = ?`;
// Content-addressed: a hash kept already holds the same catalog, so the first row stands.
const INSERT_CATALOG = `${insertInto(CATALOGS, C)} ON DUPLICATE KEY UPDATE ${C.hash.sql} = ${C.hash.sql}`;

/** Report lookups sent as one query at most; a batch is padded up to a power of two of keys. */
const CERTNAME_BATCH = 64;

/**
 * The keys, the last repeated up to the next power of two: every batch size then shares one
 * of seven statement texts, and the server keeps seven prepared statements per connection,
 * not one per size.
 */
function padded(keys: readonly string[]): string[] {
  let size = 1;
  while (size < keys.length) size *= 2;
  return Array.from({ length: size }, (_, index) => keys[Math.min(index, keys.length - 1)]!);
}

export interface MysqlStoreOptions {
  /** Stamps created_at, updated_at and finished_at. */
  readonly clock?: Clock;
}

export class MysqlStore implements Store {
  readonly backend = 'mysql' as const;
  readonly #db: DatabaseConfig;
  readonly #clock: Clock;
  #pool: Pool | undefined;
  readonly #byCertname = new BatchedLookup<string, Bake>((certnames) => this.#bakesByCertname(certnames), CERTNAME_BATCH);

  constructor(db: DatabaseConfig, options: MysqlStoreOptions = {}) {
    this.#db = db;
    this.#clock = options.clock ?? systemClock;
  }

  async open(): Promise<void> {
    if (this.#pool) return;
    const pool = await createPool(this.#db);
    // The core pool's event, typed with the callback-style connection it hands over (the
    // promise pool re-emits that same connection under promise typings).
    pool.pool.on('connection', (conn) => void conn.query(SESSION_SETUP, () => undefined));
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
    const group = newGroup(settings, this.#now());
    await this.#run(INSERT_GROUP, sqlValues(G, group), () => new ConflictError('name', `group ${JSON.stringify(group.name)} already exists`));
    return group;
  }

  async getGroup(name: string): Promise<Group | undefined> {
    return (await this.#select(`${SELECT_GROUPS} WHERE ${G.name.sql} = ?`, [name])).map((row) => fromRow(G, row))[0];
  }

  async listGroups(): Promise<Group[]> {
    return (await this.#select(`${SELECT_GROUPS} ORDER BY ${G.name.sql}`, [])).map((row) => fromRow(G, row));
  }

  async deleteGroup(name: string): Promise<boolean> {
    // Together, so a group made again under the name never finds the old one's facts; and
    // even when the group is gone already, so facts a late report recorded go too.
    return this.#transaction(async (conn) => {
      await conn.execute(`DELETE FROM ${GROUP_FACTS} WHERE ${F.group_name.sql} = ?`, [name]);
      await conn.execute(`DELETE FROM ${WAIT_HISTORY} WHERE ${W.group_name.sql} = ?`, [name]);
      const [result] = await conn.execute<ResultSetHeader>(`DELETE FROM ${GROUPS} WHERE ${G.name.sql} = ?`, [name]);
      return result.affectedRows > 0;
    });
  }

  async updateGroup(name: string, changes: Partial<Omit<GroupSettings, 'name'>>): Promise<Group | undefined> {
    // Only the settings given are written, so two masters changing different ones both keep theirs.
    const sets = [...setsOf(G, groupChanges(name, changes)), columnEquals(G, 'updated_at', this.#now())];
    const where = columnEquals(G, 'name', name);
    const sql = `UPDATE ${GROUPS} SET ${sets.map(([text]) => text).join(', ')} WHERE ${where[0]}`;
    return (await this.#run(sql, [...sets.map(([, value]) => value), where[1]])) > 0 ? this.getGroup(name) : undefined;
  }

  async setGroupImage(name: string, image: string, catalogHash: string | null = null): Promise<boolean> {
    return (await this.#run(SET_GROUP_IMAGE, [image, checkCatalogHash(catalogHash), G.updated_at.codec.toSql(this.#now()), name])) > 0;
  }

  async setCatalogHash(groupName: string, image: string, hash: string | null): Promise<boolean> {
    const sets = [columnEquals(G, 'catalog_hash', checkCatalogHash(hash)), columnEquals(G, 'updated_at', this.#now())];
    const where = [columnEquals(G, 'name', groupName), columnEquals(G, 'image', image)];
    const sql = `UPDATE ${GROUPS} SET ${sets.map(([text]) => text).join(', ')} WHERE ${where.map(([text]) => text).join(' AND ')}`;
    return (await this.#run(sql, [...sets, ...where].map(([, value]) => value))) > 0;
  }

  async setFollowedBase(groupName: string, base: string | null): Promise<boolean> {
    const sets = [columnEquals(G, 'followed_base', base), columnEquals(G, 'updated_at', this.#now())];
    const where = columnEquals(G, 'name', groupName);
    const sql = `UPDATE ${GROUPS} SET ${sets.map(([text]) => text).join(', ')} WHERE ${where[0]}`;
    return (await this.#run(sql, [...sets, where].map(([, value]) => value))) > 0;
  }

  async createBake(input: NewBake): Promise<Bake> {
    const bake = newBake(input, this.#now());
    // certname is NULL on a new row, so the primary key is the only one that can clash.
    await this.#run(INSERT_BAKE, sqlValues(B, bake), () => new ConflictError('id', `bake ${JSON.stringify(bake.id)} already exists`));
    return bake;
  }

  async getBake(id: string): Promise<Bake | undefined> {
    return (await this.#select(`${SELECT_BAKES} WHERE ${B.id.sql} = ?`, [id])).map((row) => fromRow(B, row))[0];
  }

  findBakeByCertname(certname: string): Promise<Bake | undefined> {
    return this.#byCertname.get(certname);
  }

  async #bakesByCertname(certnames: readonly string[]): Promise<Map<string, Bake>> {
    const keys = padded(certnames);
    const list = keys.map(() => '?').join(', ');
    const sql = `${SELECT_BAKES} WHERE ${B.certname.sql} IN (${list}) OR ${B.verify_certname.sql} IN (${list})`;
    const found = new Map<string, Bake>();
    for (const bake of (await this.#select(sql, [...keys, ...keys])).map((row) => fromRow(B, row))) {
      for (const certname of [bake.certname, bake.verify_certname]) if (certname !== null && !found.has(certname)) found.set(certname, bake);
    }
    return found;
  }

  async listBakes(filter: BakeFilter = {}): Promise<Bake[]> {
    const where = ['TRUE'];
    const values: SqlValue[] = [];
    if (filter.active === true) {
      where.push(`${B.state.sql} <> ?`);
      values.push(B.state.codec.toSql('done'));
    }
    if (filter.group_name !== undefined) {
      where.push(`${B.group_name.sql} = ?`);
      values.push(filter.group_name);
    }
    if (filter.run_id !== undefined) {
      where.push(`${B.run_id.sql} = ?`);
      values.push(filter.run_id);
    }
    const sql = `${SELECT_BAKES} WHERE ${where.join(' AND ')} ORDER BY ${B.created_at.sql}, ${B.id.sql}`;
    return (await this.#select(sql, values)).map((row) => fromRow(B, row));
  }

  async acquireLease(id: string, owner: string, expires: number, now: number): Promise<Bake | undefined> {
    const sql = `UPDATE ${BAKES} SET ${B.lease_owner.sql} = ?, ${B.lease_expires.sql} = ?
      WHERE ${B.id.sql} = ? AND (${B.lease_owner.sql} IS NULL OR ${B.lease_owner.sql} = ? OR ${B.lease_expires.sql} < ?)`;
    const at = (name: string, ms: number) => B.lease_expires.codec.toSql(checkTime(name, ms));
    const taken = await this.#run(sql, [owner, at('expires', expires), id, owner, at('now', now)]);
    return taken > 0 ? this.getBake(id) : undefined;
  }

  async releaseLease(id: string, owner: string): Promise<void> {
    const sql = `UPDATE ${BAKES} SET ${B.lease_owner.sql} = NULL, ${B.lease_expires.sql} = NULL WHERE ${B.id.sql} = ? AND ${B.lease_owner.sql} = ?`;
    await this.#run(sql, [id, owner]);
  }

  async transition(id: string, owner: string, from: BakeState, update: BakeUpdate): Promise<Bake | undefined> {
    checkState('from', from);
    const changes = transitionValues(update);
    const now = this.#now();
    const sets = [columnEquals(B, 'state', update.state), columnEquals(B, 'updated_at', now)];
    for (const key of UPDATABLE) {
      const set = changed(changes, key);
      if (set) sets.push(set);
    }
    if (update.state === 'done') sets.push(columnEquals(B, 'finished_at', now), columnEquals(B, 'lease_owner', null), columnEquals(B, 'lease_expires', null));
    const where = [columnEquals(B, 'id', id), columnEquals(B, 'state', from), columnEquals(B, 'lease_owner', owner)];
    if (update.expect_challenge !== undefined) where.push(columnEquals(B, 'challenge_hash', update.expect_challenge));
    const sql = `UPDATE ${BAKES} SET ${sets.map(([text]) => text).join(', ')} WHERE ${where.map(([text]) => text).join(' AND ')}`;
    const clash = () =>
      update.certname === undefined && update.verify_certname !== undefined
        ? new ConflictError('verify_certname', `another bake already has verification certname ${JSON.stringify(update.verify_certname)}`)
        : new ConflictError('certname', `another bake already has certname ${JSON.stringify(update.certname)}`);
    return (await this.#run(sql, [...sets, ...where].map(([, value]) => value), clash)) > 0 ? this.getBake(id) : undefined;
  }

  async setChallenge(id: string, owner: string, state: BakeState, hash: string): Promise<Bake | undefined> {
    checkState('state', state);
    const sql = `UPDATE ${BAKES} SET ${B.challenge_hash.sql} = ?, ${B.updated_at.sql} = ?
      WHERE ${B.id.sql} = ? AND ${B.state.sql} = ? AND ${B.lease_owner.sql} = ?`;
    const values = [checkChallengeHash(hash), B.updated_at.codec.toSql(this.#now()), id, state, owner];
    return (await this.#run(sql, values)) > 0 ? this.getBake(id) : undefined;
  }

  async clearChallenge(id: string, hash: string): Promise<boolean> {
    const sql = `UPDATE ${BAKES} SET ${B.challenge_hash.sql} = NULL, ${B.updated_at.sql} = ? WHERE ${B.id.sql} = ? AND ${B.challenge_hash.sql} = ?`;
    return (await this.#run(sql, [B.updated_at.codec.toSql(this.#now()), id, checkChallengeHash(hash)])) > 0;
  }

  async recordReport(id: string, report: ReportSummary): Promise<boolean> {
    const summary = fill(REPORT_SHAPE, report);
    const sql = `UPDATE ${BAKES} SET ${B.report.sql} = ?, ${REPORT_UUID} = ?, ${B.updated_at.sql} = ? WHERE ${B.id.sql} = ? AND ${B.report.sql} IS NULL`;
    const values = [B.report.codec.toSql(summary), summary.transaction_uuid, B.updated_at.codec.toSql(this.#now()), id];
    return (await this.#run(sql, values)) > 0;
  }

  async recordVerifyReport(id: string, report: ReportSummary): Promise<boolean> {
    const summary = fill(REPORT_SHAPE, report);
    const sql = `UPDATE ${BAKES} SET ${B.verify_report.sql} = ?, ${B.updated_at.sql} = ? WHERE ${B.id.sql} = ? AND ${B.verify_report.sql} IS NULL`;
    return (await this.#run(sql, [B.verify_report.codec.toSql(summary), B.updated_at.codec.toSql(this.#now()), id])) > 0;
  }

  async recordFacts(input: Omit<GroupFacts, 'recorded_at'>): Promise<void> {
    await this.#run(UPSERT_FACTS, sqlValues(F, fill(F, { ...input, recorded_at: this.#now() })));
  }

  async getFacts(groupName: string): Promise<GroupFacts | undefined> {
    return (await this.#select(`${SELECT_FACTS} WHERE ${F.group_name.sql} = ?`, [groupName])).map((row) => fromRow(F, row))[0];
  }

  async recordWait(input: Omit<WaitRecord, 'observed_at'>): Promise<void> {
    const record = newWait(input, this.#now());
    await this.#run(insertInto(WAIT_HISTORY, W), sqlValues(W, record));
    // Two masters trimming at once delete the same rows; a row left over goes with the next.
    await this.#run(TRIM_WAITS, [record.group_name, record.kind, record.group_name, record.kind]);
  }

  async listWaits(groupName: string, kind: WaitKind): Promise<WaitRecord[]> {
    return (await this.#select(SELECT_WAITS, [groupName, kind])).map((row) => fromRow(W, row));
  }

  async setDistribution(id: string, owner: string, distribution: Distribution): Promise<Bake | undefined> {
    const sets = [columnEquals(B, 'distribution', checkDistribution(distribution)), columnEquals(B, 'updated_at', this.#now())];
    const where = [columnEquals(B, 'id', id), columnEquals(B, 'state', 'distributing'), columnEquals(B, 'lease_owner', owner)];
    const sql = `UPDATE ${BAKES} SET ${sets.map(([text]) => text).join(', ')} WHERE ${where.map(([text]) => text).join(' AND ')}`;
    return (await this.#run(sql, [...sets, ...where].map(([, value]) => value))) > 0 ? this.getBake(id) : undefined;
  }

  async setCheck(id: string, owner: string, state: BakeState, check: CatalogCheck): Promise<Bake | undefined> {
    checkState('state', state);
    const sets = [columnEquals(B, 'check', checkCheck(check)), columnEquals(B, 'updated_at', this.#now())];
    const where = [columnEquals(B, 'id', id), columnEquals(B, 'state', state), columnEquals(B, 'lease_owner', owner)];
    const sql = `UPDATE ${BAKES} SET ${sets.map(([text]) => text).join(', ')} WHERE ${where.map(([text]) => text).join(' AND ')}`;
    return (await this.#run(sql, [...sets, ...where].map(([, value]) => value))) > 0 ? this.getBake(id) : undefined;
  }

  async putCatalog(hash: string, catalog: Readonly<Record<string, unknown>>): Promise<void> {
    await this.#run(INSERT_CATALOG, sqlValues(C, newCatalog(hash, catalog, this.#now())));
  }

  async getCatalog(hash: string): Promise<Readonly<Record<string, unknown>> | undefined> {
    const sql = `SELECT ${columnList(C)} FROM ${CATALOGS} WHERE ${C.hash.sql} = ?`;
    return (await this.#select(sql, [checkCatalogKey(hash)])).map((row) => fromRow(C, row).catalog)[0];
  }

  async promote(input: ImageRecord): Promise<void> {
    const image = fill(I, input);
    const now = this.#now();
    await this.#transaction(async (conn) => {
      await conn.execute(SET_GROUP_IMAGE, [image.image_id, I.catalog_hash.codec.toSql(image.catalog_hash), G.updated_at.codec.toSql(now), image.group_name]);
      await conn.execute(INSERT_IMAGE, sqlValues(I, image));
    });
  }

  async listImages(groupName: string): Promise<ImageRecord[]> {
    const sql = `${SELECT_IMAGES} WHERE ${I.group_name.sql} = ? ORDER BY ${I.created_at.sql} DESC, ${I.image_id.sql} DESC`;
    return (await this.#select(sql, [groupName])).map((row) => fromRow(I, row));
  }

  async markImageDeregistered(imageId: string, at: number): Promise<void> {
    // The first time stands: a retried retention pass does not move it.
    const [set, when] = columnEquals(I, 'deregistered_at', checkTime('at', at));
    await this.#run(`UPDATE ${IMAGES} SET ${set} WHERE ${I.image_id.sql} = ? AND ${I.deregistered_at.sql} IS NULL`, [when, imageId]);
  }

  async setRetentionNote(imageId: string, note: string | null): Promise<void> {
    const [set, value] = columnEquals(I, 'retention_note', checkRetentionNote(note));
    await this.#run(`UPDATE ${IMAGES} SET ${set} WHERE ${I.image_id.sql} = ?`, [value, imageId]);
  }

  async startPublication(input: NewPublication): Promise<Publication> {
    const publication = newPublication(input, this.#now());
    await this.#run(INSERT_PUBLICATION, sqlValues(P, publication));
    // Read back rather than told apart by affected rows, which FOUND_ROWS makes 1 either way.
    return (await this.getPublication(publication.id)) ?? publication;
  }

  async getPublication(id: string): Promise<Publication | undefined> {
    return (await this.#select(`${SELECT_PUBLICATIONS} WHERE ${P.id.sql} = ?`, [id])).map((row) => fromRow(P, row))[0];
  }

  async setPublicationProgress(id: string, progress: PublicationProgress): Promise<boolean> {
    const sets = [columnEquals(P, 'progress', checkProgress(progress)), columnEquals(P, 'updated_at', this.#now())];
    return this.#unfinished(id, sets);
  }

  async finishPublication(id: string, outcome: PublicationOutcome, reason: string | null): Promise<boolean> {
    const finish = checkFinish(outcome, reason);
    const now = this.#now();
    const sets = [
      columnEquals(P, 'outcome', finish.outcome), columnEquals(P, 'reason', finish.reason), columnEquals(P, 'updated_at', now),
      columnEquals(P, 'finished_at', now),
    ];
    return this.#unfinished(id, sets);
  }

  async listPublications(groupName: string): Promise<Publication[]> {
    const sql = `${SELECT_PUBLICATIONS} WHERE ${P.group_name.sql} = ? ORDER BY ${P.created_at.sql} DESC, ${P.id.sql} DESC`;
    return (await this.#select(sql, [groupName])).map((row) => fromRow(P, row));
  }

  async ping(): Promise<void> {
    await this.#select('SELECT 1', []);
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.end();
  }

  // DATETIME(3) keeps whole milliseconds: the record handed back holds what a read returns.
  #now(): number {
    return Math.floor(this.#clock.now());
  }

  /** Rows matched (mysql2 sets FOUND_ROWS), so a no-op UPDATE of a matching row still counts. */
  async #run(sql: string, values: SqlValue[], onDuplicate?: () => ConflictError): Promise<number> {
    try {
      const [result] = await this.#pool_().execute<ResultSetHeader>(sql, values);
      return result.affectedRows;
    } catch (error) {
      throw onDuplicate && isDuplicate(error) ? onDuplicate() : translate(error, this.#db);
    }
  }

  async #select(sql: string, values: SqlValue[]): Promise<RowDataPacket[]> {
    try {
      const [rows] = await this.#pool_().execute<RowDataPacket[]>(sql, values);
      return rows;
    } catch (error) {
      throw translate(error, this.#db);
    }
  }

  /** Runs `body` in one transaction on one connection: committed whole, or rolled back. */
  async #transaction<T>(body: (conn: PoolConnection) => Promise<T>): Promise<T> {
    const conn = await this.#pool_().getConnection().catch((error: unknown) => Promise.reject(translate(error, this.#db)));
    try {
      await conn.beginTransaction();
      const result = await body(conn);
      await conn.commit();
      return result;
    } catch (error) {
      await conn.rollback().catch(() => undefined);
      throw translate(error, this.#db);
    } finally {
      conn.release();
    }
  }

  /** Applies `sets` to a publication still under way: one conditional UPDATE, so a finish is never overwritten. */
  async #unfinished(id: string, sets: [string, SqlValue][]): Promise<boolean> {
    const sql = `UPDATE ${PUBLICATIONS} SET ${sets.map(([text]) => text).join(', ')} WHERE ${P.id.sql} = ? AND ${P.finished_at.sql} IS NULL`;
    return (await this.#run(sql, [...sets.map(([, value]) => value), id])) > 0;
  }

  #pool_(): Pool {
    if (!this.#pool) throw new StoreUnavailableError(`MySQL store ${describe(this.#db)} is not open`);
    return this.#pool;
  }
}

/** A transition's SET entry for one field, when it changes that field. */
function changed<K extends keyof Changes>(changes: Changes, key: K): [string, SqlValue] | undefined {
  const value = changes[key];
  return value === undefined ? undefined : columnEquals(B, key, value);
}

/** SET entries for the fields `changes` holds, in the table's order. */
function setsOf<R>(table: Table<R>, changes: { readonly [K in keyof R]?: R[K] }): [string, SqlValue][] {
  const sets: [string, SqlValue][] = [];
  for (const key in table) {
    const value = changes[key];
    if (value !== undefined) sets.push(columnEquals(table, key, value));
  }
  return sets;
}
