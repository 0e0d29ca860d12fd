/**
 * The bake steps that bring an instance up and run its agent (queued, launching, booting,
 * bootstrapping), each on its own in a fake environment: what it does in EC2 and Puppet, and
 * the one transition it writes. The engine around the steps is spec/bake-engine.test.ts.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { step } from '../runtime/bake/steps.ts';
import { Ec2Error, WaitAborted } from '../runtime/errors.ts';
import { challengeHash } from '../runtime/puppet/challenge.ts';
import { hashOf, movedTo, reread, type StepContext } from './support/bake-step-checks.ts';
import { BASE_IMAGE, FakeBakeEnv, LEASE_MS, OWNER, secretFor } from './support/fake-bake-env.ts';
import { clockTime } from './support/fake-clock.ts';
import { rejects } from './support/rejects.ts';
import { ec2Failure } from './support/fake-ec2-faults.ts';

const Steps = suite<StepContext>('bake steps: launch');

Steps.before.each(async (context) => {
  context.fx = await FakeBakeEnv.open();
});

Steps.after.each(({ fx }) => fx.close());

// --- queued

Steps('should move a queued bake to launching before anything is launched', async ({ fx }) => {
  const bake = await fx.placeIn('queued', await fx.group());
  fx.time.advance(1_000);
  assert.is(await step(fx.env, bake), 'moved');
  await movedTo(fx, bake, 'launching');
  assert.equal(fx.ec2.calls, [], 'the state is written first; the launch is the next step');
});

// --- launching

Steps('should launch one instance from the parent image with the bake id as ClientToken, and record it', async ({ fx }) => {
  const group = await fx.group({ subnet: 'subnet-0a1b2c3d', security_group: 'sg-0a1b2c3d' });
  const bake = await fx.placeIn('launching', group);
  assert.is(await step(fx.env, bake), 'moved');
  const [spec, ...more] = fx.ec2.launches;
  assert.equal(more, []);
  assert.equal(spec, {
    image: BASE_IMAGE, type: 't3.micro', keyname: 'deploy', subnet: 'subnet-0a1b2c3d', securityGroup: 'sg-0a1b2c3d', userData: null,
    clientToken: bake.id, tags: { Name: 'autoami-web-bake', 'autoami:group': 'web', 'autoami:bake': bake.id },
    encryptRoot: null,
  });
  const [instance] = fx.ec2.instances();
  const booting = await movedTo(fx, bake, 'booting');
  assert.is(booting.instance_id, instance?.id);
  assert.is(booting.certname, `web-${instance?.id}.autoami`);
  assert.is(booting.challenge_hash, null, 'ssh mode hands out its secret at bootstrap, not at launch');
});

Steps('should put the secret in the user-data and its hash in the store before launching in userdata mode', async ({ fx }) => {
  const bake = await fx.placeIn('launching', await fx.group({ bootstrap: 'userdata' }));
  let storedAtLaunch: string | null | undefined;
  fx.ec2.intercept('launch', async () => void (storedAtLaunch = (await reread(fx, bake)).challenge_hash));
  assert.is(await step(fx.env, bake), 'moved');
  assert.is(storedAtLaunch, hashOf(bake), 'the hash is stored before the secret leaves');
  assert.equal(fx.bootstrap.userDatas, [{ group: 'web', server: 'puppet.example.com', challenge: secretFor(bake.id), noop: false }]);
  assert.match(fx.ec2.launches[0]?.userData ?? '', `challenge=${secretFor(bake.id)}`);
  const booting = await movedTo(fx, bake, 'booting');
  assert.is(booting.challenge_hash, hashOf(bake), 'still outstanding: the instance has yet to ask for its certificate');
});

Steps('should not record an instance whose secret was replaced while it launched', async ({ fx }) => {
  const bake = await fx.placeIn('launching', await fx.group({ bootstrap: 'userdata' }));
  const other = challengeHash('another attempt');
  fx.ec2.intercept('launch', () => fx.store.setChallenge(bake.id, OWNER, 'launching', other), 1);
  assert.is(await step(fx.env, bake), 'lost');
  const after = await reread(fx, bake);
  assert.is(after.state, 'launching');
  assert.is(after.instance_id, null);
  assert.is(after.challenge_hash, other);
});

Steps('should adopt the instance an interrupted attempt launched instead of starting a second one', async ({ fx }) => {
  const bake = await fx.placeIn('launching', await fx.group());
  const earlier = fx.ec2.seedInstance({ clientToken: bake.id, tags: { 'autoami:bake': bake.id } });
  assert.is(await step(fx.env, bake), 'moved');
  assert.is(fx.ec2.instances().length, 1, 'no second instance');
  assert.is((await reread(fx, bake)).instance_id, earlier.id);
});

Steps('should launch nothing when the lease is gone before the userdata secret is stored', async ({ fx }) => {
  const bake = await fx.placeIn('launching', await fx.group({ bootstrap: 'userdata' }));
  fx.time.advance(LEASE_MS + 1);
  await fx.lease(bake.id, 'sidecar-b');
  assert.is(await step(fx.env, bake), 'lost');
  assert.is(fx.ec2.count('launch'), 0);
  assert.is((await reread(fx, bake)).challenge_hash, null);
});

// --- booting

Steps('should wait for the instance to run (on the clock, not in real time), pin it, and go on to bootstrapping in ssh mode', async ({ fx }) => {
  fx.ec2.bootMs = 3 * 60_000;
  const bake = await fx.placeIn('booting', await fx.group());
  assert.is(fx.ec2.instance(bake.instance_id!)?.state, 'pending');
  const before = fx.time.now();
  assert.is(await step(fx.env, bake), 'moved');
  assert.ok(fx.time.now() - before >= 3 * 60_000, `the clock moved ${fx.time.now() - before} ms`);
  assert.equal(fx.classifier.pins, [bake.certname]);
  assert.equal(fx.ec2.terminations, [], 'the recorded instance is never a stray');
  await movedTo(fx, bake, 'bootstrapping');
});

Steps('should go from booting straight to awaiting_report in userdata mode: the instance runs its own agent', async ({ fx }) => {
  const bake = await fx.placeIn('booting', await fx.group({ bootstrap: 'userdata' }));
  assert.is(await step(fx.env, bake), 'moved');
  await movedTo(fx, bake, 'awaiting_report');
  assert.equal(fx.bootstrap.runs, []);
});

Steps('should terminate, exactly once, every other live instance tagged with the bake', async ({ fx }) => {
  const bake = await fx.placeIn('booting', await fx.group());
  const stray = fx.ec2.seedInstance({ tags: { 'autoami:bake': bake.id } });
  const unrelated = fx.ec2.seedInstance({ tags: { 'autoami:bake': 'another-bake' } });
  assert.is(await step(fx.env, bake), 'moved');
  assert.equal(fx.ec2.terminations, [stray.id]);
  assert.is(fx.ec2.instance(bake.instance_id!)?.state, 'running');
  assert.is(fx.ec2.instance(unrelated.id)?.state, 'running');
  assert.ok(fx.log.with('terminating instances of an interrupted launch').length === 1);
});

Steps('should not look for strays of a bake launched here in one go: its ClientToken rules them out', async ({ fx }) => {
  const bake = await fx.placeIn('launching', await fx.group({ bootstrap: 'userdata' }));
  assert.is(await step(fx.env, bake), 'moved');
  assert.is(await step(fx.env, await movedTo(fx, bake, 'booting')), 'moved');
  await movedTo(fx, bake, 'awaiting_report');
  assert.is(fx.ec2.count('findTagged'), 0, 'no DescribeInstances by tag');
});

Steps('should still look for strays when the launch step failed here and ran again', async ({ fx }) => {
  const bake = await fx.placeIn('launching', await fx.group({ bootstrap: 'userdata' }));
  fx.ec2.failNext('launch', ec2Failure('RequestLimitExceeded'), { after: true });
  await rejects(step(fx.env, bake), Ec2Error);
  assert.is(await step(fx.env, await reread(fx, bake)), 'moved');
  assert.is(await step(fx.env, await movedTo(fx, bake, 'booting')), 'moved');
  assert.is(fx.ec2.count('findTagged'), 1);
});

Steps('should still look for strays of a bake another sidecar launched', async ({ fx }) => {
  const group = await fx.group({ bootstrap: 'userdata' });
  const bake = await fx.placeIn('launching', group);
  const other = { ...fx.envFor('sidecar-b'), signal: fx.env.signal };
  fx.time.advance(LEASE_MS + 1);
  await fx.lease(bake.id, 'sidecar-b');
  assert.is(await step(other, await reread(fx, bake)), 'moved', 'sidecar-b launched it');
  fx.time.advance(LEASE_MS + 1);
  const resumed = await fx.lease(bake.id);
  assert.is(await step(fx.env, resumed), 'moved');
  assert.is(fx.ec2.count('findTagged'), 1, 'this sidecar did not launch it: it looks');
});

Steps('should end the bake failed when the instance has no address to reach over SSH', async ({ fx }) => {
  fx.ec2.addresses = false;
  const bake = await fx.placeIn('booting', await fx.group());
  assert.is(await step(fx.env, bake), 'moved');
  const cleaning = await movedTo(fx, bake, 'cleaning');
  assert.is(cleaning.outcome, 'failed');
  assert.is(cleaning.reason, `${bake.instance_id} has no address to reach over SSH`);
});

Steps('should not move on when the instance ends before it ran, leaving the engine to decide', async ({ fx }) => {
  const bake = await fx.placeIn('booting', await fx.group());
  fx.ec2.force(bake.instance_id!, 'terminated');
  const error = await rejects(step(fx.env, bake), Ec2Error);
  assert.is(error.awsCode, 'InstanceTerminated');
  assert.is((await reread(fx, bake)).state, 'booting');
});

Steps('should stop waiting at once when the engine stops, leaving the bake in its state', async ({ fx }) => {
  const bake = await fx.placeIn('booting', await fx.group());
  fx.abort();
  await rejects(step(fx.env, bake), WaitAborted);
  assert.is((await reread(fx, bake)).state, 'booting');
  assert.equal(fx.classifier.pins, []);
});

// --- bootstrapping

Steps('should run the agent over SSH with the bake secret, sign its CSR meanwhile, and await the report', async ({ fx }) => {
  const bake = await fx.placeIn('bootstrapping', await fx.group());
  let storedAtSsh: string | null = null;
  fx.bootstrap.agent = async (run) => {
    storedAtSsh = (await reread(fx, bake)).challenge_hash;
    // The agent's waitforcert: it waits for the signature, as a real one does.
    for (let polls = 0; polls < 100 && !fx.ca.signed.includes(run.certname); polls++) await fx.time.sleep(1_000);
    return { state: 'ran', exitCode: 2, output: '' };
  };
  assert.is(await step(fx.env, bake), 'moved');
  const [run] = fx.bootstrap.runs;
  assert.is(run?.challenge, secretFor(bake.id));
  assert.is(run?.host, fx.ec2.instance(bake.instance_id!)?.publicDns);
  assert.is(run?.deadline, clockTime(bake.deadline));
  assert.is(storedAtSsh, hashOf(bake), 'the hash is stored before ssh carries the secret');
  assert.equal(fx.ca.signed, [bake.certname]);
  assert.equal(fx.ca.requests[0], { certname: bake.certname, instanceId: bake.instance_id, hash: hashOf(bake) });
  const awaiting = await movedTo(fx, bake, 'awaiting_report');
  assert.is(awaiting.challenge_hash, null, 'the signature spent the secret');
});

Steps("should keep asking after a refused CSR until the agent's own one is signed", async ({ fx }) => {
  const bake = await fx.placeIn('bootstrapping', await fx.group());
  fx.ca.answer = 'refuse';
  fx.bootstrap.agent = async () => {
    for (let polls = 0; polls < 100 && fx.ca.requests.length < 2; polls++) await fx.time.sleep(1_000);
    fx.ca.answer = 'sign';
    for (let polls = 0; polls < 100 && fx.ca.signed.length === 0; polls++) await fx.time.sleep(1_000);
    return { state: 'ran', exitCode: 0, output: '' };
  };
  assert.is(await step(fx.env, bake), 'moved');
  assert.ok(fx.ca.requests.length >= 3, `${fx.ca.requests.length} requests`);
  assert.equal(fx.ca.signed, [bake.certname]);
  assert.ok(fx.log.with('certificate refused').length >= 2);
  await movedTo(fx, bake, 'awaiting_report');
});

Steps('should end the bake failed when the agent run over SSH fails', async ({ fx }) => {
  const bake = await fx.placeIn('bootstrapping', await fx.group());
  fx.bootstrap.agent = async () => ({ state: 'failed', reason: 'ssh: connect to host refused after 30 min', output: '' });
  assert.is(await step(fx.env, bake), 'moved');
  const cleaning = await movedTo(fx, bake, 'cleaning');
  assert.is(cleaning.outcome, 'failed');
  assert.is(cleaning.reason, 'ssh: connect to host refused after 30 min');
  assert.is(cleaning.challenge_hash, null, 'past signing, the secret is forgotten');
});

Steps('should end the bake failed without any SSH when its instance is no longer running', async ({ fx }) => {
  const bake = await fx.placeIn('bootstrapping', await fx.group());
  fx.ec2.force(bake.instance_id!, 'stopped');
  assert.is(await step(fx.env, bake), 'moved');
  const cleaning = await movedTo(fx, bake, 'cleaning');
  assert.is(cleaning.outcome, 'failed');
  assert.is(cleaning.reason, `${bake.instance_id} is stopped; cannot bootstrap it`);
  assert.equal(fx.bootstrap.runs, []);
});

Steps('should hand no secret over SSH when the lease is gone', async ({ fx }) => {
  const bake = await fx.placeIn('bootstrapping', await fx.group());
  fx.time.advance(LEASE_MS + 1);
  await fx.lease(bake.id, 'sidecar-b');
  assert.is(await step(fx.env, bake), 'lost');
  assert.equal(fx.bootstrap.runs, []);
});

Steps.run();
