import { Ec2Fault } from '../ec2/errors.ts';
import type { Ec2State } from '../ec2/state.ts';
import { templateById, templateByName, versionOf } from '../ec2/templates.ts';
import type { Params } from '../ec2/wire.ts';
import {
  AutoScalingFault,
  groupNotFound,
  validationError,
  type AutoScalingGroupRecord,
  type InstanceRefreshRecord,
  type LaunchTemplateRef,
  type RefreshPreferencesRecord,
} from './model.ts';
import type { AutoScalingWorld } from './world.ts';
import type { AsgXmlObject, AsgXmlValue } from './xml.ts';

export interface AsgContext {
  world: AutoScalingWorld;
  region: string;
  /** The region's EC2 side, where launch templates named by a request are looked up. */
  ec2: Ec2State;
}

export type AsgHandler = (p: Params, ctx: AsgContext) => AsgXmlObject;

/** How AWS's request validation words a broken constraint; the member path is camel-cased. */
function constraint(value: string | null, member: string, rule: string): AutoScalingFault {
  const shown = value === null ? 'null' : `'${value}'`;
  return validationError(`1 validation error detected: Value ${shown} at '${member}' failed to satisfy constraint: ${rule}`);
}

function required(p: Params, path: string, member: string): string {
  const value = p.str(path);
  if (value === undefined) throw constraint(null, member, 'Member must not be null');
  if (value.length < 1 || value.length > 255) {
    throw constraint(value, member, 'Member must have length less than or equal to 255 and greater than or equal to 1');
  }
  return value;
}

function integer(p: Params, path: string, member: string, min: number, max: number): number | undefined {
  const raw = p.str(path);
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw)) throw validationError(`Invalid value '${raw}' for ${member}: expecting an integer`);
  const value = Number(raw);
  if (value < min) throw constraint(raw, member, `Member must have value greater than or equal to ${min}`);
  if (value > max) throw constraint(raw, member, `Member must have value less than or equal to ${max}`);
  return value;
}

function boolean(p: Params, path: string, member: string): boolean | undefined {
  const raw = p.str(path);
  if (raw === undefined) return undefined;
  if (raw !== 'true' && raw !== 'false') throw validationError(`Invalid value '${raw}' for ${member}: expecting true or false`);
  return raw === 'true';
}

function oneOf<T extends string>(p: Params, path: string, member: string, allowed: readonly T[]): T | undefined {
  const raw = p.str(path);
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw constraint(raw, member, `Member must satisfy enum value set: [${allowed.join(', ')}]`);
  }
  return raw as T;
}

/** Every Describe here pages 1..100 at a time, 50 unless asked. */
function maxRecords(p: Params): number {
  return integer(p, 'MaxRecords', 'maxRecords', 1, 100) ?? 50;
}

/**
 * NextToken is opaque to callers; it names the action and the offset so one action's token
 * is refused by another, as AWS refuses tokens it did not issue for that listing.
 */
function encodeToken(scope: string, offset: number): string {
  return Buffer.from(`${scope}:${offset}`, 'utf8').toString('base64');
}

function decodeToken(p: Params, scope: string, length: number): number {
  const token = p.str('NextToken');
  if (token === undefined || token === '') return 0;
  const match = /^(.*):(\d+)$/.exec(Buffer.from(token, 'base64').toString('utf8'));
  const offset = match && match[1] === scope ? Number(match[2]) : NaN;
  if (!(offset >= 0 && offset <= length)) throw new AutoScalingFault('InvalidNextToken', `The token '${token}' is invalid.`);
  return offset;
}

function page<T>(p: Params, scope: string, items: readonly T[]): { items: T[]; nextToken?: string } {
  const size = maxRecords(p);
  const start = decodeToken(p, scope, items.length);
  const end = start + size;
  return { items: items.slice(start, end), ...(end < items.length && { nextToken: encodeToken(scope, end) }) };
}

function launchTemplateXml(ref: LaunchTemplateRef): AsgXmlObject {
  return { LaunchTemplateId: ref.launchTemplateId, LaunchTemplateName: ref.launchTemplateName, Version: ref.version };
}

function groupXml(g: AutoScalingGroupRecord, accountId: string): AsgXmlObject {
  return {
    AutoScalingGroupName: g.name,
    AutoScalingGroupARN: g.arn,
    LaunchTemplate: launchTemplateXml(g.launchTemplate),
    MinSize: g.minSize,
    MaxSize: g.maxSize,
    DesiredCapacity: g.desiredCapacity,
    DefaultCooldown: g.defaultCooldown,
    AvailabilityZones: [...g.availabilityZones],
    LoadBalancerNames: [],
    TargetGroupARNs: [],
    HealthCheckType: g.healthCheckType,
    HealthCheckGracePeriod: g.healthCheckGracePeriod,
    Instances: [],
    CreatedTime: new Date(g.createdAt),
    SuspendedProcesses: [],
    VPCZoneIdentifier: '',
    EnabledMetrics: [],
    Tags: [...g.tags].map(([key, tag]) => ({
      ResourceId: g.name,
      ResourceType: 'auto-scaling-group',
      Key: key,
      Value: tag.value,
      PropagateAtLaunch: tag.propagateAtLaunch,
    })),
    TerminationPolicies: ['Default'],
    NewInstancesProtectedFromScaleIn: false,
    ServiceLinkedRoleARN: `arn:aws:iam::${accountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
    CapacityRebalance: false,
    TrafficSources: [],
  };
}

function livePool(percentageComplete: number, instancesToUpdate: number): AsgXmlObject {
  return { LivePoolProgress: { PercentageComplete: percentageComplete, InstancesToUpdate: instancesToUpdate } };
}

function preferencesXml(pref: RefreshPreferencesRecord): AsgXmlObject {
  return {
    MinHealthyPercentage: pref.minHealthyPercentage,
    MaxHealthyPercentage: pref.maxHealthyPercentage,
    InstanceWarmup: pref.instanceWarmup,
    CheckpointPercentages: pref.checkpointPercentages && [...pref.checkpointPercentages],
    CheckpointDelay: pref.checkpointDelay,
    SkipMatching: pref.skipMatching,
    AutoRollback: pref.autoRollback,
    ScaleInProtectedInstances: pref.scaleInProtectedInstances,
    StandbyInstances: pref.standbyInstances,
    BakeTime: pref.bakeTime,
  };
}

function refreshXml(r: InstanceRefreshRecord): AsgXmlObject {
  const rollback = r.rollbackDetails;
  return {
    InstanceRefreshId: r.instanceRefreshId,
    AutoScalingGroupName: r.autoScalingGroupName,
    Status: r.status,
    StatusReason: r.statusReason,
    StartTime: new Date(r.startTime),
    EndTime: r.endTime === undefined ? undefined : new Date(r.endTime),
    PercentageComplete: r.percentageComplete,
    InstancesToUpdate: r.instancesToUpdate,
    ProgressDetails: livePool(r.percentageComplete, r.instancesToUpdate),
    Preferences: preferencesXml(r.preferences),
    DesiredConfiguration: r.desiredConfiguration && { LaunchTemplate: launchTemplateXml(r.desiredConfiguration) },
    RollbackDetails: rollback && {
      RollbackReason: rollback.rollbackReason,
      RollbackStartTime: new Date(rollback.rollbackStartTime),
      PercentageCompleteOnRollback: rollback.percentageCompleteOnRollback,
      InstancesToUpdateOnRollback: rollback.instancesToUpdateOnRollback,
      ProgressDetailsOnRollback: livePool(rollback.percentageCompleteOnRollback, rollback.instancesToUpdateOnRollback),
    },
    Strategy: r.strategy,
  };
}

/** The documented group filters: `tag-key`, `tag-value` and `tag:<key>`; values of one filter are ORed. */
function groupFilter(p: Params): (g: AutoScalingGroupRecord) => boolean {
  const tests = p.list('Filters.member').map((f) => {
    const name = f.str('Name');
    const values = f.strings('Values.member');
    if (name === 'tag-key') return (g: AutoScalingGroupRecord) => values.some((v) => g.tags.has(v));
    if (name === 'tag-value') return (g: AutoScalingGroupRecord) => [...g.tags.values()].some((t) => values.includes(t.value));
    if (name?.startsWith('tag:')) {
      const key = name.slice(4);
      return (g: AutoScalingGroupRecord) => {
        const tag = g.tags.get(key);
        return tag !== undefined && values.includes(tag.value);
      };
    }
    throw validationError(`The filter name '${name ?? ''}' is not valid. Valid filter names are tag-key, tag-value and tag:<key>.`);
  });
  return (g) => tests.every((test) => test(g));
}

export const describeAutoScalingGroups: AsgHandler = (p, ctx) => {
  const names = p.strings('AutoScalingGroupNames.member');
  const limit = maxRecords(p);
  if (names.length > limit) {
    throw validationError(`The number of AutoScalingGroupNames (${names.length}) cannot exceed MaxRecords (${limit}).`);
  }
  const keep = groupFilter(p);
  // AWS lists groups by name; names it does not know are simply left out.
  const groups = [...ctx.world.groups(ctx.region).values()]
    .filter((g) => (names.length === 0 || names.includes(g.name)) && keep(g))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const { items, nextToken } = page(p, 'DescribeAutoScalingGroups', groups);
  return { AutoScalingGroups: items.map((g) => groupXml(g, ctx.world.ec2.accountId)), NextToken: nextToken };
};

/** A DesiredConfiguration's template must exist, in this region, with that version. */
function desiredTemplate(p: Params, ctx: AsgContext): LaunchTemplateRef | undefined {
  const desired = p.sub('DesiredConfiguration');
  if (!desired) return undefined;
  if (desired.has('MixedInstancesPolicy')) {
    throw validationError('DesiredConfiguration.MixedInstancesPolicy is not modelled by this Auto Scaling stand-in.');
  }
  const spec = desired.sub('LaunchTemplate');
  if (!spec) return undefined;
  const id = spec.str('LaunchTemplateId');
  const name = spec.str('LaunchTemplateName');
  if (id !== undefined && name !== undefined) {
    throw validationError('Valid requests must contain either LaunchTemplateId or LaunchTemplateName, not both.');
  }
  if (id === undefined && name === undefined) {
    throw validationError('Valid requests must contain either LaunchTemplateId or LaunchTemplateName.');
  }
  const version = spec.str('Version') ?? '$Default';
  try {
    const template = id !== undefined ? templateById(ctx.ec2, id) : templateByName(ctx.ec2, name as string);
    versionOf(template, version);
    return { launchTemplateId: template.launchTemplateId, launchTemplateName: template.name, version };
  } catch (error) {
    if (error instanceof Ec2Fault) throw validationError(`You must use a valid fully-formed launch template. ${error.message}`);
    throw error;
  }
}

function readPreferences(p: Params): RefreshPreferencesRecord {
  const pref = p.sub('Preferences');
  const min = pref ? integer(pref, 'MinHealthyPercentage', 'preferences.minHealthyPercentage', 0, 100) : undefined;
  const max = pref ? integer(pref, 'MaxHealthyPercentage', 'preferences.maxHealthyPercentage', 100, 200) : undefined;
  const record: RefreshPreferencesRecord = {
    minHealthyPercentage: min ?? 90,
    maxHealthyPercentage: max ?? 100,
    skipMatching: false,
    autoRollback: false,
    scaleInProtectedInstances: 'Ignore',
    standbyInstances: 'Ignore',
    bakeTime: 0,
  };
  if (record.maxHealthyPercentage - record.minHealthyPercentage > 100) {
    throw validationError('The difference between MaxHealthyPercentage and MinHealthyPercentage cannot be greater than 100.');
  }
  if (!pref) return record;
  const warmup = integer(pref, 'InstanceWarmup', 'preferences.instanceWarmup', 0, Number.MAX_SAFE_INTEGER);
  if (warmup !== undefined) record.instanceWarmup = warmup;
  if (pref.has('CheckpointPercentages')) {
    const checkpoints = pref
      .list('CheckpointPercentages.member')
      .map((_, i) => integer(pref, `CheckpointPercentages.member.${i + 1}`, 'preferences.checkpointPercentages', 1, 100) as number);
    if (checkpoints.some((value, i) => i > 0 && value <= (checkpoints[i - 1] as number))) {
      throw validationError('CheckpointPercentages must be in ascending order.');
    }
    record.checkpointPercentages = checkpoints;
  }
  const delay = integer(pref, 'CheckpointDelay', 'preferences.checkpointDelay', 0, 172_800);
  if (delay !== undefined) record.checkpointDelay = delay;
  record.skipMatching = boolean(pref, 'SkipMatching', 'preferences.skipMatching') ?? false;
  record.autoRollback = boolean(pref, 'AutoRollback', 'preferences.autoRollback') ?? false;
  record.scaleInProtectedInstances =
    oneOf(pref, 'ScaleInProtectedInstances', 'preferences.scaleInProtectedInstances', ['Refresh', 'Ignore', 'Wait'] as const) ?? 'Ignore';
  record.standbyInstances = oneOf(pref, 'StandbyInstances', 'preferences.standbyInstances', ['Terminate', 'Ignore', 'Wait'] as const) ?? 'Ignore';
  record.bakeTime = integer(pref, 'BakeTime', 'preferences.bakeTime', 0, 172_800) ?? 0;
  return record;
}

export const startInstanceRefresh: AsgHandler = (p, ctx) => {
  const name = required(p, 'AutoScalingGroupName', 'autoScalingGroupName');
  const strategy = oneOf(p, 'Strategy', 'strategy', ['Rolling', 'ReplaceRootVolume'] as const) ?? 'Rolling';
  const preferences = readPreferences(p);
  const group = ctx.world.group(ctx.region, name);
  if (!group) throw groupNotFound(name);
  const desiredConfiguration = desiredTemplate(p, ctx);
  if (preferences.autoRollback) {
    // The documented limits of auto rollback: it needs a new configuration to leave, and a
    // fixed version to come back to.
    if (!desiredConfiguration) {
      throw validationError('AutoRollback is not supported for an instance refresh without a desired configuration.');
    }
    if (group.launchTemplate.version === '$Latest' || group.launchTemplate.version === '$Default') {
      throw validationError(
        `AutoRollback is not supported because the Auto Scaling group uses the launch template version ${group.launchTemplate.version}. Specify a version number instead.`,
      );
    }
  }
  if (ctx.world.activeRefresh(ctx.region, name)) {
    throw new AutoScalingFault('InstanceRefreshInProgress', `An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.`);
  }
  const record = ctx.world.startRefresh(ctx.region, group, { strategy, preferences, ...(desiredConfiguration && { desiredConfiguration }) });
  return { InstanceRefreshId: record.instanceRefreshId };
};

export const describeInstanceRefreshes: AsgHandler = (p, ctx) => {
  const name = required(p, 'AutoScalingGroupName', 'autoScalingGroupName');
  const ids = p.strings('InstanceRefreshIds.member');
  // Newest first, as AWS lists them; a group it does not know just has none.
  const refreshes = [...ctx.world.refreshes(ctx.region, name)]
    .reverse()
    .filter((r) => ids.length === 0 || ids.includes(r.instanceRefreshId));
  const { items, nextToken } = page(p, `DescribeInstanceRefreshes/${name}`, refreshes);
  const listed: AsgXmlValue[] = items.map(refreshXml);
  return { InstanceRefreshes: listed, NextToken: nextToken };
};

export const cancelInstanceRefresh: AsgHandler = (p, ctx) => {
  const name = required(p, 'AutoScalingGroupName', 'autoScalingGroupName');
  boolean(p, 'WaitForTransitioningInstances', 'waitForTransitioningInstances');
  if (!ctx.world.group(ctx.region, name)) throw groupNotFound(name);
  const record = ctx.world.cancelRefresh(ctx.region, name);
  if (!record) {
    throw new AutoScalingFault('ActiveInstanceRefreshNotFound', `No in progress or pending Instance Refresh found for Auto Scaling group ${name}`);
  }
  return { InstanceRefreshId: record.instanceRefreshId };
};

export const ASG_HANDLERS: Readonly<Record<string, AsgHandler>> = {
  DescribeAutoScalingGroups: describeAutoScalingGroups,
  StartInstanceRefresh: startInstanceRefresh,
  DescribeInstanceRefreshes: describeInstanceRefreshes,
  CancelInstanceRefresh: cancelInstanceRefresh,
};
