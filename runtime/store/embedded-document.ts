/**
 * The embedded store's file: what it holds, how an older layout is brought up to date,
 * and the checks that refuse a damaged file rather than guess at it.
 */
import { readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StoreUnavailableError } from '../errors.ts';
import { BAKE_TABLE } from './bake-table.ts';
import { CATALOG_TABLE, type StoredCatalog } from './catalog-table.ts';
import { tempName, withFile, writeSynced } from './embedded-lock.ts';
import { FACTS_TABLE } from './facts-table.ts';
import { GROUP_TABLE } from './group-table.ts';
import { IMAGE_TABLE } from './image-table.ts';
import { PUBLICATION_TABLE } from './publication-table.ts';
import { WAIT_TABLE, waitKey } from './wait-table.ts';
import { bakeOrder, byCodePoint, imageOrder, publicationOrder } from './records.ts';
import type { Bake, Group, GroupFacts, ImageRecord, Publication, WaitRecord } from './store.ts';
import { fromJson, isObject, toJson, type Shape } from './table.ts';

/**
 * Bump with an entry in UPGRADES when the file layout changes. Each record is written as
 * its table says (times as ISO-8601 strings); a field missing from an older document
 * takes the table's default when it is read.
 */
export const EMBEDDED_SCHEMA_VERSION = 12;

type Raw = Record<string, unknown>;

/** Each record of a list given the fields it lacks; anything but a list is left for `keyed` to refuse. */
const each = (list: unknown, defaults: Raw): unknown => (Array.isArray(list) ? list.map((record: Raw) => ({ ...defaults, ...record })) : list);
// UPGRADES[i] turns a document at schema_version i+1 into one at i+2.
const UPGRADES: readonly ((doc: Raw) => Raw)[] = [
  // 2: bakes and image lineage join the groups.
  (doc) => ({ ...doc, schema_version: 2, bakes: [], images: [] }),
  // 3: groups gain their own bootstrap template and keep_failed.
  (doc) => ({
    ...doc,
    schema_version: 3,
    groups: Array.isArray(doc.groups) ? doc.groups.map((group: Raw) => ({ template: null, keep_failed: false, ...group })) : doc.groups,
  }),
  // 4: bakes keep the hash of their one-time CSR challenge; none for bakes already under way.
  (doc) => ({
    ...doc,
    schema_version: 4,
    bakes: Array.isArray(doc.bakes) ? doc.bakes.map((bake: Raw) => ({ challenge_hash: null, ...bake })) : doc.bakes,
  }),
  // 5: distribution to more regions. Groups from before stay in their home region,
  // unencrypted and unshared; their bakes and images have no other region's image.
  (doc) => ({
    ...doc,
    schema_version: 5,
    groups: each(doc.groups, { keep_days: null, copy_to: [], encrypt: false, kms_key: [], share_with: [], deprecate_after: null }),
    bakes: each(doc.bakes, { distribution: {} }),
    images: each(doc.images, { copies: {}, retention_note: null }),
  }),
  // 6: publication. Groups from before publish nowhere, and nothing was ever published.
  (doc) => ({
    ...doc,
    schema_version: 6,
    groups: each(doc.groups, { ssm_parameter: [], launch_template: [], instance_refresh: [], min_healthy_percentage: 90, refresh_replace_all: false }),
    publications: [],
  }),
  // 7: which changes make an image. Groups from before bake on intentional changes and
  // ignore no resource.
  (doc) => ({
    ...doc,
    schema_version: 7,
    groups: each(doc.groups, { bake_on: 'intentional', ignore_resources: [] }),
  }),
  // 8: each group's latest facts, for the catalog check; no bake had reported any.
  (doc) => ({ ...doc, schema_version: 8, facts: [] }),
  // 9: the catalog check. No bake was checked, and no group's or image's catalog was kept.
  (doc) => ({
    ...doc,
    schema_version: 9,
    bakes: each(doc.bakes, { check: null }),
    groups: each(doc.groups, { catalog_hash: null }),
    images: each(doc.images, { catalog_hash: null }),
    catalogs: [],
  }),
  // 10: verification. No group verified its images, and no bake booted one.
  (doc) => ({
    ...doc,
    schema_version: 10,
    groups: each(doc.groups, { verify: false }),
    bakes: each(doc.bakes, { verify_step: null, verify_instance_id: null, verify_certname: null, verify_report: null }),
  }),
  // 11: base images. No group followed one, and no bake started from a new one.
  (doc) => ({
    ...doc,
    schema_version: 11,
    groups: each(doc.groups, { base_image_from: null, base_image_filter: null, base_image_owner: null, followed_base: null }),
    bakes: each(doc.bakes, { base_update: null }),
  }),
  // 12: wait history. No wait had been kept.
  (doc) => ({ ...doc, schema_version: 12, waits: [] }),
];

/** In memory, keyed for lookup; records are frozen, so a changed one is a new object. */
export interface Doc {
  readonly groups: Map<string, Group>;
  readonly bakes: Map<string, Bake>;
  readonly images: Map<string, ImageRecord>;
  readonly publications: Map<string, Publication>;
  /** By group name. */
  readonly facts: Map<string, GroupFacts>;
  /** By hash. */
  readonly catalogs: Map<string, StoredCatalog>;
  /** By group and kind (waitKey), oldest first. */
  readonly waits: Map<string, readonly WaitRecord[]>;
}

/** Frozen all the way down, so a caller changing a returned record cannot change the store. */
export function freeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) freeze(inner);
    Object.freeze(value);
  }
  return value;
}

const emptyDoc = (): Doc => ({
  groups: new Map(), bakes: new Map(), images: new Map(), publications: new Map(), facts: new Map(), catalogs: new Map(), waits: new Map(),
});

export const copyDoc = (doc: Doc): Doc => ({
  groups: new Map(doc.groups),
  bakes: new Map(doc.bakes),
  images: new Map(doc.images),
  publications: new Map(doc.publications),
  facts: new Map(doc.facts),
  catalogs: new Map(doc.catalogs),
  waits: new Map(doc.waits),
});

function sameMap<V>(a: Map<string, V>, b: Map<string, V>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}

/** True when a change left every record as it was, so there is nothing to write. */
export const sameDoc = (a: Doc, b: Doc): boolean =>
  sameMap(a.groups, b.groups) && sameMap(a.bakes, b.bakes) && sameMap(a.images, b.images) && sameMap(a.publications, b.publications) &&
  sameMap(a.facts, b.facts) && sameMap(a.catalogs, b.catalogs) && sameMap(a.waits, b.waits);

function serialize(doc: Doc): string {
  const file = {
    schema_version: EMBEDDED_SCHEMA_VERSION,
    groups: [...doc.groups.values()].sort((a, b) => byCodePoint(a.name, b.name)).map((group) => toJson(GROUP_TABLE, group)),
    bakes: [...doc.bakes.values()].sort(bakeOrder).map((bake) => toJson(BAKE_TABLE, bake)),
    images: [...doc.images.values()].sort(imageOrder).map((image) => toJson(IMAGE_TABLE, image)),
    publications: [...doc.publications.values()].sort(publicationOrder).map((publication) => toJson(PUBLICATION_TABLE, publication)),
    facts: [...doc.facts.values()].sort((a, b) => byCodePoint(a.group_name, b.group_name)).map((facts) => toJson(FACTS_TABLE, facts)),
    catalogs: [...doc.catalogs.values()].sort((a, b) => byCodePoint(a.hash, b.hash)).map((catalog) => toJson(CATALOG_TABLE, catalog)),
    // Each group's and kind's oldest first, as kept.
    waits: [...doc.waits.keys()].sort(byCodePoint).flatMap((key) => doc.waits.get(key)!.map((wait) => toJson(WAIT_TABLE, wait))),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** Written whole under a temp name, then renamed over: a kill leaves the old file or the new. */
export async function save(path: string, doc: Doc): Promise<void> {
  const temp = tempName(path);
  try {
    await writeSynced(temp, serialize(doc));
    await rename(temp, path);
    await withFile(dirname(path), 'r', (handle) => handle.sync());
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new StoreUnavailableError(`cannot write ${path}: ${(error as Error).message}`, error);
  }
}

// Temp files are only ever written under the lock, so any found now are from a crash.
export async function removeLeftovers(path: string): Promise<void> {
  const prefix = `${basename(path)}.tmp-`;
  for (const entry of await readdir(dirname(path))) {
    if (entry.startsWith(prefix)) await unlink(join(dirname(path), entry)).catch(() => undefined);
  }
}

function corrupt(path: string, why: string, cause?: unknown): StoreUnavailableError {
  return new StoreUnavailableError(`${path} ${why}; it was left untouched: repair it or move it aside`, cause);
}

function keyed<R>(path: string, list: unknown, what: string, shape: Shape<R>, key: keyof R & string, plural = `${what}s`): Map<string, R> {
  if (!Array.isArray(list)) throw corrupt(path, `has no ${plural} array`);
  const map = new Map<string, R>();
  for (const item of list) {
    const id = isObject(item) ? item[key] : undefined;
    if (!isObject(item) || typeof id !== 'string') throw corrupt(path, `holds a ${what} with no ${key}`);
    let record: R;
    try {
      record = fromJson(shape, item);
    } catch (error) {
      throw corrupt(path, `holds ${what} ${JSON.stringify(id)} whose ${error instanceof Error ? error.message : String(error)}`, error);
    }
    map.set(id, freeze(record));
  }
  return map;
}

/** The file's wait list, in its order, by group and kind. */
function waitsOf(path: string, list: unknown): Map<string, readonly WaitRecord[]> {
  if (!Array.isArray(list)) throw corrupt(path, 'has no waits array');
  const map = new Map<string, WaitRecord[]>();
  for (const item of list) {
    const group = isObject(item) ? item.group_name : undefined;
    if (!isObject(item) || typeof group !== 'string') throw corrupt(path, 'holds a wait with no group_name');
    let record: WaitRecord;
    try {
      record = fromJson(WAIT_TABLE, item);
    } catch (error) {
      throw corrupt(path, `holds a wait of group ${JSON.stringify(group)} whose ${error instanceof Error ? error.message : String(error)}`, error);
    }
    const key = waitKey(record.group_name, record.kind);
    map.set(key, [...(map.get(key) ?? []), freeze(record)]);
  }
  return map;
}

export async function load(path: string): Promise<Doc> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyDoc();
    throw new StoreUnavailableError(`cannot read ${path}: ${(error as Error).message}`, error);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw corrupt(path, `is not valid JSON (${(error as Error).message})`, error);
  }
  if (!isObject(parsed)) throw corrupt(path, 'does not hold a JSON object');
  let raw: Raw = parsed;
  const version = raw.schema_version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) throw corrupt(path, 'has no valid schema_version');
  if (version > EMBEDDED_SCHEMA_VERSION) {
    throw corrupt(path, `has schema_version ${version}, newer than this autoami knows (${EMBEDDED_SCHEMA_VERSION})`);
  }
  // Upgraded in memory only; the file takes the new layout with the next write.
  for (const upgrade of UPGRADES.slice(version - 1)) raw = upgrade(raw);
  return {
    groups: keyed(path, raw.groups, 'group', GROUP_TABLE, 'name'),
    bakes: keyed(path, raw.bakes, 'bake', BAKE_TABLE, 'id'),
    images: keyed(path, raw.images, 'image', IMAGE_TABLE, 'image_id'),
    publications: keyed(path, raw.publications, 'publication', PUBLICATION_TABLE, 'id'),
    facts: keyed(path, raw.facts, 'facts record', FACTS_TABLE, 'group_name', 'facts'),
    catalogs: keyed(path, raw.catalogs, 'catalog', CATALOG_TABLE, 'hash'),
    waits: waitsOf(path, raw.waits),
  };
}
