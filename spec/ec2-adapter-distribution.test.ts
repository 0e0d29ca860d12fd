/**
 * Ec2Adapter beyond the bake: regions, copies into other regions, sharing, deprecation,
 * deregistration protection, references, and an encrypted root at launch. Read back through
 * the adapter where it can tell, else over the wire (Describe*Attribute) or from the stand-in.
 */
import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DescribeImageAttributeCommand,
  DescribeSnapshotAttributeCommand,
  type LaunchPermission,
} from '@aws-sdk/client-ec2';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Ec2Adapter } from '../runtime/ec2/adapter.ts';
import { createEc2Client } from '../runtime/ec2/client.ts';
import type { CopySpec, LaunchSpec } from '../runtime/ec2/types.ts';
import { Ec2Error, ValidationError } from '../runtime/errors.ts';
import { Metrics } from '../runtime/metrics.ts';
import { DEBIAN_12_IMAGE_ID, defaultKeyArn } from './support/ec2-endpoint.ts';
import { imageSpec, launchSpec, POLL_MS, rejection, running, within, withRig, type Rig } from './support/ec2-rig.ts';

const ACCOUNT = '210987654321';
const ORG = 'arn:aws:organizations::123456789012:organization/o-exampleorgid';
const OU = 'arn:aws:organizations::123456789012:ou/o-exampleorgid/ou-ab12-cd34ef56';
const WEST_KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const EAST_KEY = 'arn:aws:kms:us-east-1:123456789012:key/abcd1234-ab12-cd34-ef56-abcdef123456';
const DAY = 86_400_000;

/** An available image of a running instance, in the rig's region. */
async function baked(rig: Rig, name: string, launch: Partial<LaunchSpec> = {}): Promise<string> {
  const instance = await running(rig, launch);
  const imageId = await rig.ec2.createImage(imageSpec(instance, name));
  await rig.ec2.waitForImage(imageId, within());
  return imageId;
}

/** An adapter for another region of the same endpoint: the region travels in the request's signature. */
async function inRegion(rig: Rig, region: string, body: (ec2: Ec2Adapter) => Promise<void>): Promise<void> {
  const client = createEc2Client({ region, endpoint: rig.ep.url, profile: undefined });
  try {
    await body(new Ec2Adapter({ client, region, endpoint: rig.ep.url, pollIntervalMs: POLL_MS, metrics: Metrics.off() }));
  } finally {
    client.destroy();
  }
}

const copySpec = (source: string, overrides: Partial<CopySpec> = {}): CopySpec => ({
  sourceImageId: source,
  sourceRegion: 'us-east-1',
  name: 'autoami-web-20240501T120000Z',
  description: 'AutoAMI copy',
  clientToken: 'b-1/eu-west-1',
  encrypted: true,
  kmsKeyId: WEST_KEY,
  tags: { 'autoami:copy-of': source },
  ...overrides,
});

const principalOf = (p: LaunchPermission): string | undefined => p.UserId ?? p.OrganizationArn ?? p.OrganizationalUnitArn ?? p.Group;

const copies = suite('Ec2Adapter copies and regions');

copies('should copy an image into another region once per token, its tags copied and added, encrypted with the given key', () =>
  withRig({}, async (rig) => {
    const source = await baked(rig, 'autoami-web-20240501T120000Z');
    await inRegion(rig, 'eu-west-1', async (west) => {
      const first = await west.copyImage(copySpec(source));
      assert.is(await west.copyImage(copySpec(source)), first, 'the same token, the same copy');
      assert.is(await west.copyImage(copySpec(source, { clientToken: 'b-1/retried' })), first, 'a name taken by the copy is the copy');
      assert.is(rig.ep.inRegion('eu-west-1').images().filter((i) => i.name === 'autoami-web-20240501T120000Z').length, 1);
      assert.is(rig.ep.image(first), undefined, 'the copy lives in eu-west-1 only');

      const copy = await west.waitForImage(first, within());
      assert.equal(copy.tags, { 'autoami:group': 'web', 'autoami:parent-image': DEBIAN_12_IMAGE_ID, 'autoami:copy-of': source });
      assert.is(copy.encrypted, true);
      assert.is(copy.description, 'AutoAMI copy');
      const snapshot = rig.ep.inRegion('eu-west-1').snapshot(copy.snapshotIds[0] ?? '');
      assert.is(snapshot?.kmsKeyId, WEST_KEY);
      assert.is(snapshot?.tags.get('autoami:copy-of'), source);
      assert.is(rig.ep.inRegion('eu-west-1').image(first)?.sourceImageId, source);
    });
  }),
);

copies('should name the source region when the image to copy is not there', () =>
  withRig({}, async (rig) => {
    await inRegion(rig, 'eu-west-1', async (west) => {
      const error = await rejection(west.copyImage(copySpec('ami-0123456789abcdef0')));
      assert.instance(error, Ec2Error);
      assert.is((error as Ec2Error).awsCode, 'InvalidAMIID.NotFound');
      assert.is(error.message, 'image: ami-0123456789abcdef0 does not exist in us-east-1 (InvalidAMIID.NotFound)');
    });
  }),
);

copies('should list every region with its opt-in status, and classify OptInRequired with its code', () =>
  withRig({ endpoint: { notOptedInError: 'OptInRequired' } }, async (rig) => {
    const regions = await rig.ec2.listRegions();
    assert.equal(regions.find((r) => r.name === 'us-east-1'), { name: 'us-east-1', optInStatus: 'opt-in-not-required' });
    assert.equal(regions.find((r) => r.name === 'af-south-1'), { name: 'af-south-1', optInStatus: 'not-opted-in' });
    rig.ep.setOptIn('ap-east-1', true);
    assert.equal((await rig.ec2.listRegions()).find((r) => r.name === 'ap-east-1'), { name: 'ap-east-1', optInStatus: 'opted-in' });

    await inRegion(rig, 'af-south-1', async (cape) => {
      const error = await rejection(cape.copyImage(copySpec(DEBIAN_12_IMAGE_ID, { kmsKeyId: null })));
      assert.instance(error, Ec2Error);
      assert.is((error as Ec2Error).awsCode, 'OptInRequired');
      assert.is((error as Ec2Error).data?.field, 'region');
      assert.match(error.message, 'ec2:CopyImage needs an opt-in: enable af-south-1 or us-east-1 for the account');
    });
  }),
);

const sharing = suite('Ec2Adapter sharing, deprecation and protection');

sharing('should share an image with accounts, organizations and OUs, and its snapshots with the accounts only', () =>
  withRig({}, async (rig) => {
    const imageId = await baked(rig, 'autoami-web-shared');
    await rig.ec2.shareImage(imageId, [ACCOUNT, ORG, OU]);
    await rig.ec2.shareImage(imageId, [ACCOUNT]);

    const launch = await rig.client.send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' }));
    assert.equal((launch.LaunchPermissions ?? []).map(principalOf).sort(), [ACCOUNT, ORG, OU].sort());
    const [image] = (await rig.ec2.describeImages([imageId])).values();
    assert.ok(image?.snapshotIds.length);
    for (const SnapshotId of image?.snapshotIds ?? []) {
      const volumes = await rig.client.send(new DescribeSnapshotAttributeCommand({ SnapshotId, Attribute: 'createVolumePermission' }));
      assert.equal(volumes.CreateVolumePermissions?.map((p) => p.UserId), [ACCOUNT]);
    }
  }),
);

sharing('should refuse a principal that is no account, organization or OU before calling EC2', () =>
  withRig({}, async (rig) => {
    const imageId = await baked(rig, 'autoami-web-unshared');
    rig.ep.counts.reset();
    const error = await rejection(rig.ec2.shareImage(imageId, [ACCOUNT, 'arn:aws:iam::210987654321:root']));
    assert.instance(error, ValidationError);
    assert.is((error as ValidationError).field, 'principals');
    assert.is(rig.ep.counts.total(), 0);
  }),
);

sharing('should schedule deprecation and set protection, both read back by describeImages', () =>
  withRig({}, async (rig) => {
    const imageId = await baked(rig, 'autoami-web-kept');
    const at = Date.now() + 90 * DAY + 20_000;
    await rig.ec2.deprecateImage(imageId, at);
    await rig.ec2.setDeregistrationProtection(imageId, true);
    await rig.ec2.setDeregistrationProtection(imageId, true);

    const image = (await rig.ec2.describeImages([imageId])).get(imageId);
    assert.is(Date.parse(image?.deprecationTime ?? ''), Math.round(at / 60_000) * 60_000, 'EC2 keeps it to the minute');
    assert.is(image?.deregistrationProtection, 'enabled-without-cooldown');
  }),
);

sharing('should refuse to deregister a protected image, and deregister it once protection is disabled', () =>
  withRig({}, async (rig) => {
    const imageId = await baked(rig, 'autoami-web-retired');
    await rig.ec2.setDeregistrationProtection(imageId, true);
    const refused = await rejection(rig.ec2.deregisterImage(imageId));
    assert.is((refused as Ec2Error).awsCode, 'OperationNotPermitted');
    assert.ok(rig.ep.image(imageId), 'still there');

    await rig.ec2.setDeregistrationProtection(imageId, false);
    await rig.ec2.setDeregistrationProtection(imageId, false);
    assert.is((await rig.ec2.describeImages([imageId])).get(imageId)?.deregistrationProtection, 'disabled');
    await rig.ec2.deregisterImage(imageId);
    assert.is(rig.ep.image(imageId), undefined);
  }),
);

const references = suite('Ec2Adapter image references');

/**
 * An image used by a live instance and by the first version of a launch template that has 11
 * newer ones (past DescribeImageReferences' default depth of 10), a terminated instance that
 * used it too, and an image nothing uses.
 */
async function referenced(rig: Rig) {
  const imageId = await baked(rig, 'autoami-web-used');
  const unused = await baked(rig, 'autoami-web-unused');
  const created = await rig.client.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'web', LaunchTemplateData: { ImageId: imageId, InstanceType: 't3.micro' } }));
  const templateId = created.LaunchTemplate?.LaunchTemplateId ?? '';
  for (let n = 0; n < 11; n++) {
    await rig.client.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: templateId, LaunchTemplateData: { ImageId: DEBIAN_12_IMAGE_ID } }));
  }
  const live = await rig.ec2.launch(launchSpec({ image: imageId }));
  const gone = await rig.ec2.launch(launchSpec({ image: imageId }));
  await rig.ec2.terminate([gone.id]);
  const arn = (resource: string) => `arn:aws:ec2:us-east-1:${rig.ep.accountId}:${resource}`;
  const expected = [
    { imageId, resourceType: 'ec2:Instance', arn: arn(`instance/${live.id}`) },
    { imageId, resourceType: 'ec2:LaunchTemplate', arn: arn(`launch-template/${templateId}`) },
  ];
  return { ids: [imageId, unused], expected };
}

references('should find the launch template, in any version, and the live instance that use an image', () =>
  withRig({}, async (rig) => {
    const { ids, expected } = await referenced(rig);
    rig.ep.counts.reset();
    assert.equal(await rig.ec2.imageReferences(ids), expected);
    assert.is(rig.ep.counts.ok('DescribeImageReferences'), 1);
    assert.is(rig.ep.counts.total('DescribeLaunchTemplates'), 0);
    assert.equal(await rig.ec2.imageReferences([]), []);
  }),
);

references('should find the same references from templates and instances where EC2 lacks DescribeImageReferences', () =>
  withRig({ endpoint: { noImageReferences: true } }, async (rig) => {
    const { ids, expected } = await referenced(rig);
    rig.ep.counts.reset();
    assert.equal(await rig.ec2.imageReferences(ids), expected);
    assert.is(rig.ep.counts.errors('DescribeImageReferences', 'InvalidAction'), 1);
    assert.is(rig.ep.counts.ok('DescribeLaunchTemplates'), 1);
    assert.is(rig.ep.counts.ok('DescribeLaunchTemplateVersions'), 1);
  }),
);

references('should take an image that is gone for one nothing uses, and still answer for the others', () =>
  withRig({}, async (rig) => {
    const { ids, expected } = await referenced(rig);
    const gone = await baked(rig, 'autoami-web-gone');
    await rig.ec2.deregisterImage(gone);
    rig.ep.counts.reset();
    assert.equal(await rig.ec2.imageReferences([gone, ...ids]), expected);
    assert.is(rig.ep.counts.errors('DescribeImageReferences', 'InvalidAMIID.NotFound'), 2, 'the three together, then the one alone');
    assert.is(rig.ep.counts.ok('DescribeImageReferences'), 2);
  }),
);

references('should pass on any other failure of DescribeImageReferences with its code', () =>
  withRig({}, async (rig) => {
    const imageId = await baked(rig, 'autoami-web-denied');
    rig.ep.faults.set('DescribeImageReferences', { error: { code: 'UnauthorizedOperation' } });
    const error = await rejection(rig.ec2.imageReferences([imageId]));
    assert.is((error as Ec2Error).awsCode, 'UnauthorizedOperation');
    assert.is(rig.ep.counts.total('DescribeLaunchTemplates'), 0);
  }),
);

const encryption = suite('Ec2Adapter encrypted root');

encryption('should launch with an encrypted root, with the given key or the default one, and image it encrypted', () =>
  withRig({}, async (rig) => {
    const withKey = await running(rig, { encryptRoot: { kmsKeyId: EAST_KEY } });
    assert.is(rig.ep.instance(withKey)?.volume.kmsKeyId, EAST_KEY);
    const imageId = await rig.ec2.createImage(imageSpec(withKey, 'autoami-web-encrypted'));
    const image = await rig.ec2.waitForImage(imageId, within());
    assert.is(image.encrypted, true);
    assert.is(rig.ep.snapshot(image.snapshotIds[0] ?? '')?.kmsKeyId, EAST_KEY);

    const withDefault = await running(rig, { encryptRoot: { kmsKeyId: null } });
    assert.is(rig.ep.instance(withDefault)?.volume.kmsKeyId, defaultKeyArn('us-east-1', rig.ep.accountId));

    const plain = await baked(rig, 'autoami-web-plain');
    assert.is((await rig.ec2.describeImages([plain])).get(plain)?.encrypted, false);
  }),
);

encryption('should name a base image that does not exist before launching anything', () =>
  withRig({}, async (rig) => {
    const error = await rejection(rig.ec2.launch(launchSpec({ image: 'ami-0123456789abcdef0', encryptRoot: { kmsKeyId: null } })));
    assert.is((error as Ec2Error).awsCode, 'InvalidAMIID.NotFound');
    assert.is(rig.ep.counts.total('RunInstances'), 0);
  }),
);

copies.run();
sharing.run();
references.run();
encryption.run();
