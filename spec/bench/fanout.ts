/**
 * fanout_<N>_*: one `bake.run` of N groups (100, and 1,000) while the EC2 endpoint throttles
 * as AWS does, per action, with token buckets: RunInstances (bucket 5, refill 2/s, as issue
 * 7 sets it), the other calls by the bucket of their category in AWS's "Request throttling
 * for the Amazon EC2 API" (Describe*: 100, 20/s; mutating actions: 50, 5/s).
 *   floor = (N − 5) / 2 s for the launches the bucket lets through, then one bake after
 *           its launch (boot + agent + image + terminate): no sidecar can finish sooner.
 *   ratio = wall / floor;  calls per bake = every EC2 request the endpoint saw (throttled
 *           ones too) / N;  throttle errors = bakes that ended on a throttling error;
 *   rss   = the sidecar's peak resident set (VmHWM) at the end of the run (1,000 only).
 */
import { median, round } from './stats.ts';
import type { BenchResult, Figure } from './table.ts';
import { defineGroups, runBakes, startBakeRig, warmUp } from './bake-rig.ts';
import { POLL_MS } from './bake-overhead.ts';
import { peakRssMb } from './submit.ts';

export const RUN_INSTANCES_BUCKET = { size: 5, refillPerSecond: 2 };
const DESCRIBE_BUCKET = { size: 100, refillPerSecond: 20 };
const MUTATING_BUCKET = { size: 50, refillPerSecond: 5 };
const DESCRIBE_ACTIONS = ['DescribeInstances', 'DescribeImages', 'DescribeRegions', 'DescribeSnapshots'];
const MUTATING_ACTIONS = [
  'CreateImage', 'TerminateInstances', 'DeregisterImage', 'DeleteSnapshot', 'CreateTags',
  'EnableImageDeregistrationProtection', 'DisableImageDeregistrationProtection',
];
const BOOT_MS = 2_000 + POLL_MS / 2;
const IMAGE_MS = 4_000 + POLL_MS / 2;
const TERMINATE_MS = 1_000 + POLL_MS / 2;
const THROTTLING = /RequestLimitExceeded|throttl/i;
/**
 * Bakes one sidecar drives at once. Launches go at 2 a second and a bake lasts ~9 s after
 * its own, so ~20 are past launching at any moment: 100 keeps the launch queue full with
 * room to spare, and the rest of a 1,000-group run waits in `queued`, which costs a row
 * rather than a driver (and `launching`'s 10-minute deadline is never near).
 */
const MAX_CONCURRENCY = 100;
/** group.create calls in flight while a 1,000-group run is defined, over as many connections. */
const DEFINING_CONNECTIONS = 4;

export interface FanoutOptions {
  readonly progress: (line: string) => void;
  /** 100 or 1000: the figures' keys carry it. */
  readonly groups: number;
}

export async function fanoutBench({ progress, groups }: FanoutOptions): Promise<BenchResult> {
  const concurrency = Math.min(groups, MAX_CONCURRENCY);
  const rig = await startBakeRig({ bootMs: BOOT_MS, imageMs: IMAGE_MS, terminateMs: TERMINATE_MS }, { poll_interval: `${POLL_MS}ms`, concurrency });
  const key = (name: string) => `fanout_${groups}_${name}`;
  try {
    const names = Array.from({ length: groups }, (_, index) => `fan${String(index).padStart(4, '0')}`);
    progress(`fanout: defining ${groups} groups`);
    const defining = Date.now();
    await defineGroups(rig, names, {}, DEFINING_CONNECTIONS);
    const definedMs = Date.now() - defining;
    await warmUp(rig);
    // Buckets start full, just before the run, as an account that was quiet.
    rig.endpoint.faults.set('RunInstances', { bucket: RUN_INSTANCES_BUCKET });
    for (const action of DESCRIBE_ACTIONS) rig.endpoint.faults.set(action, { bucket: DESCRIBE_BUCKET });
    for (const action of MUTATING_ACTIONS) rig.endpoint.faults.set(action, { bucket: MUTATING_BUCKET });
    const launchesMs = ((groups - RUN_INSTANCES_BUCKET.size) / RUN_INSTANCES_BUCKET.refillPerSecond) * 1000;
    progress(`fanout: baking ${groups} groups (the floor is about ${Math.round(launchesMs / 1000) + 9} s)`);
    // A 1,000-group run looks at its bakes less often: each look lists hundreds of rows.
    const watchMs = groups > 100 ? 200 : 50;
    const { wallMs, bakes, agentMs } = await runBakes(rig, names, watchMs, launchesMs + 10 * 60_000);
    const rssMb = peakRssMb(rig.sidecar.child.pid!);
    const agent = median(agentMs);
    const floorMs = launchesMs + BOOT_MS + agent + IMAGE_MS + TERMINATE_MS;
    const counts = rig.endpoint.counts.all();
    const requests = Object.values(counts).reduce((sum, action) => sum + action.total, 0);
    const throttledBakes = bakes.filter((bake) => bake.outcome !== 'baked' && THROTTLING.test(bake.reason ?? ''));
    const notBaked = bakes.filter((bake) => bake.outcome !== 'baked');
    const figures: Figure[] = [
      { key: key('ratio'), value: round(wallMs / floorMs, 3), unit: '', target: { op: '<=', limit: groups > 100 ? 1.05 : 1.1 } },
      { key: key('calls_per_bake'), value: round(requests / groups, 2), unit: 'calls', target: { op: '<=', limit: 5 } },
      { key: key('throttle_errors'), value: throttledBakes.length, unit: 'bakes', target: { op: '==', limit: 0 } },
    ];
    if (groups > 100) figures.push({ key: key('rss_mb'), value: round(rssMb, 1), unit: 'MiB', target: { op: '<=', limit: 150 } });
    return {
      title: `Fan-out: ${groups} groups in one run under AWS-like throttling`,
      figures,
      details: [
        ['wall', `${round(wallMs / 1000, 2)} s`],
        [`floor: (${groups} − 5) / 2 s + boot + agent + image + terminate`, `${launchesMs} + ${BOOT_MS} + ${Math.round(agent)} + ${IMAGE_MS} + ${TERMINATE_MS} ms`],
        ['bakes not baked', notBaked.length ? notBaked.slice(0, 10).map((bake) => `${bake.group_name}: ${bake.outcome} (${bake.reason})`).join('; ') + (notBaked.length > 10 ? `; and ${notBaked.length - 10} more` : '') : 'none'],
        ...Object.entries(counts).map(([action, c]): [string, string] => [`${action} requests`, `${c.total}${c.total > c.ok ? ` (${JSON.stringify(c.errors)})` : ''}`]),
        ['sidecar peak RSS (VmHWM)', `${round(rssMb, 1)} MiB`],
        ['groups defined in', `${definedMs} ms over ${DEFINING_CONNECTIONS} connections`],
        ['bake.poll_interval, bake.concurrency', `${POLL_MS} ms, ${concurrency}`],
      ],
    };
  } finally {
    await rig.stop();
  }
}
