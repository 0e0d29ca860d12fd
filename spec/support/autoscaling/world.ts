import { randomUUID } from 'node:crypto';
import type { Ec2World } from '../ec2/regions.ts';
import {
  ACTIVE_STATUSES,
  CANCELLABLE_STATUSES,
  type AutoScalingGroupRecord,
  type InstanceRefreshRecord,
  type LaunchTemplateRef,
  type RefreshPreferencesRecord,
} from './model.ts';

export interface AutoScalingWorldOptions {
  /** Time between two status changes of an instance refresh. Default 100 ms. */
  refreshStepMs?: number;
}

export interface GroupSetup {
  name: string;
  launchTemplateId: string;
  version?: string;
  desired?: number;
  min?: number;
  max?: number;
}

export type RefreshFailure = 'rollback' | 'failed';

interface RegionGroups {
  groups: Map<string, AutoScalingGroupRecord>;
  /** Group name → its refreshes, oldest first. */
  refreshes: Map<string, InstanceRefreshRecord[]>;
  failures: Map<string, RefreshFailure>;
}

export interface StartRefresh {
  strategy: InstanceRefreshRecord['strategy'];
  preferences: RefreshPreferencesRecord;
  desiredConfiguration?: LaunchTemplateRef;
}

const FAILURE_REASON = 'Instance refresh failed: replacement instances failed their health checks.';
const ROLLBACK_REASON = 'An instance refresh failure triggered a rollback to the previous configuration.';

/**
 * The Auto Scaling groups of every region of the account whose EC2 side `ec2` holds. Refreshes
 * move on the EC2 world's clock, so a manual clock steps them with the rest of the stand-in.
 */
export class AutoScalingWorld {
  readonly ec2: Ec2World;
  readonly refreshStepMs: number;
  private readonly regions = new Map<string, RegionGroups>();
  /** Bumped whenever a refresh changes course, so timers of the course it left do nothing. */
  private readonly generation = new WeakMap<InstanceRefreshRecord, number>();

  constructor(ec2: Ec2World, options: AutoScalingWorldOptions = {}) {
    this.ec2 = ec2;
    this.refreshStepMs = options.refreshStepMs ?? 100;
  }

  createGroup(region: string, group: GroupSetup): void {
    const state = this.ec2.state(region);
    const template = state.launchTemplates.get(group.launchTemplateId);
    if (!template) throw new RangeError(`no launch template ${group.launchTemplateId} in ${region}`);
    const groups = this.region(region).groups;
    if (groups.has(group.name)) throw new RangeError(`group ${group.name} already exists in ${region}`);
    const desired = group.desired ?? 2;
    const min = group.min ?? 0;
    const max = group.max ?? Math.max(desired, 1);
    if (!(min <= desired && desired <= max)) throw new RangeError(`need min <= desired <= max, got ${min}/${desired}/${max}`);
    groups.set(group.name, {
      name: group.name,
      arn: `arn:aws:autoscaling:${region}:${this.ec2.accountId}:autoScalingGroup:${randomUUID()}:autoScalingGroupName/${group.name}`,
      region,
      createdAt: this.ec2.clock.now(),
      // CreateAutoScalingGroup without a Version means $Default, and DescribeAutoScalingGroups says so.
      launchTemplate: { launchTemplateId: template.launchTemplateId, launchTemplateName: template.name, version: group.version ?? '$Default' },
      minSize: min,
      maxSize: max,
      desiredCapacity: desired,
      defaultCooldown: 300,
      availabilityZones: [`${region}a`],
      healthCheckType: 'EC2',
      healthCheckGracePeriod: 0,
      tags: new Map(),
    });
  }

  failNextRefresh(region: string, asgName: string, how: RefreshFailure): void {
    if (!this.region(region).groups.has(asgName)) throw new RangeError(`no group ${asgName} in ${region}`);
    this.region(region).failures.set(asgName, how);
  }

  refreshes(region: string, asgName: string): readonly InstanceRefreshRecord[] {
    return this.region(region).refreshes.get(asgName) ?? [];
  }

  groups(region: string): ReadonlyMap<string, AutoScalingGroupRecord> {
    return this.region(region).groups;
  }

  group(region: string, name: string): AutoScalingGroupRecord | undefined {
    return this.region(region).groups.get(name);
  }

  activeRefresh(region: string, asgName: string): InstanceRefreshRecord | undefined {
    return this.refreshes(region, asgName).find((r) => ACTIVE_STATUSES.has(r.status));
  }

  /** The caller has checked the group exists and has no active refresh. */
  startRefresh(region: string, group: AutoScalingGroupRecord, start: StartRefresh): InstanceRefreshRecord {
    const here = this.region(region);
    const failure = here.failures.get(group.name);
    here.failures.delete(group.name);
    const record: InstanceRefreshRecord = {
      instanceRefreshId: randomUUID(),
      autoScalingGroupName: group.name,
      strategy: start.strategy,
      status: 'Pending',
      startTime: this.ec2.clock.now(),
      percentageComplete: 0,
      instancesToUpdate: group.desiredCapacity,
      preferences: start.preferences,
      ...(start.desiredConfiguration && { desiredConfiguration: { ...start.desiredConfiguration } }),
    };
    const list = here.refreshes.get(group.name) ?? [];
    list.push(record);
    here.refreshes.set(group.name, list);
    this.generation.set(record, 0);

    const replaced = (): number => group.desiredCapacity - record.instancesToUpdate;
    this.step(record, () => {
      record.status = 'InProgress';
      this.step(record, () => {
        record.percentageComplete = 50;
        record.instancesToUpdate = Math.ceil(group.desiredCapacity / 2);
        this.step(record, () => {
          if (failure === 'rollback' && record.preferences.autoRollback) {
            record.status = 'RollbackInProgress';
            record.statusReason = ROLLBACK_REASON;
            record.rollbackDetails = {
              rollbackReason: FAILURE_REASON,
              rollbackStartTime: this.ec2.clock.now(),
              percentageCompleteOnRollback: 0,
              instancesToUpdateOnRollback: replaced(),
            };
            this.step(record, () => {
              record.status = 'RollbackSuccessful';
              record.statusReason = `${FAILURE_REASON} The group was rolled back to its previous configuration.`;
              record.endTime = this.ec2.clock.now();
              if (record.rollbackDetails) {
                record.rollbackDetails.percentageCompleteOnRollback = 100;
                record.rollbackDetails.instancesToUpdateOnRollback = 0;
              }
            });
          } else if (failure !== undefined) {
            record.status = 'Failed';
            record.statusReason = FAILURE_REASON;
            record.endTime = this.ec2.clock.now();
          } else {
            record.status = 'Successful';
            record.percentageComplete = 100;
            record.instancesToUpdate = 0;
            record.endTime = this.ec2.clock.now();
            // The group takes the desired configuration only once every instance runs it.
            if (record.desiredConfiguration) group.launchTemplate = { ...record.desiredConfiguration };
          }
        });
      });
    });
    return record;
  }

  /** The cancelled refresh, or undefined when none can be cancelled. */
  cancelRefresh(region: string, asgName: string): InstanceRefreshRecord | undefined {
    const record = this.refreshes(region, asgName).find((r) => CANCELLABLE_STATUSES.has(r.status));
    if (!record) return undefined;
    this.generation.set(record, (this.generation.get(record) ?? 0) + 1);
    record.status = 'Cancelling';
    record.statusReason = 'Cancelling the instance refresh at the request of the user.';
    this.step(record, () => {
      record.status = 'Cancelled';
      record.statusReason = 'The instance refresh was cancelled at the request of the user.';
      record.endTime = this.ec2.clock.now();
    });
    return record;
  }

  private step(record: InstanceRefreshRecord, fn: () => void): void {
    const at = this.generation.get(record);
    this.ec2.clock.after(this.refreshStepMs, () => {
      if (this.generation.get(record) === at) fn();
    });
  }

  private region(name: string): RegionGroups {
    let here = this.regions.get(name);
    if (!here) {
      here = { groups: new Map(), refreshes: new Map(), failures: new Map() };
      this.regions.set(name, here);
    }
    return here;
  }
}
