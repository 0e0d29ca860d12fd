/**
 * The estimate of when a wait's change is due, from the windows of the last few, and what it
 * gives over many waits with the schedule that follows it: few looks, little lateness, and
 * a quick return to both when the delay changes.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { estimate } from '../runtime/ec2/wait-estimate.ts';
import { nextLook } from '../runtime/ec2/wait-schedule.ts';
import type { WaitWindow } from '../runtime/ec2/types.ts';

const P = 500;
const Estimate = suite('wait estimate');

Estimate('should expect nothing without history, so the wait looks every interval', () => {
  assert.is(estimate([], P), undefined);
  assert.is(estimate([{ notYetMs: 900, seenMs: 900 }, { notYetMs: -5, seenMs: 10 }], P), undefined, 'windows that hold nothing are left out');
});

Estimate('should look first a tenth of an interval past the middle of a single window, and by its end at the latest', () => {
  assert.equal(estimate([{ notYetMs: 8_000, seenMs: 8_500 }], P), { expectedMs: 8_300, latestMs: 8_500 });
  assert.equal(estimate([{ notYetMs: 8_000, seenMs: 8_040 }], P), { expectedMs: 8_040, latestMs: 8_040 }, 'never past where it was seen');
});

Estimate('should narrow to the overlap of windows that agree, a wide one from early looks included', () => {
  const windows = [{ notYetMs: 5_500, seenMs: 8_350 }, { notYetMs: 8_000, seenMs: 8_500 }];
  assert.equal(estimate(windows, P), { expectedMs: 8_225, latestMs: 8_350 });
});

Estimate('should go by the newest windows when older ones disagree, but look no later than any recent wait was over', () => {
  // The delay grew from about 8 s to about 12 s: the old windows miss the new one.
  const windows = [{ notYetMs: 12_000, seenMs: 12_300 }, { notYetMs: 8_000, seenMs: 8_300 }, { notYetMs: 7_900, seenMs: 8_400 }];
  assert.equal(estimate(windows, P), { expectedMs: 8_300, latestMs: 12_300 });
  // It shrank: the newest window, from an early look, is the one to go by.
  assert.equal(estimate([{ notYetMs: 6_000, seenMs: 9_000 }, { notYetMs: 12_000, seenMs: 12_300 }], P), { expectedMs: 7_550, latestMs: 9_000 });
});

/**
 * Waits whose change comes `changesMs` after each begins, one after another, each looking as
 * the schedule says with the estimate from the windows before it (five kept, as the store
 * does); every Describe takes `roundTripMs`. Per wait: looks taken and how late the change was seen.
 */
function simulate(changesMs: readonly number[], roundTripMs = 10): { looks: number; lateMs: number }[] {
  const windows: WaitWindow[] = [];
  return changesMs.map((change) => {
    const expect = estimate(windows, P);
    let last: number | undefined;
    let notYet = 0;
    for (let looks = 1; ; looks++) {
      const at = nextLook(expect, P, last);
      // EC2 answers half a round trip after the call is asked.
      if (at + roundTripMs / 2 >= change) {
        windows.unshift({ notYetMs: notYet, seenMs: at + roundTripMs });
        windows.splice(5);
        return { looks, lateMs: at + roundTripMs - change };
      }
      notYet = at;
      last = at;
    }
  });
}

Estimate('should, with a stable delay, soon look about four times per wait and see the change within a quarter of an interval', () => {
  const waits = simulate([8_230, 8_230, 8_230, 8_240, 8_220, 8_230, 8_230, 8_230]);
  assert.is(waits[0]!.looks, 18, 'the first, without history, looks every interval');
  for (const wait of waits.slice(2)) {
    assert.ok(wait.looks <= 5, `looks ${JSON.stringify(waits)}`);
    assert.ok(wait.lateMs <= P / 4, `late ${JSON.stringify(waits)}`);
  }
});

Estimate('should follow a delay that grows, late by less than an interval meanwhile', () => {
  const waits = simulate([8_230, 8_230, 8_230, ...Array(8).fill(12_230)]);
  for (const wait of waits.slice(3)) assert.ok(wait.lateMs <= P, `late ${JSON.stringify(waits)}`);
  // Looks come back down once the old delay's windows are out of the five kept.
  for (const wait of waits.slice(-2)) assert.ok(wait.looks <= 5 && wait.lateMs <= P / 4, JSON.stringify(waits));
});

Estimate('should follow a delay that shrinks, seeing it at an early look first', () => {
  const waits = simulate([12_230, 12_230, 12_230, ...Array(6).fill(8_230)]);
  // 7/8 of the old expected moment, about 10.8 s, is the early look that sees it first.
  assert.ok(waits[3]!.lateMs < 12_230 / 4, JSON.stringify(waits));
  for (const wait of waits.slice(5)) assert.ok(wait.looks <= 5 && wait.lateMs <= P / 4, JSON.stringify(waits));
});

Estimate.run();
