/**
 * What both backends do alike to the rows they keep: build them from caller input (only
 * known fields, times normalised), order them, and apply a transition. Keeping it in one
 * place is what keeps the embedded store and MySQL answering the same.
 */
import { ValidationError } from '../errors.ts';
import { CHALLENGE_HASH } from '../puppet/challenge.ts';
import {
  BAKE_OUTCOMES, BAKE_STATES, type Bake, type BakeFilter, type BakeUpdate, type ImageRecord, type NewBake, type ReportSummary,
} from './store.ts';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)$/;

/**
 * Times are compared (lease expiry) and sorted, so every one is stored in the one form
 * toISOString gives; an offset-less or free-form date would be read in local time.
 */
export function utc(field: string, value: string): string {
  const ms = typeof value === 'string' && ISO.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new ValidationError(field, `is not an ISO-8601 time with a zone: ${JSON.stringify(value)}`);
  return new Date(ms).toISOString();
}

export const nowUtc = (): string => new Date().toISOString();

export function checkState(field: string, state: string): void {
  if (!(BAKE_STATES as readonly string[]).includes(state)) throw new ValidationError(field, `is not a bake state: ${JSON.stringify(state)}`);
}

export function newBake(b: NewBake, now: string): Bake {
  return {
    id: b.id, run_id: b.run_id, group_name: b.group_name, region: b.region, parent_image: b.parent_image,
    deadline: utc('deadline', b.deadline), state: 'queued', outcome: null, reason: null, instance_id: null, certname: null,
    image_id: null, image_name: null, report: null, lease_owner: null, lease_expires: null,
    created_at: now, updated_at: now, finished_at: null, challenge_hash: null,
  };
}

/** Only a digest is ever stored; the value is not echoed, in case a caller passed the secret. */
export function checkChallengeHash(hash: string): string {
  if (typeof hash !== 'string' || !CHALLENGE_HASH.test(hash)) throw new ValidationError('challenge_hash', 'is not a sha256:<hex> digest (value hidden)');
  return hash;
}

const strings = (list: readonly string[]): string[] => list.map(String);

export function pickReport(r: ReportSummary): ReportSummary {
  return {
    host: r.host, transaction_uuid: r.transaction_uuid, configuration_version: r.configuration_version ?? null,
    status: r.status, environment: r.environment ?? null, time: r.time ?? null, changed: r.changed, failed: r.failed,
    failed_to_restart: r.failed_to_restart, corrective_change: r.corrective_change,
    changed_resources: strings(r.changed_resources), failed_resources: strings(r.failed_resources),
  };
}

export function pickImage(i: ImageRecord): ImageRecord {
  return {
    image_id: i.image_id, group_name: i.group_name, region: i.region, name: i.name, parent_image: i.parent_image,
    bake_id: i.bake_id ?? null, config_version: i.config_version ?? null, changed_resources: strings(i.changed_resources),
    created_at: utc('created_at', i.created_at),
    deregistered_at: i.deregistered_at == null ? null : utc('deregistered_at', i.deregistered_at),
  };
}

/** The columns a transition may set, in a fixed order (MySQL builds its SET list from it). */
export const UPDATABLE = ['outcome', 'reason', 'instance_id', 'certname', 'image_id', 'image_name', 'deadline', 'challenge_hash'] as const;
export type Updatable = (typeof UPDATABLE)[number];

/** The checked, normalised values a transition writes; absent fields keep their value. */
export function transitionValues(update: BakeUpdate): Partial<Record<Updatable, string | null>> {
  checkState('state', update.state);
  if (update.outcome !== undefined && !(BAKE_OUTCOMES as readonly string[]).includes(update.outcome)) {
    throw new ValidationError('outcome', `is not a bake outcome: ${JSON.stringify(update.outcome)}`);
  }
  // A transition only ever forgets a challenge (setChallenge records one).
  if (update.challenge_hash !== undefined && update.challenge_hash !== null) throw new ValidationError('challenge_hash', 'a transition can only clear it');
  if (update.expect_challenge !== undefined) checkChallengeHash(update.expect_challenge);
  const values: Partial<Record<Updatable, string | null>> = {};
  for (const key of UPDATABLE) {
    const value = update[key];
    if (value !== undefined) values[key] = key === 'deadline' ? utc('deadline', value as string) : value;
  }
  return values;
}

/** Does the bake meet a transition's conditions besides state and lease (MySQL checks the same in its WHERE)? */
export const meetsExpectation = (bake: Bake, update: BakeUpdate): boolean =>
  update.expect_challenge === undefined || bake.challenge_hash === update.expect_challenge;

/** The row after a successful transition, as the embedded store keeps it (MySQL does the same in SQL). */
export function applyTransition(bake: Bake, update: BakeUpdate, now: string): Bake {
  const done = update.state === 'done';
  return {
    ...bake, ...transitionValues(update), state: update.state, updated_at: now,
    ...(done ? { finished_at: now, lease_owner: null, lease_expires: null } : {}),
  } as Bake;
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
export const bakeOrder = (a: Bake, b: Bake): number => byCodePoint(a.created_at, b.created_at) || byCodePoint(a.id, b.id);

/** Newest first, the image id breaking ties. */
export const imageOrder = (a: ImageRecord, b: ImageRecord): number =>
  byCodePoint(b.created_at, a.created_at) || byCodePoint(b.image_id, a.image_id);
