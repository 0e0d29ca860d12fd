import { Ec2Fault, missingParameter } from '../errors.ts';
import type { Tags } from '../model.ts';
import { applyFilters, type FilterFields } from '../query.ts';
import { isRegion, REGIONS, type OptInStatus } from '../regions.ts';
import { findGroup } from '../security-groups.ts';
import { templateById } from '../templates.ts';
import type { ActionContext, Handler } from './common.ts';
import { readTags } from './common.ts';

/** The tag map of any taggable resource we model, resolved by id prefix. */
function tagsOf(ctx: ActionContext, id: string): Tags {
  const { state } = ctx;
  if (id.startsWith('i-')) return (state.findInstances([id], ctx.lagMs)[0] as { tags: Tags }).tags;
  if (id.startsWith('ami-')) return (state.findImages([id], ctx.lagMs)[0] as { tags: Tags }).tags;
  if (id.startsWith('snap-')) return (state.findSnapshots([id])[0] as { tags: Tags }).tags;
  if (id.startsWith('lt-')) return templateById(state, id).tags;
  if (id.startsWith('sg-')) return findGroup(state, { groupId: id }).tags;
  if (id.startsWith('key-')) {
    const pair = [...state.keyPairs.values()].find((k) => k.keyPairId === id);
    if (!pair) throw new Ec2Fault('InvalidKeyPair.NotFound', `The key pair '${id}' does not exist`);
    return pair.tags;
  }
  if (id.startsWith('vol-')) {
    const owner = [...state.instances.values()].find((i) => i.volume.volumeId === id);
    if (!owner) throw new Ec2Fault('InvalidVolume.NotFound', `The volume '${id}' does not exist.`);
    return owner.volume.tags;
  }
  throw new Ec2Fault('InvalidID', `The ID '${id}' is not valid`);
}

function resources(p: Parameters<Handler>[0], ctx: ActionContext): Tags[] {
  const ids = p.strings('ResourceId');
  if (!ids.length) throw missingParameter('ResourceId');
  // Resolve every id before changing anything, so a bad id leaves all tags as they were.
  return ids.map((id) => tagsOf(ctx, id));
}

export const createTags: Handler = (p, ctx) => {
  const targets = resources(p, ctx);
  const tags = readTags(p);
  if (!tags.size) throw missingParameter('Tag');
  for (const target of targets) for (const [key, value] of tags) target.set(key, value);
  return { return: true };
};

/** A tag given with a value only goes when the value matches; one without a value always goes. */
export const deleteTags: Handler = (p, ctx) => {
  const targets = resources(p, ctx);
  const given = p.list('Tag').map((t) => ({ key: t.req('Key'), value: t.str('Value') }));
  for (const target of targets) {
    if (!given.length) target.clear();
    for (const { key, value } of given) if (value === undefined || target.get(key) === value) target.delete(key);
  }
  return { return: true };
};

// A type, not an interface, so rows pass as XML objects as they are.
type RegionRow = {
  regionName: string;
  regionEndpoint: string;
  optInStatus: OptInStatus;
};

const REGION_FILTERS: FilterFields<RegionRow> = {
  endpoint: (r) => r.regionEndpoint,
  'opt-in-status': (r) => r.optInStatus,
  'region-name': (r) => r.regionName,
};

/**
 * By default only the regions the account can use; AllRegions adds the opt-in ones it has not
 * enabled, and regions asked for by name are listed whatever their status.
 */
export const describeRegions: Handler = (p, ctx) => {
  const wanted = p.strings('RegionName');
  const unknown = wanted.filter((r) => !isRegion(r));
  if (unknown.length) throw new Ec2Fault('InvalidParameterValue', `Invalid region names: ${unknown.join(', ')}`);
  const rows: RegionRow[] = REGIONS.map(({ name }) => ({
    regionName: name,
    regionEndpoint: `ec2.${name}.amazonaws.com`,
    optInStatus: ctx.world.optInStatus(name),
  }));
  const all = p.bool('AllRegions') ?? false;
  const listed = wanted.length
    ? rows.filter((r) => wanted.includes(r.regionName))
    : rows.filter((r) => all || r.optInStatus !== 'not-opted-in');
  return { regionInfo: applyFilters(listed, p, REGION_FILTERS) };
};
