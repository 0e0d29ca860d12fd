/**
 * `distributing`: the new image, available in its home region, is copied to every
 * `--copy-to` region in parallel, then in each region shared (`--share-with`) and scheduled
 * for deprecation (`--deprecate-after`). Each region's step is written to the bake before
 * its call, and every call is idempotent (CopyImage by a token fixed per bake and region;
 * a permission, a deprecation time granted twice is the same), so a sidecar killed anywhere
 * here resumes with no second copy and no missing share. Only when every region is done is
 * the group moved, with every regional id in its lineage row.
 */
import { parseDuration } from '../duration.ts';
import { Ec2Error } from '../errors.ts';
import { isPassingEc2Failure } from '../ec2/failures.ts';
import type { Bake, Distribution, DistributionStep, Group, RegionalImage } from '../store/store.ts';
import { TAG } from '../tags.ts';
import { copyToken, deliveryRegions, kmsKeyFor } from './delivery.ts';
import type { StepEnv } from './env.ts';
import { finish, move, type StepResult } from './moves.ts';

/** A region's failure that waiting will not mend: the bake ends naming it. */
class RegionFailed extends Error {
  constructor(readonly region: string, readonly failure: Ec2Error) {
    super(`${region}: ${failure.awsCode}: ${failure.message}`);
  }
}

class Lost extends Error {}

/** The first distribution: the home image ready to share, every copy still to make. */
function planned(bake: Bake, group: Group): Distribution {
  const plan: Record<string, RegionalImage> = {};
  for (const region of deliveryRegions(group)) {
    plan[region] = bake.distribution[region] ?? (region === bake.region ? { image_id: bake.image_id, step: 'sharing' } : { image_id: null, step: 'copying' });
  }
  return plan;
}

/**
 * Regions advance in parallel but the bake row is one record: each write goes after the
 * last, carrying every region's latest step, so no region's progress overwrites another's.
 */
function recorder(env: StepEnv, bake: Bake, start: Distribution) {
  let current: Distribution = start;
  let chain: Promise<void> = Promise.resolve();
  return {
    get: () => current,
    record(region: string, next: RegionalImage): Promise<void> {
      chain = chain.then(async () => {
        current = { ...current, [region]: next };
        if (!(await env.store.setDistribution(bake.id, env.owner, current))) throw new Lost();
      });
      return chain;
    },
  };
}

async function advance(env: StepEnv, bake: Bake, group: Group, region: string, progress: ReturnType<typeof recorder>): Promise<void> {
  const ec2 = env.ec2.get(region);
  const at = (step: DistributionStep, imageId: string | null) => progress.record(region, { image_id: imageId, step });
  let { image_id: imageId, step } = progress.get()[region]!;
  while (step !== 'done') {
    switch (step) {
      case 'copying': {
        const copied = await ec2.copyImage({
          sourceImageId: bake.image_id!,
          sourceRegion: bake.region,
          name: bake.image_name!,
          description: `AutoAMI ${bake.group_name}, copied from ${bake.image_id} in ${bake.region}`.slice(0, 255),
          clientToken: copyToken(bake.id, region),
          encrypted: group.encrypt,
          kmsKeyId: kmsKeyFor(group, region),
          tags: { [TAG.bake]: bake.id, [TAG.sourceImage]: bake.image_id!, [TAG.sourceRegion]: bake.region },
        }, { signal: env.signal });
        await at((step = 'copied'), (imageId = copied));
        break;
      }
      case 'copied':
        await ec2.waitForImage(imageId!, { deadline: bake.deadline, signal: env.signal });
        await at((step = 'sharing'), imageId);
        break;
      case 'sharing':
        if (group.share_with.length > 0) await ec2.shareImage(imageId!, group.share_with);
        await at((step = 'deprecating'), imageId);
        break;
      case 'deprecating':
        if (group.deprecate_after !== null) {
          // From the image's own creation, so a retried call asks for the same time.
          const image = (await ec2.describeImages([imageId!])).get(imageId!);
          const made = image?.creationDate ? Date.parse(image.creationDate) : env.clock.now();
          await ec2.deprecateImage(imageId!, made + parseDuration(group.deprecate_after, 'deprecate_after'));
        }
        await at((step = 'done'), imageId);
        break;
    }
  }
}

/** A region's call that fails for good becomes RegionFailed; one that may pass goes to the engine to retry. */
async function advanceOrName(env: StepEnv, bake: Bake, group: Group, region: string, progress: ReturnType<typeof recorder>): Promise<void> {
  try {
    await advance(env, bake, group, region, progress);
  } catch (error) {
    if (error instanceof Ec2Error && !isPassingEc2Failure(error) && error.awsCode !== 'WaitTimeout') throw new RegionFailed(region, error);
    throw error;
  }
}

export async function distribute(env: StepEnv, bake: Bake, group: Group): Promise<StepResult> {
  const plan = planned(bake, group);
  const progress = recorder(env, bake, bake.distribution);
  try {
    // The plan is written before any call, so a resumed bake knows every region it owes.
    for (const [region, image] of Object.entries(plan)) if (!bake.distribution[region]) await progress.record(region, image);
    const outcomes = await Promise.allSettled(Object.keys(plan).map((region) => advanceOrName(env, bake, group, region, progress)));
    const failures = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
    if (failures.some((failure) => failure instanceof Lost)) return 'lost';
    const failed = failures.filter((failure): failure is RegionFailed => failure instanceof RegionFailed);
    if (failed.length > 0) {
      const made = Object.entries(progress.get()).filter(([region, image]) => region !== bake.region && image.image_id).map(([region, image]) => `${region} ${image.image_id}`);
      const kept = made.length > 0 ? `; copies made: ${made.join(', ')}` : '';
      return finish(env, bake, 'failed', `distribution failed in ${failed.map((failure) => failure.message).join('; ')}; the image ${bake.image_id} is kept in ${bake.region} and the group stays on ${bake.parent_image}${kept}`);
    }
    if (failures.length > 0) throw failures[0];
  } catch (error) {
    if (error instanceof Lost) return 'lost';
    throw error;
  }
  const copies = Object.fromEntries(Object.entries(progress.get()).filter(([region]) => region !== bake.region).map(([region, image]) => [region, image.image_id!]));
  await env.store.promote({
    image_id: bake.image_id!,
    group_name: bake.group_name,
    region: bake.region,
    name: bake.image_name!,
    parent_image: bake.parent_image,
    bake_id: bake.id,
    config_version: bake.report?.configuration_version ?? null,
    changed_resources: bake.report?.changed_resources ?? [],
    created_at: env.clock.now(),
    deregistered_at: null,
    copies,
    retention_note: null,
    // The catalog the bake was checked against before it launched: the group's reference from now on.
    catalog_hash: bake.check?.hash ?? null,
  });
  // Written again by a resumed step, which is harmless: the group's image is built on this base now.
  if (bake.base_update) await env.store.setFollowedBase(bake.group_name, bake.base_update.to);
  return move(env, bake, { state: 'promoted' });
}
