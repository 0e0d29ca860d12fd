import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bootstrapInterval, mean, median, percentile, round, seededRandom } from './bench/stats.ts';
import { meets, renderTable, type Figure } from './bench/table.ts';

const Stats = suite('bench stats');

Stats('should take the median of odd and even sample counts, in any order', () => {
  assert.is(median([3, 1, 2]), 2);
  assert.is(median([4, 1, 3, 2]), 2.5);
  assert.is(median([7]), 7);
});

Stats('should interpolate percentiles between closest ranks', () => {
  const samples = Array.from({ length: 101 }, (_, index) => 100 - index);
  assert.is(percentile(samples, 0), 0);
  assert.is(percentile(samples, 99), 99);
  assert.is(percentile(samples, 100), 100);
  assert.is(percentile([1, 2], 75), 1.75);
});

Stats('should let one slow sample move p99 but not p50', () => {
  const samples = [...Array.from({ length: 99 }, () => 1), 500];
  assert.is(percentile(samples, 50), 1);
  assert.ok(percentile(samples, 99) > 1);
});

Stats('should refuse no samples, non-finite samples and percentiles outside 0..100', () => {
  assert.throws(() => median([]), /no samples/);
  assert.throws(() => percentile([1, Number.NaN], 50), /finite/);
  assert.throws(() => percentile([1], 101), /0\.\.100/);
});

Stats('should average and round', () => {
  assert.is(mean([1, 2, 3, 4]), 2.5);
  assert.is(round(1.23456, 3), 1.235);
  assert.is(round(20286.6, 0), 20287);
});

Stats('should draw the same uniform numbers in [0, 1) for the same seed, and others for another', () => {
  const draw = (seed: number) => Array.from({ length: 1000 }, seededRandom(seed));
  const first = draw(7);
  assert.equal(draw(7), first);
  assert.not.equal(draw(8), first);
  assert.ok(first.every((value) => value >= 0 && value < 1));
  // Uniform: each tenth of [0, 1) gets about a tenth of the draws.
  for (let tenth = 0; tenth < 10; tenth++) {
    const count = first.filter((value) => Math.floor(value * 10) === tenth).length;
    assert.ok(count > 60 && count < 140, `tenth ${tenth} drew ${count} of 1000`);
  }
});

Stats('should bootstrap an interval that matches the normal one for the mean of a spread sample', () => {
  const samples = Array.from({ length: 100 }, (_, index) => index + 1);
  const interval = bootstrapInterval(samples, mean);
  // Normal theory: 50.5 ± 1.96 × 28.9 / √100, about 44.8 to 56.2.
  assert.ok(interval.low > 44 && interval.low < 46, `low ${interval.low}`);
  assert.ok(interval.high > 55 && interval.high < 57, `high ${interval.high}`);
  assert.is(interval.confidence, 0.95);
});

Stats('should bootstrap pairs together, a point for identical pairs and the same interval for the same seed', () => {
  const identical = Array.from({ length: 11 }, () => ({ none: 2000, autoami: 2040 }));
  const ratioOfMedians = (pairs: readonly { none: number; autoami: number }[]) => median(pairs.map((pair) => pair.autoami)) / median(pairs.map((pair) => pair.none));
  assert.equal(bootstrapInterval(identical, ratioOfMedians), { low: 1.02, high: 1.02, confidence: 0.95 });
  const noisy = identical.map((pair, index) => ({ none: pair.none + index * 37, autoami: pair.autoami + ((index * 53) % 400) }));
  const once = bootstrapInterval(noisy, ratioOfMedians, { seed: 3 });
  assert.equal(bootstrapInterval(noisy, ratioOfMedians, { seed: 3 }), once);
  assert.ok(once.low < ratioOfMedians(noisy) && ratioOfMedians(noisy) < once.high);
  const wider = bootstrapInterval(noisy, ratioOfMedians, { seed: 3, confidence: 0.99 });
  assert.ok(wider.low <= once.low && wider.high >= once.high);
});

Stats('should refuse a bootstrap of no samples, a confidence outside (0, 1) or no resamples', () => {
  assert.throws(() => bootstrapInterval([], mean), /no samples/);
  assert.throws(() => bootstrapInterval([1, 2], mean, { confidence: 1 }), /confidence/);
  assert.throws(() => bootstrapInterval([1, 2], mean, { resamples: 0 }), /resamples/);
});

Stats('should judge a figure against its target, and count no target as met', () => {
  const figure = (value: number, target: Figure['target']): Figure => ({ key: 'k', value, unit: '', target });
  assert.ok(meets(figure(2, { op: '<=', limit: 2 })));
  assert.not.ok(meets(figure(2, { op: '<', limit: 2 })));
  assert.ok(meets(figure(20_000, { op: '>=', limit: 20_000 })));
  assert.not.ok(meets(figure(1, { op: '==', limit: 0 })));
  assert.ok(meets(figure(123, null)));
});

Stats('should align table columns, numbers to the right', () => {
  assert.is(renderTable(['name', 'n'], [['a', '1'], ['long', '100']]), 'name    n\n----  ---\na       1\nlong  100');
});

Stats.run();
