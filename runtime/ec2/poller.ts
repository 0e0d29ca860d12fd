/**
 * The batched waiter. A sidecar baking 50 groups has 50 instances booting and 50 images
 * pending at once; one Describe per waiter per tick would throttle the whole account. So
 * waiters only register (id, wanted states, deadline), and ONE loop per resource kind asks
 * about every awaited id in a single Describe per tick, by filter, so an id EC2 does not
 * show yet (eventual consistency) is just absent instead of failing the call for all.
 */
import { systemClock, type Clock } from '../clock.ts';
import { Ec2Error, Ec2WaitTimeout } from '../errors.ts';
import { WaitAborted } from '../errors.ts';
import type { Sleep } from '../sleep.ts';
import { isRetryable } from './failures.ts';
import type { WaitOptions } from './types.ts';

/** EC2's limit on values per filter. */
const MAX_IDS_PER_CALL = 200;
export const DEFAULT_POLL_INTERVAL_MS = 2_000;
const NOT_VISIBLE = 'not visible yet';

export interface PollerSpec<T> {
  /** "instance" / "image", for messages. */
  readonly noun: string;
  /** One Describe (all pages) for at most MAX_IDS_PER_CALL ids; failures already Ec2Error. */
  readonly describe: (ids: string[]) => Promise<Map<string, T>>;
  readonly stateOf: (record: T) => string;
  /** The record sits in a state it will never leave for one of `wanted`: the error to reject with. */
  readonly deadEnd: (record: T, wanted: readonly string[]) => Ec2Error | undefined;
  readonly intervalMs?: number;
  readonly clock?: Clock;
  readonly sleep?: Sleep;
}

interface Waiter<T> {
  readonly id: string;
  readonly wanted: readonly string[];
  readonly deadline: number;
  readonly startedAt: number;
  readonly onState: ((state: string) => void) | undefined;
  readonly resolve: (record: T) => void;
  readonly reject: (error: Error) => void;
  /** Stops listening for the wait's abort. */
  readonly release: () => void;
  lastState: string;
  lastError: string | undefined;
}

// Unref'd: a pending wait alone must not keep a process alive, and a finished one leaves no timer.
const unrefSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

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
  private readonly waiters = new Set<Waiter<T>>();
  private running = false;

  constructor(spec: PollerSpec<T>) {
    this.spec = spec;
    this.clock = spec.clock ?? systemClock;
    this.sleep = spec.sleep ?? unrefSleep;
    this.intervalMs = spec.intervalMs ?? DEFAULT_POLL_INTERVAL_MS;
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
      const waiter: Waiter<T> = {
        id,
        wanted,
        deadline: options.deadline,
        startedAt: this.clock.now(),
        onState: options.onState,
        resolve,
        reject,
        release: () => signal?.removeEventListener('abort', onAbort),
        lastState: NOT_VISIBLE,
        lastError: undefined,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
      this.start();
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
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.waiters.size) {
      await this.tick();
      this.expire();
      if (!this.waiters.size) return;
      const untilDeadline = Math.min(...[...this.waiters].map((w) => w.deadline)) - this.clock.now();
      await this.sleep(Math.max(1, Math.min(this.intervalMs, untilDeadline)));
    }
  }

  private async tick(): Promise<void> {
    const byId = new Map<string, Waiter<T>[]>();
    for (const waiter of this.waiters) byId.set(waiter.id, [...(byId.get(waiter.id) ?? []), waiter]);
    await Promise.all(chunked([...byId.keys()]).map((ids) => this.check(ids, byId)));
  }

  private async check(ids: string[], byId: Map<string, Waiter<T>[]>): Promise<void> {
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
      if (record === undefined) continue;
      for (const waiter of byId.get(id) ?? []) this.observe(waiter, record);
    }
  }

  private observe(waiter: Waiter<T>, record: T): void {
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
    if (waiter.wanted.includes(state)) return this.settle(waiter, () => waiter.resolve(record));
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

  private settle(waiter: Waiter<T>, finish: () => void): void {
    if (!this.waiters.delete(waiter)) return;
    waiter.release();
    finish();
  }
}
