/**
 * A bake environment with nothing real in it but the embedded store: EC2, the Puppet CA,
 * the classifier and the agent run are in-memory fakes that record every call, and time
 * is a clock that moves only when something waits or a test moves it. So the bake core's
 * specs reach any deadline at once and run in milliseconds, without MariaDB or Puppet.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadlines, type Deadlines } from '../../runtime/bake/deadlines.ts';
import { BakeEngine } from '../../runtime/bake/engine.ts';
import type { BakeEnv, Bootstrapper, StepEnv } from '../../runtime/bake/env.ts';
import type { BootstrapOutcome } from '../../runtime/bootstrap/types.ts';
import type { Clock } from '../../runtime/clock.ts';
import { toEc2Error } from '../../runtime/ec2/failures.ts';
import type { Ec2Source } from '../../runtime/ec2/source.ts';
import { imageDeadEnd, instanceDeadEnd } from '../../runtime/ec2/states.ts';
import type {
  Abortable, Ec2, ImageInfo, ImageSpec, InstanceInfo, LaunchSpec, Tags, WaitOptions,
} from '../../runtime/ec2/types.ts';
import { Ec2WaitTimeout, type Ec2Error } from '../../runtime/errors.ts';
import type { Level, Logger } from '../../runtime/log.ts';
import { Metrics } from '../../runtime/metrics.ts';
import type { CertificateAuthority, Challenge, Classifier, PinResult, SignResult } from '../../runtime/puppet/types.ts';
import { WaitAborted } from '../../runtime/errors.ts';
import { sleepUnlessAborted, type Sleep } from '../../runtime/sleep.ts';
import { EmbeddedStore } from '../../runtime/store/embedded-store.ts';
import type {
  Bake, BakeState, BakeUpdate, Group, GroupSettings, ReportSummary, Store,
} from '../../runtime/store/store.ts';
import { statusFor } from './ec2/errors.ts';

// ---------------------------------------------------------------------------------------
// Time

/**
 * The store's form of a clock time, and back. The only place that knows it, so a change of
 * form (the stores went from ISO strings to epoch milliseconds) changes these two lines only.
 */
export const storeTime = (ms: number): number => ms;
export const clockTime = (stored: number): number => stored;

/** A fixed start, far from the real date, so a time taken from the wall clock by mistake shows. */
export const START = Date.UTC(2031, 4, 6, 7, 0, 0);

/**
 * Time passes only while someone waits (every sleep moves the clock by what it asked for)
 * or when a test moves it: a deadline is reached by advancing, never by waiting.
 */
export class FakeTime implements Clock {
  #now: number;
  /** Fake milliseconds spent in sleeps, for specs that check something waited. */
  slept = 0;

  constructor(start = START) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  advance(ms: number): void {
    this.#now += ms;
  }

  // setImmediate, not a resolved promise: a loop of sleeps must still let I/O (the store's writes) through.
  readonly sleep: Sleep = (ms) => {
    this.#now += ms;
    this.slept += ms;
    return new Promise((resolve) => setImmediate(resolve));
  };
}

// ---------------------------------------------------------------------------------------
// EC2

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

interface FakeInstance {
  readonly id: string;
  readonly clientToken: string | null;
  readonly imageId: string;
  readonly type: string;
  readonly tags: Tags;
  readonly userData: string | null;
  readonly launchedAt: number;
  readonly bootMs: number;
  readonly addressed: boolean;
  terminatingAt: number | null;
  /** A state set by the test (stopped by hand, terminated by someone else), over the timeline. */
  forced: string | null;
}

interface FakeImage {
  readonly id: string;
  readonly name: string;
  readonly tags: Tags;
  readonly createdAt: number;
  readonly readyMs: number;
  readonly failure: string | null;
  readonly snapshotIds: readonly string[];
  deregistered: boolean;
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * An EC2 failure as the adapter hands it on: an SDK-shaped error mapped by toEc2Error, so
 * the engine classifies it exactly as it would a real one (throttling and the network pass,
 * capacity, permissions and missing resources do not).
 */
export function ec2Failure(code: string, action = 'RunInstances', region = 'us-east-1'): Ec2Error {
  const sdk = NETWORK_CODES.has(code)
    ? Object.assign(new Error(`socket hang up (${code})`), { code })
    : Object.assign(new Error(`simulated ${code}`), { name: code, Code: code, $metadata: { httpStatusCode: statusFor(code) } });
  return toEc2Error(sdk, { action, region, endpoint: 'https://ec2.fake.test' });
}

/** EC2's own times are ISO strings, whatever the store keeps. */
const iso = (ms: number): string => new Date(ms).toISOString();
const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');
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

  #instanceState(instance: FakeInstance): string {
    if (instance.forced) return instance.forced;
    const now = this.#time.now();
    if (instance.terminatingAt !== null) return now >= instance.terminatingAt + this.terminateMs ? 'terminated' : 'shutting-down';
    return now >= instance.launchedAt + instance.bootMs ? 'running' : 'pending';
  }

  #instanceInfo(instance: FakeInstance): InstanceInfo {
    const state = this.#instanceState(instance);
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

  #imageInfo(image: FakeImage): ImageInfo {
    const ready = this.#time.now() >= image.createdAt + image.readyMs;
    const state = image.deregistered ? 'deregistered' : !ready ? 'pending' : image.failure ? 'failed' : 'available';
    return {
      id: image.id, name: image.name, state, stateReason: state === 'failed' ? image.failure : null, architecture: 'x86_64',
      description: null, public: false, rootDeviceType: 'ebs', creationDate: iso(image.createdAt), ownerId: '123456789012',
      snapshotIds: image.snapshotIds, tags: image.tags,
    };
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

// ---------------------------------------------------------------------------------------
// Puppet

/** The CA as the bake sees it: answers as scripted, spends the challenge before it signs, as the real one. */
export class FakeCa implements CertificateAuthority {
  answer: 'sign' | 'pending' | 'refuse' = 'sign';
  readonly requests: { certname: string; instanceId: string; hash: string }[] = [];
  readonly signed: string[] = [];
  readonly cleaned: string[] = [];
  /** Set: every clean fails with it. */
  cleanFailure: Error | null = null;

  async signFor(certname: string, instanceId: string, challenge: Challenge): Promise<SignResult> {
    this.requests.push({ certname, instanceId, hash: challenge.hash });
    if (this.answer === 'pending') return { state: 'pending', reason: `no CSR from ${certname} is waiting` };
    if (this.answer === 'refuse') return { state: 'refused', reason: 'the CSR carries another challenge; the CSR was removed' };
    if (!(await challenge.spend())) return { state: 'pending', reason: 'the challenge was spent meanwhile' };
    this.signed.push(certname);
    return { state: 'signed' };
  }

  async clean(certname: string): Promise<void> {
    if (this.cleanFailure) throw this.cleanFailure;
    this.cleaned.push(certname);
  }
}

export class FakeClassifier implements Classifier {
  readonly pinned = new Set<string>();
  readonly pins: string[] = [];
  readonly unpins: string[] = [];
  /** Set: every unpin fails with it. */
  unpinFailure: Error | null = null;

  async check(_group: GroupSettings): Promise<void> {}

  async pin(group: Group, certname: string): Promise<PinResult> {
    this.pins.push(certname);
    this.pinned.add(certname);
    return { state: 'pinned', groupId: `node-group-${group.node_group}` };
  }

  async unpin(_group: Group, certname: string): Promise<void> {
    this.unpins.push(certname);
    if (this.unpinFailure) throw this.unpinFailure;
    this.pinned.delete(certname);
  }
}

export interface SshRun {
  readonly bake: Bake;
  readonly group: Group;
  readonly host: string;
  readonly deadline: number;
  readonly challenge: string;
}

/** The agent run: over ssh it ends as `agent` says (at once, by default); user-data is plain text naming the secret. */
export class FakeBootstrapper implements Bootstrapper {
  readonly runs: SshRun[] = [];
  readonly userDatas: { group: string; server: string; challenge: string }[] = [];
  agent: (run: SshRun) => Promise<BootstrapOutcome> = async () => ({ state: 'ran', exitCode: 2, output: 'Notice: Applied catalog' });

  overSsh(bake: Bake, group: Group, host: string, deadline: number, challenge: string): Promise<BootstrapOutcome> {
    const run = { bake, group, host, deadline, challenge };
    this.runs.push(run);
    return this.agent(run);
  }

  userData(group: Group, server: string, challenge: string): string {
    this.userDatas.push({ group: group.name, server, challenge });
    return `#!/bin/sh\n# ${group.name} against ${server}\nchallenge=${challenge}\n`;
  }
}

// ---------------------------------------------------------------------------------------
// Log

export interface LogLine {
  readonly level: Level;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export class CapturingLog implements Logger {
  readonly lines: LogLine[] = [];

  debug(message: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'debug', message, fields });
  }

  info(message: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'info', message, fields });
  }

  warn(message: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'warn', message, fields });
  }

  error(message: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'error', message, fields });
  }

  with(message: string): LogLine[] {
    return this.lines.filter((line) => line.message === message);
  }

  /** The attempt counts of a bake's failed steps, in order. */
  attempts(bakeId: string): unknown[] {
    return this.with('bake step failed').filter((line) => line.fields.bake === bakeId).map((line) => line.fields.attempt);
  }

  /** Each `from → to` the bake was moved through, in order. */
  moves(bakeId: string): string[] {
    return this.with('bake moved').filter((line) => line.fields.bake === bakeId).map((line) => `${line.fields.from} → ${line.fields.to}`);
  }

  text(): string {
    return this.lines.map((line) => JSON.stringify({ level: line.level, message: line.message, ...line.fields })).join('\n');
  }
}

// ---------------------------------------------------------------------------------------
// The whole environment

export const REGION = 'us-east-1';
export const BASE_IMAGE = 'ami-0abc1234';
export const OWNER = 'sidecar-a';
export const REPORT_TIMEOUT_MS = 20 * 60_000;
/**
 * Long in fake time, so a lease lapses only when a spec moves the clock past it, and shorter
 * than every state's deadline, so a spec can let it lapse without the bake timing out.
 */
export const LEASE_MS = 5 * 60_000;
/** Real milliseconds between an engine's looks at a waiting bake: small, so specs stay fast. */
export const TICK_MS = 2;

export const secretFor = (bakeId: string): string => `secret-of-${bakeId}`;

const made: string[] = [];
// A spec that fails before its close must not leave its store behind either.
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** The store lives in memory-backed /dev/shm where there is one: the embedded store syncs every write. */
function storeDir(): string {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = mkdtempSync(join(base, 'aa-bake-'));
  made.push(dir);
  return dir;
}

export function settings(overrides: Partial<GroupSettings> = {}): GroupSettings {
  return {
    name: 'web', image: BASE_IMAGE, type: 't3.micro', keyname: 'deploy', keyfile: '/etc/autoami/deploy.pem', login: 'ec2-user',
    puppetserver: 'puppet.example.com', node_group: 'web', enc_user: 'admin', enc_pass: 'secret', enc_server: null, enc_port: 4433,
    region: REGION, subnet: null, security_group: null, bootstrap: 'ssh', keep: 2, template: null, keep_failed: false,
    ...overrides,
  };
}

export function reportSummary(overrides: Partial<ReportSummary> = {}): ReportSummary {
  return {
    host: 'web-i-0.autoami', transaction_uuid: '6c5bd2ef-1f43-4c8b-9d7b-1b2c3d4e5f60', configuration_version: '1700000000',
    status: 'changed', environment: 'production', time: null, changed: 1, failed: 0, failed_to_restart: 0, corrective_change: 0,
    changed_resources: ['File[/etc/motd]'], failed_resources: [], ...overrides,
  };
}

export const changedReport = (overrides: Partial<ReportSummary> = {}) => reportSummary(overrides);
export const unchangedReport = () => reportSummary({ status: 'unchanged', changed: 0, changed_resources: [] });
export const failedReport = () => reportSummary({ status: 'failed', changed: 0, failed: 1, failed_resources: ['Package[nginx]'] });

/** What a bake in each state has by then, so one can be put there without the steps before. */
type Placed = Omit<BakeUpdate, 'state' | 'deadline'> & { readonly report?: ReportSummary };

export class FakeBakeEnv {
  readonly time: FakeTime;
  readonly ec2s: FakeEc2Source;
  readonly ec2: FakeEc2;
  readonly ca = new FakeCa();
  readonly classifier = new FakeClassifier();
  readonly bootstrap = new FakeBootstrapper();
  readonly log = new CapturingLog();
  readonly deadlines: Deadlines = deadlines(REPORT_TIMEOUT_MS);
  readonly store: Store;
  readonly #dir: string;
  readonly #engines: BakeEngine[] = [];
  readonly #stopping = new AbortController();
  #ids = 0;

  private constructor(dir: string, time: FakeTime, store: Store) {
    this.#dir = dir;
    this.time = time;
    this.ec2s = new FakeEc2Source(time);
    this.ec2 = this.ec2s.get(REGION);
    this.store = store;
  }

  static async open(): Promise<FakeBakeEnv> {
    const dir = storeDir();
    const time = new FakeTime();
    const store = new EmbeddedStore(join(dir, 'store.json'), { clock: time });
    await store.open();
    return new FakeBakeEnv(dir, time, store);
  }

  /** The engine's environment, as another sidecar on the same store would have it with `owner`. */
  envFor(owner = OWNER, overrides: Partial<BakeEnv> = {}): BakeEnv {
    return {
      store: this.store, ec2: this.ec2s, ca: this.ca, classifier: this.classifier, bootstrap: this.bootstrap, clock: this.time,
      sleep: this.time.sleep, secrets: secretFor, log: this.log, deadlines: this.deadlines, owner, leaseMs: LEASE_MS,
      tickMs: TICK_MS, metrics: Metrics.off(), ...overrides,
    };
  }

  /** What a step runs with; abort() ends its waits as a stopping engine would. */
  get env(): StepEnv {
    return { ...this.envFor(), signal: this.#stopping.signal };
  }

  abort(): void {
    this.#stopping.abort(new Error('the sidecar is stopping'));
  }

  engine(options: { owner?: string; concurrency?: number; env?: Partial<BakeEnv> } = {}): BakeEngine {
    const engine = new BakeEngine(this.envFor(options.owner, options.env), options.concurrency ?? 8);
    this.#engines.push(engine);
    return engine;
  }

  /** A clock time `ms` from now, in the store's form. */
  at(ms: number): number {
    return storeTime(this.time.now() + ms);
  }

  group(overrides: Partial<GroupSettings> = {}): Promise<Group> {
    return this.store.createGroup(settings(overrides));
  }

  /** A bake as `bake.run` queues one. */
  queue(group: Group, id = `bake-${++this.#ids}`): Promise<Bake> {
    return this.store.createBake({
      id, run_id: 'run-1', group_name: group.name, region: group.region, parent_image: group.image, deadline: this.at(this.deadlines.forState('queued')),
    });
  }

  /** Takes (or renews) the lease for `owner`, as the engine does before each step. */
  async lease(id: string, owner = OWNER): Promise<Bake> {
    const bake = await this.store.acquireLease(id, owner, this.at(LEASE_MS), this.at(0));
    if (!bake) throw new Error(`bake ${id} is leased by someone else`);
    return bake;
  }

  /**
   * A bake of `group` in `state`, with what it would have by then (its instance, report,
   * image), made in EC2 and the store without running a step. Leased by OWNER; its deadline
   * is the state's own, from now.
   */
  async placeIn(state: BakeState, group: Group, extra: Placed = {}): Promise<Bake> {
    const queued = await this.queue(group);
    await this.lease(queued.id);
    // A bake cleaning up here ended unchanged: it has its instance and report, and no image.
    const reached = state === 'cleaning' ? 'awaiting_report' : state;
    const has = (from: BakeState) => STATE_ORDER.indexOf(reached) >= STATE_ORDER.indexOf(from);
    let fields: Placed = {};
    if (has('booting')) {
      const ec2 = this.ec2s.get(group.region);
      // Still pending when placed in booting, as a fresh launch is; running in any later state.
      const bootMs = state === 'booting' ? ec2.bootMs : 0;
      const instance = ec2.seedInstance({ clientToken: queued.id, tags: { 'autoami:bake': queued.id, 'autoami:group': group.name }, bootMs });
      fields = { instance_id: instance.id, certname: `${group.name}-${instance.id}.autoami` };
    }
    if (has('imaging')) fields = { ...fields, image_name: `autoami-${group.name}-20310506T070000.000Z`, reason: '1 resources changed' };
    if (has('image_pending')) {
      const image = this.ec2s.get(group.region).seedImage({ name: fields.image_name, tags: { 'autoami:bake': queued.id }, state: 'available' });
      fields = { ...fields, image_id: image.id };
    }
    if (state === 'cleaning') fields = { ...fields, outcome: 'unchanged', reason: 'the Puppet run changed nothing', report: unchangedReport() };
    const { report, ...update } = { ...fields, ...extra };
    const wantsReport = report ?? (has('imaging') ? changedReport() : undefined);
    if (wantsReport) await this.store.recordReport(queued.id, wantsReport);
    if (state === 'promoted') {
      await this.store.promote({
        image_id: update.image_id!, group_name: group.name, region: group.region, name: update.image_name!, parent_image: group.image,
        bake_id: queued.id, config_version: '1700000000', changed_resources: [], created_at: this.at(0), deregistered_at: null,
      });
    }
    if (state === 'queued') return this.lease(queued.id);
    const moved = await this.store.transition(queued.id, OWNER, 'queued', { ...update, state, deadline: this.at(this.deadlines.forState(state)) });
    if (!moved) throw new Error(`could not place bake ${queued.id} in ${state}`);
    return moved;
  }

  /** Waits (in real time, briefly) until the bake satisfies `until`; the engine runs meanwhile. */
  async settle(id: string, until: (bake: Bake) => boolean = (bake) => bake.state === 'done', timeoutMs = 2_000): Promise<Bake> {
    const deadline = Date.now() + timeoutMs;
    let last: Bake | undefined;
    while (Date.now() < deadline) {
      last = await this.store.getBake(id);
      if (last && until(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    throw new Error(`bake ${id} did not settle within ${timeoutMs} ms; last: ${JSON.stringify(last)}\n${this.log.text()}`);
  }

  async close(): Promise<void> {
    this.abort();
    await Promise.all(this.#engines.map((engine) => engine.stop(100)));
    await this.store.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

const STATE_ORDER: readonly BakeState[] = ['queued', 'launching', 'booting', 'bootstrapping', 'awaiting_report', 'imaging', 'image_pending', 'promoted', 'cleaning', 'done'];

/** Resolves never; rejects with WaitAborted once `signal` aborts: a wait that only a stop ends. */
export function untilAborted(signal: AbortSignal | undefined, what: string): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    if (!signal) return;
    const abort = () => reject(new WaitAborted(what, signal));
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
  });
}

/** The AbortSignal an Ec2 call was given, if any. */
export function signalOf(call: Ec2Call): AbortSignal | undefined {
  const options = call.args.find((arg): arg is Abortable => typeof arg === 'object' && arg !== null && 'signal' in arg);
  return options?.signal;
}
