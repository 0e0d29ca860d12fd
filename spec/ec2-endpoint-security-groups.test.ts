/** The EC2 endpoint's security groups: made in the default VPC, opened, described, deleted once unused. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  TerminateInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { describeOne, ID17, rejection, runningInstance, withEc2 } from './support/ec2-endpoint-client.ts';

async function newGroup(ec2: EC2Client, name = 'packer_temp'): Promise<string> {
  const reply = await ec2.send(new CreateSecurityGroupCommand({ GroupName: name, Description: 'Temporary group' }));
  assert.ok(reply.GroupId);
  return reply.GroupId;
}

const Create = suite('ec2 CreateSecurityGroup');

Create('should make a group in the default VPC that may send anywhere and take nothing in', () =>
  withEc2({}, async (ep, ec2) => {
    const reply = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'build', Description: 'for a build' }));
    assert.match(reply.GroupId ?? '', ID17('sg'));
    assert.is(reply.SecurityGroupArn, `arn:aws:ec2:us-east-1:${ep.accountId}:security-group/${reply.GroupId}`);
    const described = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [reply.GroupId as string] }));
    const group = described.SecurityGroups?.[0];
    assert.is(group?.GroupName, 'build');
    assert.is(group?.Description, 'for a build');
    assert.is(group?.OwnerId, ep.accountId);
    assert.match(group?.VpcId ?? '', /^vpc-/);
    assert.equal(group?.IpPermissions, []);
    assert.is(group?.IpPermissionsEgress?.[0]?.IpProtocol, '-1');
    assert.equal(group?.IpPermissionsEgress?.[0]?.IpRanges, [{ CidrIp: '0.0.0.0/0' }]);
  }),
);

Create('should refuse a name in use, a name shaped like an id, an unknown VPC and a missing description', () =>
  withEc2({}, async (ep, ec2) => {
    await newGroup(ec2, 'twice');
    const duplicate = await rejection(newGroup(ec2, 'twice'));
    assert.is(duplicate.name, 'InvalidGroup.Duplicate');
    assert.match(duplicate.message, /^The security group 'twice' already exists for VPC 'vpc-[0-9a-f]+'$/);
    const idLike = await rejection(newGroup(ec2, 'sg-12345678'));
    assert.is(idLike.name, 'InvalidParameterValue');
    const vpc = await rejection(ec2.send(new CreateSecurityGroupCommand({ GroupName: 'x', Description: 'x', VpcId: 'vpc-0123456789abcdef0' })));
    assert.is(vpc.name, 'InvalidVpcID.NotFound');
    const noDescription = await rejection(ec2.send(new CreateSecurityGroupCommand({ GroupName: 'y' } as { GroupName: string; Description: string })));
    assert.is(noDescription.name, 'MissingParameter');
    assert.equal(ep.securityGroups().map((g) => g.groupName), ['default', 'twice']);
  }),
);

Create.run();

const Describe = suite('ec2 DescribeSecurityGroups');

Describe('should list the default group first and find groups by id, name and filter', () =>
  withEc2({}, async (_ep, ec2) => {
    const id = await newGroup(ec2, 'web');
    const all = await ec2.send(new DescribeSecurityGroupsCommand({}));
    assert.equal(all.SecurityGroups?.map((g) => g.GroupName), ['default', 'web']);
    const byName = await ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ['web'] }));
    assert.is(byName.SecurityGroups?.[0]?.GroupId, id);
    const byFilter = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['w*'] }] }));
    assert.equal(byFilter.SecurityGroups?.map((g) => g.GroupId), [id]);
  }),
);

Describe('should take tags from CreateTags and filter on them', () =>
  withEc2({}, async (_ep, ec2) => {
    const id = await newGroup(ec2, 'tagged');
    await ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'purpose', Value: 'bench' }] }));
    const found = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:purpose', Values: ['bench'] }] }));
    assert.equal(found.SecurityGroups?.map((g) => [g.GroupId, g.Tags]), [[id, [{ Key: 'purpose', Value: 'bench' }]]]);
    const unknown = await rejection(ec2.send(new CreateTagsCommand({ Resources: ['sg-0123456789abcdef0'], Tags: [{ Key: 'a', Value: 'b' }] })));
    assert.is(unknown.name, 'InvalidGroup.NotFound');
  }),
);

Describe('should answer InvalidGroup.NotFound for an unknown group and InvalidGroupId.Malformed for a bad id', () =>
  withEc2({}, async (_ep, ec2) => {
    const missing = await rejection(ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0123456789abcdef0'] })));
    assert.is(missing.name, 'InvalidGroup.NotFound');
    assert.is(missing.message, "The security group 'sg-0123456789abcdef0' does not exist");
    const malformed = await rejection(ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-nothex'] })));
    assert.is(malformed.name, 'InvalidGroupId.Malformed');
  }),
);

Describe.run();

const Authorize = suite('ec2 AuthorizeSecurityGroupIngress');

Authorize('should open a port range to a CIDR and show it as one permission', () =>
  withEc2({}, async (_ep, ec2) => {
    const id = await newGroup(ec2);
    const reply = await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: id,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 0, ToPort: 0, IpRanges: [{ CidrIp: '0.0.0.0/0' }, { CidrIp: '10.0.0.0/8', Description: 'vpn' }] }],
      }),
    );
    assert.is(reply.Return, true);
    assert.is(reply.SecurityGroupRules?.length, 2);
    assert.match(reply.SecurityGroupRules?.[0]?.SecurityGroupRuleId ?? '', ID17('sgr'));
    assert.is(reply.SecurityGroupRules?.[0]?.IsEgress, false);
    assert.is(reply.SecurityGroupRules?.[0]?.CidrIpv4, '0.0.0.0/0');
    const group = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }))).SecurityGroups?.[0];
    assert.equal(group?.IpPermissions, [
      {
        IpProtocol: 'tcp',
        FromPort: 0,
        ToPort: 0,
        UserIdGroupPairs: [],
        IpRanges: [{ CidrIp: '0.0.0.0/0' }, { CidrIp: '10.0.0.0/8', Description: 'vpn' }],
        Ipv6Ranges: [],
        PrefixListIds: [],
      },
    ]);
  }),
);

Authorize('should take the older top-level form by group name and store protocol 6 as tcp', () =>
  withEc2({}, async (_ep, ec2) => {
    const id = await newGroup(ec2, 'legacy');
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupName: 'legacy', IpProtocol: '6', FromPort: 22, ToPort: 22, CidrIp: '192.0.2.0/24' }));
    const described = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'ip-permission.protocol', Values: ['tcp'] }] }));
    assert.equal(described.SecurityGroups?.map((g) => g.GroupId), [id]);
    assert.is(described.SecurityGroups?.[0]?.IpPermissions?.[0]?.FromPort, 22);
  }),
);

Authorize('should refuse a rule already there with InvalidPermission.Duplicate and add none of the request', () =>
  withEc2({}, async (ep, ec2) => {
    const id = await newGroup(ec2);
    const rule = { IpProtocol: 'tcp', FromPort: 0, ToPort: 0, IpRanges: [{ CidrIp: '0.0.0.0/0' }] };
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [rule] }));
    const fresh = { IpProtocol: 'udp', FromPort: 53, ToPort: 53, IpRanges: [{ CidrIp: '0.0.0.0/0' }] };
    const error = await rejection(ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [fresh, rule] })));
    assert.is(error.name, 'InvalidPermission.Duplicate');
    assert.is(error.message, 'the specified rule "peer: 0.0.0.0/0, TCP, from port: 0, to port: 0, ALLOW" already exists');
    assert.is(ep.securityGroups().find((g) => g.groupId === id)?.ingress.length, 1);
  }),
);

Authorize('should refuse tcp without ports, a bad CIDR and an unknown group', () =>
  withEc2({}, async (_ep, ec2) => {
    const id = await newGroup(ec2);
    const noPorts = await rejection(
      ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [{ IpProtocol: 'tcp', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] })),
    );
    assert.is(noPorts.name, 'InvalidParameterValue');
    const badCidr = await rejection(
      ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '300.0.0.0/0' }] }] })),
    );
    assert.is(badCidr.name, 'InvalidParameterValue');
    const unknown = await rejection(
      ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: 'sg-0123456789abcdef0', IpProtocol: '-1', CidrIp: '0.0.0.0/0' })),
    );
    assert.is(unknown.name, 'InvalidGroup.NotFound');
  }),
);

Authorize.run();

const Delete = suite('ec2 DeleteSecurityGroup');

Delete('should refuse while an instance holds the group and delete it once the instance is terminated', () =>
  withEc2({ terminateMs: 50 }, async (ep, ec2) => {
    const id = await newGroup(ec2);
    const instanceId = await runningInstance(ep, ec2, { SecurityGroupIds: [id] });
    assert.equal((await describeOne(ec2, instanceId)).SecurityGroups, [{ GroupId: id, GroupName: 'packer_temp' }]);
    const held = await rejection(ec2.send(new DeleteSecurityGroupCommand({ GroupId: id })));
    assert.is(held.name, 'DependencyViolation');
    assert.is(held.message, `resource ${id} has a dependent object`);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    assert.is((await rejection(ec2.send(new DeleteSecurityGroupCommand({ GroupId: id })))).name, 'DependencyViolation');
    ep.clock.advance(50);
    const reply = await ec2.send(new DeleteSecurityGroupCommand({ GroupId: id }));
    assert.is(reply.Return, true);
    assert.is(reply.GroupId, id);
    const again = await rejection(ec2.send(new DeleteSecurityGroupCommand({ GroupId: id })));
    assert.is(again.name, 'InvalidGroup.NotFound');
  }),
);

Delete('should never delete the default group', () =>
  withEc2({}, async (ep, ec2) => {
    const error = await rejection(ec2.send(new DeleteSecurityGroupCommand({ GroupName: 'default' })));
    assert.is(error.name, 'CannotDelete');
    assert.equal(ep.securityGroups().map((g) => g.groupName), ['default']);
  }),
);

Delete.run();
