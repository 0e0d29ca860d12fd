/** The Poller behind every EC2 wait: one Describe per tick for all waiters, on an injected clock. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Poller } from '../runtime/ec2/poller.ts';
import { instanceDeadEnd } from '../runtime/ec2/states.ts';
import type { InstanceInfo } from '../runtime/ec2/types.ts';
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

poller.run();
