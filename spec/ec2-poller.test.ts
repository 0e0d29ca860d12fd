/** The Poller behind every EC2 wait: one Describe per tick for all waiters, on an injected clock. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Poller } from '../runtime/ec2/poller.ts';
import { instanceDeadEnd } from '../runtime/ec2/states.ts';
import type { InstanceInfo, WaitWindow } from '../runtime/ec2/types.ts';
import { Ec2Error, Ec2WaitTimeout } from '../runtime/errors.ts';
import { DEBIAN_12_IMAGE_ID } from './support/ec2-endpoint.ts';
import { rejects } from './support/rejects.ts';

const rejection = (promise: Promise<unknown>): Promise<Error> => rejects(promise);

const poller = suite('Poller');

/** A clock that only moves when the poller sleeps, and a Describe scripted by the test. */
function fakePoller(describe: (ids: string[]) => Promise<Map<string, InstanceInfo>>): { poller: Poller<InstanceInfo>; clock: { now(): number } } {
  let now = 1_000;
  const clock = { now: () => now };
  const sleep = async (ms: number): Promise<void> => {
    now += ms;
  };
  return { poller: new Poller({ noun: 'instance', describe, stateOf: (i) => i.state, deadEnd: instanceDeadEnd, intervalMs: 2_000, clock, sleep }), clock };
}

const instanceIn = (id: string, state: string): InstanceInfo => ({
  id, state, imageId: DEBIAN_12_IMAGE_ID, type: 't3.micro', publicDns: null, publicIp: null, privateIp: null, launchTime: null, rootDeviceType: 'ebs', tags: {},
});

poller('should ask for at most 200 ids per call', async () => {
  const sizes: number[] = [];
  const { poller: p, clock } = fakePoller(async (ids) => {
    sizes.push(ids.length);
    return new Map(ids.map((id) => [id, instanceIn(id, 'running')]));
  });
  const ids = Array.from({ length: 450 }, (_, n) => `i-${n.toString(16).padStart(17, '0')}`);
  const done = await Promise.all(ids.map((id) => p.wait(id, ['running'], { deadline: clock.now() + 60_000 })));
  assert.is(done.length, 450);
  assert.equal(sizes, [200, 200, 50]);
  assert.is(p.pending, 0);
});

poller('should keep waiting through retryable failures until the deadline, naming the last error', async () => {
  let calls = 0;
  const throttled = Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } });
  const { poller: p, clock } = fakePoller(async () => {
    calls += 1;
    throw new Ec2Error('RequestLimitExceeded', 'EC2 kept throttling DescribeInstances', { cause: throttled });
  });
  const error = await rejection(p.wait('i-0123456789abcdef0', ['running'], { deadline: clock.now() + 10_000 }));
  assert.instance(error, Ec2WaitTimeout);
  assert.is(error.message, 'timed out after 10 s waiting for instance i-0123456789abcdef0 to be running (last state: not visible yet; last error: EC2 kept throttling DescribeInstances)');
  assert.is(calls, 6, 'one call at the start and one per 2 s tick, the last at the deadline');
});

poller('should reject at once on a non-retryable failure', async () => {
  const { poller: p, clock } = fakePoller(async () => {
    throw new Ec2Error('UnauthorizedOperation', 'credentials lack permission for ec2:DescribeInstances');
  });
  const error = await rejection(p.wait('i-0123456789abcdef0', ['running'], { deadline: clock.now() + 10_000 }));
  assert.not.instance(error, Ec2WaitTimeout);
  assert.is((error as Ec2Error).awsCode, 'UnauthorizedOperation');
  assert.is(clock.now(), 1_000, 'no tick was waited for');
});

/**
 * A fake EC2 for the schedule specs: each instance is pending until its time (relative to
 * the clock's start) and running after, or terminated after when `dead`. Every Describe is
 * kept with the time it was asked at (relative) and the ids it asked for.
 */
function scriptedPoller(changes: Record<string, number>, options: { intervalMs?: number; coalesceMs?: number; dead?: string[] } = {}) {
  const START = 1_000;
  let now = START;
  const clock = { now: () => now };
  const calls: { at: number; ids: string[] }[] = [];
  const describe = async (ids: string[]) => {
    calls.push({ at: now - START, ids: [...ids].sort() });
    const changed = (id: string) => now - START >= changes[id]!;
    return new Map(ids.map((id) => [id, instanceIn(id, !changed(id) ? 'pending' : options.dead?.includes(id) ? 'terminated' : 'running')]));
  };
  const sleep = async (ms: number): Promise<void> => {
    now += ms;
  };
  const p = new Poller({ noun: 'instance', describe, stateOf: (i) => i.state, deadEnd: instanceDeadEnd, intervalMs: options.intervalMs ?? 500, clock, sleep, ...(options.coalesceMs !== undefined && { coalesceMs: options.coalesceMs }) });
  return { poller: p, calls, at: () => now - START, deadline: START + 600_000 };
}

const schedule = suite('Poller schedule');

schedule('should look every interval from the start when the wait has no expectation, and say where the change fell', async () => {
  const { poller: p, calls, deadline } = scriptedPoller({ 'i-0aaaaaaaaaaaaaaa1': 2_250 });
  const windows: WaitWindow[] = [];
  await p.wait('i-0aaaaaaaaaaaaaaa1', ['running'], { deadline, onObserved: (window) => windows.push(window) });
  assert.equal(calls.map((c) => c.at), [0, 500, 1_000, 1_500, 2_000, 2_500]);
  assert.equal(windows, [{ notYetMs: 2_000, seenMs: 2_500 }]);
});

schedule('should look only now and then before the expected moment, then closely from it', async () => {
  const { poller: p, calls, deadline } = scriptedPoller({ 'i-0aaaaaaaaaaaaaaa1': 8_260 });
  const windows: WaitWindow[] = [];
  await p.wait('i-0aaaaaaaaaaaaaaa1', ['running'], { deadline, expect: { expectedMs: 8_000, latestMs: 8_300 }, onObserved: (window) => windows.push(window) });
  // Half, three quarters and seven eighths of the way; the expected moment misses, and the
  // next look goes to where earlier waits had all seen it, sooner than a whole interval.
  assert.equal(calls.map((c) => c.at), [4_000, 6_000, 7_000, 8_000, 8_300]);
  assert.equal(windows, [{ notYetMs: 8_000, seenMs: 8_300 }]);
});

schedule('should look every interval after the expected moment once that has passed too', async () => {
  const { poller: p, calls, deadline } = scriptedPoller({ 'i-0aaaaaaaaaaaaaaa1': 9_100 });
  await p.wait('i-0aaaaaaaaaaaaaaa1', ['running'], { deadline, expect: { expectedMs: 8_000, latestMs: 8_000 } });
  assert.equal(calls.map((c) => c.at), [4_000, 6_000, 7_000, 8_000, 8_500, 9_000, 9_500]);
});

schedule('should see a dead end before the expected moment, at an early look', async () => {
  const { poller: p, calls, deadline } = scriptedPoller({ 'i-0aaaaaaaaaaaaaaa1': 1_500 }, { dead: ['i-0aaaaaaaaaaaaaaa1'] });
  let observed = 0;
  const error = await rejection(p.wait('i-0aaaaaaaaaaaaaaa1', ['running'], { deadline, expect: { expectedMs: 20_000, latestMs: 20_500 }, onObserved: () => observed++ }));
  assert.instance(error, Ec2Error);
  assert.match(error.message, 'terminated');
  assert.equal(calls.map((c) => c.at), [10_000], 'the first early look, half way, not the expected moment');
  assert.is(observed, 0, 'a dead end is no observation of the change');
});

schedule('should never put a waiter alone off', async () => {
  const { poller: p, calls, deadline } = scriptedPoller({ 'i-0aaaaaaaaaaaaaaa1': 5_000 }, { coalesceMs: 2_000 });
  await p.wait('i-0aaaaaaaaaaaaaaa1', ['running'], { deadline, expect: { expectedMs: 5_000, latestMs: 5_000 } });
  assert.equal(calls.map((c) => c.at), [2_500, 3_750, 4_375, 5_000]);
});

schedule('should put a due tick off to the next waiter due within the window, so one call serves both', async () => {
  const { poller: p, calls, deadline } = scriptedPoller({ 'i-0aaaaaaaaaaaaaaa1': 7_900, 'i-0bbbbbbbbbbbbbbb2': 8_100 });
  const a = p.wait('i-0aaaaaaaaaaaaaaa1', ['running'], { deadline, expect: { expectedMs: 8_000, latestMs: 8_000 } });
  const b = p.wait('i-0bbbbbbbbbbbbbbb2', ['running'], { deadline, expect: { expectedMs: 8_200, latestMs: 8_200 } });
  await Promise.all([a, b]);
  // Alone, a would look at 4 000, 6 000, 7 000, 8 000 and b at 4 100, 6 150, 7 175, 8 200. Early
  // looks wait for nobody (a's serve b's too); a's close look waits 200 ms for b's.
  assert.equal(calls.map((c) => c.at), [4_000, 6_000, 7_000, 8_200]);
  assert.ok(calls.every((c) => c.ids.length === 2), 'every call asked for both');
});

schedule('should let a waiter that looks now and then ride on the ticks of others, forcing none of its own', async () => {
  const { poller: p, calls, deadline } = scriptedPoller({ 'i-0aaaaaaaaaaaaaaa1': 6_200, 'i-0bbbbbbbbbbbbbbb2': 5_100 });
  const seen: Record<string, WaitWindow> = {};
  const a = p.wait('i-0aaaaaaaaaaaaaaa1', ['running'], { deadline, onObserved: (window) => (seen.a = window) });
  const b = p.wait('i-0bbbbbbbbbbbbbbb2', ['running'], { deadline, expect: { expectedMs: 5_000, latestMs: 5_000 }, onObserved: (window) => (seen.b = window) });
  await Promise.all([a, b]);
  assert.equal(calls.map((c) => c.at), [0, 500, 1_000, 1_500, 2_000, 2_500, 3_000, 3_500, 4_000, 4_500, 5_000, 5_500, 6_000, 6_500]);
  // b was seen on a's grid: missed at 5 000, seen at 5 500.
  assert.equal(seen, { a: { notYetMs: 6_000, seenMs: 6_500 }, b: { notYetMs: 5_000, seenMs: 5_500 } });
});

schedule('should look at a waiter registered during a long pause at once, not when the pause would have ended', async () => {
  let now = 1_000;
  const sleeps: number[] = [];
  const calls: { at: number; ids: string[] }[] = [];
  const p = new Poller({
    noun: 'instance', stateOf: (i) => i.state, deadEnd: instanceDeadEnd, intervalMs: 500, clock: { now: () => now },
    describe: async (ids) => {
      calls.push({ at: now, ids: [...ids].sort() });
      return new Map(ids.map((id) => [id, instanceIn(id, id === 'i-0bbbbbbbbbbbbbbb2' ? 'running' : 'pending')]));
    },
    // Held: the clock never moves, so only a registration can end the pause.
    sleep: (ms) => new Promise<void>(() => void sleeps.push(ms)),
  });
  const controller = new AbortController();
  const a = p.wait('i-0aaaaaaaaaaaaaaa1', ['running'], { deadline: now + 600_000, signal: controller.signal, expect: { expectedMs: 40_000, latestMs: 40_000 } });
  for (let turn = 0; turn < 20 && sleeps.length === 0; turn++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(sleeps, [20_000], 'a pauses until half way to its expected moment');
  await p.wait('i-0bbbbbbbbbbbbbbb2', ['running'], { deadline: now + 600_000 });
  assert.equal(calls, [{ at: 1_000, ids: ['i-0aaaaaaaaaaaaaaa1', 'i-0bbbbbbbbbbbbbbb2'] }], 'one call at once, which asked for a too');
  controller.abort();
  await rejection(a);
});

schedule('should still give up at the deadline, with one last look there, when the expected moment is beyond it', async () => {
  const { poller: p, calls } = scriptedPoller({ 'i-0aaaaaaaaaaaaaaa1': 100_000 });
  const error = await rejection(p.wait('i-0aaaaaaaaaaaaaaa1', ['running'], { deadline: 1_000 + 30_000, expect: { expectedMs: 90_000, latestMs: 90_000 } }));
  assert.instance(error, Ec2WaitTimeout);
  assert.equal(calls.map((c) => c.at), [30_000]);
});

poller.run();
schedule.run();
