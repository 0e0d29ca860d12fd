import type { TestClock } from './clock.ts';
import type { TimedChange } from './faults.ts';
import { imagesNotFound, instancesNotFound, snapshotsNotFound } from './errors.ts';
import { defaultGroup } from './security-groups.ts';
import {
  checkId,
  newId,
  type ImageRecord,
  type InstanceRecord,
  type KeyPairRecord,
  type LaunchTemplateRecord,
  type SecurityGroupRecord,
  type ReservationRecord,
  type SnapshotRecord,
} from './model.ts';

export interface StateOptions {
  accountId: string;
  region: string;
  bootMs: number;
  imageMs: number;
  /** CopyImage: pending → available; cross-region copies take longer than CreateImage on AWS. */
  copyMs: number;
  stopMs: number;
  terminateMs: number;
  /** How long terminated instances stay describable (AWS: about an hour). */
  terminatedVisibleMs: number;
  /** How long deregistered images stay describable with state `deregistered`; 0 drops them at once. */
  deregisteredVisibleMs: number;
  /** Extra time for one state change on top of its fixed time above (a seeded jitter); none when absent. */
  extraDelayMs?: (change: TimedChange) => number;
  /** Public address for the Nth instance to reach `running`; defaults to TEST-NET addresses. */
  publicAddress?: (seq: number, instanceId: string) => { ip: string; dnsName: string };
}

/** An image available before any test runs: someone else's public AMI unless ownerId says otherwise. */
export interface BaseImage {
  imageId: string;
  name?: string;
  description?: string;
  /** Account id, or 'self' for the endpoint's own account. */
  ownerId?: string;
  /** `amazon` or `aws-marketplace`: whom DescribeImages' Owners alias finds it by. */
  ownerAlias?: string;
  /** Its CreationDate, epoch ms; default the clock's now. */
  createdAt?: number;
  public?: boolean;
  architecture?: string;
}

/** Debian's publishing account; base images belong to it so `Owner=self` leaves them out. */
export const BASE_IMAGE_OWNER = '136693071363';
const TEST_NETS = ['203.0.113', '198.51.100', '192.0.2'];

export class Ec2State {
  readonly instances = new Map<string, InstanceRecord>();
  readonly reservations = new Map<string, ReservationRecord>();
  readonly images = new Map<string, ImageRecord>();
  readonly snapshots = new Map<string, SnapshotRecord>();
  /** RunInstances ClientToken → reservation id. */
  readonly runTokens = new Map<string, string>();
  /** CopyImage ClientToken → image id; tokens are per region, like everything else. */
  readonly copyTokens = new Map<string, string>();
  readonly launchTemplates = new Map<string, LaunchTemplateRecord>();
  /** Key pairs by name: names are unique per region, ids only name them. */
  readonly keyPairs = new Map<string, KeyPairRecord>();
  /** Security groups by id; every region starts with its default VPC's `default` group. */
  readonly securityGroups = new Map<string, SecurityGroupRecord>();
  /** CreateLaunchTemplate/CreateLaunchTemplateVersion ClientToken → what it made and from what. */
  readonly templateTokens = new Map<string, { fingerprint: string; launchTemplateId: string; versionNumber: number }>();
  readonly clock: TestClock;
  readonly options: StateOptions;
  private seq = 0;
  private privateSeq = 10;
  private publicSeq = 5;

  constructor(clock: TestClock, options: StateOptions) {
    this.clock = clock;
    this.options = options;
    const group = defaultGroup(options.accountId, clock.now());
    this.securityGroups.set(group.groupId, group);
  }

  get accountId(): string {
    return this.options.accountId;
  }

  get region(): string {
    return this.options.region;
  }

  /** How long the next `change` takes: its fixed time plus any jitter. */
  delayMs(change: TimedChange): number {
    const fixed = { boot: this.options.bootMs, image: this.options.imageMs, copy: this.options.copyMs, stop: this.options.stopMs, terminate: this.options.terminateMs }[change];
    return fixed + (this.options.extraDelayMs?.(change) ?? 0);
  }

  nextSeq(): number {
    return ++this.seq;
  }

  private get internalDomain(): string {
    return this.options.region === 'us-east-1' ? 'ec2.internal' : `${this.options.region}.compute.internal`;
  }

  private get publicDomain(): string {
    return this.options.region === 'us-east-1' ? 'compute-1.amazonaws.com' : `${this.options.region}.compute.amazonaws.com`;
  }

  nextPrivateAddress(): { ip: string; dnsName: string } {
    const n = this.privateSeq++;
    const ip = `10.0.${(n >> 8) & 255}.${n & 255}`;
    return { ip, dnsName: `ip-${ip.replace(/\./g, '-')}.${this.internalDomain}` };
  }

  nextPublicAddress(instanceId: string): { ip: string; dnsName: string } {
    const n = this.publicSeq++;
    if (this.options.publicAddress) return this.options.publicAddress(n, instanceId);
    const net = TEST_NETS[Math.floor((n - 5) / 250) % TEST_NETS.length] ?? '203.0.113';
    const ip = `${net}.${((n - 5) % 250) + 5}`;
    return { ip, dnsName: `ec2-${ip.replace(/\./g, '-')}.${this.publicDomain}` };
  }

  /** Eventual consistency: a resource younger than the lag does not exist yet for that caller. */
  private visible(createdAt: number, lagMs: number): boolean {
    return lagMs <= 0 || this.clock.now() - createdAt >= lagMs;
  }

  visibleInstances(lagMs: number): InstanceRecord[] {
    return [...this.instances.values()].filter((i) => this.visible(i.createdAt, lagMs));
  }

  visibleImages(lagMs: number): ImageRecord[] {
    return [...this.images.values()].filter((i) => this.visible(i.createdAt, lagMs));
  }

  /** Every id must be well formed and known, else one error naming all the missing ones. */
  findInstances(ids: readonly string[], lagMs: number): InstanceRecord[] {
    for (const id of ids) checkId('i', id);
    const found = ids.map((id) => this.instances.get(id)).map((i) => (i && this.visible(i.createdAt, lagMs) ? i : undefined));
    const missing = ids.filter((_, n) => !found[n]);
    if (missing.length) throw instancesNotFound(missing);
    return [...new Set(found as InstanceRecord[])];
  }

  findImages(ids: readonly string[], lagMs: number): ImageRecord[] {
    for (const id of ids) checkId('ami', id);
    const found = ids.map((id) => this.images.get(id)).map((i) => (i && this.visible(i.createdAt, lagMs) ? i : undefined));
    const missing = ids.filter((_, n) => !found[n]);
    if (missing.length) throw imagesNotFound(missing);
    return [...new Set(found as ImageRecord[])];
  }

  findSnapshots(ids: readonly string[]): SnapshotRecord[] {
    for (const id of ids) checkId('snap', id);
    const missing = ids.filter((id) => !this.snapshots.has(id));
    if (missing.length) throw snapshotsNotFound(missing);
    return [...new Set(ids.map((id) => this.snapshots.get(id) as SnapshotRecord))];
  }

  /** Images that still hold a snapshot: everything not deregistered. */
  imageUsingSnapshot(snapshotId: string): ImageRecord | undefined {
    return [...this.images.values()].find(
      (image) => image.state !== 'deregistered' && image.blockDevices.some((d) => d.snapshotId === snapshotId),
    );
  }

  imageNamed(name: string): ImageRecord | undefined {
    return [...this.images.values()].find(
      (image) => image.ownerId === this.accountId && image.state !== 'deregistered' && image.name === name,
    );
  }

  addBaseImage(base: BaseImage): ImageRecord {
    checkId('ami', base.imageId);
    const ownerId = base.ownerId === 'self' ? this.accountId : (base.ownerId ?? BASE_IMAGE_OWNER);
    const now = base.createdAt ?? this.clock.now();
    const snapshot: SnapshotRecord = {
      seq: this.nextSeq(),
      createdAt: now,
      snapshotId: newId('snap'),
      volumeId: newId('vol'),
      ownerId,
      state: 'completed',
      progress: '100%',
      description: '',
      volumeSize: 8,
      tags: new Map(),
      encrypted: false,
      createVolumePermissions: new Set(),
    };
    this.snapshots.set(snapshot.snapshotId, snapshot);
    const image: ImageRecord = {
      seq: this.nextSeq(),
      createdAt: now,
      imageId: base.imageId,
      name: base.name ?? `base-${base.imageId}`,
      ownerId,
      public: base.public ?? ownerId !== this.accountId,
      state: 'available',
      architecture: base.architecture ?? 'x86_64',
      rootDeviceName: '/dev/xvda',
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          snapshotId: snapshot.snapshotId,
          volumeSize: 8,
          volumeType: 'gp3',
          deleteOnTermination: true,
          encrypted: false,
        },
      ],
      tags: new Map(),
      launchPermissions: new Set(),
      deregistrationProtection: { enabled: false, cooldown: false },
    };
    if (base.description !== undefined) image.description = base.description;
    if (base.ownerAlias !== undefined) image.ownerAlias = base.ownerAlias;
    this.images.set(image.imageId, image);
    return image;
  }
}
