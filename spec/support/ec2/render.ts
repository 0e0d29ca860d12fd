import {
  INSTANCE_STATE_CODES,
  type ImageRecord,
  type InstanceRecord,
  type InstanceStateName,
  type SnapshotRecord,
  type Tags,
} from './model.ts';
import type { StateChange } from './lifecycle.ts';
import type { XmlObject, XmlValue } from './wire.ts';

/** Element names below are the EC2 wire names (`dnsName`, `ipAddress`, `imageState`…), not the SDK's. */

const iso = (ms: number): string => new Date(ms).toISOString();

export function tagSet(tags: Tags): XmlValue[] {
  return [...tags].map(([key, value]) => ({ key, value }));
}

export function stateXml(name: InstanceStateName): XmlObject {
  return { code: INSTANCE_STATE_CODES[name], name };
}

export function instanceXml(i: InstanceRecord): XmlObject {
  return {
    instanceId: i.instanceId,
    imageId: i.imageId,
    instanceState: stateXml(i.state),
    privateDnsName: i.privateDnsName ?? '',
    dnsName: i.publicDnsName ?? '',
    reason: i.stateTransitionReason,
    keyName: i.keyName,
    amiLaunchIndex: i.amiLaunchIndex,
    productCodes: [],
    instanceType: i.instanceType,
    launchTime: iso(i.launchTime),
    placement: { availabilityZone: i.availabilityZone, groupName: '', tenancy: 'default' },
    monitoring: { state: 'disabled' },
    subnetId: i.state === 'terminated' ? undefined : i.subnetId,
    vpcId: i.state === 'terminated' ? undefined : i.vpcId,
    privateIpAddress: i.privateIpAddress,
    ipAddress: i.publicIpAddress,
    sourceDestCheck: true,
    groupSet: i.securityGroups.map((g) => ({ groupId: g.groupId, groupName: g.groupName })),
    stateReason: i.stateReason ? { code: i.stateReason.code, message: i.stateReason.message } : undefined,
    architecture: 'x86_64',
    rootDeviceType: 'ebs',
    rootDeviceName: i.rootDeviceName,
    blockDeviceMapping:
      i.state === 'terminated'
        ? []
        : [
            {
              deviceName: i.rootDeviceName,
              ebs: { volumeId: i.volume.volumeId, status: 'attached', attachTime: iso(i.launchTime), deleteOnTermination: true },
            },
          ],
    virtualizationType: 'hvm',
    clientToken: i.clientToken ?? '',
    tagSet: tagSet(i.tags),
    hypervisor: 'xen',
    ebsOptimized: false,
    enaSupport: true,
    metadataOptions: {
      state: i.state === 'pending' ? 'pending' : 'applied',
      httpTokens: i.metadataOptions.httpTokens,
      httpPutResponseHopLimit: i.metadataOptions.httpPutResponseHopLimit,
      httpEndpoint: i.metadataOptions.httpEndpoint,
      httpProtocolIpv6: 'disabled',
      instanceMetadataTags: 'disabled',
    },
    platformDetails: 'Linux/UNIX',
    usageOperation: 'RunInstances',
  };
}

/** Reservations in the order their first listed instance appears. */
export function reservationSetXml(instances: InstanceRecord[], ownerId: string): XmlValue[] {
  const groups = new Map<string, InstanceRecord[]>();
  for (const i of instances) {
    const group = groups.get(i.reservationId) ?? [];
    group.push(i);
    groups.set(i.reservationId, group);
  }
  return [...groups].map(([reservationId, members]) => reservationXml(reservationId, members, ownerId));
}

export function reservationXml(reservationId: string, instances: InstanceRecord[], ownerId: string): XmlObject {
  return { reservationId, ownerId, groupSet: [], instancesSet: instances.map(instanceXml) };
}

export function stateChangeXml(change: StateChange): XmlObject {
  return { instanceId: change.instanceId, currentState: stateXml(change.current), previousState: stateXml(change.previous) };
}

/**
 * The wording EC2 uses: enable answers `enabled-with(out)-cooldown`, disable `disabled`; a
 * with-cooldown protection that was disabled keeps protecting until `disabled-until <time>`.
 */
export function protectionState(image: ImageRecord, now: number): string {
  const p = image.deregistrationProtection;
  if (p.enabled) return p.cooldown ? 'enabled-with-cooldown' : 'enabled-without-cooldown';
  if (p.until !== undefined && p.until > now) return `disabled-until ${iso(p.until)}`;
  return 'disabled';
}

export function imageXml(image: ImageRecord, now: number): XmlObject {
  return {
    imageId: image.imageId,
    imageLocation: `${image.ownerId}/${image.name}`,
    imageState: image.state,
    imageOwnerId: image.ownerId,
    imageOwnerAlias: image.ownerAlias,
    creationDate: iso(image.createdAt),
    isPublic: image.public,
    architecture: image.architecture,
    imageType: 'machine',
    sourceInstanceId: image.sourceInstanceId,
    sourceImageId: image.sourceImageId,
    sourceImageRegion: image.sourceRegion,
    name: image.name,
    description: image.description,
    rootDeviceType: 'ebs',
    rootDeviceName: image.rootDeviceName,
    blockDeviceMapping: image.blockDevices.map((d) => ({
      deviceName: d.deviceName,
      ebs: {
        snapshotId: d.snapshotId,
        volumeSize: d.volumeSize,
        deleteOnTermination: d.deleteOnTermination,
        volumeType: d.volumeType,
        encrypted: d.encrypted,
      },
    })),
    virtualizationType: 'hvm',
    tagSet: image.tags.size ? tagSet(image.tags) : undefined,
    stateReason: image.stateReason ? { code: image.stateReason.code, message: image.stateReason.message } : undefined,
    hypervisor: 'xen',
    enaSupport: true,
    platformDetails: 'Linux/UNIX',
    usageOperation: 'RunInstances',
    imdsSupport: 'v2.0',
    deprecationTime: image.deprecationTime === undefined ? undefined : iso(image.deprecationTime),
    deregistrationProtection: protectionState(image, now),
  };
}

export function snapshotXml(s: SnapshotRecord): XmlObject {
  return {
    snapshotId: s.snapshotId,
    volumeId: s.volumeId,
    status: s.state,
    startTime: iso(s.createdAt),
    progress: s.progress,
    ownerId: s.ownerId,
    volumeSize: s.volumeSize,
    description: s.description,
    encrypted: s.encrypted,
    kmsKeyId: s.kmsKeyId,
    storageTier: 'standard',
    tagSet: s.tags.size ? tagSet(s.tags) : undefined,
  };
}
