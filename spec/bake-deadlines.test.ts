/**
 * Deadlines: the table of how long a bake may stay in each state, and the engine ending a
 * bake that outstays one. The clock is moved past each deadline; nothing waits for it.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { deadlines } from '../runtime/bake/deadlines.ts';
import { BAKE_STATES, type Bake, type BakeState } from '../runtime/store/store.ts';
import { FakeBakeEnv, OWNER, REPORT_TIMEOUT_MS, changedReport } from './support/fake-bake-env.ts';

interface Context {
  fx: FakeBakeEnv;
}

const Deadlines = suite<Context>('deadlines');

Deadlines.before.each(async (context) => {
  context.fx = await FakeBakeEnv.open();
});

Deadlines.after.each(({ fx }) => fx.close());

const MINUTE = 60_000;

Deadlines('should give every state its own deadline, the report wait the configured one, and done none', () => {
  const table = deadlines(45 * MINUTE);
  const minutes = Object.fromEntries(BAKE_STATES.map((state) => [state, table.forState(state) / MINUTE]));
  assert.equal(minutes, {
    queued: 60, launching: 10, booting: 15, bootstrapping: 30, awaiting_report: 45, imaging: 10, image_pending: 90, verifying: 45, distributing: 120, promoted: 10, publishing: 240, cleaning: 15, done: 0,
  });
});

Deadlines('should take overrides for single states and keep the rest', () => {
  const table = deadlines(45 * MINUTE, { booting: 2 * MINUTE, cleaning: 1_000 });
  assert.is(table.forState('booting'), 2 * MINUTE);
  assert.is(table.forState('cleaning'), 1_000);
  assert.is(table.forState('image_pending'), 90 * MINUTE);
  assert.is(table.forState('awaiting_report'), 45 * MINUTE);
});

/** A bake placed in `state` whose lease is free for the engine to take. */
async function placed(fx: FakeBakeEnv, state: BakeState): Promise<Bake> {
  const bake = await fx.placeIn(state, await fx.group({ name: `g-${state}`, bootstrap: 'userdata' }));
  await fx.store.releaseLease(bake.id, OWNER);
  return bake;
}

Deadlines('should end a bake timed_out from each state whose deadline passed, before that state step runs', async ({ fx }) => {
  const states: BakeState[] = ['queued', 'launching', 'booting', 'bootstrapping', 'awaiting_report', 'imaging', 'image_pending', 'promoted'];
  const bakes = new Map<BakeState, Bake>();
  for (const state of states) bakes.set(state, await placed(fx, state));
  fx.time.advance(Math.max(...states.map((state) => fx.deadlines.forState(state))) + 1);
  fx.engine({ concurrency: states.length }).wake();
  for (const [state, bake] of bakes) {
    const done = await fx.settle(bake.id);
    assert.is(done.outcome, 'timed_out', `${state}: ${done.outcome}`);
    assert.is(done.reason, `no progress in ${state} before its deadline`);
    // Straight to cleaning: the late state's own step never ran.
    assert.equal(fx.log.moves(bake.id), [`${state} → cleaning`, 'cleaning → done']);
    if (bake.instance_id) assert.is(fx.ec2.instance(bake.instance_id)?.state, 'terminated', `${state}: the instance is cleaned up`);
  }
  assert.is(fx.ec2.count('launch'), 0);
  assert.is(fx.ec2.count('createImage'), 0);
  assert.is(fx.ec2.count('waitForImage'), 0);
  assert.equal(fx.classifier.pins, []);
});

Deadlines('should let a publishing bake past its deadline end as its publication ends, not as timed out', async ({ fx }) => {
  const bake = await placed(fx, 'publishing');
  fx.time.advance(fx.deadlines.forState('publishing') + 1);
  fx.engine().wake();
  const done = await fx.settle(bake.id);
  // The group already has its image: timing out here would say the bake made none.
  assert.is(done.outcome, 'baked', `${done.outcome}: ${done.reason}`);
  assert.equal(fx.log.moves(bake.id), ['publishing → cleaning', 'cleaning → done']);
  assert.is((await fx.store.getPublication(bake.id))?.outcome, 'published');
});

Deadlines('should not time out a bake at its deadline, and should one millisecond after it', async ({ fx }) => {
  const bake = await placed(fx, 'awaiting_report');
  fx.time.advance(REPORT_TIMEOUT_MS);
  const engine = fx.engine();
  engine.wake();
  // Several looks at the bake, each finding no report and the deadline not yet passed.
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.is((await fx.store.getBake(bake.id))?.state, 'awaiting_report');
  fx.time.advance(1);
  const done = await fx.settle(bake.id);
  assert.is(done.outcome, 'timed_out');
  assert.is(done.reason, 'no progress in awaiting_report before its deadline');
});

Deadlines('should still take a report that comes a millisecond before the report timeout', async ({ fx }) => {
  const bake = await placed(fx, 'awaiting_report');
  fx.engine().wake();
  fx.time.advance(REPORT_TIMEOUT_MS - 1);
  await new Promise((resolve) => setTimeout(resolve, 10));
  await fx.store.recordReport(bake.id, changedReport());
  const imaging = await fx.settle(bake.id, (each) => each.state !== 'awaiting_report');
  assert.is(imaging.outcome, null, 'a report a millisecond before the timeout still counts');
});

Deadlines('should time out a bake whose instance never boots before the booting deadline', async ({ fx }) => {
  fx.ec2.bootMs = Number.POSITIVE_INFINITY;
  const bake = await placed(fx, 'booting');
  fx.engine().wake();
  const done = await fx.settle(bake.id);
  assert.is(done.outcome, 'timed_out', `${done.outcome}: ${done.reason}`);
  assert.is(fx.ec2.instance(bake.instance_id!)?.state, 'terminated');
});

Deadlines('should time out a bake whose image never becomes available before the image_pending deadline', async ({ fx }) => {
  fx.ec2.imageMs = Number.POSITIVE_INFINITY;
  const bake = await fx.placeIn('imaging', await fx.group());
  await fx.store.releaseLease(bake.id, OWNER);
  fx.engine().wake();
  const done = await fx.settle(bake.id);
  assert.is(done.outcome, 'timed_out', `${done.outcome}: ${done.reason}`);
  assert.is((await fx.store.getGroup('web'))?.image, bake.parent_image);
});

Deadlines('should end a cleanup whose instance never terminates as cleanup_failed at the cleaning deadline', async ({ fx }) => {
  fx.ec2.terminateMs = Number.POSITIVE_INFINITY;
  const bake = await placed(fx, 'cleaning');
  fx.engine().wake();
  const done = await fx.settle(bake.id);
  assert.is(done.outcome, 'cleanup_failed');
  assert.match(done.reason ?? '', `last failure: timed out after 903 s waiting for instance ${bake.instance_id} to be terminated (last state: shutting-down)`);
  assert.equal(fx.ec2.terminations, [bake.instance_id], 'terminated once: the retry came after the deadline');
});

Deadlines.run();
