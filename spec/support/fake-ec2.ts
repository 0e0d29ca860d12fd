/**
 * In-memory EC2 for the bake core's specs: instances and images on a timeline of the fake
 * clock, every call recorded, and any call scriptable to fail (see fake-ec2-faults.ts).
 */
import { imageDeadEnd, instanceDeadEnd } from '../../runtime/ec2/states.ts';
import type {
  Abortable, CopySpec, Ec2, ImageInfo, ImageReference, ImageSpec, InstanceInfo, LaunchSpec, RegionInfo, Tags, WaitOptions,
} from '../../runtime/ec2/types.ts';
import { Ec2WaitTimeout, WaitAborted, type Ec2Error } from '../../runtime/errors.ts';
import { sleepUnlessAborted } from '../../runtime/sleep.ts';
import type { FakeTime } from './fake-clock.ts';
import { ec2Failure } from './fake-ec2-faults.ts';
import { FakeEc2Calls } from './fake-ec2-calls.ts';
import {
  describeImage, describeInstance, FAKE_ACCOUNT, FAKE_REGIONS, hex, instanceArn, sharePrincipals, sortReferences, toMinute, type FakeImage, type FakeInstance,
} from './fake-ec2-records.ts';

const LIVE = (state: string) => state !== 'shutting-down' && state !== 'terminated';
const hasTags = (tags: Tags, wanted: Tags) => Object.entries(wanted).every(([key, value]) => tags[key] === value);
/** A name filter's `*` and `?`, as EC2 reads them. */
const wildcard = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')}$`, 's');

/**
 * In-memory EC2 for one region. States follow a timeline on the fake clock (pending, then
 * running `bootMs` later; an image available `imageMs` after CreateImage, a copy `copyMs`
 * after CopyImage), RunInstances and CopyImage honour the ClientToken and CreateImage the
 * name, as EC2 does. A copy finds its source in the source region's FakeEc2 of the same
 * FakeEc2Source. Every call is recorded before it runs, and any call can be scripted to
 * fail, before or after taking effect.
 */
export class FakeEc2 extends FakeEc2Calls implements Ec2 {
  readonly region: string;
  readonly #time: FakeTime;
  readonly #instances = new Map<string, FakeInstance>();
  readonly #images = new Map<string, FakeImage>();
  /** CopyImage ClientToken → the image it made; per region, as EC2 keeps them. */
  readonly #copyTokens = new Map<string, string>();
  /** References added by a test (a launch template, anything not an instance here). */
  readonly #references: ImageReference[] = [];
  /** The FakeEc2 of another region of the same source, for CopyImage's source image. */
  readonly #regionOf: (region: string) => FakeEc2 | undefined;
  readonly deletedSnapshots: string[] = [];
  /** Shared by every region of one source: ids are unique account-wide, as EC2 makes them. */
  readonly #serial: () => number;

  /** Fake ms from launch to running; Infinity: never boots. */
  bootMs = 20_000;
  /** Fake ms from CreateImage to available (or failed, with imageFailure). */
  imageMs = 60_000;
  /** Fake ms from CopyImage to available (or failed, with imageFailure). */
  copyMs = 120_000;
  /** What listRegions answers. */
  regionList: RegionInfo[] = [...FAKE_REGIONS];
  terminateMs = 10_000;
  /**
   * How often a wait looks again, in fake ms. No divisor of any deadline, so a wait that runs
   * out ends past its deadline, as it does on a real clock, which moves on while the engine
   * looks again; this one stands still between sleeps.
   */
  pollMs = 7_000;
  /** Set: images made from now on end `failed` with this reason. */
  imageFailure: string | null = null;
  /** False: instances launched from now on have no address at all. */
  addresses = true;
  /** Images other accounts publish (Debian's, Amazon's), which newestImage finds by their owner. */
  readonly published: ImageInfo[] = [];

  constructor(region: string, time: FakeTime, serial: () => number, regionOf: (region: string) => FakeEc2 | undefined = () => undefined) {
    super();
    this.region = region;
    this.#time = time;
    this.#serial = serial;
    this.#regionOf = regionOf;
  }

  instance(id: string): InstanceInfo | undefined {
    const instance = this.#instances.get(id);
    return instance && this.#instanceInfo(instance);
  }

  instances(): InstanceInfo[] {
    return [...this.#instances.values()].map((instance) => this.#instanceInfo(instance));
  }

  image(id: string): ImageInfo | undefined {
    const image = this.#images.get(id);
    return image && this.#imageInfo(image);
  }

  images(): ImageInfo[] {
    return [...this.#images.values()].map((image) => this.#imageInfo(image));
  }

  /** Who may launch the image, and who may make volumes of each of its snapshots. */
  sharing(id: string): { launch: string[]; snapshots: Record<string, string[]> } {
    const image = this.#imageOrThrow(id);
    const snapshots = Object.fromEntries(image.snapshotIds.map((snap) => [snap, [...(image.snapshotPermissions.get(snap) ?? [])].sort()]));
    return { launch: [...image.launchPermissions].sort(), snapshots };
  }

  /** Null kmsKeyId on an encrypted image: the account's default EBS key. */
  encryption(id: string): { encrypted: boolean; kmsKeyId: string | null } {
    const image = this.#imageOrThrow(id);
    return { encrypted: image.encrypted, kmsKeyId: image.kmsKeyId };
  }

  /** Something that uses the image, as DescribeImageReferences would name it (a launch template, say). */
  addReference(imageId: string, resourceType: string, arn: string): ImageReference {
    const reference = { imageId, resourceType, arn };
    this.#references.push(reference);
    return reference;
  }

  /** An instance that exists without this test's calls: an earlier attempt's, or anyone's. */
  /** Running at once unless `bootMs` says otherwise. */
  seedInstance(options: { tags?: Tags; clientToken?: string; image?: string; state?: string; bootMs?: number } = {}): InstanceInfo {
    const tags = options.tags ?? {};
    const instance = this.#newInstance(options.image ?? 'ami-0abc1234', 't3.micro', tags, options.clientToken ?? null, null, options.bootMs ?? 0);
    if (options.state) instance.forced = options.state;
    return this.#instanceInfo(instance);
  }

  seedImage(options: { name?: string; tags?: Tags; state?: 'pending' | 'available'; encrypted?: boolean; kmsKeyId?: string | null } = {}): ImageInfo {
    const encryption = { encrypted: options.encrypted ?? false, kmsKeyId: options.kmsKeyId ?? null };
    const image = this.#newImage(options.name ?? `seeded-${this.#images.size + 1}`, options.tags ?? {}, options.state === 'pending' ? this.imageMs : 0, encryption);
    return this.#imageInfo(image);
  }

  /** Moves an instance to `state` for good, as a person or EC2 itself might. */
  force(id: string, state: string): void {
    const instance = this.#instances.get(id);
    if (!instance) throw new Error(`no instance ${id}`);
    instance.forced = state;
  }

  // --- the Ec2 interface

  ping(): Promise<void> {
    return this.record('ping', [], () => undefined);
  }

  launch(spec: LaunchSpec, options: Abortable = {}): Promise<InstanceInfo> {
    return this.record('launch', [spec, options], () => {
      const earlier = [...this.#instances.values()].find((instance) => instance.clientToken === spec.clientToken);
      if (earlier) return this.#instanceInfo(earlier);
      return this.#instanceInfo(this.#newInstance(spec.image, spec.type, spec.tags, spec.clientToken, spec.userData, this.bootMs, spec.encryptRoot));
    });
  }

  findInstance(server: string): Promise<InstanceInfo | undefined> {
    return this.record('findInstance', [server], () =>
      this.instances().find((info) => LIVE(info.state) && (info.id === server || info.publicDns === server)),
    );
  }

  describeInstances(ids: readonly string[]): Promise<Map<string, InstanceInfo>> {
    return this.record('describeInstances', [ids], () => new Map(this.instances().filter((info) => ids.includes(info.id)).map((info) => [info.id, info])));
  }

  findTagged(tags: Tags): Promise<InstanceInfo[]> {
    return this.record('findTagged', [tags], () => this.instances().filter((info) => LIVE(info.state) && hasTags(info.tags, tags)));
  }

  waitForInstance(id: string, states: readonly string[], options: WaitOptions): Promise<InstanceInfo> {
    return this.record('waitForInstance', [id, states, options], () =>
      this.#wait(`instance ${id}`, () => this.instance(id), states, options, instanceDeadEnd),
    );
  }

  terminate(ids: readonly string[]): Promise<void> {
    return this.record('terminate', [ids], () => {
      const missing = ids.filter((id) => !this.#instances.has(id));
      if (missing.length > 0) throw ec2Failure('InvalidInstanceID.NotFound', 'TerminateInstances', this.region);
      for (const id of ids) {
        const instance = this.#instances.get(id)!;
        instance.terminatingAt ??= this.#time.now();
      }
    });
  }

  createImage(spec: ImageSpec, options: Abortable = {}): Promise<string> {
    return this.record('createImage', [spec, options], () => {
      const instance = this.#instances.get(spec.instanceId);
      if (!instance) throw ec2Failure('InvalidInstanceID.NotFound', 'CreateImage', this.region);
      const taken = this.#imageNamed(spec.name);
      if (taken) return taken.id;
      // The volumes are as launched: encrypted at launch, or as the base image's when this region knows it.
      const base = this.#images.get(instance.imageId);
      const encryption = instance.encryptRoot
        ? { encrypted: true, kmsKeyId: instance.encryptRoot.kmsKeyId }
        : { encrypted: base?.encrypted ?? false, kmsKeyId: base?.kmsKeyId ?? null };
      return this.#newImage(spec.name, spec.tags, this.imageMs, { ...encryption, description: spec.description || null }).id;
    });
  }

  findImageByName(name: string): Promise<ImageInfo | undefined> {
    return this.record('findImageByName', [name], () => this.images().find((info) => info.name === name && info.state !== 'deregistered'));
  }

  describeImages(ids: readonly string[]): Promise<Map<string, ImageInfo>> {
    return this.record('describeImages', [ids], () => new Map(this.images().filter((info) => ids.includes(info.id)).map((info) => [info.id, info])));
  }

  waitForImage(id: string, options: WaitOptions): Promise<ImageInfo> {
    return this.record('waitForImage', [id, options], () => this.#wait(`image ${id}`, () => this.image(id), ['available'], options, imageDeadEnd));
  }

  listOwnImages(tagFilter: Tags = {}): Promise<ImageInfo[]> {
    return this.record('listOwnImages', [tagFilter], () => this.images().filter((info) => info.state !== 'deregistered' && hasTags(info.tags, tagFilter)));
  }

  newestImage(owner: string, namePattern: string): Promise<ImageInfo | undefined> {
    return this.record('newestImage', [owner, namePattern], () => {
      const own = owner === 'self' || owner === FAKE_ACCOUNT ? this.images() : [];
      const name = wildcard(namePattern);
      return [...own, ...this.published.filter((image) => image.ownerId === owner)]
        .filter((image) => image.state === 'available' && name.test(image.name))
        .sort((a, b) => (b.creationDate ?? '').localeCompare(a.creationDate ?? ''))[0];
    });
  }

  deregisterImage(id: string): Promise<{ imageId: string; snapshotIds: string[] }> {
    return this.record('deregisterImage', [id], () => {
      const image = this.#images.get(id);
      if (!image || image.deregistered) throw ec2Failure('InvalidAMIID.NotFound', 'DescribeImages', this.region);
      if (image.protected) throw ec2Failure('OperationNotPermitted', 'DeregisterImage', this.region);
      image.deregistered = true;
      this.deletedSnapshots.push(...image.snapshotIds);
      return { imageId: id, snapshotIds: [...image.snapshotIds] };
    });
  }

  listRegions(): Promise<RegionInfo[]> {
    return this.record('listRegions', [], () => this.regionList.map((region) => ({ ...region })));
  }

  copyImage(spec: CopySpec, options: Abortable = {}): Promise<string> {
    return this.record('copyImage', [spec, options], () => {
      const earlier = this.#copyTokens.get(spec.clientToken);
      if (earlier) return earlier;
      const sourceEc2 = this.#regionOf(spec.sourceRegion);
      const source = sourceEc2 && sourceEc2.#images.get(spec.sourceImageId);
      if (!source || source.deregistered) throw ec2Failure('InvalidAMIID.NotFound', 'CopyImage', this.region);
      if (describeImage(source, this.#time.now()).state !== 'available') throw ec2Failure('IncorrectState', 'CopyImage', this.region);
      // As the adapter: a name already taken here is our earlier copy whose token EC2 no longer knows.
      const taken = this.#imageNamed(spec.name);
      if (taken) return taken.id;
      const encryption = spec.encrypted ? { encrypted: true, kmsKeyId: spec.kmsKeyId } : { encrypted: source.encrypted, kmsKeyId: null };
      const copy = this.#newImage(spec.name, { ...source.tags, ...spec.tags }, this.copyMs, {
        ...encryption, description: spec.description || source.description, source: { region: spec.sourceRegion, imageId: source.id },
      });
      this.#copyTokens.set(spec.clientToken, copy.id);
      return copy.id;
    });
  }

  shareImage(id: string, principals: readonly string[]): Promise<void> {
    return this.record('shareImage', [id, principals], () => {
      const { launch, accounts } = sharePrincipals(principals);
      const image = this.#liveImage(id, 'ModifyImageAttribute');
      for (const principal of launch) image.launchPermissions.add(principal);
      for (const snapshot of image.snapshotIds) {
        const granted = image.snapshotPermissions.get(snapshot) ?? new Set<string>();
        for (const account of accounts) granted.add(account);
        image.snapshotPermissions.set(snapshot, granted);
      }
    });
  }

  deprecateImage(id: string, at: number): Promise<void> {
    return this.record('deprecateImage', [id, at], () => {
      const image = this.#liveImage(id, 'EnableImageDeprecation');
      if (toMinute(at) <= this.#time.now()) throw ec2Failure('InvalidParameterValue', 'EnableImageDeprecation', this.region);
      image.deprecateAt = toMinute(at);
    });
  }

  tagImage(id: string, tags: Tags): Promise<void> {
    return this.record('tagImage', [id, tags], () => {
      const image = this.#liveImage(id, 'CreateTags');
      image.tags = { ...image.tags, ...tags };
    });
  }

  setDeregistrationProtection(id: string, enabled: boolean): Promise<void> {
    const action = enabled ? 'EnableImageDeregistrationProtection' : 'DisableImageDeregistrationProtection';
    return this.record('setDeregistrationProtection', [id, enabled], () => {
      this.#liveImage(id, action).protected = enabled;
    });
  }

  /** The test's references, and every live instance launched from one of `ids`, as EC2 counts them. */
  imageReferences(ids: readonly string[]): Promise<ImageReference[]> {
    return this.record('imageReferences', [ids], () => {
      const added = this.#references.filter((reference) => ids.includes(reference.imageId));
      const running = this.instances()
        .filter((info) => LIVE(info.state) && ids.includes(info.imageId))
        .map((info) => ({ imageId: info.imageId, resourceType: 'ec2:Instance', arn: instanceArn(this.region, info.id) }));
      return sortReferences([...added, ...running]);
    });
  }

  // --- inside

  #imageOrThrow(id: string): FakeImage {
    const image = this.#images.get(id);
    if (!image) throw new Error(`no image ${id} in ${this.region}`);
    return image;
  }

  #liveImage(id: string, action: string): FakeImage {
    const image = this.#images.get(id);
    if (!image || image.deregistered) throw ec2Failure('InvalidAMIID.NotFound', action, this.region);
    return image;
  }

  #imageNamed(name: string): FakeImage | undefined {
    return [...this.#images.values()].find((image) => image.name === name && !image.deregistered);
  }

  /** As the real poller: look, give up at a dead end, time out at the deadline, else sleep and look again. */
  async #wait<T extends { state: string }>(
    what: string,
    read: () => T | undefined,
    wanted: readonly string[],
    options: WaitOptions,
    deadEnd: (record: T, wanted: readonly string[]) => Ec2Error | undefined,
  ): Promise<T> {
    const started = this.#time.now();
    let last = 'not visible yet';
    for (;;) {
      if (options.signal?.aborted) throw new WaitAborted(`${what} to be ${wanted.join(' or ')}`, options.signal);
      const record = read();
      if (record) {
        last = record.state;
        if (wanted.includes(record.state)) return record;
        const dead = deadEnd(record, wanted);
        if (dead) throw dead;
      }
      const now = this.#time.now();
      if (now >= options.deadline) throw new Ec2WaitTimeout(what, wanted.join(' or '), last, now - started);
      if (options.signal) await sleepUnlessAborted(this.#time.sleep, this.pollMs, options.signal);
      else await this.#time.sleep(this.pollMs);
    }
  }

  #newInstance(
    image: string, type: string, tags: Tags, clientToken: string | null, userData: string | null, bootMs = this.bootMs,
    encryptRoot: LaunchSpec['encryptRoot'] = null,
  ): FakeInstance {
    const instance: FakeInstance = {
      id: `i-${hex(this.#serial(), 17)}`, clientToken, imageId: image, type, tags: { ...tags }, userData,
      launchedAt: this.#time.now(), bootMs, addressed: this.addresses, encryptRoot, terminatingAt: null, forced: null,
    };
    this.#instances.set(instance.id, instance);
    return instance;
  }

  #newImage(
    name: string, tags: Tags, readyMs: number,
    extra: Partial<Pick<FakeImage, 'encrypted' | 'kmsKeyId' | 'description' | 'source'>> = {},
  ): FakeImage {
    const serial = this.#serial();
    const image: FakeImage = {
      id: `ami-${hex(serial, 17)}`, name, tags: { ...tags }, createdAt: this.#time.now(), readyMs,
      failure: this.imageFailure, snapshotIds: [`snap-${hex(serial, 17)}`], description: null, encrypted: false, kmsKeyId: null,
      source: null, launchPermissions: new Set(), snapshotPermissions: new Map(), deprecateAt: null, protected: false,
      deregistered: false, ...extra,
    };
    this.#images.set(image.id, image);
    return image;
  }

  #instanceInfo(instance: FakeInstance): InstanceInfo {
    return describeInstance(instance, this.#time.now(), this.terminateMs);
  }

  #imageInfo(image: FakeImage): ImageInfo {
    return describeImage(image, this.#time.now());
  }

}
