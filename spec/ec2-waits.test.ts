/**
 * Waits on EC2 end when their AbortSignal aborts (the sidecar stops, the client hangs up),
 * at once and with ShuttingDown, not at their deadline. Time is held by the test: no sleep
 * ends and no clock moves unless it says so, so a wait that ends can only have been aborted.
 */
import './support/aws-env.ts';
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Ec2Adapter } from '../runtime/ec2/adapter.ts';
import { createEc2Client } from '../runtime/ec2/client.ts';
import { Pacer } from '../runtime/ec2/pacer.ts';
import { AutoamiError, ErrorCode } from '../runtime/errors.ts';
import { Metrics } from '../runtime/metrics.ts';
import { WaitAborted } from '../runtime/errors.ts';
import { DEBIAN_12_IMAGE_ID, startEc2Endpoint, type Ec2Endpoint } from './support/ec2-endpoint.ts';
import { rejects } from './support/rejects.ts';

const START = 1_700_000_000_000;
const HOUR = 60 * 60_000;

/** A clock that moves only by `advance`, and sleeps that end only by `wake`. */
function heldTime() {
  let now = START;
  const sleeps: { ms: number; wake: () => void }[] = [];
  return {
    clock: { now: () => now },
    sleep: (ms: number) => new Promise<void>((wake) => void sleeps.push({ ms, wake })),
    sleeps,
    advance: (ms: number) => void (now += ms),
  };
}

/** Real time, only to let an HTTP round trip to the endpoint finish; bounded so a bug fails rather than hangs. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) assert.unreachable(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** `promise`, or a rejection naming the hang: a wait that ignores its abort would otherwise never end, under held time. */
function promptly<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('still waiting 5 s after the abort')), 5_000)));
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}

const stopping = () => new AutoamiError(ErrorCode.ShuttingDown, 'the sidecar is stopping');

interface Context {
  ep: Ec2Endpoint;
  ec2: Ec2Adapter;
  time: ReturnType<typeof heldTime>;
  close: () => void;
}

const Waits = suite<Context>('EC2 waits');

Waits.before.each(async (context) => {
  // A manual clock: an image stays pending until the test advances the endpoint.
  context.ep = await startEc2Endpoint({ manualClock: true });
  context.time = heldTime();
  const client = createEc2Client({ region: 'us-east-1', endpoint: context.ep.url, profile: undefined }, undefined, { maxAttempts: 1 });
  context.close = () => client.destroy();
  const { clock, sleep } = context.time;
  context.ec2 = new Ec2Adapter({ client, region: 'us-east-1', endpoint: context.ep.url, clock, sleep, pollIntervalMs: 2_000, metrics: Metrics.off() });
});

Waits.after.each(async ({ ep, close }) => {
  close();
  await ep.stop();
});

async function pendingImage({ ep, ec2 }: Context): Promise<string> {
  const instance = await ec2.launch({
    image: DEBIAN_12_IMAGE_ID,
    type: 't3.micro',
    keyname: 'bake-key',
    subnet: null,
    securityGroup: null,
    userData: null,
    clientToken: randomUUID(),
    tags: {},
    encryptRoot: null,
  });
  ep.clock.advance(1_000);
  return ec2.createImage({ instanceId: instance.id, name: `waits-${randomUUID()}`, description: '', noReboot: true, tags: {} });
}

Waits('should end an image wait at once when its signal aborts, with ShuttingDown', async (context) => {
  const { ep, ec2, time } = context;
  const imageId = await pendingImage(context);
  const controller = new AbortController();
  const states: string[] = [];
  const waiting = ec2.waitForImage(imageId, { deadline: START + HOUR, signal: controller.signal, onState: (state) => states.push(state) });
  await until(() => time.sleeps.length === 1, 'the poller sleeps after its first DescribeImages');
  assert.equal(states, ['pending']);
  const asked = ep.counts.total('DescribeImages');

  controller.abort(stopping());
  const error = await rejects(promptly(waiting), WaitAborted);
  assert.is(error.code, ErrorCode.ShuttingDown);
  assert.is(error.message, `stopped waiting for image ${imageId} to be available: the sidecar is stopping`);
  assert.is(time.clock.now(), START, 'ended without the clock moving toward the deadline');

  // The poller has no one left to ask for: once its sleep ends, it stops rather than polling on.
  time.sleeps[0]!.wake();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.is(ep.counts.total('DescribeImages'), asked);
  assert.is(time.sleeps.length, 1);
});

Waits('should not ask EC2 at all when the signal has already aborted', async ({ ep, ec2 }) => {
  const controller = new AbortController();
  controller.abort(stopping());
  const error = await rejects(ec2.waitForInstance('i-0123456789abcdef0', ['running'], { deadline: START + HOUR, signal: controller.signal }), WaitAborted);
  assert.is(error.code, ErrorCode.ShuttingDown);
  assert.is(ep.counts.total('DescribeInstances'), 0);
});

Waits('should end only the aborted wait, leaving the others to their outcome', async (context) => {
  const { ep, ec2, time } = context;
  const imageId = await pendingImage(context);
  const leaving = new AbortController();
  const aborted = ec2.waitForImage(imageId, { deadline: START + HOUR, signal: leaving.signal });
  const staying = ec2.waitForImage(imageId, { deadline: START + HOUR, signal: new AbortController().signal });
  await until(() => time.sleeps.length === 1, 'the poller sleeps after its first DescribeImages');

  leaving.abort(stopping());
  await rejects(promptly(aborted), WaitAborted);
  ep.clock.advance(1_000);
  time.advance(2_000);
  time.sleeps[0]!.wake();
  assert.is((await staying).state, 'available');
});

Waits('should take a queued launch out of the pacer when its signal aborts, spending no token', async () => {
  const time = heldTime();
  const launches = new Pacer({ size: 1, refillPerSecond: 1 }, time.sleep, time.clock);
  await launches.take();
  const controller = new AbortController();
  const second = launches.take(controller.signal);
  const third = launches.take();
  await until(() => time.sleeps.length === 1, 'the second caller waits for a token');

  controller.abort(stopping());
  const error = await rejects(promptly(second), WaitAborted);
  assert.is(error.code, ErrorCode.ShuttingDown);
  // The third caller now waits in its own sleep: the second left the queue.
  await until(() => time.sleeps.length === 2, 'the third caller waits for a token');
  time.advance(1_000);
  time.sleeps[1]!.wake();
  await third;
  assert.is(time.sleeps.length, 2, 'the one refilled token went to the third caller');
});

Waits.run();
