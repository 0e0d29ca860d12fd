/**
 * `--keep N`: after a promotion, AutoAMI images of the group beyond the newest N are
 * deregistered with their snapshots. The group's base image and its current image are
 * never touched, whatever N says.
 */
import { asAutoamiError } from '../errors.ts';
import type { Group } from '../store/store.ts';
import type { BakeEnv } from './env.ts';

export async function applyRetention(env: BakeEnv, group: Group): Promise<string[]> {
  const current = await env.store.getGroup(group.name);
  const protectedIds = new Set([group.base_image, current?.image ?? group.image]);
  const live = (await env.store.listImages(group.name)).filter((image) => image.deregistered_at === null);
  const removed: string[] = [];
  for (const image of live.slice(group.keep)) {
    if (protectedIds.has(image.image_id)) continue;
    try {
      await env.ec2.get(image.region).deregisterImage(image.image_id);
      await env.store.markImageDeregistered(image.image_id, env.clock.now());
      removed.push(image.image_id);
      env.log.info('image retired', { group: group.name, image: image.image_id, keep: group.keep });
    } catch (error) {
      // Retention is housekeeping: a failure is logged and retried after the next bake.
      env.log.warn('image retirement failed', { group: group.name, image: image.image_id, error: asAutoamiError(error).message });
    }
  }
  return removed;
}
