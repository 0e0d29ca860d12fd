import { Ec2Fault } from '../errors.ts';
import { createImage, deregister } from '../imaging.ts';
import type { ImageRecord } from '../model.ts';
import { applyFilters, paginate, type FilterFields } from '../query.ts';
import { imageXml } from '../render.ts';
import { checkImageName, ownImage, readableImage as readable, readTagSpecs, type Handler } from './common.ts';

const IMAGE_FILTERS: FilterFields<ImageRecord> = {
  'image-id': (i) => i.imageId,
  name: (i) => i.name,
  state: (i) => i.state,
  'owner-id': (i) => i.ownerId,
  'owner-alias': (i) => i.ownerAlias,
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
  'block-device-mapping.encrypted': (i) => i.blockDevices.map((d) => String(d.encrypted)),
};

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
    // An account id, self, or an alias such as amazon: an image matches by its owner or its owner's alias.
    const wanted = new Set(owners.map((o) => (o === 'self' ? ctx.state.accountId : o)));
    records = records.filter((i) => wanted.has(i.ownerId) || (i.ownerAlias !== undefined && wanted.has(i.ownerAlias)));
  }
  const page = paginate(applyFilters(records, p, IMAGE_FILTERS), p, ctx.action);
  const now = ctx.state.clock.now();
  return { imagesSet: page.items.map((i) => imageXml(i, now)), nextToken: page.nextToken };
};

export const deregisterImage: Handler = (p, ctx) => {
  const imageId = p.req('ImageId');
  const image = ownImage(ctx, imageId);
  if (image.state === 'deregistered') {
    throw new Ec2Fault('InvalidAMIID.Unavailable', `The image id '[${imageId}]' is no longer available`);
  }
  // The reference names no code for this; OperationNotPermitted is what EC2 gives the same
  // guard on instances (termination protection), so callers can treat both alike.
  const protection = image.deregistrationProtection;
  if (protection.enabled || (protection.until ?? 0) > ctx.state.clock.now()) {
    throw new Ec2Fault('OperationNotPermitted', `Image ${imageId} has deregistration protection enabled and cannot be deregistered.`);
  }
  const deleteSnapshots = p.bool('DeleteAssociatedSnapshots') ?? false;
  const deleted = deregister(ctx.state, image, deleteSnapshots);
  return {
    return: true,
    deleteSnapshotResultSet: deleteSnapshots ? deleted.map((snapshotId) => ({ snapshotId, returnCode: 'success' })) : undefined,
  };
};
