/**
 * What both backends do alike to the rows they keep: build them from caller input (only
 * known fields, each checked), order them, and apply a transition. Keeping it in one
 * place is what keeps the embedded store and MySQL answering the same.
 */
import { ValidationError } from '../errors.ts';
import { CHALLENGE_HASH } from '../puppet/challenge.ts';
import { BAKE_TABLE, NEW_BAKE_TABLE, bakeState } from './bake-table.ts';
import { CATALOG_TABLE, catalogCheck, type StoredCatalog } from './catalog-table.ts';
import { GROUP_SETTINGS_TABLE, GROUP_TABLE } from './group-table.ts';
import { IMAGE_TABLE } from './image-table.ts';
import { NEW_PUBLICATION_TABLE, PUBLICATION_TABLE, publicationOutcome } from './publication-table.ts';
import type {
  Bake, BakeFilter, BakeState, BakeUpdate, CatalogCheck, Distribution, Group, GroupSettings, ImageRecord, NewBake, NewPublication, Publication, PublicationOutcome,
  PublicationProgress,
} from './store.ts';
import { checked, checkedField, fill, time, type Shape } from './table.ts';

export const checkState = (name: string, state: string): BakeState => checked(name, bakeState, state);

/** Times are compared (lease expiry), so a caller's must be epoch milliseconds a DATETIME(3) holds. */
export const checkTime = (name: string, value: number): number => checked(name, time, value);

/** `base_image` is the image the group starts on; stray properties from callers are never stored. */
export function newGroup(settings: GroupSettings, now: number): Group {
  const known = fill(GROUP_SETTINGS_TABLE, settings);
  return fill(GROUP_TABLE, { ...known, base_image: known.image, created_at: now, updated_at: now });
}

export type GroupChanges = { -readonly [K in keyof GroupSettings]?: GroupSettings[K] };

/** The fields of `input` a shape knows but `skip`, each checked; absent ones stay absent. */
function someFields<R>(shape: Shape<R>, input: Readonly<Record<string, unknown>>, skip: keyof R): { -readonly [K in keyof R]?: R[K] } {
  const out: { -readonly [K in keyof R]?: R[K] } = {};
  for (const key in shape) if (key !== skip && input[key] !== undefined) out[key] = checkedField(shape, key, input[key]);
  return out;
}

/**
 * The settings a change sets, each checked as createGroup checks it, in the table's order
 * (MySQL builds its SET list from it). Like newGroup, it stores no stray property; a name
 * other than the group's is refused rather than dropped, so a caller never believes a group
 * was renamed.
 */
export function groupChanges(name: string, changes: Readonly<Record<string, unknown>>): GroupChanges {
  if (changes.name !== undefined && changes.name !== name) throw new ValidationError('name', 'cannot be changed');
  return someFields(GROUP_SETTINGS_TABLE, changes, 'name');
}

/** Queued, with nothing known yet but what NewBake gives. */
export function newBake(input: NewBake, now: number): Bake {
  return fill(BAKE_TABLE, { ...fill(NEW_BAKE_TABLE, input), created_at: now, updated_at: now });
}

/** Under way with no target started; stray properties from callers are never stored. */
export function newPublication(input: NewPublication, now: number): Publication {
  return fill(PUBLICATION_TABLE, { ...fill(NEW_PUBLICATION_TABLE, input), created_at: now, updated_at: now });
}

export const checkProgress = (progress: PublicationProgress): PublicationProgress => checkedField(PUBLICATION_TABLE, 'progress', progress);

/** A finish needs an outcome: the column's null is only for a publication under way. */
export const checkFinish = (outcome: PublicationOutcome, reason: string | null): { outcome: PublicationOutcome; reason: string | null } => ({
  outcome: checked('outcome', publicationOutcome, outcome),
  reason: checkedField(PUBLICATION_TABLE, 'reason', reason),
});

/** Only a digest is ever stored; the value is not echoed, in case a caller passed the secret. */
export function checkChallengeHash(hash: string): string {
  if (typeof hash !== 'string' || !CHALLENGE_HASH.test(hash)) throw new ValidationError('challenge_hash', 'is not a sha256:<hex> digest (value hidden)');
  return hash;
}

/** A caller's distribution, checked and copied, so the store never keeps the engine's object. */
export const checkDistribution = (distribution: Distribution): Distribution => checkedField(BAKE_TABLE, 'distribution', distribution);

export const checkRetentionNote = (note: string | null): string | null => checkedField(IMAGE_TABLE, 'retention_note', note);

/** A group's catalog hash: a digest or null, as a row holds it. */
export const checkCatalogHash = (hash: string | null): string | null => checkedField(GROUP_TABLE, 'catalog_hash', hash);

/** A caller's check, checked and copied whole; never null, which only a bake not yet checked holds. */
export const checkCheck = (check: CatalogCheck): CatalogCheck => checked('check', catalogCheck, check);

/** The key a catalog is looked up by; ValidationError(field 'hash') for anything but a digest. */
export const checkCatalogKey = (hash: string): string => checkedField(CATALOG_TABLE, 'hash', hash);

/** A catalog to keep: its hash and a checked copy of the caller's object. */
export const newCatalog = (hash: string, catalog: Readonly<Record<string, unknown>>, now: number): StoredCatalog =>
  fill(CATALOG_TABLE, { hash, catalog, created_at: now });

/** The fields a transition may set, in a fixed order (MySQL builds its SET list from it). */
export const UPDATABLE = [
  'outcome', 'reason', 'instance_id', 'certname', 'image_id', 'image_name', 'deadline', 'challenge_hash', 'verify_step', 'verify_instance_id', 'verify_certname',
] as const satisfies readonly (keyof BakeUpdate & keyof Bake)[];
export type Updatable = (typeof UPDATABLE)[number];
// A field added to BakeUpdate but not to UPDATABLE would be accepted and never written: this fails to compile instead.
const everyUpdateWritten: Exclude<keyof BakeUpdate, Updatable | 'state' | 'expect_challenge'> extends never ? true : never = true;
void everyUpdateWritten;
export type Changes = { -readonly [K in Updatable]?: Bake[K] };

function change<K extends Updatable>(changes: Changes, key: K, value: unknown): void {
  if (value !== undefined) changes[key] = checkedField(BAKE_TABLE, key, value);
}

/** The checked values a transition writes; absent fields keep their value. */
export function transitionValues(update: BakeUpdate): Changes {
  checkState('state', update.state);
  // A transition only ever forgets a challenge (setChallenge records one).
  if (update.challenge_hash !== undefined && update.challenge_hash !== null) throw new ValidationError('challenge_hash', 'a transition can only clear it');
  if (update.expect_challenge !== undefined) checkChallengeHash(update.expect_challenge);
  const changes: Changes = {};
  for (const key of UPDATABLE) change(changes, key, update[key]);
  return changes;
}

/** Does the bake meet a transition's conditions besides state and lease (MySQL checks the same in its WHERE)? */
export const meetsExpectation = (bake: Bake, update: BakeUpdate): boolean =>
  update.expect_challenge === undefined || bake.challenge_hash === update.expect_challenge;

/** The row after a successful transition, as the embedded store keeps it (MySQL does the same in SQL). */
export function applyTransition(bake: Bake, update: BakeUpdate, now: number): Bake {
  const moved: Bake = { ...bake, ...transitionValues(update), state: update.state, updated_at: now };
  return update.state === 'done' ? { ...moved, finished_at: now, lease_owner: null, lease_expires: null } : moved;
}

export function matches(bake: Bake, filter: BakeFilter = {}): boolean {
  return (
    (filter.active !== true || bake.state !== 'done') &&
    (filter.group_name === undefined || bake.group_name === filter.group_name) &&
    (filter.run_id === undefined || bake.run_id === filter.run_id)
  );
}

// Code-point order (UTF-8 byte order), the order MySQL's utf8mb4_bin gives.
export const byCodePoint = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Oldest first; the id breaks ties between bakes made in the same millisecond. */
export const bakeOrder = (a: Bake, b: Bake): number => a.created_at - b.created_at || byCodePoint(a.id, b.id);

/** Newest first, the image id breaking ties. */
export const imageOrder = (a: ImageRecord, b: ImageRecord): number => b.created_at - a.created_at || byCodePoint(b.image_id, a.image_id);

/** Newest first, the id breaking ties between publications started in the same millisecond. */
export const publicationOrder = (a: Publication, b: Publication): number => b.created_at - a.created_at || byCodePoint(b.id, a.id);
