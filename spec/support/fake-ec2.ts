/**
 * In-memory EC2 for the bake core's specs: instances and images on a timeline of the fake
 * clock, every call recorded, and any call scriptable to fail (see fake-ec2-faults.ts).
 */
import type { Ec2Source } from '../../runtime/ec2/source.ts';
import { imageDeadEnd, instanceDeadEnd } from '../../runtime/ec2/states.ts';
import type {
  Abortable, Ec2, ImageInfo, ImageSpec, InstanceInfo, LaunchSpec, Tags, WaitOptions,
} from '../../runtime/ec2/types.ts';
import { Ec2WaitTimeout, WaitAborted, type Ec2Error } from '../../runtime/errors.ts';
import { sleepUnlessAborted } from '../../runtime/sleep.ts';
import type { FakeTime } from './fake-clock.ts';
import { ec2Failure } from './fake-ec2-faults.ts';
import { describeImage, describeInstance, hex, type FakeImage, type FakeInstance } from './fake-ec2-records.ts';

type Ec2Method = Exclude<keyof Ec2, 'region'>;

export interface Ec2Call {
  readonly method: Ec2Method;
  readonly args: readonly unknown[];
}

interface Script {
  readonly after: boolean;
  left: number;
  readonly run: (call: Ec2Call) => unknown;
}

const LIVE = (state: string) => state !== 'shutting-down' && state !== 'terminated';
const hasTags = (tags: Tags, wanted: Tags) => Object.entries(wanted).every(([key, value]) => tags[key] === value);

/**
 * In-memory EC2 for one region. States follow a timeline on the fake clock (pending, then
 * running `bootMs` later; an image available `imageMs` after CreateImage), RunInstances
 * honours the ClientToken and CreateImage the name, as EC2 does. Every call is recorded
 * before it runs, and any call can be scripted to fail, before or after taking effect.
 */
export class FakeEc2 implements Ec2 {
  readonly region: string;
  readonly #time: FakeTime;
  readonly #instances = new Map<string, FakeInstance>();
  readonly #images = new Map<string, FakeImage>();
  readonly #scripts = new Map<Ec2Method, Script[]>();
  readonly calls: Ec2Call[] = [];
  readonly deletedSnapshots: string[] = [];
  /** Shared by every region of one source: ids are unique account-wide, as EC2 makes them. */
  readonly #serial: () => number;

  /** Fake ms from launch to running; Infinity: never boots. */
  bootMs = 20_000;
  /** Fake ms from CreateImage to available (or failed, with imageFailure). */
  imageMs = 60_000;
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

  constructor(region: string, time: FakeTime, serial: () => number) {
    this.region = region;
    this.#time = time;
    this.#serial = serial;
  }

  // --- scripting and inspection

  /** The next `times` calls of `method` throw `error`; with `after`, once the call took effect (the answer is lost). */
  failNext(method: Ec2Method, error: Error, options: { times?: number; after?: boolean } = {}): void {
    this.#script(method, { after: options.after ?? false, left: options.times ?? 1, run: () => { throw error; } });
  }

  /** Runs `hook` before each of the next `times` calls of `method`; it may wait, throw, or change the world. */
  intercept(method: Ec2Method, hook: (call: Ec2Call) => unknown, times = Number.POSITIVE_INFINITY): void {
    this.#script(method, { after: false, left: times, run: hook });
  }

  count(method: Ec2Method): number {
    return this.calls.filter((call) => call.method === method).length;
  }

  get launches(): LaunchSpec[] {
    return this.#argsOf('launch', isLaunchSpec);
  }

  get imageSpecs(): ImageSpec[] {
    return this.#argsOf('createImage', isImageSpec);
  }

  /** Every id named in a TerminateInstances call, once per call. */
  get terminations(): string[] {
    return this.calls.filter((call) => call.method === 'terminate').flatMap((call) => stringsOf(call.args[0]));
  }

  /** Every id named in a DeregisterImage call. */
  get deregistrations(): string[] {
    return this.calls.filter((call) => call.method === 'deregisterImage').map((call) => String(call.args[0]));
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

  /** An instance that exists without this test's calls: an earlier attempt's, or anyone's. */
  /** Running at once unless `bootMs` says otherwise. */
  seedInstance(options: { tags?: Tags; clientToken?: string; image?: string; state?: string; bootMs?: number } = {}): InstanceInfo {
    const tags = options.tags ?? {};
    const instance = this.#newInstance(options.image ?? 'ami-0abc1234', 't3.micro', tags, options.clientToken ?? null, null, options.bootMs ?? 0);
    if (options.state) instance.forced = options.state;
    return this.#instanceInfo(instance);
  }

  seedImage(options: { name?: string; tags?: Tags; state?: 'pending' | 'available' } = {}): ImageInfo {
    const image = this.#newImage(options.name ?? `seeded-${this.#images.size + 1}`, options.tags ?? {}, options.state === 'pending' ? this.imageMs : 0);
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
    return this.#call('ping', [], () => undefined);
  }

  launch(spec: LaunchSpec, options: Abortable = {}): Promise<InstanceInfo> {
    return this.#call('launch', [spec, options], () => {
      const earlier = [...this.#instances.values()].find((instance) => instance.clientToken === spec.clientToken);
      if (earlier) return this.#instanceInfo(earlier);
      return this.#instanceInfo(this.#newInstance(spec.image, spec.type, spec.tags, spec.clientToken, spec.userData));
    });
  }

  findInstance(server: string): Promise<InstanceInfo | undefined> {
    return this.#call('findInstance', [server], () =>
      this.instances().find((info) => LIVE(info.state) && (info.id === server || info.publicDns === server)),
    );
  }

  describeInstances(ids: readonly string[]): Promise<Map<string, InstanceInfo>> {
    return this.#call('describeInstances', [ids], () => new Map(this.instances().filter((info) => ids.includes(info.id)).map((info) => [info.id, info])));
  }

  findTagged(tags: Tags): Promise<InstanceInfo[]> {
    return this.#call('findTagged', [tags], () => this.instances().filter((info) => LIVE(info.state) && hasTags(info.tags, tags)));
  }

  waitForInstance(id: string, states: readonly string[], options: WaitOptions): Promise<InstanceInfo> {
    return this.#call('waitForInstance', [id, states, options], () =>
      this.#wait(`instance ${id}`, () => this.instance(id), states, options, instanceDeadEnd),
    );
  }

  terminate(ids: readonly string[]): Promise<void> {
    return this.#call('terminate', [ids], () => {
      const missing = ids.filter((id) => !this.#instances.has(id));
      if (missing.length > 0) throw ec2Failure('InvalidInstanceID.NotFound', 'TerminateInstances', this.region);
      for (const id of ids) {
        const instance = this.#instances.get(id)!;
        instance.terminatingAt ??= this.#time.now();
      }
    });
  }

  createImage(spec: ImageSpec, options: Abortable = {}): Promise<string> {
    return this.#call('createImage', [spec, options], () => {
      if (!this.#instances.has(spec.instanceId)) throw ec2Failure('InvalidInstanceID.NotFound', 'CreateImage', this.region);
      const taken = [...this.#images.values()].find((image) => image.name === spec.name);
      return (taken ?? this.#newImage(spec.name, spec.tags, this.imageMs)).id;
    });
  }

  findImageByName(name: string): Promise<ImageInfo | undefined> {
    return this.#call('findImageByName', [name], () => this.images().find((info) => info.name === name && info.state !== 'deregistered'));
  }

  describeImages(ids: readonly string[]): Promise<Map<string, ImageInfo>> {
    return this.#call('describeImages', [ids], () => new Map(this.images().filter((info) => ids.includes(info.id)).map((info) => [info.id, info])));
  }

  waitForImage(id: string, options: WaitOptions): Promise<ImageInfo> {
    return this.#call('waitForImage', [id, options], () => this.#wait(`image ${id}`, () => this.image(id), ['available'], options, imageDeadEnd));
  }

  listOwnImages(tagFilter: Tags = {}): Promise<ImageInfo[]> {
    return this.#call('listOwnImages', [tagFilter], () => this.images().filter((info) => info.state !== 'deregistered' && hasTags(info.tags, tagFilter)));
  }

  deregisterImage(id: string): Promise<{ imageId: string; snapshotIds: string[] }> {
    return this.#call('deregisterImage', [id], () => {
      const image = this.#images.get(id);
      if (!image || image.deregistered) throw ec2Failure('InvalidAMIID.NotFound', 'DescribeImages', this.region);
      image.deregistered = true;
      this.deletedSnapshots.push(...image.snapshotIds);
      return { imageId: id, snapshotIds: [...image.snapshotIds] };
    });
  }

  // --- inside

  #script(method: Ec2Method, script: Script): void {
    this.#scripts.set(method, [...(this.#scripts.get(method) ?? []), script]);
  }

  async #runScript(call: Ec2Call, after: boolean): Promise<void> {
    const script = (this.#scripts.get(call.method) ?? []).find((each) => each.after === after && each.left > 0);
    if (!script) return;
    script.left--;
    await script.run(call);
  }

  async #call<T>(method: Ec2Method, args: readonly unknown[], body: () => T | Promise<T>): Promise<T> {
    const call = { method, args };
    this.calls.push(call);
    await this.#runScript(call, false);
    const result = await body();
    await this.#runScript(call, true);
    return result;
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

  #newInstance(image: string, type: string, tags: Tags, clientToken: string | null, userData: string | null, bootMs = this.bootMs): FakeInstance {
    const instance: FakeInstance = {
      id: `i-${hex(this.#serial(), 17)}`, clientToken, imageId: image, type, tags: { ...tags }, userData,
      launchedAt: this.#time.now(), bootMs, addressed: this.addresses, terminatingAt: null, forced: null,
    };
    this.#instances.set(instance.id, instance);
    return instance;
  }

  #newImage(name: string, tags: Tags, readyMs: number): FakeImage {
    const serial = this.#serial();
    const image: FakeImage = {
      id: `ami-${hex(serial, 17)}`, name, tags: { ...tags }, createdAt: this.#time.now(), readyMs,
      failure: this.imageFailure, snapshotIds: [`snap-${hex(serial, 17)}`], deregistered: false,
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

  #argsOf<T>(method: Ec2Method, is: (value: unknown) => value is T): T[] {
    return this.calls.filter((call) => call.method === method).map((call) => call.args[0]).filter(is);
  }
}

function isLaunchSpec(value: unknown): value is LaunchSpec {
  return typeof value === 'object' && value !== null && 'clientToken' in value;
}

function isImageSpec(value: unknown): value is ImageSpec {
  return typeof value === 'object' && value !== null && 'instanceId' in value && 'noReboot' in value;
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

/** One FakeEc2 per region, made on first use, as the real source does. */
export class FakeEc2Source implements Ec2Source {
  readonly #time: FakeTime;
  readonly regions = new Map<string, FakeEc2>();
  #serial = 0;

  constructor(time: FakeTime) {
    this.#time = time;
  }

  get(region: string): FakeEc2 {
    let ec2 = this.regions.get(region);
    if (!ec2) this.regions.set(region, (ec2 = new FakeEc2(region, this.#time, () => ++this.#serial)));
    return ec2;
  }
}
