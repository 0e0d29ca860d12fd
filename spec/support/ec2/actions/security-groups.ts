import { Ec2Fault, invalidValue, missingParameter } from '../errors.ts';
import { DEFAULT_SECURITY_GROUP, DEFAULT_VPC } from '../lifecycle.ts';
import { newId, type PermissionRecord, type SecurityGroupRecord } from '../model.ts';
import { applyFilters, pageByIndex, type FilterFields } from '../query.ts';
import { tagSet } from '../render.ts';
import { allowAllEgress, findGroup, groupInUse } from '../security-groups.ts';
import type { Params, XmlObject, XmlValue } from '../wire.ts';
import { readTagSpecs, type ActionContext, type Handler } from './common.ts';

const GROUP_FILTERS: FilterFields<SecurityGroupRecord> = {
  'group-id': (g) => g.groupId,
  'group-name': (g) => g.groupName,
  description: (g) => g.description,
  'vpc-id': (g) => g.vpcId,
  'owner-id': (g) => g.ownerId,
  'ip-permission.cidr': (g) => g.ingress.map((r) => r.cidrIp),
  'ip-permission.protocol': (g) => g.ingress.map((r) => r.ipProtocol),
  'ip-permission.from-port': (g) => g.ingress.flatMap((r) => (r.fromPort === undefined ? [] : [String(r.fromPort)])),
  'ip-permission.to-port': (g) => g.ingress.flatMap((r) => (r.toPort === undefined ? [] : [String(r.toPort)])),
  'egress.ip-permission.cidr': (g) => g.egress.map((r) => r.cidrIp),
  'egress.ip-permission.protocol': (g) => g.egress.map((r) => r.ipProtocol),
};

/** EC2 stores the three common protocols by name whichever way they were given. */
const PROTOCOL_NAMES: Record<string, string> = { '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6' };
const NAMED_PROTOCOLS = ['tcp', 'udp', 'icmp', 'icmpv6', '-1'];
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

function protocolOf(raw: string): string {
  const value = raw.toLowerCase();
  if (NAMED_PROTOCOLS.includes(value)) return value;
  if (/^\d+$/.test(value) && Number(value) <= 255) return PROTOCOL_NAMES[value] ?? value;
  throw invalidValue('IpProtocol', raw, 'expecting tcp, udp, icmp, icmpv6, -1 or a protocol number');
}

function checkCidr(cidr: string): void {
  const parts = CIDR.exec(cidr);
  if (!parts || parts.slice(1, 5).some((octet) => Number(octet) > 255) || Number(parts[5]) > 32) {
    throw new Ec2Fault('InvalidParameterValue', `CIDR block ${cidr} is malformed`);
  }
}

/** tcp and udp need a port range inside 0..65535; icmp takes type and code (-1 for any); `-1` and other protocols take none. */
function portsOf(protocol: string, from: number | undefined, to: number | undefined): Pick<PermissionRecord, 'fromPort' | 'toPort'> {
  if (protocol === 'tcp' || protocol === 'udp') {
    if (from === undefined || to === undefined) {
      throw new Ec2Fault('InvalidParameterValue', `Invalid value for portRange. Must specify both from and to ports with TCP/UDP.`);
    }
    if (from < 0 || to > 65535 || from > to) {
      throw new Ec2Fault('InvalidParameterValue', `Invalid value 'Invalid port range (${from}, ${to})' for portRange.`);
    }
    return { fromPort: from, toPort: to };
  }
  if (protocol === 'icmp' || protocol === 'icmpv6') return { fromPort: from ?? -1, toPort: to ?? -1 };
  return {};
}

type Rule = Omit<PermissionRecord, 'ruleId'>;

/** Modern `IpPermissions.N` and the older top-level IpProtocol/FromPort/ToPort/CidrIp, flattened to one rule per range. */
function readRules(p: Params): Rule[] {
  const rules: Rule[] = [];
  const permissions = p.list('IpPermissions');
  for (const permission of permissions) {
    for (const unsupported of ['Groups', 'UserIdGroupPairs', 'Ipv6Ranges', 'PrefixListIds']) {
      if (permission.has(unsupported)) throw invalidValue(unsupported, '...', 'only IPv4 ranges are modelled here');
    }
    const protocol = protocolOf(permission.req('IpProtocol'));
    const ports = portsOf(protocol, permission.int('FromPort'), permission.int('ToPort'));
    const ranges = permission.list('IpRanges');
    if (!ranges.length) throw missingParameter('IpPermissions.IpRanges');
    for (const range of ranges) {
      const cidrIp = range.req('CidrIp');
      checkCidr(cidrIp);
      const description = range.str('Description');
      rules.push({ ipProtocol: protocol, ...ports, cidrIp, ...(description !== undefined && { description }) });
    }
  }
  if (!permissions.length) {
    const cidrIp = p.str('CidrIp');
    if (cidrIp === undefined) throw missingParameter('IpPermissions');
    checkCidr(cidrIp);
    const protocol = protocolOf(p.req('IpProtocol'));
    rules.push({ ipProtocol: protocol, ...portsOf(protocol, p.int('FromPort'), p.int('ToPort')), cidrIp });
  }
  return rules;
}

const sameRule = (a: Rule, b: Rule): boolean =>
  a.ipProtocol === b.ipProtocol && a.fromPort === b.fromPort && a.toPort === b.toPort && a.cidrIp === b.cidrIp;

function ruleText(rule: Rule): string {
  const protocol = rule.ipProtocol === '-1' ? 'ALL' : rule.ipProtocol.toUpperCase();
  return `peer: ${rule.cidrIp}, ${protocol}, from port: ${rule.fromPort ?? -1}, to port: ${rule.toPort ?? -1}, ALLOW`;
}

/** Rules with the same protocol and ports are one IpPermission with several ranges, as DescribeSecurityGroups shows them. */
function permissionsXml(rules: readonly PermissionRecord[]): XmlValue[] {
  const grouped = new Map<string, { head: PermissionRecord; ranges: XmlObject[] }>();
  for (const rule of rules) {
    const key = `${rule.ipProtocol}/${rule.fromPort}/${rule.toPort}`;
    const entry = grouped.get(key) ?? { head: rule, ranges: [] };
    entry.ranges.push({ cidrIp: rule.cidrIp, description: rule.description });
    grouped.set(key, entry);
  }
  return [...grouped.values()].map(({ head, ranges }) => ({
    ipProtocol: head.ipProtocol,
    fromPort: head.fromPort,
    toPort: head.toPort,
    groups: [],
    ipRanges: ranges,
    ipv6Ranges: [],
    prefixListIds: [],
  }));
}

function groupXml(g: SecurityGroupRecord): XmlObject {
  return {
    ownerId: g.ownerId,
    groupId: g.groupId,
    groupName: g.groupName,
    groupDescription: g.description,
    ipPermissions: permissionsXml(g.ingress),
    ipPermissionsEgress: permissionsXml(g.egress),
    vpcId: g.vpcId,
    tagSet: g.tags.size ? tagSet(g.tags) : undefined,
  };
}

const groupArn = (ctx: ActionContext, groupId: string): string => `arn:aws:ec2:${ctx.state.region}:${ctx.state.accountId}:security-group/${groupId}`;

/** The one group a request names by GroupId or, in the default VPC, by GroupName. */
function targetGroup(p: Params, ctx: ActionContext): SecurityGroupRecord {
  const groupId = p.str('GroupId');
  const groupName = p.str('GroupName');
  if (!groupId && !groupName) throw missingParameter('GroupId or GroupName');
  return findGroup(ctx.state, groupId ? { groupId } : { groupName: groupName as string });
}

export const createSecurityGroup: Handler = (p, ctx) => {
  const groupName = p.req('GroupName');
  const description = p.req('GroupDescription');
  if (groupName.length > 255) throw invalidValue('GroupName', groupName, 'at most 255 characters');
  if (/^sg-/i.test(groupName)) throw new Ec2Fault('InvalidParameterValue', `Group names may not be in the format sg-*.`);
  if (description.length > 255) throw invalidValue('GroupDescription', description, 'at most 255 characters');
  // An empty VpcId (the Go SDK sends one when none was set) means the default VPC, as on EC2.
  const vpcId = p.str('VpcId') || DEFAULT_VPC;
  if (vpcId !== DEFAULT_VPC) throw new Ec2Fault('InvalidVpcID.NotFound', `The vpc ID '${vpcId}' does not exist`);
  const tags = readTagSpecs(p, ['security-group']).get('security-group') ?? new Map<string, string>();
  if ([...ctx.state.securityGroups.values()].some((g) => g.groupName === groupName && g.vpcId === vpcId)) {
    throw new Ec2Fault('InvalidGroup.Duplicate', `The security group '${groupName}' already exists for VPC '${vpcId}'`);
  }
  const group: SecurityGroupRecord = {
    seq: ctx.state.nextSeq(),
    createdAt: ctx.state.clock.now(),
    groupId: newId('sg'),
    groupName,
    description,
    vpcId,
    ownerId: ctx.state.accountId,
    ingress: [],
    egress: [allowAllEgress()],
    tags,
  };
  ctx.state.securityGroups.set(group.groupId, group);
  return { return: true, groupId: group.groupId, tagSet: tags.size ? tagSet(tags) : undefined, securityGroupArn: groupArn(ctx, group.groupId) };
};

export const describeSecurityGroups: Handler = (p, ctx) => {
  const ids = p.strings('GroupId');
  const names = p.strings('GroupName');
  let groups = [...ctx.state.securityGroups.values()].sort((a, b) => a.seq - b.seq);
  if (ids.length || names.length) {
    const wanted = [...ids.map((groupId) => findGroup(ctx.state, { groupId })), ...names.map((groupName) => findGroup(ctx.state, { groupName }))];
    groups = groups.filter((g) => wanted.includes(g));
  }
  const page = pageByIndex(applyFilters(groups, p, GROUP_FILTERS), p, ctx.action);
  return { securityGroupInfo: page.items.map(groupXml), nextToken: page.nextToken };
};

/** All of the request's rules are added or none: one duplicate refuses the whole call. */
export const authorizeSecurityGroupIngress: Handler = (p, ctx) => {
  const group = targetGroup(p, ctx);
  const rules = readRules(p);
  rules.forEach((rule, n) => {
    if (group.ingress.some((existing) => sameRule(existing, rule)) || rules.slice(0, n).some((earlier) => sameRule(earlier, rule))) {
      throw new Ec2Fault('InvalidPermission.Duplicate', `the specified rule "${ruleText(rule)}" already exists`);
    }
  });
  const added = rules.map((rule) => ({ ruleId: newId('sgr'), ...rule }));
  group.ingress.push(...added);
  return {
    return: true,
    securityGroupRuleSet: added.map((rule) => ({
      securityGroupRuleId: rule.ruleId,
      groupId: group.groupId,
      groupOwnerId: group.ownerId,
      isEgress: false,
      ipProtocol: rule.ipProtocol,
      fromPort: rule.fromPort ?? -1,
      toPort: rule.toPort ?? -1,
      cidrIpv4: rule.cidrIp,
      description: rule.description,
      securityGroupRuleArn: `arn:aws:ec2:${ctx.state.region}:${ctx.state.accountId}:security-group-rule/${rule.ruleId}`,
    })),
  };
};

/** A group an instance still holds cannot go; EC2 lets it go once the instance is terminated. */
export const deleteSecurityGroup: Handler = (p, ctx) => {
  const group = targetGroup(p, ctx);
  if (group.groupId === DEFAULT_SECURITY_GROUP.groupId) {
    throw new Ec2Fault('CannotDelete', `the specified group: "${group.groupId}" name: "default" cannot be deleted by a user`);
  }
  if (groupInUse(ctx.state, group.groupId)) {
    throw new Ec2Fault('DependencyViolation', `resource ${group.groupId} has a dependent object`);
  }
  ctx.state.securityGroups.delete(group.groupId);
  return { return: true, groupId: group.groupId };
};
