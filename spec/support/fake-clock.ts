/** The fake clock of the bake core's specs, and the store's form of its times. */
import type { Clock } from '../../runtime/clock.ts';
import type { Sleep } from '../../runtime/sleep.ts';

/**
 * The store's form of a clock time, and back. The only place that knows it, so a change of
 * form (the stores went from ISO strings to epoch milliseconds) changes these two lines only.
 */
export const storeTime = (ms: number): number => ms;
export const clockTime = (stored: number): number => stored;

/** A fixed start, far from the real date, so a time taken from the wall clock by mistake shows. */
export const START = Date.UTC(2031, 4, 6, 7, 0, 0);

/**
 * Time passes only while someone waits (every sleep moves the clock by what it asked for)
 * or when a test moves it: a deadline is reached by advancing, never by waiting.
 */
export class FakeTime implements Clock {
  #now: number;
  /** Fake milliseconds spent in sleeps, for specs that check something waited. */
  slept = 0;

  constructor(start = START) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  advance(ms: number): void {
    this.#now += ms;
  }

  // setImmediate, not a resolved promise: a loop of sleeps must still let I/O (the store's writes) through.
  readonly sleep: Sleep = (ms) => {
    this.#now += ms;
    this.slept += ms;
    return new Promise((resolve) => setImmediate(resolve));
  };
}
