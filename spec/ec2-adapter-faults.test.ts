/** Ec2Adapter under faults: throttling, no endpoint, no credentials, no permission, failing Describes. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Ec2Adapter } from '../runtime/ec2/adapter.ts';
import { createEc2Client } from '../runtime/ec2/client.ts';
import { Ec2Error, Ec2WaitTimeout } from '../runtime/errors.ts';
import { Metrics } from '../runtime/metrics.ts';
import { HANG_MS, launchSpec, rejection, within, withRig } from './support/ec2-rig.ts';

const faults = suite('Ec2Adapter under faults');

faults('should ride out throttling and an empty token bucket with adaptive retry', () =>
  withRig({}, async ({ ep, ec2 }) => {
    // Adaptive mode sets its post-throttle send rate from the rate it measured before: a
    // client that was busy (the one that gets throttled) keeps most of its pace, a cold one
    // would crawl at 0.5 requests/s and make this test slow for no insight.
    const warm = Date.now();
    while (Date.now() - warm < 600) await ec2.ping();
    ep.counts.reset();
    ep.faults.set('RunInstances', { throttleRate: 0.3 });
    // A bucket that never refills: of four pings at once, exactly two find it empty, however
    // slowly they arrive. Once they have, it is refilled, and their retries get through.
    ep.faults.set('DescribeRegions', { bucket: { size: 2, refillPerSecond: 0 } });
    const pings = Promise.all(Array.from({ length: 4 }, () => ec2.ping()));
    const deadline = Date.now() + HANG_MS;
    while (ep.counts.errors('DescribeRegions', 'RequestLimitExceeded') < 2) {
      assert.ok(Date.now() < deadline, `the bucket never ran dry: ${JSON.stringify(ep.counts.all())}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    ep.faults.set('DescribeRegions', { bucket: { size: 2, refillPerSecond: 10 } });
    const instance = await ec2.launch(launchSpec());
    await pings;
    assert.is((await ec2.waitForInstance(instance.id, ['running'], within())).state, 'running');
    assert.ok(ep.counts.errors('RunInstances', 'RequestLimitExceeded') > 0, 'RunInstances was throttled');
    // Two at least: a retry may come back before the refill and find it empty once more.
    assert.ok(ep.counts.errors('DescribeRegions', 'RequestLimitExceeded') >= 2, 'the bucket ran dry for the two pings beyond its size');
    assert.is(ep.counts.ok('DescribeRegions'), 4);
    assert.is(ep.instances().length, 1);
  }),
);

faults('should say it cannot reach EC2 when nothing listens', async () => {
  const client = createEc2Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:1', profile: undefined }, undefined, { maxAttempts: 1 });
  try {
    const ec2 = new Ec2Adapter({ client, region: 'us-east-1', endpoint: 'http://127.0.0.1:1', metrics: Metrics.off() });
    const error = await rejection(ec2.ping());
    assert.instance(error, Ec2Error);
    assert.is((error as Ec2Error).awsCode, 'ECONNREFUSED');
    assert.match(error.message, 'cannot reach EC2 in us-east-1 at http://127.0.0.1:1');
  } finally {
    client.destroy();
  }
});

faults('should say no credentials were found when the profile has none', () =>
  withRig({}, async ({ ep }) => {
    const client = createEc2Client({ region: 'us-east-1', endpoint: ep.url, profile: 'autoami-missing' }, undefined, { maxAttempts: 1 });
    // Keys in the environment would be used (with a warning) despite the profile.
    const keys = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    try {
      const error = await rejection(new Ec2Adapter({ client, region: 'us-east-1', metrics: Metrics.off() }).ping());
      assert.is((error as Ec2Error).awsCode, 'NoCredentials');
      assert.match(error.message, /^no AWS credentials found: /);
      assert.is(ep.counts.total(), 0);
    } finally {
      process.env.AWS_ACCESS_KEY_ID = keys.id;
      process.env.AWS_SECRET_ACCESS_KEY = keys.secret;
      client.destroy();
    }
  }),
);

faults('should explain missing permissions', () =>
  withRig({}, async ({ ep, ec2 }) => {
    ep.faults.set('TerminateInstances', { error: { code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.', status: 403 } });
    const error = await rejection(ec2.terminate(['i-0123456789abcdef0']));
    assert.is((error as Ec2Error).awsCode, 'UnauthorizedOperation');
    assert.match(error.message, 'credentials lack permission for ec2:TerminateInstances on i-0123456789abcdef0 in us-east-1');
  }),
);

faults('should keep waiting through a retryable Describe failure and reject on a non-retryable one', () =>
  withRig({ client: { maxAttempts: 1 } }, async ({ ep, ec2 }) => {
    const { id } = await ec2.launch(launchSpec());
    ep.faults.set('DescribeInstances', { error: { code: 'InternalError', times: 3 } });
    assert.is((await ec2.waitForInstance(id, ['running'], within())).state, 'running');
    ep.faults.set('DescribeInstances', { error: { code: 'InvalidParameterValue', message: 'bad filter' } });
    const error = await rejection(ec2.waitForInstance(id, ['stopped'], within()));
    assert.not.instance(error, Ec2WaitTimeout);
    assert.is((error as Ec2Error).awsCode, 'InvalidParameterValue');
  }),
);

faults.run();
