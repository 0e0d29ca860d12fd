import { Ec2Fault, missingParameter } from './errors.ts';
import { checkId, type LaunchTemplateData, type LaunchTemplateRecord, type LaunchTemplateVersionRecord } from './model.ts';
import { tagSet } from './render.ts';
import type { Ec2State } from './state.ts';
import type { Params, XmlObject, XmlValue } from './wire.ts';
import { readTagSpecs } from './actions/common.ts';

/** Launch template names: 3 to 128 characters from a fixed set, unique per region. */
const TEMPLATE_NAME = /^[a-zA-Z0-9().\-/_]{3,128}$/;
/** What an instance launched from a template can tag. */
const DATA_TAG_TYPES = ['instance', 'volume', 'network-interface', 'spot-instances-request'];

const iso = (ms: number): string => new Date(ms).toISOString();

export function checkTemplateName(name: string): void {
  if (!TEMPLATE_NAME.test(name)) {
    throw new Ec2Fault(
      'InvalidLaunchTemplateName.MalformedException',
      `Launch template name '${name}' is malformed: use 3 to 128 letters, digits and the characters ( ) . - / _`,
    );
  }
}

/** Only the fields the request names: a new version overrides exactly these in its source. */
export function readTemplateData(p: Params): Partial<LaunchTemplateData> {
  const data = p.sub('LaunchTemplateData');
  if (!data) throw missingParameter('LaunchTemplateData');
  const given: Partial<LaunchTemplateData> = {};
  const imageId = data.str('ImageId');
  const instanceType = data.str('InstanceType');
  const keyName = data.str('KeyName');
  if (imageId !== undefined) given.imageId = imageId;
  if (instanceType !== undefined) given.instanceType = instanceType;
  if (keyName !== undefined) given.keyName = keyName;
  if (data.has('TagSpecification')) given.tagSpecifications = readTagSpecs(data, DATA_TAG_TYPES);
  return given;
}

export function mergeData(base: LaunchTemplateData | undefined, given: Partial<LaunchTemplateData>): LaunchTemplateData {
  return {
    ...(base && structuredClone(base)),
    ...given,
    tagSpecifications: given.tagSpecifications ?? new Map(base?.tagSpecifications ?? []),
  };
}

/** EC2 keeps a template whose AMI it cannot find, and says so in `warning` rather than failing. */
export function dataWarning(state: Ec2State, data: LaunchTemplateData, lagMs: number): XmlObject | undefined {
  if (data.imageId === undefined) return undefined;
  try {
    state.findImages([data.imageId], lagMs);
    return undefined;
  } catch (error) {
    if (!(error instanceof Ec2Fault)) throw error;
    return { errorSet: [{ code: error.code, message: error.message }] };
  }
}

/** LaunchTemplateId or LaunchTemplateName, never both, as every template action takes them. */
export function templateFrom(state: Ec2State, p: Params): LaunchTemplateRecord {
  const id = p.str('LaunchTemplateId');
  const name = p.str('LaunchTemplateName');
  if (id !== undefined && name !== undefined) {
    throw new Ec2Fault('InvalidParameterCombination', 'Specify either the launch template ID or the launch template name, not both.');
  }
  if (id !== undefined) return templateById(state, id);
  if (name !== undefined) return templateByName(state, name);
  throw missingParameter('LaunchTemplateId or LaunchTemplateName');
}

export function templateById(state: Ec2State, id: string): LaunchTemplateRecord {
  checkId('lt', id);
  const template = state.launchTemplates.get(id);
  if (!template) {
    throw new Ec2Fault('InvalidLaunchTemplateId.NotFound', `The specified launch template, with template ID ${id}, does not exist.`);
  }
  return template;
}

export function templateByName(state: Ec2State, name: string): LaunchTemplateRecord {
  const template = [...state.launchTemplates.values()].find((t) => t.name === name);
  if (!template) {
    throw new Ec2Fault(
      'InvalidLaunchTemplateName.NotFoundException',
      `The specified launch template, with template name ${name}, does not exist.`,
    );
  }
  return template;
}

export function latestVersion(template: LaunchTemplateRecord): LaunchTemplateVersionRecord {
  return template.versions[template.versions.length - 1] as LaunchTemplateVersionRecord;
}

/** `$Latest`, `$Default` or a version number. */
export function versionOf(template: LaunchTemplateRecord, spec: string): LaunchTemplateVersionRecord {
  const number = spec === '$Latest' ? template.versions.length : spec === '$Default' ? template.defaultVersion : Number(spec);
  if (!/^(\$Latest|\$Default|\d+)$/.test(spec) || !template.versions[number - 1]) {
    throw new Ec2Fault(
      'InvalidLaunchTemplateId.VersionNotFound',
      `Could not find launch template version ${spec} for launch template ${template.launchTemplateId}.`,
    );
  }
  return template.versions[number - 1] as LaunchTemplateVersionRecord;
}

export function templateXml(t: LaunchTemplateRecord): XmlObject {
  return {
    launchTemplateId: t.launchTemplateId,
    launchTemplateName: t.name,
    createTime: iso(t.createdAt),
    createdBy: t.createdBy,
    defaultVersionNumber: t.defaultVersion,
    latestVersionNumber: t.versions.length,
    tagSet: t.tags.size ? tagSet(t.tags) : undefined,
  };
}

function dataXml(data: LaunchTemplateData): XmlObject {
  const specs: XmlValue[] = [...data.tagSpecifications].map(([resourceType, tags]) => ({ resourceType, tagSet: tagSet(tags) }));
  return {
    imageId: data.imageId,
    instanceType: data.instanceType,
    keyName: data.keyName,
    tagSpecificationSet: specs.length ? specs : undefined,
  };
}

export function versionXml(t: LaunchTemplateRecord, v: LaunchTemplateVersionRecord): XmlObject {
  return {
    launchTemplateId: t.launchTemplateId,
    launchTemplateName: t.name,
    versionNumber: v.versionNumber,
    versionDescription: v.description,
    createTime: iso(v.createdAt),
    createdBy: t.createdBy,
    defaultVersion: v.versionNumber === t.defaultVersion,
    launchTemplateData: dataXml(v.data),
  };
}
