/**
 * How a group is stored. GroupSettings comes from group.create's params, so a new param
 * does not compile until it has its entry here (and then needs its migration).
 */
import { METHODS } from '../interface/methods.ts';
import { catalogHash } from './catalog-table.ts';
import type { Group, GroupSettings } from './store.ts';
import { column, flag, integer, nullable, oneOf, sqlName, text, textList, time, type Table } from './table.ts';

// `groups` is a reserved word from MySQL 8.0.2 (window functions), so it is always quoted.
export const GROUPS = sqlName('groups');

/** A param left out of group.create is null in the record (its default). */
export const GROUP_SETTINGS_TABLE: Table<GroupSettings> = {
  name: column('name', text),
  // The AMI the group's next bake starts from.
  image: column('image', text),
  type: column('type', text),
  keyname: column('keyname', text),
  keyfile: column('keyfile', text),
  login: column('login', text),
  puppetserver: column('puppetserver', text),
  node_group: column('node_group', text),
  enc_user: column('enc_user', text),
  enc_pass: column('enc_pass', text),
  enc_server: column('enc_server', nullable(text), { default: null }),
  enc_port: column('enc_port', integer),
  region: column('region', text),
  subnet: column('subnet', nullable(text), { default: null }),
  security_group: column('security_group', nullable(text), { default: null }),
  bootstrap: column('bootstrap', oneOf('a bootstrap mode', METHODS['group.create'].params.bootstrap.values)),
  keep: column('keep', integer),
  // Null: the bootstrap template AutoAMI ships. Files from before it existed get that.
  template: column('template', nullable(text), { default: null }),
  // Leave the instance of a failed run running for inspection instead of terminating it.
  keep_failed: column('keep_failed', flag, { default: false }),
  // Groups from before verification promote on the bake's own run, as they did.
  verify: column('verify', flag, { default: false }),
  // Groups from before distribution get its defaults: home region only, unencrypted,
  // unshared, never deprecated, and kept by count alone.
  keep_days: column('keep_days', nullable(integer), { default: null }),
  copy_to: column('copy_to', textList, { default: [] }),
  encrypt: column('encrypt', flag, { default: false }),
  // `REGION=ARN` or `default=ARN` entries, kept as given: the distribution step reads them.
  kms_key: column('kms_key', textList, { default: [] }),
  share_with: column('share_with', textList, { default: [] }),
  // The duration as given (`90d`): a deprecation time is reckoned from each image's own creation.
  deprecate_after: column('deprecate_after', nullable(text), { default: null }),
  // `[CHANNEL:]VALUE` entries, kept as given: the publisher parses them. Groups from before
  // publication publish nowhere, and a refresh they are later given keeps AWS's own defaults.
  ssm_parameter: column('ssm_parameter', textList, { default: [] }),
  launch_template: column('launch_template', textList, { default: [] }),
  instance_refresh: column('instance_refresh', textList, { default: [] }),
  min_healthy_percentage: column('min_healthy_percentage', integer, { default: 90 }),
  refresh_replace_all: column('refresh_replace_all', flag, { default: false }),
  // Groups from before judge changes as new ones do: drift repairs alone make no image.
  bake_on: column('bake_on', oneOf('intentional or any', METHODS['group.create'].params.bake_on.values), { default: 'intentional' }),
  // `Type[title]` patterns, kept as given: the judgement matches them.
  ignore_resources: column('ignore_resources', textList, { default: [] }),
  // Groups from before base images follow none: they bake from their own images only.
  base_image_from: column('base_image_from', nullable(text), { default: null }),
  base_image_filter: column('base_image_filter', nullable(text), { default: null }),
  base_image_owner: column('base_image_owner', nullable(text), { default: null }),
};

export const GROUP_TABLE: Table<Group> = {
  ...GROUP_SETTINGS_TABLE,
  base_image: column('base_image', text),
  // Not a setting: promotion, rollback and the catalog check keep it. None known for a new
  // group (its base image was never compiled for) nor for groups from before the check.
  catalog_hash: column('catalog_hash', nullable(catalogHash), { default: null }),
  // Not a setting: the base image the group's image was built on, once a run resolved the
  // base it follows; promotion moves it. Null while it follows none, or none was resolved yet.
  followed_base: column('followed_base', nullable(text), { default: null }),
  created_at: column('created_at', time),
  updated_at: column('updated_at', time),
};
