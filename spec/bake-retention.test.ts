/**
 * Retention after a promotion: which of a group's AMIs are retired (`--keep N`, `--keep-days D`,
 * and what EC2 says uses them), in every region they were delivered to, and which never are.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { applyRetention } from '../runtime/bake/retention.ts';
import type { Group, ImageRecord } from '../runtime/store/store.ts';
import { BASE_IMAGE, FakeBakeEnv, REGION } from './support/fake-bake-env.ts';
import { clockTime } from './support/fake-clock.ts';
import { ec2Failure } from './support/fake-ec2-faults.ts';

interface Context {
  fx: FakeBakeEnv;
}

const Retention = suite<Context>('retention');

Retention.before.each(async (context) => {
  context.fx = await FakeBakeEnv.open();
});

Retention.after.each(({ fx }) => fx.close());

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEST = 'eu-west-1';
const SOUTH = 'ap-southeast-2';

interface Made {
  /** Home region. */
  readonly region?: string;
  /** Regions each image was copied to as well. */
  readonly copyTo?: readonly string[];
  /** Time between one image and the next. */
  readonly every?: number;
}

/**
 * Bakes `count` images of the group `every` apart (an hour by default), oldest first, each
 * promoted in turn with its copies; returns their home ids.
 */
async function lineage(fx: FakeBakeEnv, group: Group, count: number, made: Made = {}): Promise<string[]> {
  const { region = REGION, copyTo = [], every = HOUR } = made;
  const ids: string[] = [];
  for (let index = 0; index < count; index++) {
    fx.time.advance(every);
    const name = `autoami-${group.name}-${index}`;
    const image = fx.ec2s.get(region).seedImage({ name });
    const copies = Object.fromEntries(copyTo.map((to) => [to, fx.ec2s.get(to).seedImage({ name }).id]));
    await fx.store.promote({
      image_id: image.id, group_name: group.name, region, name, parent_image: ids.at(-1) ?? BASE_IMAGE, bake_id: `bake-${index}`,
      config_version: null, changed_resources: [], created_at: fx.at(0), deregistered_at: null, copies, retention_note: null, catalog_hash: null,
    });
    ids.push(image.id);
  }
  return ids;
}

/** The image `homeId` of the lineage in `region`: itself at home, else its copy there. */
async function inRegion(fx: FakeBakeEnv, homeId: string, region: string): Promise<string> {
  const row = (await fx.store.listImages('web')).find((image) => image.image_id === homeId);
  const id = row?.region === region ? row.image_id : row?.copies[region];
  if (!id) throw new Error(`no image of ${homeId} in ${region}`);
  return id;
}

const live = (rows: ImageRecord[]) => rows.filter((row) => row.deregistered_at === null).map((row) => row.image_id);

Retention('should deregister every image beyond the newest N, with its snapshots, and record when', async ({ fx }) => {
  const group = await fx.group({ keep: 2 });
  const [oldest, older, newer, newest] = await lineage(fx, group, 4);
  fx.time.advance(5_000);
  const removed = await applyRetention(fx.env, group);
  assert.equal(removed, [older, oldest], 'newest first, as the lineage lists them');
  assert.equal(fx.ec2.deregistrations, [older, oldest]);
  assert.equal(fx.ec2.deletedSnapshots, [older, oldest].map((id) => fx.ec2.image(id!)?.snapshotIds[0]));
  const rows = await fx.store.listImages('web');
  assert.equal(live(rows), [newest, newer]);
  assert.ok(rows.filter((row) => row.deregistered_at !== null).every((row) => clockTime(row.deregistered_at!) === fx.time.now()));
  assert.equal(fx.log.with('image retired').map((line) => line.fields.image), [older, oldest]);
});

Retention('should do nothing while the group has no more than N images', async ({ fx }) => {
  const group = await fx.group({ keep: 3 });
  await lineage(fx, group, 3);
  assert.equal(await applyRetention(fx.env, group), []);
  assert.is(fx.ec2.count('deregisterImage'), 0);
});

Retention('should never deregister the image the group is on, even rolled back beyond N', async ({ fx }) => {
  const group = await fx.group({ keep: 1 });
  const [first, second, third] = await lineage(fx, group, 3);
  await fx.store.setGroupImage('web', first!);
  // The group as the bake read it, before the rollback: the store's current image counts, not this one.
  const removed = await applyRetention(fx.env, group);
  assert.equal(removed, [second]);
  assert.equal(live(await fx.store.listImages('web')), [third, first]);
});

Retention('should never deregister the group base image, even when it is one of its own older AMIs', async ({ fx }) => {
  const first = await fx.group({ keep: 1 });
  const [old, , newest] = await lineage(fx, first, 3);
  // Deleted and defined again on one of its own AMIs: the lineage stays, and that AMI is now the base.
  await fx.store.deleteGroup('web');
  await fx.group({ keep: 1, image: old! });
  await fx.store.promote({
    image_id: newest!, group_name: 'web', region: REGION, name: 'again', parent_image: old!, bake_id: null, config_version: null,
    changed_resources: [], created_at: fx.at(0), deregistered_at: null, copies: {}, retention_note: null, catalog_hash: null,
  });
  const group = (await fx.store.getGroup('web'))!;
  const removed = await applyRetention(fx.env, group);
  assert.not.ok(removed.includes(old!), 'the base image stays');
  assert.ok(fx.ec2.deregistrations.every((id) => id !== old && id !== newest));
  assert.is(fx.ec2.image(old!)?.state, 'available');
});

Retention('should keep only the protected images with keep 0', async ({ fx }) => {
  const group = await fx.group({ keep: 0 });
  const ids = await lineage(fx, group, 3);
  const removed = await applyRetention(fx.env, group);
  assert.equal(removed, [ids[1], ids[0]]);
  assert.equal(live(await fx.store.listImages('web')), [ids[2]], 'the current image');
});

Retention('should not count images already deregistered towards N', async ({ fx }) => {
  const group = await fx.group({ keep: 2 });
  const [a, b, c] = await lineage(fx, group, 3);
  await fx.store.markImageDeregistered(c!, fx.at(0));
  await fx.store.setGroupImage('web', b!);
  assert.equal(await applyRetention(fx.env, group), [], 'two live images: a and b');
  assert.equal(live(await fx.store.listImages('web')), [b, a]);
});

Retention('should log a failed deregistration and go on with the others, never throwing', async ({ fx }) => {
  const group = await fx.group({ keep: 1 });
  const [oldest, middle, newest] = await lineage(fx, group, 3);
  fx.ec2.failNext('deregisterImage', ec2Failure('UnauthorizedOperation', 'DeregisterImage'));
  const removed = await applyRetention(fx.env, group);
  assert.equal(removed, [oldest]);
  const [failure, ...more] = fx.log.with('image retirement failed');
  assert.equal(more, []);
  assert.is(failure?.level, 'warn');
  assert.is(failure?.fields.image, middle);
  assert.match(String(failure?.fields.error), 'UnauthorizedOperation');
  assert.equal(live(await fx.store.listImages('web')), [newest, middle], 'the failed one stays live in the lineage');
  assert.equal(await applyRetention(fx.env, group), [middle], 'and is retired by the next pass');
});

Retention('should deregister each image in its own region', async ({ fx }) => {
  const group = await fx.group({ keep: 1 });
  const [west] = await lineage(fx, group, 1, { region: 'eu-west-1' });
  await lineage(fx, group, 1);
  assert.equal(await applyRetention(fx.env, group), [west]);
  assert.equal(fx.ec2s.get('eu-west-1').deregistrations, [west]);
  assert.equal(fx.ec2.deregistrations, []);
});

Retention('should keep an image beyond --keep while younger than --keep-days, and retire it once older', async ({ fx }) => {
  const group = await fx.group({ keep: 1, keep_days: 2 });
  const [oldest, older, young, newest] = await lineage(fx, group, 4, { every: DAY });
  // Ages 3.5, 2.5, 1.5 and 0.5 days: the two beyond --keep but not yet 2 days old stay.
  fx.time.advance(12 * HOUR);
  assert.equal(await applyRetention(fx.env, group), [older, oldest]);
  assert.equal(live(await fx.store.listImages('web')), [newest, young]);
  fx.time.advance(DAY);
  assert.equal(await applyRetention(fx.env, group), [young], 'retired once 2.5 days old');
  assert.equal(fx.ec2.deregistrations, [older, oldest, young]);
});

Retention('should keep an image used in a copy region, with a note naming the user, and deregister it in no region', async ({ fx }) => {
  const group = await fx.group({ keep: 1, copy_to: [WEST, SOUTH] });
  const [used, unused] = await lineage(fx, group, 3, { copyTo: [WEST, SOUTH] });
  const template = 'arn:aws:ec2:eu-west-1:123456789012:launch-template/lt-0123456789abcdef0';
  const usedInWest = await inRegion(fx, used!, WEST);
  fx.ec2s.get(WEST).addReference(usedInWest, 'ec2:LaunchTemplate', template);
  assert.equal(await applyRetention(fx.env, group), [unused]);
  const row = (await fx.store.listImages('web')).find((image) => image.image_id === used);
  assert.is(row?.deregistered_at, null);
  assert.is(row?.retention_note, `kept by retention: in use by ${template} (${usedInWest})`);
  for (const region of [REGION, WEST, SOUTH]) {
    const ec2 = fx.ec2s.get(region);
    const id = await inRegion(fx, used!, region);
    assert.equal(ec2.calls.filter((call) => call.args[0] === id).map((call) => call.method), [], `nothing done to it in ${region}`);
    assert.is(ec2.image(id)?.state, 'available');
  }
});

Retention('should retire an image nothing uses in every region, releasing its protection there before deregistering it', async ({ fx }) => {
  const group = await fx.group({ keep: 1, copy_to: [WEST, SOUTH] });
  const [old] = await lineage(fx, group, 2, { copyTo: [WEST, SOUTH] });
  const regions = [REGION, WEST, SOUTH];
  const ids = await Promise.all(regions.map((region) => inRegion(fx, old!, region)));
  // Still protected, as a sidecar stopped between protecting the new image and releasing this one leaves it.
  for (const [n, region] of regions.entries()) await fx.ec2s.get(region).setDeregistrationProtection(ids[n]!, true);
  const marks = regions.map((region) => fx.ec2s.get(region).calls.length);
  assert.equal(await applyRetention(fx.env, group), [old]);
  for (const [n, region] of regions.entries()) {
    const ec2 = fx.ec2s.get(region);
    const retiring = ec2.calls.slice(marks[n]).filter((call) => call.method !== 'imageReferences').map((call) => `${call.method} ${call.args.join(' ')}`);
    assert.equal(retiring, [`setDeregistrationProtection ${ids[n]} false`, `deregisterImage ${ids[n]}`], region);
    assert.is(ec2.image(ids[n]!)?.state, 'deregistered', region);
    assert.equal(ec2.deletedSnapshots, ec2.image(ids[n]!)?.snapshotIds, `its snapshot in ${region}`);
  }
  assert.equal(live(await fx.store.listImages('web')).includes(old!), false);
});

Retention('should retire nothing this time when EC2 cannot say what uses the images in one region', async ({ fx }) => {
  const group = await fx.group({ keep: 1, copy_to: [WEST] });
  const ids = await lineage(fx, group, 3, { copyTo: [WEST] });
  fx.ec2s.get(WEST).failNext('imageReferences', ec2Failure('UnauthorizedOperation', 'DescribeImageReferences', WEST));
  assert.equal(await applyRetention(fx.env, group), []);
  for (const region of [REGION, WEST]) {
    const ec2 = fx.ec2s.get(region);
    assert.equal([ec2.count('setDeregistrationProtection'), ec2.count('deregisterImage')], [0, 0], region);
  }
  assert.equal(live(await fx.store.listImages('web')), [...ids].reverse());
  const [skipped, ...more] = fx.log.with('retention skipped: could not ask EC2 what uses the images');
  assert.equal(more, []);
  assert.match(String(skipped?.fields.error), 'UnauthorizedOperation');
});

Retention('should count an image already gone in one region as retired, and still deregister it in the others', async ({ fx }) => {
  const group = await fx.group({ keep: 1, copy_to: [WEST] });
  const [old] = await lineage(fx, group, 2, { copyTo: [WEST] });
  fx.ec2.failNext('deregisterImage', ec2Failure('InvalidAMIID.NotFound', 'DeregisterImage'));
  assert.equal(await applyRetention(fx.env, group), [old]);
  assert.equal(fx.ec2s.get(WEST).deregistrations, [await inRegion(fx, old!, WEST)]);
  const row = (await fx.store.listImages('web')).find((image) => image.image_id === old);
  assert.is(row?.deregistered_at, fx.at(0));
  assert.equal(fx.log.with('image retirement failed'), []);
});

Retention.run();
