/** SDK shapes → the plain records the rest of the sidecar uses (runtime/ec2/types.ts). */
import type { BlockDeviceMapping, Image, Instance, Tag } from '@aws-sdk/client-ec2';
import type { ImageInfo, InstanceInfo, Tags } from './types.ts';

export function tagsOf(tags: readonly Tag[] | undefined): Tags {
  const out: Record<string, string> = {};
  for (const tag of tags ?? []) if (tag.Key !== undefined) out[tag.Key] = tag.Value ?? '';
  return out;
}

/** The SDK → EC2 direction: a plain object as a Tag list. */
export function tagList(tags: Tags): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

// EC2 answers "" for a DNS name it has not assigned yet; callers want "none".
const orNull = (value: string | undefined): string | null => (value === undefined || value === '' ? null : value);

function iso(value: Date | string | undefined): string | null {
  if (value === undefined) return null;
  return value instanceof Date ? value.toISOString() : value;
}

export function toInstanceInfo(instance: Instance): InstanceInfo {
  return {
    id: instance.InstanceId ?? '',
    state: instance.State?.Name ?? 'unknown',
    imageId: instance.ImageId ?? '',
    type: instance.InstanceType ?? '',
    publicDns: orNull(instance.PublicDnsName),
    publicIp: orNull(instance.PublicIpAddress),
    privateIp: orNull(instance.PrivateIpAddress),
    launchTime: iso(instance.LaunchTime),
    rootDeviceType: orNull(instance.RootDeviceType),
    tags: tagsOf(instance.Tags),
  };
}

/** "Server.InternalError: Internal error", or whichever half EC2 gave. */
function stateReasonText(reason: { Code?: string; Message?: string } | undefined): string | null {
  if (!reason) return null;
  const parts = [reason.Code, reason.Message].filter((p): p is string => p !== undefined && p !== '');
  return parts.length ? parts.join(': ') : null;
}

/** An image with no EBS volume at all (instance store) is not called encrypted: nothing of it is. */
function allEncrypted(mappings: readonly BlockDeviceMapping[] | undefined): boolean {
  const volumes = (mappings ?? []).flatMap((m) => (m.Ebs ? [m.Ebs] : []));
  return volumes.length > 0 && volumes.every((ebs) => ebs.Encrypted === true);
}

export function toImageInfo(image: Image): ImageInfo {
  return {
    id: image.ImageId ?? '',
    name: image.Name ?? '',
    state: image.State ?? 'unknown',
    stateReason: stateReasonText(image.StateReason),
    architecture: orNull(image.Architecture),
    description: orNull(image.Description),
    public: image.Public ?? false,
    rootDeviceType: orNull(image.RootDeviceType),
    creationDate: orNull(image.CreationDate),
    ownerId: orNull(image.OwnerId),
    snapshotIds: (image.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [])),
    encrypted: allEncrypted(image.BlockDeviceMappings),
    deprecationTime: orNull(image.DeprecationTime),
    deregistrationProtection: orNull(image.DeregistrationProtection),
    tags: tagsOf(image.Tags),
  };
}
