/** What an Auto Scaling group points at: a launch template and a version spec (`$Default`, `$Latest`, `3`). */
export interface LaunchTemplateRef {
  launchTemplateId: string;
  launchTemplateName: string;
  version: string;
}

export interface AutoScalingGroupRecord {
  name: string;
  arn: string;
  region: string;
  createdAt: number;
  launchTemplate: LaunchTemplateRef;
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  defaultCooldown: number;
  availabilityZones: string[];
  healthCheckType: 'EC2' | 'ELB';
  healthCheckGracePeriod: number;
  tags: Map<string, { value: string; propagateAtLaunch: boolean }>;
}

export type InstanceRefreshStatus =
  | 'Pending'
  | 'InProgress'
  | 'Successful'
  | 'Failed'
  | 'Cancelling'
  | 'Cancelled'
  | 'RollbackInProgress'
  | 'RollbackFailed'
  | 'RollbackSuccessful'
  | 'Baking';

/** A refresh in one of these blocks StartInstanceRefresh on its group. */
export const ACTIVE_STATUSES: ReadonlySet<InstanceRefreshStatus> = new Set([
  'Pending',
  'InProgress',
  'Cancelling',
  'RollbackInProgress',
  'Baking',
]);

/** CancelInstanceRefresh only stops a refresh that is still replacing instances. */
export const CANCELLABLE_STATUSES: ReadonlySet<InstanceRefreshStatus> = new Set(['Pending', 'InProgress', 'Baking']);

export interface RefreshPreferencesRecord {
  minHealthyPercentage: number;
  maxHealthyPercentage: number;
  instanceWarmup?: number;
  checkpointPercentages?: number[];
  checkpointDelay?: number;
  skipMatching: boolean;
  autoRollback: boolean;
  scaleInProtectedInstances: 'Refresh' | 'Ignore' | 'Wait';
  standbyInstances: 'Terminate' | 'Ignore' | 'Wait';
  bakeTime: number;
}

export interface RollbackDetailsRecord {
  rollbackReason: string;
  rollbackStartTime: number;
  percentageCompleteOnRollback: number;
  instancesToUpdateOnRollback: number;
}

export interface InstanceRefreshRecord {
  instanceRefreshId: string;
  autoScalingGroupName: string;
  strategy: 'Rolling' | 'ReplaceRootVolume';
  status: InstanceRefreshStatus;
  statusReason?: string;
  startTime: number;
  endTime?: number;
  percentageComplete: number;
  instancesToUpdate: number;
  preferences: RefreshPreferencesRecord;
  desiredConfiguration?: LaunchTemplateRef;
  rollbackDetails?: RollbackDetailsRecord;
}

/**
 * An Auto Scaling error as the Query protocol reports it. Type is Sender for the caller's
 * mistakes and Receiver for the service's own; the SDK keys its retry decision on code and status.
 */
export class AutoScalingFault extends Error {
  readonly code: string;
  readonly status: number;
  readonly type: 'Sender' | 'Receiver';

  constructor(code: string, message: string, status = 400, type: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender') {
    super(message);
    this.name = 'AutoScalingFault';
    this.code = code;
    this.status = status;
    this.type = type;
  }
}

export function validationError(message: string): AutoScalingFault {
  return new AutoScalingFault('ValidationError', message);
}

export function groupNotFound(name: string): AutoScalingFault {
  return validationError(`AutoScalingGroup name not found - AutoScalingGroup '${name}' not found`);
}
