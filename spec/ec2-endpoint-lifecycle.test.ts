/** The EC2 endpoint's AMI lifecycle: sharing, deprecation, deregistration protection, references, launch templates. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CopyImageCommand,
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImageReferencesCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSnapshotAttributeCommand,
  DisableImageDeprecationCommand,
  DisableImageDeregistrationProtectionCommand,
  EnableImageDeprecationCommand,
  EnableImageDeregistrationProtectionCommand,
  ModifyImageAttributeCommand,
  ModifyLaunchTemplateCommand,
  ModifySnapshotAttributeCommand,
  TerminateInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import type { Ec2Endpoint } from './support/ec2-endpoint.ts';
import { bakeImage, ID17, launchOne, rejection, withEc2 } from './support/ec2-endpoint-client.ts';

const START = Date.UTC(2024, 4, 1, 12, 0, 0);
const ORG = 'arn:aws:organizations::210987654321:organization/o-abcdefghij';
const OU = 'arn:aws:organizations::210987654321:ou/o-abcdefghij/ou-ab12-cdefghij';
const CUSTOMER_KEY = 'arn:aws:kms:us-east-1:123456789012:key/7f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f';

async function imageOf(ec2: EC2Client, imageId: string) {
  const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
  assert.ok(image, `no image ${imageId}`);
  return image;
}

/** An image whose snapshot is encrypted, by copying a baked one with Encrypted set. */
async function encryptedImage(ep: Ec2Endpoint, ec2: EC2Client, name: string, KmsKeyId?: string): Promise<string> {
  const source = await bakeImage(ep, ec2, `${name}-plain`);
  const { ImageId } = await ec2.send(
    new CopyImageCommand({ SourceImageId: source, SourceRegion: 'us-east-1', Name: name, Encrypted: true, ...(KmsKeyId && { KmsKeyId }) }),
  );
  ep.clock.advance(1000);
  return ImageId as string;
}

// ---------------------------------------------------------------------------------------------

const Sharing = suite('ec2 image and snapshot sharing');

Sharing('should share an image with accounts, organizations and OUs and read them back', () =>
  withEc2({}, async (ep, ec2) => {
    const imageId = await bakeImage(ep, ec2, 'autoami-share-1');
    await ec2.send(
      new ModifyImageAttributeCommand({
        ImageId: imageId,
        LaunchPermission: { Add: [{ UserId: '210987654321' }, { OrganizationArn: ORG }, { OrganizationalUnitArn: OU }] },
      }),
    );
    await ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission', OperationType: 'add', UserIds: ['111122223333'] }));
    const input = { ImageId: imageId, Attribute: 'launchPermission' as const };
    const read = async () => (await ec2.send(new DescribeImageAttributeCommand(input))).LaunchPermissions;
    assert.equal(await read(), [{ UserId: '210987654321' }, { OrganizationArn: ORG }, { OrganizationalUnitArn: OU }, { UserId: '111122223333' }]);
    await ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Remove: [{ OrganizationArn: ORG }, { UserId: '210987654321' }] } }));
    assert.equal(await read(), [{ OrganizationalUnitArn: OU }, { UserId: '111122223333' }]);
    const malformed = await rejection(ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: [{ UserId: '12-34' }] } })));
    assert.is(malformed.name, 'InvalidAMIAttributeItemValue');
    const badOrg = await rejection(ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, OrganizationArns: ['arn:aws:organizations::1:org'], Attribute: 'launchPermission', OperationType: 'add' })));
    assert.is(badOrg.name, 'InvalidAMIAttributeItemValue');
    assert.equal(await read(), [{ OrganizationalUnitArn: OU }, { UserId: '111122223333' }]);
  }),
);

Sharing('should share snapshots in both request shapes and read createVolumePermission back', () =>
  withEc2({}, async (ep, ec2) => {
    const imageId = await bakeImage(ep, ec2, 'autoami-share-2');
    const snapshotId = ep.image(imageId)?.blockDevices[0]?.snapshotId as string;
    await ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: 'createVolumePermission', OperationType: 'add', UserIds: ['210987654321'] }));
    await ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId: snapshotId, CreateVolumePermission: { Add: [{ UserId: '111122223333' }] } }));
    const input = { SnapshotId: snapshotId, Attribute: 'createVolumePermission' as const };
    const read = async () => (await ec2.send(new DescribeSnapshotAttributeCommand(input))).CreateVolumePermissions;
    assert.equal(await read(), [{ UserId: '210987654321' }, { UserId: '111122223333' }]);
    await ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId: snapshotId, CreateVolumePermission: { Remove: [{ UserId: '210987654321' }] } }));
    assert.equal(await read(), [{ UserId: '111122223333' }]);
    const both = await rejection(
      ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId: snapshotId, CreateVolumePermission: { Add: [{ UserId: '210987654321' }], Remove: [{ UserId: '111122223333' }] } })),
    );
    assert.is(both.name, 'InvalidParameterCombination');
    const malformed = await rejection(ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId: snapshotId, CreateVolumePermission: { Add: [{ UserId: 'someone' }] } })));
    assert.is(malformed.name, 'InvalidUserID.Malformed');
  }),
);

Sharing('should refuse to share what the AWS-managed key encrypts, but not a customer key', () =>
  withEc2({}, async (ep, ec2) => {
    const managed = await encryptedImage(ep, ec2, 'autoami-enc-1');
    const managedSnapshot = ep.image(managed)?.blockDevices[0]?.snapshotId as string;
    const snapshotRefusal = await rejection(
      ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId: managedSnapshot, CreateVolumePermission: { Add: [{ UserId: '210987654321' }] } })),
    );
    assert.is(snapshotRefusal.name, 'OperationNotPermitted');
    assert.match(snapshotRefusal.message, /default key/);
    const imageRefusal = await rejection(ec2.send(new ModifyImageAttributeCommand({ ImageId: managed, LaunchPermission: { Add: [{ UserId: '210987654321' }] } })));
    assert.is(imageRefusal.name, 'InvalidParameter');
    assert.equal(ep.image(managed)?.launchPermissions, new Set());

    const customer = await encryptedImage(ep, ec2, 'autoami-enc-2', CUSTOMER_KEY);
    const customerSnapshot = ep.image(customer)?.blockDevices[0]?.snapshotId as string;
    await ec2.send(new ModifyImageAttributeCommand({ ImageId: customer, LaunchPermission: { Add: [{ UserId: '210987654321' }] } }));
    await ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId: customerSnapshot, CreateVolumePermission: { Add: [{ UserId: '210987654321' }] } }));
    assert.equal(ep.snapshot(customerSnapshot)?.createVolumePermissions, new Set(['210987654321']));
    const isPublic = await rejection(ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId: customerSnapshot, CreateVolumePermission: { Add: [{ Group: 'all' }] } })));
    assert.is(isPublic.name, 'OperationNotPermitted');
  }),
);

Sharing.run();

// ---------------------------------------------------------------------------------------------

const Deprecation = suite('ec2 image deprecation');

Deprecation('should round DeprecateAt to the nearest minute and show it in DescribeImages', () =>
  withEc2({ startTime: START }, async (ep, ec2) => {
    const imageId = await bakeImage(ep, ec2, 'autoami-old-1');
    const reply = await ec2.send(new EnableImageDeprecationCommand({ ImageId: imageId, DeprecateAt: new Date(START + 86_400_000 + 31_000) }));
    assert.is(reply.Return, true);
    assert.is((await imageOf(ec2, imageId)).DeprecationTime, '2024-05-02T12:01:00.000Z');
    await ec2.send(new EnableImageDeprecationCommand({ ImageId: imageId, DeprecateAt: new Date(START + 86_400_000 + 29_000) }));
    assert.is((await imageOf(ec2, imageId)).DeprecationTime, '2024-05-02T12:00:00.000Z');
    await ec2.send(new DisableImageDeprecationCommand({ ImageId: imageId }));
    assert.is((await imageOf(ec2, imageId)).DeprecationTime, undefined);
  }),
);

Deprecation('should refuse a time in the past or more than ten years ahead', () =>
  withEc2({ startTime: START }, async (ep, ec2) => {
    const imageId = await bakeImage(ep, ec2, 'autoami-old-2');
    const past = await rejection(ec2.send(new EnableImageDeprecationCommand({ ImageId: imageId, DeprecateAt: new Date(START - 60_000) })));
    assert.is(past.name, 'InvalidParameterValue');
    const far = await rejection(ec2.send(new EnableImageDeprecationCommand({ ImageId: imageId, DeprecateAt: new Date(Date.UTC(2034, 5, 1)) })));
    assert.is(far.name, 'InvalidParameterValue');
    assert.is(ep.image(imageId)?.deprecationTime, undefined);
  }),
);

Deprecation.run();

// ---------------------------------------------------------------------------------------------

const Protection = suite('ec2 deregistration protection');

Protection('should refuse DeregisterImage while protected and report the state', () =>
  withEc2({}, async (ep, ec2) => {
    const imageId = await bakeImage(ep, ec2, 'autoami-keep-1');
    assert.is((await imageOf(ec2, imageId)).DeregistrationProtection, 'disabled');
    const enabled = await ec2.send(new EnableImageDeregistrationProtectionCommand({ ImageId: imageId }));
    assert.is(enabled.Return, 'enabled-without-cooldown');
    assert.is((await imageOf(ec2, imageId)).DeregistrationProtection, 'enabled-without-cooldown');
    const refused = await rejection(ec2.send(new DeregisterImageCommand({ ImageId: imageId })));
    assert.is(refused.name, 'OperationNotPermitted');
    const disabled = await ec2.send(new DisableImageDeregistrationProtectionCommand({ ImageId: imageId }));
    assert.is(disabled.Return, 'disabled');
    await ec2.send(new DeregisterImageCommand({ ImageId: imageId }));
    assert.is(ep.image(imageId), undefined);
  }),
);

Protection('should keep protecting for 24 hours after a with-cooldown protection is disabled', () =>
  withEc2({ startTime: START }, async (ep, ec2) => {
    const imageId = await bakeImage(ep, ec2, 'autoami-keep-2');
    const enabled = await ec2.send(new EnableImageDeregistrationProtectionCommand({ ImageId: imageId, WithCooldown: true }));
    assert.is(enabled.Return, 'enabled-with-cooldown');
    const disabled = await ec2.send(new DisableImageDeregistrationProtectionCommand({ ImageId: imageId }));
    const until = new Date(ep.clock.now() + 86_400_000).toISOString();
    assert.is(disabled.Return, `disabled-until ${until}`);
    assert.is((await imageOf(ec2, imageId)).DeregistrationProtection, `disabled-until ${until}`);
    ep.clock.advance(86_400_000 - 1);
    assert.is((await rejection(ec2.send(new DeregisterImageCommand({ ImageId: imageId })))).name, 'OperationNotPermitted');
    ep.clock.advance(1);
    assert.is((await imageOf(ec2, imageId)).DeregistrationProtection, 'disabled');
    await ec2.send(new DeregisterImageCommand({ ImageId: imageId }));
  }),
);

Protection.run();

// ---------------------------------------------------------------------------------------------

const References = suite('ec2 DescribeImageReferences');

References('should find the instances and launch templates that use an image', () =>
  withEc2({}, async (ep, ec2) => {
    const imageId = await bakeImage(ep, ec2, 'autoami-ref-1');
    const other = await bakeImage(ep, ec2, 'autoami-ref-2');
    const instanceId = await launchOne(ec2, { ImageId: imageId });
    const { LaunchTemplate } = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'web', LaunchTemplateData: { ImageId: imageId } }));
    await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'db-1', LaunchTemplateData: { ImageId: other } }));
    const reply = await ec2.send(new DescribeImageReferencesCommand({ ImageIds: [imageId], IncludeAllResourceTypes: true }));
    assert.equal(reply.ImageReferences, [
      { ImageId: imageId, ResourceType: 'ec2:Instance', Arn: `arn:aws:ec2:us-east-1:${ep.accountId}:instance/${instanceId}` },
      { ImageId: imageId, ResourceType: 'ec2:LaunchTemplate', Arn: `arn:aws:ec2:us-east-1:${ep.accountId}:launch-template/${LaunchTemplate?.LaunchTemplateId}` },
    ]);
    const missing = await rejection(ec2.send(new DescribeImageReferencesCommand({ ImageIds: [imageId] })));
    assert.is(missing.name, 'MissingParameter');
  }),
);

References('should narrow by state-name and version-depth and page the results', () =>
  withEc2({}, async (ep, ec2) => {
    const imageId = await bakeImage(ep, ec2, 'autoami-ref-3');
    const other = await bakeImage(ep, ec2, 'autoami-ref-4');
    const stopped = await launchOne(ec2, { ImageId: imageId });
    const running = await launchOne(ec2, { ImageId: imageId });
    ep.clock.advance(1000);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [stopped] }));
    ep.clock.advance(1000);
    const template = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'api', LaunchTemplateData: { ImageId: imageId } }));
    const id = template.LaunchTemplate?.LaunchTemplateId as string;
    await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, LaunchTemplateData: { ImageId: other } }));
    const refs = async (options: { depth?: string; states?: string[]; MaxResults?: number; NextToken?: string }) =>
      ec2.send(
        new DescribeImageReferencesCommand({
          ImageIds: [imageId],
          ResourceTypes: [
            { ResourceType: 'ec2:Instance', ...(options.states && { ResourceTypeOptions: [{ OptionName: 'state-name', OptionValues: options.states }] }) },
            { ResourceType: 'ec2:LaunchTemplate', ...(options.depth && { ResourceTypeOptions: [{ OptionName: 'version-depth', OptionValues: [options.depth] }] }) },
          ],
          ...(options.MaxResults && { MaxResults: options.MaxResults }),
          ...(options.NextToken && { NextToken: options.NextToken }),
        }),
      );
    const arns = (reply: Awaited<ReturnType<typeof refs>>) => (reply.ImageReferences ?? []).map((r) => r.Arn?.split('/')[1]);
    assert.equal(arns(await refs({})), [stopped, running, id]);
    assert.equal(arns(await refs({ states: ['running'], depth: '1' })), [running]);
    const first = await refs({ MaxResults: 2 });
    assert.equal(arns(first), [stopped, running]);
    assert.equal(arns(await refs({ MaxResults: 2, NextToken: first.NextToken as string })), [id]);
    const bad = await rejection(refs({ depth: '0' }));
    assert.is(bad.name, 'InvalidParameterValue');
  }),
);

References('should answer InvalidAction when switched off, so callers can fall back', async () => {
  await withEc2({ noImageReferences: true }, async (ep, ec2) => {
    const imageId = await bakeImage(ep, ec2, 'autoami-ref-5');
    const off = await rejection(ec2.send(new DescribeImageReferencesCommand({ ImageIds: [imageId], IncludeAllResourceTypes: true })));
    assert.is(off.name, 'InvalidAction');
    ep.faults.clear('DescribeImageReferences');
    assert.equal((await ec2.send(new DescribeImageReferencesCommand({ ImageIds: [imageId], IncludeAllResourceTypes: true }))).ImageReferences, []);
    ep.faults.set('DescribeImageReferences', { unsupported: true });
    assert.is(ep.counts.errors('DescribeImageReferences', 'InvalidAction'), 1);
  });
});

References.run();

// ---------------------------------------------------------------------------------------------

const Templates = suite('ec2 launch templates');

Templates('should create a launch template and describe it by id, name and filter', () =>
  withEc2({ startTime: START }, async (ep, ec2) => {
    const imageId = await bakeImage(ep, ec2, 'autoami-lt-1');
    const created = await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'autoami-web',
        VersionDescription: 'first bake',
        LaunchTemplateData: {
          ImageId: imageId,
          InstanceType: 't3.small',
          KeyName: 'ops',
          TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'web' }] }],
        },
        TagSpecifications: [{ ResourceType: 'launch-template', Tags: [{ Key: 'autoami:group', Value: 'web' }] }],
      }),
    );
    const { LaunchTemplateId, ...template } = created.LaunchTemplate ?? {};
    assert.match(LaunchTemplateId ?? '', ID17('lt'));
    assert.equal(template, {
      LaunchTemplateName: 'autoami-web',
      CreateTime: new Date(ep.clock.now()),
      CreatedBy: `arn:aws:iam::${ep.accountId}:root`,
      DefaultVersionNumber: 1,
      LatestVersionNumber: 1,
      Tags: [{ Key: 'autoami:group', Value: 'web' }],
    });
    assert.is(created.Warning, undefined);
    const byId = await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [LaunchTemplateId as string] }));
    assert.is(byId.LaunchTemplates?.[0]?.LaunchTemplateName, 'autoami-web');
    const byFilter = await ec2.send(new DescribeLaunchTemplatesCommand({ Filters: [{ Name: 'tag:autoami:group', Values: ['web'] }] }));
    assert.is(byFilter.LaunchTemplates?.length, 1);
    const version = (await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'autoami-web' }))).LaunchTemplateVersions?.[0];
    assert.is(version?.VersionDescription, 'first bake');
    assert.is(version?.DefaultVersion, true);
    assert.equal(version?.LaunchTemplateData, {
      ImageId: imageId,
      InstanceType: 't3.small',
      KeyName: 'ops',
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'web' }] }],
    });
    const unknownName = await rejection(ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: ['nope'] })));
    assert.is(unknownName.name, 'InvalidLaunchTemplateName.NotFoundException');
    const unknownId = await rejection(ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: ['lt-0123456789abcdef0'] })));
    assert.is(unknownId.name, 'InvalidLaunchTemplateId.NotFound');
  }),
);

Templates('should add versions from a source version and move the default', () =>
  withEc2({}, async (ep, ec2) => {
    const first = await bakeImage(ep, ec2, 'autoami-lt-2');
    const second = await bakeImage(ep, ec2, 'autoami-lt-3');
    const { LaunchTemplate } = await ec2.send(
      new CreateLaunchTemplateCommand({ LaunchTemplateName: 'app', LaunchTemplateData: { ImageId: first, InstanceType: 't3.micro' } }),
    );
    const id = LaunchTemplate?.LaunchTemplateId as string;
    const v2 = await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, SourceVersion: '$Latest', LaunchTemplateData: { ImageId: second } }));
    assert.equal(v2.LaunchTemplateVersion?.LaunchTemplateData, { ImageId: second, InstanceType: 't3.micro' });
    assert.is(v2.LaunchTemplateVersion?.VersionNumber, 2);
    assert.is(v2.LaunchTemplateVersion?.DefaultVersion, false);
    const v3 = await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateName: 'app', LaunchTemplateData: { ImageId: second } }));
    assert.equal(v3.LaunchTemplateVersion?.LaunchTemplateData, { ImageId: second });
    const modified = await ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: id, DefaultVersion: '2' }));
    assert.equal([modified.LaunchTemplate?.DefaultVersionNumber, modified.LaunchTemplate?.LaunchTemplateName], [2, 'app']);
    const versions = async (Versions: string[]) =>
      ((await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id, Versions }))).LaunchTemplateVersions ?? []).map((v) => v.VersionNumber);
    assert.equal(await versions(['$Default']), [2]);
    assert.equal(await versions(['$Latest', '1']), [3, 1]);
    assert.equal(await versions([]), [3, 2, 1]);
    const missing = await rejection(ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: id, DefaultVersion: '9' })));
    assert.is(missing.name, 'InvalidLaunchTemplateId.VersionNotFound');
    const both = await rejection(ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, LaunchTemplateName: 'app', LaunchTemplateData: {} })));
    assert.is(both.name, 'InvalidParameterCombination');
  }),
);

Templates('should describe $Latest and $Default across templates and filter by image-id', () =>
  withEc2({}, async (ep, ec2) => {
    const old = await bakeImage(ep, ec2, 'autoami-lt-4');
    const fresh = await bakeImage(ep, ec2, 'autoami-lt-5');
    for (const name of ['a', 'b']) {
      await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: `tpl-${name}`, LaunchTemplateData: { ImageId: old } }));
    }
    await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateName: 'tpl-a', LaunchTemplateData: { ImageId: fresh } }));
    const list = async (Versions: string[], image?: string) => {
      const Filters = image ? [{ Name: 'image-id', Values: [image] }] : undefined;
      const reply = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ Versions, Filters }));
      return (reply.LaunchTemplateVersions ?? []).map((v) => `${v.LaunchTemplateName}:${v.VersionNumber}`);
    };
    assert.equal(await list(['$Latest']), ['tpl-a:2', 'tpl-b:1']);
    assert.equal(await list(['$Default']), ['tpl-a:1', 'tpl-b:1']);
    assert.equal(await list(['$Latest', '$Default'], old), ['tpl-a:1', 'tpl-b:1']);
    const numbered = await rejection(ec2.send(new DescribeLaunchTemplateVersionsCommand({ Versions: ['1'] })));
    assert.is(numbered.name, 'InvalidParameterValue');
  }),
);

Templates('should keep ClientToken idempotent and refuse duplicate or malformed names', () =>
  withEc2({}, async (ep, ec2) => {
    const imageId = await bakeImage(ep, ec2, 'autoami-lt-6');
    const create = (ImageId: string) =>
      ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'once', ClientToken: 'tok-1', LaunchTemplateData: { ImageId } }));
    const first = await create(imageId);
    assert.is((await create(imageId)).LaunchTemplate?.LaunchTemplateId, first.LaunchTemplate?.LaunchTemplateId);
    assert.is(ep.launchTemplates().length, 1);
    assert.is((await rejection(create('ami-0123456789abcdef0'))).name, 'IdempotentParameterMismatch');
    const duplicate = await rejection(ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'once', LaunchTemplateData: { ImageId: imageId } })));
    assert.is(duplicate.name, 'InvalidLaunchTemplateName.AlreadyExistsException');
    const malformed = await rejection(ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'a!', LaunchTemplateData: {} })));
    assert.is(malformed.name, 'InvalidLaunchTemplateName.MalformedException');
    // An AMI EC2 cannot find is kept, with a warning rather than a refusal.
    const warned = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'ghost', LaunchTemplateData: { ImageId: 'ami-0123456789abcdef0' } }));
    assert.is(warned.Warning?.Errors?.[0]?.Code, 'InvalidAMIID.NotFound');
  }),
);

Templates('should page templates and versions', () =>
  withEc2({}, async (_ep, ec2) => {
    const data = { InstanceType: 't3.micro' as const };
    for (let n = 0; n < 3; n++) await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: `page-${n}`, LaunchTemplateData: data }));
    for (let n = 0; n < 2; n++) await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateName: 'page-0', LaunchTemplateData: data }));
    const first = await ec2.send(new DescribeLaunchTemplatesCommand({ MaxResults: 2 }));
    const rest = await ec2.send(new DescribeLaunchTemplatesCommand({ MaxResults: 2, NextToken: first.NextToken }));
    assert.equal([...(first.LaunchTemplates ?? []), ...(rest.LaunchTemplates ?? [])].map((t) => t.LaunchTemplateName), ['page-0', 'page-1', 'page-2']);
    assert.is(rest.NextToken, undefined);
    const v1 = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'page-0', MaxResults: 2 }));
    const v2 = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'page-0', MaxResults: 2, NextToken: v1.NextToken }));
    assert.equal([...(v1.LaunchTemplateVersions ?? []), ...(v2.LaunchTemplateVersions ?? [])].map((v) => v.VersionNumber), [3, 2, 1]);
    const tooMany = await rejection(ec2.send(new DescribeLaunchTemplatesCommand({ MaxResults: 201 })));
    assert.is(tooMany.name, 'InvalidParameterValue');
  }),
);

Templates.run();
