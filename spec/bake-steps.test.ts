/**
 * Each bake state's step on its own, in a fake environment: what it does in EC2 and Puppet,
 * and the one transition it writes. The engine around the steps is spec/bake-engine.test.ts.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { step } from '../runtime/bake/steps.ts';
import { amiName } from '../runtime/ami-name.ts';
import { Ec2Error, PuppetApiError } from '../runtime/errors.ts';
import { challengeHash } from '../runtime/puppet/challenge.ts';
import { WaitAborted } from '../runtime/errors.ts';
import type { Bake, BakeState } from '../runtime/store/store.ts';
import {
  BASE_IMAGE, FakeBakeEnv, LEASE_MS, OWNER, changedReport, clockTime, ec2Failure, failedReport, secretFor, unchangedReport,
} from './support/fake-bake-env.ts';
import { rejects } from './support/rejects.ts';

interface Context {
  fx: FakeBakeEnv;
}

const Steps = suite<Context>('bake steps');

Steps.before.each(async (context) => {
  context.fx = await FakeBakeEnv.open();
});

Steps.after.each(({ fx }) => fx.close());

async function reread(fx: FakeBakeEnv, bake: Bake): Promise<Bake> {
  const fresh = await fx.store.getBake(bake.id);
  if (!fresh) throw new Error(`bake ${bake.id} is gone`);
  return fresh;
}

/** The step's transition landed in `state`, with that state's deadline counted from now. */
async function movedTo(fx: FakeBakeEnv, bake: Bake, state: BakeState): Promise<Bake> {
  const fresh = await reread(fx, bake);
  assert.is(fresh.state, state, `${fresh.state}: ${fresh.reason}`);
  if (state !== 'done') assert.is(clockTime(fresh.deadline), fx.time.now() + fx.deadlines.forState(state), `the deadline of ${state}`);
  return fresh;
}

const hashOf = (bake: Bake) => challengeHash(secretFor(bake.id));

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
  assert.equal(fx.bootstrap.userDatas, [{ group: 'web', server: 'puppet.example.com', challenge: secretFor(bake.id) }]);
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
    for (let polls = 0; polls < 100 && !fx.ca.signed.includes(run.bake.certname!); polls++) await fx.time.sleep(1_000);
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

// --- awaiting_report

Steps('should wait, touching nothing, while no report has come in ssh mode', async ({ fx }) => {
  const bake = await fx.placeIn('awaiting_report', await fx.group());
  assert.is(await step(fx.env, bake), 'wait');
  assert.equal(await reread(fx, bake), bake);
  assert.equal(fx.ca.requests, []);
});

Steps('should sign the instance CSR while waiting for the report in userdata mode', async ({ fx }) => {
  const bake = await fx.placeIn('awaiting_report', await fx.group({ bootstrap: 'userdata' }));
  await fx.store.setChallenge(bake.id, OWNER, 'awaiting_report', hashOf(bake));
  assert.is(await step(fx.env, await reread(fx, bake)), 'wait');
  assert.equal(fx.ca.signed, [bake.certname]);
  assert.is((await reread(fx, bake)).challenge_hash, null);
  assert.is((await reread(fx, bake)).state, 'awaiting_report');
});

Steps('should go to imaging on a changed run, with the AMI name fixed now and the secret forgotten', async ({ fx }) => {
  const bake = await fx.placeIn('awaiting_report', await fx.group());
  await fx.store.setChallenge(bake.id, OWNER, 'awaiting_report', hashOf(bake));
  await fx.store.recordReport(bake.id, changedReport());
  assert.is(await step(fx.env, await reread(fx, bake)), 'moved');
  const imaging = await movedTo(fx, bake, 'imaging');
  assert.is(imaging.image_name, amiName('web', fx.time.now()));
  assert.is(imaging.reason, '1 resources changed: File[/etc/motd]');
  assert.is(imaging.challenge_hash, null);
  assert.equal(fx.ec2.imageSpecs, [], 'the image is the next step');
});

Steps('should clean up as unchanged after a run that changed nothing', async ({ fx }) => {
  const bake = await fx.placeIn('awaiting_report', await fx.group());
  await fx.store.recordReport(bake.id, unchangedReport());
  assert.is(await step(fx.env, await reread(fx, bake)), 'moved');
  const cleaning = await movedTo(fx, bake, 'cleaning');
  assert.is(cleaning.outcome, 'unchanged');
  assert.is(cleaning.reason, 'the Puppet run changed nothing');
});

Steps('should clean up as failed_run after a run with failures', async ({ fx }) => {
  const bake = await fx.placeIn('awaiting_report', await fx.group());
  await fx.store.recordReport(bake.id, failedReport());
  assert.is(await step(fx.env, await reread(fx, bake)), 'moved');
  const cleaning = await movedTo(fx, bake, 'cleaning');
  assert.is(cleaning.outcome, 'failed_run');
  assert.match(cleaning.reason ?? '', 'Package[nginx]');
});

// --- imaging

Steps('should create the image from the instance, with reboot, under the fixed name and its lineage tags', async ({ fx }) => {
  const bake = await fx.placeIn('imaging', await fx.group());
  assert.is(await step(fx.env, bake), 'moved');
  assert.equal(fx.ec2.imageSpecs, [{
    instanceId: bake.instance_id!, name: bake.image_name!, description: 'AutoAMI web, Puppet config 1700000000', noReboot: false,
    tags: {
      Name: bake.image_name!, 'autoami:group': 'web', 'autoami:bake': bake.id, 'autoami:parent-image': BASE_IMAGE, 'autoami:config-version': '1700000000',
    },
  }]);
  const pending = await movedTo(fx, bake, 'image_pending');
  assert.is(pending.image_id, fx.ec2.images()[0]?.id);
});

Steps('should find the image an interrupted attempt created by its name instead of making a second', async ({ fx }) => {
  const bake = await fx.placeIn('imaging', await fx.group());
  const earlier = fx.ec2.seedImage({ name: bake.image_name!, state: 'pending' });
  assert.is(await step(fx.env, bake), 'moved');
  assert.is(fx.ec2.images().length, 1);
  assert.is((await reread(fx, bake)).image_id, earlier.id);
});

// --- image_pending

Steps('should promote the image once available: the group moves to it and its lineage row is written', async ({ fx }) => {
  const group = await fx.group();
  const bake = await fx.placeIn('imaging', group);
  await step(fx.env, bake);
  const pending = await reread(fx, bake);
  assert.is(fx.ec2.image(pending.image_id!)?.state, 'pending');
  assert.is(await step(fx.env, pending), 'moved');
  await movedTo(fx, bake, 'promoted');
  assert.is((await fx.store.getGroup('web'))?.image, pending.image_id);
  const [row, ...more] = await fx.store.listImages('web');
  assert.equal(more, []);
  assert.equal(row, {
    image_id: pending.image_id!, group_name: 'web', region: group.region, name: bake.image_name!, parent_image: BASE_IMAGE, bake_id: bake.id,
    config_version: '1700000000', changed_resources: ['File[/etc/motd]'], created_at: fx.at(0), deregistered_at: null,
  });
});

Steps('should end the bake failed when EC2 fails the image, naming why, and leave the group where it was', async ({ fx }) => {
  const bake = await fx.placeIn('imaging', await fx.group());
  fx.ec2.imageFailure = 'Snapshot of the root volume could not be completed';
  await step(fx.env, bake);
  const pending = await reread(fx, bake);
  assert.is(await step(fx.env, pending), 'moved');
  const cleaning = await movedTo(fx, bake, 'cleaning');
  assert.is(cleaning.outcome, 'failed');
  assert.match(cleaning.reason ?? '', 'Snapshot of the root volume could not be completed');
  assert.match(cleaning.reason ?? '', `the group stays on ${BASE_IMAGE}`);
  assert.is((await fx.store.getGroup('web'))?.image, BASE_IMAGE);
  assert.equal(await fx.store.listImages('web'), []);
});

// --- promoted

Steps('should clean up a promoted bake as baked, keeping its reason', async ({ fx }) => {
  const bake = await fx.placeIn('promoted', await fx.group());
  assert.is(await step(fx.env, bake), 'moved');
  const cleaning = await movedTo(fx, bake, 'cleaning');
  assert.is(cleaning.outcome, 'baked');
  assert.is(cleaning.reason, '1 resources changed');
});

// --- cleaning

Steps('should terminate the instance exactly once, wait for it, unpin and clean its certificate, and be done', async ({ fx }) => {
  const bake = await fx.placeIn('cleaning', await fx.group());
  assert.is(await step(fx.env, bake), 'moved');
  assert.equal(fx.ec2.terminations, [bake.instance_id]);
  assert.is(fx.ec2.instance(bake.instance_id!)?.state, 'terminated', 'waited until terminated');
  assert.equal(fx.classifier.unpins, [bake.certname]);
  assert.equal(fx.ca.cleaned, [bake.certname]);
  const done = await reread(fx, bake);
  assert.is(done.state, 'done');
  assert.is(done.outcome, 'unchanged', 'the outcome stands');
  assert.is(done.finished_at, fx.at(0));
  assert.is(done.lease_owner, null);
});

Steps('should keep the instance and its certificate of a failed run when the group asks for it', async ({ fx }) => {
  const bake = await fx.placeIn('cleaning', await fx.group({ keep_failed: true }), { outcome: 'failed_run', report: failedReport() });
  assert.is(await step(fx.env, bake), 'moved');
  assert.equal(fx.ec2.terminations, []);
  assert.equal(fx.classifier.unpins, []);
  assert.equal(fx.ca.cleaned, []);
  assert.equal(fx.log.with('failed instance kept for inspection').map((line) => line.fields.instance), [bake.instance_id]);
  assert.is((await reread(fx, bake)).state, 'done');
});

Steps('should terminate the instance of a run that did not fail even when the group keeps failed ones', async ({ fx }) => {
  const bake = await fx.placeIn('cleaning', await fx.group({ keep_failed: true }));
  await step(fx.env, bake);
  assert.equal(fx.ec2.terminations, [bake.instance_id]);
});

Steps('should take an instance EC2 no longer knows as terminated', async ({ fx }) => {
  const bake = await fx.placeIn('cleaning', await fx.group());
  fx.ec2.failNext('terminate', ec2Failure('InvalidInstanceID.NotFound', 'TerminateInstances'));
  assert.is(await step(fx.env, bake), 'moved');
  assert.is((await reread(fx, bake)).state, 'done');
  assert.equal(fx.ca.cleaned, [bake.certname]);
});

Steps('should throw for any other termination failure, so the engine retries it', async ({ fx }) => {
  const bake = await fx.placeIn('cleaning', await fx.group());
  fx.ec2.failNext('terminate', ec2Failure('UnauthorizedOperation', 'TerminateInstances'));
  const error = await rejects(step(fx.env, bake), Ec2Error);
  assert.is(error.awsCode, 'UnauthorizedOperation');
  assert.is((await reread(fx, bake)).state, 'cleaning');
  assert.equal(fx.ca.cleaned, [], 'nothing after the failure was done');
});

Steps('should give the unpin up when the console refuses the login, and finish the cleanup', async ({ fx }) => {
  const bake = await fx.placeIn('cleaning', await fx.group());
  fx.classifier.unpinFailure = new PuppetApiError('console refused the login (401)', { status: 401 });
  assert.is(await step(fx.env, bake), 'moved');
  assert.is((await reread(fx, bake)).state, 'done');
  assert.equal(fx.ca.cleaned, [bake.certname]);
  assert.equal(fx.log.with('node left pinned: the console refused the login').map((line) => line.fields.certname), [bake.certname]);
});

Steps('should throw for a console that is down, so the unpin is retried', async ({ fx }) => {
  const bake = await fx.placeIn('cleaning', await fx.group());
  fx.classifier.unpinFailure = new PuppetApiError('console answered 503', { status: 503 });
  await rejects(step(fx.env, bake), PuppetApiError);
  assert.is((await reread(fx, bake)).state, 'cleaning');
});

Steps('should finish the cleanup of a bake that never had an instance without calling EC2 to terminate', async ({ fx }) => {
  const group = await fx.group();
  const queued = await fx.placeIn('queued', group);
  await fx.store.transition(queued.id, OWNER, 'queued', { state: 'cleaning', outcome: 'timed_out', reason: 'no progress in queued', deadline: fx.at(60_000) });
  assert.is(await step(fx.env, await reread(fx, queued)), 'moved');
  assert.is((await reread(fx, queued)).state, 'done');
  assert.is(fx.ec2.count('terminate'), 0);
  assert.equal(fx.ca.cleaned, []);
});

Steps('should retire images beyond keep after a baked bake, and never after any other', async ({ fx }) => {
  const group = await fx.group({ keep: 1 });
  const older = fx.ec2.seedImage({ name: 'autoami-web-older' });
  const old = fx.ec2.seedImage({ name: 'autoami-web-old' });
  for (const { image, days } of [{ image: older, days: 2 }, { image: old, days: 1 }]) {
    await fx.store.promote({
      image_id: image.id, group_name: 'web', region: group.region, name: image.name, parent_image: BASE_IMAGE, bake_id: null,
      config_version: null, changed_resources: [], created_at: fx.at(-days * 86_400_000), deregistered_at: null,
    });
  }
  const unchanged = await fx.placeIn('cleaning', group);
  await step(fx.env, unchanged);
  assert.equal(fx.ec2.deregistrations, [], 'an unchanged bake leaves retention to the next baked one');
  const baked = await fx.placeIn('promoted', group);
  await step(fx.env, baked);
  await step(fx.env, await reread(fx, baked));
  assert.is((await reread(fx, baked)).outcome, 'baked');
  assert.equal(fx.ec2.deregistrations, [old.id, older.id]);
});

Steps('should terminate in cleaning a stray of a launch that was never recorded', async ({ fx }) => {
  const queued = await fx.placeIn('launching', await fx.group());
  const stray = fx.ec2.seedInstance({ clientToken: queued.id, tags: { 'autoami:bake': queued.id } });
  await fx.store.transition(queued.id, OWNER, 'launching', { state: 'cleaning', outcome: 'timed_out', reason: 'no progress in launching', deadline: fx.at(60_000) });
  assert.is(await step(fx.env, await reread(fx, queued)), 'moved');
  assert.equal(fx.ec2.terminations, [stray.id]);
  assert.is((await reread(fx, queued)).state, 'done');
});

Steps('should still terminate and clean up after a bake whose group was deleted', async ({ fx }) => {
  const bake = await fx.placeIn('cleaning', await fx.group());
  await fx.store.deleteGroup('web');
  assert.is(await step(fx.env, bake), 'moved');
  assert.equal(fx.ec2.terminations, [bake.instance_id]);
  assert.equal(fx.ca.cleaned, [bake.certname]);
  assert.equal(fx.classifier.unpins, [], 'no group to unpin from');
});

// --- any state

Steps('should end a bake failed when its group is deleted mid-bake', async ({ fx }) => {
  const bake = await fx.placeIn('booting', await fx.group());
  await fx.store.deleteGroup('web');
  assert.is(await step(fx.env, bake), 'moved');
  const cleaning = await movedTo(fx, bake, 'cleaning');
  assert.is(cleaning.outcome, 'failed');
  assert.is(cleaning.reason, 'group web was deleted during the bake');
  assert.is(fx.ec2.count('waitForInstance'), 0);
});

Steps('should refuse the transition of a step whose lease another sidecar holds', async ({ fx }) => {
  const bake = await fx.placeIn('promoted', await fx.group());
  fx.time.advance(LEASE_MS + 1);
  await fx.lease(bake.id, 'sidecar-b');
  assert.is(await step(fx.env, bake), 'lost');
  const after = await reread(fx, bake);
  assert.is(after.state, 'promoted');
  assert.is(after.lease_owner, 'sidecar-b');
  assert.equal(fx.log.with('bake moved'), []);
});

Steps('should refuse to step a bake moved on by someone else since it was read', async ({ fx }) => {
  const bake = await fx.placeIn('queued', await fx.group());
  await fx.store.transition(bake.id, OWNER, 'queued', { state: 'launching', deadline: fx.at(60_000) });
  assert.is(await step(fx.env, bake), 'lost', 'the stale read says queued');
  assert.is((await reread(fx, bake)).state, 'launching');
});

Steps('should do nothing for a bake that is done', async ({ fx }) => {
  const bake = await fx.placeIn('cleaning', await fx.group());
  await step(fx.env, bake);
  const calls = fx.ec2.calls.length;
  assert.is(await step(fx.env, await reread(fx, bake)), 'lost');
  assert.is(fx.ec2.calls.length, calls);
});

Steps.run();
