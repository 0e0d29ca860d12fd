/**
 * The `promoted` step on its own, in a fake environment, for a group that delivers to two
 * more regions: deregistration protection moves to the new image in every region and off the
 * image the bake started from, when that one is of the group's lineage. `distributing`, which
 * brings the bake here, is spec/bake-steps-distribute.test.ts.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { regionalIds } from '../runtime/bake/delivery.ts';
import { step } from '../runtime/bake/steps.ts';
import type { Bake, Group, ImageRecord } from '../runtime/store/store.ts';
import { movedTo, type StepContext } from './support/bake-step-checks.ts';
import { BASE_IMAGE, FakeBakeEnv, REGION } from './support/fake-bake-env.ts';

const HOME = REGION;
const COPY_TO = ['eu-west-1', 'ap-southeast-2'];
const REGIONS = [HOME, ...COPY_TO];
const PROTECTED = 'enabled-without-cooldown';

const Steps = suite<StepContext>('bake steps: promoted');

Steps.before.each(async (context) => {
  context.fx = await FakeBakeEnv.open();
});

Steps.after.each(({ fx }) => fx.close());

/** A bake of `group` brought to promoted by the steps before it, its image in every region. */
async function promoted(fx: FakeBakeEnv, group: Group): Promise<Bake> {
  const pending = await fx.placeIn('image_pending', group);
  assert.is(await step(fx.env, pending), 'moved');
  assert.is(await step(fx.env, await movedTo(fx, pending, 'distributing')), 'moved');
  return movedTo(fx, pending, 'promoted');
}

/** An earlier bake's image in every region, the group on it, protected as that bake left it. */
async function earlierImage(fx: FakeBakeEnv): Promise<ImageRecord> {
  await fx.group({ copy_to: COPY_TO });
  const [home, ...copies] = REGIONS.map((region) => fx.ec2s.get(region).seedImage({ name: 'autoami-web-20310101T000000.000Z' }).id);
  const record: ImageRecord = {
    image_id: home!, group_name: 'web', region: HOME, name: 'autoami-web-20310101T000000.000Z', parent_image: BASE_IMAGE, bake_id: 'bake-0',
    config_version: null, changed_resources: [], created_at: fx.at(0), deregistered_at: null,
    copies: Object.fromEntries(COPY_TO.map((region, n) => [region, copies[n]!])), retention_note: null, catalog_hash: null,
  };
  await fx.store.promote(record);
  for (const [region, id] of regionalIds(record)) await fx.ec2s.get(region).setDeregistrationProtection(id, true);
  return record;
}

/** `region`'s protection calls since `mark`, as `id on|off`. */
const protectionCalls = (fx: FakeBakeEnv, region: string, mark = 0) =>
  fx.ec2s.get(region).calls.slice(mark).filter((call) => call.method === 'setDeregistrationProtection').map((call) => `${call.args[0]} ${call.args[1] ? 'on' : 'off'}`);

Steps('should protect the new image in every region before releasing the one it replaces there, then clean up as baked', async ({ fx }) => {
  const parent = await earlierImage(fx);
  const bake = await promoted(fx, (await fx.store.getGroup('web'))!);
  assert.is(bake.parent_image, parent.image_id);
  const marks = REGIONS.map((region) => fx.ec2s.get(region).calls.length);
  assert.is(await step(fx.env, bake), 'moved');
  const parentIn = Object.fromEntries(regionalIds(parent));
  for (const [n, region] of REGIONS.entries()) {
    const made = bake.distribution[region]!.image_id!;
    // Released first, a sidecar stopped in between would leave neither protected.
    assert.equal(protectionCalls(fx, region, marks[n]), [`${made} on`, `${parentIn[region]} off`], region);
    assert.is(fx.ec2s.get(region).image(made)?.deregistrationProtection, PROTECTED, `the new image in ${region}`);
    assert.is(fx.ec2s.get(region).image(parentIn[region]!)?.deregistrationProtection, 'disabled', `the old image in ${region}`);
  }
  // Protection moves before anything is published from the new image.
  assert.is((await movedTo(fx, bake, 'publishing')).reason, '1 resources changed');
});

Steps('should protect the new image but never touch the base image the bake started from', async ({ fx }) => {
  const bake = await promoted(fx, await fx.group({ copy_to: COPY_TO }));
  assert.is(bake.parent_image, BASE_IMAGE);
  const marks = REGIONS.map((region) => fx.ec2s.get(region).calls.length);
  assert.is(await step(fx.env, bake), 'moved');
  for (const [n, region] of REGIONS.entries()) {
    const made = bake.distribution[region]!.image_id!;
    assert.equal(protectionCalls(fx, region, marks[n]), [`${made} on`], region);
    assert.is(fx.ec2s.get(region).image(made)?.deregistrationProtection, PROTECTED);
  }
  assert.is((await movedTo(fx, bake, 'publishing')).state, 'publishing');
});

Steps("should leave the group's base image as it is even when it is one of the group's own images", async ({ fx }) => {
  const older = await earlierImage(fx);
  // The group defined anew on its own older image: that image is its base now.
  await fx.store.deleteGroup('web');
  const group = await fx.group({ copy_to: COPY_TO, image: older.image_id });
  assert.is(group.base_image, older.image_id);
  const bake = await promoted(fx, group);
  const marks = REGIONS.map((region) => fx.ec2s.get(region).calls.length);
  assert.is(await step(fx.env, bake), 'moved');
  for (const [n, region] of REGIONS.entries()) {
    assert.equal(protectionCalls(fx, region, marks[n]), [`${bake.distribution[region]!.image_id} on`], region);
  }
});

Steps.run();
