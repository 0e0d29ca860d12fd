/**
 * bake_overhead_s, bake_floor_s, single_bake_calls: one bake, end to end, on the EC2
 * endpoint with fixed delays and a scripted agent. A first bake of the group, not measured,
 * gives it the history of its waits that the measured one polls by.
 *   calls    = EC2 requests the endpoint answered during the measured bake.
 *   floor    = what the bake cannot help waiting for: the instance booting, the agent's
 *              run (the scripted one: from awaiting_report to its report recorded), the
 *              image becoming available, the instance terminating.
 *   wall     = from `bake.run` to the bake's finished_at (done, outcome baked).
 *   overhead = wall − floor: the sidecar's own time (engine pick-up, store writes, EC2
 *              round trips) and how late its polling notices each EC2 state change.
 * The delays sit half a poll interval off the poll grid, so each of the three waits pays
 * the average detection delay, P/2, and not a lucky 0 or an unlucky P.
 */
import { median, round } from './stats.ts';
import type { BenchResult } from './table.ts';
import { defineGroups, runBakes, startBakeRig, warmUp } from './bake-rig.ts';

/** bake.poll_interval as an operator sets it for quick bakes (the default is 2 s; see BENCHMARKS.md). */
export const POLL_MS = 500;
// Exported: the Packer side by side and the delivery bench bake with the same delays.
export const BOOT_MS = 8_000 + POLL_MS / 2;
export const IMAGE_MS = 20_000 + POLL_MS / 2;
export const TERMINATE_MS = 4_000 + POLL_MS / 2;

export async function bakeOverheadBench({ progress }: { progress: (line: string) => void }): Promise<BenchResult> {
  const rig = await startBakeRig({ bootMs: BOOT_MS, imageMs: IMAGE_MS, terminateMs: TERMINATE_MS }, { poll_interval: `${POLL_MS}ms` });
  try {
    await defineGroups(rig, ['overhead']);
    await warmUp(rig);
    progress(`bake-overhead: a first bake, for the group's wait history (boot ${BOOT_MS} ms, image ${IMAGE_MS} ms, terminate ${TERMINATE_MS} ms)`);
    const first = (await runBakes(rig, ['overhead'], 5, 5 * 60_000)).bakes[0]!;
    if (first.outcome !== 'baked') throw new Error(`the first bake ended ${first.outcome}: ${first.reason}`);
    progress('bake-overhead: the measured bake');
    // runBakes starts the endpoint's counts afresh: they are the measured bake's alone.
    const { wallMs, bakes, agentMs } = await runBakes(rig, ['overhead'], 5, 5 * 60_000);
    const bake = bakes[0]!;
    if (bake.outcome !== 'baked') throw new Error(`the bake ended ${bake.outcome}: ${bake.reason}`);
    const counts = Object.entries(rig.endpoint.counts.all()).map(([action, c]) => [action, c.total] as const);
    const calls = counts.reduce((sum, [, total]) => sum + total, 0);
    const agent = median(agentMs);
    const floorMs = BOOT_MS + agent + IMAGE_MS + TERMINATE_MS;
    const overheadS = (wallMs - floorMs) / 1000;
    const floorS = floorMs / 1000;
    return {
      title: 'One bake: wall time over the EC2 floor',
      figures: [
        { key: 'bake_overhead_s', value: round(overheadS, 3), unit: 's', target: { op: '<=', limit: round(0.02 * floorS + 1, 3) } },
        { key: 'bake_floor_s', value: round(floorS, 3), unit: 's', target: null },
        { key: 'single_bake_calls', value: calls, unit: 'calls', target: { op: '<=', limit: 30 } },
      ],
      details: [
        ['wall', `${round(wallMs / 1000, 3)} s`],
        ['floor: boot + agent + image + terminate', `${BOOT_MS} + ${Math.round(agent)} + ${IMAGE_MS} + ${TERMINATE_MS} ms`],
        ['overhead target: 2 % of the floor + 1 s', `${round(0.02 * floorS + 1, 3)} s`],
        ['bake.poll_interval', `${POLL_MS} ms`],
        ['EC2 requests of the measured bake', JSON.stringify(Object.fromEntries(counts))],
      ],
    };
  } finally {
    await rig.stop();
  }
}
