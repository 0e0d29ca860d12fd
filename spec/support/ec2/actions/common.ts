import { Ec2Fault, invalidValue } from '../errors.ts';
import type { Faults } from '../faults.ts';
import type { ImageRecord, Tags } from '../model.ts';
import type { Ec2World } from '../regions.ts';
import type { Ec2State } from '../state.ts';
import type { Params, XmlObject } from '../wire.ts';

export interface ActionContext {
  action: string;
  /** The region the request was signed for. */
  state: Ec2State;
  /** Every region, for the actions that reach across them (CopyImage). */
  world: Ec2World;
  faults: Faults;
  /** Consistency lag that applies to this action's lookups. */
  lagMs: number;
}

export type Handler = (params: Params, ctx: ActionContext) => XmlObject;

function checkTagKey(key: string): void {
  if (key.length === 0 || key.length > 128) throw invalidValue('Tag.Key', key, 'length must be 1..128');
  if (key.toLowerCase().startsWith('aws:')) {
    throw new Ec2Fault('InvalidParameterValue', `Tag keys starting with 'aws:' are reserved for internal use`);
  }
}

/** `Tag.N.Key` / `Tag.N.Value` under `params`; a missing value is the empty string, as on EC2. */
export function readTags(params: Params, listName = 'Tag'): Tags {
  const tags: Tags = new Map();
  for (const tag of params.list(listName)) {
    const key = tag.req('Key');
    checkTagKey(key);
    tags.set(key, tag.str('Value') ?? '');
  }
  return tags;
}

/**
 * `TagSpecification.N` grouped by resource type. Types the action cannot tag are rejected
 * rather than ignored, so a typo in the sidecar shows up in tests.
 */
export function readTagSpecs(params: Params, allowed: readonly string[]): Map<string, Tags> {
  const byType = new Map<string, Tags>();
  for (const spec of params.list('TagSpecification')) {
    const type = spec.req('ResourceType');
    if (!allowed.includes(type)) {
      throw new Ec2Fault('InvalidParameterValue', `'${type}' is not a valid taggable resource type for this operation.`);
    }
    const tags = byType.get(type) ?? new Map<string, string>();
    for (const [key, value] of readTags(spec)) tags.set(key, value);
    byType.set(type, tags);
  }
  return byType;
}

const AMI_NAME = /^[a-zA-Z0-9()[\] ./\-'@_]{3,128}$/;

/** AMI names are 3-128 characters from a fixed set and unique among the account's live images. */
export function checkImageName(ctx: ActionContext, name: string): void {
  if (!AMI_NAME.test(name)) {
    throw new Ec2Fault(
      'InvalidAMIName.Malformed',
      `AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '.', '-', '/' and '_'`,
    );
  }
  const existing = ctx.state.imageNamed(name);
  if (existing) throw new Ec2Fault('InvalidAMIName.Duplicate', `AMI name ${name} is already in use by AMI ${existing.imageId}`);
}

/** Base64 as EC2 accepts it: the standard alphabet with padding. */
export function checkUserData(value: string): void {
  if (value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    throw new Ec2Fault('InvalidParameterValue', 'Invalid BASE64 encoding of user data.');
  }
}

/** Own, public, or shared with this account by launch permission. */
export function readableImage(ctx: ActionContext, image: ImageRecord): boolean {
  const account = ctx.state.accountId;
  return image.ownerId === account || image.public || image.launchPermissions.has(account);
}

/** Another account's image, even a public one, cannot be changed: EC2 answers AuthFailure. */
export function ownImage(ctx: ActionContext, imageId: string): ImageRecord {
  const [image] = ctx.state.findImages([imageId], ctx.lagMs);
  if (!image || !readableImage(ctx, image)) throw new Ec2Fault('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
  if (image.ownerId !== ctx.state.accountId) throw new Ec2Fault('AuthFailure', `Not authorized for image:${imageId}`);
  return image;
}

/** Account ids as EC2 takes them in permission lists: twelve digits. */
export const ACCOUNT_ID = /^\d{12}$/;
