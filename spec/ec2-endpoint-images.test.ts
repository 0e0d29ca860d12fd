/** The EC2 endpoint's images and snapshots: creating, describing, copying and deleting them. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CopyImageCommand,
  CreateImageCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  ModifyImageAttributeCommand,
} from '@aws-sdk/client-ec2';
import { DEBIAN_12_IMAGE_ID, DEBIAN_12_IMAGE_NAME } from './support/ec2-endpoint.ts';
import { bakeImage, ID17, rejection, runningInstance, withEc2 } from './support/ec2-endpoint-client.ts';

const Images = suite('ec2 images and snapshots');

Images('should create an image that becomes available with a tagged snapshot', () =>
  withEc2({ imageMs: 200 }, async (ep, ec2) => {
    const instanceId = await runningInstance(ep, ec2);
    const { ImageId } = await ec2.send(
      new CreateImageCommand({
        InstanceId: instanceId,
        Name: 'autoami-wordpress-20240501T120000Z',
        Description: 'wordpress, config 1714564800',
        NoReboot: true,
        TagSpecifications: [
          { ResourceType: 'image', Tags: [{ Key: 'autoami:group', Value: 'wordpress' }] },
          { ResourceType: 'snapshot', Tags: [{ Key: 'autoami:parent-image', Value: DEBIAN_12_IMAGE_ID }] },
        ],
      }),
    );
    assert.match(ImageId ?? '', ID17('ami'));
    const pending = await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId as string] }));
    assert.is(pending.Images?.[0]?.State, 'pending');
    ep.clock.advance(200);
    const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId as string] }))).Images?.[0];
    assert.is(image?.State, 'available');
    assert.is(image?.Name, 'autoami-wordpress-20240501T120000Z');
    assert.is(image?.Description, 'wordpress, config 1714564800');
    assert.is(image?.OwnerId, '123456789012');
    assert.is(image?.RootDeviceType, 'ebs');
    assert.is(image?.Public, false);
    assert.equal(image?.Tags, [{ Key: 'autoami:group', Value: 'wordpress' }]);
    assert.is(ep.image(ImageId as string)?.noReboot, true);
    const snapshotId = image?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId;
    assert.match(snapshotId ?? '', ID17('snap'));
    const snapshots = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
    assert.is(snapshots.Snapshots?.length, 1);
    const snapshot = snapshots.Snapshots?.[0];
    assert.is(snapshot?.SnapshotId, snapshotId);
    assert.is(snapshot?.State, 'completed');
    assert.is(snapshot?.Progress, '100%');
    assert.equal(snapshot?.Tags, [{ Key: 'autoami:parent-image', Value: DEBIAN_12_IMAGE_ID }]);
    assert.match(snapshot?.Description ?? '', new RegExp(`CreateImage\\(${instanceId}\\) for ${ImageId}`));
  }),
);

Images('should refuse a second image with the same name', () =>
  withEc2({}, async (ep, ec2) => {
    const first = await bakeImage(ep, ec2, 'autoami-db-1');
    const instanceId = await runningInstance(ep, ec2);
    const error = await rejection(ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'autoami-db-1' })));
    assert.is(error.name, 'InvalidAMIName.Duplicate');
    assert.match(error.message, new RegExp(first));
    const malformed = await rejection(ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'a!' })));
    assert.is(malformed.name, 'InvalidAMIName.Malformed');
  }),
);

Images('should list only own images for Owner=self but find the base AMI by id', () =>
  withEc2({ images: ['ami-0abc1234'] }, async (ep, ec2) => {
    const own = await bakeImage(ep, ec2, 'autoami-lb-1');
    const mine = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
    assert.equal(mine.Images?.map((i) => i.ImageId), [own]);
    const base = await ec2.send(new DescribeImagesCommand({ ImageIds: [DEBIAN_12_IMAGE_ID] }));
    assert.is(base.Images?.[0]?.Name, DEBIAN_12_IMAGE_NAME);
    assert.is(base.Images?.[0]?.Public, true);
    assert.is(base.Images?.[0]?.State, 'available');
    const all = await ec2.send(new DescribeImagesCommand({}));
    assert.equal(all.Images?.map((i) => i.ImageId), [DEBIAN_12_IMAGE_ID, 'ami-0abc1234', own]);
    const missing = await rejection(ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-0123456789abcdef0'] })));
    assert.is(missing.name, 'InvalidAMIID.NotFound');
    assert.match(missing.message, /ami-0123456789abcdef0/);
    const malformed = await rejection(ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-12'] })));
    assert.is(malformed.name, 'InvalidAMIID.Malformed');
  }),
);

Images('should filter images by name, state and tag and page through them', () =>
  withEc2({}, async (ep, ec2) => {
    const instanceId = await runningInstance(ep, ec2);
    const made: string[] = [];
    for (let n = 0; n < 7; n++) {
      const group = n % 2 ? 'db' : 'wordpress';
      const reply = await ec2.send(
        new CreateImageCommand({
          InstanceId: instanceId,
          Name: `autoami-${group}-${n}`,
          TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'autoami:group', Value: group }] }],
        }),
      );
      made.push(reply.ImageId as string);
      if (n === 5) ep.clock.advance(1000);
    }
    const ids = async (filters: { Name: string; Values: string[] }[]): Promise<string[]> =>
      ((await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: filters }))).Images ?? []).map((i) => i.ImageId ?? '');
    assert.equal(await ids([{ Name: 'name', Values: ['autoami-db-*'] }]), [made[1], made[3], made[5]]);
    assert.equal(await ids([{ Name: 'state', Values: ['pending'] }]), [made[6]]);
    assert.equal(await ids([{ Name: 'tag:autoami:group', Values: ['wordpress'] }, { Name: 'state', Values: ['available'] }]), [made[0], made[2], made[4]]);
    const first = await ec2.send(new DescribeImagesCommand({ Owners: ['self'], MaxResults: 5 }));
    assert.is(first.Images?.length, 5);
    assert.ok(first.NextToken);
    const second = await ec2.send(new DescribeImagesCommand({ Owners: ['self'], MaxResults: 5, NextToken: first.NextToken }));
    assert.is(second.Images?.length, 2);
    assert.is(second.NextToken, undefined);
    assert.equal([...(first.Images ?? []), ...(second.Images ?? [])].map((i) => i.ImageId), made);
  }),
);

Images('should refuse to delete a snapshot while a registered image uses it', () =>
  withEc2({}, async (ep, ec2) => {
    const imageId = await bakeImage(ep, ec2, 'autoami-wordpress-1');
    const snapshotId = ep.image(imageId)?.blockDevices[0]?.snapshotId as string;
    const inUse = await rejection(ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })));
    assert.is(inUse.name, 'InvalidSnapshot.InUse');
    assert.match(inUse.message, new RegExp(`${snapshotId}.*${imageId}`));
    await ec2.send(new DeregisterImageCommand({ ImageId: imageId }));
    const gone = await rejection(ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] })));
    assert.is(gone.name, 'InvalidAMIID.NotFound');
    await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
    const deleted = await rejection(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] })));
    assert.is(deleted.name, 'InvalidSnapshot.NotFound');
    const base = await rejection(ec2.send(new DeregisterImageCommand({ ImageId: DEBIAN_12_IMAGE_ID })));
    assert.is(base.name, 'AuthFailure');
  }),
);

Images('should free an image name on deregistration and keep it describable when asked to', () =>
  withEc2({ deregisteredVisibleMs: 300 }, async (ep, ec2) => {
    const imageId = await bakeImage(ep, ec2, 'autoami-wordpress-2');
    const reply = await ec2.send(new DeregisterImageCommand({ ImageId: imageId, DeleteAssociatedSnapshots: true }));
    assert.is(reply.Return, true);
    assert.is(reply.DeleteSnapshotResults?.length, 1);
    assert.is(ep.snapshots().filter((s) => s.ownerId === ep.accountId).length, 0);
    assert.is((await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0]?.State, 'deregistered');
    await bakeImage(ep, ec2, 'autoami-wordpress-2');
    const gone = await rejection(ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] })));
    assert.is(gone.name, 'InvalidAMIID.NotFound');
  }),
);

Images('should copy an image once per ClientToken and modify image attributes', () =>
  withEc2({}, async (ep, ec2) => {
    const source = await bakeImage(ep, ec2, 'autoami-db-7');
    const copy = () => ec2.send(new CopyImageCommand({ SourceImageId: source, SourceRegion: 'us-east-1', Name: 'autoami-db-7-copy', ClientToken: 'copy-1' }));
    const first = await copy();
    const second = await copy();
    assert.is(second.ImageId, first.ImageId);
    assert.is(ep.images().filter((i) => i.sourceImageId === source).length, 1);
    ep.clock.advance(1000);
    const copied = (await ec2.send(new DescribeImagesCommand({ ImageIds: [first.ImageId as string] }))).Images?.[0];
    assert.is(copied?.State, 'available');
    assert.is(copied?.SourceImageId, source);
    assert.is.not(copied?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId, ep.image(source)?.blockDevices[0]?.snapshotId);

    await ec2.send(new ModifyImageAttributeCommand({ ImageId: source, Description: { Value: 'now described' } }));
    await ec2.send(new ModifyImageAttributeCommand({ ImageId: source, LaunchPermission: { Add: [{ UserId: '210987654321' }] } }));
    assert.is(ep.image(source)?.description, 'now described');
    assert.equal([...(ep.image(source)?.launchPermissions ?? [])], ['210987654321']);
    await ec2.send(new ModifyImageAttributeCommand({ ImageId: source, LaunchPermission: { Add: [{ Group: 'all' }] } }));
    assert.is((await ec2.send(new DescribeImagesCommand({ ImageIds: [source] }))).Images?.[0]?.Public, true);
  }),
);

Images('should filter and page snapshots', () =>
  withEc2({}, async (ep, ec2) => {
    const instanceId = await runningInstance(ep, ec2);
    const made: string[] = [];
    for (let n = 0; n < 6; n++) {
      const { ImageId } = await ec2.send(
        new CreateImageCommand({
          InstanceId: instanceId,
          Name: `autoami-snap-${n}`,
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'autoami:group', Value: n < 2 ? 'db' : 'lb' }] }],
        }),
      );
      made.push(ep.image(ImageId as string)?.blockDevices[0]?.snapshotId as string);
      if (n === 3) ep.clock.advance(1000);
    }
    const ids = async (filters: { Name: string; Values: string[] }[]): Promise<string[]> =>
      ((await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: filters }))).Snapshots ?? []).map((s) => s.SnapshotId ?? '');
    assert.equal(await ids([{ Name: 'tag:autoami:group', Values: ['db'] }]), made.slice(0, 2));
    assert.equal(await ids([{ Name: 'status', Values: ['pending'] }]), made.slice(4));
    assert.equal(await ids([{ Name: 'snapshot-id', Values: [made[3] as string] }]), [made[3]]);
    const byId = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [made[5] as string, made[0] as string] }));
    assert.equal(byId.Snapshots?.map((s) => s.SnapshotId), [made[0], made[5]]);
    const page = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], MaxResults: 5 }));
    const rest = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], MaxResults: 5, NextToken: page.NextToken }));
    assert.equal([...(page.Snapshots ?? []), ...(rest.Snapshots ?? [])].map((s) => s.SnapshotId), made);
    // The base AMI's snapshot belongs to its publisher and stays invisible.
    const baseSnapshot = ep.image(DEBIAN_12_IMAGE_ID)?.blockDevices[0]?.snapshotId as string;
    assert.is((await rejection(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [baseSnapshot] })))).name, 'InvalidSnapshot.NotFound');
  }),
);

Images.run();
