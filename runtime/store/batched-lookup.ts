/**
 * Lookups by key that arrive in the same turn of the event loop go out as one query. A big
 * run's reports come in bursts, one per bake instance, and what each costs the sidecar is
 * mostly its round trip to the database, not the SELECT itself.
 */

type Waiter<V> = { readonly resolve: (value: V | undefined) => void; readonly reject: (error: unknown) => void };

/** Finds the rows of up to `maxBatch` keys; a key with no row is left out of the map. */
export type FetchMany<K, V> = (keys: readonly K[]) => Promise<ReadonlyMap<K, V>>;

export class BatchedLookup<K, V> {
  readonly #fetch: FetchMany<K, V>;
  readonly #maxBatch: number;
  #waiting = new Map<K, Waiter<V>[]>();
  #flushQueued = false;

  constructor(fetch: FetchMany<K, V>, maxBatch = 100) {
    this.#fetch = fetch;
    this.#maxBatch = maxBatch;
  }

  get(key: K): Promise<V | undefined> {
    return new Promise<V | undefined>((resolve, reject) => {
      const waiters = this.#waiting.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.#waiting.set(key, [{ resolve, reject }]);
      this.#queueFlush();
    });
  }

  // setImmediate, not a microtask: the other requests read from the sockets in this same
  // poll phase have not been parsed yet when the first one asks.
  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    setImmediate(() => {
      this.#flushQueued = false;
      this.#flush();
    });
  }

  #flush(): void {
    const batch = new Map<K, Waiter<V>[]>();
    for (const [key, waiters] of this.#waiting) {
      if (batch.size === this.#maxBatch) break;
      batch.set(key, waiters);
    }
    for (const key of batch.keys()) this.#waiting.delete(key);
    if (this.#waiting.size > 0) this.#queueFlush();
    if (batch.size === 0) return;
    this.#fetch([...batch.keys()]).then(
      (found) => {
        for (const [key, waiters] of batch) for (const waiter of waiters) waiter.resolve(found.get(key));
      },
      (error: unknown) => {
        for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
      },
    );
  }
}
