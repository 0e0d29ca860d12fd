/**
 * `history NAME` (every finished bake of the group with the image it produced) and
 * `rollback NAME [--to AMI]` (point the group back at an image from its lineage).
 */
import { moveProtection } from '../bake/protection.ts';
import type { Ec2Source } from '../ec2/source.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { ParamsFor } from '../interface/methods.ts';
import type { ImageRecord, Store } from '../store/store.ts';
import { isoTime } from './iso-time.ts';

/** Region → id of `image` everywhere it was delivered; a base image is only where the group lives. */
export function imagesByRegion(image: ImageRecord | undefined, fallback: { region: string; image: string }): Record<string, string> {
  return image ? { [image.region]: image.image_id, ...image.copies } : { [fallback.region]: fallback.image };
}

export interface HistoryRow {
  time: string;
  outcome: string;
  image: string | null;
  parent: string;
  config_version: string | null;
  changes: number;
  changed_resources: readonly string[];
  current: boolean;
  reason: string | null;
  bake: string;
  /** Region → the image there (home and copies); empty when the bake made none. */
  images: Record<string, string>;
  /** What retention said when it kept the image although it was due. */
  retention: string | null;
  deregistered: boolean;
}

export function historyHandlers(store: Store, ec2: Ec2Source) {
  async function group(name: string) {
    const found = await store.getGroup(name);
    if (!found) throw new NotFoundError('group', name, 'name');
    return found;
  }

  return {
    async 'group.history'(params: ParamsFor<'group.history'>): Promise<HistoryRow[]> {
      const current = await group(params.name);
      const bakes = (await store.listBakes({ group_name: current.name })).filter((bake) => bake.state === 'done');
      const images = new Map((await store.listImages(current.name)).map((image) => [image.image_id, image]));
      return bakes
        .map((bake) => {
          const image = bake.outcome === 'baked' && bake.image_id ? images.get(bake.image_id) : undefined;
          return {
            time: isoTime(bake.finished_at ?? bake.updated_at),
            outcome: bake.outcome ?? 'unknown',
            image: image?.image_id ?? null,
            parent: bake.parent_image,
            config_version: bake.report?.configuration_version ?? null,
            changes: bake.report?.changed ?? 0,
            changed_resources: bake.report?.changed_resources ?? [],
            current: image !== undefined && image.image_id === current.image,
            reason: bake.reason,
            bake: bake.id,
            images: image ? imagesByRegion(image, current) : {},
            retention: image?.retention_note ?? null,
            deregistered: image ? image.deregistered_at !== null : false,
          };
        })
        .reverse();
    },

    async 'group.rollback'(params: ParamsFor<'group.rollback'>) {
      const current = await group(params.name);
      const lineage = await store.listImages(current.name);
      let target = params.to;
      if (target === undefined) {
        const now = lineage.find((image) => image.image_id === current.image);
        if (!now) throw new ValidationError('name', `${current.name} is on its base image ${current.image}; there is nothing earlier to roll back to`);
        target = now.parent_image;
      } else if (target !== current.base_image && !lineage.some((image) => image.image_id === target && image.deregistered_at === null)) {
        throw new ValidationError('to', `${target} is not an image of group ${current.name} (see puppet autoami history ${current.name})`);
      }
      if (target === current.image) throw new ValidationError('to', `${current.name} is already on ${target}`);
      const to = lineage.find((image) => image.image_id === target);
      const from = lineage.find((image) => image.image_id === current.image);
      // Protection moves with the group, in every region: the image returned to is protected before the group moves.
      await moveProtection(ec2, to, undefined);
      await store.setGroupImage(current.name, target);
      await moveProtection(ec2, undefined, from);
      return {
        name: current.name,
        image: target,
        previous: current.image,
        images: imagesByRegion(to, { region: current.region, image: target }),
        previous_images: imagesByRegion(from, current),
      };
    },
  };
}
