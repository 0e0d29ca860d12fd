import { Ec2Fault, invalidValue, missingParameter } from '../errors.ts';
import { newId, type LaunchTemplateData, type LaunchTemplateRecord, type LaunchTemplateVersionRecord } from '../model.ts';
import { applyFilters, pageByIndex, paginate, type FilterFields } from '../query.ts';
import {
  checkTemplateName,
  dataWarning,
  latestVersion,
  mergeData,
  readTemplateData,
  templateById,
  templateByName,
  templateFrom,
  templateXml,
  versionOf,
  versionXml,
} from '../templates.ts';
import type { Params, XmlObject } from '../wire.ts';
import { readTagSpecs, type ActionContext, type Handler } from './common.ts';

/** Both Describe actions take 1..200 per page. */
const TEMPLATE_PAGES = { min: 1, max: 200 };
const MAX_VERSIONS = 10_000;

const TEMPLATE_FILTERS: FilterFields<LaunchTemplateRecord> = {
  'create-time': (t) => new Date(t.createdAt).toISOString(),
  'launch-template-name': (t) => t.name,
};

interface Listed {
  template: LaunchTemplateRecord;
  version: LaunchTemplateVersionRecord;
}

const VERSION_FILTERS: FilterFields<Listed> = {
  'create-time': ({ version }) => new Date(version.createdAt).toISOString(),
  'image-id': ({ version }) => version.data.imageId,
  'instance-type': ({ version }) => version.data.instanceType,
  'is-default-version': ({ template, version }) => String(template.defaultVersion === version.versionNumber),
};

function versionDescription(p: Params): string | undefined {
  const description = p.str('VersionDescription');
  if (description !== undefined && description.length > 255) throw invalidValue('VersionDescription', description, 'at most 255 characters');
  return description;
}

/**
 * A ClientToken answers with what its first request made, when the request is the same; a
 * different request under the same token is refused. Tokens are kept per action.
 */
function earlierResult(ctx: ActionContext, p: Params): { token?: string; made?: { launchTemplateId: string; versionNumber: number } } {
  const clientToken = p.str('ClientToken');
  if (clientToken === undefined) return {};
  if (clientToken.length > 128) throw invalidValue('ClientToken', clientToken, 'at most 128 characters');
  const token = `${ctx.action}:${clientToken}`;
  const earlier = ctx.state.templateTokens.get(token);
  if (!earlier) return { token };
  if (earlier.fingerprint !== p.fingerprint()) {
    throw new Ec2Fault(
      'IdempotentParameterMismatch',
      'Arguments on this idempotent request are inconsistent with arguments used in previous request(s).',
    );
  }
  return { token, made: earlier };
}

function addVersion(ctx: ActionContext, template: LaunchTemplateRecord, data: LaunchTemplateData, description: string | undefined): LaunchTemplateVersionRecord {
  const version: LaunchTemplateVersionRecord = {
    versionNumber: template.versions.length + 1,
    createdAt: ctx.state.clock.now(),
    data,
    ...(description !== undefined && { description }),
  };
  template.versions.push(version);
  return version;
}

export const createLaunchTemplate: Handler = (p, ctx) => {
  const { token, made } = earlierResult(ctx, p);
  if (made) return { launchTemplate: templateXml(templateById(ctx.state, made.launchTemplateId)) };
  const name = p.req('LaunchTemplateName');
  checkTemplateName(name);
  const given = readTemplateData(p);
  const description = versionDescription(p);
  const tags = readTagSpecs(p, ['launch-template']).get('launch-template') ?? new Map<string, string>();
  if ([...ctx.state.launchTemplates.values()].some((t) => t.name === name)) {
    throw new Ec2Fault('InvalidLaunchTemplateName.AlreadyExistsException', `Launch template name ${name} already in use.`);
  }
  const template: LaunchTemplateRecord = {
    seq: ctx.state.nextSeq(),
    createdAt: ctx.state.clock.now(),
    launchTemplateId: newId('lt'),
    name,
    createdBy: `arn:aws:iam::${ctx.state.accountId}:root`,
    defaultVersion: 1,
    tags,
    versions: [],
  };
  const version = addVersion(ctx, template, mergeData(undefined, given), description);
  ctx.state.launchTemplates.set(template.launchTemplateId, template);
  if (token) ctx.state.templateTokens.set(token, { fingerprint: p.fingerprint(), launchTemplateId: template.launchTemplateId, versionNumber: 1 });
  return { launchTemplate: templateXml(template), warning: dataWarning(ctx.state, version.data, ctx.lagMs) };
};

/** Without SourceVersion the new version holds only what this request gives, as on EC2. */
export const createLaunchTemplateVersion: Handler = (p, ctx) => {
  const template = templateFrom(ctx.state, p);
  const { token, made } = earlierResult(ctx, p);
  if (made) return { launchTemplateVersion: versionXml(template, versionOf(template, String(made.versionNumber))) };
  const given = readTemplateData(p);
  const description = versionDescription(p);
  const sourceVersion = p.str('SourceVersion');
  const base = sourceVersion === undefined ? undefined : versionOf(template, sourceVersion).data;
  if (template.versions.length >= MAX_VERSIONS) {
    throw new Ec2Fault('MaxTemplateVersionLimitExceeded', `Launch template ${template.launchTemplateId} has reached its version limit.`);
  }
  const version = addVersion(ctx, template, mergeData(base, given), description);
  if (token) {
    ctx.state.templateTokens.set(token, { fingerprint: p.fingerprint(), launchTemplateId: template.launchTemplateId, versionNumber: version.versionNumber });
  }
  return { launchTemplateVersion: versionXml(template, version), warning: dataWarning(ctx.state, version.data, ctx.lagMs) };
};

export const modifyLaunchTemplate: Handler = (p, ctx) => {
  const template = templateFrom(ctx.state, p);
  const wanted = p.str('SetDefaultVersion');
  if (wanted !== undefined) template.defaultVersion = versionOf(template, wanted).versionNumber;
  return { launchTemplate: templateXml(template) };
};

export const describeLaunchTemplates: Handler = (p, ctx) => {
  const ids = p.strings('LaunchTemplateId');
  const names = p.strings('LaunchTemplateName');
  let records = [...ctx.state.launchTemplates.values()];
  if (ids.length || names.length) {
    const named = [...ids.map((id) => templateById(ctx.state, id)), ...names.map((name) => templateByName(ctx.state, name))];
    records = [...new Set(named)];
  }
  const page = paginate(applyFilters(records, p, TEMPLATE_FILTERS), p, ctx.action, TEMPLATE_PAGES);
  return { launchTemplates: page.items.map(templateXml), nextToken: page.nextToken };
};

function versionNumber(p: Params, name: string): number | undefined {
  const raw = p.str(name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw invalidValue(name, raw, 'expecting a version number');
  return Number(raw);
}

/** One template's versions, newest first, narrowed by LaunchTemplateVersion.N or Min/MaxVersion. */
function versionsOfOne(p: Params, template: LaunchTemplateRecord): Listed[] {
  const specs = p.strings('LaunchTemplateVersion');
  const min = versionNumber(p, 'MinVersion') ?? 1;
  const max = versionNumber(p, 'MaxVersion') ?? Infinity;
  const chosen = specs.length ? [...new Set(specs.map((s) => versionOf(template, s)))] : template.versions;
  return chosen
    .filter((v) => v.versionNumber >= min && v.versionNumber <= max)
    .sort((a, b) => b.versionNumber - a.versionNumber)
    .map((version) => ({ template, version }));
}

/** Across the account only `$Latest` and `$Default` make sense; numbers belong to one template. */
function versionsOfAll(p: Params, ctx: ActionContext): Listed[] {
  const specs = p.strings('LaunchTemplateVersion');
  if (!specs.length) throw missingParameter('LaunchTemplateId, LaunchTemplateName or LaunchTemplateVersion');
  const bad = specs.find((s) => s !== '$Latest' && s !== '$Default');
  if (bad !== undefined) {
    throw invalidValue('LaunchTemplateVersion', bad, 'only $Latest and $Default can be used without a launch template');
  }
  return [...ctx.state.launchTemplates.values()].flatMap((template) => {
    const versions = new Set(specs.map((s) => (s === '$Latest' ? latestVersion(template) : versionOf(template, '$Default'))));
    return [...versions].map((version) => ({ template, version }));
  });
}

export const describeLaunchTemplateVersions: Handler = (p, ctx) => {
  const oneTemplate = p.has('LaunchTemplateId') || p.has('LaunchTemplateName');
  const listed = oneTemplate ? versionsOfOne(p, templateFrom(ctx.state, p)) : versionsOfAll(p, ctx);
  const page = pageByIndex(applyFilters(listed, p, VERSION_FILTERS), p, ctx.action, TEMPLATE_PAGES);
  const items: XmlObject[] = page.items.map(({ template, version }) => versionXml(template, version));
  return { launchTemplateVersionSet: items, nextToken: page.nextToken };
};
