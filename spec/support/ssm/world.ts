import type { Ec2World } from '../ec2/regions.ts';
import { constraint, parameterNotFound, SsmFault } from './errors.ts';

export type ParameterType = 'String' | 'StringList' | 'SecureString';
export const PARAMETER_TYPES: readonly ParameterType[] = ['String', 'StringList', 'SecureString'];
export const DATA_TYPES = ['text', 'aws:ec2:image', 'aws:ssm:integration'] as const;
export const MAX_VERSIONS = 100;
/** Standard-tier parameters per account and region. */
export const MAX_PARAMETERS = 10_000;
export const MAX_TAGS = 50;
export const AMI_VALUE = /^ami-[0-9a-f]{8}([0-9a-f]{9})?$/;

export interface SsmParameterVersion {
  version: number;
  value: string;
  modifiedAt: number;
  labels: string[];
}

export interface SsmParameterRecord {
  name: string;
  type: ParameterType;
  dataType: string;
  versions: SsmParameterVersion[];
  tags: Map<string, string>;
  description?: string;
}

/** What the wire shows beyond the record tests read. */
export interface StoredParameter extends SsmParameterRecord {
  tier: 'Standard' | 'Advanced';
  allowedPattern?: string;
  keyId?: string;
  /**
   * The next version number. Numbers are taken when PutParameter answers, so an aws:ec2:image
   * put can tell its caller the number before validation; one that fails validation leaves a gap.
   */
  nextVersion: number;
}

/** One PutParameter's effect, applied at once or, for aws:ec2:image, after validation. */
export interface ParameterChange {
  name: string;
  value: string;
  type: ParameterType;
  dataType: string;
  tier: 'Standard' | 'Advanced';
  description?: string;
  allowedPattern?: string;
  keyId?: string;
  tags?: Map<string, string>;
}

interface PutFailure {
  code: string;
  left: number;
}

/**
 * Parameter Store for every region of the Ec2World's account. Regions share nothing, as on AWS,
 * and aws:ec2:image values are checked against the EC2 images of the parameter's own region.
 */
export class SsmWorld {
  readonly ec2: Ec2World;
  readonly validateMs: number;
  private readonly regions = new Map<string, Map<string, StoredParameter>>();
  private readonly putFailures = new Map<string, PutFailure>();

  constructor(ec2: Ec2World, options: { validateMs?: number } = {}) {
    this.ec2 = ec2;
    this.validateMs = options.validateMs ?? 50;
  }

  get accountId(): string {
    return this.ec2.accountId;
  }

  /** A region's parameters, for tests: name -> record with every version */
  parameters(region: string): ReadonlyMap<string, SsmParameterRecord> {
    // A name whose only put is still being validated does not exist yet.
    return new Map([...this.store(region)].filter(([, p]) => p.versions.length > 0));
  }

  /** The current value of a parameter, or undefined */
  value(region: string, name: string): string | undefined {
    return this.store(region).get(name)?.versions.at(-1)?.value;
  }

  /**
   * The next `times` PutParameter calls for this name (every one without `times`) are refused
   * with `code`, e.g. TooManyUpdates or ParameterLimitExceeded; faults.set('PutParameter', ...)
   * breaks every name at once instead.
   */
  failPuts(region: string, name: string, code: string, times = Infinity): void {
    this.putFailures.set(`${region}\n${name}`, { code, left: times });
  }

  clearPutFailures(): void {
    this.putFailures.clear();
  }

  /**
   * A parameter AWS publishes, such as /aws/service/debian/release/12/latest/amd64: every
   * account reads it, none writes it (PutParameter refuses the aws prefix), so only a test
   * moves it, each call a new version, as the publisher does with each new image.
   */
  publishPublic(region: string, name: string, value: string): number {
    const store = this.store(region);
    const record: StoredParameter = store.get(name) ?? {
      name, type: 'String', dataType: 'text', versions: [], tags: new Map(), tier: 'Standard', nextVersion: 1,
    };
    store.set(name, record);
    const version = record.nextVersion++;
    apply(record, { name, value, type: 'String', dataType: 'text', tier: 'Standard' }, version, this.ec2.clock.now());
    return version;
  }

  /** @internal the handlers' view: includes names still waiting for their first version. */
  store(region: string): Map<string, StoredParameter> {
    let store = this.regions.get(region);
    if (!store) {
      store = new Map();
      this.regions.set(region, store);
    }
    return store;
  }

  /** @internal a visible parameter, or ParameterNotFound. */
  find(region: string, name: string): StoredParameter {
    const found = this.store(region).get(name);
    if (!found || found.versions.length === 0) throw parameterNotFound(name);
    return found;
  }

  /** @internal consumes one injected failure for the name, if any is left. */
  takePutFailure(region: string, name: string): SsmFault | undefined {
    const key = `${region}\n${name}`;
    const failure = this.putFailures.get(key);
    if (!failure || failure.left <= 0) return undefined;
    failure.left -= 1;
    return new SsmFault(failure.code, `Injected ${failure.code} for ${name}`);
  }

  /**
   * @internal Takes a version number for `change` and applies it now, or after validateMs for
   * aws:ec2:image, where a bad value is dropped without a word to the caller, as on AWS.
   */
  put(region: string, change: ParameterChange, existing: StoredParameter | undefined): number {
    const store = this.store(region);
    if (!store.has(change.name) && store.size >= MAX_PARAMETERS) {
      throw new SsmFault('ParameterLimitExceeded', `You have exceeded the number of parameters for this AWS account (${MAX_PARAMETERS}).`);
    }
    const record: StoredParameter = existing ?? store.get(change.name) ?? {
      name: change.name,
      type: change.type,
      dataType: change.dataType,
      versions: [],
      tags: new Map(),
      tier: change.tier,
      nextVersion: 1,
    };
    store.set(change.name, record);
    checkVersionRoom(record);
    const version = record.nextVersion++;
    if (change.dataType !== 'aws:ec2:image') {
      apply(record, change, version, this.ec2.clock.now());
      return version;
    }
    this.ec2.clock.after(this.validateMs, () => {
      // A delete meanwhile, or a put that made it another data type, voids this put.
      if (store.get(change.name) !== record) return;
      if (record.versions.length > 0 && record.dataType !== 'aws:ec2:image') return;
      if (!this.imageUsable(region, change.value)) return;
      try {
        checkVersionRoom(record);
      } catch {
        return;
      }
      apply(record, change, version, this.ec2.clock.now());
    });
    return version;
  }

  /** What SSM checks: the AMI exists in this region, the account may use it, and it is available. */
  private imageUsable(region: string, value: string): boolean {
    if (!AMI_VALUE.test(value)) return false;
    const image = this.ec2.state(region).images.get(value);
    if (!image || image.state !== 'available') return false;
    return image.ownerId === this.accountId || image.public || image.launchPermissions.has(this.accountId);
  }
}

/** 100 versions at most: the oldest goes to make room, unless a label holds it. */
function checkVersionRoom(record: StoredParameter): void {
  if (record.versions.length < MAX_VERSIONS) return;
  const oldest = record.versions[0];
  if (oldest && oldest.labels.length > 0) {
    throw new SsmFault(
      'ParameterMaxVersionLimitExceeded',
      `You attempted to create a new version of ${record.name} by calling the PutParameter API with the overwrite flag. ` +
        `Version ${oldest.version}, the oldest version, can't be deleted because it has a label associated with it. ` +
        'Move the label to another version of the parameter, and try again.',
    );
  }
}

function apply(record: StoredParameter, change: ParameterChange, version: number, now: number): void {
  if (record.versions.length >= MAX_VERSIONS) record.versions.shift();
  record.type = change.type;
  record.dataType = change.dataType;
  record.tier = change.tier;
  if (change.description !== undefined) record.description = change.description;
  if (change.allowedPattern !== undefined) record.allowedPattern = change.allowedPattern;
  if (change.keyId !== undefined) record.keyId = change.keyId;
  for (const [key, value] of change.tags ?? []) record.tags.set(key, value);
  record.versions.push({ version, value: change.value, modifiedAt: now, labels: [] });
  record.versions.sort((a, b) => a.version - b.version);
}

export function checkType(raw: unknown): ParameterType | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!PARAMETER_TYPES.includes(raw as ParameterType)) {
    throw new SsmFault('UnsupportedParameterType', `Parameter type ${String(raw)} is not supported. Use String, StringList or SecureString.`);
  }
  return raw as ParameterType;
}

export function checkDataType(raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string' || raw.length > 128) throw constraint('dataType', raw, 'Member must have length less than or equal to 128');
  if (!(DATA_TYPES as readonly string[]).includes(raw)) {
    throw new SsmFault('InvalidDataType', `The following data type is not supported: ${raw}. Supported data types: ${DATA_TYPES.join(', ')}.`);
  }
  return raw;
}
