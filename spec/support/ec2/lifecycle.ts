import { Ec2Fault } from './errors.ts';
import { newId, type InstanceRecord, type InstanceStateName, type ReservationRecord, type StateReason, type Tags } from './model.ts';
import type { Ec2State } from './state.ts';

export const DEFAULT_SUBNET = 'subnet-0a1b2c3d4e5f60718';
export const DEFAULT_VPC = 'vpc-0a1b2c3d4e5f60718';
export const DEFAULT_SECURITY_GROUP = { groupId: 'sg-0a1b2c3d4e5f60718', groupName: 'default' };

export interface LaunchRequest {
  imageId: string;
  count: number;
  instanceType: string;
  keyName?: string;
  userData?: string;
  subnetId?: string;
  securityGroups: { groupId: string; groupName: string }[];
  httpTokens: string;
  httpEndpoint: string;
  httpPutResponseHopLimit: number;
  clientToken?: string;
  fingerprint: string;
  instanceTags: Tags;
  volumeTags: Tags;
  volumeSizeGiB: number;
  volumeEncrypted: boolean;
  /** Key ARN, when encrypted. */
  volumeKmsKeyId?: string;
  /** The root volume's key cannot be used: the instance dies while it starts, as on EC2. */
  volumeKeyUnusable?: boolean;
}

/** What EC2 reports when the root volume's KMS key cannot be used (seen on the wire). */
const KEY_FAILURE: StateReason = {
  code: 'Client.InternalError',
  message: 'Client.InvalidKMSKey.InvalidState: The KMS key provided is in an incorrect state',
};

export interface StateChange {
  instanceId: string;
  previous: InstanceStateName;
  current: InstanceStateName;
}

/** "User initiated (2024-05-01 12:00:00 GMT)", the shape EC2 puts in stateTransitionReason. */
function userInitiated(now: number): string {
  return `User initiated (${new Date(now).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' GMT')})`;
}

export function launch(state: Ec2State, req: LaunchRequest): ReservationRecord {
  const reservation: ReservationRecord = { reservationId: newId('r'), instanceIds: [] };
  if (req.clientToken !== undefined) {
    reservation.clientToken = req.clientToken;
    reservation.fingerprint = req.fingerprint;
    state.runTokens.set(req.clientToken, reservation.reservationId);
  }
  const now = state.clock.now();
  for (let n = 0; n < req.count; n++) {
    const instanceId = newId('i');
    const privateAddress = state.nextPrivateAddress();
    const instance: InstanceRecord = {
      seq: state.nextSeq(),
      createdAt: now,
      instanceId,
      reservationId: reservation.reservationId,
      imageId: req.imageId,
      instanceType: req.instanceType,
      state: 'pending',
      stateTransitionReason: '',
      launchTime: now,
      amiLaunchIndex: n,
      subnetId: req.subnetId ?? DEFAULT_SUBNET,
      vpcId: DEFAULT_VPC,
      availabilityZone: `${state.options.region}a`,
      securityGroups: req.securityGroups.length ? req.securityGroups : [DEFAULT_SECURITY_GROUP],
      // EC2 assigns the private address at launch; the public one only once the instance runs.
      privateIpAddress: privateAddress.ip,
      privateDnsName: privateAddress.dnsName,
      metadataOptions: {
        httpTokens: req.httpTokens,
        httpEndpoint: req.httpEndpoint,
        httpPutResponseHopLimit: req.httpPutResponseHopLimit,
      },
      rootDeviceName: '/dev/xvda',
      volume: {
        volumeId: newId('vol'),
        sizeGiB: req.volumeSizeGiB,
        tags: new Map(req.volumeTags),
        encrypted: req.volumeEncrypted,
        ...(req.volumeKmsKeyId !== undefined && { kmsKeyId: req.volumeKmsKeyId }),
      },
      tags: new Map(req.instanceTags),
    };
    if (req.keyName !== undefined) instance.keyName = req.keyName;
    if (req.userData !== undefined) instance.userData = req.userData;
    if (req.clientToken !== undefined) instance.clientToken = req.clientToken;
    state.instances.set(instanceId, instance);
    reservation.instanceIds.push(instanceId);
    state.clock.after(state.delayMs('boot'), () => {
      if (instance.state !== 'pending') return;
      if (req.volumeKeyUnusable) {
        endAtLaunch(state, instance, KEY_FAILURE);
        return;
      }
      const address = state.nextPublicAddress(instanceId);
      instance.state = 'running';
      instance.publicIpAddress = address.ip;
      instance.publicDnsName = address.dnsName;
    });
  }
  state.reservations.set(reservation.reservationId, reservation);
  return reservation;
}

function endAtLaunch(state: Ec2State, instance: InstanceRecord, reason: StateReason): void {
  instance.state = 'terminated';
  instance.stateTransitionReason = 'Server.InternalError';
  instance.stateReason = reason;
  instance.terminatedAt = state.clock.now();
  delete instance.privateIpAddress;
  instance.privateDnsName = '';
  state.clock.after(state.options.terminatedVisibleMs, () => state.instances.delete(instance.instanceId));
}

export function stop(state: Ec2State, instance: InstanceRecord): StateChange {
  const previous = instance.state;
  if (previous === 'stopping' || previous === 'stopped') return { instanceId: instance.instanceId, previous, current: previous };
  if (previous !== 'running') {
    throw new Ec2Fault(
      'IncorrectInstanceState',
      `This instance '${instance.instanceId}' is not in a state from which it can be stopped.`,
    );
  }
  instance.state = 'stopping';
  instance.stateTransitionReason = userInitiated(state.clock.now());
  instance.stateReason = { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' };
  state.clock.after(state.delayMs('stop'), () => {
    if (instance.state !== 'stopping') return;
    instance.state = 'stopped';
    delete instance.publicIpAddress;
    instance.publicDnsName = '';
  });
  return { instanceId: instance.instanceId, previous, current: 'stopping' };
}

export function terminate(state: Ec2State, instance: InstanceRecord): StateChange {
  const previous = instance.state;
  if (previous === 'shutting-down' || previous === 'terminated') {
    return { instanceId: instance.instanceId, previous, current: previous };
  }
  instance.state = 'shutting-down';
  instance.stateTransitionReason = userInitiated(state.clock.now());
  instance.stateReason = { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' };
  state.clock.after(state.delayMs('terminate'), () => {
    instance.state = 'terminated';
    instance.terminatedAt = state.clock.now();
    delete instance.publicIpAddress;
    delete instance.privateIpAddress;
    instance.publicDnsName = '';
    instance.privateDnsName = '';
    state.clock.after(state.options.terminatedVisibleMs, () => state.instances.delete(instance.instanceId));
  });
  return { instanceId: instance.instanceId, previous, current: 'shutting-down' };
}
