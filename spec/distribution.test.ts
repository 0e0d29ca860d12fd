/**
 * Delivery end to end in one sidecar on MariaDB and the multi-region EC2 endpoint: copies,
 * encryption, shares, deprecation and protection in every region; retention that keeps what
 * a launch template uses; rollback in every region; a region that fails; bad input.
 */
import './support/aws-env.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CreateLaunchTemplateCommand, EC2Client } from '@aws-sdk/client-ec2';
import { AWS_TEST_ENV } from './support/aws-env.ts';
import { inState, waitForBake } from './support/bake-harness.ts';
import {
  COPY_REGIONS, DAY_MS, HOME, SHARED_ACCOUNT, assertShared, bakeOnce, call, deliveredGroup, imageOfBake, imagesOfBake, keyIn, startBake,
} from './support/delivery-rig.ts';
import { startEc2Endpoint, type Ec2Endpoint } from './support/ec2-endpoint.ts';
import { startMariadb } from './support/mariadb.ts';
import { callOnce } from './support/rpc.ts';
import { startTestSidecar, type TestSidecar } from './support/sidecar.ts';

interface Context {
  endpoint: Ec2Endpoint;
  sidecar: TestSidecar;
}

const REGIONS = [HOME, ...COPY_REGIONS];

const Delivery = suite<Context>('delivery');

Delivery.before(async (context) => {
  context.endpoint = await startEc2Endpoint({ images: ['ami-0abc1234'], bootMs: 50, imageMs: 150, copyMs: 250, terminateMs: 20, terminatedVisibleMs: 3_600_000 });
  const db = await (await startMariadb()).createDatabase();
  context.sidecar = await startTestSidecar(db, {
    aws: { region: HOME, endpoint: context.endpoint.url },
    puppet: { classifier: 'none' },
    bake: { poll_interval: '50ms', lease: '2s', report_timeout: '60m', concurrency: 8 },
  });
});

Delivery.after(async ({ sidecar, endpoint }) => {
  await sidecar.stop();
  await endpoint.stop();
});

Delivery('should leave one tagged, encrypted, shared, deprecation-scheduled, protected image per region', async ({ endpoint, sidecar }) => {
  await call(sidecar.socketPath, 'group.create', deliveredGroup('web'));
  const done = await bakeOnce(sidecar.socketPath, sidecar.store, 'web');
  const lineage = (await sidecar.store.listImages('web'))[0]!;
  assert.equal(Object.keys(lineage.copies).sort(), [...COPY_REGIONS].sort());
  for (const region of REGIONS) {
    const image = imageOfBake(endpoint, region, done.id);
    assert.is(image.imageId, region === HOME ? done.image_id : lineage.copies[region], `${region}: the lineage row names another image`);
    assert.is(image.state, 'available');
    assert.is(image.tags.get('autoami:group'), 'web', `${region}: tags not copied`);
    assert.is(image.tags.get('autoami:config-version'), '1700000000');
    for (const device of image.blockDevices) {
      const snapshot = endpoint.inRegion(region).snapshot(device.snapshotId)!;
      assert.ok(snapshot.encrypted, `${region} ${device.snapshotId} is not encrypted`);
      assert.is(snapshot.kmsKeyId, keyIn(region), `${region}: encrypted with another key`);
    }
    assertShared(endpoint, region, image);
    assert.ok(image.deprecationTime !== undefined, `${region}: no deprecation scheduled`);
    const after = image.deprecationTime - image.createdAt;
    assert.ok(Math.abs(after - 90 * DAY_MS) <= 60_000, `${region}: deprecates ${after} ms after it was made`);
    assert.ok(image.deregistrationProtection.enabled, `${region}: the current image is not protected`);
  }
  const groups = (await call(sidecar.socketPath, 'group.list')) as { name: string; images: Record<string, string> }[];
  assert.equal(groups.find((group) => group.name === 'web')?.images, { [HOME]: done.image_id, ...lineage.copies });
  const history = (await call(sidecar.socketPath, 'group.history', { name: 'web' })) as { images: Record<string, string> }[];
  assert.equal(history[0]?.images, { [HOME]: done.image_id, ...lineage.copies });
});

Delivery('should move protection to the new image in every region and release the old one', async ({ endpoint, sidecar }) => {
  await call(sidecar.socketPath, 'group.create', deliveredGroup('api'));
  const first = await bakeOnce(sidecar.socketPath, sidecar.store, 'api');
  const second = await bakeOnce(sidecar.socketPath, sidecar.store, 'api');
  for (const region of REGIONS) {
    assert.ok(imageOfBake(endpoint, region, second.id).deregistrationProtection.enabled, `${region}: the new image is not protected`);
    assert.not.ok(imageOfBake(endpoint, region, first.id).deregistrationProtection.enabled, `${region}: the old image is still protected`);
  }
});

Delivery('should roll back in every region, moving protection with the group', async ({ endpoint, sidecar }) => {
  await call(sidecar.socketPath, 'group.create', deliveredGroup('db'));
  const first = await bakeOnce(sidecar.socketPath, sidecar.store, 'db');
  const second = await bakeOnce(sidecar.socketPath, sidecar.store, 'db');
  const rolled = await call(sidecar.socketPath, 'group.rollback', { name: 'db' });
  const firstIds = Object.fromEntries(REGIONS.map((region) => [region, imageOfBake(endpoint, region, first.id).imageId]));
  assert.equal(rolled.images, firstIds);
  assert.is(rolled.previous, second.image_id);
  const groups = (await call(sidecar.socketPath, 'group.list')) as { name: string; image: string; images: Record<string, string> }[];
  const db = groups.find((group) => group.name === 'db')!;
  assert.is(db.image, first.image_id);
  assert.equal(db.images, firstIds);
  for (const region of REGIONS) {
    assert.ok(imageOfBake(endpoint, region, first.id).deregistrationProtection.enabled, `${region}: the image returned to is not protected`);
    assert.not.ok(imageOfBake(endpoint, region, second.id).deregistrationProtection.enabled, `${region}: the image left is still protected`);
  }
  // The next bake starts from the image returned to.
  const third = await bakeOnce(sidecar.socketPath, sidecar.store, 'db');
  assert.is(third.parent_image, first.image_id);
});

Delivery('should skip an image a launch template still uses, say so in history, and retire the rest in every region', async ({ endpoint, sidecar }) => {
  await call(sidecar.socketPath, 'group.create', deliveredGroup('cache', { keep: 1 }));
  const first = await bakeOnce(sidecar.socketPath, sidecar.store, 'cache');
  const used = imageOfBake(endpoint, 'eu-west-1', first.id).imageId;
  const ec2 = new EC2Client({ region: 'eu-west-1', endpoint: endpoint.url, credentials: { accessKeyId: AWS_TEST_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: AWS_TEST_ENV.AWS_SECRET_ACCESS_KEY } });
  const template = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'cache-fleet', LaunchTemplateData: { ImageId: used, InstanceType: 't3.micro' } }));
  ec2.destroy();
  const second = await bakeOnce(sidecar.socketPath, sidecar.store, 'cache');
  const third = await bakeOnce(sidecar.socketPath, sidecar.store, 'cache');
  for (const region of REGIONS) {
    const kept = imageOfBake(endpoint, region, first.id);
    assert.is(kept.state, 'available', `${region}: the image a launch template uses was deregistered`);
    const retired = imagesOfBake(endpoint, region, second.id);
    assert.ok(retired.every((image) => image.state === 'deregistered'), `${region}: the unused older image is still there`);
    const snapshots = new Set(endpoint.inRegion(region).snapshots().map((snapshot) => snapshot.snapshotId));
    for (const image of retired) for (const device of image.blockDevices) assert.not.ok(snapshots.has(device.snapshotId), `${region}: ${device.snapshotId} was left behind`);
    assert.is(imageOfBake(endpoint, region, third.id).state, 'available');
  }
  const history = (await call(sidecar.socketPath, 'group.history', { name: 'cache' })) as { bake: string; retention: string | null; deregistered: boolean }[];
  const row = history.find((each) => each.bake === first.id)!;
  assert.match(row.retention ?? '', template.LaunchTemplate!.LaunchTemplateId!);
  assert.match(row.retention ?? '', used);
  assert.is(row.deregistered, false);
  assert.is(history.find((each) => each.bake === second.id)?.deregistered, true);
});

Delivery('should end a bake failed, naming the region and its code, when a region refuses, and keep the group where it was', async ({ endpoint, sidecar }) => {
  endpoint.setOptIn('eu-south-1', true);
  await call(sidecar.socketPath, 'group.create', deliveredGroup('queue', { copy_to: ['eu-west-1', 'eu-south-1'], kms_key: [], encrypt: false, share_with: [] }));
  endpoint.setOptIn('eu-south-1', false);
  const bakeId = await startBake(sidecar.socketPath, sidecar.store, 'queue');
  const done = await waitForBake(sidecar.store, bakeId, inState('done'));
  assert.is(done.outcome, 'failed');
  assert.match(done.reason ?? '', /eu-south-1: AuthFailure/);
  assert.match(done.reason ?? '', `the image ${done.image_id} is kept in ${HOME}`);
  assert.is(endpoint.inRegion(HOME).image(done.image_id!)?.state, 'available', 'the home image was not kept');
  const group = await sidecar.store.getGroup('queue');
  assert.is(group?.image, 'ami-0abc1234', 'the group moved to an image not delivered everywhere');
  endpoint.setOptIn('eu-south-1', true);
});

const BAD: [field: string, value: unknown, message: RegExp][] = [
  ['copy_to', ['xx-nowhere-9'], /"xx-nowhere-9" is not a region EC2 knows/],
  ['copy_to', ['eu west 1'], /"eu west 1" is not valid/],
  ['copy_to', [HOME], /"us-east-1" is the group's own region/],
  ['share_with', ['12345678901'], /"12345678901" is not valid \(expected a 12-digit AWS account id/],
  ['share_with', ['arn:aws:organizations::123456789012:organisation/o-bad'], /is not valid/],
  ['kms_key', ['eu-west-1=arn:aws:kms:eu-west-1:123456789012:alias/mine'], /is not valid \(expected REGION=ARN or default=ARN/],
  ['deprecate_after', 'three months', /"three months" is not valid \(expected a duration/],
  ['keep_days', 0, /0 is below 1/],
];

Delivery('should refuse bad delivery options with one line naming the option and the value, and store nothing', async ({ sidecar }) => {
  for (const [field, value, message] of BAD) {
    const reply = await callOnce(sidecar.socketPath, 'group.create', deliveredGroup('bad', { [field]: value, ...(field === 'kms_key' && { encrypt: true }) }));
    assert.ok(reply.error, `${field} ${JSON.stringify(value)} was accepted`);
    assert.is(reply.error.data?.field?.replace(/\[\d+\]$/, ''), field, JSON.stringify(reply.error));
    assert.match(reply.error.message, message);
    assert.not.match(reply.error.message, /\n/);
  }
  const groups = (await call(sidecar.socketPath, 'group.list')) as { name: string }[];
  assert.not.ok(groups.some((group) => group.name === 'bad'), 'a refused group was stored');
});

Delivery('should share with an organization and an OU on the images alone', async ({ endpoint, sidecar }) => {
  const org = 'arn:aws:organizations::123456789012:organization/o-exampleorgid';
  const ou = 'arn:aws:organizations::123456789012:ou/o-exampleorgid/ou-ab12-cd34ef56';
  await call(sidecar.socketPath, 'group.create', deliveredGroup('edge', { share_with: [SHARED_ACCOUNT, org, ou] }));
  const done = await bakeOnce(sidecar.socketPath, sidecar.store, 'edge');
  for (const region of REGIONS) {
    const image = imageOfBake(endpoint, region, done.id);
    for (const principal of [SHARED_ACCOUNT, org, ou]) assert.ok(image.launchPermissions.has(principal), `${region}: not shared with ${principal}`);
    assertShared(endpoint, region, image);
  }
});

Delivery.run();
