import { Ec2Fault, missingParameter } from '../errors.ts';
import type { Tags } from '../model.ts';
import type { ActionContext, Handler } from './common.ts';
import { readTags } from './common.ts';

/** The tag map of any taggable resource we model, resolved by id prefix. */
function tagsOf(ctx: ActionContext, id: string): Tags {
  const { state } = ctx;
  if (id.startsWith('i-')) return (state.findInstances([id], ctx.lagMs)[0] as { tags: Tags }).tags;
  if (id.startsWith('ami-')) return (state.findImages([id], ctx.lagMs)[0] as { tags: Tags }).tags;
  if (id.startsWith('snap-')) return (state.findSnapshots([id])[0] as { tags: Tags }).tags;
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

const REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-central-1',
  'eu-north-1',
  'ap-south-1',
  'ap-northeast-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'sa-east-1',
];

export const describeRegions: Handler = (p) => {
  const wanted = p.strings('RegionName');
  const unknown = wanted.filter((r) => !REGIONS.includes(r));
  if (unknown.length) throw new Ec2Fault('InvalidParameterValue', `Invalid region: ${unknown.join(', ')}`);
  const names = wanted.length ? REGIONS.filter((r) => wanted.includes(r)) : REGIONS;
  return {
    regionInfo: names.map((regionName) => ({
      regionName,
      regionEndpoint: `ec2.${regionName}.amazonaws.com`,
      optInStatus: 'opt-in-not-required',
    })),
  };
};
