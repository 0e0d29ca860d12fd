/**
 * distribute_3_regions_overhead_s, distribute_floor_s: one bake of a group delivered to three
 * more regions (copy_to), shared with one account and scheduled for deprecation, so every
 * step of `distributing` runs in every region.
 *   floor    = boot + agent + image + the slowest copy + terminate. The copies run in
 *              parallel, so only the slowest one is time the bake cannot help waiting for;
 *              sharing and deprecating are single calls with nothing to wait on.
 *   overhead = wall − floor, as bake_overhead_s: the sidecar's own time and how late its
 *              polling notices each state change. Delays sit half a poll interval off the grid,
 *              as there, so each of the four waits pays P/2 on average.
 * The EC2 stand-in has one copyMs for every region, so every copy takes the same time and
 * the slowest is that delay; a region that is slower than the others is not exercised.
 */
import type { Bake } from '../../runtime/store/store.ts';
import { TAG } from '../../runtime/tags.ts';
import { BOOT_MS, IMAGE_MS, POLL_MS, TERMINATE_MS } from './bake-overhead.ts';
import { defineGroups, runBakes, startBakeRig, warmUp } from './bake-rig.ts';
import { median, round } from './stats.ts';
import type { BenchResult } from './table.ts';

// Real cross-region copies outlast CreateImage; longer here would only lengthen the run.
const COPY_MS = 12_000 + POLL_MS / 2;

const HOME = 'us-east-1';
const COPY_TO = ['eu-west-1', 'us-west-2', 'ap-southeast-2'] as const;
const SHARE_WITH = '210987654321';
const GROUP = 'distribute';

/** When each state and each region's step was first written, by the bake row's updated_at. */
class Timeline {
  readonly states = new Map<string, number>();
  readonly steps = new Map<string, Map<string, number>>();

  see(bake: Bake): void {
    if (!this.states.has(bake.state)) this.states.set(bake.state, bake.updated_at);
    for (const [region, image] of Object.entries(bake.distribution)) {
      const seen = this.steps.get(region) ?? new Map<string, number>();
      if (!seen.has(image.step)) seen.set(image.step, bake.updated_at);
      this.steps.set(region, seen);
    }
  }

  /** How long the bake stayed in each of `states`: from its first write to the next one's. */
  spans(states: readonly string[], end: number): [string, number][] {
    const seen = states.filter((state) => this.states.has(state));
    return seen.map((state, n) => [state, (n + 1 < seen.length ? this.states.get(seen[n + 1]!)! : end) - this.states.get(state)!]);
  }
}

const STATES = ['queued', 'launching', 'booting', 'bootstrapping', 'awaiting_report', 'imaging', 'image_pending', 'distributing', 'promoted', 'cleaning', 'done'] as const;

/** Every region holds exactly one image of the bake, available, shared and with its deprecation time; else the figure means nothing. */
function checkDelivery(rig: Awaited<ReturnType<typeof startBakeRig>>, bake: Bake): void {
  for (const region of [HOME, ...COPY_TO]) {
    const images = rig.endpoint.inRegion(region).images().filter((image) => image.tags.get(TAG.bake) === bake.id);
    if (images.length !== 1) throw new Error(`${region} holds ${images.length} images of bake ${bake.id}, not 1: ${images.map((i) => i.imageId).join(', ')}`);
    const [image] = images as [(typeof images)[number]];
    if (image.state !== 'available') throw new Error(`${region}: image ${image.imageId} is ${image.state}`);
    if (!image.launchPermissions.has(SHARE_WITH)) throw new Error(`${region}: image ${image.imageId} is not shared with ${SHARE_WITH}`);
    if (image.deprecationTime === undefined) throw new Error(`${region}: image ${image.imageId} has no deprecation time`);
  }
}

export async function distributeBench({ progress }: { progress: (line: string) => void }): Promise<BenchResult> {
  const rig = await startBakeRig(
    { bootMs: BOOT_MS, imageMs: IMAGE_MS, copyMs: COPY_MS, terminateMs: TERMINATE_MS },
    { poll_interval: `${POLL_MS}ms` },
  );
  try {
    await defineGroups(rig, [GROUP], { region: HOME, copy_to: [...COPY_TO], share_with: [SHARE_WITH], deprecate_after: '90d' });
    await warmUp(rig);
    progress(`distribute: one bake to ${HOME} + ${COPY_TO.join(', ')} (boot ${BOOT_MS} ms, image ${IMAGE_MS} ms, copy ${COPY_MS} ms, terminate ${TERMINATE_MS} ms)`);
    const timeline = new Timeline();
    const { wallMs, bakes, agentMs } = await runBakes(rig, [GROUP], 5, 5 * 60_000, (seen) => seen.forEach((bake) => timeline.see(bake)));
    const bake = bakes[0]!;
    if (bake.outcome !== 'baked') throw new Error(`the bake ended ${bake.outcome}: ${bake.reason}`);
    checkDelivery(rig, bake);
    const lineage = (await rig.store.listImages(GROUP)).find((image) => image.image_id === bake.image_id);
    const copied = Object.keys(lineage?.copies ?? {}).sort();
    if (copied.join() !== [...COPY_TO].sort().join()) throw new Error(`the lineage row names copies in ${copied.join(', ') || 'no region'}, not ${COPY_TO.join(', ')}`);

    const agent = median(agentMs);
    const floorMs = BOOT_MS + agent + IMAGE_MS + COPY_MS + TERMINATE_MS;
    const floorS = floorMs / 1000;
    const overheadS = (wallMs - floorMs) / 1000;
    // Each state's own floor part, so the table shows which one the overhead sits in.
    const floorOf: Record<string, number> = { booting: BOOT_MS, awaiting_report: agent, image_pending: IMAGE_MS, distributing: COPY_MS, cleaning: TERMINATE_MS };
    const spans = timeline.spans(STATES, bake.finished_at!);
    const started = timeline.states.get('distributing');
    const regionRows: [string, string][] = [...timeline.steps].map(([region, steps]) => [
      `  ${region}`,
      [...steps].map(([step, at]) => `${step} +${started === undefined ? '?' : at - started}`).join(', ') + ' ms',
    ]);
    return {
      title: `One bake delivered to ${COPY_TO.length} more regions: wall time over the EC2 floor`,
      figures: [
        { key: 'distribute_3_regions_overhead_s', value: round(overheadS, 3), unit: 's', target: { op: '<=', limit: round(0.02 * floorS + 1, 3) } },
        { key: 'distribute_floor_s', value: round(floorS, 3), unit: 's', target: null },
      ],
      details: [
        ['wall', `${round(wallMs / 1000, 3)} s`],
        ['floor: boot + agent + image + slowest copy + terminate', `${BOOT_MS} + ${Math.round(agent)} + ${IMAGE_MS} + ${COPY_MS} + ${TERMINATE_MS} ms`],
        ['overhead target: 2 % of the floor + 1 s', `${round(0.02 * floorS + 1, 3)} s`],
        ['bake.poll_interval', `${POLL_MS} ms`],
        ['copy delay', `${COPY_MS} ms in every region (the EC2 stand-in has one copyMs for all, so the slowest copy is that)`],
        ['delivery', `${HOME} → ${COPY_TO.join(', ')}; shared with ${SHARE_WITH}; deprecate_after 90d`],
        ['time per state (floor part)', spans.map(([state, ms]) => `${state} ${ms}${floorOf[state] !== undefined ? ` (${Math.round(floorOf[state])})` : ''}`).join(', ') + ' ms'],
        ['distributing, each region step first seen after entering it', ''],
        ...regionRows,
        ['EC2 requests', JSON.stringify(Object.fromEntries(Object.entries(rig.endpoint.counts.all()).map(([action, c]) => [action, c.total])))],
      ],
    };
  } finally {
    await rig.stop();
  }
}
