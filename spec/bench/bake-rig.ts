/**
 * Real bakes for the bake benchmarks: the built `autoami serve` on MySQL against the EC2
 * endpoint with fixed delays, groups in user-data mode (no SSH, no CA), and a scripted
 * agent that sends a changed run's report the moment a bake is in `awaiting_report`.
 */
import { MysqlStore } from '../../runtime/store/mysql-store.ts';
import type { Bake } from '../../runtime/store/store.ts';
import { reportFor } from '../support/bake-harness.ts';
import { startEc2Endpoint, type Ec2Endpoint, type Ec2EndpointOptions } from '../support/ec2-endpoint.ts';
import { seedGroup } from '../support/group-params.ts';
import { startMariadb } from '../support/mariadb.ts';
import { session, type RawClient } from '../support/rpc.ts';
import { spawnSidecar, type SidecarProcess } from '../support/sidecar-process.ts';
import { writeConfig } from '../support/sidecar.ts';
import { builtSidecar, serviceNodeFlags } from './built-sidecar.ts';

export const BASE_IMAGE = 'ami-0abc1234';

export interface BakeRig {
  readonly endpoint: Ec2Endpoint;
  readonly store: MysqlStore;
  readonly sidecar: SidecarProcess;
  readonly client: RawClient;
  readonly socket: string;
  /** The sidecar's config, for a new sidecar on the same database and socket after a kill. */
  readonly configFile: string;
  stop(): Promise<void>;
}

export interface RunOutcome {
  /** From just before `bake.run` to the last bake's finished_at. */
  readonly wallMs: number;
  readonly bakes: Bake[];
  /** Per bake: from entering awaiting_report (its updated_at) to the report being recorded. */
  readonly agentMs: number[];
}

/** The most groups one bake.run may name (the interface's list limit). */
const MAX_NAMED_GROUPS = 256;

let callSeq = 0;
const CALL_TIMEOUT_MS = 60_000;

/** Like RawClient.call, with a timeout for a sidecar busy with 100 bakes; one call per client at a time. */
async function call(client: RawClient, method: string, params: unknown): Promise<any> {
  const id = `bench-${++callSeq}`;
  client.send(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
  for (;;) {
    const reply = await client.next(CALL_TIMEOUT_MS);
    if (reply.id !== id || reply.method !== undefined) continue;
    if (!reply.result) throw new Error(`${method}: ${JSON.stringify(reply.error)}`);
    return reply.result;
  }
}

/** `bake`: the config's bake section, set as the operator of such a run would; `puppet`: its puppet section. */
export async function startBakeRig(endpointOptions: Ec2EndpointOptions, bake: Record<string, unknown>, puppet: Record<string, unknown> = {}): Promise<BakeRig> {
  const endpoint = await startEc2Endpoint({ images: [BASE_IMAGE], ...endpointOptions });
  const db = await (await startMariadb()).createDatabase();
  const store = new MysqlStore(db);
  await store.open();
  const { file, socket } = writeConfig(db, { aws: { region: 'us-east-1', endpoint: endpoint.url }, puppet: { classifier: 'none', ...puppet }, bake });
  const sidecar = await spawnSidecar(file, socket, 30_000, builtSidecar(), serviceNodeFlags());
  const client = await session(socket);
  return {
    endpoint,
    store,
    sidecar,
    client,
    socket,
    configFile: file,
    async stop() {
      client.close();
      await sidecar.stop();
      await store.close();
      await endpoint.stop();
    },
  };
}

/**
 * A `status` call, as any sidecar that has been up a while has made some EC2 call: the
 * first one loads the AWS SDK (deferred from start-up) and opens the connection.
 */
export async function warmUp(rig: BakeRig): Promise<void> {
  await call(rig.client, 'status', {});
}

/**
 * `params`: more group.create parameters for every group (delivery settings such as copy_to).
 * `connections`: how many group.create calls are in flight at once, each on a connection of
 * its own, for a run of a thousand groups; they go through the sidecar's API all the same.
 */
export async function defineGroups(rig: BakeRig, names: readonly string[], params: Record<string, unknown> = {}, connections = 1): Promise<void> {
  const define = (client: RawClient, name: string) => call(client, 'group.create', seedGroup({ name, image: BASE_IMAGE, bootstrap: 'userdata', ...params }));
  if (connections <= 1) {
    for (const name of names) await define(rig.client, name);
    return;
  }
  let next = 0;
  const lane = async () => {
    const client = await session(rig.socket);
    try {
      while (next < names.length) await define(client, names[next++]!);
    } finally {
      client.close();
    }
  };
  await Promise.all(Array.from({ length: connections }, lane));
}

/** What the scripted agent reports for a bake: a changed run unless told otherwise. */
export type ReportScript = (bake: Bake) => Record<string, unknown>;
const changedRun: ReportScript = (bake) => ({ ...reportFor(bake.certname!) });

/** The scripted agent's report, on its own connection as the report processor sends it. */
async function agentReport(socket: string, report: Record<string, unknown>): Promise<void> {
  const certname = report.host as string;
  const client = await session(socket);
  try {
    const result = await call(client, 'report.submit', report);
    if (result.state !== 'recorded') throw new Error(`report for ${certname}: ${JSON.stringify(result)}`);
  } finally {
    client.close();
  }
}

/**
 * One `bake.run` of `groups`, played to the end by the scripted agent, which looks at the run's
 * bakes every `watchMs`. `watch` sees each of those looks, for a bench that times the states.
 * Without one, a look lists only the bakes not yet done, fewer as the run goes: reading every
 * row of a thousand-group run twenty times a second would take the machine from the sidecar.
 */
export async function runBakes(
  rig: BakeRig,
  groups: readonly string[],
  watchMs: number,
  timeoutMs: number,
  watch?: (bakes: readonly Bake[], at: number) => void,
  script: ReportScript = changedRun,
): Promise<RunOutcome> {
  rig.endpoint.counts.reset();
  const started = Date.now();
  // bake.run names at most 256 groups; a larger run names none, which is every group the
  // rig defined, as the operator of such a run would.
  const run = await call(rig.client, 'bake.run', { groups: groups.length > MAX_NAMED_GROUPS ? [] : groups });
  const runId = run.run_id as string;
  const reported = new Map<string, Promise<number>>();
  const deadline = started + timeoutMs;
  let bakes: Bake[] = [];
  for (;;) {
    bakes = await rig.store.listBakes(watch ? { run_id: runId } : { run_id: runId, active: true });
    watch?.(bakes, Date.now());
    for (const bake of bakes) {
      if (bake.state !== 'awaiting_report' || reported.has(bake.id)) continue;
      const entered = bake.updated_at;
      reported.set(bake.id, agentReport(rig.socket, script(bake)).then(() => Date.now() - entered));
    }
    if (bakes.every((bake) => bake.state === 'done')) {
      if (!watch) bakes = await rig.store.listBakes({ run_id: runId });
      if (bakes.length === groups.length && bakes.every((bake) => bake.state === 'done')) break;
    }
    if (Date.now() > deadline) throw new Error(`the run did not finish within ${timeoutMs} ms: ${bakes.filter((b) => b.state !== 'done').length} bakes left`);
    await new Promise((resolve) => setTimeout(resolve, watchMs));
  }
  const finished = Math.max(...bakes.map((bake) => bake.finished_at!));
  return { wallMs: finished - started, bakes, agentMs: await Promise.all(reported.values()) };
}
