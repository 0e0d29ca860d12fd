/**
 * Retention after a promotion: an AutoAMI image of the group is retired, in every region it
 * was delivered to, only when all of these hold:
 * * it is beyond the newest `--keep` images;
 * * with `--keep-days`, it is older than that many days;
 * * it is neither the group's base image nor its current one, nor the image any of its
 *   channels is on (a channel promoted long ago may still be on an old image);
 * * nothing uses it: EC2 knows no launch template version and no live instance that names
 *   it in any region. One that is used is kept, and its lineage row says by what.
 * Retiring releases its deregistration protection, then deregisters it and deletes its
 * snapshots. A failure is housekeeping: logged, and tried again after the next bake.
 */
import { Ec2Error, asAutoamiError } from '../errors.ts';
import type { ImageReference } from '../ec2/types.ts';
import type { Group, ImageRecord } from '../store/store.ts';
import { imagesInChannels } from '../publish/channels.ts';
import { regionalIds } from './delivery.ts';
import type { BakeEnv } from './env.ts';

const DAY = 86_400_000;

/** Already gone (an earlier attempt got this far) counts as done. */
export const IMAGE_GONE: ReadonlySet<string> = new Set(['InvalidAMIID.NotFound', 'InvalidAMIID.Unavailable']);

function due(env: BakeEnv, group: Group, current: string, lineage: readonly ImageRecord[], inChannels: ReadonlySet<string>): ImageRecord[] {
  const keepIds = new Set([group.base_image, current, ...inChannels]);
  const youngest = group.keep_days === null ? Number.POSITIVE_INFINITY : env.clock.now() - group.keep_days * DAY;
  return lineage
    .filter((image) => image.deregistered_at === null)
    .slice(group.keep)
    .filter((image) => !keepIds.has(image.image_id) && image.created_at < youngest);
}

/** What uses each of `images`, asked once per region for all of them. */
async function referencesOf(env: BakeEnv, images: readonly ImageRecord[]): Promise<Map<string, ImageReference[]>> {
  const byRegion = new Map<string, string[]>();
  for (const image of images) for (const [region, id] of regionalIds(image)) byRegion.set(region, [...(byRegion.get(region) ?? []), id]);
  const found = new Map<string, ImageReference[]>();
  await Promise.all(
    [...byRegion].map(async ([region, ids]) => {
      for (const reference of await env.ec2.get(region).imageReferences(ids)) found.set(reference.imageId, [...(found.get(reference.imageId) ?? []), reference]);
    }),
  );
  return found;
}

async function retire(env: BakeEnv, image: ImageRecord): Promise<void> {
  for (const [region, id] of regionalIds(image)) {
    const ec2 = env.ec2.get(region);
    try {
      await ec2.setDeregistrationProtection(id, false);
      await ec2.deregisterImage(id);
    } catch (error) {
      if (!(error instanceof Ec2Error && IMAGE_GONE.has(error.awsCode))) throw error;
    }
  }
  await env.store.markImageDeregistered(image.image_id, env.clock.now());
}

export async function applyRetention(env: BakeEnv, group: Group): Promise<string[]> {
  const now = (await env.store.getGroup(group.name)) ?? group;
  const inChannels = imagesInChannels(now, await env.store.listPublications(group.name));
  const candidates = due(env, group, now.image, await env.store.listImages(group.name), inChannels);
  if (candidates.length === 0) return [];
  let references: Map<string, ImageReference[]>;
  try {
    references = await referencesOf(env, candidates);
  } catch (error) {
    // Not knowing what uses an image is no reason to guess: nothing is retired this time.
    env.log.warn('retention skipped: could not ask EC2 what uses the images', { group: group.name, error: asAutoamiError(error).message });
    return [];
  }
  const removed: string[] = [];
  for (const image of candidates) {
    const users = regionalIds(image).flatMap(([, id]) => references.get(id) ?? []);
    try {
      if (users.length > 0) {
        const note = `kept by retention: in use by ${users.map((user) => `${user.arn} (${user.imageId})`).join(', ')}`;
        await env.store.setRetentionNote(image.image_id, note);
        env.log.info('image kept: in use', { group: group.name, image: image.image_id, users: users.map((user) => user.arn) });
        continue;
      }
      await retire(env, image);
      removed.push(image.image_id);
      env.log.info('image retired', { group: group.name, image: image.image_id, regions: regionalIds(image).map(([region]) => region), keep: group.keep });
    } catch (error) {
      env.log.warn('image retirement failed', { group: group.name, image: image.image_id, error: asAutoamiError(error).message });
    }
  }
  return removed;
}
