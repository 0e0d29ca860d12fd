import { Ec2Fault, invalidValue, missingParameter } from '../errors.ts';
import type { InstanceStateName } from '../model.ts';
import { pageByIndex } from '../query.ts';
import { protectionState } from '../render.ts';
import type { Params, XmlObject } from '../wire.ts';
import { ownImage, type Handler } from './common.ts';

const MINUTE = 60_000;
const YEAR = 365.25 * 24 * 60 * MINUTE;
const COOLDOWN_MS = 24 * 60 * MINUTE;

/**
 * EC2 rounds DeprecateAt to the nearest minute and takes neither the past nor more than ten
 * years ahead (two years from creation for a public image).
 */
export const enableImageDeprecation: Handler = (p, ctx) => {
  const image = ownImage(ctx, p.req('ImageId'));
  const raw = p.req('DeprecateAt');
  const at = Date.parse(raw);
  if (Number.isNaN(at)) throw invalidValue('DeprecateAt', raw, 'expecting an ISO 8601 time');
  const rounded = Math.round(at / MINUTE) * MINUTE;
  const now = ctx.state.clock.now();
  if (rounded <= now) throw invalidValue('DeprecateAt', raw, 'the deprecation time must be in the future');
  const limit = image.public ? image.createdAt + 2 * YEAR : now + 10 * YEAR;
  if (rounded > limit) {
    throw invalidValue('DeprecateAt', raw, image.public ? 'at most 2 years after a public image was created' : 'at most 10 years ahead');
  }
  image.deprecationTime = rounded;
  return { return: true };
};

export const disableImageDeprecation: Handler = (p, ctx) => {
  const image = ownImage(ctx, p.req('ImageId'));
  delete image.deprecationTime;
  return { return: true };
};

/** The reply's `return` is the protection's new state, not a boolean, as on the wire. */
export const enableImageDeregistrationProtection: Handler = (p, ctx) => {
  const image = ownImage(ctx, p.req('ImageId'));
  image.deregistrationProtection = { enabled: true, cooldown: p.bool('WithCooldown') ?? false };
  return { return: protectionState(image, ctx.state.clock.now()) };
};

/** Disabling a with-cooldown protection keeps the image protected for another 24 hours. */
export const disableImageDeregistrationProtection: Handler = (p, ctx) => {
  const image = ownImage(ctx, p.req('ImageId'));
  const now = ctx.state.clock.now();
  const current = image.deregistrationProtection;
  if (current.enabled) {
    image.deregistrationProtection = { enabled: false, cooldown: false, ...(current.cooldown && { until: now + COOLDOWN_MS }) };
  }
  return { return: protectionState(image, now) };
};

const REFERENCE_TYPES = ['ec2:Instance', 'ec2:LaunchTemplate', 'ssm:Parameter', 'imagebuilder:ImageRecipe', 'imagebuilder:ContainerRecipe'];
const STATES: InstanceStateName[] = ['pending', 'running', 'shutting-down', 'terminated', 'stopping', 'stopped'];
/** The reference's defaults: instances in every state, the ten newest versions of a template. */
const DEFAULT_DEPTH = 10;

interface Scope {
  states: readonly string[];
  depth: number;
}

function optionsOf(type: string, request: Params): Partial<Scope> {
  const scope: Partial<Scope> = {};
  for (const option of request.list('ResourceTypeOption')) {
    const name = option.req('OptionName');
    const values = option.strings('OptionValue');
    if (type === 'ec2:Instance' && name === 'state-name') {
      const bad = values.find((v) => !STATES.includes(v as InstanceStateName));
      if (bad !== undefined || !values.length) throw invalidValue('OptionValue', bad ?? '', 'expecting instance state names');
      scope.states = values;
    } else if (type === 'ec2:LaunchTemplate' && name === 'version-depth') {
      const depth = Number(values[0]);
      if (values.length !== 1 || !/^\d+$/.test(values[0] ?? '') || depth < 1 || depth > 10_000) {
        throw invalidValue('OptionValue', values.join(','), 'expecting one integer between 1 and 10000');
      }
      scope.depth = depth;
    } else {
      throw new Ec2Fault('InvalidParameterCombination', `The option ${name} cannot be used with the resource type ${type}.`);
    }
  }
  return scope;
}

/** Resource type → how far to look; ResourceType.N options override the all-types defaults. */
function scopeOf(p: Params): Map<string, Scope> {
  const all = p.bool('IncludeAllResourceTypes') ?? false;
  const requested = p.list('ResourceType');
  if (!all && !requested.length) throw missingParameter('IncludeAllResourceTypes or ResourceType');
  const scope = new Map<string, Scope>();
  const defaults: Scope = { states: STATES, depth: DEFAULT_DEPTH };
  if (all) for (const type of REFERENCE_TYPES) scope.set(type, defaults);
  for (const request of requested) {
    const type = request.req('ResourceType');
    if (!REFERENCE_TYPES.includes(type)) throw invalidValue('ResourceType', type);
    scope.set(type, { ...defaults, ...optionsOf(type, request) });
  }
  return scope;
}

/**
 * Instances launched from the image, and launch templates one of whose newest versions names
 * it (one reference per template). SSM parameters and Image Builder recipes are not modelled
 * and never refer to anything.
 */
export const describeImageReferences: Handler = (p, ctx) => {
  const ids = p.strings('ImageId');
  if (!ids.length) throw missingParameter('ImageId');
  if (ids.length > 10) throw invalidValue('ImageId', ids.join(','), 'at most 10 image ids');
  ctx.state.findImages(ids, ctx.lagMs);
  const scope = scopeOf(p);
  const { region, accountId } = ctx.state;
  const arn = (kind: string, id: string): string => `arn:aws:ec2:${region}:${accountId}:${kind}/${id}`;
  const references: XmlObject[] = [];
  for (const imageId of ids) {
    const instances = scope.get('ec2:Instance');
    for (const i of instances ? ctx.state.visibleInstances(ctx.lagMs) : []) {
      if (i.imageId === imageId && instances?.states.includes(i.state)) {
        references.push({ imageId, resourceType: 'ec2:Instance', arn: arn('instance', i.instanceId) });
      }
    }
    const templates = scope.get('ec2:LaunchTemplate');
    for (const t of templates ? ctx.state.launchTemplates.values() : []) {
      if (t.versions.slice(-(templates?.depth ?? DEFAULT_DEPTH)).some((v) => v.data.imageId === imageId)) {
        references.push({ imageId, resourceType: 'ec2:LaunchTemplate', arn: arn('launch-template', t.launchTemplateId) });
      }
    }
  }
  const page = pageByIndex(references, p, ctx.action, { min: 1, max: 1000 });
  return { imageReferenceSet: page.items, nextToken: page.nextToken };
};
