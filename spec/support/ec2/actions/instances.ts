import { Ec2Fault, invalidValue, missingParameter } from '../errors.ts';
import { defaultKeyArn, usableKey } from '../kms.ts';
import { launch, stop, terminate, type LaunchRequest } from '../lifecycle.ts';
import { checkId, INSTANCE_STATE_CODES, type BlockDevice, type InstanceRecord } from '../model.ts';
import { applyFilters, paginate, type FilterFields } from '../query.ts';
import { reservationSetXml, reservationXml, stateChangeXml } from '../render.ts';
import type { Params } from '../wire.ts';
import { checkUserData, readTagSpecs, type ActionContext, type Handler } from './common.ts';

const INSTANCE_FILTERS: FilterFields<InstanceRecord> = {
  'instance-id': (i) => i.instanceId,
  'image-id': (i) => i.imageId,
  'instance-state-name': (i) => i.state,
  'instance-state-code': (i) => String(INSTANCE_STATE_CODES[i.state]),
  'instance-type': (i) => i.instanceType,
  'dns-name': (i) => i.publicDnsName,
  'private-dns-name': (i) => i.privateDnsName,
  'ip-address': (i) => i.publicIpAddress,
  'private-ip-address': (i) => i.privateIpAddress,
  'key-name': (i) => i.keyName,
  'subnet-id': (i) => i.subnetId,
  'vpc-id': (i) => i.vpcId,
  'reservation-id': (i) => i.reservationId,
  'client-token': (i) => i.clientToken,
  'availability-zone': (i) => i.availabilityZone,
  'launch-index': (i) => String(i.amiLaunchIndex),
  'instance.group-id': (i) => i.securityGroups.map((g) => g.groupId),
  'metadata-options.http-tokens': (i) => i.metadataOptions.httpTokens,
};

function reservationOf(ctx: ActionContext, reservationId: string): InstanceRecord[] {
  const reservation = ctx.state.reservations.get(reservationId);
  return (reservation?.instanceIds ?? []).flatMap((id) => ctx.state.instances.get(id) ?? []);
}

function oneOf(p: Params, name: string, allowed: readonly string[], fallback: string): string {
  const value = p.str(name) ?? fallback;
  if (!allowed.includes(value)) throw invalidValue(name, value);
  return value;
}

/**
 * The root volume is encrypted when its snapshot is or the mapping asks for it; the key is the
 * one asked for, else the snapshot's, else the account's AWS-managed key. A key EBS cannot use
 * in this region is only found out once the instance starts.
 */
function rootKeyOf(
  ctx: ActionContext,
  source: BlockDevice | undefined,
  mapping: Params | undefined,
): Pick<LaunchRequest, 'volumeEncrypted' | 'volumeKmsKeyId' | 'volumeKeyUnusable'> {
  const asked = mapping?.bool('Ebs.Encrypted');
  const keyId = mapping?.str('Ebs.KmsKeyId');
  if (keyId !== undefined && asked !== true) {
    throw new Ec2Fault('InvalidParameterDependency', 'The parameter KmsKeyId requires the parameter Encrypted to be set.');
  }
  const fromSnapshot = source?.encrypted ?? false;
  if (!fromSnapshot && asked !== true) return { volumeEncrypted: false };
  const { region, accountId } = ctx.state;
  if (keyId !== undefined) {
    const arn = usableKey(keyId, region, accountId);
    return arn ? { volumeEncrypted: true, volumeKmsKeyId: arn } : { volumeEncrypted: true, volumeKeyUnusable: true };
  }
  const snapshotKey = fromSnapshot ? ctx.state.snapshots.get(source?.snapshotId ?? '')?.kmsKeyId : undefined;
  return { volumeEncrypted: true, volumeKmsKeyId: snapshotKey ?? defaultKeyArn(region, accountId) };
}

export const runInstances: Handler = (p, ctx) => {
  const imageId = p.req('ImageId');
  const minCount = p.int('MinCount');
  const maxCount = p.int('MaxCount');
  if (minCount === undefined) throw missingParameter('MinCount');
  if (maxCount === undefined) throw missingParameter('MaxCount');
  if (minCount < 1) throw invalidValue('MinCount', String(minCount), 'must be at least 1');
  if (maxCount < minCount) throw invalidValue('MaxCount', String(maxCount), 'must be at least MinCount');
  checkId('ami', imageId);

  // A repeated ClientToken answers with the original reservation, whatever happened since.
  const clientToken = p.str('ClientToken');
  const fingerprint = p.fingerprint();
  const earlier = clientToken ? ctx.state.runTokens.get(clientToken) : undefined;
  if (earlier !== undefined) {
    if (ctx.state.reservations.get(earlier)?.fingerprint !== fingerprint) {
      throw new Ec2Fault(
        'IdempotentParameterMismatch',
        'Arguments on this idempotent request are inconsistent with arguments used in previous request(s).',
      );
    }
    return reservationXml(earlier, reservationOf(ctx, earlier), ctx.state.accountId);
  }

  const [image] = ctx.state.findImages([imageId], ctx.lagMs);
  const account = ctx.state.accountId;
  if (!image || (image.ownerId !== account && !image.public && !image.launchPermissions.has(account))) {
    throw new Ec2Fault('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
  }
  if (image.state !== 'available') {
    throw new Ec2Fault('InvalidAMIID.Unavailable', `AMI '${imageId}' is ${image.state}, and cannot be run`);
  }

  const instanceType = p.str('InstanceType') ?? 'm1.small';
  if (!/^[a-z0-9-]+\.[a-z0-9]+$/.test(instanceType)) {
    throw new Ec2Fault('InvalidParameterValue', `Invalid value '${instanceType}' for InstanceType.`);
  }
  const userData = p.str('UserData');
  if (userData !== undefined) {
    checkUserData(userData);
    if (Buffer.from(userData, 'base64').length > 16384) {
      throw new Ec2Fault('InvalidParameterValue', 'User data is limited to 16384 bytes');
    }
  }
  const metadata = p.sub('MetadataOptions');
  const httpTokens = metadata ? oneOf(metadata, 'HttpTokens', ['optional', 'required'], 'optional') : 'optional';
  const httpEndpoint = metadata ? oneOf(metadata, 'HttpEndpoint', ['enabled', 'disabled'], 'enabled') : 'enabled';
  const hopLimit = metadata?.int('HttpPutResponseHopLimit') ?? 1;
  if (hopLimit < 1 || hopLimit > 64) throw invalidValue('HttpPutResponseHopLimit', String(hopLimit));

  const securityGroups = [
    // A group made with CreateSecurityGroup shows its name; ids the endpoint never made are taken on trust.
    ...p.strings('SecurityGroupId').map((groupId) => ({ groupId, groupName: ctx.state.securityGroups.get(groupId)?.groupName ?? groupId })),
    ...p.strings('SecurityGroup').map((groupName) => ({ groupId: `sg-${groupName}`, groupName })),
  ];
  const root = p.list('BlockDeviceMapping').find((m) => m.str('DeviceName') === image.rootDeviceName);
  const rootSize = root?.int('Ebs.VolumeSize');
  const rootKey = rootKeyOf(ctx, image.blockDevices[0], root);
  const tagSpecs = readTagSpecs(p, ['instance', 'volume', 'network-interface', 'spot-instances-request']);

  // Capacity is only known once the request is otherwise valid, as on EC2.
  if (ctx.faults.takeCapacityFailure(ctx.action)) {
    throw new Ec2Fault(
      'InsufficientInstanceCapacity',
      `We currently do not have sufficient ${instanceType} capacity in the Availability Zone you requested (${ctx.state.options.region}a). ` +
        'Our system will be working on provisioning additional capacity.',
    );
  }

  const keyName = p.str('KeyName');
  // The Go SDK sends unset strings as empty parameters; EC2 reads those as absent.
  const subnetId = p.str('SubnetId') || undefined;
  const reservation = launch(ctx.state, {
    imageId,
    count: maxCount,
    instanceType,
    ...(keyName !== undefined && { keyName }),
    ...(userData !== undefined && { userData }),
    ...(subnetId !== undefined && { subnetId }),
    ...(clientToken !== undefined && { clientToken }),
    securityGroups,
    httpTokens,
    httpEndpoint,
    httpPutResponseHopLimit: hopLimit,
    fingerprint,
    instanceTags: tagSpecs.get('instance') ?? new Map(),
    volumeTags: tagSpecs.get('volume') ?? new Map(),
    volumeSizeGiB: rootSize ?? image.blockDevices[0]?.volumeSize ?? 8,
    ...rootKey,
  });
  return reservationXml(reservation.reservationId, reservationOf(ctx, reservation.reservationId), ctx.state.accountId);
};

export const describeInstances: Handler = (p, ctx) => {
  const ids = p.strings('InstanceId');
  if (ids.length && p.has('MaxResults')) {
    throw new Ec2Fault('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
  }
  const records = ids.length ? ctx.state.findInstances(ids, ctx.lagMs) : ctx.state.visibleInstances(ctx.lagMs);
  const page = paginate(applyFilters(records, p, INSTANCE_FILTERS), p, ctx.action);
  return { reservationSet: reservationSetXml(page.items, ctx.state.accountId), nextToken: page.nextToken };
};

function targets(p: Params, ctx: ActionContext): InstanceRecord[] {
  const ids = p.strings('InstanceId');
  if (!ids.length) throw missingParameter('InstanceId');
  return ctx.state.findInstances(ids, ctx.lagMs);
}

export const stopInstances: Handler = (p, ctx) => {
  const instances = targets(p, ctx);
  // Refuse the whole request before touching anything, as EC2 does.
  for (const i of instances) {
    if (!['running', 'stopping', 'stopped'].includes(i.state)) {
      throw new Ec2Fault('IncorrectInstanceState', `This instance '${i.instanceId}' is not in a state from which it can be stopped.`);
    }
  }
  return { instancesSet: instances.map((i) => stateChangeXml(stop(ctx.state, i))) };
};

export const terminateInstances: Handler = (p, ctx) => {
  const instances = targets(p, ctx);
  return { instancesSet: instances.map((i) => stateChangeXml(terminate(ctx.state, i))) };
};
