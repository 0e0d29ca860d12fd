/**
 * The batched waiter. A sidecar baking 50 groups has 50 instances booting and 50 images
 * pending at once; one Describe per waiter per tick would throttle the whole account. So
 * waiters only register (id, wanted states, deadline), and ONE loop per resource kind asks
 * about every awaited id in a single Describe per tick, by filter, so an id EC2 does not
 * show yet (eventual consistency) is just absent instead of failing the call for all.
 *
 * Each waiter has its own schedule (runtime/ec2/wait-schedule.ts): every interval, or, with
 * an expectation from earlier waits, now and then until the expected moment and closely
 * after it. A tick happens when some waiter is due, waits a little for the next one due so
 * one call serves both, and counts as a look for every waiter it asked about.
 */
import { systemClock, type Clock } from '../clock.ts';
import { Ec2Error, Ec2WaitTimeout } from '../errors.ts';
import { WaitAborted } from '../errors.ts';
import type { Sleep } from '../sleep.ts';
import { isRetryable } from './failures.ts';
import type { WaitExpectation, WaitOptions, WaitWindow } from './types.ts';
import { nextLook } from './wait-schedule.ts';

/** EC2's limit on values per filter. */
const MAX_IDS_PER_CALL = 200;
export const DEFAULT_POLL_INTERVAL_MS = 2_000;
const NOT_VISIBLE = 'not visible yet';
/**
 * A close look may wait this many intervals for another waiter's. Measured on the 100-group
 * fan-out (spec/bench/fanout.ts): waits there begin an interval apart, as the launch pacer
 * lets them, so a window of one interval joined almost none; two join them in pairs.
 */
const COALESCE_INTERVALS = 2;

export interface PollerSpec<T> {
  /** "instance" / "image", for messages. */
  readonly noun: string;
  /** One Describe (all pages) for at most MAX_IDS_PER_CALL ids; failures already Ec2Error. */
  readonly describe: (ids: string[]) => Promise<Map<string, T>>;
  readonly stateOf: (record: T) => string;
  /** The record sits in a state it will never leave for one of `wanted`: the error to reject with. */
  readonly deadEnd: (record: T, wanted: readonly string[]) => Ec2Error | undefined;
  readonly intervalMs?: number;
  /** How long a due close look may wait for another, to ask for both in one call; default two intervals. */
  readonly coalesceMs?: number;
  readonly clock?: Clock;
  readonly sleep?: Sleep;
}

interface Waiter<T> {
  readonly id: string;
  readonly wanted: readonly string[];
  readonly deadline: number;
  readonly startedAt: number;
  readonly onState: ((state: string) => void) | undefined;
  readonly onObserved: ((window: WaitWindow) => void) | undefined;
  readonly expect: WaitExpectation | undefined;
  readonly resolve: (record: T) => void;
  readonly reject: (error: Error) => void;
  /** Stops listening for the wait's abort. */
  readonly release: () => void;
  lastState: string;
  lastError: string | undefined;
  /** Clock time of its next look. */
  due: number;
  /** When the last look that found it not yet in a wanted state was asked, since it began. */
  notYetMs: number | undefined;
}

// Unref'd: a pending wait alone must not keep a process alive, and a finished one leaves no timer.
const unrefSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** A waiter's next look: when, how long it may wait to share a call, and whether it wants to be on time. */
function lookOf<T>(waiter: Waiter<T>, coalesceMs: number): { due: number; slack: number; close: boolean } {
  if (waiter.deadline <= waiter.due) return { due: waiter.deadline, slack: 0, close: true };
  const sinceStart = waiter.due - waiter.startedAt;
  if (waiter.expect === undefined || sinceStart >= waiter.expect.expectedMs) return { due: waiter.due, slack: coalesceMs, close: true };
  return { due: waiter.due, slack: Math.max(coalesceMs, (waiter.expect.expectedMs - sinceStart) / 2), close: false };
}

const nextTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

export function chunked<T>(items: readonly T[], size = MAX_IDS_PER_CALL): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class Poller<T> {
  private readonly spec: PollerSpec<T>;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private readonly intervalMs: number;
  private readonly coalesceMs: number;
  private readonly waiters = new Set<Waiter<T>>();
  private running = false;
  /** Ends the loop's sleep early: a new waiter may be due sooner than the loop planned. */
  private wake: (() => void) | undefined;

  constructor(spec: PollerSpec<T>) {
    this.spec = spec;
    this.clock = spec.clock ?? systemClock;
    this.sleep = spec.sleep ?? unrefSleep;
    this.intervalMs = spec.intervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.coalesceMs = spec.coalesceMs ?? COALESCE_INTERVALS * this.intervalMs;
  }

  /** Waiters not yet settled. */
  get pending(): number {
    return this.waiters.size;
  }

  wait(id: string, wanted: readonly string[], options: WaitOptions): Promise<T> {
    const { signal } = options;
    const what = `${this.spec.noun} ${id} to be ${wanted.join(' or ')}`;
    if (signal?.aborted) return Promise.reject(new WaitAborted(what, signal));
    return new Promise<T>((resolve, reject) => {
      // Settled at once, not at the next tick: a stopping sidecar must not sit out a poll interval.
      const onAbort = (): void => {
        if (signal) this.settle(waiter, () => reject(new WaitAborted(what, signal)));
      };
      const startedAt = this.clock.now();
      const waiter: Waiter<T> = {
        id,
        wanted,
        deadline: options.deadline,
        startedAt,
        onState: options.onState,
        onObserved: options.onObserved,
        expect: options.expect,
        resolve,
        reject,
        release: () => signal?.removeEventListener('abort', onAbort),
        lastState: NOT_VISIBLE,
        lastError: undefined,
        due: startedAt + nextLook(options.expect, this.intervalMs, undefined),
        notYetMs: undefined,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
      this.start();
      this.wake?.();
    });
  }

  private start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
      // A waiter may have registered between the loop's last check and this line.
      if (this.waiters.size) this.start();
    });
  }

  private async loop(): Promise<void> {
    // Let every waiter registered in this turn (Promise.all over many ids) join the first call.
    await nextTurn();
    while (this.waiters.size) {
      const at = this.tickAt();
      const now = this.clock.now();
      if (at > now) {
        // A waiter registered meanwhile may be due sooner: the plan is made again after a nap.
        if (await this.nap(at - now)) await nextTurn();
        continue;
      }
      await this.tick();
      this.expire();
    }
  }

  /**
   * When the next tick is due. Each look may wait a little to share a call: a close one up
   * to `coalesceMs`, an early one (before the expected moment, only there to catch a dead
   * end) that long or, when longer, half its way to that moment. The tick comes by the first of those limits, at the
   * latest close look due by then, so one call serves them all; with no close look to wait
   * for, at the earliest look. A waiter alone is never put off. A deadline is a close look.
   */
  private tickAt(): number {
    const looks = [...this.waiters].map((w) => lookOf(w, this.coalesceMs));
    const limit = Math.min(...looks.map((look) => look.due + look.slack));
    const closeBy = looks.filter((look) => look.close && look.due <= limit).map((look) => look.due);
    return closeBy.length > 0 ? Math.max(...closeBy) : Math.min(...looks.map((look) => look.due));
  }

  /** Sleeps `ms`, or less when a waiter registers; true when cut short. */
  private async nap(ms: number): Promise<boolean> {
    let woken = false;
    const registered = new Promise<void>((resolve) => {
      this.wake = () => {
        woken = true;
        resolve();
      };
    });
    try {
      await Promise.race([this.sleep(ms), registered]);
    } finally {
      this.wake = undefined;
    }
    return woken;
  }

  private async tick(): Promise<void> {
    const byId = new Map<string, Waiter<T>[]>();
    for (const waiter of this.waiters) byId.set(waiter.id, [...(byId.get(waiter.id) ?? []), waiter]);
    const askedAt = this.clock.now();
    await Promise.all(chunked([...byId.keys()]).map((ids) => this.check(ids, byId, askedAt)));
    // Every waiter asked about had a look, whatever came of it: its next is planned from this one.
    for (const waiters of byId.values()) {
      for (const waiter of waiters) waiter.due = waiter.startedAt + nextLook(waiter.expect, this.intervalMs, askedAt - waiter.startedAt);
    }
  }

  private async check(ids: string[], byId: Map<string, Waiter<T>[]>, askedAt: number): Promise<void> {
    let found: Map<string, T>;
    try {
      found = await this.spec.describe(ids);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      // The SDK has already retried; if EC2 is still busy, the deadline decides, not this call.
      const keepWaiting = isRetryable(error);
      for (const id of ids) {
        for (const waiter of byId.get(id) ?? []) {
          if (keepWaiting) waiter.lastError = failure.message;
          else this.settle(waiter, () => waiter.reject(failure));
        }
      }
      return;
    }
    for (const id of ids) {
      const record = found.get(id);
      for (const waiter of byId.get(id) ?? []) {
        // Not shown yet is not there yet: the change the waiter wants is still to come.
        if (record === undefined) waiter.notYetMs = askedAt - waiter.startedAt;
        else this.observe(waiter, record, askedAt);
      }
    }
  }

  private observe(waiter: Waiter<T>, record: T, askedAt: number): void {
    const state = this.spec.stateOf(record);
    waiter.lastError = undefined;
    if (state !== waiter.lastState) {
      waiter.lastState = state;
      try {
        waiter.onState?.(state);
      } catch {
        // A progress callback must not break the wait.
      }
    }
    if (waiter.wanted.includes(state)) return this.settle(waiter, () => this.seen(waiter, record));
    waiter.notYetMs = askedAt - waiter.startedAt;
    const failure = this.spec.deadEnd(record, waiter.wanted);
    if (failure) this.settle(waiter, () => waiter.reject(failure));
  }

  private expire(): void {
    const now = this.clock.now();
    for (const waiter of this.waiters) {
      if (now < waiter.deadline) continue;
      const last = waiter.lastError ? `${waiter.lastState}; last error: ${waiter.lastError}` : waiter.lastState;
      const what = `${this.spec.noun} ${waiter.id}`;
      this.settle(waiter, () => waiter.reject(new Ec2WaitTimeout(what, waiter.wanted.join(' or '), last, now - waiter.startedAt)));
    }
  }

  /** The answer came after the call was asked: the change fell by now, after the last look that missed it. */
  private seen(waiter: Waiter<T>, record: T): void {
    const window = { notYetMs: waiter.notYetMs ?? 0, seenMs: this.clock.now() - waiter.startedAt };
    try {
      waiter.onObserved?.(window);
    } catch {
      // Recording what a wait saw must not break it.
    }
    waiter.resolve(record);
  }

  private settle(waiter: Waiter<T>, finish: () => void): void {
    if (!this.waiters.delete(waiter)) return;
    waiter.release();
    finish();
  }
}
