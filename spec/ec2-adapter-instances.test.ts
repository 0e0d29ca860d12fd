/** Ec2Adapter's instances: launching, finding and waiting for them. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Ec2Error, Ec2WaitTimeout } from '../runtime/errors.ts';
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { Ec2Adapter } from '../runtime/ec2/adapter.ts';
import { Metrics } from '../runtime/metrics.ts';
import { RUN_INSTANCES_BUCKET } from '../runtime/ec2/pacer.ts';
import { DEBIAN_12_IMAGE_ID } from './support/ec2-endpoint.ts';
import { imageSpec, launchSpec, POLL_MS, rejection, running, within, withRig, type Rig } from './support/ec2-rig.ts';

// --- launch -------------------------------------------------------------------------------

/** `count` instances from one RunInstances of another client: not through the adapter’s pacer. */
async function instances(rig: Rig, count: number): Promise<string[]> {
  const out = await rig.client.send(new RunInstancesCommand({ ImageId: DEBIAN_12_IMAGE_ID, InstanceType: 't3.micro', MinCount: count, MaxCount: count }));
  return (out.Instances ?? []).map((instance) => instance.InstanceId!);
}

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

launch('should hold every launch after a throttled answer until EC2 has refilled', () =>
  withRig({}, async (rig) => {
    const { ep } = rig;
    // Without the adaptive client's own limiter, which would hide whether the pacer holds back.
    const client = new EC2Client({ region: 'us-east-1', endpoint: ep.url, retryMode: 'standard', maxAttempts: 1 });
    const ec2 = new Ec2Adapter({ client, region: 'us-east-1', endpoint: ep.url, pollIntervalMs: POLL_MS, metrics: Metrics.off() });
    try {
      ep.faults.set('RunInstances', { bucket: RUN_INSTANCES_BUCKET });
      // Another client of the account empties EC2's bucket: the pacer still counts five tokens.
      for (let i = 0; i < RUN_INSTANCES_BUCKET.size; i++) await instances(rig, 1);
      const error = await rejection(ec2.launch(launchSpec()));
      assert.is((error as Ec2Error).awsCode, 'RequestLimitExceeded');
      const started = Date.now();
      await Promise.all(Array.from({ length: 3 }, () => ec2.launch(launchSpec())));
      assert.is(ep.counts.errors('RunInstances', 'RequestLimitExceeded'), 1, 'the four tokens the pacer counted were not spent on EC2');
      assert.is(ep.counts.of('RunInstances').ok, RUN_INSTANCES_BUCKET.size + 3);
      assert.ok(Date.now() - started >= 1500, `a refill and the margin, then a refill each: ${Date.now() - started} ms`);
    } finally {
      client.destroy();
    }
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

// --- terminate ----------------------------------------------------------------------------

const terminate = suite('Ec2Adapter terminate');

terminate('should send the first caller at once and gather those arriving meanwhile into one call', () =>
  withRig({}, async (rig) => {
    const ids = await instances(rig, 30);
    rig.ep.faults.set('TerminateInstances', { replyDelayMs: 100 });
    await Promise.all(ids.map((id) => rig.ec2.terminate([id])));
    assert.is(rig.ep.counts.total('TerminateInstances'), 2, 'one call for the first caller, one for the 29 gathered while it was answered');
    const states = await rig.ec2.describeInstances(ids);
    for (const id of ids) assert.ok(['shutting-down', 'terminated'].includes(states.get(id)!.state), `${id}: ${states.get(id)!.state}`);
  }),
);

terminate('should answer each caller for its own ids when a gathered call is refused for one of them', () =>
  withRig({}, async (rig) => {
    const [first, second, third] = await instances(rig, 3);
    rig.ep.faults.set('TerminateInstances', { replyDelayMs: 50 });
    const unknown = 'i-0123456789abcdef0';
    const outcomes = await Promise.allSettled([first, second, unknown, third, 'i-zz'].map((id) => rig.ec2.terminate([id!])));
    assert.equal(outcomes.map((o) => o.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'rejected']);
    const code = (o: PromiseSettledResult<void>) => (o.status === 'rejected' && o.reason instanceof Ec2Error ? o.reason.awsCode : undefined);
    assert.is(code(outcomes[2]!), 'InvalidInstanceID.NotFound');
    assert.is(code(outcomes[4]!), 'InvalidInstanceID.Malformed');
    const states = await rig.ec2.describeInstances([first!, second!, third!]);
    for (const [id, info] of states) assert.ok(['shutting-down', 'terminated'].includes(info.state), `${id}: ${info.state}`);
    assert.is(rig.ep.counts.total('TerminateInstances'), 1 + 1 + 4, 'the first alone, the gathered four together, then each of the four on its own');
  }),
);

terminate('should give every gathered caller a failure that is about the call, not an id', () =>
  withRig({ client: { maxAttempts: 1 } }, async (rig) => {
    const ids = await instances(rig, 3);
    rig.ep.faults.set('TerminateInstances', { replyDelayMs: 50, error: { code: 'UnauthorizedOperation', status: 403 } });
    const outcomes = await Promise.allSettled(ids.map((id) => rig.ec2.terminate([id])));
    assert.equal(outcomes.map((o) => o.status), ['rejected', 'rejected', 'rejected']);
    assert.is(rig.ep.counts.total('TerminateInstances'), 2, 'not retried one by one');
  }),
);

terminate.run();

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
