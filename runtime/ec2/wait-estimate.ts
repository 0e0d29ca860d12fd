/**
 * When the next wait of a kind is likely to see its change, from where the change fell in
 * the last few (each a window: after one look, by the next). Stable delays narrow the
 * answer bake by bake: every window holds the change, so their overlap does too, and the
 * first close look goes into the middle of the overlap, which halves it whether it hits or
 * misses. Delays that drift make the windows disagree; then the newest ones count.
 */
import type { WaitExpectation, WaitWindow } from './types.ts';

/**
 * `windows` newest first. Undefined with none: the wait then looks every interval.
 * `intervalMs`: the poll interval, whose tenth is the allowance for the jitter between waits.
 */
export function estimate(windows: readonly WaitWindow[], intervalMs: number): WaitExpectation | undefined {
  const usable = windows.filter((w) => Number.isFinite(w.notYetMs) && Number.isFinite(w.seenMs) && w.seenMs > w.notYetMs && w.notYetMs >= 0);
  if (usable.length === 0) return undefined;
  let low = usable[0]!.notYetMs;
  let high = usable[0]!.seenMs;
  // Newest first, as long as they agree: an older window that misses the newer overlap is from a delay since changed.
  for (const window of usable.slice(1)) {
    const nextLow = Math.max(low, window.notYetMs);
    const nextHigh = Math.min(high, window.seenMs);
    if (nextLow >= nextHigh) break;
    low = nextLow;
    high = nextHigh;
  }
  // A recent wait that was over sooner says this one may be too: the close looks start no later.
  const earliestSeen = Math.min(...usable.map((w) => w.seenMs));
  const expectedMs = Math.min((low + high) / 2 + intervalMs / 10, high, earliestSeen);
  return { expectedMs: Math.round(expectedMs), latestMs: Math.round(high) };
}
