/**
 * How a group's wait history is stored: one row per wait, only the newest few per group
 * and kind (older ones are deleted as newer ones come), read newest first.
 */
import { ValidationError } from '../errors.ts';
import { WAIT_KINDS, type WaitRecord } from './store.ts';
import { column, fill, integer, oneOf, sqlName, text, time, type Table } from './table.ts';

export const WAIT_HISTORY = sqlName('wait_history');

/** Enough to tell a stable delay from a drifting one, few enough that an old delay soon drops out. */
export const WAITS_KEPT = 5;

export const WAIT_TABLE: Table<WaitRecord> = {
  group_name: column('group_name', text),
  kind: column('kind', oneOf(`one of ${WAIT_KINDS.join(', ')}`, WAIT_KINDS)),
  not_yet_ms: column('not_yet_ms', integer),
  seen_ms: column('seen_ms', integer),
  observed_at: column('observed_at', time),
};

const MAX_MS = 2 ** 31 - 1;

/** A whole record from the caller's, stamped `now`; a window that holds nothing is refused. */
export function newWait(input: Omit<WaitRecord, 'observed_at'>, now: number): WaitRecord {
  const record = fill(WAIT_TABLE, { ...input, observed_at: now });
  if (record.not_yet_ms < 0) throw new ValidationError('not_yet_ms', `must not be negative, not ${record.not_yet_ms}`);
  if (record.seen_ms > MAX_MS) throw new ValidationError('seen_ms', `must be at most ${MAX_MS} (an INT), not ${record.seen_ms}`);
  if (record.seen_ms <= record.not_yet_ms) throw new ValidationError('seen_ms', `must be later than not_yet_ms (${record.not_yet_ms}), not ${record.seen_ms}`);
  return record;
}

/** The embedded store's key for one group's waits of one kind. */
export const waitKey = (groupName: string, kind: string): string => JSON.stringify([groupName, kind]);
