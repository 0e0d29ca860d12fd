/**
 * A bake environment with nothing real in it but the embedded store: EC2 (fake-ec2.ts), the
 * Puppet CA, the classifier and the agent run (fake-puppet.ts) are in-memory fakes that
 * record every call, and time (fake-clock.ts) is a clock that moves only when something
 * waits or a test moves it. So the bake core's specs reach any deadline at once and run in
 * milliseconds, without MariaDB or Puppet. This module ties them into one fixture.
 */
import type { PublishSource } from '../../runtime/publish/source.ts';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadlines, type Deadlines } from '../../runtime/bake/deadlines.ts';
import { BakeEngine } from '../../runtime/bake/engine.ts';
import type { BakeEnv, StepEnv } from '../../runtime/bake/env.ts';
import { LaunchLedger } from '../../runtime/bake/launch-ledger.ts';
import { WaitTimes } from '../../runtime/bake/wait-times.ts';
import { Metrics } from '../../runtime/metrics.ts';
import { EmbeddedStore } from '../../runtime/store/embedded-store.ts';
import {
  BAKE_STATES, type Bake, type BakeState, type BakeUpdate, type Group, type GroupSettings, type ReportSummary, type Store,
} from '../../runtime/store/store.ts';
import { CapturingLog } from './capturing-log.ts';
import { FakeTime, storeTime } from './fake-clock.ts';
import type { FakeEc2 } from './fake-ec2.ts';
import { FakeEc2Source } from './fake-ec2-source.ts';
import { FakeBootstrapper, FakeCa, FakeClassifier } from './fake-puppet.ts';
import { FakeCatalogs } from './fake-catalogs.ts';

/** Keys sensitive values' hashes in the catalog check. */
export const SENSITIVE_KEY = Buffer.alloc(32, 3);

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
    region: REGION, subnet: null, security_group: null, bootstrap: 'ssh', keep: 2, template: null, keep_failed: false, keep_days: null, copy_to: [], encrypt: false, kms_key: [], share_with: [], deprecate_after: null,
    ssm_parameter: [], launch_template: [], instance_refresh: [], min_healthy_percentage: 90, refresh_replace_all: false, bake_on: 'intentional', ignore_resources: [],
    base_image_from: null, base_image_filter: null, base_image_owner: null,
    verify: false,
    ...overrides,
  };
}

export function reportSummary(overrides: Partial<ReportSummary> = {}): ReportSummary {
  return {
    host: 'web-i-0.autoami', transaction_uuid: '6c5bd2ef-1f43-4c8b-9d7b-1b2c3d4e5f60', configuration_version: '1700000000',
    status: 'changed', environment: 'production', time: null, changed: 1, failed: 0, failed_to_restart: 0, corrective_change: 0,
    changed_resources: ['File[/etc/motd]'], failed_resources: [], corrective_resources: [], noop: false, pending_resources: [], ...overrides,
  };
}

export const changedReport = (overrides: Partial<ReportSummary> = {}) => reportSummary(overrides);
export const unchangedReport = () => reportSummary({ status: 'unchanged', changed: 0, changed_resources: [] });
export const failedReport = () => reportSummary({ status: 'failed', changed: 0, failed: 1, failed_resources: ['Package[nginx]'] });

/**
 * The fake groups publish nowhere, so a bake's publication never calls out; one that did
 * would be a step calling AWS for a target the group does not have.
 */
const NO_PUBLISHING: PublishSource = {
  ssm: (region) => refuse(`SSM in ${region}`),
  autoscaling: (region) => refuse(`Auto Scaling in ${region}`),
  launchTemplates: (region) => refuse(`launch templates in ${region}`),
};
function refuse(what: string): never {
  throw new Error(`the fake bake environment publishes nowhere, yet ${what} was asked for`);
}

/** What a bake in each state has by then, so one can be put there without the steps before. */
type Placed = Omit<BakeUpdate, 'state' | 'deadline'> & { readonly report?: ReportSummary };

export class FakeBakeEnv {
  readonly time: FakeTime;
  readonly ec2s: FakeEc2Source;
  readonly ec2: FakeEc2;
  readonly ca = new FakeCa();
  readonly classifier = new FakeClassifier();
  readonly catalogs = new FakeCatalogs();
  readonly bootstrap = new FakeBootstrapper();
  readonly log = new CapturingLog();
  readonly deadlines: Deadlines = deadlines(REPORT_TIMEOUT_MS);
  readonly store: Store;
  readonly #dir: string;
  readonly #engines: BakeEngine[] = [];
  readonly #stopping = new AbortController();
  readonly #ledgers = new Map<string, LaunchLedger>();
  readonly #waitTimes = new Map<string, WaitTimes>();
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
      store: this.store, ec2: this.ec2s, publish: NO_PUBLISHING, ca: this.ca, classifier: this.classifier, bootstrap: this.bootstrap, clock: this.time,
      sleep: this.time.sleep, secrets: secretFor, log: this.log, deadlines: this.deadlines, owner, leaseMs: LEASE_MS,
      catalogCheck: { store: this.store, compiler: this.catalogs, sensitiveKey: SENSITIVE_KEY },
      tickMs: TICK_MS, metrics: Metrics.off(), launches: this.ledgerOf(owner), waits: this.waitTimesOf(owner), ...overrides,
    };
  }

  /** Each owner is a process of its own, with its own memory of what it launched. */
  ledgerOf(owner: string): LaunchLedger {
    let ledger = this.#ledgers.get(owner);
    if (!ledger) this.#ledgers.set(owner, (ledger = new LaunchLedger()));
    return ledger;
  }

  /** Each owner is a process of its own, with its own memory of its recent waits. */
  waitTimesOf(owner: string): WaitTimes {
    let times = this.#waitTimes.get(owner);
    if (!times) this.#waitTimes.set(owner, (times = new WaitTimes(this.store, this.log, TICK_MS)));
    return times;
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
    if (state === 'promoted' || state === 'publishing') {
      await this.store.promote({
        image_id: update.image_id!, group_name: group.name, region: group.region, name: update.image_name!, parent_image: group.image,
        bake_id: queued.id, config_version: '1700000000', changed_resources: [], created_at: this.at(0), deregistered_at: null, copies: {}, retention_note: null, catalog_hash: null,
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

const STATE_ORDER: readonly BakeState[] = BAKE_STATES;
