/**
 * What carries a baked image beyond its bake: the regions there are, the copy into another
 * region, sharing, deprecation and deregistration protection. Each is one or a few calls
 * through Ec2Calls, so pacing, metrics and failure classification are the same as for
 * the rest of the adapter.
 */
import type { CopyImageCommandInput, LaunchPermission } from '@aws-sdk/client-ec2';
import { Ec2Error, ValidationError } from '../errors.ts';
import { ARN_WORDS, arnPattern } from '../interface/arns.ts';
import { jsPattern, PATTERN_WORDS } from '../interface/patterns.ts';
import type { Call, Ec2Calls } from './calls.ts';
import { isRetryable } from './failures.ts';
import { tagList } from './records.ts';
import type { CopySpec, RegionInfo } from './types.ts';

const ACCOUNT_ID = jsPattern('account_id');
const ORG_ARN = arnPattern('org');
const OU_ARN = arnPattern('ou');

export async function listRegions(calls: Ec2Calls): Promise<RegionInfo[]> {
  // AllRegions: regions the account has not opted in to are wanted too, so a caller can say which ones need it.
  const out = await calls.call({ action: 'DescribeRegions' }, (c, sdk) => c.send(new sdk.DescribeRegionsCommand({ AllRegions: true })));
  return (out.Regions ?? [])
    .flatMap((r) => (r.RegionName ? [{ name: r.RegionName, optInStatus: r.OptInStatus ?? 'opt-in-not-required' }] : []))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function copyContext(spec: CopySpec): Call {
  return { action: 'CopyImage', image: spec.sourceImageId, sourceRegion: spec.sourceRegion };
}

export function copyImageInput(spec: CopySpec): CopyImageCommandInput {
  const tags = tagList(spec.tags);
  return {
    SourceRegion: spec.sourceRegion,
    SourceImageId: spec.sourceImageId,
    Name: spec.name,
    ...(spec.description && { Description: spec.description }),
    // EC2 answers a repeated token with the first copy, so a resumed copy never makes a second image.
    ClientToken: spec.clientToken,
    // The source's own tags (group, bake, parent image) say where the copy came from as well.
    CopyImageTags: true,
    ...(tags.length && { TagSpecifications: [{ ResourceType: 'image', Tags: tags }, { ResourceType: 'snapshot', Tags: tags }] }),
    // Not encrypting is not the same as decrypting: an encrypted source stays encrypted, so Encrypted is only ever sent as true.
    ...(spec.encrypted && { Encrypted: true, ...(spec.kmsKeyId !== null && { KmsKeyId: spec.kmsKeyId }) }),
  };
}

interface Grant {
  readonly permission: LaunchPermission;
  /** Only an account can be given a snapshot's create-volume permission; organizations and OUs reach the image alone. */
  readonly account: string | null;
}

function grantFor(principal: string): Grant {
  if (ACCOUNT_ID.test(principal)) return { permission: { UserId: principal }, account: principal };
  if (ORG_ARN.test(principal)) return { permission: { OrganizationArn: principal }, account: null };
  if (OU_ARN.test(principal)) return { permission: { OrganizationalUnitArn: principal }, account: null };
  const expected = `${PATTERN_WORDS.account_id}, ${ARN_WORDS.org} or ${ARN_WORDS.ou}`;
  throw new ValidationError('principals', `${JSON.stringify(principal)} is not ${expected}`);
}

export async function shareImage(calls: Ec2Calls, id: string, principals: readonly string[]): Promise<void> {
  // Every principal is checked before anything changes, so a typo never leaves a half-shared image.
  const grants = [...new Set(principals)].map(grantFor);
  if (!grants.length) return;
  const image = await calls.imageById(id);
  await calls.call({ action: 'ModifyImageAttribute', image: id }, (c, sdk) =>
    c.send(new sdk.ModifyImageAttributeCommand({ ImageId: id, LaunchPermission: { Add: grants.map((g) => g.permission) } })),
  );
  const accounts = grants.flatMap((g) => (g.account ? [g.account] : []));
  if (!accounts.length) return;
  for (const mapping of image.BlockDeviceMappings ?? []) {
    const snapshot = mapping.Ebs?.SnapshotId;
    if (!snapshot) continue;
    // Without create-volume permission on the snapshots an account may launch the image but not copy it.
    await calls.call({ action: 'ModifySnapshotAttribute', snapshot }, (c, sdk) =>
      c.send(new sdk.ModifySnapshotAttributeCommand({ SnapshotId: snapshot, Attribute: 'createVolumePermission', OperationType: 'add', UserIds: accounts })),
    );
  }
}

export async function deprecateImage(calls: Ec2Calls, id: string, at: number): Promise<void> {
  await calls.call({ action: 'EnableImageDeprecation', image: id }, (c, sdk) =>
    c.send(new sdk.EnableImageDeprecationCommand({ ImageId: id, DeprecateAt: new Date(at) })),
  );
}

/** `enabled-with-cooldown`, `enabled-without-cooldown`; `disabled` and `disabled-until …` are not. */
const isProtected = (value: string | undefined): boolean => value?.startsWith('enabled') ?? false;

export async function setDeregistrationProtection(calls: Ec2Calls, id: string, enabled: boolean): Promise<void> {
  const action = enabled ? 'EnableImageDeregistrationProtection' : 'DisableImageDeregistrationProtection';
  try {
    await calls.call({ action, image: id }, (c, sdk) =>
      c.send(
        enabled
          ? // No cooldown: retention must be able to retire the image as soon as it lifts the protection.
            new sdk.EnableImageDeregistrationProtectionCommand({ ImageId: id, WithCooldown: false })
          : new sdk.DisableImageDeregistrationProtectionCommand({ ImageId: id }),
      ),
    );
  } catch (error) {
    if (!(error instanceof Ec2Error) || isRetryable(error) || error.awsCode.startsWith('InvalidAMIID.')) throw error;
    // EC2 may refuse to set what is already set; the image being as asked is all that counts.
    const image = await calls.imageById(id).catch(() => undefined);
    if (image && isProtected(image.DeregistrationProtection) === enabled) return;
    throw error;
  }
}
