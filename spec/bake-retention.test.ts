/** `--keep N`: which of a group's AMIs are deregistered after a promotion, and which never are. */
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

/** Bakes `count` images of the group an hour apart, oldest first, each promoted in turn; returns their ids. */
async function lineage(fx: FakeBakeEnv, group: Group, count: number, region = REGION): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 0; index < count; index++) {
    fx.time.advance(HOUR);
    const image = fx.ec2s.get(region).seedImage({ name: `autoami-${group.name}-${index}` });
    await fx.store.promote({
      image_id: image.id, group_name: group.name, region, name: image.name, parent_image: ids.at(-1) ?? BASE_IMAGE, bake_id: `bake-${index}`,
      config_version: null, changed_resources: [], created_at: fx.at(0), deregistered_at: null,
    });
    ids.push(image.id);
  }
  return ids;
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
    changed_resources: [], created_at: fx.at(0), deregistered_at: null,
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
  const [west] = await lineage(fx, group, 1, 'eu-west-1');
  await lineage(fx, group, 1);
  assert.equal(await applyRetention(fx.env, group), [west]);
  assert.equal(fx.ec2s.get('eu-west-1').deregistrations, [west]);
  assert.equal(fx.ec2.deregistrations, []);
});

Retention.run();
