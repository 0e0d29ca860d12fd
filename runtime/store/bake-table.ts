/**
 * How a bake is stored. A new bake is its NewBake fields plus the defaults below; its
 * report is kept whole, as JSON, in one column.
 */
import { jsPattern } from '../interface/patterns.ts';
import { catalogCheck } from './catalog-table.ts';
import { BAKE_OUTCOMES, BAKE_STATES, DISTRIBUTION_STEPS, VERIFY_STEPS, type BaseUpdate, type Bake, type NewBake, type RegionalImage, type ReportSummary } from './store.ts';
import { column, field, flag, integer, mapOf, nested, nullable, oneOf, sqlName, text, textList, time, type Shape, type Table } from './table.ts';

export const BAKES = sqlName('bakes');
/** Not a field of the record: the report's transaction_uuid, written with the report for lookups. */
export const REPORT_UUID = sqlName('report_uuid');

export const REPORT_SHAPE: Shape<ReportSummary> = {
  host: field(text),
  transaction_uuid: field(text),
  configuration_version: field(nullable(text), { default: null }),
  status: field(text),
  environment: field(nullable(text), { default: null }),
  // Puppet's own time text, kept as it came.
  time: field(nullable(text), { default: null }),
  changed: field(integer),
  failed: field(integer),
  failed_to_restart: field(integer, { default: 0 }),
  corrective_change: field(integer, { default: 0 }),
  changed_resources: field(textList, { default: [] }),
  failed_resources: field(textList, { default: [] }),
  // Reports from before the processor sent them name no corrective change.
  corrective_resources: field(textList, { default: [] }),
  // Only a verification runs in noop, and reports from before it never were.
  noop: field(flag, { default: false }),
  pending_resources: field(textList, { default: [] }),
};

export const bakeState = oneOf('a bake state', BAKE_STATES);

// No defaults: a region's entry lacking its step could not be resumed, so it is refused.
export const REGIONAL_IMAGE_SHAPE: Shape<RegionalImage> = {
  image_id: field(nullable(text)),
  step: field(oneOf('a distribution step', DISTRIBUTION_STEPS)),
};

/** Region → where that region's image has got to, kept whole in one column like the report. */
export const distributionMap = mapOf('a map of region to its image', jsPattern('region'), nested('a regional image', REGIONAL_IMAGE_SHAPE));

// No defaults: an update lacking where its base came from could not say why the bake baked.
export const BASE_UPDATE_SHAPE: Shape<BaseUpdate> = {
  from: field(nullable(text)),
  to: field(text),
  source: field(text),
};

// Bakes from before base images, and bakes of groups that follow none, had no new base.
const baseUpdateColumn = column('base_update', nullable(nested('a base update', BASE_UPDATE_SHAPE)), { default: null });

export const NEW_BAKE_TABLE: Table<NewBake> = {
  id: column('id', text),
  run_id: column('run_id', text),
  group_name: column('group_name', text),
  region: column('region', text),
  parent_image: column('parent_image', text),
  deadline: column('deadline', time),
  check: column('check', nullable(catalogCheck), { default: null }),
  base_update: baseUpdateColumn,
};

/** What is not given on a new bake starts at its default: queued, nothing known yet. */
export const BAKE_TABLE: Table<Bake> = {
  ...NEW_BAKE_TABLE,
  state: column('state', bakeState, { default: 'queued' }),
  outcome: column('outcome', nullable(oneOf('a bake outcome', BAKE_OUTCOMES)), { default: null }),
  reason: column('reason', nullable(text), { default: null }),
  instance_id: column('instance_id', nullable(text), { default: null }),
  certname: column('certname', nullable(text), { default: null }),
  image_id: column('image_id', nullable(text), { default: null }),
  image_name: column('image_name', nullable(text), { default: null }),
  report: column('report', nullable(nested('a report summary', REPORT_SHAPE)), { default: null }),
  lease_owner: column('lease_owner', nullable(text), { default: null }),
  lease_expires: column('lease_expires', nullable(time), { default: null }),
  created_at: column('created_at', time),
  updated_at: column('updated_at', time),
  finished_at: column('finished_at', nullable(time), { default: null }),
  // Files and databases from before challenges get none: such a bake's CSR is refused.
  challenge_hash: column('challenge_hash', nullable(text), { default: null }),
  // Empty until the bake is distributing; bakes from before distribution never were.
  distribution: column('distribution', distributionMap, { default: {} }),
  // Given at creation only by `run --force`; bakes from before the catalog check were never
  // checked. `check` is a reserved word in MySQL: column() quotes it like every name.
  check: column('check', nullable(catalogCheck), { default: null }),
  base_update: baseUpdateColumn,
  // Set only on a bake whose group verifies its images, from `verifying` on.
  verify_step: column('verify_step', nullable(oneOf('a verification step', VERIFY_STEPS)), { default: null }),
  verify_instance_id: column('verify_instance_id', nullable(text), { default: null }),
  verify_certname: column('verify_certname', nullable(text), { default: null }),
  verify_report: column('verify_report', nullable(nested('a report summary', REPORT_SHAPE)), { default: null }),
};
