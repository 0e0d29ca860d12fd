/** The EC2 endpoint across regions: routing by signature, opt-in regions, cross-region CopyImage, EBS encryption. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CopyImageCommand,
  CreateImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeRegionsCommand,
  DescribeSnapshotsCommand,
  type DescribeRegionsCommandInput,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { DEBIAN_12_IMAGE_ID, defaultKeyArn, type Ec2Endpoint } from './support/ec2-endpoint.ts';
import { bakeImage, clientFor, describeOne, ID17, launchOne, rejection, withEc2 } from './support/ec2-endpoint-client.ts';

/** Clients signed for each region, all aimed at the one endpoint. */
async function inRegions(ep: Ec2Endpoint, regions: string[], body: (clients: Record<string, EC2Client>) => Promise<void>): Promise<void> {
  const clients = Object.fromEntries(regions.map((region) => [region, clientFor(ep, { region })]));
  try {
    await body(clients);
  } finally {
    for (const client of Object.values(clients)) client.destroy();
  }
}

const client = (clients: Record<string, EC2Client>, region: string): EC2Client => clients[region] as EC2Client;

const EU_KEY = 'arn:aws:kms:eu-west-1:123456789012:key/7f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f';
const US_KEY = 'arn:aws:kms:us-east-1:123456789012:key/7f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f';

// ---------------------------------------------------------------------------------------------

const Routing = suite('ec2 region routing');

Routing('should keep each region apart, choosing it from the signature', () =>
  withEc2({}, async (ep) =>
    inRegions(ep, ['us-east-1', 'eu-west-1'], async (c) => {
      const id = await launchOne(client(c, 'eu-west-1'));
      assert.equal(ep.inRegion('eu-west-1').instances().map((i) => i.instanceId), [id]);
      assert.is(ep.instances().length, 0);
      assert.is((await describeOne(client(c, 'eu-west-1'), id)).Placement?.AvailabilityZone, 'eu-west-1a');
      const elsewhere = await rejection(client(c, 'us-east-1').send(new DescribeInstancesCommand({ InstanceIds: [id] })));
      assert.is(elsewhere.name, 'InvalidInstanceID.NotFound');
      // The base AMI exists everywhere, under the same id.
      const base = await client(c, 'eu-west-1').send(new DescribeImagesCommand({ ImageIds: [DEBIAN_12_IMAGE_ID] }));
      assert.is(base.Images?.[0]?.State, 'available');
      assert.equal(ep.regionsInUse(), ['us-east-1', 'eu-west-1']);
    }),
  ),
);

Routing('should send requests without a signature to the default region', () =>
  withEc2({ region: 'eu-central-1' }, async (ep) => {
    const body = `Action=RunInstances&Version=2016-11-15&ImageId=${DEBIAN_12_IMAGE_ID}&MinCount=1&MaxCount=1`;
    const reply = await fetch(`${ep.url}/`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    assert.is(reply.status, 200);
    assert.is(ep.region, 'eu-central-1');
    assert.is(ep.instances().length, 1);
    assert.is(ep.inRegion('us-east-1').instances().length, 0);
  }),
);

Routing('should refuse regions the account has not enabled, and names that are no region', () =>
  withEc2({}, async (ep) =>
    inRegions(ep, ['af-south-1', 'mars-east-1'], async (c) => {
      const refused = await rejection(client(c, 'af-south-1').send(new DescribeInstancesCommand({})));
      assert.is(refused.name, 'AuthFailure');
      assert.is(refused.$metadata.httpStatusCode, 401);
      assert.is(ep.optInStatus('af-south-1'), 'not-opted-in');
      ep.setOptIn('af-south-1', true);
      assert.equal((await client(c, 'af-south-1').send(new DescribeInstancesCommand({}))).Reservations, []);
      const nowhere = await rejection(client(c, 'mars-east-1').send(new DescribeInstancesCommand({})));
      assert.is(nowhere.name, 'AuthFailure');
      assert.throws(() => ep.setOptIn('us-east-1', false), /not an opt-in region/);
    }),
  ),
);

Routing('should answer OptInRequired instead when configured to', () =>
  withEc2({ notOptedInError: 'OptInRequired', optedOut: ['me-south-1'] }, async (ep) =>
    inRegions(ep, ['me-south-1', 'ap-east-1'], async (c) => {
      const refused = await rejection(client(c, 'me-south-1').send(new DescribeInstancesCommand({})));
      assert.is(refused.name, 'OptInRequired');
      assert.is(refused.$metadata.httpStatusCode, 401);
      // Only the listed opt-in regions are off.
      assert.equal((await client(c, 'ap-east-1').send(new DescribeInstancesCommand({}))).Reservations, []);
    }),
  ),
);

Routing.run();

// ---------------------------------------------------------------------------------------------

const Regions = suite('ec2 DescribeRegions');

Regions('should list enabled regions, and every region with AllRegions', () =>
  withEc2({}, async (ep, ec2) => {
    const names = async (input: DescribeRegionsCommandInput): Promise<string[]> =>
      ((await ec2.send(new DescribeRegionsCommand(input))).Regions ?? []).map((r) => r.RegionName ?? '');
    const enabled = await names({});
    assert.ok(enabled.includes('eu-north-1'));
    assert.not.ok(enabled.includes('af-south-1'));
    const all = (await ec2.send(new DescribeRegionsCommand({ AllRegions: true }))).Regions ?? [];
    assert.equal(all.find((r) => r.RegionName === 'af-south-1'), {
      RegionName: 'af-south-1',
      Endpoint: 'ec2.af-south-1.amazonaws.com',
      OptInStatus: 'not-opted-in',
    });
    assert.ok(all.length > enabled.length);
    ep.setOptIn('af-south-1', true);
    assert.ok((await names({})).includes('af-south-1'));
    const one = await ec2.send(new DescribeRegionsCommand({ RegionNames: ['af-south-1', 'me-south-1'] }));
    assert.equal(one.Regions?.map((r) => [r.RegionName, r.OptInStatus]), [['af-south-1', 'opted-in'], ['me-south-1', 'not-opted-in']]);
    const optIns = await names({ AllRegions: true, Filters: [{ Name: 'opt-in-status', Values: ['opted-in', 'not-opted-in'] }] });
    assert.ok(optIns.includes('me-south-1') && optIns.includes('af-south-1') && !optIns.includes('us-east-1'));
    const bad = await rejection(ec2.send(new DescribeRegionsCommand({ RegionNames: ['xx-nowhere-1'] })));
    assert.is(bad.name, 'InvalidParameterValue');
  }),
);

Regions.run();

// ---------------------------------------------------------------------------------------------

const Copy = suite('ec2 cross-region CopyImage');

Copy('should copy into the request region and keep the copy pending for copyMs', () =>
  withEc2({ copyMs: 500 }, async (ep, ec2) =>
    inRegions(ep, ['eu-west-1'], async (c) => {
      const source = await bakeImage(ep, ec2, 'autoami-web-1');
      const eu = client(c, 'eu-west-1');
      const { ImageId } = await eu.send(new CopyImageCommand({ SourceImageId: source, SourceRegion: 'us-east-1', Name: 'autoami-web-1' }));
      assert.match(ImageId ?? '', ID17('ami'));
      const copyOf = async () => (await eu.send(new DescribeImagesCommand({ ImageIds: [ImageId as string] }))).Images?.[0];
      ep.clock.advance(499);
      assert.is((await copyOf())?.State, 'pending');
      ep.clock.advance(1);
      const copy = await copyOf();
      assert.is(copy?.State, 'available');
      assert.is(copy?.SourceImageId, source);
      assert.is(copy?.SourceImageRegion, 'us-east-1');
      assert.is(ep.image(ImageId as string), undefined);
      const snapshots = await eu.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
      assert.equal(snapshots.Snapshots?.map((s) => s.SnapshotId), [copy?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId]);
      assert.is(snapshots.Snapshots?.[0]?.VolumeId, 'vol-ffffffff');
      assert.is(snapshots.Snapshots?.[0]?.State, 'completed');
      assert.is(ep.inRegion('eu-west-1').snapshots().filter((s) => s.ownerId === ep.accountId).length, 1);
    }),
  ),
);

Copy('should copy the source tags when asked and add tag specifications', () =>
  withEc2({}, async (ep, ec2) =>
    inRegions(ep, ['eu-west-2'], async (c) => {
      const instanceId = await launchOne(ec2);
      ep.clock.advance(1000);
      const { ImageId: source } = await ec2.send(
        new CreateImageCommand({
          InstanceId: instanceId,
          Name: 'autoami-db-3',
          TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'autoami:group', Value: 'db' }] }],
        }),
      );
      ep.clock.advance(1000);
      const eu = client(c, 'eu-west-2');
      const copy = (tagged: boolean, name: string) =>
        eu.send(
          new CopyImageCommand({
            SourceImageId: source,
            SourceRegion: 'us-east-1',
            Name: name,
            CopyImageTags: tagged,
            TagSpecifications: [
              { ResourceType: 'image', Tags: [{ Key: 'autoami:copy-of', Value: source as string }] },
              { ResourceType: 'snapshot', Tags: [{ Key: 'autoami:group', Value: 'db' }] },
            ],
          }),
        );
      const withTags = (await copy(true, 'autoami-db-3')).ImageId as string;
      const without = (await copy(false, 'autoami-db-3b')).ImageId as string;
      const view = ep.inRegion('eu-west-2');
      assert.equal([...(view.image(withTags)?.tags ?? [])], [['autoami:group', 'db'], ['autoami:copy-of', source]]);
      assert.equal([...(view.image(without)?.tags ?? [])], [['autoami:copy-of', source]]);
      const snapshotId = view.image(withTags)?.blockDevices[0]?.snapshotId as string;
      assert.is(view.snapshot(snapshotId)?.tags.get('autoami:group'), 'db');
    }),
  ),
);

Copy('should answer a repeated ClientToken with the first copy, per destination region', () =>
  withEc2({}, async (ep, ec2) =>
    inRegions(ep, ['eu-west-1', 'eu-west-2'], async (c) => {
      const source = await bakeImage(ep, ec2, 'autoami-lb-2');
      const copy = (region: string) =>
        client(c, region).send(new CopyImageCommand({ SourceImageId: source, SourceRegion: 'us-east-1', Name: 'autoami-lb-2', ClientToken: 'lb-2' }));
      const first = (await copy('eu-west-1')).ImageId;
      assert.is((await copy('eu-west-1')).ImageId, first);
      const other = (await copy('eu-west-2')).ImageId;
      assert.is.not(other, first);
      assert.is(ep.inRegion('eu-west-1').images().filter((i) => i.sourceImageId === source).length, 1);
      assert.is(ep.inRegion('eu-west-2').images().filter((i) => i.sourceImageId === source).length, 1);
    }),
  ),
);

Copy('should refuse pending sources, unknown regions and images the source region lacks', () =>
  withEc2({ imageMs: 5000 }, async (ep, ec2) =>
    inRegions(ep, ['eu-west-1'], async (c) => {
      const eu = client(c, 'eu-west-1');
      const instanceId = await launchOne(ec2);
      ep.clock.advance(1000);
      const { ImageId: pending } = await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'autoami-slow-1' }));
      const copy = (input: { SourceImageId: string; SourceRegion: string }) => eu.send(new CopyImageCommand({ ...input, Name: 'autoami-copy-x' }));
      assert.is((await rejection(copy({ SourceImageId: pending as string, SourceRegion: 'us-east-1' }))).name, 'IncorrectState');
      assert.is((await rejection(copy({ SourceImageId: pending as string, SourceRegion: 'xx-nowhere-1' }))).name, 'InvalidRegion');
      assert.is((await rejection(copy({ SourceImageId: pending as string, SourceRegion: 'af-south-1' }))).name, 'InvalidRegion');
      assert.is((await rejection(copy({ SourceImageId: pending as string, SourceRegion: 'us-west-2' }))).name, 'InvalidAMIID.NotFound');
      assert.is(ep.inRegion('eu-west-1').images().length, 1, 'only the base AMI');
    }),
  ),
);

Copy('should let a copy fail when the fault says so', () =>
  withEc2({}, async (ep, ec2) =>
    inRegions(ep, ['eu-west-1'], async (c) => {
      const source = await bakeImage(ep, ec2, 'autoami-web-9');
      ep.faults.set('CopyImage', { failImages: 1, imageFailure: { code: 'Client.InternalError', message: 'copy broke' } });
      const { ImageId } = await client(c, 'eu-west-1').send(new CopyImageCommand({ SourceImageId: source, SourceRegion: 'us-east-1', Name: 'autoami-web-9' }));
      ep.clock.advance(1000);
      const image = ep.inRegion('eu-west-1').image(ImageId as string);
      assert.is(image?.state, 'failed');
      assert.equal(image?.stateReason, { code: 'Client.InternalError', message: 'copy broke' });
    }),
  ),
);

Copy.run();

// ---------------------------------------------------------------------------------------------

const Encryption = suite('ec2 EBS encryption');

/** The one device's encryption as DescribeImages and DescribeSnapshots show it. */
async function encryptionOf(ec2: EC2Client, imageId: string): Promise<{ image?: boolean; snapshot?: boolean; key?: string }> {
  const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
  const snapshotId = image?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId as string;
  const snapshot = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots?.[0];
  return { image: image?.BlockDeviceMappings?.[0]?.Ebs?.Encrypted, snapshot: snapshot?.Encrypted, key: snapshot?.KmsKeyId };
}

Encryption('should encrypt a copy with the AWS-managed key or the key given, and leave others alone', () =>
  withEc2({}, async (ep, ec2) =>
    inRegions(ep, ['eu-west-1'], async (c) => {
      const source = await bakeImage(ep, ec2, 'autoami-app-1');
      const eu = client(c, 'eu-west-1');
      const copy = async (name: string, extra: { Encrypted?: boolean; KmsKeyId?: string }) =>
        (await eu.send(new CopyImageCommand({ SourceImageId: source, SourceRegion: 'us-east-1', Name: name, ...extra }))).ImageId as string;
      const plain = await copy('autoami-app-plain', {});
      const managed = await copy('autoami-app-managed', { Encrypted: true });
      const customer = await copy('autoami-app-customer', { Encrypted: true, KmsKeyId: EU_KEY });
      ep.clock.advance(1000);
      assert.equal(await encryptionOf(eu, plain), { image: false, snapshot: false, key: undefined });
      assert.equal(await encryptionOf(eu, managed), { image: true, snapshot: true, key: defaultKeyArn('eu-west-1', ep.accountId) });
      assert.equal(await encryptionOf(eu, customer), { image: true, snapshot: true, key: EU_KEY });
      assert.equal(await encryptionOf(ec2, source), { image: false, snapshot: false, key: undefined });
      const encrypted = await eu.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'encrypted', Values: ['true'] }] }));
      assert.is(encrypted.Snapshots?.length, 2);
      const dependency = await rejection(eu.send(new CopyImageCommand({ SourceImageId: source, SourceRegion: 'us-east-1', Name: 'autoami-app-x', KmsKeyId: EU_KEY })));
      assert.is(dependency.name, 'InvalidParameterDependency');
    }),
  ),
);

Encryption('should keep an encrypted source encrypted, and fail a copy whose key is in another region', () =>
  withEc2({}, async (ep, ec2) =>
    inRegions(ep, ['eu-west-1'], async (c) => {
      const source = await bakeImage(ep, ec2, 'autoami-app-2');
      const { ImageId: encrypted } = await ec2.send(
        new CopyImageCommand({ SourceImageId: source, SourceRegion: 'us-east-1', Name: 'autoami-app-2-enc', Encrypted: true, KmsKeyId: US_KEY }),
      );
      ep.clock.advance(1000);
      const eu = client(c, 'eu-west-1');
      const { ImageId: onward } = await eu.send(new CopyImageCommand({ SourceImageId: encrypted, SourceRegion: 'us-east-1', Name: 'autoami-app-2' }));
      // The reference says EC2 checks the key only once the copy runs: accepted, then failed.
      const { ImageId: wrongKey } = await eu.send(
        new CopyImageCommand({ SourceImageId: source, SourceRegion: 'us-east-1', Name: 'autoami-app-2-bad', Encrypted: true, KmsKeyId: US_KEY }),
      );
      ep.clock.advance(1000);
      assert.equal(await encryptionOf(ec2, encrypted as string), { image: true, snapshot: true, key: US_KEY });
      assert.equal(await encryptionOf(eu, onward as string), { image: true, snapshot: true, key: defaultKeyArn('eu-west-1', ep.accountId) });
      const failed = (await eu.send(new DescribeImagesCommand({ ImageIds: [wrongKey as string] }))).Images?.[0];
      assert.is(failed?.State, 'failed');
      assert.ok(failed?.StateReason?.Message);
    }),
  ),
);

Encryption('should encrypt a root volume from RunInstances and carry its key into CreateImage', () =>
  withEc2({}, async (ep, ec2) => {
    const encryptedRoot = (KmsKeyId?: string) => ({
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, ...(KmsKeyId && { KmsKeyId }) } }],
    });
    const withKey = await launchOne(ec2, encryptedRoot(US_KEY));
    const withDefault = await launchOne(ec2, encryptedRoot());
    const plain = await launchOne(ec2);
    ep.clock.advance(1000);
    assert.equal([ep.instance(withKey)?.volume.encrypted, ep.instance(withKey)?.volume.kmsKeyId], [true, US_KEY]);
    const image = async (instanceId: string, name: string) => (await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: name }))).ImageId as string;
    const images = [await image(withKey, 'autoami-k-1'), await image(withDefault, 'autoami-k-2'), await image(plain, 'autoami-k-3')];
    ep.clock.advance(1000);
    assert.equal(await encryptionOf(ec2, images[0] as string), { image: true, snapshot: true, key: US_KEY });
    assert.equal(await encryptionOf(ec2, images[1] as string), { image: true, snapshot: true, key: defaultKeyArn('us-east-1', ep.accountId) });
    assert.equal(await encryptionOf(ec2, images[2] as string), { image: false, snapshot: false, key: undefined });
    // An instance of an encrypted image is encrypted with the image's key without asking.
    const relaunched = await launchOne(ec2, { ImageId: images[0] });
    assert.is(ep.instance(relaunched)?.volume.kmsKeyId, US_KEY);
  }),
);

Encryption('should end an instance whose root volume key is in another region', () =>
  withEc2({}, async (ep, ec2) => {
    const id = await launchOne(ec2, { BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, KmsKeyId: EU_KEY } }] });
    ep.clock.advance(1000);
    const instance = await describeOne(ec2, id);
    assert.is(instance.State?.Name, 'terminated');
    assert.match(instance.StateReason?.Message ?? '', /InvalidKMSKey/);
  }),
);

Encryption.run();
