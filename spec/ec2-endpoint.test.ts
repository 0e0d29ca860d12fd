import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  CopyImageCommand,
  CreateImageCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeRegionsCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  EC2ServiceException,
  ModifyImageAttributeCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type EC2ClientConfig,
  type Instance,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import {
  DEBIAN_12_IMAGE_ID,
  DEBIAN_12_IMAGE_NAME,
  startEc2Endpoint,
  type Ec2Endpoint,
  type Ec2EndpointOptions,
} from './support/ec2-endpoint.ts';
import { Params, renderError, renderResponse } from './support/ec2/wire.ts';

const CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' };

function clientFor(ep: Ec2Endpoint, extra: EC2ClientConfig = {}): EC2Client {
  return new EC2Client({ endpoint: ep.url, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1, ...extra });
}

/** A fresh endpoint on a manual clock (tests move time themselves) and a client for it. */
async function withEc2(
  options: Ec2EndpointOptions,
  body: (ep: Ec2Endpoint, ec2: EC2Client) => Promise<void>,
): Promise<void> {
  const ep = await startEc2Endpoint({ manualClock: true, ...options });
  const ec2 = clientFor(ep);
  try {
    await body(ep, ec2);
  } finally {
    ec2.destroy();
    await ep.stop();
  }
}

type SdkError = EC2ServiceException & { Code?: string };

async function rejection(promise: Promise<unknown>): Promise<SdkError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EC2ServiceException) return error as SdkError;
    throw error;
  }
  assert.unreachable('expected the call to fail');
  throw new Error('unreachable');
}

async function launch(ec2: EC2Client, input: Partial<RunInstancesCommandInput> = {}): Promise<Instance[]> {
  const reply = await ec2.send(new RunInstancesCommand({ ImageId: DEBIAN_12_IMAGE_ID, MinCount: 1, MaxCount: 1, ...input }));
  return reply.Instances ?? [];
}

async function launchOne(ec2: EC2Client, input: Partial<RunInstancesCommandInput> = {}): Promise<string> {
  const [instance] = await launch(ec2, input);
  assert.ok(instance?.InstanceId);
  return instance.InstanceId;
}

async function describeOne(ec2: EC2Client, instanceId: string): Promise<Instance> {
  const reply = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  const instance = reply.Reservations?.[0]?.Instances?.[0];
  assert.ok(instance, `no instance ${instanceId} in reply`);
  return instance;
}

async function runningInstance(ep: Ec2Endpoint, ec2: EC2Client, input: Partial<RunInstancesCommandInput> = {}): Promise<string> {
  const id = await launchOne(ec2, input);
  ep.clock.advance(1000);
  return id;
}

async function bakeImage(ep: Ec2Endpoint, ec2: EC2Client, name: string): Promise<string> {
  const instanceId = await runningInstance(ep, ec2);
  const { ImageId } = await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: name }));
  assert.ok(ImageId);
  ep.clock.advance(1000);
  return ImageId;
}

/** `timeoutMs` only bounds a hang: on two busy cores a few real-time milliseconds can take seconds. */
async function eventually(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.unreachable(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const ID17 = (prefix: string): RegExp => new RegExp(`^${prefix}-[0-9a-f]{17}$`);

// ---------------------------------------------------------------------------------------------

const Wire = suite('ec2 wire');

Wire('should rebuild indexed lists and nested structures from form fields', () => {
  const p = Params.parse(
    'Action=RunInstances&InstanceId.2=i-b&InstanceId.1=i-a&TagSpecification.1.ResourceType=instance' +
      '&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=a%20b%2Bc&MetadataOptions.HttpTokens=required',
  );
  assert.equal(p.strings('InstanceId'), ['i-a', 'i-b']);
  const [spec] = p.list('TagSpecification');
  assert.is(spec?.str('ResourceType'), 'instance');
  assert.is(spec?.list('Tag')[0]?.str('Value'), 'a b+c');
  assert.is(p.str('MetadataOptions.HttpTokens'), 'required');
  assert.is(p.fingerprint(), Params.parse('MetadataOptions.HttpTokens=required&InstanceId.1=i-a&InstanceId.2=i-b&TagSpecification.1.Tag.1.Value=a b%2Bc&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.ResourceType=instance&Action=X').fingerprint());
});

Wire('should render lists as item elements and escape text', () => {
  const xml = renderResponse('DescribeThings', 'req-1', { thingSet: [{ name: 'a<&>"\'b' }], gone: undefined, flag: true });
  assert.is(
    xml,
    '<?xml version="1.0" encoding="UTF-8"?>\n<DescribeThingsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">' +
      '<requestId>req-1</requestId><thingSet><item><name>a&lt;&amp;&gt;&quot;&apos;b</name></item></thingSet><flag>true</flag></DescribeThingsResponse>',
  );
  assert.is(
    renderError('X.Y', 'bad <thing>', 'r'),
    '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>X.Y</Code><Message>bad &lt;thing&gt;</Message></Error></Errors><RequestID>r</RequestID></Response>',
  );
});

Wire.run();

// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------

const Misc = suite('ec2 tags, regions and protocol errors');

Misc('should tag instances, images and snapshots, keeping odd characters intact', () =>
  withEc2({}, async (ep, ec2) => {
    const imageId = await bakeImage(ep, ec2, 'autoami-tags-1');
    const instanceId = ep.instances()[0]?.instanceId as string;
    const snapshotId = ep.image(imageId)?.blockDevices[0]?.snapshotId as string;
    const odd = `a<b>&"c'd ü +%`;
    await ec2.send(new CreateTagsCommand({ Resources: [instanceId, imageId, snapshotId], Tags: [{ Key: 'Name', Value: odd }] }));
    assert.equal((await describeOne(ec2, instanceId)).Tags, [{ Key: 'Name', Value: odd }]);
    const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
    assert.equal(image?.Tags, [{ Key: 'Name', Value: odd }]);
    assert.is(ep.snapshots().find((s) => s.snapshotId === snapshotId)?.tags.get('Name'), odd);
    const unknown = await rejection(ec2.send(new CreateTagsCommand({ Resources: ['i-0123456789abcdef0'], Tags: [{ Key: 'a', Value: 'b' }] })));
    assert.is(unknown.name, 'InvalidInstanceID.NotFound');
  }),
);

Misc('should describe regions', () =>
  withEc2({}, async (_ep, ec2) => {
    const all = await ec2.send(new DescribeRegionsCommand({}));
    assert.ok((all.Regions?.length ?? 0) > 5);
    const one = await ec2.send(new DescribeRegionsCommand({ RegionNames: ['eu-west-1'] }));
    assert.equal(one.Regions, [{ RegionName: 'eu-west-1', Endpoint: 'ec2.eu-west-1.amazonaws.com', OptInStatus: 'opt-in-not-required' }]);
  }),
);

Misc('should answer an unknown action with InvalidAction and a missing one with MissingParameter', () =>
  withEc2({}, async (ep) => {
    const post = (body: string) =>
      fetch(`${ep.url}/`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    const unknown = await post('Action=LaunchRockets&Version=2016-11-15');
    assert.is(unknown.status, 400);
    const text = await unknown.text();
    assert.match(text, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>InvalidAction<\/Code><Message>[^<]+<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/);
    const none = await post('Version=2016-11-15');
    assert.is(none.status, 400);
    assert.match(await none.text(), /<Code>MissingParameter<\/Code>/);
    const viaGet = await fetch(`${ep.url}/?Action=DescribeRegions&Version=2016-11-15`);
    assert.is(viaGet.status, 200);
    assert.match(await viaGet.text(), /<DescribeRegionsResponse xmlns="http:\/\/ec2\.amazonaws\.com\/doc\/2016-11-15\/"><requestId>/);
    assert.is(ep.counts.errors('LaunchRockets', 'InvalidAction'), 1);
  }),
);

Misc('should answer DryRun with DryRunOperation', () =>
  withEc2({}, async (ep, ec2) => {
    const error = await rejection(launch(ec2, { DryRun: true }));
    assert.is(error.name, 'DryRunOperation');
    assert.is(error.$metadata.httpStatusCode, 412);
    assert.is(ep.instances().length, 0);
  }),
);

Misc.run();

// ---------------------------------------------------------------------------------------------

/** Records how the SDK itself classifies each failure before deciding on a retry; retries at once. */
function recordingRetries(maxAttempts: number): { kinds: string[]; strategy: NonNullable<EC2ClientConfig['retryStrategy']> } {
  const kinds: string[] = [];
  const token = (count: number) => ({ getRetryCount: () => count, getRetryDelay: () => 0, getRetryTokenCount: () => 0 });
  const strategy = {
    mode: 'standard',
    acquireInitialRetryToken: async () => token(0),
    refreshRetryTokenForRetry: async (previous: ReturnType<typeof token>, info: { errorType: string; error?: unknown }) => {
      kinds.push(info.errorType);
      const retryable = info.errorType === 'THROTTLING' || info.errorType === 'TRANSIENT' || info.errorType === 'SERVER_ERROR';
      if (!retryable || previous.getRetryCount() + 1 >= maxAttempts) throw info.error;
      return token(previous.getRetryCount() + 1);
    },
    recordSuccess: () => {},
  };
  return { kinds, strategy: strategy as unknown as NonNullable<EC2ClientConfig['retryStrategy']> };
}

const Faults = suite('ec2 fault injection');

Faults('should throttle every request at rate 1 with a 503 the SDK treats as retryable throttling', () =>
  withEc2({}, async (ep) => {
    ep.faults.set('DescribeImages', { throttleRate: 1 });
    const { kinds, strategy } = recordingRetries(3);
    const ec2 = clientFor(ep, { retryStrategy: strategy });
    const error = await rejection(ec2.send(new DescribeImagesCommand({})));
    ec2.destroy();
    assert.is(error.name, 'RequestLimitExceeded');
    assert.is(error.$metadata.httpStatusCode, 503);
    assert.is(error.$fault, 'server');
    assert.equal(kinds, ['THROTTLING', 'THROTTLING', 'THROTTLING']);
    assert.equal(ep.counts.of('DescribeImages'), { total: 3, ok: 0, errors: { RequestLimitExceeded: 3 } });
  }),
);

Faults('should throttle a seeded fraction of requests, the same way on every run', async () => {
  /** '.' for a served DescribeRegions, 'T' for a throttled one; optionally interleaving another action. */
  const pattern = async (seed: number, interleave: boolean): Promise<string> => {
    let outcome = '';
    await withEc2({ seed }, async (ep, ec2) => {
      ep.faults.set('DescribeRegions', { throttleRate: 0.5 });
      ep.faults.set('DescribeImages', { throttleRate: 0.5 });
      for (let n = 0; n < 40; n++) {
        if (interleave && n % 3 === 0) await ec2.send(new DescribeImagesCommand({})).catch(() => undefined);
        outcome += await ec2.send(new DescribeRegionsCommand({})).then(
          () => '.',
          () => 'T',
        );
      }
    });
    return outcome;
  };
  const first = await pattern(7, false);
  const throttled = [...first].filter((c) => c === 'T').length;
  assert.ok(throttled > 8 && throttled < 32, `throttled ${throttled} of 40`);
  assert.is(await pattern(7, false), first);
  // Each action draws from its own stream, so calls to another action do not shift this pattern.
  assert.is(await pattern(7, true), first);
  assert.is.not(await pattern(8, false), first);
});

Faults('should empty and refill a token bucket per action', () =>
  withEc2({}, async (ep, ec2) => {
    ep.faults.set('RunInstances', { bucket: { size: 5, refillPerSecond: 2 } });
    const outcomes: string[] = [];
    for (let n = 0; n < 7; n++) outcomes.push(await launch(ec2).then(() => 'ok', (e: SdkError) => e.name));
    assert.equal(outcomes, ['ok', 'ok', 'ok', 'ok', 'ok', 'RequestLimitExceeded', 'RequestLimitExceeded']);
    await ec2.send(new DescribeInstancesCommand({}));
    ep.clock.advance(500);
    assert.is(await launch(ec2).then(() => 'ok', (e: SdkError) => e.name), 'ok');
    assert.is(await launch(ec2).then(() => 'ok', (e: SdkError) => e.name), 'RequestLimitExceeded');
    ep.clock.advance(10_000);
    for (let n = 0; n < 5; n++) await launch(ec2);
    assert.equal(ep.counts.of('RunInstances'), { total: 14, ok: 11, errors: { RequestLimitExceeded: 3 } });
    assert.equal(ep.counts.of('DescribeInstances'), { total: 1, ok: 1, errors: {} });
  }),
);

Faults('should hide new instances and images from Describe calls during the consistency lag', () =>
  withEc2({}, async (ep, ec2) => {
    ep.faults.set('DescribeInstances', { consistencyLagMs: 200 });
    ep.faults.set('DescribeImages', { consistencyLagMs: 200 });
    ep.faults.set('CreateTags', { consistencyLagMs: 200 });
    const id = await launchOne(ec2);
    const early = await rejection(describeOne(ec2, id));
    assert.is(early.name, 'InvalidInstanceID.NotFound');
    assert.match(early.message, new RegExp(id));
    assert.is((await ec2.send(new DescribeInstancesCommand({}))).Reservations?.length, 0);
    const tagging = await rejection(ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'k', Value: 'v' }] })));
    assert.is(tagging.name, 'InvalidInstanceID.NotFound');
    ep.clock.advance(200);
    assert.is((await describeOne(ec2, id)).InstanceId, id);

    const { ImageId } = await ec2.send(new CreateImageCommand({ InstanceId: id, Name: 'autoami-lag-1' }));
    const hidden = await rejection(ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId as string] })));
    assert.is(hidden.name, 'InvalidAMIID.NotFound');
    ep.clock.advance(200);
    assert.is((await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId as string] }))).Images?.[0]?.ImageId, ImageId);
  }),
);

Faults('should answer InsufficientInstanceCapacity with a 500 for the next N launches', () =>
  withEc2({}, async (ep) => {
    ep.faults.set('RunInstances', { insufficientCapacity: 2 });
    const { kinds, strategy } = recordingRetries(1);
    const ec2 = clientFor(ep, { retryStrategy: strategy });
    for (let n = 0; n < 2; n++) {
      const error = await rejection(launch(ec2, { InstanceType: 'c5.large' }));
      assert.is(error.name, 'InsufficientInstanceCapacity');
      assert.is(error.$metadata.httpStatusCode, 500);
      assert.match(error.message, /c5\.large capacity/);
    }
    assert.equal(kinds, ['TRANSIENT', 'TRANSIENT']);
    await launchOne(ec2);
    ec2.destroy();
    assert.equal(ep.counts.of('RunInstances'), { total: 3, ok: 1, errors: { InsufficientInstanceCapacity: 2 } });
    assert.is(ep.instances().length, 1);
  }),
);

Faults('should answer InsufficientInstanceCapacity always until cleared', () =>
  withEc2({}, async (ep, ec2) => {
    ep.faults.set('RunInstances', { insufficientCapacity: 'always' });
    for (let n = 0; n < 3; n++) assert.is((await rejection(launch(ec2))).name, 'InsufficientInstanceCapacity');
    ep.faults.clear('RunInstances');
    await launchOne(ec2);
  }),
);

Faults('should let the next N images end in failed with a state reason', () =>
  withEc2({}, async (ep, ec2) => {
    ep.faults.set('CreateImage', { failImages: 1, imageFailure: { message: 'Snapshot creation failed' } });
    const failed = await bakeImage(ep, ec2, 'autoami-fail-1');
    const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [failed] }))).Images?.[0];
    assert.is(image?.State, 'failed');
    assert.equal(image?.StateReason, { Code: 'Server.InternalError', Message: 'Snapshot creation failed' });
    const ok = await bakeImage(ep, ec2, 'autoami-fail-2');
    assert.is((await ec2.send(new DescribeImagesCommand({ ImageIds: [ok] }))).Images?.[0]?.State, 'available');
  }),
);

Faults('should inject any error code for the next N calls', () =>
  withEc2({}, async (ep, ec2) => {
    ep.faults.set('DescribeRegions', { error: { code: 'Unavailable', message: 'try later', times: 1 } });
    const error = await rejection(ec2.send(new DescribeRegionsCommand({})));
    assert.is(error.name, 'Unavailable');
    assert.is(error.$metadata.httpStatusCode, 503);
    await ec2.send(new DescribeRegionsCommand({}));
    assert.equal(ep.counts.all().DescribeRegions, { total: 2, ok: 1, errors: { Unavailable: 1 } });
    assert.is(ep.counts.total(), 2);
  }),
);

Faults.run();

// ---------------------------------------------------------------------------------------------

const Live = suite('ec2 endpoint in real time and standalone');

Live('should move instances and images on by itself on the real clock', async () => {
  const ep = await startEc2Endpoint({ bootMs: 30, imageMs: 30 });
  const ec2 = clientFor(ep);
  try {
    const [launched] = await launch(ec2);
    // RunInstances answers before any time has passed: the instance starts out pending.
    assert.is(launched?.State?.Name, 'pending');
    const id = launched!.InstanceId!;
    // Polls like the sidecar would; nothing here moves the clock.
    await eventually(async () => (await describeOne(ec2, id)).State?.Name === 'running');
    const { ImageId } = await ec2.send(new CreateImageCommand({ InstanceId: id, Name: 'autoami-live-1' }));
    // Whether a poll still sees it pending depends on how busy the machine is; the order of
    // what the polls see does not: pending for a while, perhaps not at all, then available.
    const seen: string[] = [];
    const image = async () => (await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId as string] }))).Images?.[0];
    await eventually(async () => (seen.push(String((await image())?.State)), seen.at(-1) === 'available'));
    assert.ok(seen.slice(0, -1).every((state) => state === 'pending'), seen.join(' '));
    assert.is(ep.clock.pending(), 0, 'no state change is left waiting');
  } finally {
    ec2.destroy();
    await ep.stop();
  }
});

Live('should run standalone, print its URL and stop on SIGTERM', async () => {
  const script = fileURLToPath(new URL('./support/ec2-endpoint.ts', import.meta.url));
  const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
  const child = spawn(process.execPath, [tsx, script, '--port', '0', '--image', 'ami-0abc1234', '--boot-ms', '10'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`endpoint exited early with ${code}`)));
    });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const ec2 = new EC2Client({ endpoint: url, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
    const reply = await ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-0abc1234'] }));
    ec2.destroy();
    assert.is(reply.Images?.[0]?.ImageId, 'ami-0abc1234');
  } finally {
    child.kill('SIGTERM');
  }
  assert.is(await exited, 0);
});

Live.run();
