/**
 * Group definitions: the handlers behind new_group, delete_group and groups. Params arrive
 * validated by the dispatcher; what is left here is shaping records and hiding secrets.
 */
import type { Ec2Source } from '../ec2/source.ts';
import { channelStates, type ChannelState } from '../publish/channels.ts';
import type { PublishSource } from '../publish/source.ts';
import { checkBaseImageSettings, followedSource, resolveBaseImage, type BaseImageSources } from '../bake/base-image.ts';
import { NotFoundError, PuppetApiError, ValidationError } from '../errors.ts';
import type { ParamsFor } from '../interface/methods.ts';
import type { Classifier } from '../puppet/types.ts';
import { GROUP_SETTINGS_TABLE } from '../store/group-table.ts';
import type { Group, GroupSettings, Store } from '../store/store.ts';
import { fill } from '../store/table.ts';
import { checkDelivery } from './delivery-checks.ts';
import { checkTargets } from './target-checks.ts';
import { imagesByRegion } from './history.ts';
import { isoTime } from './iso-time.ts';

const REDACTED = '[redacted]';

/** A group as clients see it: the console password hidden, times in ISO-8601, its current image in every region. */
export type PublicGroup = Omit<Group, 'enc_pass' | 'created_at' | 'updated_at'> & {
  enc_pass: typeof REDACTED;
  created_at: string;
  updated_at: string;
  images: Record<string, string>;
  /** Channel → the image it is on (null: nothing published to it yet). */
  channels: Record<string, string | null>;
  /** The SSM parameter, or name pattern and owner, of the base image it follows; null when none. */
  follows: string | null;
};

async function shown(store: Store, group: Group): Promise<PublicGroup> {
  const current = group.image === group.base_image ? undefined : (await store.listImages(group.name)).find((image) => image.image_id === group.image);
  return {
    ...group,
    enc_pass: REDACTED,
    created_at: isoTime(group.created_at),
    updated_at: isoTime(group.updated_at),
    images: imagesByRegion(current, group),
    channels: Object.fromEntries(channelStates(group, await store.listPublications(group.name)).map((state: ChannelState) => [state.channel, state.image])),
    follows: followedSource(group),
  };
}

/** Only the group table's settings, each checked; a param left out is null. */
const settingsFrom = (params: ParamsFor<'group.create'>): GroupSettings => fill(GROUP_SETTINGS_TABLE, params);

/** The console check fails in PE's words; this says what to do on a master without PE. */
async function checkClassification(classifier: Classifier, settings: GroupSettings): Promise<void> {
  try {
    await classifier.check(settings);
  } catch (error) {
    if (!(error instanceof PuppetApiError)) throw error;
    throw new PuppetApiError(
      `puppet.classifier is pe, but group ${settings.name} cannot be pinned into node group ${JSON.stringify(settings.node_group)}: ${error.message}. Without Puppet Enterprise set puppet.classifier: none (class autoami: puppet_classifier => 'none'), and the pp_role trusted fact carries the group`,
      { status: error.status, field: 'enc_server', cause: error },
    );
  }
}

/**
 * The base a group is to follow must resolve now, so a mistyped name is refused at once
 * rather than found unresolved by every run.
 */
async function checkBaseImage(settings: GroupSettings, sources: BaseImageSources): Promise<void> {
  checkBaseImageSettings(settings);
  const resolved = await resolveBaseImage(sources, settings);
  if (resolved?.state !== 'unresolved') return;
  const field = settings.base_image_from !== null ? 'base_image_from' : 'base_image_filter';
  throw new ValidationError(field, `${JSON.stringify(settings[field])} resolves to no image: ${resolved.reason}`);
}

const BASE_SETTINGS = ['base_image_from', 'base_image_filter', 'base_image_owner'] as const;

/**
 * update_group's params that were given: the settings to change. A group follows one base,
 * so naming a parameter drops the pattern it followed, and a pattern the parameter.
 */
function changesFrom(params: ParamsFor<'group.update'>, group: Group): Partial<Omit<GroupSettings, 'name'>> {
  const { name: _name, ...rest } = params;
  const given = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined)) as Partial<Omit<GroupSettings, 'name'>>;
  if (given.base_image_from !== undefined && given.base_image_filter === undefined && group.base_image_filter !== null) {
    return { base_image_filter: null, base_image_owner: null, ...given };
  }
  if (given.base_image_filter !== undefined && given.base_image_from === undefined && group.base_image_from !== null) return { base_image_from: null, ...given };
  return given;
}

export function groupHandlers(store: Store, classifier: Classifier, ec2: Ec2Source, publish: PublishSource) {
  const bases: BaseImageSources = { ssm: (region) => publish.ssm(region), ec2: (region) => ec2.get(region) };
  return {
    async 'group.create'(params: ParamsFor<'group.create'>): Promise<PublicGroup> {
      const settings = settingsFrom(params);
      await checkDelivery(settings, ec2);
      await checkTargets(settings, publish);
      await checkBaseImage(settings, bases);
      await checkClassification(classifier, settings);
      return shown(store, await store.createGroup(settings));
    },
    /** The group as it would be, checked whole as new_group checks it, before anything is stored. */
    async 'group.update'(params: ParamsFor<'group.update'>): Promise<PublicGroup & { changed: string[] }> {
      const group = await store.getGroup(params.name);
      if (!group) throw new NotFoundError('group', params.name, 'name');
      const changes = changesFrom(params, group);
      const settings = settingsFrom({ ...group, ...changes } as ParamsFor<'group.create'>);
      await checkDelivery(settings, ec2);
      await checkTargets(settings, publish);
      if (BASE_SETTINGS.some((key) => changes[key] !== undefined)) await checkBaseImage(settings, bases);
      if (changes.node_group !== undefined || changes.enc_user !== undefined || changes.enc_pass !== undefined || changes.enc_server !== undefined) {
        await checkClassification(classifier, settings);
      }
      const updated = await store.updateGroup(params.name, changes);
      if (!updated) throw new NotFoundError('group', params.name, 'name');
      return { ...(await shown(store, updated)), changed: Object.keys(changes).sort() };
    },
    async 'group.delete'(params: ParamsFor<'group.delete'>): Promise<{ name: string; deleted: true }> {
      const name = params.name;
      if (!(await store.deleteGroup(name))) throw new NotFoundError('group', name, 'name');
      return { name, deleted: true };
    },
    async 'group.list'(): Promise<PublicGroup[]> {
      return Promise.all((await store.listGroups()).map((group) => shown(store, group)));
    },
  };
}
