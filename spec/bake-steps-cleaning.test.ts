/**
 * The cleaning step on its own, in a fake environment: what it terminates, unpins and cleans,
 * what it keeps, which failures it gives up on and which it throws for the engine to retry,
 * and the retention after a baked bake. The engine around it is spec/bake-engine.test.ts.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { step } from '../runtime/bake/steps.ts';
import { Ec2Error, PuppetApiError } from '../runtime/errors.ts';
import { reread, type StepContext } from './support/bake-step-checks.ts';
import { BASE_IMAGE, FakeBakeEnv, OWNER, failedReport } from './support/fake-bake-env.ts';
import { ec2Failure } from './support/fake-ec2-faults.ts';
import { rejects } from './support/rejects.ts';

const Steps = suite<StepContext>('bake steps: cleaning');

Steps.before.each(async (context) => {
  context.fx = await FakeBakeEnv.open();
});

Steps.after.each(({ fx }) => fx.close());

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
      config_version: null, changed_resources: [], created_at: fx.at(-days * 86_400_000), deregistered_at: null, copies: {}, retention_note: null, catalog_hash: null,
    });
  }
  const unchanged = await fx.placeIn('cleaning', group);
  await step(fx.env, unchanged);
  assert.equal(fx.ec2.deregistrations, [], 'an unchanged bake leaves retention to the next baked one');
  const baked = await fx.placeIn('promoted', group);
  await step(fx.env, baked);
  await step(fx.env, await reread(fx, baked));
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

Steps.run();
