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
  volume: { volumeId: string; sizeGiB: number; tags: Tags };
  tags: Tags;
  terminatedAt?: number;
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
}

export interface ImageRecord {
  seq: number;
  createdAt: number;
  imageId: string;
  name: string;
  description?: string;
  ownerId: string;
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
  /** Account ids (and "all") granted launch permission by ModifyImageAttribute. */
  launchPermissions: Set<string>;
  deregisteredAt?: number;
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
}

export type IdKind = 'i' | 'ami' | 'snap' | 'vol' | 'r';

/** New-style ids: prefix and 17 lower-case hex digits. */
export function newId(kind: IdKind): string {
  return `${kind}-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

const ID_SHAPE: Record<string, { pattern: RegExp; code: string }> = {
  i: { pattern: /^i-([0-9a-f]{8}|[0-9a-f]{17})$/, code: 'InvalidInstanceID.Malformed' },
  ami: { pattern: /^ami-([0-9a-f]{8}|[0-9a-f]{17})$/, code: 'InvalidAMIID.Malformed' },
  snap: { pattern: /^snap-([0-9a-f]{8}|[0-9a-f]{17})$/, code: 'InvalidSnapshotID.Malformed' },
  vol: { pattern: /^vol-([0-9a-f]{8}|[0-9a-f]{17})$/, code: 'InvalidVolumeID.Malformed' },
};

/** Old 8-digit ids are still valid; anything else is rejected before any lookup, as EC2 does. */
export function checkId(kind: 'i' | 'ami' | 'snap' | 'vol', id: string): void {
  const shape = ID_SHAPE[kind];
  if (shape && !shape.pattern.test(id)) {
    throw new Ec2Fault(shape.code, `Invalid id: "${id}" (expecting "${kind}-...")`);
  }
}
