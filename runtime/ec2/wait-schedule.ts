/**
 * When one waiter wants its next look, in milliseconds since its wait began. Without an
 * expectation: at once, then every interval. With one: a few looks spread before the expected
 * moment, only so that a dead end (a failed image, an instance gone at boot) is not missed
 * for long; then at the expected moment; then every interval, or sooner at the moment by
 * which earlier waits had surely seen the change.
 */
import type { WaitExpectation } from './types.ts';

/** The widest gap between early looks: a dead end on a long wait is seen within this. */
export const MAX_SPARSE_GAP_MS = 60_000;

/**
 * Early looks halve what is left until the expected moment (at 1/2, 3/4 and 7/8 of it): few
 * looks, and the last close enough that a change now much sooner than before is seen well
 * before the expected moment, which tells the estimate the delay has changed. None comes
 * closer than an interval to the one before; the look at the expected moment is kept
 * whenever the last early one was, as that one may have been another waiter's tick.
 */
function sparseNext(expectedMs: number, lastMs: number, intervalMs: number): number {
  const remaining = expectedMs - lastMs;
  if (remaining <= expectedMs / 6 || remaining / 2 < intervalMs) return expectedMs;
  return lastMs + Math.min(remaining / 2, MAX_SPARSE_GAP_MS);
}

/** `lastMs`: when the waiter was last looked at (undefined: not yet). */
export function nextLook(expect: WaitExpectation | undefined, intervalMs: number, lastMs: number | undefined): number {
  if (expect === undefined) return lastMs === undefined ? 0 : lastMs + intervalMs;
  if (lastMs === undefined || lastMs < expect.expectedMs) return sparseNext(expect.expectedMs, lastMs ?? 0, intervalMs);
  // A miss at the expected moment: earlier waits had all seen it by latestMs, so look there if that is sooner.
  return expect.latestMs > lastMs && expect.latestMs < lastMs + intervalMs ? expect.latestMs : lastMs + intervalMs;
}
