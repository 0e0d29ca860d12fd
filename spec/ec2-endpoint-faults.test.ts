/** The EC2 endpoint's fault injection: throttling, token buckets, consistency lag, capacity and failed images. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CreateImageCommand, CreateTagsCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeRegionsCommand, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import { bakeImage, clientFor, describeOne, launch, launchOne, rejection, withEc2, type SdkError } from './support/ec2-endpoint-client.ts';

/** Records how the SDK itself classifies each failure before deciding on a retry; retries at once. */
function recordingRetries(maxAttempts: number): { kinds: string[]; strategy: NonNullable<EC2ClientConfig['retryStrategy']> } {
  const kinds: string[] = [];
  const token = (count: number) => ({ getRetryCount: () => count, getRetryDelay: () => 0, getRetryTokenCount: () => 0 });
  const strategy = {
    mode: 'standard',
    acquireInitialRetryToken: async () => token(0),
    refreshRetryTokenForRetry: async (previous: ReturnType<typeof token>, info: { errorType: string; error?: unknown }) => {
      kinds.push(info.errorType);
      const retryable = info.errorType === 'THROTTLING' || info.errorType === 'TRANSIENT' || info.errorType === 'SERVER_ERROR';
      if (!retryable || previous.getRetryCount() + 1 >= maxAttempts) throw info.error;
      return token(previous.getRetryCount() + 1);
    },
    recordSuccess: () => {},
  };
  return { kinds, strategy: strategy as unknown as NonNullable<EC2ClientConfig['retryStrategy']> };
}

const Faults = suite('ec2 fault injection');

Faults('should throttle every request at rate 1 with a 503 the SDK treats as retryable throttling', () =>
  withEc2({}, async (ep) => {
    ep.faults.set('DescribeImages', { throttleRate: 1 });
    const { kinds, strategy } = recordingRetries(3);
    const ec2 = clientFor(ep, { retryStrategy: strategy });
    const error = await rejection(ec2.send(new DescribeImagesCommand({})));
    ec2.destroy();
    assert.is(error.name, 'RequestLimitExceeded');
    assert.is(error.$metadata.httpStatusCode, 503);
    assert.is(error.$fault, 'server');
    assert.equal(kinds, ['THROTTLING', 'THROTTLING', 'THROTTLING']);
    assert.equal(ep.counts.of('DescribeImages'), { total: 3, ok: 0, errors: { RequestLimitExceeded: 3 } });
  }),
);

Faults('should throttle a seeded fraction of requests, the same way on every run', async () => {
  /** '.' for a served DescribeRegions, 'T' for a throttled one; optionally interleaving another action. */
  const pattern = async (seed: number, interleave: boolean): Promise<string> => {
    let outcome = '';
    await withEc2({ seed }, async (ep, ec2) => {
      ep.faults.set('DescribeRegions', { throttleRate: 0.5 });
      ep.faults.set('DescribeImages', { throttleRate: 0.5 });
      for (let n = 0; n < 40; n++) {
        if (interleave && n % 3 === 0) await ec2.send(new DescribeImagesCommand({})).catch(() => undefined);
        outcome += await ec2.send(new DescribeRegionsCommand({})).then(
          () => '.',
          () => 'T',
        );
      }
    });
    return outcome;
  };
  const first = await pattern(7, false);
  const throttled = [...first].filter((c) => c === 'T').length;
  assert.ok(throttled > 8 && throttled < 32, `throttled ${throttled} of 40`);
  assert.is(await pattern(7, false), first);
  // Each action draws from its own stream, so calls to another action do not shift this pattern.
  assert.is(await pattern(7, true), first);
  assert.is.not(await pattern(8, false), first);
});

Faults('should empty and refill a token bucket per action', () =>
  withEc2({}, async (ep, ec2) => {
    ep.faults.set('RunInstances', { bucket: { size: 5, refillPerSecond: 2 } });
    const outcomes: string[] = [];
    for (let n = 0; n < 7; n++) outcomes.push(await launch(ec2).then(() => 'ok', (e: SdkError) => e.name));
    assert.equal(outcomes, ['ok', 'ok', 'ok', 'ok', 'ok', 'RequestLimitExceeded', 'RequestLimitExceeded']);
    await ec2.send(new DescribeInstancesCommand({}));
    ep.clock.advance(500);
    assert.is(await launch(ec2).then(() => 'ok', (e: SdkError) => e.name), 'ok');
    assert.is(await launch(ec2).then(() => 'ok', (e: SdkError) => e.name), 'RequestLimitExceeded');
    ep.clock.advance(10_000);
    for (let n = 0; n < 5; n++) await launch(ec2);
    assert.equal(ep.counts.of('RunInstances'), { total: 14, ok: 11, errors: { RequestLimitExceeded: 3 } });
    assert.equal(ep.counts.of('DescribeInstances'), { total: 1, ok: 1, errors: {} });
  }),
);

Faults('should hide new instances and images from Describe calls during the consistency lag', () =>
  withEc2({}, async (ep, ec2) => {
    ep.faults.set('DescribeInstances', { consistencyLagMs: 200 });
    ep.faults.set('DescribeImages', { consistencyLagMs: 200 });
    ep.faults.set('CreateTags', { consistencyLagMs: 200 });
    const id = await launchOne(ec2);
    const early = await rejection(describeOne(ec2, id));
    assert.is(early.name, 'InvalidInstanceID.NotFound');
    assert.match(early.message, new RegExp(id));
    assert.is((await ec2.send(new DescribeInstancesCommand({}))).Reservations?.length, 0);
    const tagging = await rejection(ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'k', Value: 'v' }] })));
    assert.is(tagging.name, 'InvalidInstanceID.NotFound');
    ep.clock.advance(200);
    assert.is((await describeOne(ec2, id)).InstanceId, id);

    const { ImageId } = await ec2.send(new CreateImageCommand({ InstanceId: id, Name: 'autoami-lag-1' }));
    const hidden = await rejection(ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId as string] })));
    assert.is(hidden.name, 'InvalidAMIID.NotFound');
    ep.clock.advance(200);
    assert.is((await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId as string] }))).Images?.[0]?.ImageId, ImageId);
  }),
);

Faults('should answer InsufficientInstanceCapacity with a 500 for the next N launches', () =>
  withEc2({}, async (ep) => {
    ep.faults.set('RunInstances', { insufficientCapacity: 2 });
    const { kinds, strategy } = recordingRetries(1);
    const ec2 = clientFor(ep, { retryStrategy: strategy });
    for (let n = 0; n < 2; n++) {
      const error = await rejection(launch(ec2, { InstanceType: 'c5.large' }));
      assert.is(error.name, 'InsufficientInstanceCapacity');
      assert.is(error.$metadata.httpStatusCode, 500);
      assert.match(error.message, /c5\.large capacity/);
    }
    assert.equal(kinds, ['TRANSIENT', 'TRANSIENT']);
    await launchOne(ec2);
    ec2.destroy();
    assert.equal(ep.counts.of('RunInstances'), { total: 3, ok: 1, errors: { InsufficientInstanceCapacity: 2 } });
    assert.is(ep.instances().length, 1);
  }),
);

Faults('should answer InsufficientInstanceCapacity always until cleared', () =>
  withEc2({}, async (ep, ec2) => {
    ep.faults.set('RunInstances', { insufficientCapacity: 'always' });
    for (let n = 0; n < 3; n++) assert.is((await rejection(launch(ec2))).name, 'InsufficientInstanceCapacity');
    ep.faults.clear('RunInstances');
    await launchOne(ec2);
  }),
);

Faults('should let the next N images end in failed with a state reason', () =>
  withEc2({}, async (ep, ec2) => {
    ep.faults.set('CreateImage', { failImages: 1, imageFailure: { message: 'Snapshot creation failed' } });
    const failed = await bakeImage(ep, ec2, 'autoami-fail-1');
    const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [failed] }))).Images?.[0];
    assert.is(image?.State, 'failed');
    assert.equal(image?.StateReason, { Code: 'Server.InternalError', Message: 'Snapshot creation failed' });
    const ok = await bakeImage(ep, ec2, 'autoami-fail-2');
    assert.is((await ec2.send(new DescribeImagesCommand({ ImageIds: [ok] }))).Images?.[0]?.State, 'available');
  }),
);

Faults('should inject any error code for the next N calls', () =>
  withEc2({}, async (ep, ec2) => {
    ep.faults.set('DescribeRegions', { error: { code: 'Unavailable', message: 'try later', times: 1 } });
    const error = await rejection(ec2.send(new DescribeRegionsCommand({})));
    assert.is(error.name, 'Unavailable');
    assert.is(error.$metadata.httpStatusCode, 503);
    await ec2.send(new DescribeRegionsCommand({}));
    assert.equal(ep.counts.all().DescribeRegions, { total: 2, ok: 1, errors: { Unavailable: 1 } });
    assert.is(ep.counts.total(), 2);
  }),
);

Faults('should take effect at once but hold the reply for replyDelayMs', () =>
  withEc2({}, async (ep, ec2) => {
    const id = await launchOne(ec2);
    ep.faults.set('CreateTags', { replyDelayMs: 400 });
    let answered = false;
    const tagging = ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'held', Value: 'yes' }] })).then(() => (answered = true));
    const start = Date.now();
    while (ep.instance(id)?.tags.get('held') !== 'yes') {
      assert.ok(Date.now() - start < 5_000, 'the tag never showed');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.not.ok(answered, 'the reply came before the hold ended');
    await tagging;
    assert.ok(Date.now() - start >= 300, 'the reply was held');
  }),
);

Faults.run();
