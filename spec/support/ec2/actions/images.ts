import { Ec2Fault } from '../errors.ts';
import { copyImage, createImage, deregister } from '../imaging.ts';
import type { ImageRecord } from '../model.ts';
import { applyFilters, paginate, type FilterFields } from '../query.ts';
import { imageXml } from '../render.ts';
import { checkImageName, readTagSpecs, type ActionContext, type Handler } from './common.ts';

const IMAGE_FILTERS: FilterFields<ImageRecord> = {
  'image-id': (i) => i.imageId,
  name: (i) => i.name,
  state: (i) => i.state,
  'owner-id': (i) => i.ownerId,
  'is-public': (i) => String(i.public),
  architecture: (i) => i.architecture,
  description: (i) => i.description,
  'root-device-type': () => 'ebs',
  'root-device-name': (i) => i.rootDeviceName,
  'image-type': () => 'machine',
  'virtualization-type': () => 'hvm',
  'block-device-mapping.snapshot-id': (i) => i.blockDevices.map((d) => d.snapshotId),
  'block-device-mapping.device-name': (i) => i.blockDevices.map((d) => d.deviceName),
  'state-reason-code': (i) => i.stateReason?.code,
  'source-instance-id': (i) => i.sourceInstanceId,
};

function readable(ctx: ActionContext, image: ImageRecord): boolean {
  const account = ctx.state.accountId;
  return image.ownerId === account || image.public || image.launchPermissions.has(account);
}

/** Another account's image, even a public one, cannot be changed: EC2 answers AuthFailure. */
function ownImage(ctx: ActionContext, imageId: string): ImageRecord {
  const [image] = ctx.state.findImages([imageId], ctx.lagMs);
  if (!image || !readable(ctx, image)) throw new Ec2Fault('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
  if (image.ownerId !== ctx.state.accountId) throw new Ec2Fault('AuthFailure', `Not authorized for image:${imageId}`);
  return image;
}

export const createImageAction: Handler = (p, ctx) => {
  const instanceId = p.req('InstanceId');
  const name = p.req('Name');
  const [instance] = ctx.state.findInstances([instanceId], ctx.lagMs);
  if (!instance) throw new Error('unreachable: findInstances returned nothing');
  if (instance.state !== 'running' && instance.state !== 'stopped') {
    throw new Ec2Fault('IncorrectInstanceState', `Instance '${instanceId}' is not in a valid state for this operation (${instance.state}).`);
  }
  checkImageName(ctx, name);
  const tagSpecs = readTagSpecs(p, ['image', 'snapshot']);
  const failure = ctx.faults.takeImageFailure(ctx.action);
  const description = p.str('Description');
  const image = createImage(ctx.state, instance, {
    name,
    ...(description !== undefined && { description }),
    noReboot: p.bool('NoReboot') ?? false,
    imageTags: tagSpecs.get('image') ?? new Map(),
    snapshotTags: tagSpecs.get('snapshot') ?? new Map(),
    ...(failure && { failure }),
  });
  return { imageId: image.imageId };
};

export const describeImages: Handler = (p, ctx) => {
  const ids = p.strings('ImageId');
  if (ids.length && p.has('MaxResults')) {
    throw new Ec2Fault('InvalidParameterCombination', 'The parameter ImageIds cannot be used with the parameter MaxResults');
  }
  const owners = p.strings('Owner');
  let records: ImageRecord[];
  if (ids.length) {
    records = ctx.state.findImages(ids, ctx.lagMs);
    const hidden = records.filter((i) => !readable(ctx, i)).map((i) => i.imageId);
    if (hidden.length) throw new Ec2Fault('InvalidAMIID.NotFound', `The image id '[${hidden.join(', ')}]' does not exist`);
  } else {
    records = ctx.state.visibleImages(ctx.lagMs).filter((i) => readable(ctx, i));
  }
  if (owners.length) {
    const wanted = new Set(owners.map((o) => (o === 'self' ? ctx.state.accountId : o)));
    records = records.filter((i) => wanted.has(i.ownerId));
  }
  const page = paginate(applyFilters(records, p, IMAGE_FILTERS), p, ctx.action);
  return { imagesSet: page.items.map(imageXml), nextToken: page.nextToken };
};

export const deregisterImage: Handler = (p, ctx) => {
  const imageId = p.req('ImageId');
  const image = ownImage(ctx, imageId);
  if (image.state === 'deregistered') {
    throw new Ec2Fault('InvalidAMIID.Unavailable', `The image id '[${imageId}]' is no longer available`);
  }
  const deleteSnapshots = p.bool('DeleteAssociatedSnapshots') ?? false;
  const deleted = deregister(ctx.state, image, deleteSnapshots);
  return {
    return: true,
    deleteSnapshotResultSet: deleteSnapshots ? deleted.map((snapshotId) => ({ snapshotId, returnCode: 'success' })) : undefined,
  };
};

export const copyImageAction: Handler = (p, ctx) => {
  const sourceImageId = p.req('SourceImageId');
  const sourceRegion = p.req('SourceRegion');
  const name = p.req('Name');
  const clientToken = p.str('ClientToken');
  const earlier = clientToken ? ctx.state.copyTokens.get(clientToken) : undefined;
  if (earlier !== undefined) return { imageId: earlier };

  const [source] = ctx.state.findImages([sourceImageId], ctx.lagMs);
  if (!source || !readable(ctx, source)) {
    throw new Ec2Fault('InvalidAMIID.NotFound', `The image id '[${sourceImageId}]' does not exist`);
  }
  if (source.state !== 'available') {
    throw new Ec2Fault('IncorrectState', `Image ${sourceImageId} is not in a valid state for this operation (${source.state}).`);
  }
  checkImageName(ctx, name);
  const tagSpecs = readTagSpecs(p, ['image', 'snapshot']);
  const imageTags = new Map(p.bool('CopyImageTags') ? source.tags : []);
  for (const [key, value] of tagSpecs.get('image') ?? []) imageTags.set(key, value);
  const failure = ctx.faults.takeImageFailure(ctx.action);
  const description = p.str('Description') ?? source.description;
  const image = copyImage(ctx.state, source, {
    name,
    ...(description !== undefined && { description }),
    sourceRegion,
    imageTags,
    snapshotTags: tagSpecs.get('snapshot') ?? new Map(),
    ...(failure && { failure }),
  });
  if (clientToken) ctx.state.copyTokens.set(clientToken, image.imageId);
  return { imageId: image.imageId };
};

/** Both request shapes the API accepts: structured (`LaunchPermission.Add.N`) and flat (`Attribute`/`OperationType`). */
export const modifyImageAttribute: Handler = (p, ctx) => {
  const image = ownImage(ctx, p.req('ImageId'));
  const attribute = p.str('Attribute');
  let changed = false;

  const description = p.str('Description.Value') ?? (attribute === 'description' ? p.str('Value') : undefined);
  if (description !== undefined) {
    image.description = description;
    changed = true;
  }

  const grant = (who: { userId?: string | undefined; group?: string | undefined }, add: boolean): void => {
    const principal = who.group === 'all' ? 'all' : who.userId;
    if (principal === undefined) return;
    if (add) image.launchPermissions.add(principal);
    else image.launchPermissions.delete(principal);
    changed = true;
  };
  for (const [list, add] of [['LaunchPermission.Add', true], ['LaunchPermission.Remove', false]] as const) {
    for (const entry of p.list(list)) grant({ userId: entry.str('UserId'), group: entry.str('Group') }, add);
  }
  if (attribute === 'launchPermission') {
    const operation = p.str('OperationType');
    if (operation !== 'add' && operation !== 'remove') throw new Ec2Fault('MissingParameter', 'The request must contain the parameter OperationType');
    for (const userId of p.strings('UserId')) grant({ userId }, operation === 'add');
    for (const group of p.strings('UserGroup')) grant({ group }, operation === 'add');
  }
  if (!changed) throw new Ec2Fault('InvalidParameterCombination', 'No attributes specified.');
  image.public = image.launchPermissions.has('all');
  return { return: true };
};
