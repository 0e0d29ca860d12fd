/**
 * Which image each channel of a group is on: the newest publication to it that published
 * everywhere. A publication with errors leaves its channel where it was. Channel latest of
 * a group that has never published is on the group's own image.
 */
import { DEFAULT_CHANNEL } from '../interface/targets.ts';
import type { Group, Publication } from '../store/store.ts';
import { channelsOf } from './targets.ts';

export interface ChannelState {
  readonly channel: string;
  /** Null for a channel nothing was published to yet. */
  readonly image: string | null;
  readonly images: Readonly<Record<string, string>>;
  readonly since: number | null;
  readonly by: string | null;
}

export function channelStates(group: Group, publications: readonly Publication[]): ChannelState[] {
  return channelsOf(group).map((channel) => {
    const last = publications.find((publication) => publication.channel === channel && publication.outcome === 'published');
    if (last) return { channel, image: last.image_id, images: last.images, since: last.finished_at, by: last.requested_by };
    if (channel === DEFAULT_CHANNEL) return { channel, image: group.image, images: { [group.region]: group.image }, since: null, by: null };
    return { channel, image: null, images: {}, since: null, by: null };
  });
}

/** Every image some channel is on, in any region: retention keeps them. */
export function imagesInChannels(group: Group, publications: readonly Publication[]): Set<string> {
  return new Set(channelStates(group, publications).flatMap((state) => Object.values(state.images)));
}
