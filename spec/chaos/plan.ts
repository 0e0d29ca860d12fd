/**
 * The fault plan of one chaos run, all of it drawn from the seed: which sidecar dies when and
 * how long it stays down, when MariaDB restarts, when each wave of groups is run, and the
 * seed of the EC2 endpoint's own faults. Times are milliseconds from the start of the run,
 * the moments the harness acts at; what the processes do in between is theirs, so the same
 * seed gives the same plan, not the same interleaving.
 */
import { prng } from '../support/prng.ts';

export interface Kill {
  readonly atMs: number;
  /** Index of the sidecar to kill (0 or 1). */
  readonly target: number;
  /** Pause between its death and its restart. */
  readonly restartAfterMs: number;
}

export interface Wave {
  readonly atMs: number;
  readonly groups: readonly string[];
}

export interface ChaosPlan {
  readonly seed: number;
  readonly groups: readonly string[];
  readonly waves: readonly Wave[];
  readonly kills: readonly Kill[];
  readonly mariadbRestart: { readonly atMs: number; readonly downMs: number };
  /** Seed of the endpoint's throttling, image failures and state-change jitter. */
  readonly endpointSeed: number;
  /** Sidecar each group's report goes to first. */
  readonly reportFirst: Readonly<Record<string, number>>;
  /** The group whose report an injected defect loses (only used when one is asked for). */
  readonly defectGroup: string;
}

export interface PlanShape {
  readonly groups: number;
  readonly waves: number;
  readonly kills: number;
  readonly sidecars: number;
}

export const DEFAULT_SHAPE: PlanShape = { groups: 50, waves: 5, kills: 24, sidecars: 2 };

/** CHAOS_SEED as a whole number; a fresh one from the clock when unset. */
export function seedFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.CHAOS_SEED;
  if (raw === undefined || raw === '') return Date.now() % 1_000_000;
  if (!/^\d{1,9}$/.test(raw)) throw new Error(`CHAOS_SEED must be a whole number below 10^9, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

export function makePlan(seed: number, shape: PlanShape = DEFAULT_SHAPE): ChaosPlan {
  // One stream, drawn in a fixed order: a plan is a pure function of the seed and the shape.
  const random = prng(seed);
  const between = (low: number, high: number): number => Math.round(low + random() * (high - low));
  const groups = Array.from({ length: shape.groups }, (_, n) => `chaos-${String(n).padStart(2, '0')}`);

  const waves: Wave[] = [];
  const size = Math.ceil(shape.groups / shape.waves);
  let at = 0;
  for (let n = 0; n < shape.waves; n++) {
    waves.push({ atMs: at, groups: groups.slice(n * size, (n + 1) * size) });
    at += between(2000, 5000);
  }

  const kills: Kill[] = [];
  at = between(500, 1500);
  for (let n = 0; n < shape.kills; n++) {
    kills.push({ atMs: at, target: Math.floor(random() * shape.sidecars), restartAfterMs: between(150, 1200) });
    at += between(900, 2200);
  }
  const lastKill = kills.at(-1)?.atMs ?? 10_000;
  const mariadbRestart = { atMs: between(lastKill * 0.3, lastKill * 0.6), downMs: between(500, 2000) };
  const endpointSeed = Math.floor(random() * 0x7fffffff) + 1;
  const reportFirst = Object.fromEntries(groups.map((group) => [group, Math.floor(random() * shape.sidecars)]));
  const defectGroup = groups[Math.floor(random() * groups.length)]!;
  return { seed, groups, waves, kills, mariadbRestart, endpointSeed, reportFirst, defectGroup };
}

/** One line for the log: enough to see two runs of a seed had the same plan. */
export function describePlan(plan: ChaosPlan): string {
  const kills = plan.kills.map((kill) => `${(kill.atMs / 1000).toFixed(1)}s:#${kill.target}`).join(' ');
  return `${plan.groups.length} groups in ${plan.waves.length} waves; ${plan.kills.length} kills (${kills}); MariaDB restart at ${(plan.mariadbRestart.atMs / 1000).toFixed(1)}s for ${plan.mariadbRestart.downMs} ms; endpoint seed ${plan.endpointSeed}`;
}
