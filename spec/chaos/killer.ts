/**
 * Plays the plan's process faults: each kill at its moment (or as soon after as its target
 * is up again), the restart after the planned pause, and the one MariaDB restart. Kills
 * of one sidecar never wait for the other's restart, so both may be down at once.
 */
import { restartPrivateMariadb, type PrivateMariadb } from '../support/mariadb-private.ts';
import type { Fleet } from './fleet.ts';
import type { ChaosPlan } from './plan.ts';

export interface KillerTally {
  kills: number;
  mariadbRestarts: number;
}

const sleepUntil = (startedAt: number, atMs: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt + atMs - Date.now())));

/** Resolves once every planned fault has been played and every sidecar is up again. */
export async function playFaults(plan: ChaosPlan, fleet: Fleet, mariadb: PrivateMariadb, startedAt: number, tally: KillerTally, log: (line: string) => void): Promise<void> {
  const restarts: Promise<void>[] = [];
  // Per target, so a kill waits only for its own target's restart.
  const pending = new Map<number, Promise<void>>();

  const outage = (async () => {
    await sleepUntil(startedAt, plan.mariadbRestart.atMs);
    log(`MariaDB restart (down ${plan.mariadbRestart.downMs} ms)`);
    await restartPrivateMariadb(mariadb, plan.mariadbRestart.downMs);
    tally.mariadbRestarts += 1;
    log('MariaDB back');
  })();

  for (const kill of plan.kills) {
    await sleepUntil(startedAt, kill.atMs);
    const before = pending.get(kill.target);
    const done = (async () => {
      await before;
      await fleet.kill(kill.target);
      tally.kills += 1;
      log(`SIGKILL sidecar #${kill.target} (kill ${tally.kills})`);
      await new Promise((resolve) => setTimeout(resolve, kill.restartAfterMs));
      await fleet.start(kill.target);
    })();
    pending.set(kill.target, done);
    restarts.push(done);
  }
  await Promise.all([outage, ...restarts]);
}
