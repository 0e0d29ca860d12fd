/**
 * What the in-memory EC2 keeps of an instance and an image, and how EC2 would describe
 * each at a moment of the fake clock: the state comes from the record's timeline, never
 * from a stored field, so moving the clock is all it takes to boot, image or terminate.
 */
import type { ImageInfo, ImageReference, InstanceInfo, RegionInfo, Tags } from '../../runtime/ec2/types.ts';
import { ValidationError } from '../../runtime/errors.ts';
import { arnPattern } from '../../runtime/interface/arns.ts';
import { jsPattern } from '../../runtime/interface/patterns.ts';

/** The account every fake resource belongs to. */
export const FAKE_ACCOUNT = '123456789012';

export interface FakeInstance {
  readonly id: string;
  readonly clientToken: string | null;
  readonly imageId: string;
  readonly type: string;
  readonly tags: Tags;
  readonly userData: string | null;
  readonly launchedAt: number;
  readonly bootMs: number;
  readonly addressed: boolean;
  /** LaunchSpec.encryptRoot: an image made of this instance is encrypted (with this key, or the default one). */
  readonly encryptRoot: { readonly kmsKeyId: string | null } | null;
  terminatingAt: number | null;
  /** A state set by the test (stopped by hand, terminated by someone else), over the timeline. */
  forced: string | null;
}

export interface FakeImage {
  readonly id: string;
  readonly name: string;
  /** CreateTags adds to them. */
  tags: Tags;
  readonly createdAt: number;
  readonly readyMs: number;
  readonly failure: string | null;
  readonly snapshotIds: readonly string[];
  readonly description: string | null;
  readonly encrypted: boolean;
  /** Null with `encrypted`: the account's default EBS key. */
  readonly kmsKeyId: string | null;
  /** Where a copy came from. */
  readonly source: { readonly region: string; readonly imageId: string } | null;
  /** Accounts, organization and OU ARNs granted launch permission. */
  readonly launchPermissions: Set<string>;
  /** Snapshot id → accounts granted create-volume permission. */
  readonly snapshotPermissions: Map<string, Set<string>>;
  deprecateAt: number | null;
  protected: boolean;
  deregistered: boolean;
}

/** EC2's own times are ISO strings, whatever the store keeps. */
const iso = (ms: number): string => new Date(ms).toISOString();
export const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

function instanceState(instance: FakeInstance, now: number, terminateMs: number): string {
  if (instance.forced) return instance.forced;
  if (instance.terminatingAt !== null) return now >= instance.terminatingAt + terminateMs ? 'terminated' : 'shutting-down';
  return now >= instance.launchedAt + instance.bootMs ? 'running' : 'pending';
}

export function describeInstance(instance: FakeInstance, now: number, terminateMs: number): InstanceInfo {
  const state = instanceState(instance, now, terminateMs);
  const reachable = instance.addressed && state === 'running';
  const n = Number.parseInt(instance.id.slice(2), 16);
  return {
    id: instance.id, state, imageId: instance.imageId, type: instance.type,
    publicDns: reachable ? `ec2-203-0-113-${n % 250}.compute-1.amazonaws.com` : null,
    publicIp: reachable ? `203.0.113.${n % 250}` : null,
    privateIp: instance.addressed ? `10.0.0.${n % 250}` : null,
    launchTime: iso(instance.launchedAt), rootDeviceType: 'ebs', tags: instance.tags,
  };
}

export function describeImage(image: FakeImage, now: number): ImageInfo {
  const ready = now >= image.createdAt + image.readyMs;
  const state = image.deregistered ? 'deregistered' : !ready ? 'pending' : image.failure ? 'failed' : 'available';
  return {
    id: image.id, name: image.name, state, stateReason: state === 'failed' ? image.failure : null, architecture: 'x86_64',
    description: image.description, public: false, rootDeviceType: 'ebs', creationDate: iso(image.createdAt), ownerId: FAKE_ACCOUNT,
    snapshotIds: image.snapshotIds, encrypted: image.encrypted,
    deprecationTime: image.deprecateAt === null ? null : iso(image.deprecateAt),
    deregistrationProtection: image.protected ? 'enabled-without-cooldown' : 'disabled',
    tags: image.tags,
  };
}

/** The regions DescribeRegions AllRegions shows by default: a few of each opt-in status. */
export const FAKE_REGIONS: readonly RegionInfo[] = [
  { name: 'af-south-1', optInStatus: 'not-opted-in' },
  { name: 'ap-east-1', optInStatus: 'opted-in' },
  { name: 'eu-central-1', optInStatus: 'opt-in-not-required' },
  { name: 'eu-west-1', optInStatus: 'opt-in-not-required' },
  { name: 'us-east-1', optInStatus: 'opt-in-not-required' },
  { name: 'us-west-2', optInStatus: 'opt-in-not-required' },
];

const ACCOUNT_ID = jsPattern('account_id');
const SHARE_ARN = [arnPattern('org'), arnPattern('ou')];

/** As the adapter: an account may also make volumes of the snapshots, an organization or OU only launch. */
export function sharePrincipals(principals: readonly string[]): { launch: string[]; accounts: string[] } {
  for (const principal of principals) {
    if (!ACCOUNT_ID.test(principal) && !SHARE_ARN.some((pattern) => pattern.test(principal))) {
      throw new ValidationError('principals', `${JSON.stringify(principal)} is not an account id, organization ARN or OU ARN`);
    }
  }
  return { launch: [...new Set(principals)], accounts: [...new Set(principals.filter((p) => ACCOUNT_ID.test(p)))] };
}

/** EC2 keeps a deprecation time to the minute. */
export const toMinute = (ms: number): number => Math.round(ms / 60_000) * 60_000;

export const instanceArn = (region: string, id: string): string => `arn:aws:ec2:${region}:${FAKE_ACCOUNT}:instance/${id}`;

export function sortReferences(references: ImageReference[]): ImageReference[] {
  const byKey = new Map(references.map((r) => [`${r.imageId} ${r.resourceType} ${r.arn}`, r]));
  return [...byKey.values()].sort((a, b) => a.imageId.localeCompare(b.imageId) || a.resourceType.localeCompare(b.resourceType) || a.arn.localeCompare(b.arn));
}
