/**
 * What a bake step refuses or ends whatever its state: a group deleted mid-bake, a lease
 * another sidecar holds, a bake moved on since it was read, and a bake that is done.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { step } from '../runtime/bake/steps.ts';
import { movedTo, reread, type StepContext } from './support/bake-step-checks.ts';
import { FakeBakeEnv, LEASE_MS, OWNER } from './support/fake-bake-env.ts';

const Steps = suite<StepContext>('bake steps: any state');

Steps.before.each(async (context) => {
  context.fx = await FakeBakeEnv.open();
});

Steps.after.each(({ fx }) => fx.close());

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
