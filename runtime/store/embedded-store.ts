/**
 * The store for a single sidecar without MySQL: one JSON file, held in memory, rewritten
 * whole on every change. A kill at any moment leaves the old file or the new one. Leases
 * and transitions check exactly what MySQL's conditional UPDATEs check, so a bake behaves
 * the same whichever store holds it.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { systemClock, type Clock } from '../clock.ts';
import { ConflictError, StoreUnavailableError } from '../errors.ts';
import { REPORT_SHAPE } from './bake-table.ts';
import { copyDoc, freeze, load, removeLeftovers, sameDoc, save, type Doc } from './embedded-document.ts';
import { FileLock } from './embedded-lock.ts';
import { FACTS_TABLE } from './facts-table.ts';
import { IMAGE_TABLE } from './image-table.ts';
import { WAITS_KEPT, newWait, waitKey } from './wait-table.ts';
import {
  applyTransition, bakeOrder, byCodePoint, checkCatalogHash, checkCatalogKey, checkChallengeHash, checkCheck, checkDistribution, checkFinish, checkProgress,
  checkRetentionNote, checkState, checkTime, groupChanges, imageOrder, matches, meetsExpectation, newBake, newCatalog, newGroup, newPublication,
  publicationOrder, transitionValues,
} from './records.ts';
import type {
  Bake, BakeFilter, BakeState, BakeUpdate, CatalogCheck, Distribution, Group, GroupFacts, GroupSettings, ImageRecord, NewBake, NewPublication, Publication,
  PublicationOutcome, PublicationProgress, ReportSummary, Store, WaitKind, WaitRecord,
} from './store.ts';
import { fill } from './table.ts';

export { EMBEDDED_SCHEMA_VERSION } from './embedded-document.ts';

export interface EmbeddedStoreOptions {
  /** Stamps created_at, updated_at and finished_at. */
  readonly clock?: Clock;
}

export class EmbeddedStore implements Store {
  readonly backend = 'embedded' as const;
  readonly path: string;
  readonly #lock: FileLock;
  readonly #clock: Clock;
  #doc: Doc | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string, options: EmbeddedStoreOptions = {}) {
    this.path = path;
    this.#lock = new FileLock(path);
    this.#clock = options.clock ?? systemClock;
  }

  async open(): Promise<void> {
    if (this.#doc) return;
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await this.#lock.take();
    try {
      this.#doc = await load(this.path);
      await removeLeftovers(this.path);
    } catch (error) {
      await this.#lock.release();
      throw error;
    }
  }

  async createGroup(settings: GroupSettings): Promise<Group> {
    return this.#write(({ groups }) => {
      if (groups.has(settings.name)) throw new ConflictError('name', `group ${JSON.stringify(settings.name)} already exists`);
      const group = freeze(newGroup(settings, this.#now()));
      groups.set(group.name, group);
      return group;
    });
  }

  async getGroup(name: string): Promise<Group | undefined> {
    return this.#state().groups.get(name);
  }

  async listGroups(): Promise<Group[]> {
    return [...this.#state().groups.values()].sort((a, b) => byCodePoint(a.name, b.name));
  }

  async deleteGroup(name: string): Promise<boolean> {
    // Facts go even when the group is gone already, so a group made again under the name starts without them.
    return this.#write(({ groups, facts, waits }) => {
      facts.delete(name);
      for (const key of [...waits.keys()]) if (waits.get(key)![0]?.group_name === name) waits.delete(key);
      return groups.delete(name);
    });
  }

  async updateGroup(name: string, changes: Partial<Omit<GroupSettings, 'name'>>): Promise<Group | undefined> {
    const checked = groupChanges(name, changes);
    const now = this.#now();
    return this.#write(({ groups }) => {
      const group = groups.get(name);
      if (!group) return undefined;
      const changed = freeze({ ...group, ...checked, updated_at: now });
      groups.set(name, changed);
      return changed;
    });
  }

  async setGroupImage(name: string, image: string, catalogHash: string | null = null): Promise<boolean> {
    const catalog_hash = checkCatalogHash(catalogHash);
    const now = this.#now();
    return this.#write(({ groups }) => {
      const group = groups.get(name);
      if (group) groups.set(name, freeze({ ...group, image, catalog_hash, updated_at: now }));
      return group !== undefined;
    });
  }

  async setCatalogHash(groupName: string, image: string, hash: string | null): Promise<boolean> {
    const catalog_hash = checkCatalogHash(hash);
    const now = this.#now();
    return this.#write(({ groups }) => {
      const group = groups.get(groupName);
      if (!group || group.image !== image) return false;
      groups.set(groupName, freeze({ ...group, catalog_hash, updated_at: now }));
      return true;
    });
  }

  async setFollowedBase(groupName: string, base: string | null): Promise<boolean> {
    const now = this.#now();
    return this.#write(({ groups }) => {
      const group = groups.get(groupName);
      if (!group) return false;
      groups.set(groupName, freeze({ ...group, followed_base: base, updated_at: now }));
      return true;
    });
  }

  async createBake(input: NewBake): Promise<Bake> {
    const bake = freeze(newBake(input, this.#now()));
    return this.#write(({ bakes }) => {
      if (bakes.has(bake.id)) throw new ConflictError('id', `bake ${JSON.stringify(bake.id)} already exists`);
      bakes.set(bake.id, bake);
      return bake;
    });
  }

  async getBake(id: string): Promise<Bake | undefined> {
    return this.#state().bakes.get(id);
  }

  async findBakeByCertname(certname: string): Promise<Bake | undefined> {
    return [...this.#state().bakes.values()].find((bake) => bake.certname === certname || bake.verify_certname === certname);
  }

  async listBakes(filter?: BakeFilter): Promise<Bake[]> {
    return [...this.#state().bakes.values()].filter((bake) => matches(bake, filter)).sort(bakeOrder);
  }

  async acquireLease(id: string, owner: string, expires: number, now: number): Promise<Bake | undefined> {
    const until = checkTime('expires', expires);
    const at = checkTime('now', now);
    return this.#write(({ bakes }) => {
      const bake = bakes.get(id);
      if (!bake) return undefined;
      // As in SQL, a NULL expiry is never "< now".
      const expired = bake.lease_expires !== null && bake.lease_expires < at;
      if (bake.lease_owner !== null && bake.lease_owner !== owner && !expired) return undefined;
      return this.#put(bakes, { ...bake, lease_owner: owner, lease_expires: until });
    });
  }

  async releaseLease(id: string, owner: string): Promise<void> {
    await this.#write(({ bakes }) => {
      const bake = bakes.get(id);
      if (bake?.lease_owner === owner) this.#put(bakes, { ...bake, lease_owner: null, lease_expires: null });
    });
  }

  async transition(id: string, owner: string, from: BakeState, update: BakeUpdate): Promise<Bake | undefined> {
    checkState('from', from);
    transitionValues(update);
    const now = this.#now();
    return this.#write(({ bakes }) => {
      const bake = bakes.get(id);
      if (!bake || bake.state !== from || bake.lease_owner !== owner || !meetsExpectation(bake, update)) return undefined;
      // MySQL's unique key on certname, checked only once the row qualifies, as there.
      if (update.certname !== undefined && [...bakes.values()].some((b) => b.id !== id && b.certname === update.certname)) {
        throw new ConflictError('certname', `another bake already has certname ${JSON.stringify(update.certname)}`);
      }
      if (update.verify_certname !== undefined && [...bakes.values()].some((b) => b.id !== id && b.verify_certname === update.verify_certname)) {
        throw new ConflictError('verify_certname', `another bake already has verification certname ${JSON.stringify(update.verify_certname)}`);
      }
      return this.#put(bakes, applyTransition(bake, update, now));
    });
  }

  async setChallenge(id: string, owner: string, state: BakeState, hash: string): Promise<Bake | undefined> {
    checkState('state', state);
    checkChallengeHash(hash);
    const now = this.#now();
    return this.#write(({ bakes }) => {
      const bake = bakes.get(id);
      if (!bake || bake.state !== state || bake.lease_owner !== owner) return undefined;
      return this.#put(bakes, { ...bake, challenge_hash: hash, updated_at: now });
    });
  }

  async clearChallenge(id: string, hash: string): Promise<boolean> {
    checkChallengeHash(hash);
    const now = this.#now();
    return this.#write(({ bakes }) => {
      const bake = bakes.get(id);
      if (!bake || bake.challenge_hash !== hash) return false;
      this.#put(bakes, { ...bake, challenge_hash: null, updated_at: now });
      return true;
    });
  }

  async recordReport(id: string, report: ReportSummary): Promise<boolean> {
    const summary = fill(REPORT_SHAPE, report);
    const now = this.#now();
    return this.#write(({ bakes }) => {
      const bake = bakes.get(id);
      if (!bake || bake.report !== null) return false;
      this.#put(bakes, { ...bake, report: summary, updated_at: now });
      return true;
    });
  }

  async recordVerifyReport(id: string, report: ReportSummary): Promise<boolean> {
    const summary = fill(REPORT_SHAPE, report);
    const now = this.#now();
    return this.#write(({ bakes }) => {
      const bake = bakes.get(id);
      if (!bake || bake.verify_report !== null) return false;
      this.#put(bakes, { ...bake, verify_report: summary, updated_at: now });
      return true;
    });
  }

  async recordFacts(input: Omit<GroupFacts, 'recorded_at'>): Promise<void> {
    const record = freeze(fill(FACTS_TABLE, { ...input, recorded_at: this.#now() }));
    await this.#write(({ facts }) => void facts.set(record.group_name, record));
  }

  async getFacts(groupName: string): Promise<GroupFacts | undefined> {
    return this.#state().facts.get(groupName);
  }

  async recordWait(input: Omit<WaitRecord, 'observed_at'>): Promise<void> {
    const record = freeze(newWait(input, this.#now()));
    const key = waitKey(record.group_name, record.kind);
    await this.#write(({ waits }) => void waits.set(key, freeze([...(waits.get(key) ?? []), record].slice(-WAITS_KEPT))));
  }

  async listWaits(groupName: string, kind: WaitKind): Promise<WaitRecord[]> {
    return [...(this.#state().waits.get(waitKey(groupName, kind)) ?? [])].reverse();
  }

  async setDistribution(id: string, owner: string, distribution: Distribution): Promise<Bake | undefined> {
    const checked = checkDistribution(distribution);
    const now = this.#now();
    return this.#write(({ bakes }) => {
      const bake = bakes.get(id);
      if (!bake || bake.state !== 'distributing' || bake.lease_owner !== owner) return undefined;
      return this.#put(bakes, { ...bake, distribution: checked, updated_at: now });
    });
  }

  async setCheck(id: string, owner: string, state: BakeState, check: CatalogCheck): Promise<Bake | undefined> {
    checkState('state', state);
    const checked = checkCheck(check);
    const now = this.#now();
    return this.#write(({ bakes }) => {
      const bake = bakes.get(id);
      if (!bake || bake.state !== state || bake.lease_owner !== owner) return undefined;
      return this.#put(bakes, { ...bake, check: checked, updated_at: now });
    });
  }

  async putCatalog(hash: string, catalog: Readonly<Record<string, unknown>>): Promise<void> {
    const record = freeze(newCatalog(hash, catalog, this.#now()));
    // The first one kept stands, as MySQL's insert keeps its row.
    await this.#write(({ catalogs }) => {
      if (!catalogs.has(record.hash)) catalogs.set(record.hash, record);
    });
  }

  async getCatalog(hash: string): Promise<Readonly<Record<string, unknown>> | undefined> {
    return this.#state().catalogs.get(checkCatalogKey(hash))?.catalog;
  }

  async promote(input: ImageRecord): Promise<void> {
    const image = freeze(fill(IMAGE_TABLE, input));
    const now = this.#now();
    await this.#write(({ groups, images }) => {
      const group = groups.get(image.group_name);
      if (group) groups.set(group.name, freeze({ ...group, image: image.image_id, catalog_hash: image.catalog_hash, updated_at: now }));
      // A retried promotion keeps the lineage row it first wrote, as MySQL does.
      if (!images.has(image.image_id)) images.set(image.image_id, image);
    });
  }

  async listImages(groupName: string): Promise<ImageRecord[]> {
    return [...this.#state().images.values()].filter((image) => image.group_name === groupName).sort(imageOrder);
  }

  async markImageDeregistered(imageId: string, at: number): Promise<void> {
    const when = checkTime('at', at);
    await this.#write(({ images }) => {
      const image = images.get(imageId);
      // The first time stands: a retried retention pass does not move it.
      if (image && image.deregistered_at === null) images.set(imageId, freeze({ ...image, deregistered_at: when }));
    });
  }

  async setRetentionNote(imageId: string, note: string | null): Promise<void> {
    const checked = checkRetentionNote(note);
    await this.#write(({ images }) => {
      const image = images.get(imageId);
      if (image && image.retention_note !== checked) images.set(imageId, freeze({ ...image, retention_note: checked }));
    });
  }

  async startPublication(input: NewPublication): Promise<Publication> {
    const publication = freeze(newPublication(input, this.#now()));
    return this.#write(({ publications }) => {
      const existing = publications.get(publication.id);
      if (existing) return existing;
      publications.set(publication.id, publication);
      return publication;
    });
  }

  async getPublication(id: string): Promise<Publication | undefined> {
    return this.#state().publications.get(id);
  }

  async setPublicationProgress(id: string, progress: PublicationProgress): Promise<boolean> {
    const checked = checkProgress(progress);
    const now = this.#now();
    return this.#write(({ publications }) => {
      const publication = publications.get(id);
      if (!publication || publication.finished_at !== null) return false;
      publications.set(id, freeze({ ...publication, progress: checked, updated_at: now }));
      return true;
    });
  }

  async finishPublication(id: string, outcome: PublicationOutcome, reason: string | null): Promise<boolean> {
    const finish = checkFinish(outcome, reason);
    const now = this.#now();
    return this.#write(({ publications }) => {
      const publication = publications.get(id);
      if (!publication || publication.finished_at !== null) return false;
      publications.set(id, freeze({ ...publication, ...finish, updated_at: now, finished_at: now }));
      return true;
    });
  }

  async listPublications(groupName: string): Promise<Publication[]> {
    return [...this.#state().publications.values()].filter((publication) => publication.group_name === groupName).sort(publicationOrder);
  }

  async ping(): Promise<void> {
    this.#state();
  }

  async close(): Promise<void> {
    await this.#queue;
    this.#doc = undefined;
    await this.#lock.release();
  }

  // Whole milliseconds, as MySQL's DATETIME(3) keeps them, so both stores return the same.
  #now(): number {
    return Math.floor(this.#clock.now());
  }

  #put(bakes: Map<string, Bake>, bake: Bake): Bake {
    const frozen = freeze(bake);
    bakes.set(frozen.id, frozen);
    return frozen;
  }

  #state(): Doc {
    if (!this.#doc) throw new StoreUnavailableError(`embedded store ${this.path} is not open`);
    return this.#doc;
  }

  /**
   * Changes a copy, persists it, and only then shows it to readers, so a failed write
   * leaves memory matching disk. The queue keeps writers from overtaking each other, which
   * is what makes each check-then-set below as atomic as MySQL's conditional UPDATE.
   */
  #write<T>(change: (doc: Doc) => T): Promise<T> {
    const run = this.#queue.then(async () => {
      const current = this.#state();
      const next = copyDoc(current);
      const result = change(next);
      if (!sameDoc(current, next)) {
        await save(this.path, next);
        this.#doc = next;
      }
      return result;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
