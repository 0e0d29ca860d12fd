/**
 * Report intake at the socket, on the MySQL backend, against `autoami serve` as a child
 * process (so its RSS is its own):
 *   submit_p50/p99_ms[_tracked]  one client, one report.submit round trip at a time
 *   ingest_per_s_[un]tracked      best sustained rate over 1, 4, 16 and 64 clients
 *   rss_mb_peak                   the sidecar's VmHWM once all of that is done
 * Untracked: a report of a node AutoAMI does not bake (web01.example.com), answered
 * `ignored` without a store round trip. Tracked: a report of a bake in awaiting_report,
 * answered `recorded` once it is on the bake row (a SELECT by certname, an UPDATE).
 */
import { readFileSync } from 'node:fs';
import { MysqlStore } from '../../runtime/store/mysql-store.ts';
import { reportFor } from '../support/bake-harness.ts';
import { startMariadb } from '../support/mariadb.ts';
import { session } from '../support/rpc.ts';
import { spawnSidecar } from '../support/sidecar-process.ts';
import { writeConfig } from '../support/sidecar.ts';
import { builtSidecar, serviceNodeFlags } from './built-sidecar.ts';
import { cpuNow, percentOf, stolenShare } from './machine.ts';
import { closedLoop, each, sequential, submit, type LoadResult } from './load.ts';
import { percentile, round } from './stats.ts';
import type { BenchResult, Figure } from './table.ts';
import { retire, trackedBakes, whilePaused } from './tracked-bakes.ts';

const UNTRACKED_HOST = 'web01.example.com';
const LEVELS = [1, 4, 16, 64] as const;
const LATENCY_SAMPLES = { untracked: 5000, tracked: 2000 };
/**
 * The figures are of a sidecar that has been serving for a while. Right after start V8 is
 * still optimising both ends: here the 5 000 calls after a warm-up of 1 000 or 5 000 had
 * two to three times as many round trips over 1 ms as later rounds at the same steal;
 * after 20 000 the first round is like every later one.
 */
const WARMUP_CALLS = 20_000;
const LEVEL_MS = 2500;
/**
 * Tracked ingest needs a fresh bake per report, but a sidecar never has thousands of bakes
 * active at once (each scan lists them all), so they are made this many at a time.
 */
const TRACKED_BATCH = 1000;

export interface SubmitOptions {
  readonly progress: (line: string) => void;
}

/** Peak resident set size of a process, MiB (Linux: VmHWM). */
export function peakRssMb(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmHWM for pid ${pid}`);
  return Number(match[1]) / 1024;
}

const trackedParams = (bake: { certname: string }) => ({ ...reportFor(bake.certname) });

const latencyFigures = (suffix: string, samples: number[], limit: number): Figure[] => [
  { key: `submit_p50_ms${suffix}`, value: round(percentile(samples, 50), 3), unit: 'ms', target: { op: '<', limit } },
  { key: `submit_p99_ms${suffix}`, value: round(percentile(samples, 99), 3), unit: 'ms', target: { op: '<', limit } },
];

const best = (results: readonly LoadResult[]) => Math.max(...results.map((result) => result.perSecond));
const levelRow = (kind: string, clients: number, result: LoadResult): [string, string] => [
  `${kind} ingest, ${clients} client${clients === 1 ? '' : 's'}`,
  `${Math.round(result.perSecond)} /s (${result.calls} calls, p99 ${round(percentile(result.latenciesMs, 99), 2)} ms)`,
];

/**
 * LEVEL_MS of submissions from `clients` clients, in rounds of TRACKED_BATCH fresh bakes;
 * only the time the clients spend submitting counts, not the making of the bakes.
 */
async function trackedIngest(store: MysqlStore, pid: number, socket: string, clients: number): Promise<LoadResult> {
  const rounds: LoadResult[] = [];
  let spent = 0;
  for (let batch = 0; spent < LEVEL_MS; batch++) {
    const bakes = await whilePaused(pid, () => trackedBakes(store, `ingest${clients}-${batch}`, TRACKED_BATCH));
    const result = await closedLoop(socket, clients, LEVEL_MS - spent, each(bakes, trackedParams), 'recorded');
    rounds.push(result);
    spent += result.elapsedMs;
    await retire(store, bakes);
  }
  const calls = rounds.reduce((sum, r) => sum + r.calls, 0);
  return { calls, elapsedMs: spent, perSecond: (calls / spent) * 1000, latenciesMs: rounds.flatMap((r) => r.latenciesMs) };
}

export async function submitBench({ progress }: SubmitOptions): Promise<BenchResult> {
  const db = await (await startMariadb()).createDatabase();
  const store = new MysqlStore(db);
  await store.open();
  const { file, socket } = writeConfig(db, { puppet: { classifier: 'none' } });
  const sidecar = await spawnSidecar(file, socket, 30_000, builtSidecar(), serviceNodeFlags());
  const details: [string, string][] = [];
  try {
    // The sidecar ignores it before reading further, so one summary serves every call.
    const untracked = { ...reportFor(UNTRACKED_HOST) };
    progress('submit: warming up');
    await sequential(socket, each(Array.from({ length: WARMUP_CALLS }), () => untracked), 'ignored');

    progress(`submit: ${LATENCY_SAMPLES.untracked} untracked round trips`);
    const beforeUntracked = cpuNow();
    const untrackedLatency = await sequential(socket, each(Array.from({ length: LATENCY_SAMPLES.untracked }), () => untracked), 'ignored');
    const untrackedSteal = stolenShare(beforeUntracked, cpuNow());

    progress(`submit: ${LATENCY_SAMPLES.tracked} tracked round trips`);
    const pid = sidecar.child.pid!;
    const trackedLatency: number[] = [];
    let trackedSteal = 0;
    for (let batch = 0; trackedLatency.length < LATENCY_SAMPLES.tracked; batch++) {
      const bakes = await whilePaused(pid, () => trackedBakes(store, `latency-${batch}`, TRACKED_BATCH));
      const before = cpuNow();
      trackedLatency.push(...(await sequential(socket, each(bakes, trackedParams), 'recorded')));
      // Weighted by samples, as the percentiles are.
      trackedSteal += stolenShare(before, cpuNow()) * bakes.length;
      await retire(store, bakes);
    }

    trackedSteal /= trackedLatency.length;
    details.push(['CPU stolen by the hypervisor during the untracked / tracked samples', `${percentOf(untrackedSteal)} / ${percentOf(trackedSteal)}`]);

    // What the report processor pays per report: its own connection, hello, submit, close.
    const perConnection: number[] = [];
    for (let i = 0; i < 500; i++) {
      const start = performance.now();
      const client = await session(socket);
      await submit(client, untracked, 'ignored');
      client.close();
      perConnection.push(performance.now() - start);
    }
    details.push(['untracked, connect + hello + submit, p50 / p99', `${round(percentile(perConnection, 50), 3)} / ${round(percentile(perConnection, 99), 3)} ms`]);

    const untrackedLevels: LoadResult[] = [];
    for (const clients of LEVELS) {
      progress(`submit: untracked ingest with ${clients} clients`);
      const result = await closedLoop(socket, clients, LEVEL_MS, () => untracked, 'ignored');
      untrackedLevels.push(result);
      details.push(levelRow('untracked', clients, result));
    }
    const trackedLevels: LoadResult[] = [];
    for (const clients of LEVELS) {
      progress(`submit: tracked ingest with ${clients} clients`);
      const result = await trackedIngest(store, pid, socket, clients);
      trackedLevels.push(result);
      details.push(levelRow('tracked', clients, result));
    }
    const rss = peakRssMb(pid);
    return {
      title: 'Report submission at the socket (MySQL backend)',
      figures: [
        ...latencyFigures('', untrackedLatency, 2),
        ...latencyFigures('_tracked', trackedLatency, 10),
        { key: 'ingest_per_s_untracked', value: Math.round(best(untrackedLevels)), unit: '/s', target: { op: '>=', limit: 20_000 } },
        { key: 'ingest_per_s_tracked', value: Math.round(best(trackedLevels)), unit: '/s', target: { op: '>=', limit: 2_000 } },
        { key: 'rss_mb_peak', value: round(rss, 1), unit: 'MiB', target: { op: '<=', limit: 100 } },
      ],
      details,
    };
  } finally {
    await sidecar.stop();
    await store.close();
  }
}
