/**
 * Bakes in `awaiting_report`, made through the real MySQL store, for the tracked report
 * benchmarks. They are leased by another (pretend) master, as on several masters sharing
 * one MySQL: the sidecar under test only takes their reports, records each on its bake
 * row and wakes its engine, which leaves them to their lease holder. So the figures time
 * the report path and nothing else, and no instance is needed behind them.
 */
import { randomBytes } from 'node:crypto';
import { certnameFor } from '../../runtime/bootstrap/script.ts';
import type { MysqlStore } from '../../runtime/store/mysql-store.ts';

export const OTHER_MASTER = 'bench-other-master';
const HOUR_MS = 3_600_000;

export interface TrackedBake {
  readonly id: string;
  readonly certname: string;
}

const instanceId = () => `i-${randomBytes(9).toString('hex').slice(0, 17)}`;

async function awaitingBake(store: MysqlStore, group: string, runId: string): Promise<TrackedBake> {
  const id = randomBytes(12).toString('hex');
  const now = Date.now();
  await store.createBake({ id, run_id: runId, group_name: group, region: 'us-east-1', parent_image: 'ami-0abc1234', deadline: now + HOUR_MS });
  if (!(await store.acquireLease(id, OTHER_MASTER, now + HOUR_MS, now))) throw new Error(`cannot lease fixture bake ${id}`);
  const instance = instanceId();
  const certname = certnameFor(group, instance);
  const moved = await store.transition(id, OTHER_MASTER, 'queued', { state: 'awaiting_report', instance_id: instance, certname });
  if (!moved) throw new Error(`cannot move fixture bake ${id} to awaiting_report`);
  return { id, certname };
}

/**
 * Runs `body` (the making of fixtures) while the sidecar `pid` is stopped (SIGSTOP): between
 * a fixture's INSERT and its lease, the sidecar's engine would take it as its own to launch.
 */
export async function whilePaused<T>(pid: number, body: () => Promise<T>): Promise<T> {
  process.kill(pid, 'SIGSTOP');
  try {
    return await body();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

/** `count` bakes of `group`, made `parallel` at a time. */
export async function trackedBakes(store: MysqlStore, group: string, count: number, parallel = 16): Promise<TrackedBake[]> {
  const runId = randomBytes(8).toString('hex');
  const out: TrackedBake[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      out.push(await awaitingBake(store, group, runId));
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return out;
}

/** Moves the fixtures to `done`, so they stop counting as active bakes for later figures. */
export async function retire(store: MysqlStore, bakes: readonly TrackedBake[], parallel = 16): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < bakes.length) {
      const bake = bakes[next++]!;
      await store.transition(bake.id, OTHER_MASTER, 'awaiting_report', { state: 'done', outcome: 'unchanged', reason: 'benchmark fixture' });
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, bakes.length) }, worker));
}
