/**
 * TerminateInstances for many bakes in one call. A run of hundreds of groups ends a bake
 * every half second or so, each with its instance to terminate, and EC2 takes up to 1000
 * ids in one request. A caller goes out at once when no call went in the last `spacingMs`
 * (so a lone bake waits for nothing); otherwise it waits for that moment, with everyone
 * else who arrives meanwhile, and they go together. A busy run thus sends at most one call
 * per spacing, and no caller waits longer than one spacing (and the call before it).
 *
 * EC2 refuses a whole request for one id it does not know (or cannot read), terminating
 * none: callers gathered into such a request are then sent one by one, so each gets the
 * answer for its own ids and the others are not failed by a stranger's.
 */
import { systemClock, type Clock } from '../clock.ts';
import { Ec2Error } from '../errors.ts';
import { realSleep, type Sleep } from '../sleep.ts';

/** TerminateInstances' own limit on the ids of one request. */
export const MAX_IDS_PER_TERMINATE = 1000;

/**
 * A launch-bound run ends bakes at EC2's RunInstances rate (two a second by default): this
 * gathers about four into each call. Short against a bake, which lasts minutes; a lone
 * bake does not wait at all.
 */
export const TERMINATE_SPACING_MS = 2000;

const ANSWERS_FOR_ONE_ID = new Set(['InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed']);

export interface TerminationsOptions {
  /** One TerminateInstances of these ids. */
  readonly send: (ids: string[]) => Promise<void>;
  readonly spacingMs?: number;
  /** The most ids one call may carry. */
  readonly maxIds?: number;
  readonly sleep?: Sleep;
  readonly clock?: Clock;
}

interface Caller {
  readonly ids: readonly string[];
  resolve(): void;
  reject(error: unknown): void;
}

export class Terminations {
  readonly #send: (ids: string[]) => Promise<void>;
  readonly #spacingMs: number;
  readonly #max: number;
  readonly #sleep: Sleep;
  readonly #clock: Clock;
  #gathered: Caller[] = [];
  #busy = false;
  #sentAt = Number.NEGATIVE_INFINITY;

  constructor(options: TerminationsOptions) {
    this.#send = options.send;
    this.#spacingMs = options.spacingMs ?? TERMINATE_SPACING_MS;
    this.#max = options.maxIds ?? MAX_IDS_PER_TERMINATE;
    this.#sleep = options.sleep ?? realSleep;
    this.#clock = options.clock ?? systemClock;
  }

  terminate(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    if (ids.length > this.#max) return this.#inChunks(ids);
    return new Promise<void>((resolve, reject) => {
      this.#gathered.push({ ids, resolve, reject });
      this.#next();
    });
  }

  /** More than one call's worth from one caller: its chunks in turn, as it asked. */
  async #inChunks(ids: readonly string[]): Promise<void> {
    for (let at = 0; at < ids.length; at += this.#max) await this.terminate(ids.slice(at, at + this.#max));
  }

  #next(): void {
    if (this.#busy || this.#gathered.length === 0) return;
    this.#busy = true;
    void this.#flush().finally(() => {
      this.#busy = false;
      this.#next();
    });
  }

  async #flush(): Promise<void> {
    const early = this.#sentAt + this.#spacingMs - this.#clock.now();
    if (early > 0) await this.#sleep(early);
    const batch = this.#takeBatch();
    this.#sentAt = this.#clock.now();
    await this.#deliver(batch);
  }

  /** Whole callers, first come first, while their ids fit in one call. */
  #takeBatch(): Caller[] {
    let count = 0;
    let taken = 0;
    for (const caller of this.#gathered) {
      const ids = new Set(caller.ids).size;
      if (taken > 0 && count + ids > this.#max) break;
      count += ids;
      taken++;
    }
    return this.#gathered.splice(0, taken);
  }

  async #deliver(batch: readonly Caller[]): Promise<void> {
    try {
      await this.#send([...new Set(batch.flatMap((caller) => caller.ids))]);
      for (const caller of batch) caller.resolve();
      return;
    } catch (error) {
      // Anything but a refused id (throttling, the network) is about the call: every caller gets it.
      if (batch.length === 1 || !(error instanceof Ec2Error && ANSWERS_FOR_ONE_ID.has(error.awsCode))) {
        for (const caller of batch) caller.reject(error);
        return;
      }
    }
    await Promise.all(batch.map((caller) => this.#send([...new Set(caller.ids)]).then(caller.resolve, caller.reject)));
  }
}
