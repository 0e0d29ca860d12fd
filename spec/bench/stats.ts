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

/**
 * A seeded generator of uniform numbers in [0, 1) (mulberry32): a bootstrap over the same
 * samples gives the same interval every time, so a printed interval can be checked.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 2 ** 32;
  };
}

export interface Interval {
  readonly low: number;
  readonly high: number;
  /** 0..1: the share of resampled statistics the interval holds, e.g. 0.95. */
  readonly confidence: number;
}

export interface BootstrapOptions {
  readonly confidence?: number;
  readonly resamples?: number;
  readonly seed?: number;
}

/**
 * Percentile bootstrap interval of `statistic` over `items`. Whole items are resampled with
 * replacement, so when an item is a pair of runs made back to back its two sides stay together.
 */
export function bootstrapInterval<T>(items: readonly T[], statistic: (sample: readonly T[]) => number, options: BootstrapOptions = {}): Interval {
  const { confidence = 0.95, resamples = 2000, seed = 1 } = options;
  if (items.length === 0) throw new RangeError('no samples');
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be within (0, 1), got ${confidence}`);
  if (!(Number.isInteger(resamples) && resamples >= 1)) throw new RangeError(`resamples must be a positive integer, got ${resamples}`);
  const random = seededRandom(seed);
  const statistics = Array.from({ length: resamples }, () =>
    statistic(Array.from({ length: items.length }, () => items[Math.floor(random() * items.length)]!)),
  );
  const tail = ((1 - confidence) / 2) * 100;
  return { low: percentile(statistics, tail), high: percentile(statistics, 100 - tail), confidence };
}
