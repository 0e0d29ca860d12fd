/**
 * Side by side with Packer: one AutoAMI bake and one Packer 1.6.6 amazon-ebs build from the
 * same base image, on the same EC2 endpoint delays as bake-overhead (plus a stop delay, which
 * only Packer pays: it stops the instance before imaging).
 *   Packer floor   = boot + stop + image + terminate (it waits for the terminate before it
 *                    deletes its security group).
 *   Packer wall    = `packer build` start to exit, its own start-up included.
 *   AutoAMI        = wall − floor as bake_overhead_s defines it, on a group with one bake of
 *                    history, so history-informed polling is in play.
 * Packer runs at its default poll (15 s) and at AWS_POLL_DELAY_SECONDS=1, each on a fresh
 * endpoint. Last, each is SIGKILLed while its image is pending, and what the account still
 * holds is listed; AutoAMI's sidecar is then restarted on the same database.
 */
import { until } from '../support/crash-rig.ts';
import { startEc2Endpoint, type Ec2Endpoint } from '../support/ec2-endpoint.ts';
import { spawnSidecar, type SidecarProcess } from '../support/sidecar-process.ts';
import { tempDir } from '../support/tmp.ts';
import { BOOT_MS, IMAGE_MS, POLL_MS, TERMINATE_MS } from './bake-overhead.ts';
import { BASE_IMAGE, defineGroups, runBakes, startBakeRig, warmUp } from './bake-rig.ts';
import { builtSidecar, serviceNodeFlags } from './built-sidecar.ts';
import { startPacker } from './packer-process.ts';
import { PACKER_TAG, writePackerTemplate } from './packer-template.ts';
import { median, round } from './stats.ts';
import type { BenchResult } from './table.ts';

// bake-overhead's delays sit half an AutoAMI poll off its grid; Packer's 1 s grid sees them 0.25 s late too.
/** Packer's stop: as long as the terminate, and as far off every grid in play (0.5 s, 1 s, 15 s). */
const STOP_MS = 4_000 + POLL_MS / 2;
const TIMING = { bootMs: BOOT_MS, imageMs: IMAGE_MS, stopMs: STOP_MS, terminateMs: TERMINATE_MS };
const PACKER_FLOOR_MS = BOOT_MS + STOP_MS + IMAGE_MS + TERMINATE_MS;
const BAKE_TIMEOUT_MS = 5 * 60_000;

type Progress = (line: string) => void;
type Counts = Record<string, number>;

const countsOf = (endpoint: Ec2Endpoint): Counts =>
  Object.fromEntries(Object.entries(endpoint.counts.all()).map(([action, c]) => [action, c.total]));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const tail = (text: string) => text.split('\n').slice(-25).join('\n');

interface AutoamiSide {
  wallMs: number;
  floorMs: number;
  agentMs: number;
  calls: Counts;
}

async function autoamiBake(progress: Progress): Promise<AutoamiSide> {
  const rig = await startBakeRig(TIMING, { poll_interval: `${POLL_MS}ms` });
  try {
    await defineGroups(rig, ['side-by-side']);
    await warmUp(rig);
    progress('packer: AutoAMI, a first bake for the group history');
    const first = await runBakes(rig, ['side-by-side'], 5, BAKE_TIMEOUT_MS);
    if (first.bakes[0]?.outcome !== 'baked') throw new Error(`AutoAMI's first bake ended ${first.bakes[0]?.outcome}: ${first.bakes[0]?.reason}`);
    progress('packer: AutoAMI, the measured bake');
    const { wallMs, bakes, agentMs } = await runBakes(rig, ['side-by-side'], 5, BAKE_TIMEOUT_MS);
    if (bakes[0]?.outcome !== 'baked') throw new Error(`AutoAMI's bake ended ${bakes[0]?.outcome}: ${bakes[0]?.reason}`);
    const agent = median(agentMs);
    return { wallMs, agentMs: agent, floorMs: BOOT_MS + agent + IMAGE_MS + TERMINATE_MS, calls: countsOf(rig.endpoint) };
  } finally {
    await rig.stop();
  }
}

interface PackerSide {
  wallMs: number;
  /** From `packer build` to its first EC2 request. */
  startupMs: number;
  calls: Counts;
}

/** What Packer must leave: its image available under the template's name and tag, and nothing else of its own. */
function checkPackerBuild(endpoint: Ec2Endpoint, amiName: string): void {
  const own = endpoint.images().filter((i) => i.ownerId === endpoint.accountId);
  const image = own.find((i) => i.name === amiName);
  const problems = [
    own.length !== 1 && `${own.length} images of its own, not 1`,
    image?.state !== 'available' && `image ${amiName} is ${image?.state ?? 'missing'}`,
    image?.tags.get(PACKER_TAG.key) !== PACKER_TAG.value && `image ${amiName} lacks the tag ${PACKER_TAG.key}=${PACKER_TAG.value}`,
    endpoint.instances().length !== 1 && `${endpoint.instances().length} instances launched, not 1`,
    endpoint.instances().some((i) => i.state !== 'terminated') && 'its instance is not terminated',
    endpoint.keyPairs().length > 0 && `key pairs left: ${endpoint.keyPairs().map((k) => k.keyName).join(', ')}`,
    endpoint.securityGroups().length > 1 && `security groups left: ${endpoint.securityGroups().map((g) => g.groupName).join(', ')}`,
  ].filter(Boolean);
  if (problems.length) throw new Error(`the Packer build did not end as its template says: ${problems.join('; ')}`);
}

async function packerBake(progress: Progress, label: string, pollSeconds?: number): Promise<PackerSide> {
  const endpoint = await startEc2Endpoint({ images: [BASE_IMAGE], ...TIMING });
  try {
    const dir = tempDir('packer');
    const amiName = `packer-bench-${label}`;
    progress(`packer: Packer, one build at ${pollSeconds === undefined ? 'its default poll' : `AWS_POLL_DELAY_SECONDS=${pollSeconds}`}`);
    const started = performance.now();
    const build = startPacker({ template: writePackerTemplate(dir, BASE_IMAGE), dir, endpoint: endpoint.url, amiName, ...(pollSeconds !== undefined && { pollSeconds }) });
    let startupMs = Number.NaN;
    const watch = setInterval(() => {
      if (Number.isNaN(startupMs) && endpoint.counts.total() > 0) startupMs = performance.now() - started;
    }, 5);
    const { code, output } = await build.exited.finally(() => clearInterval(watch));
    const wallMs = performance.now() - started;
    if (code !== 0) throw new Error(`packer build (${label}) exited with ${code}:\n${tail(output)}`);
    checkPackerBuild(endpoint, amiName);
    return { wallMs, startupMs, calls: countsOf(endpoint) };
  } finally {
    await endpoint.stop();
  }
}

/** What the account holds of the build: live instances, own images, key pairs, groups other than `default`. */
function holdings(endpoint: Ec2Endpoint): string {
  const instances = endpoint.instances().filter((i) => i.state !== 'terminated').map((i) => `${i.instanceId} ${i.state}`);
  const images = endpoint
    .images()
    .filter((i) => i.ownerId === endpoint.accountId)
    .map((i) => `${i.imageId} ${i.state} tags ${JSON.stringify(Object.fromEntries(i.tags))}`);
  const keys = endpoint.keyPairs().map((k) => k.keyName);
  const groups = endpoint
    .securityGroups()
    .filter((g) => g.groupName !== 'default')
    .map((g) => `${g.groupName} (${g.ingress.map((r) => `${r.ipProtocol} ${r.fromPort}-${r.toPort} from ${r.cidrIp}`).join(', ')})`);
  const list = (items: string[]) => (items.length ? items.join('; ') : 'none');
  return `instances: ${list(instances)} | images: ${list(images)} | key pairs: ${list(keys)} | security groups: ${list(groups)}`;
}

const imagePending = (endpoint: Ec2Endpoint) => endpoint.images().some((i) => i.ownerId === endpoint.accountId && i.state === 'pending');

/** Packer killed while its image is pending: nothing of it runs to clean up afterwards. */
async function packerAfterKill(progress: Progress): Promise<[string, string][]> {
  const endpoint = await startEc2Endpoint({ images: [BASE_IMAGE], ...TIMING });
  try {
    const dir = tempDir('packer');
    progress('packer: SIGKILL to Packer while its image is pending');
    const build = startPacker({ template: writePackerTemplate(dir, BASE_IMAGE), dir, endpoint: endpoint.url, amiName: 'packer-bench-killed', pollSeconds: 1 });
    await Promise.race([until('a pending Packer image', async () => imagePending(endpoint), BAKE_TIMEOUT_MS), build.exited.then(() => Promise.reject(new Error('packer exited before its image was pending')))]);
    build.kill();
    await build.exited;
    const atKill = endpoint.counts.total();
    // Long enough for the image to settle: what stays is what the account keeps paying for.
    await sleep(IMAGE_MS);
    return [
      [`Packer, SIGKILLed with its image pending: left ${IMAGE_MS / 1000} s later`, holdings(endpoint)],
      ['Packer: EC2 requests after the kill', String(endpoint.counts.total() - atKill)],
    ];
  } finally {
    await endpoint.stop();
  }
}

/** The sidecar killed while the image is pending, then a new one on the same database. */
async function autoamiAfterKill(progress: Progress): Promise<[string, string][]> {
  // A short lease, so the new sidecar takes the bake over at once.
  const rig = await startBakeRig(TIMING, { poll_interval: `${POLL_MS}ms`, lease: '1s' });
  let sidecar: SidecarProcess = rig.sidecar;
  try {
    await defineGroups(rig, ['killed']);
    progress('packer: SIGKILL to the AutoAMI sidecar while its image is pending, then a new sidecar');
    let atKill = '';
    let restarted: Promise<SidecarProcess> | undefined;
    const { bakes } = await runBakes(rig, ['killed'], 20, BAKE_TIMEOUT_MS, () => {
      if (restarted || !imagePending(rig.endpoint)) return;
      const exited = new Promise((resolve) => rig.sidecar.child.once('exit', resolve));
      rig.sidecar.child.kill('SIGKILL');
      atKill = holdings(rig.endpoint);
      restarted = exited
        .then(() => spawnSidecar(rig.configFile, rig.socket, 30_000, builtSidecar(), serviceNodeFlags()))
        .then((next) => (sidecar = next));
    });
    if (!restarted) throw new Error('the bake finished before its image was seen pending');
    await restarted;
    const bake = bakes[0]!;
    if (bake.outcome !== 'baked') throw new Error(`the resumed bake ended ${bake.outcome}: ${bake.reason}`);
    return [
      ['AutoAMI, sidecar SIGKILLed with its image pending: left at once', atKill],
      ['AutoAMI, after a new sidecar on the same database resumed', `bake ${bake.id} ${bake.outcome} ${bake.image_id} | ${holdings(rig.endpoint)}`],
    ];
  } finally {
    if (sidecar !== rig.sidecar) await sidecar.stop();
    await rig.stop();
  }
}

const total = (counts: Counts) => Object.values(counts).reduce((sum, n) => sum + n, 0);
const seconds = (ms: number) => `${round(ms / 1000, 3)} s`;

export async function packerBench({ progress }: { progress: Progress }): Promise<BenchResult> {
  const autoami = await autoamiBake(progress);
  const packer = await packerBake(progress, 'default');
  const packer1s = await packerBake(progress, 'poll-1s', 1);
  const killed = [...(await packerAfterKill(progress)), ...(await autoamiAfterKill(progress))];

  const autoamiOverheadS = (autoami.wallMs - autoami.floorMs) / 1000;
  const packerOverheadS = (packer.wallMs - PACKER_FLOOR_MS) / 1000;
  const packer1sOverheadS = (packer1s.wallMs - PACKER_FLOOR_MS) / 1000;
  return {
    title: 'One image, AutoAMI and Packer 1.6.6 side by side: wall time over the EC2 floor',
    figures: [
      { key: 'packer_overhead_s', value: round(packerOverheadS, 3), unit: 's', target: null },
      { key: 'packer_1s_overhead_s', value: round(packer1sOverheadS, 3), unit: 's', target: null },
      { key: 'packer_calls_per_ami', value: total(packer.calls), unit: 'calls', target: null },
      { key: 'autoami_vs_packer_overhead_ratio', value: round(autoamiOverheadS / packerOverheadS, 4), unit: 'ratio', target: { op: '<=', limit: 0.05 } },
      { key: 'autoami_vs_packer_1s_overhead_ratio', value: round(autoamiOverheadS / packer1sOverheadS, 4), unit: 'ratio', target: { op: '<=', limit: 0.5 } },
    ],
    details: [
      ['delays: boot, stop (Packer only), image, terminate', `${BOOT_MS}, ${STOP_MS}, ${IMAGE_MS}, ${TERMINATE_MS} ms`],
      ['AutoAMI: wall, floor (boot + agent + image + terminate)', `${seconds(autoami.wallMs)}, ${seconds(autoami.floorMs)} (agent ${Math.round(autoami.agentMs)} ms)`],
      ['AutoAMI: overhead (bake.poll_interval 500 ms, one bake of history)', seconds(autoami.wallMs - autoami.floorMs)],
      ['AutoAMI: EC2 requests', `${total(autoami.calls)} ${JSON.stringify(autoami.calls)}`],
      ['Packer floor: boot + stop + image + terminate', seconds(PACKER_FLOOR_MS)],
      ['Packer default poll: wall, start-up before its first EC2 call', `${seconds(packer.wallMs)}, ${seconds(packer.startupMs)}`],
      ['Packer default poll: EC2 requests', JSON.stringify(packer.calls)],
      ['Packer 1 s poll: wall, start-up before its first EC2 call', `${seconds(packer1s.wallMs)}, ${seconds(packer1s.startupMs)}`],
      ['Packer 1 s poll: EC2 requests', `${total(packer1s.calls)} ${JSON.stringify(packer1s.calls)}`],
      ...killed,
    ],
  };
}
