/**
 * How long a bake's EC2 waits are likely to take, so the poller looks closely only when the
 * change is due (runtime/ec2/wait-schedule.ts). A group's own last waits of each kind come
 * from the store; a group without any borrows what this sidecar saw lately of the kind in
 * the region, whichever group it was for, so a run of many new groups learns from its first
 * bakes. With neither, the wait looks every poll interval.
 */
import { estimate } from '../ec2/wait-estimate.ts';
import type { WaitOptions, WaitWindow } from '../ec2/types.ts';
import type { Logger } from '../log.ts';
import type { Bake, Store, WaitKind } from '../store/store.ts';
import { WAITS_KEPT } from '../store/wait-table.ts';

/** What a wait is given to follow its schedule and report where its change fell. */
export type WaitTiming = Pick<WaitOptions, 'expect' | 'onObserved'>;

export class WaitTimes {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #intervalMs: number;
  /** By region and kind, newest first: any group's, in this process only. */
  readonly #recent = new Map<string, WaitWindow[]>();

  /** `intervalMs`: the poll interval the waits use. */
  constructor(store: Store, log: Logger, intervalMs: number) {
    this.#store = store;
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  /**
   * Runs `wait` with what is expected of a wait of `kind` for the bake's group, then keeps
   * where its change fell. Neither a failed look-up nor a failed record fails the bake: the
   * wait then only looks more often, or the next one learns less.
   */
  async around<T>(bake: Bake, kind: WaitKind, wait: (timing: WaitTiming) => Promise<T>): Promise<T> {
    const expect = estimate(await this.#windows(bake, kind), this.#intervalMs);
    let seen: WaitWindow | undefined;
    const result = await wait({ ...(expect && { expect }), onObserved: (window) => (seen = window) });
    if (seen) await this.#record(bake, kind, seen);
    return result;
  }

  async #windows(bake: Bake, kind: WaitKind): Promise<WaitWindow[]> {
    try {
      const own = await this.#store.listWaits(bake.group_name, kind);
      if (own.length > 0) return own.map((wait) => ({ notYetMs: wait.not_yet_ms, seenMs: wait.seen_ms }));
    } catch (error) {
      this.#log.warn('wait history not read; borrowing recent waits', { bake: bake.id, kind, error: error instanceof Error ? error.message : String(error) });
    }
    return this.#recent.get(recentKey(bake.region, kind)) ?? [];
  }

  async #record(bake: Bake, kind: WaitKind, window: WaitWindow): Promise<void> {
    // Whole milliseconds, and a window that holds something, as the store keeps them.
    const notYetMs = Math.max(0, Math.floor(window.notYetMs));
    const seenMs = Math.max(notYetMs + 1, Math.ceil(window.seenMs));
    const key = recentKey(bake.region, kind);
    this.#recent.set(key, [{ notYetMs, seenMs }, ...(this.#recent.get(key) ?? [])].slice(0, WAITS_KEPT));
    try {
      await this.#store.recordWait({ group_name: bake.group_name, kind, not_yet_ms: notYetMs, seen_ms: seenMs });
    } catch (error) {
      this.#log.warn('wait history not recorded', { bake: bake.id, kind, error: error instanceof Error ? error.message : String(error) });
    }
  }
}

const recentKey = (region: string, kind: WaitKind): string => `${region}\u0000${kind}`;
