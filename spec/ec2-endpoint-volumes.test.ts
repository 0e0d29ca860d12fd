/** The EC2 endpoint's root volumes, and imaging an instance that was stopped first, as Packer does. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CreateImageCommand, DescribeImagesCommand, DescribeVolumesCommand, StopInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { describeOne, rejection, runningInstance, withEc2 } from './support/ec2-endpoint-client.ts';

const Volumes = suite('ec2 DescribeVolumes');

Volumes('should show an instance root volume attached and in use, by id and by filter', () =>
  withEc2({}, async (ep, ec2) => {
    const instanceId = await runningInstance(ep, ec2, {
      TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'build', Value: 'b-1' }] }],
    });
    const volumeId = (await describeOne(ec2, instanceId)).BlockDeviceMappings?.[0]?.Ebs?.VolumeId as string;
    const byFilter = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'volume-id', Values: [volumeId] }] }));
    const volume = byFilter.Volumes?.[0];
    assert.is(volume?.VolumeId, volumeId);
    assert.is(volume?.State, 'in-use');
    assert.is(volume?.Size, 8);
    assert.is(volume?.AvailabilityZone, 'us-east-1a');
    assert.equal(volume?.Tags, [{ Key: 'build', Value: 'b-1' }]);
    assert.is(volume?.Attachments?.[0]?.InstanceId, instanceId);
    assert.is(volume?.Attachments?.[0]?.State, 'attached');
    assert.is(volume?.Attachments?.[0]?.DeleteOnTermination, true);
    const byId = await ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }));
    assert.is(byId.Volumes?.length, 1);
    const byInstance = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: ['i-0000000000000000f'] }] }));
    assert.equal(byInstance.Volumes, []);
  }),
);

Volumes('should delete the root volume with its instance', () =>
  withEc2({ terminateMs: 50 }, async (ep, ec2) => {
    const instanceId = await runningInstance(ep, ec2);
    const volumeId = (await describeOne(ec2, instanceId)).BlockDeviceMappings?.[0]?.Ebs?.VolumeId as string;
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    assert.is((await ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }))).Volumes?.length, 1);
    ep.clock.advance(50);
    const gone = await rejection(ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] })));
    assert.is(gone.name, 'InvalidVolume.NotFound');
    assert.is(gone.message, `The volume '${volumeId}' does not exist.`);
    const malformed = await rejection(ec2.send(new DescribeVolumesCommand({ VolumeIds: ['vol-xyz'] })));
    assert.is(malformed.name, 'InvalidVolumeID.Malformed');
  }),
);

Volumes.run();

const Stopped = suite('ec2 imaging a stopped instance');

Stopped('should refuse CreateImage while stopping and image the instance once stopped', () =>
  withEc2({ stopMs: 4_000, imageMs: 100 }, async (ep, ec2) => {
    const instanceId = await runningInstance(ep, ec2);
    await ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }));
    ep.clock.advance(3_999);
    assert.is((await describeOne(ec2, instanceId)).State?.Name, 'stopping');
    const early = await rejection(ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'from-stopped' })));
    assert.is(early.name, 'IncorrectInstanceState');
    ep.clock.advance(1);
    assert.is((await describeOne(ec2, instanceId)).State?.Name, 'stopped');
    const { ImageId } = await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'from-stopped' }));
    ep.clock.advance(100);
    const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId as string] }))).Images?.[0];
    assert.is(image?.State, 'available');
    assert.is((await describeOne(ec2, instanceId)).State?.Name, 'stopped');
  }),
);

Stopped.run();
