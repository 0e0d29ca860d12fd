import type { TestClock } from './clock.ts';
import { Ec2Fault, throttled } from './errors.ts';
import type { StateReason } from './model.ts';
import { prng } from '../prng.ts';

/** What to break for one action. Every field is optional and they combine. */
export interface FaultSpec {
  /** Probability (0..1) that a request is answered RequestLimitExceeded; seeded, so repeatable. */
  throttleRate?: number;
  /** AWS-style token bucket: starts full, each request takes a token, empty answers RequestLimitExceeded. */
  bucket?: { size: number; refillPerSecond: number };
  /** Instances and images younger than this are unknown to the action, as right after creation on AWS. */
  consistencyLagMs?: number;
  /** RunInstances: the next N calls (or every call) fail with InsufficientInstanceCapacity. */
  insufficientCapacity?: number | 'always';
  /** CreateImage/CopyImage: the next N images (or every image) end in `failed`. */
  failImages?: number | 'always';
  /** CreateImage/CopyImage: probability (0..1) that an image ends in `failed`; seeded, so repeatable. */
  imageFailureRate?: number;
  /** stateReason of a failed image. */
  imageFailure?: Partial<StateReason>;
  /** Any error code, for the next `times` calls (every call when times is absent). */
  error?: { code: string; message?: string; status?: number; times?: number };
  /** The action is answered InvalidAction, as by a region or API version that lacks it. */
  unsupported?: boolean;
  /**
   * The action takes effect at once but its reply is held this long (wall-clock), as when a
   * connection drops after EC2 acted: the caller that dies meanwhile never learns of it.
   */
  replyDelayMs?: number;
}

/** The timed state changes of the endpoint; each can be given a seeded random extra delay. */
export const TIMED_CHANGES = ['boot', 'image', 'copy', 'stop', 'terminate'] as const;
export type TimedChange = (typeof TIMED_CHANGES)[number];

interface ActionFaults {
  spec: FaultSpec;
  random: () => number;
  /** Its own stream, so image failures do not shift the throttling pattern of the same action. */
  imageRandom: () => number;
  tokens: number;
  refilledAt: number;
  capacityLeft: number;
  imageFailuresLeft: number;
  errorsLeft: number;
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

const count = (n: number | 'always' | undefined): number => (n === 'always' ? Infinity : (n ?? 0));

/**
 * Per-action fault injection. Each action has its own PRNG stream (seed + action name), so
 * the throttling pattern of one action does not shift when a test adds calls to another.
 */
export class Faults {
  private readonly byAction = new Map<string, ActionFaults>();
  private readonly clock: TestClock;
  private readonly seed: number;
  /** Change → the most extra delay it gets, and the PRNG stream that picks it. */
  private readonly jitter = new Map<TimedChange, { maxMs: number; random: () => number }>();

  constructor(clock: TestClock, seed: number) {
    this.clock = clock;
    this.seed = seed;
  }

  /** Replaces the action's faults; the bucket starts full and the counters start over. */
  set(action: string, spec: FaultSpec): void {
    for (const key of ['throttleRate', 'imageFailureRate'] as const) {
      const rate = spec[key];
      if (rate !== undefined && !(rate >= 0 && rate <= 1)) throw new RangeError(`${key} must be within 0..1, got ${rate}`);
    }
    this.byAction.set(action, {
      spec: { ...spec },
      random: prng(this.seed ^ hash(action)),
      imageRandom: prng(this.seed ^ hash(`image:${action}`)),
      tokens: spec.bucket?.size ?? 0,
      refilledAt: this.clock.now(),
      capacityLeft: count(spec.insufficientCapacity),
      imageFailuresLeft: count(spec.failImages),
      errorsLeft: spec.error ? (spec.error.times ?? Infinity) : 0,
    });
  }

  get(action: string): FaultSpec | undefined {
    const entry = this.byAction.get(action);
    return entry ? { ...entry.spec } : undefined;
  }

  clear(action?: string): void {
    if (action === undefined) this.byAction.clear();
    else this.byAction.delete(action);
  }

  /** Checked before the handler runs: throttling first, then an injected error. */
  gate(action: string): void {
    const entry = this.byAction.get(action);
    if (!entry) return;
    const { bucket, throttleRate, error } = entry.spec;
    if (bucket) {
      const now = this.clock.now();
      entry.tokens = Math.min(bucket.size, entry.tokens + ((now - entry.refilledAt) / 1000) * bucket.refillPerSecond);
      entry.refilledAt = now;
      if (entry.tokens < 1) throw throttled();
      entry.tokens -= 1;
    }
    if (throttleRate !== undefined && entry.random() < throttleRate) throw throttled();
    if (error && entry.errorsLeft > 0) {
      entry.errorsLeft -= 1;
      throw new Ec2Fault(error.code, error.message ?? `Injected ${error.code}`, error.status);
    }
  }

  unsupported(action: string): boolean {
    return this.byAction.get(action)?.spec.unsupported ?? false;
  }

  lagMs(action: string): number {
    return this.byAction.get(action)?.spec.consistencyLagMs ?? 0;
  }

  replyDelayMs(action: string): number {
    return this.byAction.get(action)?.spec.replyDelayMs ?? 0;
  }

  /** Consumes one InsufficientInstanceCapacity failure if any is left. */
  takeCapacityFailure(action: string): boolean {
    const entry = this.byAction.get(action);
    if (!entry || entry.capacityLeft <= 0) return false;
    entry.capacityLeft -= 1;
    return true;
  }

  /**
   * Consumes one image failure if any is left, else draws one at imageFailureRate, returning
   * the stateReason to give it.
   */
  takeImageFailure(action: string): StateReason | undefined {
    const entry = this.byAction.get(action);
    if (!entry) return undefined;
    if (entry.imageFailuresLeft > 0) entry.imageFailuresLeft -= 1;
    else if (!(entry.spec.imageFailureRate !== undefined && entry.imageRandom() < entry.spec.imageFailureRate)) return undefined;
    return {
      code: entry.spec.imageFailure?.code ?? 'Server.InternalError',
      message: entry.spec.imageFailure?.message ?? 'Internal error',
    };
  }

  /**
   * From now on each `change` takes up to `maxMs` longer than its fixed time, drawn from a
   * stream of its own (seed + change), as EC2's state changes vary in length; 0 removes it.
   */
  setStateDelayJitter(jitter: Partial<Record<TimedChange, number>>): void {
    for (const [change, maxMs] of Object.entries(jitter) as [TimedChange, number][]) {
      if (!(maxMs >= 0)) throw new RangeError(`the jitter of ${change} must be at least 0 ms, got ${maxMs}`);
      if (maxMs === 0) this.jitter.delete(change);
      else this.jitter.set(change, { maxMs, random: prng(this.seed ^ hash(`delay:${change}`)) });
    }
  }

  /** The extra delay of the next `change`; 0 without jitter. */
  extraDelayMs(change: TimedChange): number {
    const entry = this.jitter.get(change);
    return entry ? Math.floor(entry.random() * entry.maxMs) : 0;
  }
}
