/**
 * How a publication is stored: what it publishes where, and where each of its targets has
 * got to, kept whole as JSON in one column like a bake's regional images.
 */
import { PATTERNS } from '../interface/patterns.ts';
import { copiesMap } from './image-table.ts';
import {
  PUBLICATION_OUTCOMES, PUBLICATION_TRIGGERS, TARGET_STEPS, type NewPublication, type Publication, type TargetProgress,
} from './store.ts';
import { column, field, integer, mapOf, nested, nullable, oneOf, sqlName, text, time, type Shape, type Table } from './table.ts';

export const PUBLICATIONS = sqlName('publications');

// No defaults: an entry lacking a field was not written by this store, and resuming from a
// guess could start a second instance refresh or skip a parameter that was never written.
export const TARGET_PROGRESS_SHAPE: Shape<TargetProgress> = {
  step: field(oneOf('a target step', TARGET_STEPS)),
  version: field(nullable(integer)),
  replaced: field(nullable(integer)),
  refresh_id: field(nullable(text)),
  since: field(nullable(time)),
  detail: field(nullable(text)),
};

// The value part is the target as the group names it (an SSM name may reach 1011
// characters); the bound only keeps a runaway key out.
const TARGET_KEY = new RegExp(`^(ssm|launch-template|instance-refresh):${PATTERNS.region}:.{1,1100}$`);

/** Target key → where that target has got to. */
export const progressMap = mapOf('a map of target to its progress', TARGET_KEY, nested('a target progress', TARGET_PROGRESS_SHAPE));

export const publicationOutcome = oneOf('a publication outcome', PUBLICATION_OUTCOMES);

export const NEW_PUBLICATION_TABLE: Table<NewPublication> = {
  id: column('id', text),
  group_name: column('group_name', text),
  channel: column('channel', text),
  image_id: column('image_id', text),
  images: column('images', copiesMap),
  // `trigger` is a reserved word in MySQL: column() quotes it like every name.
  trigger: column('trigger', oneOf('a publication trigger', PUBLICATION_TRIGGERS)),
  // No default: a bake says null itself, so a promotion that lost its caller's login shows.
  requested_by: column('requested_by', nullable(text)),
};

/** A new publication is under way with no target started. */
export const PUBLICATION_TABLE: Table<Publication> = {
  ...NEW_PUBLICATION_TABLE,
  progress: column('progress', progressMap, { default: {} }),
  outcome: column('outcome', nullable(publicationOutcome), { default: null }),
  reason: column('reason', nullable(text), { default: null }),
  created_at: column('created_at', time),
  updated_at: column('updated_at', time),
  finished_at: column('finished_at', nullable(time), { default: null }),
};
