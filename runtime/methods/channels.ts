/**
 * `promote GROUP --channel C [--image AMI]` and `rollback GROUP [--to AMI] [--channel C]`:
 * publish an image of the group to one channel's targets. Both run in the call; each step
 * is idempotent, so a call cut off is simply given again. Rolling back channel latest also
 * moves the image the group's next bake starts from, and deregistration protection with it.
 */
import { randomUUID } from 'node:crypto';
import { moveProtection } from '../bake/protection.ts';
import type { Deadlines } from '../bake/deadlines.ts';
import type { CallContext } from '../dispatcher.ts';
import type { Ec2Source } from '../ec2/source.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { ParamsFor } from '../interface/methods.ts';
import { DEFAULT_CHANNEL } from '../interface/targets.ts';
import type { Logger } from '../log.ts';
import type { Clock } from '../clock.ts';
import type { Sleep } from '../sleep.ts';
import { channelStates } from '../publish/channels.ts';
import { runPublication } from '../publish/publication.ts';
import type { PublishSource } from '../publish/source.ts';
import { channelsOf, targetsOf } from '../publish/targets.ts';
import type { Group, ImageRecord, PublicationTrigger, Store } from '../store/store.ts';
import { imagesByRegion } from './history.ts';

export interface ChannelDeps {
  readonly store: Store;
  readonly ec2: Ec2Source;
  readonly publish: PublishSource;
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly log: Logger;
  readonly tickMs: number;
  readonly deadlines: Deadlines;
}

export interface PublishedAnswer {
  name: string;
  channel: string;
  image: string;
  previous: string | null;
  images: Record<string, string>;
  outcome: string;
  /** One line for the console: published, or what failed. */
  published: string;
}

function checkChannel(group: Group, channel: string): void {
  const channels = channelsOf(group);
  if (channels.includes(channel)) return;
  throw new ValidationError('channel', `${JSON.stringify(channel)} is not a channel of group ${group.name} (its channels: ${channels.join(', ')}); add targets to it with update_group, e.g. --ssm-parameter ${channel}:NAME`);
}

export function channelHandlers(deps: ChannelDeps) {
  const { store } = deps;

  async function groupNamed(name: string): Promise<Group> {
    const found = await store.getGroup(name);
    if (!found) throw new NotFoundError('group', name, 'name');
    return found;
  }

  /** An image of the group that still exists: one from its lineage, or its base image. */
  function ofGroup(group: Group, lineage: readonly ImageRecord[], image: string, field: string): ImageRecord | undefined {
    const row = lineage.find((each) => each.image_id === image && each.deregistered_at === null);
    if (!row && image !== group.base_image) throw new ValidationError(field, `${image} is not an image of group ${group.name} (see puppet autoami history ${group.name})`);
    return row;
  }

  async function publish(group: Group, channel: string, image: string, images: Record<string, string>, trigger: PublicationTrigger, context: CallContext, refresh: boolean) {
    const publication = await store.startPublication({
      id: randomUUID(),
      group_name: group.name,
      channel,
      image_id: image,
      images,
      trigger,
      requested_by: context.session.user ?? null,
    });
    const deadline = deps.clock.now() + deps.deadlines.forState('publishing');
    const env = { ...deps, signal: context.signal };
    const result = await runPublication(env, { publication, group, mode: trigger === 'rollback' ? 'rollback' : 'forward', refresh, deadline });
    const count = targetsOf(group, channel).length;
    const published =
      result.state !== 'published' ? `${result.state}: ${result.reason}`
      : count === 0 ? `channel ${channel} has no targets to publish to`
      : `published to ${count} target${count === 1 ? '' : 's'}`;
    return { outcome: result.state, published };
  }

  return {
    async 'group.promote'(params: ParamsFor<'group.promote'>, context: CallContext): Promise<PublishedAnswer> {
      const group = await groupNamed(params.name);
      checkChannel(group, params.channel);
      const lineage = await store.listImages(group.name);
      const states = channelStates(group, await store.listPublications(group.name));
      const image = params.image ?? states.find((state) => state.channel === DEFAULT_CHANNEL)!.image!;
      const row = ofGroup(group, lineage, image, 'image');
      const images = imagesByRegion(row, { region: group.region, image });
      const previous = states.find((state) => state.channel === params.channel)?.image ?? null;
      const { outcome, published } = await publish(group, params.channel, image, images, 'promote', context, true);
      return { name: group.name, channel: params.channel, image, previous, images, outcome, published };
    },

    async 'group.rollback'(params: ParamsFor<'group.rollback'>, context: CallContext): Promise<PublishedAnswer & { previous_images: Record<string, string> }> {
      const group = await groupNamed(params.name);
      checkChannel(group, params.channel);
      const lineage = await store.listImages(group.name);
      const latest = params.channel === DEFAULT_CHANNEL;
      const state = channelStates(group, await store.listPublications(group.name)).find((each) => each.channel === params.channel)!;
      const current = latest ? group.image : state.image;
      if (current === null) throw new ValidationError('channel', `nothing was ever published to channel ${params.channel} of ${group.name}; there is nothing to roll back`);
      let target = params.to;
      if (target === undefined) {
        const now = lineage.find((image) => image.image_id === current);
        if (!now) throw new ValidationError('name', `${group.name} is on its base image ${current}${latest ? '' : ` in channel ${params.channel}`}; there is nothing earlier to roll back to`);
        target = now.parent_image;
      }
      const to = ofGroup(group, lineage, target, 'to');
      if (target === current) throw new ValidationError('to', `${group.name} is already on ${target}${latest ? '' : ` in channel ${params.channel}`}`);
      const from = lineage.find((image) => image.image_id === current);
      if (latest) {
        // Protection moves with the group, in every region: the image returned to is protected before the group moves.
        await moveProtection(deps.ec2, to, undefined);
        // The catalog recorded with the image returned to (none for the base image) is the reference again.
        await store.setGroupImage(group.name, target, to?.catalog_hash ?? null);
        await moveProtection(deps.ec2, undefined, from);
      }
      const images = imagesByRegion(to, { region: group.region, image: target });
      const { outcome, published } = await publish(group, params.channel, target, images, 'rollback', context, params.refresh);
      return {
        name: group.name,
        channel: params.channel,
        image: target,
        previous: current,
        images,
        previous_images: imagesByRegion(from, { region: group.region, image: current }),
        outcome,
        published,
      };
    },
  };
}
