import { Ec2Fault } from '../errors.ts';
import { copyImage } from '../imaging.ts';
import { usableKey } from '../kms.ts';
import type { StateReason } from '../model.ts';
import { isRegion } from '../regions.ts';
import { checkImageName, readableImage, readTagSpecs, type ActionContext, type Handler } from './common.ts';

/**
 * EC2 checks the key only once the copy runs (the reference says so for KmsKeyId), so a key of
 * another region or a malformed one gives a copy that fails; this is the reason it then shows.
 */
const KEY_FAILURE: StateReason = { code: 'Server.InternalError', message: 'Copy image failed with an internal error' };

function sourceRegionOf(ctx: ActionContext, name: string): string {
  if (!isRegion(name)) throw new Ec2Fault('InvalidRegion', `The source region '${name}' is not a valid region code.`);
  if (ctx.world.optInStatus(name) === 'not-opted-in') {
    throw new Ec2Fault('InvalidRegion', `The source region '${name}' is not enabled for this account.`);
  }
  return name;
}

/**
 * The request's region is the destination; the source image lives in SourceRegion's state,
 * which may be the same region. A repeated ClientToken answers with the first copy, per
 * destination region, without looking at anything else.
 */
export const copyImageAction: Handler = (p, ctx) => {
  const sourceImageId = p.req('SourceImageId');
  const sourceRegion = sourceRegionOf(ctx, p.req('SourceRegion'));
  const name = p.req('Name');
  const clientToken = p.str('ClientToken');
  const earlier = clientToken ? ctx.state.copyTokens.get(clientToken) : undefined;
  if (earlier !== undefined) return { imageId: earlier };

  const encrypt = p.bool('Encrypted') ?? false;
  const kmsKeyId = p.str('KmsKeyId');
  if (kmsKeyId !== undefined && !encrypt) {
    throw new Ec2Fault('InvalidParameterDependency', 'The parameter KmsKeyId requires the parameter Encrypted to be set.');
  }
  const [source] = ctx.world.state(sourceRegion).findImages([sourceImageId], ctx.lagMs);
  if (!source || !readableImage(ctx, source)) {
    throw new Ec2Fault('InvalidAMIID.NotFound', `The image id '[${sourceImageId}]' does not exist`);
  }
  if (source.state !== 'available') {
    throw new Ec2Fault('IncorrectState', `Image ${sourceImageId} is not in a valid state for this operation (${source.state}).`);
  }
  checkImageName(ctx, name);
  const tagSpecs = readTagSpecs(p, ['image', 'snapshot']);
  const imageTags = new Map(p.bool('CopyImageTags') ? [...source.tags].filter(([key]) => !key.startsWith('aws:')) : []);
  for (const [key, value] of tagSpecs.get('image') ?? []) imageTags.set(key, value);

  const kmsKeyArn = kmsKeyId === undefined ? undefined : usableKey(kmsKeyId, ctx.state.region, ctx.state.accountId);
  const keyFailure = kmsKeyId !== undefined && kmsKeyArn === undefined;
  const failure = ctx.faults.takeImageFailure(ctx.action) ?? (keyFailure ? KEY_FAILURE : undefined);
  const description = p.str('Description') ?? source.description;
  const image = copyImage(ctx.state, source, {
    name,
    ...(description !== undefined && { description }),
    sourceRegion,
    imageTags,
    snapshotTags: tagSpecs.get('snapshot') ?? new Map(),
    encrypt,
    ...(kmsKeyArn !== undefined && { kmsKeyArn }),
    ...(failure && { failure }),
  });
  if (clientToken) ctx.state.copyTokens.set(clientToken, image.imageId);
  return { imageId: image.imageId };
};
