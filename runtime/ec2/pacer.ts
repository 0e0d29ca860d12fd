/**
 * A client-side token bucket: calls wait their turn (first come, first served) instead of
 * being sent only to be throttled. EC2 throttles each action of an account with a bucket
 * of its own; a throttled attempt is wasted, and under adaptive retry it also slows every
 * other call the region's client makes. So a 100-group run paces its launches to EC2's
 * bucket rather than discovering it through RequestLimitExceeded.
 */
import { systemClock, type Clock } from '../clock.ts';
import { WaitAborted } from '../errors.ts';
import { sleepOrAbort, type Sleep } from '../sleep.ts';

export interface Bucket {
  readonly size: number;
  readonly refillPerSecond: number;
}

/** RunInstances' request bucket on EC2 (issue 7): 5 at once, then 2 a second. */
export const RUN_INSTANCES_BUCKET: Bucket = { size: 5, refillPerSecond: 2 };

const WHAT = 'a turn to call EC2';

/** How much later than EC2's refills calls go after a throttle: more than a loaded host's jitter. */
export const JITTER_MARGIN_MS = 100;

export class Pacer {
  readonly #bucket: Bucket;
  readonly #clock: Clock;
  readonly #sleep: Sleep;
  #tokens: number;
  #refilledAt: number;
  #queue: Promise<void> = Promise.resolve();

  constructor(bucket: Bucket, sleep: Sleep, clock: Clock = systemClock) {
    this.#bucket = bucket;
    this.#clock = clock;
    this.#sleep = sleep;
    this.#tokens = bucket.size;
    this.#refilledAt = clock.now();
  }

  /**
   * Resolves when the caller may send; callers are served in the order they asked. One
   * whose `signal` aborts leaves the queue at once (WaitAborted) and takes no token.
   */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.#queue.then(() => this.#next(signal));
    this.#queue = turn.catch(() => undefined);
    if (!signal) return turn;
    // Rejected now, not when its turn comes, which behind a long queue is seconds away.
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = () => reject(new WaitAborted(WHAT, signal));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      void turn.then(
        () => signal.removeEventListener('abort', onAbort),
        () => signal.removeEventListener('abort', onAbort),
      );
    });
    return Promise.race([turn, aborted]);
  }

  /**
   * EC2 answered a paced call "throttled": its bucket is empty whatever ours says. Ours
   * starts again from empty, and a margin below it, so the next call waits a full refill
   * and the margin. Paced at exactly EC2's rate, a call arrives just as EC2 refills, and
   * network jitter alone decides whether it is early; the margin keeps every later call
   * that much behind EC2's refills, once, for the cost of one margin.
   */
  throttled(): void {
    this.#tokens = -(JITTER_MARGIN_MS / 1000) * this.#bucket.refillPerSecond;
    this.#refilledAt = this.#clock.now();
  }

  async #next(signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw new WaitAborted(WHAT, signal);
      const now = this.#clock.now();
      this.#tokens = Math.min(this.#bucket.size, this.#tokens + ((now - this.#refilledAt) / 1000) * this.#bucket.refillPerSecond);
      this.#refilledAt = now;
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await sleepOrAbort(this.#sleep, Math.ceil(((1 - this.#tokens) / this.#bucket.refillPerSecond) * 1000), signal, WHAT);
    }
  }
}
