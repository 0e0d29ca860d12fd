/** Summary statistics for benchmark samples. Pure, so spec/bench-stats.test.ts pins them down. */

function sorted(samples: readonly number[]): number[] {
  if (samples.length === 0) throw new RangeError('no samples');
  if (samples.some((sample) => !Number.isFinite(sample))) throw new RangeError('samples must be finite numbers');
  return [...samples].sort((a, b) => a - b);
}

/**
 * The p-th percentile (0..100) by linear interpolation between closest ranks, as
 * numpy's default does: p0 is the minimum, p100 the maximum, p50 the median.
 */
export function percentile(samples: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const values = sorted(samples);
  const rank = (p / 100) * (values.length - 1);
  const below = Math.floor(rank);
  const above = Math.ceil(rank);
  return values[below]! + (values[above]! - values[below]!) * (rank - below);
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

export function mean(samples: readonly number[]): number {
  return sorted(samples).reduce((sum, value) => sum + value, 0) / samples.length;
}

/** Rounded to `digits` decimals, so the JSON carries figures, not float noise. */
export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Milliseconds since `start` (a performance.now() reading). */
export function elapsedMs(start: number): number {
  return performance.now() - start;
}
