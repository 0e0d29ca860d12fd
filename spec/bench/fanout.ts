/**
 * fanout_100_*: one `bake.run` of 100 groups while the EC2 endpoint throttles as AWS does,
 * per action, with token buckets: RunInstances (bucket 5, refill 2/s, as issue 7 sets it),
 * the other calls by the bucket of their category in AWS's "Request throttling for the
 * Amazon EC2 API" (Describe*: 100, 20/s; mutating actions: 50, 5/s).
 *   floor = (100 − 5) / 2 s for the launches the bucket lets through, then one bake after
 *           its launch (boot + agent + image + terminate): no sidecar can finish sooner.
 *   ratio = wall / floor;  calls per bake = every EC2 request the endpoint saw (throttled
 *           ones too) / 100;  throttle errors = bakes that ended on a throttling error.
 */
import { median, round } from './stats.ts';
import type { BenchResult } from './table.ts';
import { defineGroups, runBakes, startBakeRig, warmUp } from './bake-rig.ts';
import { POLL_MS } from './bake-overhead.ts';

const GROUPS = 100;
export const RUN_INSTANCES_BUCKET = { size: 5, refillPerSecond: 2 };
const DESCRIBE_BUCKET = { size: 100, refillPerSecond: 20 };
const MUTATING_BUCKET = { size: 50, refillPerSecond: 5 };
const DESCRIBE_ACTIONS = ['DescribeInstances', 'DescribeImages', 'DescribeRegions', 'DescribeSnapshots'];
const MUTATING_ACTIONS = ['CreateImage', 'TerminateInstances', 'DeregisterImage', 'DeleteSnapshot', 'CreateTags'];
const BOOT_MS = 2_000 + POLL_MS / 2;
const IMAGE_MS = 4_000 + POLL_MS / 2;
const TERMINATE_MS = 1_000 + POLL_MS / 2;
const THROTTLING = /RequestLimitExceeded|throttl/i;

export async function fanoutBench({ progress }: { progress: (line: string) => void }): Promise<BenchResult> {
  // Every group may bake at once: the operator of a 100-group run sets bake.concurrency so.
  const rig = await startBakeRig({ bootMs: BOOT_MS, imageMs: IMAGE_MS, terminateMs: TERMINATE_MS }, { poll_interval: `${POLL_MS}ms`, concurrency: GROUPS });
  try {
    const names = Array.from({ length: GROUPS }, (_, index) => `fan${String(index).padStart(3, '0')}`);
    progress(`fanout: defining ${GROUPS} groups`);
    await defineGroups(rig, names);
    await warmUp(rig);
    // Buckets start full, just before the run, as an account that was quiet.
    rig.endpoint.faults.set('RunInstances', { bucket: RUN_INSTANCES_BUCKET });
    for (const action of DESCRIBE_ACTIONS) rig.endpoint.faults.set(action, { bucket: DESCRIBE_BUCKET });
    for (const action of MUTATING_ACTIONS) rig.endpoint.faults.set(action, { bucket: MUTATING_BUCKET });
    progress(`fanout: baking ${GROUPS} groups (about a minute)`);
    const { wallMs, bakes, agentMs } = await runBakes(rig, names, 50, 5 * 60_000);
    const agent = median(agentMs);
    const launchesMs = ((GROUPS - RUN_INSTANCES_BUCKET.size) / RUN_INSTANCES_BUCKET.refillPerSecond) * 1000;
    const floorMs = launchesMs + BOOT_MS + agent + IMAGE_MS + TERMINATE_MS;
    const counts = rig.endpoint.counts.all();
    const requests = Object.values(counts).reduce((sum, action) => sum + action.total, 0);
    const throttledBakes = bakes.filter((bake) => bake.outcome !== 'baked' && THROTTLING.test(bake.reason ?? ''));
    const notBaked = bakes.filter((bake) => bake.outcome !== 'baked');
    return {
      title: `Fan-out: ${GROUPS} groups in one run under AWS-like throttling`,
      figures: [
        { key: 'fanout_100_ratio', value: round(wallMs / floorMs, 3), unit: '', target: { op: '<=', limit: 1.1 } },
        { key: 'fanout_100_calls_per_bake', value: round(requests / GROUPS, 2), unit: 'calls', target: { op: '<=', limit: 8 } },
        { key: 'fanout_100_throttle_errors', value: throttledBakes.length, unit: 'bakes', target: { op: '==', limit: 0 } },
      ],
      details: [
        ['wall', `${round(wallMs / 1000, 2)} s`],
        ['floor: (100 − 5) / 2 s + boot + agent + image + terminate', `${launchesMs} + ${BOOT_MS} + ${Math.round(agent)} + ${IMAGE_MS} + ${TERMINATE_MS} ms`],
        ['bakes not baked', notBaked.length ? notBaked.map((bake) => `${bake.group_name}: ${bake.outcome} (${bake.reason})`).join('; ') : 'none'],
        ...Object.entries(counts).map(([action, c]): [string, string] => [`${action} requests`, `${c.total}${c.total > c.ok ? ` (${JSON.stringify(c.errors)})` : ''}`]),
        ['bake.poll_interval, bake.concurrency', `${POLL_MS} ms, ${GROUPS}`],
      ],
    };
  } finally {
    await rig.stop();
  }
}
