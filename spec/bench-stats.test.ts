import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mean, median, percentile, round } from './bench/stats.ts';
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
