import { Ec2Fault, missingParameter } from '../errors.ts';
import { isDefaultKey } from '../kms.ts';
import type { ImageRecord, SnapshotRecord } from '../model.ts';
import { protectionState } from '../render.ts';
import type { Params, XmlObject } from '../wire.ts';
import { ACCOUNT_ID, ownImage, readableImage, type ActionContext, type Handler } from './common.ts';

const ORGANIZATION_ARN = /^arn:aws:organizations::\d{12}:organization\/o-[a-z0-9]{10,32}$/;
const OU_ARN = /^arn:aws:organizations::\d{12}:ou\/o-[a-z0-9]{10,32}\/ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$/;

interface Change {
  principal: string;
  add: boolean;
}

/** A launch permission names exactly one of these; the set stores each as its own string. */
function imagePrincipal(entry: { userId?: string; group?: string; org?: string; ou?: string }): string | undefined {
  const given = [entry.userId, entry.group, entry.org, entry.ou].filter((v) => v !== undefined);
  if (given.length === 0) return undefined;
  const bad = (value: string): Ec2Fault => new Ec2Fault('InvalidAMIAttributeItemValue', `Invalid attribute item value "${value}" for launchPermission item type.`);
  if (given.length > 1) throw bad(given.join(', '));
  if (entry.userId !== undefined && !ACCOUNT_ID.test(entry.userId)) throw bad(entry.userId);
  if (entry.group !== undefined && entry.group !== 'all') throw bad(entry.group);
  if (entry.org !== undefined && !ORGANIZATION_ARN.test(entry.org)) throw bad(entry.org);
  if (entry.ou !== undefined && !OU_ARN.test(entry.ou)) throw bad(entry.ou);
  return given[0];
}

function launchPermissionChanges(p: Params): Change[] {
  const changes: Change[] = [];
  for (const [list, add] of [['LaunchPermission.Add', true], ['LaunchPermission.Remove', false]] as const) {
    for (const e of p.list(list)) {
      const principal = imagePrincipal({
        userId: e.str('UserId'),
        group: e.str('Group'),
        org: e.str('OrganizationArn'),
        ou: e.str('OrganizationalUnitArn'),
      });
      if (principal !== undefined) changes.push({ principal, add });
    }
  }
  if (p.str('Attribute') === 'launchPermission') {
    const operation = p.str('OperationType');
    if (operation !== 'add' && operation !== 'remove') throw missingParameter('OperationType');
    const add = operation === 'add';
    for (const userId of p.strings('UserId')) changes.push({ principal: imagePrincipal({ userId }) as string, add });
    for (const group of p.strings('UserGroup')) changes.push({ principal: imagePrincipal({ group }) as string, add });
    for (const org of p.strings('OrganizationArn')) changes.push({ principal: imagePrincipal({ org }) as string, add });
    for (const ou of p.strings('OrganizationalUnitArn')) changes.push({ principal: imagePrincipal({ ou }) as string, add });
  }
  return changes;
}

function snapshotsOf(ctx: ActionContext, image: ImageRecord): SnapshotRecord[] {
  return image.blockDevices.flatMap((d) => ctx.state.snapshots.get(d.snapshotId) ?? []);
}

/** Messages as seen on the wire; the codes differ between the image and the snapshot action. */
function refuseImageSharing(ctx: ActionContext, image: ImageRecord, changes: Change[]): void {
  const sharing = changes.filter((c) => c.add && c.principal !== ctx.state.accountId);
  if (!sharing.length) return;
  const snapshots = snapshotsOf(ctx, image);
  if (snapshots.some((s) => s.encrypted && isDefaultKey(s.kmsKeyId))) {
    throw new Ec2Fault('InvalidParameter', "Snapshots encrypted with the AWS Managed CMK can't be shared. Specify another snapshot.");
  }
  if (sharing.some((c) => c.principal === 'all') && snapshots.some((s) => s.encrypted)) {
    throw new Ec2Fault('InvalidParameter', `Image ${image.imageId} has encrypted snapshots and cannot be made public.`);
  }
}

/** Both request shapes the API accepts: structured (`LaunchPermission.Add.N`) and flat (`Attribute`/`OperationType`). */
export const modifyImageAttribute: Handler = (p, ctx) => {
  const image = ownImage(ctx, p.req('ImageId'));
  const attribute = p.str('Attribute');
  const description = p.str('Description.Value') ?? (attribute === 'description' ? p.str('Value') : undefined);
  // Every value is checked before anything changes, so a bad item leaves the image as it was.
  const changes = launchPermissionChanges(p);
  if (description === undefined && !changes.length) throw new Ec2Fault('InvalidParameterCombination', 'No attributes specified.');
  refuseImageSharing(ctx, image, changes);
  if (description !== undefined) image.description = description;
  for (const { principal, add } of changes) {
    if (add) image.launchPermissions.add(principal);
    else image.launchPermissions.delete(principal);
  }
  image.public = image.launchPermissions.has('all');
  return { return: true };
};

function launchPermissionXml(principal: string): XmlObject {
  if (principal === 'all') return { group: 'all' };
  if (ORGANIZATION_ARN.test(principal)) return { organizationArn: principal };
  if (OU_ARN.test(principal)) return { organizationalUnitArn: principal };
  return { userId: principal };
}

const IMAGE_ATTRIBUTES = [
  'description',
  'kernel',
  'ramdisk',
  'launchPermission',
  'productCodes',
  'blockDeviceMapping',
  'sriovNetSupport',
  'bootMode',
  'tpmSupport',
  'uefiData',
  'lastLaunchedTime',
  'imdsSupport',
  'deregistrationProtection',
];

/** Attributes the stand-in does not model come back absent, as unset ones do on EC2. */
export const describeImageAttribute: Handler = (p, ctx) => {
  const imageId = p.req('ImageId');
  const attribute = p.req('Attribute');
  if (!IMAGE_ATTRIBUTES.includes(attribute)) throw new Ec2Fault('InvalidParameterValue', `Value (${attribute}) for parameter attribute is invalid. Unknown attribute.`);
  if (attribute === 'blockDeviceMapping') throw new Ec2Fault('AuthFailure', 'Unauthorized attempt to access restricted resource');
  const image = attribute === 'launchPermission' ? ownImage(ctx, imageId) : ctx.state.findImages([imageId], ctx.lagMs)[0];
  if (!image || !readableImage(ctx, image)) throw new Ec2Fault('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
  const reply: XmlObject = { imageId };
  if (attribute === 'launchPermission') reply.launchPermission = [...image.launchPermissions].map(launchPermissionXml);
  if (attribute === 'productCodes') reply.productCodes = [];
  if (attribute === 'description' && image.description !== undefined) reply.description = { value: image.description };
  if (attribute === 'imdsSupport') reply.imdsSupport = { value: 'v2.0' };
  if (attribute === 'deregistrationProtection') {
    reply.deregistrationProtection = { value: protectionState(image, ctx.state.clock.now()) };
  }
  return reply;
};

function ownSnapshot(ctx: ActionContext, snapshotId: string): SnapshotRecord {
  const [snapshot] = ctx.state.findSnapshots([snapshotId]);
  if (!snapshot || snapshot.ownerId !== ctx.state.accountId) {
    throw new Ec2Fault('InvalidSnapshot.NotFound', `The snapshot '${snapshotId}' does not exist.`);
  }
  return snapshot;
}

function volumePrincipal(userId: string | undefined, group: string | undefined): string | undefined {
  if (userId !== undefined && !ACCOUNT_ID.test(userId)) throw new Ec2Fault('InvalidUserID.Malformed', `User ID '${userId}' is invalid`);
  if (group !== undefined && group !== 'all') throw new Ec2Fault('InvalidParameterValue', `Value (${group}) for parameter group is invalid.`);
  return userId ?? group;
}

function volumePermissionChanges(p: Params): Change[] {
  const changes: Change[] = [];
  for (const [list, add] of [['CreateVolumePermission.Add', true], ['CreateVolumePermission.Remove', false]] as const) {
    for (const e of p.list(list)) {
      const principal = volumePrincipal(e.str('UserId'), e.str('Group'));
      if (principal !== undefined) changes.push({ principal, add });
    }
  }
  const operation = p.str('OperationType');
  if (operation !== undefined) {
    if (operation !== 'add' && operation !== 'remove') throw new Ec2Fault('InvalidParameterValue', `Value (${operation}) for parameter operationType is invalid.`);
    for (const userId of p.strings('UserId')) changes.push({ principal: volumePrincipal(userId, undefined) as string, add: operation === 'add' });
    for (const group of p.strings('UserGroup')) changes.push({ principal: volumePrincipal(undefined, group) as string, add: operation === 'add' });
  }
  return changes;
}

/** One direction per request: the reference forbids adding and removing together. */
export const modifySnapshotAttribute: Handler = (p, ctx) => {
  const snapshot = ownSnapshot(ctx, p.req('SnapshotId'));
  const attribute = p.str('Attribute') ?? 'createVolumePermission';
  if (attribute !== 'createVolumePermission') {
    throw new Ec2Fault('InvalidParameterValue', `Value (${attribute}) for parameter attribute is invalid. Only createVolumePermission can be modified.`);
  }
  const changes = volumePermissionChanges(p);
  if (!changes.length) throw new Ec2Fault('InvalidParameterCombination', 'No attributes specified.');
  if (changes.some((c) => c.add) && changes.some((c) => !c.add)) {
    throw new Ec2Fault('InvalidParameterCombination', 'Cannot add and remove create volume permissions in the same request.');
  }
  const sharing = changes.filter((c) => c.add && c.principal !== ctx.state.accountId);
  if (sharing.length && snapshot.encrypted && isDefaultKey(snapshot.kmsKeyId)) {
    throw new Ec2Fault('OperationNotPermitted', 'Encrypted snapshots with EBS default key cannot be shared');
  }
  if (sharing.some((c) => c.principal === 'all') && snapshot.encrypted) {
    throw new Ec2Fault('OperationNotPermitted', 'Encrypted snapshots cannot be made public');
  }
  for (const { principal, add } of changes) {
    if (add) snapshot.createVolumePermissions.add(principal);
    else snapshot.createVolumePermissions.delete(principal);
  }
  return { return: true };
};

export const describeSnapshotAttribute: Handler = (p, ctx) => {
  const snapshotId = p.req('SnapshotId');
  const attribute = p.req('Attribute');
  if (attribute !== 'createVolumePermission' && attribute !== 'productCodes') {
    throw new Ec2Fault('InvalidParameterValue', `Value (${attribute}) for parameter attribute is invalid.`);
  }
  const snapshot = ownSnapshot(ctx, snapshotId);
  if (attribute === 'productCodes') return { snapshotId, productCodes: [] };
  const permissions = [...snapshot.createVolumePermissions].map((who) => (who === 'all' ? { group: 'all' } : { userId: who }));
  return { snapshotId, createVolumePermission: permissions };
};
