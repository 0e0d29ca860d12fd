import { randomBytes } from 'node:crypto';
import { Ec2Fault } from './errors.ts';

export type InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';
export type ImageStateName = 'pending' | 'available' | 'failed' | 'deregistered';
export type SnapshotStateName = 'pending' | 'completed' | 'error';

/** The numeric codes EC2 pairs with each state name (the high byte is internal and always 0 here). */
export const INSTANCE_STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export type Tags = Map<string, string>;

export interface StateReason {
  code: string;
  message: string;
}

export interface InstanceRecord {
  seq: number;
  createdAt: number;
  instanceId: string;
  reservationId: string;
  imageId: string;
  instanceType: string;
  keyName?: string;
  /** Base64 exactly as sent; endpoint.userData() decodes it. */
  userData?: string;
  state: InstanceStateName;
  stateTransitionReason: string;
  stateReason?: StateReason;
  launchTime: number;
  amiLaunchIndex: number;
  clientToken?: string;
  subnetId: string;
  vpcId: string;
  availabilityZone: string;
  securityGroups: { groupId: string; groupName: string }[];
  privateIpAddress?: string;
  privateDnsName?: string;
  publicIpAddress?: string;
  publicDnsName?: string;
  metadataOptions: { httpTokens: string; httpEndpoint: string; httpPutResponseHopLimit: number };
  rootDeviceName: string;
  volume: VolumeRecord;
  tags: Tags;
  terminatedAt?: number;
}

/** An instance's root volume; its encryption carries over to the snapshots CreateImage takes. */
export interface VolumeRecord {
  volumeId: string;
  sizeGiB: number;
  tags: Tags;
  encrypted: boolean;
  /** Key ARN; present exactly when encrypted. */
  kmsKeyId?: string;
}

export interface ReservationRecord {
  reservationId: string;
  instanceIds: string[];
  clientToken?: string;
  fingerprint?: string;
}

export interface BlockDevice {
  deviceName: string;
  snapshotId: string;
  volumeSize: number;
  volumeType: string;
  deleteOnTermination: boolean;
  /** Mirrors the snapshot's flag: DescribeImages shows it, the key only on the snapshot. */
  encrypted: boolean;
}

export interface ImageRecord {
  seq: number;
  createdAt: number;
  imageId: string;
  name: string;
  description?: string;
  ownerId: string;
  /** `amazon` or `aws-marketplace` on their images, as DescribeImages' imageOwnerAlias and Owners take it. */
  ownerAlias?: string;
  public: boolean;
  state: ImageStateName;
  stateReason?: StateReason;
  architecture: string;
  rootDeviceName: string;
  blockDevices: BlockDevice[];
  tags: Tags;
  sourceInstanceId?: string;
  sourceImageId?: string;
  sourceRegion?: string;
  noReboot?: boolean;
  /** Account ids, organization/OU ARNs and "all" granted launch permission by ModifyImageAttribute. */
  launchPermissions: Set<string>;
  deregisteredAt?: number;
  /** Epoch ms, already rounded to the minute. */
  deprecationTime?: number;
  deregistrationProtection: DeregistrationProtection;
}

/** `until` is the end of the cooldown that disabling a with-cooldown protection leaves behind. */
export interface DeregistrationProtection {
  enabled: boolean;
  cooldown: boolean;
  until?: number;
}

export interface SnapshotRecord {
  seq: number;
  createdAt: number;
  snapshotId: string;
  volumeId: string;
  ownerId: string;
  state: SnapshotStateName;
  progress: string;
  description: string;
  volumeSize: number;
  tags: Tags;
  encrypted: boolean;
  /** Key ARN; present exactly when encrypted. */
  kmsKeyId?: string;
  /** Account ids (and "all") granted createVolumePermission by ModifySnapshotAttribute. */
  createVolumePermissions: Set<string>;
}

/** What a launch template version keeps: the few launch parameters AutoAMI uses. */
export interface LaunchTemplateData {
  imageId?: string;
  instanceType?: string;
  keyName?: string;
  /** Resource type → tags given to what an instance launched from it creates. */
  tagSpecifications: Map<string, Tags>;
}

export interface LaunchTemplateVersionRecord {
  versionNumber: number;
  description?: string;
  createdAt: number;
  data: LaunchTemplateData;
}

export interface LaunchTemplateRecord {
  seq: number;
  createdAt: number;
  launchTemplateId: string;
  name: string;
  createdBy: string;
  defaultVersion: number;
  tags: Tags;
  /** In version order; version N is at index N-1. */
  versions: LaunchTemplateVersionRecord[];
}

export type KeyTypeName = 'rsa' | 'ed25519';

export interface KeyPairRecord {
  seq: number;
  createdAt: number;
  keyPairId: string;
  keyName: string;
  keyType: KeyTypeName;
  fingerprint: string;
  /** OpenSSH one-line form, as DescribeKeyPairs gives it with IncludePublicKey. */
  publicKey: string;
  tags: Tags;
}

/** One rule: a protocol, a port range (none for `-1`) and one source or destination range. */
export interface PermissionRecord {
  ruleId: string;
  ipProtocol: string;
  fromPort?: number;
  toPort?: number;
  cidrIp: string;
  description?: string;
}

export interface SecurityGroupRecord {
  seq: number;
  createdAt: number;
  groupId: string;
  groupName: string;
  description: string;
  vpcId: string;
  ownerId: string;
  ingress: PermissionRecord[];
  egress: PermissionRecord[];
  tags: Tags;
}

export type IdKind = 'i' | 'ami' | 'snap' | 'vol' | 'r' | 'lt' | 'key' | 'sg' | 'sgr';

/** New-style ids: prefix and 17 lower-case hex digits. */
export function newId(kind: IdKind): string {
  return `${kind}-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

const ID_SHAPE: Record<string, { pattern: RegExp; code: string }> = {
  i: { pattern: /^i-([0-9a-f]{8}|[0-9a-f]{17})$/, code: 'InvalidInstanceID.Malformed' },
  ami: { pattern: /^ami-([0-9a-f]{8}|[0-9a-f]{17})$/, code: 'InvalidAMIID.Malformed' },
  snap: { pattern: /^snap-([0-9a-f]{8}|[0-9a-f]{17})$/, code: 'InvalidSnapshotID.Malformed' },
  vol: { pattern: /^vol-([0-9a-f]{8}|[0-9a-f]{17})$/, code: 'InvalidVolumeID.Malformed' },
  lt: { pattern: /^lt-[0-9a-f]{17}$/, code: 'InvalidLaunchTemplateId.Malformed' },
  sg: { pattern: /^sg-([0-9a-f]{8}|[0-9a-f]{17})$/, code: 'InvalidGroupId.Malformed' },
};

/** Old 8-digit ids are still valid; anything else is rejected before any lookup, as EC2 does. */
export function checkId(kind: 'i' | 'ami' | 'snap' | 'vol' | 'lt' | 'sg', id: string): void {
  const shape = ID_SHAPE[kind];
  if (shape && !shape.pattern.test(id)) {
    throw new Ec2Fault(shape.code, `Invalid id: "${id}" (expecting "${kind}-...")`);
  }
}
