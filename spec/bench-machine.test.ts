import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpuNow, cpuTimes, percentOf, stolenShare } from './bench/machine.ts';

const Steal = suite('bench machine steal');

const STAT = ['cpu  100 5 40 800 20 0 10 25 7 0', 'cpu0 50 2 20 400 10 0 5 13 3 0', 'intr 12345'].join('\n');

Steal('should read steal and the total of the first eight fields of the aggregate cpu line', () => {
  assert.equal(cpuTimes(STAT), { steal: 25, total: 1000 });
});

Steal('should give the stolen share of the time between two readings', () => {
  const later = cpuTimes('cpu  150 5 60 1000 20 0 10 125 9 0\n');
  assert.is(stolenShare(cpuTimes(STAT), later), 100 / 370);
  assert.is(percentOf(stolenShare(cpuTimes(STAT), later)), '27.0 %');
  assert.is(stolenShare(later, later), 0);
});

Steal('should refuse a stat without an aggregate cpu line, naming what it read', () => {
  assert.throws(() => cpuTimes('cpu0 1 2 3 4 5 6 7 8\n'), /no aggregate cpu line.*cpu0 1 2/);
  assert.throws(() => cpuTimes('cpu  1 2 3\n'), /8 fields/);
});

Steal('should read this machine, whose counters only grow', () => {
  const first = cpuNow();
  const second = cpuNow();
  assert.ok(first.total > 0 && second.total >= first.total && second.steal >= first.steal);
  const share = stolenShare(first, second);
  assert.ok(share >= 0 && share <= 1, String(share));
});

Steal.run();
