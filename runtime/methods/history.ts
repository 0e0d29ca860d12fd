/**
 * `history NAME` (every finished bake of the group with the image it produced) and
 * `rollback NAME [--to AMI]` (point the group back at an image from its lineage).
 */
import { NotFoundError, ValidationError } from '../errors.ts';
import type { ParamsFor } from '../interface/methods.ts';
import type { Store } from '../store/store.ts';
import { isoTime } from './iso-time.ts';

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
}

export function historyHandlers(store: Store) {
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
      await store.setGroupImage(current.name, target);
      return { name: current.name, image: target, previous: current.image };
    },
  };
}
