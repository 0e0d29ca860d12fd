import { Ec2Fault } from './errors.ts';
import { DEFAULT_SECURITY_GROUP, DEFAULT_VPC } from './lifecycle.ts';
import { checkId, newId, type PermissionRecord, type SecurityGroupRecord } from './model.ts';
import type { Ec2State } from './state.ts';

/** What a new group may send anywhere until told otherwise, as on EC2. */
export function allowAllEgress(): PermissionRecord {
  return { ruleId: newId('sgr'), ipProtocol: '-1', cidrIp: '0.0.0.0/0' };
}

/** The default VPC's `default` group, which instances launched without a group join. */
export function defaultGroup(ownerId: string, now: number): SecurityGroupRecord {
  return {
    seq: 0,
    createdAt: now,
    groupId: DEFAULT_SECURITY_GROUP.groupId,
    groupName: DEFAULT_SECURITY_GROUP.groupName,
    description: 'default VPC security group',
    vpcId: DEFAULT_VPC,
    ownerId,
    ingress: [],
    egress: [allowAllEgress()],
    tags: new Map(),
  };
}

export function groupsNotFound(names: readonly string[]): Ec2Fault {
  const message =
    names.length === 1 ? `The security group '${names[0]}' does not exist` : `The security groups '${names.join(', ')}' do not exist`;
  return new Ec2Fault('InvalidGroup.NotFound', message);
}

/** By id, or by name in the default VPC (names are only unique within a VPC). */
export function findGroup(state: Ec2State, ref: { groupId?: string; groupName?: string }): SecurityGroupRecord {
  if (ref.groupId !== undefined) {
    checkId('sg', ref.groupId);
    const group = state.securityGroups.get(ref.groupId);
    if (!group) throw groupsNotFound([ref.groupId]);
    return group;
  }
  const name = ref.groupName ?? '';
  const group = [...state.securityGroups.values()].find((g) => g.groupName === name && g.vpcId === DEFAULT_VPC);
  if (!group) throw groupsNotFound([name]);
  return group;
}

/** Instances that still hold the group: everything not yet terminated. */
export function groupInUse(state: Ec2State, groupId: string): boolean {
  return [...state.instances.values()].some((i) => i.state !== 'terminated' && i.securityGroups.some((g) => g.groupId === groupId));
}
