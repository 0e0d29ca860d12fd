/** The EC2 endpoint's instances: launching, describing, stopping and terminating them. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DescribeInstancesCommand, RunInstancesCommand, StopInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { DEBIAN_12_IMAGE_ID } from './support/ec2-endpoint.ts';
import { describeOne, ID17, launch, launchOne, rejection, runningInstance, withEc2 } from './support/ec2-endpoint-client.ts';

const Run = suite('ec2 RunInstances');

Run('should launch a pending instance that runs after the boot delay with addresses', () =>
  withEc2({ bootMs: 100 }, async (ep, ec2) => {
    const [launched] = await launch(ec2);
    assert.match(launched?.InstanceId ?? '', ID17('i'));
    assert.is(launched?.State?.Name, 'pending');
    assert.is(launched?.State?.Code, 0);
    assert.is(launched?.PublicDnsName, '');
    const id = launched?.InstanceId as string;

    ep.clock.advance(99);
    assert.is((await describeOne(ec2, id)).State?.Name, 'pending');
    ep.clock.advance(1);
    const running = await describeOne(ec2, id);
    assert.is(running.State?.Name, 'running');
    assert.is(running.State?.Code, 16);
    assert.match(running.PublicDnsName ?? '', /^ec2-203-0-113-\d+\.compute-1\.amazonaws\.com$/);
    assert.match(running.PublicIpAddress ?? '', /^203\.0\.113\.\d+$/);
    assert.is(running.PublicDnsName, `ec2-${running.PublicIpAddress?.replace(/\./g, '-')}.compute-1.amazonaws.com`);
    assert.match(running.PrivateIpAddress ?? '', /^10\.0\.\d+\.\d+$/);
    assert.match(running.PrivateDnsName ?? '', /^ip-10-0-\d+-\d+\.ec2\.internal$/);
    assert.ok(running.LaunchTime instanceof Date);
    assert.is(running.ImageId, DEBIAN_12_IMAGE_ID);
  }),
);

Run('should keep every launch parameter, with user data retrievable', () =>
  withEc2({}, async (ep, ec2) => {
    const script = '#!/bin/sh\necho "hello <world>" & exit\n';
    const id = await launchOne(ec2, {
      InstanceType: 't3.small',
      KeyName: 'bake-key',
      UserData: Buffer.from(script).toString('base64'),
      SubnetId: 'subnet-0123456789abcdef0',
      SecurityGroupIds: ['sg-0aaa', 'sg-0bbb'],
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
      TagSpecifications: [
        { ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'wordpress bake' }, { Key: 'autoami:group', Value: 'wordpress' }] },
        { ResourceType: 'volume', Tags: [{ Key: 'autoami:bake', Value: 'b-1' }] },
      ],
    });
    const instance = await describeOne(ec2, id);
    assert.is(instance.InstanceType, 't3.small');
    assert.is(instance.KeyName, 'bake-key');
    assert.is(instance.SubnetId, 'subnet-0123456789abcdef0');
    assert.equal(instance.SecurityGroups?.map((g) => g.GroupId), ['sg-0aaa', 'sg-0bbb']);
    assert.is(instance.MetadataOptions?.HttpTokens, 'required');
    assert.is(instance.MetadataOptions?.HttpEndpoint, 'enabled');
    assert.equal(
      Object.fromEntries((instance.Tags ?? []).map((t) => [t.Key, t.Value])),
      { Name: 'wordpress bake', 'autoami:group': 'wordpress' },
    );
    assert.is(ep.userData(id), script);
    assert.equal([...(ep.instance(id)?.volume.tags ?? [])], [['autoami:bake', 'b-1']]);
    const volumeId = instance.BlockDeviceMappings?.[0]?.Ebs?.VolumeId;
    assert.is(volumeId, ep.instance(id)?.volume.volumeId);
  }),
);

Run('should launch MaxCount instances in one reservation', () =>
  withEc2({}, async (_ep, ec2) => {
    const reply = await ec2.send(new RunInstancesCommand({ ImageId: DEBIAN_12_IMAGE_ID, MinCount: 1, MaxCount: 3 }));
    assert.match(reply.ReservationId ?? '', ID17('r'));
    assert.is(reply.OwnerId, '123456789012');
    assert.equal(reply.Instances?.map((i) => i.AmiLaunchIndex), [0, 1, 2]);
    const described = await ec2.send(new DescribeInstancesCommand({}));
    assert.is(described.Reservations?.length, 1);
    assert.is(described.Reservations?.[0]?.Instances?.length, 3);
  }),
);

Run('should launch from a base AMI given in the options and refuse unknown or malformed ones', () =>
  withEc2({ images: ['ami-0abc1234'] }, async (_ep, ec2) => {
    await launchOne(ec2, { ImageId: 'ami-0abc1234' });
    const unknown = await rejection(launch(ec2, { ImageId: 'ami-0123456789abcdef0' }));
    assert.is(unknown.name, 'InvalidAMIID.NotFound');
    assert.is(unknown.Code, 'InvalidAMIID.NotFound');
    assert.is(unknown.$metadata.httpStatusCode, 400);
    assert.is(unknown.$fault, 'client');
    assert.match(unknown.$metadata.requestId ?? '', /^[0-9a-f-]{36}$/);
    assert.match(unknown.message, /ami-0123456789abcdef0/);
    const malformed = await rejection(launch(ec2, { ImageId: 'ami-nothex' }));
    assert.is(malformed.name, 'InvalidAMIID.Malformed');
    const missing = await rejection(ec2.send(new RunInstancesCommand({ MinCount: 1, MaxCount: 1 })));
    assert.is(missing.name, 'MissingParameter');
    assert.match(missing.message, /ImageId/);
  }),
);

Run('should answer a repeated ClientToken with the same reservation and launch nothing new', () =>
  withEc2({}, async (ep, ec2) => {
    const input = { ClientToken: 'bake-42', InstanceType: 't3.micro' } as const;
    const first = await ec2.send(new RunInstancesCommand({ ImageId: DEBIAN_12_IMAGE_ID, MinCount: 1, MaxCount: 1, ...input }));
    ep.clock.advance(1000);
    const second = await ec2.send(new RunInstancesCommand({ ImageId: DEBIAN_12_IMAGE_ID, MinCount: 1, MaxCount: 1, ...input }));
    assert.is(second.ReservationId, first.ReservationId);
    assert.is(second.Instances?.[0]?.InstanceId, first.Instances?.[0]?.InstanceId);
    assert.is(second.Instances?.[0]?.State?.Name, 'running');
    assert.is(second.Instances?.[0]?.ClientToken, 'bake-42');
    assert.is(ep.instances().length, 1);
    const mismatch = await rejection(
      ec2.send(new RunInstancesCommand({ ImageId: DEBIAN_12_IMAGE_ID, MinCount: 1, MaxCount: 1, ClientToken: 'bake-42', InstanceType: 't3.large' })),
    );
    assert.is(mismatch.name, 'IdempotentParameterMismatch');
    assert.is(ep.instances().length, 1);
  }),
);

Run.run();

// ---------------------------------------------------------------------------------------------

const Describe = suite('ec2 DescribeInstances');

Describe('should name an unknown instance id and reject a malformed one', () =>
  withEc2({}, async (_ep, ec2) => {
    const known = await launchOne(ec2);
    const error = await rejection(ec2.send(new DescribeInstancesCommand({ InstanceIds: [known, 'i-0123456789abcdef0'] })));
    assert.is(error.name, 'InvalidInstanceID.NotFound');
    assert.is(error.message, "The instance ID 'i-0123456789abcdef0' does not exist");
    const malformed = await rejection(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-xyz'] })));
    assert.is(malformed.name, 'InvalidInstanceID.Malformed');
  }),
);

Describe('should filter by tags, state, dns name, image and id', () =>
  withEc2({ images: ['ami-0abc1234'] }, async (ep, ec2) => {
    const tagged = (group: string) => ({
      TagSpecifications: [{ ResourceType: 'instance' as const, Tags: [{ Key: 'autoami:group', Value: group }] }],
    });
    const wp = await launchOne(ec2, tagged('wordpress'));
    const db = await launchOne(ec2, { ...tagged('db'), ImageId: 'ami-0abc1234' });
    ep.clock.advance(1000);
    const plain = await launchOne(ec2);
    const ids = async (...filters: { Name: string; Values: string[] }[]): Promise<string[]> => {
      const reply = await ec2.send(new DescribeInstancesCommand({ Filters: filters }));
      return (reply.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId ?? '');
    };
    assert.equal(await ids({ Name: 'tag:autoami:group', Values: ['wordpress'] }), [wp]);
    assert.equal(await ids({ Name: 'tag:autoami:group', Values: ['word*', 'd?'] }), [wp, db]);
    assert.equal(await ids({ Name: 'tag-key', Values: ['autoami:group'] }), [wp, db]);
    assert.equal(await ids({ Name: 'instance-state-name', Values: ['pending'] }), [plain]);
    assert.equal(await ids({ Name: 'image-id', Values: ['ami-0abc1234'] }), [db]);
    assert.equal(await ids({ Name: 'instance-id', Values: [db, plain] }), [db, plain]);
    const dns = (await describeOne(ec2, wp)).PublicDnsName as string;
    assert.equal(await ids({ Name: 'dns-name', Values: [dns] }), [wp]);
    assert.equal(await ids({ Name: 'instance-state-name', Values: ['running'] }, { Name: 'tag:autoami:group', Values: ['db'] }), [db]);
    const bad = await rejection(ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'colour', Values: ['red'] }] })));
    assert.is(bad.name, 'InvalidParameterValue');
  }),
);

Describe('should page through instances with MaxResults and NextToken', () =>
  withEc2({}, async (_ep, ec2) => {
    await ec2.send(new RunInstancesCommand({ ImageId: DEBIAN_12_IMAGE_ID, MinCount: 12, MaxCount: 12 }));
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const reply = await ec2.send(new DescribeInstancesCommand({ MaxResults: 5, NextToken: token }));
      seen.push(...(reply.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId ?? ''));
      token = reply.NextToken;
      pages += 1;
    } while (token);
    assert.is(pages, 3);
    assert.is(new Set(seen).size, 12);
    const combined = await rejection(ec2.send(new DescribeInstancesCommand({ MaxResults: 5, InstanceIds: [seen[0] as string] })));
    assert.is(combined.name, 'InvalidParameterCombination');
    const badToken = await rejection(ec2.send(new DescribeInstancesCommand({ MaxResults: 5, NextToken: 'garbage' })));
    assert.is(badToken.name, 'InvalidPaginationToken');
    const tooSmall = await rejection(ec2.send(new DescribeInstancesCommand({ MaxResults: 2 })));
    assert.is(tooSmall.name, 'InvalidParameterValue');
  }),
);

Describe.run();

// ---------------------------------------------------------------------------------------------

const States = suite('ec2 StopInstances and TerminateInstances');

States('should stop a running instance through stopping to stopped', () =>
  withEc2({ stopMs: 50 }, async (ep, ec2) => {
    const id = await runningInstance(ep, ec2);
    const reply = await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    const change = reply.StoppingInstances?.[0];
    assert.is(change?.InstanceId, id);
    assert.is(change?.PreviousState?.Name, 'running');
    assert.is(change?.CurrentState?.Name, 'stopping');
    assert.is(change?.CurrentState?.Code, 64);
    ep.clock.advance(50);
    const stopped = await describeOne(ec2, id);
    assert.is(stopped.State?.Name, 'stopped');
    assert.is(stopped.PublicDnsName, '');
    assert.is(stopped.PublicIpAddress, undefined);
    assert.match(stopped.StateTransitionReason ?? '', /^User initiated \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\)$/);
  }),
);

States('should refuse to stop a pending instance', () =>
  withEc2({}, async (_ep, ec2) => {
    const id = await launchOne(ec2);
    const error = await rejection(ec2.send(new StopInstancesCommand({ InstanceIds: [id] })));
    assert.is(error.name, 'IncorrectInstanceState');
  }),
);

States('should terminate through shutting-down and keep the instance describable for a while', () =>
  withEc2({ terminateMs: 50, terminatedVisibleMs: 500 }, async (ep, ec2) => {
    const id = await runningInstance(ep, ec2);
    const reply = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    const change = reply.TerminatingInstances?.[0];
    assert.is(change?.PreviousState?.Name, 'running');
    assert.is(change?.CurrentState?.Name, 'shutting-down');
    assert.is(change?.CurrentState?.Code, 32);
    ep.clock.advance(50);
    const terminated = await describeOne(ec2, id);
    assert.is(terminated.State?.Name, 'terminated');
    assert.is(terminated.State?.Code, 48);
    assert.is(terminated.StateReason?.Code, 'Client.UserInitiatedShutdown');
    const again = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    assert.is(again.TerminatingInstances?.[0]?.PreviousState?.Name, 'terminated');
    assert.is(again.TerminatingInstances?.[0]?.CurrentState?.Name, 'terminated');
    ep.clock.advance(500);
    const gone = await rejection(describeOne(ec2, id));
    assert.is(gone.name, 'InvalidInstanceID.NotFound');
  }),
);

States.run();
