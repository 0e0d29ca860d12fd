import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Ec2Error } from '../runtime/errors.ts';
import { isPassingEc2Failure } from '../runtime/ec2/failures.ts';
import { JITTER_MARGIN_MS, Pacer, RUN_INSTANCES_BUCKET } from '../runtime/ec2/pacer.ts';

/** Time moves only when the pacer sleeps, so each call's moment is exact. */
function steppedTime() {
  let now = 1_000_000;
  return { clock: { now: () => now }, sleep: async (ms: number) => void (now += ms), elapsed: () => now - 1_000_000 };
}

const pacer = suite('Pacer');

pacer('should let a full bucket through at once and then one call per refill', async () => {
  const time = steppedTime();
  const launches = new Pacer(RUN_INSTANCES_BUCKET, time.sleep, time.clock);
  const moments: number[] = [];
  for (let i = 0; i < 9; i++) {
    await launches.take();
    moments.push(time.elapsed());
  }
  assert.equal(moments, [0, 0, 0, 0, 0, 500, 1000, 1500, 2000]);
});

pacer('should serve callers in the order they asked', async () => {
  const time = steppedTime();
  const launches = new Pacer({ size: 1, refillPerSecond: 10 }, time.sleep, time.clock);
  const order: number[] = [];
  await Promise.all([0, 1, 2, 3].map((n) => launches.take().then(() => void order.push(n))));
  assert.equal(order, [0, 1, 2, 3]);
  assert.is(time.elapsed(), 300);
});

pacer('should refill while idle, up to the bucket size only', async () => {
  const time = steppedTime();
  const launches = new Pacer({ size: 2, refillPerSecond: 1 }, time.sleep, time.clock);
  await launches.take();
  await launches.take();
  await time.sleep(60_000);
  const before = time.elapsed();
  for (let i = 0; i < 3; i++) await launches.take();
  assert.is(time.elapsed() - before, 1000, 'two saved tokens, then a wait for the third');
});

pacer('should start again from an empty bucket when EC2 answers a call throttled', async () => {
  const time = steppedTime();
  const launches = new Pacer(RUN_INSTANCES_BUCKET, time.sleep, time.clock);
  await launches.take();
  await time.sleep(100);
  launches.throttled();
  const before = time.elapsed();
  await launches.take();
  assert.is(time.elapsed() - before, 500 + JITTER_MARGIN_MS, 'four tokens it counted were not there: a full refill and the margin first');
  await launches.take();
  assert.is(time.elapsed() - before, 1000 + JITTER_MARGIN_MS, 'and the refill rate after it');
});

const passing = suite('isPassingEc2Failure');

passing('should wait out throttling, unreachable endpoints and EC2 outages', () => {
  for (const code of ['RequestLimitExceeded', 'Throttling', 'ECONNREFUSED', 'TimeoutError', 'ServiceUnavailable', 'InternalError']) {
    assert.ok(isPassingEc2Failure(new Ec2Error(code, `x (${code})`)), code);
  }
});

passing('should end a bake on capacity, permission and missing-resource errors', () => {
  for (const code of ['InsufficientInstanceCapacity', 'UnauthorizedOperation', 'InvalidAMIID.NotFound', 'AuthFailure']) {
    assert.not.ok(isPassingEc2Failure(new Ec2Error(code, `x (${code})`)), code);
  }
  assert.not.ok(isPassingEc2Failure(new Error('RequestLimitExceeded')), 'only an Ec2Error is judged');
});

pacer.run();
passing.run();
