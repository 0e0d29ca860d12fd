/**
 * One chaos run, its own world: a MariaDB of its own (so it can be restarted), the EC2
 * endpoint with the plan's seed, two `autoami serve` on one database, 50 groups in
 * user-data mode. The killer plays the plan's faults while the waves run and the scripted
 * agent reports; once every bake is done (or the wait gives up), the checks look at what
 * is left.
 */
import '../support/aws-env.ts';
import { MysqlStore } from '../../runtime/store/mysql-store.ts';
import type { Bake, BakeOutcome, ImageRecord as LineageRow } from '../../runtime/store/store.ts';
import { HANDLERS } from '../support/ec2/actions/index.ts';
import { startEc2Endpoint, type Ec2Endpoint } from '../support/ec2-endpoint.ts';
import { seedGroup } from '../support/group-params.ts';
import { startPrivateMariadb } from '../support/mariadb-private.ts';
import { writeConfig } from '../support/sidecar.ts';
import { ScriptedAgent, type Defect } from './agent.ts';
import { callOnce } from './call.ts';
import { runChecks, type CheckResult } from './checks.ts';
import { Fleet } from './fleet.ts';
import { playFaults, type KillerTally } from './killer.ts';
import { describePlan, makePlan, type ChaosPlan } from './plan.ts';

export const BASE_IMAGE = 'ami-0abc1234';

/** The endpoint's fixed times, and the most extra each change may take on top (seeded). */
const TIMING = { bootMs: 1000, imageMs: 2000, stopMs: 500, terminateMs: 700 };
const JITTER = { boot: 1000, image: 2000, stop: 500, terminate: 600 };
export const THROTTLE_RATE = 0.2;
export const IMAGE_FAILURE_RATE = 0.05;
/** A short lease: a killed sidecar's bakes go to the other one within about a second. */
const BAKE_SETTINGS = { poll_interval: '150ms', lease: '1s', report_timeout: '120s', concurrency: 64 };
/** Only bounds a hang: a healthy run settles in about a minute. */
const SETTLE_TIMEOUT_MS = 240_000;
/** Records kept describable long after the run, so a duplicate or a leftover cannot hide. */
const VISIBLE_MS = 3_600_000;

export interface ChaosOptions {
  readonly seed: number;
  readonly defect?: Defect;
  /** Progress lines (kills, restarts, waves); kept for a failure report either way. */
  readonly log?: (line: string) => void;
  /** A directory for every sidecar's output (CHAOS_LOG_DIR), for a run to look into. */
  readonly logDir?: string;
}

export interface ChaosResult {
  readonly seed: number;
  readonly plan: ChaosPlan;
  readonly kills: number;
  readonly mariadbRestarts: number;
  readonly outcomes: Partial<Record<BakeOutcome | 'not_done', number>>;
  readonly bakes: number;
  readonly calls: number;
  readonly throttled: number;
  readonly failedImages: number;
  readonly failedStarts: number;
  readonly checks: readonly CheckResult[];
  readonly passed: boolean;
  /** What went wrong in the harness itself (a restart that failed), which fails the run; null when nothing did. */
  readonly broke: string | null;
  readonly ms: number;
  /** Every progress line, for a failure report. */
  readonly log: readonly string[];
}

function injectFaults(endpoint: Ec2Endpoint): void {
  for (const action of Object.keys(HANDLERS)) {
    endpoint.faults.set(action, { throttleRate: THROTTLE_RATE, ...(action === 'CreateImage' && { imageFailureRate: IMAGE_FAILURE_RATE }) });
  }
  endpoint.faults.setStateDelayJitter(JITTER);
}

/** `bake.run` of one wave, on whichever sidecar answers; a retry after a kill finds the bakes already made and makes only the missing ones. */
async function runWave(sockets: readonly string[], groups: readonly string[], first: number, log: (line: string) => void, going: () => boolean): Promise<number> {
  let lastProblem = '';
  for (let attempt = 0; going(); attempt++) {
    const socket = sockets[(first + attempt) % sockets.length]!;
    let problem: string;
    try {
      const reply = await callOnce(socket, 'bake.run', { groups });
      if (reply.result) return attempt + 1;
      problem = `answered ${JSON.stringify(reply.error)}`;
    } catch (error) {
      problem = (error as Error).message;
    }
    // One line per kind of trouble, not per attempt: both sidecars may be down for seconds.
    const kind = problem.replace(/\/\S+/g, 'PATH');
    if (kind !== lastProblem) log(`${problem}; trying bake.run again`);
    lastProblem = kind;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return 0;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const started = Date.now();
  const lines: string[] = [];
  const log = (line: string): void => {
    const stamped = `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`;
    lines.push(stamped);
    options.log?.(stamped);
  };
  const plan = makePlan(options.seed);
  log(`CHAOS_SEED=${plan.seed}: ${describePlan(plan)}`);

  const mariadb = await startPrivateMariadb().catch((error: unknown) => {
    // mariadb-install-db now and then trips over a temp table when several initialise at once; one more try, then fail loudly.
    log(`MariaDB did not initialise, trying once more: ${String((error as Error).message).split('\n')[0]}`);
    return startPrivateMariadb();
  });
  const endpoint = await startEc2Endpoint({ images: [BASE_IMAGE], seed: plan.endpointSeed, ...TIMING, terminatedVisibleMs: VISIBLE_MS, deregisteredVisibleMs: VISIBLE_MS });
  let fleet: Fleet | undefined;
  let store: MysqlStore | undefined;
  try {
    const db = await mariadb.createDatabase();
    const configs = [0, 1].map(() => writeConfig(db, { aws: { region: 'us-east-1', endpoint: endpoint.url }, puppet: { classifier: 'none' }, bake: BAKE_SETTINGS }));
    fleet = new Fleet(configs.map((config, index) => ({ index, configFile: config.file, socket: config.socket })), log, options.logDir);
    await Promise.all([fleet.start(0), fleet.start(1)]);
    store = new MysqlStore(db);
    await store.open();
    const sockets = fleet.sockets();
    for (const name of plan.groups) {
      const reply = await callOnce(sockets[0]!, 'group.create', seedGroup({ name, image: BASE_IMAGE, bootstrap: 'userdata' }));
      if (!reply.result) throw new Error(`group.create ${name}: ${JSON.stringify(reply.error)}`);
    }

    injectFaults(endpoint);
    endpoint.counts.reset();
    const agent = new ScriptedAgent(plan, store, sockets, options.defect ?? null);
    const tally: KillerTally = { kills: 0, mariadbRestarts: 0 };
    const runAt = Date.now();
    let going = true;
    log('faults on; the waves begin');
    let broke: string | null = null;
    const harness = (what: string) => (error: unknown) => {
      broke ??= `${what}: ${error instanceof Error ? error.message : String(error)}`;
      log(`the harness broke, ${broke}`);
    };
    const faults = playFaults(plan, fleet, mariadb, runAt, tally, log).catch(harness('the faults'));
    const waves = (async () => {
      for (const [n, wave] of plan.waves.entries()) {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, runAt + wave.atMs - Date.now())));
        if (!going) return;
        const attempts = await runWave(sockets, wave.groups, n % sockets.length, log, () => going);
        log(`wave ${n + 1} of ${plan.waves.length} running (${wave.groups.length} groups, ${attempts} bake.run calls)`);
      }
    })().catch(harness('the waves'));

    let latest: readonly Bake[] = [];
    let settled = false;
    agent.start((bakes) => {
      latest = bakes;
    });
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    let wavesDone = false;
    void waves.then(() => (wavesDone = true));
    let faultsDone = false;
    void faults.then(() => (faultsDone = true));
    while (Date.now() < deadline) {
      const everyGroup = plan.groups.every((group) => latest.some((bake) => bake.group_name === group));
      if (broke !== null) break;
      if (wavesDone && faultsDone && everyGroup && latest.every((bake) => bake.state === 'done')) {
        settled = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    going = false;
    await agent.stop();
    if (!settled) log(`CHAOS_SEED=${plan.seed}: the run did not settle within ${SETTLE_TIMEOUT_MS / 1000} s`);
    // The faults are over by now unless the run hung; either way no sidecar may move anything while the checks look.
    await fleet.close();

    const groups = await store.listGroups();
    const bakes = await store.listBakes();
    const lineage = new Map<string, LineageRow[]>();
    for (const group of groups) lineage.set(group.name, await store.listImages(group.name));
    const images = endpoint.images().filter((image) => image.imageId !== BASE_IMAGE && image.ownerId === endpoint.accountId);
    const checks = runChecks({
      groups,
      bakes,
      lineage,
      instances: endpoint.instances(),
      images,
      sent: [...agent.sent.values()],
      sawWaiting: agent.sawWaiting,
    });
    const outcomes: Partial<Record<BakeOutcome | 'not_done', number>> = {};
    for (const bake of bakes) {
      const key = bake.outcome ?? 'not_done';
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
    const counts = endpoint.counts.all();
    const throttled = Object.values(counts).reduce((sum, each) => sum + (each.errors.RequestLimitExceeded ?? 0), 0);
    const calls = Object.values(counts).reduce((sum, each) => sum + each.total, 0);
    const passed = settled && broke === null && checks.every((check) => check.passed);
    return {
      seed: plan.seed,
      plan,
      kills: tally.kills,
      mariadbRestarts: tally.mariadbRestarts,
      outcomes,
      bakes: bakes.length,
      calls,
      throttled,
      failedImages: images.filter((image) => image.state === 'failed').length,
      failedStarts: fleet.failedStarts,
      checks,
      passed,
      broke,
      ms: Date.now() - started,
      log: lines,
    };
  } finally {
    await fleet?.close();
    await store?.close();
    await endpoint.stop();
    await mariadb.destroy();
  }
}

/** The lines a failure prints: the seed to reproduce it first, then what each failed check found. */
export function failureReport(result: ChaosResult): string {
  const failed = result.checks.filter((check) => !check.passed);
  return [
    `CHAOS_SEED=${result.seed} to reproduce`,
    ...failed.flatMap((check) => [`check ${check.name} failed:`, ...check.problems.slice(0, 20).map((problem) => `  ${problem}`)]),
    ...(result.broke !== null ? [`the harness broke: ${result.broke}`] : []),
    ...(result.checks.every((check) => check.passed) && result.broke === null && !result.passed ? ['the run did not settle in time'] : []),
  ].join('\n');
}
