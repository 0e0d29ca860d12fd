/** How long a bake may stay in each state before it is cleaned up as timed out. */
import type { BakeState } from '../store/store.ts';

const MINUTE = 60_000;

export interface Deadlines {
  forState(state: BakeState): number;
}

export function deadlines(reportTimeoutMs: number, overrides: Partial<Record<BakeState, number>> = {}): Deadlines {
  const table: Record<BakeState, number> = {
    queued: 60 * MINUTE,
    launching: 10 * MINUTE,
    booting: 15 * MINUTE,
    // sshd on a new instance answers late; the agent run itself follows.
    bootstrapping: 30 * MINUTE,
    awaiting_report: reportTimeoutMs,
    imaging: 10 * MINUTE,
    image_pending: 90 * MINUTE,
    // A second instance boots from the new image and runs the agent once, in noop.
    verifying: 45 * MINUTE,
    // Copies to other regions run in parallel; a large image crossing an ocean takes long.
    distributing: 120 * MINUTE,
    promoted: 10 * MINUTE,
    // An instance refresh replaces a fleet a few at a time; the publication follows it this long.
    publishing: 240 * MINUTE,
    cleaning: 15 * MINUTE,
    done: 0,
    ...overrides,
  };
  return { forState: (state) => table[state] };
}
