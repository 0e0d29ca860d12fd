import { constraint, SsmFault } from './errors.ts';
import { arnOf, checkNewName, readName } from './names.ts';
import {
  checkDataType,
  checkType,
  MAX_TAGS,
  type ParameterChange,
  type SsmParameterVersion,
  type SsmWorld,
  type StoredParameter,
} from './world.ts';

export interface ActionContext {
  ssm: SsmWorld;
  region: string;
}

export type Body = Record<string, unknown>;
export type SsmHandler = (body: Body, ctx: ActionContext) => Body;

/** Who the stand-in says made every change; the tests sign with one key. */
const CALLER = (accountId: string): string => `arn:aws:iam::${accountId}:user/autoami-test`;
const MAX_VALUE: Record<'Standard' | 'Advanced', number> = { Standard: 4096, Advanced: 8192 };
const DEFAULT_KEY = 'alias/aws/ssm';

/** The JSON protocol sends timestamps as epoch seconds; the SDK turns the number into a Date. */
const seconds = (ms: number): number => ms / 1000;

function optionalString(body: Body, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new SsmFault('SerializationException', `Expected a string for ${key}`);
  return value;
}

function tagsOf(raw: unknown, member: string): Map<string, string> {
  if (raw === undefined || raw === null) return new Map();
  if (!Array.isArray(raw)) throw new SsmFault('SerializationException', `Expected a list for ${member}`);
  const tags = new Map<string, string>();
  for (const [n, tag] of raw.entries()) {
    const { Key: key, Value: value } = (tag ?? {}) as { Key?: unknown; Value?: unknown };
    if (typeof key !== 'string' || key.length < 1 || key.length > 128) {
      throw constraint(`${member}.${n + 1}.member.key`, key, 'Member must have length between 1 and 128');
    }
    if (typeof value !== 'string' || value.length > 256) {
      throw constraint(`${member}.${n + 1}.member.value`, value, 'Member must have length less than or equal to 256');
    }
    tags.set(key, value);
  }
  return tags;
}

/** SecureString values leave the store only when asked to decrypt; otherwise an opaque blob. */
function shown(record: StoredParameter, value: string, decrypt: boolean): string {
  if (record.type !== 'SecureString' || decrypt) return value;
  return Buffer.from(`sealed:${record.keyId ?? DEFAULT_KEY}:${value}`).toString('base64');
}

function putParameter(body: Body, { ssm, region }: ActionContext): Body {
  const name = checkNewName(body.Name);
  const value = body.Value;
  if (typeof value !== 'string') throw constraint('value', value, 'Member must not be null');
  if (value.length < 1) throw constraint('value', value, 'Member must have length greater than or equal to 1');
  const type = checkType(body.Type);
  const dataType = checkDataType(body.DataType);
  const overwrite = body.Overwrite === true;
  const tierAsked = optionalString(body, 'Tier');
  const tier = tierAsked === 'Advanced' ? 'Advanced' : 'Standard';
  if (value.length > MAX_VALUE[tier]) {
    throw new SsmFault(
      'ValidationException',
      tier === 'Standard'
        ? 'Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.'
        : 'Advanced tier parameters support a maximum parameter value of 8192 characters.',
    );
  }
  const description = optionalString(body, 'Description');
  if (description !== undefined && description.length > 1024) {
    throw constraint('description', description, 'Member must have length less than or equal to 1024');
  }
  const allowedPattern = optionalString(body, 'AllowedPattern');
  const keyId = optionalString(body, 'KeyId');
  const tagsGiven = Array.isArray(body.Tags) && body.Tags.length > 0;
  const tags = tagsOf(body.Tags, 'tags');
  if (tags.size > MAX_TAGS) throw new SsmFault('TooManyTagsError', `A parameter can have at most ${MAX_TAGS} tags.`);

  const injected = ssm.takePutFailure(region, name);
  if (injected) throw injected;

  const store = ssm.store(region);
  const found = store.get(name);
  const existing = found && found.versions.length > 0 ? found : undefined;
  if (existing) {
    if (!overwrite) {
      throw new SsmFault(
        'ParameterAlreadyExists',
        'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
      );
    }
    if (tagsGiven) {
      throw new SsmFault(
        'ValidationException',
        'Invalid request: tags and overwrite can\'t be used together. To create a parameter with tags, please remove overwrite flag. ' +
          'To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.',
      );
    }
    if (type !== undefined && type !== existing.type) {
      throw new SsmFault(
        'HierarchyTypeMismatchException',
        `Parameter Store doesn't support changing a parameter type in a hierarchy: ${name} is ${existing.type}, not ${type}.`,
      );
    }
  } else if (type === undefined) {
    throw new SsmFault('ValidationException', 'A parameter type is required when you create a parameter.');
  }
  const finalType = type ?? (existing as StoredParameter).type;
  // An overwrite that leaves DataType out keeps the parameter's own.
  const finalDataType = dataType ?? existing?.dataType ?? 'text';
  const special = (d: string): boolean => d === 'aws:ec2:image' || d === 'aws:ssm:integration';
  if (existing && existing.dataType !== finalDataType && (special(existing.dataType) || special(finalDataType))) {
    throw new SsmFault(
      'ValidationException',
      `The data type of ${name} can't be changed from ${existing.dataType} to ${finalDataType}: parameters can't be changed to or from aws:ec2:image or aws:ssm:integration.`,
    );
  }
  if (finalDataType === 'aws:ec2:image' && finalType !== 'String') {
    throw new SsmFault('ValidationException', `Data type aws:ec2:image supports only the String parameter type, not ${finalType}.`);
  }
  if (keyId !== undefined && finalType !== 'SecureString') {
    throw new SsmFault('ValidationException', 'KeyId is required for SecureString type parameter only.');
  }
  const pattern = allowedPattern ?? existing?.allowedPattern;
  if (pattern !== undefined) {
    let regex: RegExp;
    try {
      regex = new RegExp(pattern);
    } catch {
      throw new SsmFault('InvalidAllowedPatternException', `The request doesn't meet the regular expression requirement: ${pattern}`);
    }
    const items = finalType === 'StringList' ? value.split(',') : [value];
    if (!items.every((item) => regex.test(item))) {
      throw new SsmFault('ParameterPatternMismatchException', `Parameter value, cannot be validated against allowedPattern: ${pattern}`);
    }
  }

  const change: ParameterChange = { name, value, type: finalType, dataType: finalDataType, tier };
  if (description !== undefined) change.description = description;
  if (allowedPattern !== undefined) change.allowedPattern = allowedPattern;
  if (keyId !== undefined) change.keyId = keyId;
  if (!existing) change.tags = tags;
  const version = ssm.put(region, change, existing);
  return { Version: version, Tier: tier };
}

function selectVersion(record: StoredParameter, ref: { name: string; version?: number; label?: string }): SsmParameterVersion {
  if (ref.version !== undefined) {
    const hit = record.versions.find((v) => v.version === ref.version);
    if (!hit) {
      throw new SsmFault('ParameterVersionNotFound', `Systems Manager could not find version ${ref.version} of ${ref.name}. Verify the version and try again.`);
    }
    return hit;
  }
  if (ref.label !== undefined) {
    const hit = record.versions.find((v) => v.labels.includes(ref.label as string));
    if (!hit) {
      throw new SsmFault('ParameterVersionNotFound', `Systems Manager could not find label ${ref.label} of ${ref.name}. Verify the label and try again.`);
    }
    return hit;
  }
  return record.versions.at(-1) as SsmParameterVersion;
}

function getParameter(body: Body, { ssm, region }: ActionContext): Body {
  const ref = readName('name', body.Name, region, ssm.accountId, true);
  if (!ref) throw new SsmFault('ParameterNotFound', `Parameter ${String(body.Name)} not found.`);
  const record = ssm.find(region, ref.name);
  const version = selectVersion(record, ref);
  const parameter: Body = {
    Name: record.name,
    Type: record.type,
    Value: shown(record, version.value, body.WithDecryption === true),
    Version: version.version,
    LastModifiedDate: seconds(version.modifiedAt),
    ARN: arnOf(region, ssm.accountId, record.name),
    DataType: record.dataType,
  };
  if (ref.selector !== undefined) parameter.Selector = ref.selector;
  return { Parameter: parameter };
}

interface HistoryToken {
  name: string;
  after: number;
}

function getParameterHistory(body: Body, { ssm, region }: ActionContext): Body {
  const ref = readName('name', body.Name, region, ssm.accountId, false);
  if (!ref) throw new SsmFault('ParameterNotFound', `Parameter ${String(body.Name)} not found.`);
  const record = ssm.find(region, ref.name);
  const max = body.MaxResults ?? 50;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 50) {
    throw constraint('maxResults', max, max !== null && Number(max) < 1 ? 'Member must have value greater than or equal to 1' : 'Member must have value less than or equal to 50');
  }
  let after = 0;
  if (body.NextToken !== undefined && body.NextToken !== null) {
    const token = decodeToken(body.NextToken);
    if (!token || token.name !== record.name) throw new SsmFault('InvalidNextToken', 'The specified token isn\'t valid.');
    after = token.after;
  }
  // Versions are numbered upwards, so "after the last one shown" survives versions dropped meanwhile.
  const rest = record.versions.filter((v) => v.version > after);
  const page = rest.slice(0, max);
  const reply: Body = {
    Parameters: page.map((v) => {
      const entry: Body = {
        Name: record.name,
        Type: record.type,
        LastModifiedDate: seconds(v.modifiedAt),
        LastModifiedUser: CALLER(ssm.accountId),
        Value: shown(record, v.value, body.WithDecryption === true),
        Version: v.version,
        Labels: [...v.labels],
        Tier: record.tier,
        Policies: [],
        DataType: record.dataType,
      };
      if (record.description !== undefined) entry.Description = record.description;
      if (record.allowedPattern !== undefined) entry.AllowedPattern = record.allowedPattern;
      if (record.type === 'SecureString') entry.KeyId = record.keyId ?? DEFAULT_KEY;
      return entry;
    }),
  };
  const last = page.at(-1);
  if (last && rest.length > page.length) {
    reply.NextToken = Buffer.from(JSON.stringify({ name: record.name, after: last.version } satisfies HistoryToken)).toString('base64');
  }
  return reply;
}

function decodeToken(raw: unknown): HistoryToken | undefined {
  if (typeof raw !== 'string') return undefined;
  try {
    const token = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as Partial<HistoryToken>;
    return typeof token.name === 'string' && typeof token.after === 'number' ? { name: token.name, after: token.after } : undefined;
  } catch {
    return undefined;
  }
}

/** Tags live only on parameters here; the other resource types SSM tags are not modelled. */
function taggedParameter(body: Body, { ssm, region }: ActionContext): StoredParameter {
  const type = body.ResourceType;
  if (type === undefined || type === null) throw constraint('resourceType', type, 'Member must not be null');
  if (type !== 'Parameter') {
    throw new SsmFault('InvalidResourceType', 'The resource type isn\'t valid. For example, if you are attempting to tag an EC2 instance, the instance must be a registered managed node.');
  }
  const id = body.ResourceId;
  if (typeof id !== 'string') throw constraint('resourceId', id, 'Member must not be null');
  const record = ssm.store(region).get(id);
  if (!record || record.versions.length === 0) {
    throw new SsmFault('InvalidResourceId', 'The resource ID isn\'t valid. Verify that you entered the correct ID and try again.');
  }
  return record;
}

function addTagsToResource(body: Body, ctx: ActionContext): Body {
  const record = taggedParameter(body, ctx);
  if (body.Tags === undefined || body.Tags === null) throw constraint('tags', undefined, 'Member must not be null');
  const tags = tagsOf(body.Tags, 'tags');
  const merged = new Map([...record.tags, ...tags]);
  if (merged.size > MAX_TAGS) {
    throw new SsmFault('TooManyTagsError', `The Targets parameter includes too many tags. Remove one or more tags and try the command again. A resource can have at most ${MAX_TAGS}.`);
  }
  for (const [key, value] of tags) record.tags.set(key, value);
  return {};
}

function listTagsForResource(body: Body, ctx: ActionContext): Body {
  const record = taggedParameter(body, ctx);
  return { TagList: [...record.tags].map(([Key, Value]) => ({ Key, Value })) };
}

function deleteParameter(body: Body, { ssm, region }: ActionContext): Body {
  const ref = readName('name', body.Name, region, ssm.accountId, false);
  if (!ref) throw new SsmFault('ParameterNotFound', `Parameter ${String(body.Name)} not found.`);
  ssm.find(region, ref.name);
  ssm.store(region).delete(ref.name);
  return {};
}

export const SSM_HANDLERS: Record<string, SsmHandler> = {
  PutParameter: putParameter,
  GetParameter: getParameter,
  GetParameterHistory: getParameterHistory,
  AddTagsToResource: addTagsToResource,
  ListTagsForResource: listTagsForResource,
  DeleteParameter: deleteParameter,
};
