import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { Ec2Adapter, type Ec2AdapterOptions } from '../runtime/ec2/adapter.ts';
import { createEc2Client, type Ec2ClientOptions } from '../runtime/ec2/client.ts';
import { Poller } from '../runtime/ec2/poller.ts';
import { Ec2Regions } from '../runtime/ec2/regions.ts';
import { instanceDeadEnd } from '../runtime/ec2/states.ts';
import type { InstanceInfo, LaunchSpec } from '../runtime/ec2/types.ts';
import { Ec2Error, Ec2WaitTimeout } from '../runtime/errors.ts';
import { Metrics } from '../runtime/metrics.ts';
import { DEBIAN_12_IMAGE_ID, startEc2Endpoint, type Ec2Endpoint, type Ec2EndpointOptions } from './support/ec2-endpoint.ts';
import { rejects } from './support/rejects.ts';

// The SDK's standard chain finds these first; the rest keeps the suite off this machine's AWS setup.
process.env.AWS_ACCESS_KEY_ID = 'AKIDTEST';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
process.env.AWS_CONFIG_FILE = '/nonexistent/autoami-test/config';
process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/autoami-test/credentials';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
delete process.env.AWS_PROFILE;
delete process.env.AWS_SESSION_TOKEN;

const POLL_MS = 20;

interface Rig {
  ep: Ec2Endpoint;
  ec2: Ec2Adapter;
  client: EC2Client;
}

interface RigOptions {
  endpoint?: Ec2EndpointOptions;
  client?: Ec2ClientOptions;
  adapter?: Partial<Ec2AdapterOptions>;
}

async function withRig(options: RigOptions, body: (rig: Rig) => Promise<void>): Promise<void> {
  const ep = await startEc2Endpoint(options.endpoint);
  const client = createEc2Client({ region: 'us-east-1', endpoint: ep.url, profile: undefined }, undefined, options.client);
  const ec2 = new Ec2Adapter({ client, region: 'us-east-1', endpoint: ep.url, pollIntervalMs: POLL_MS, metrics: Metrics.off(), ...options.adapter });
  try {
    await body({ ep, ec2, client });
  } finally {
    client.destroy();
    await ep.stop();
  }
}

function launchSpec(overrides: Partial<LaunchSpec> = {}): LaunchSpec {
  return {
    image: DEBIAN_12_IMAGE_ID,
    type: 't3.micro',
    keyname: 'bake-key',
    subnet: 'subnet-0123456789abcdef0',
    securityGroup: 'sg-0123456789abcdef0',
    userData: '#!/bin/sh\necho "hello from autoami"\n',
    clientToken: randomUUID(),
    tags: { 'autoami:group': 'web', 'autoami:bake': 'b-1', Name: 'autoami-web' },
    ...overrides,
  };
}

/**
 * A wait's deadline. Waits that should end on their own get HANG_MS, which only bounds a
 * hang (the endpoint moves states in milliseconds, but two busy cores may starve a test for
 * seconds); only the tests of the timeout itself give a short one.
 */
const HANG_MS = 120_000;
const within = (ms = HANG_MS): { deadline: number } => ({ deadline: Date.now() + ms });

const rejection = (promise: Promise<unknown>): Promise<Error> => rejects(promise);

async function running(rig: Rig, overrides: Partial<LaunchSpec> = {}): Promise<string> {
  const instance = await rig.ec2.launch(launchSpec(overrides));
  await rig.ec2.waitForInstance(instance.id, ['running'], within());
  return instance.id;
}

const imageSpec = (instanceId: string, name: string) => ({
  instanceId,
  name,
  description: `AutoAMI bake of ${name}`,
  noReboot: true,
  tags: { 'autoami:group': 'web', 'autoami:parent-image': DEBIAN_12_IMAGE_ID },
});

// --- Poller, on an injected clock ------------------------------------------------------------

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

// --- launch -------------------------------------------------------------------------------

const launch = suite('Ec2Adapter launch');

launch('should put tags, IMDSv2, user data, key, subnet and security group on the instance', () =>
  withRig({}, async ({ ep, ec2 }) => {
    const instance = await ec2.launch(launchSpec());
    assert.match(instance.id, /^i-[0-9a-f]{17}$/);
    assert.is(instance.state, 'pending');
    assert.is(instance.type, 't3.micro');
    assert.equal(instance.tags, { 'autoami:group': 'web', 'autoami:bake': 'b-1', Name: 'autoami-web' });
    const record = ep.instance(instance.id);
    assert.ok(record);
    assert.is(record.metadataOptions.httpTokens, 'required');
    assert.is(record.metadataOptions.httpEndpoint, 'enabled');
    assert.is(record.keyName, 'bake-key');
    assert.is(record.subnetId, 'subnet-0123456789abcdef0');
    assert.equal(record.securityGroups.map((g) => g.groupId), ['sg-0123456789abcdef0']);
    assert.is(record.volume.tags.get('autoami:bake'), 'b-1');
    assert.is(ep.userData(instance.id), '#!/bin/sh\necho "hello from autoami"\n');
  }),
);

launch('should launch one instance for two launches with one client token', () =>
  withRig({}, async ({ ep, ec2 }) => {
    const spec = launchSpec();
    const first = await ec2.launch(spec);
    const second = await ec2.launch(spec);
    assert.is(second.id, first.id);
    assert.is(ep.instances().length, 1);
  }),
);

launch('should name the AMI when it does not exist', () =>
  withRig({}, async ({ ec2 }) => {
    const error = await rejection(ec2.launch(launchSpec({ image: 'ami-0123456789abcdef0' })));
    assert.instance(error, Ec2Error);
    assert.is((error as Ec2Error).awsCode, 'InvalidAMIID.NotFound');
    assert.is(error.message, 'image: ami-0123456789abcdef0 does not exist in us-east-1 (InvalidAMIID.NotFound)');
    assert.ok((error as Ec2Error).cause, 'keeps the SDK error');
  }),
);

launch('should explain InsufficientInstanceCapacity once the retries are spent', () =>
  withRig({ client: { maxAttempts: 2 } }, async ({ ep, ec2 }) => {
    ep.faults.set('RunInstances', { insufficientCapacity: 'always' });
    const error = await rejection(ec2.launch(launchSpec()));
    assert.instance(error, Ec2Error);
    assert.is((error as Ec2Error).awsCode, 'InsufficientInstanceCapacity');
    assert.match(error.message, 'no capacity for t3.micro in us-east-1 now; retry later or choose another type/subnet');
    assert.is(ep.counts.errors('RunInstances', 'InsufficientInstanceCapacity'), 2, 'the SDK retried first');
  }),
);

launch.run();

// --- findInstance ---------------------------------------------------------------------------

const find = suite('Ec2Adapter findInstance');

find('should find a live instance by id and by public DNS name', () =>
  withRig({}, async (rig) => {
    const { ec2 } = rig;
    const id = await running(rig);
    const byId = await ec2.findInstance(id);
    assert.is(byId?.id, id);
    assert.is(byId?.state, 'running');
    assert.ok(byId?.publicDns);
    const byDns = await ec2.findInstance(byId.publicDns);
    assert.is(byDns?.id, id);
    assert.is((await ec2.findInstance(byId.publicIp ?? ''))?.id, id);
  }),
);

find('should return undefined for an unknown server and for a terminated instance', () =>
  withRig({ endpoint: { terminateMs: 10 } }, async (rig) => {
    assert.is(await rig.ec2.findInstance('i-0123456789abcdef0'), undefined);
    assert.is(await rig.ec2.findInstance('ec2-198-51-100-77.compute-1.amazonaws.com'), undefined);
    assert.is(await rig.ec2.findInstance('*'), undefined, 'wildcards are taken literally');
    const id = await running(rig);
    await rig.ec2.terminate([id]);
    await rig.ec2.waitForInstance(id, ['terminated'], within());
    assert.is(await rig.ec2.findInstance(id), undefined);
    assert.is((await rig.ec2.describeInstances([id])).get(id)?.state, 'terminated');
  }),
);

find.run();

// --- waits ------------------------------------------------------------------------------------

const waits = suite('Ec2Adapter waits');

waits('should resolve once the instance is running, reporting each state', () =>
  withRig({}, async ({ ec2 }) => {
    const { id } = await ec2.launch(launchSpec());
    const seen: string[] = [];
    const instance = await ec2.waitForInstance(id, ['running'], { ...within(), onState: (s) => seen.push(s) });
    assert.is(instance.state, 'running');
    assert.ok(instance.publicIp);
    assert.equal(seen.at(-1), 'running');
  }),
);

waits('should time out with Ec2WaitTimeout naming the instance and its last state', () =>
  withRig({ endpoint: { bootMs: 60_000 } }, async ({ ec2 }) => {
    const { id } = await ec2.launch(launchSpec());
    const error = await rejection(ec2.waitForInstance(id, ['running'], within(120)));
    assert.instance(error, Ec2WaitTimeout);
    assert.match(error.message, `waiting for instance ${id} to be running (last state: pending)`);
  }),
);

waits('should say "not visible yet" when EC2 never showed the instance', () =>
  withRig({}, async ({ ep, ec2 }) => {
    ep.faults.set('DescribeInstances', { consistencyLagMs: 60_000 });
    const { id } = await ec2.launch(launchSpec());
    const error = await rejection(ec2.waitForInstance(id, ['running'], within(100)));
    assert.instance(error, Ec2WaitTimeout);
    assert.match(error.message, `instance ${id} to be running (last state: not visible yet)`);
  }),
);

waits('should reject at once when the instance is terminated instead of running', () =>
  withRig({ endpoint: { bootMs: 60_000, terminateMs: 10 } }, async ({ ec2 }) => {
    const { id } = await ec2.launch(launchSpec());
    await ec2.terminate([id]);
    // The deadline is far off: a rejection at all, and not a timeout, is the proof it did not wait for it.
    const error = await rejection(ec2.waitForInstance(id, ['running'], within()));
    assert.instance(error, Ec2Error);
    assert.not.instance(error, Ec2WaitTimeout);
    assert.is((error as Ec2Error).awsCode, 'InstanceTerminated');
    assert.match(error.message, id);
  }),
);

waits('should reject a malformed id without calling EC2', () =>
  withRig({}, async ({ ep, ec2 }) => {
    const error = await rejection(ec2.waitForInstance('i-nope', ['running'], within()));
    assert.is((error as Ec2Error).awsCode, 'InvalidInstanceID.Malformed');
    assert.match(error.message, 'instance: "i-nope" is not a valid instance id');
    assert.is(ep.counts.total('DescribeInstances'), 0);
  }),
);

waits('should ask once per tick for ten waiters, and not at all once none is left', () =>
  withRig({ endpoint: { bootMs: 300 } }, async ({ ep, ec2, client }) => {
    const launched = await Promise.all(Array.from({ length: 10 }, () => ec2.launch(launchSpec())));
    // The ids each DescribeInstances asks about, and how many are in flight at once.
    const asked: string[][] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'DescribeInstancesCommand') return next(args);
        const filters = (args.input as { Filters?: { Name?: string; Values?: string[] }[] }).Filters ?? [];
        asked.push([...(filters.find((filter) => filter.Name === 'instance-id')?.Values ?? [])].sort());
        mostInFlight = Math.max(mostInFlight, ++inFlight);
        try {
          return await next(args);
        } finally {
          inFlight -= 1;
        }
      },
      { step: 'initialize', name: 'specDescribeRecorder' },
    );
    ep.counts.reset();
    const done = await Promise.all(launched.map((i) => ec2.waitForInstance(i.id, ['running'], within())));
    assert.ok(done.every((i) => i.state === 'running'));
    // One call per tick for every waiter left: all ten in the first, then only those still
    // waiting, never two calls at once, never a call for one waiter alone while others wait.
    assert.equal(asked[0], launched.map((i) => i.id).sort());
    for (const [index, ids] of asked.entries()) {
      if (index > 0) assert.ok(ids.every((id) => asked[index - 1]!.includes(id)), `call ${index} asked about a waiter the call before did not: ${JSON.stringify(asked)}`);
    }
    assert.is(mostInFlight, 1, 'calls overlapped');
    const calls = ep.counts.total('DescribeInstances');
    assert.is(calls, asked.length);
    await new Promise((resolve) => setTimeout(resolve, 5 * POLL_MS));
    assert.is(ep.counts.total('DescribeInstances'), calls, 'the loop stopped');
  }),
);

waits('should still succeed when DescribeInstances and DescribeImages lag behind', () =>
  withRig({ endpoint: { bootMs: 50, imageMs: 50 } }, async ({ ep, ec2 }) => {
    ep.faults.set('DescribeInstances', { consistencyLagMs: 200 });
    ep.faults.set('DescribeImages', { consistencyLagMs: 200 });
    const { id } = await ec2.launch(launchSpec());
    assert.is((await ec2.describeInstances([id])).size, 0, 'not visible at first');
    const instance = await ec2.waitForInstance(id, ['running'], within());
    assert.is(instance.state, 'running');
    const imageId = await ec2.createImage(imageSpec(id, 'autoami-web-lagged'));
    const image = await ec2.waitForImage(imageId, within());
    assert.is(image.state, 'available');
    assert.ok(ep.counts.total('DescribeInstances') > 1);
  }),
);

waits.run();

// --- images -----------------------------------------------------------------------------------

const images = suite('Ec2Adapter images');

images('should create an image, wait until available, and tag the image and its snapshot', () =>
  withRig({}, async (rig) => {
    const id = await running(rig);
    const imageId = await rig.ec2.createImage(imageSpec(id, 'autoami-web-20240501T120000Z'));
    const image = await rig.ec2.waitForImage(imageId, within());
    assert.is(image.state, 'available');
    assert.is(image.name, 'autoami-web-20240501T120000Z');
    assert.is(image.description, 'AutoAMI bake of autoami-web-20240501T120000Z');
    assert.equal(image.tags, { 'autoami:group': 'web', 'autoami:parent-image': DEBIAN_12_IMAGE_ID });
    assert.is(image.snapshotIds.length, 1);
    const snapshot = rig.ep.snapshots().find((s) => s.snapshotId === image.snapshotIds[0]);
    assert.is(snapshot?.tags.get('autoami:parent-image'), DEBIAN_12_IMAGE_ID);
    assert.is(rig.ep.image(imageId)?.noReboot, true);
    assert.is((await rig.ec2.findImageByName('autoami-web-20240501T120000Z'))?.id, imageId);
    assert.is(await rig.ec2.findImageByName('autoami-web-*'), undefined, 'names are not patterns');
  }),
);

images('should return the same image for a create retried with the same name', () =>
  withRig({}, async (rig) => {
    const id = await running(rig);
    const first = await rig.ec2.createImage(imageSpec(id, 'autoami-web-retried'));
    const second = await rig.ec2.createImage(imageSpec(id, 'autoami-web-retried'));
    assert.is(second, first);
    assert.is(rig.ep.images().filter((i) => i.name === 'autoami-web-retried').length, 1);
    assert.is(rig.ep.counts.errors('CreateImage', 'InvalidAMIName.Duplicate'), 1);
  }),
);

images('should reject a failed image with an Ec2Error naming the reason', () =>
  withRig({}, async (rig) => {
    rig.ep.faults.set('CreateImage', { failImages: 'always', imageFailure: { code: 'Client.VolumeLimitExceeded', message: 'Volume limit exceeded' } });
    const id = await running(rig);
    const imageId = await rig.ec2.createImage(imageSpec(id, 'autoami-web-doomed'));
    const error = await rejection(rig.ec2.waitForImage(imageId, within()));
    assert.instance(error, Ec2Error);
    assert.not.instance(error, Ec2WaitTimeout);
    assert.is((error as Ec2Error).awsCode, 'ImageFailed');
    assert.match(error.message, `image ${imageId} (autoami-web-doomed) failed: Client.VolumeLimitExceeded: Volume limit exceeded`);
  }),
);

images('should list every own image over several pages, without the public base image', () =>
  withRig({ endpoint: { imageMs: 20 }, adapter: { pageSize: 5 } }, async (rig) => {
    const id = await running(rig);
    const created: string[] = [];
    for (let n = 0; n < 7; n++) created.push(await rig.ec2.createImage({ ...imageSpec(id, `autoami-web-${n}`), tags: { 'autoami:group': n % 2 ? 'web' : 'db' } }));
    rig.ep.counts.reset();
    const all = await rig.ec2.listOwnImages();
    assert.equal(all.map((i) => i.id).sort(), [...created].sort());
    assert.ok(!all.some((i) => i.id === DEBIAN_12_IMAGE_ID));
    assert.is(rig.ep.counts.ok('DescribeImages'), 2, 'two pages of five');
    const web = await rig.ec2.listOwnImages({ 'autoami:group': 'web' });
    assert.equal(web.map((i) => i.name).sort(), ['autoami-web-1', 'autoami-web-3', 'autoami-web-5']);
  }),
);

images('should deregister an image and delete its snapshots', () =>
  withRig({}, async (rig) => {
    const id = await running(rig);
    const imageId = await rig.ec2.createImage(imageSpec(id, 'autoami-web-old'));
    const image = await rig.ec2.waitForImage(imageId, within());
    const result = await rig.ec2.deregisterImage(imageId);
    assert.equal(result, { imageId, snapshotIds: [...image.snapshotIds] });
    assert.is(rig.ep.image(imageId), undefined);
    assert.ok(!rig.ep.snapshots().some((s) => image.snapshotIds.includes(s.snapshotId)));
    const again = await rejection(rig.ec2.deregisterImage(imageId));
    assert.is(again.message, `image: ${imageId} does not exist in us-east-1 (InvalidAMIID.NotFound)`);
  }),
);

images.run();

// --- faults -----------------------------------------------------------------------------------

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

// --- Ec2Regions -------------------------------------------------------------------------------

const regions = suite('Ec2Regions');

regions('should make one adapter per region, on first use', () =>
  withRig({}, async ({ ep }) => {
    const all = new Ec2Regions({ region: 'us-east-1', endpoint: ep.url, profile: undefined }, { pollIntervalMs: POLL_MS, metrics: Metrics.off() });
    try {
      assert.equal(all.regions(), []);
      const east = all.get();
      assert.is(east.region, 'us-east-1');
      assert.is(all.get('us-east-1'), east);
      const west = all.get('eu-west-1');
      assert.is(west.region, 'eu-west-1');
      assert.is.not(west, east);
      await Promise.all([east.ping(), west.ping()]);
      assert.equal(all.regions(), ['us-east-1', 'eu-west-1']);
      const error = await rejection(all.get('xx-nowhere-1').ping());
      assert.is((error as Ec2Error).data?.field, 'aws.region');
    } finally {
      all.destroy();
    }
  }),
);

regions.run();
