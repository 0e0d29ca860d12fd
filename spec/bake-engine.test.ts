/**
 * The bake engine in a fake environment: driving bakes to every outcome, retrying what
 * EC2 or the store only refuse for now, leases between sidecars, and resuming after a crash.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StoreUnavailableError } from '../runtime/errors.ts';
import { Metrics } from '../runtime/metrics.ts';
import type { Bake, BakeState, Group, ReportSummary, Store } from '../runtime/store/store.ts';
import { FakeBakeEnv, LEASE_MS, OWNER, changedReport, failedReport, secretFor, unchangedReport } from './support/fake-bake-env.ts';
import { ec2Failure, signalOf, untilAborted } from './support/fake-ec2-faults.ts';

interface Context {
  fx: FakeBakeEnv;
}

const Engine = suite<Context>('bake engine');

Engine.before.each(async (context) => {
  context.fx = await FakeBakeEnv.open();
});

Engine.after.each(({ fx }) => fx.close());

/** The agent run over SSH ends with its report in the store, as the report processor would put it there. */
function agentReports(fx: FakeBakeEnv, report: ReportSummary): void {
  fx.bootstrap.agent = async (run) => {
    const bake = await fx.store.findBakeByCertname(run.certname);
    await fx.store.recordReport(bake!.id, report);
    return { state: 'ran', exitCode: 2, output: '' };
  };
}

/** Waits in real time, briefly, for something the engine does on its own. */
async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}

/** A bake left by a sidecar that died holding its lease, which has since lapsed. */
async function abandoned(fx: FakeBakeEnv, state: BakeState, group: Group): Promise<Bake> {
  const bake = await fx.placeIn(state, group);
  await fx.store.releaseLease(bake.id, OWNER);
  await fx.lease(bake.id, 'sidecar-dead');
  return bake;
}

const FULL_PATH = [
  'queued → launching', 'launching → booting', 'booting → bootstrapping', 'bootstrapping → awaiting_report', 'awaiting_report → imaging',
  'imaging → image_pending', 'image_pending → distributing', 'distributing → promoted', 'promoted → publishing', 'publishing → cleaning', 'cleaning → done',
];

// --- outcomes

Engine('should drive a bake through every state to baked, promote its image and terminate its instance once', async ({ fx }) => {
  const group = await fx.group();
  agentReports(fx, changedReport());
  const bake = await fx.queue(group);
  fx.engine().wake();
  const done = await fx.settle(bake.id);
  assert.is(done.outcome, 'baked', done.reason ?? '');
  assert.equal(fx.log.moves(bake.id), FULL_PATH);
  assert.is(fx.ec2.count('launch'), 1);
  assert.is(fx.ec2.count('createImage'), 1);
  assert.equal(fx.ec2.terminations, [done.instance_id]);
  assert.is(fx.ec2.instance(done.instance_id!)?.state, 'terminated');
  assert.is((await fx.store.getGroup('web'))?.image, done.image_id);
  assert.is(fx.ec2.image(done.image_id!)?.state, 'available');
  assert.equal(fx.ca.cleaned, [done.certname]);
  assert.not.ok(fx.log.text().includes(secretFor(bake.id)), 'the secret is never logged');
});

Engine('should end a run that changed nothing as unchanged, with no image', async ({ fx }) => {
  agentReports(fx, unchangedReport());
  const bake = await fx.queue(await fx.group());
  fx.engine().wake();
  const done = await fx.settle(bake.id);
  assert.is(done.outcome, 'unchanged');
  assert.equal(fx.log.moves(bake.id).slice(-3), ['bootstrapping → awaiting_report', 'awaiting_report → cleaning', 'cleaning → done']);
  assert.is(fx.ec2.count('createImage'), 0);
  assert.equal(fx.ec2.terminations, [done.instance_id]);
  assert.is((await fx.store.getGroup('web'))?.image, fx.ec2.launches[0]?.image);
});

Engine('should end a run with failures as failed_run, with no image', async ({ fx }) => {
  agentReports(fx, failedReport());
  const bake = await fx.queue(await fx.group());
  fx.engine().wake();
  const done = await fx.settle(bake.id);
  assert.is(done.outcome, 'failed_run');
  assert.match(done.reason ?? '', 'Package[nginx]');
  assert.is(fx.ec2.count('createImage'), 0);
  assert.equal(fx.ec2.terminations, [done.instance_id]);
});

Engine('should move a bake waiting for its report on as soon as it is woken for it, not at the next tick', async ({ fx }) => {
  const bake = await fx.queue(await fx.group({ bootstrap: 'userdata' }));
  // A tick far longer than the test: only the wake can move the bake on in time.
  const engine = fx.engine({ env: { tickMs: 60_000 } });
  engine.wake();
  // Its first look found no report (it signed the CSR meanwhile): the engine is in its pause now.
  await fx.settle(bake.id, (each) => each.state === 'awaiting_report' && each.challenge_hash === null);
  await new Promise((resolve) => setTimeout(resolve, 10));
  await fx.store.recordReport(bake.id, unchangedReport());
  engine.wake(bake.id);
  const done = await fx.settle(bake.id, undefined, 1_000);
  assert.is(done.outcome, 'unchanged');
});

Engine('should end a bake failed on an EC2 refusal that will not pass, saying why, and clean up', async ({ fx }) => {
  agentReports(fx, changedReport());
  fx.ec2.failNext('createImage', ec2Failure('UnauthorizedOperation', 'CreateImage'));
  const bake = await fx.queue(await fx.group());
  fx.engine().wake();
  const done = await fx.settle(bake.id);
  assert.is(done.outcome, 'failed');
  assert.match(done.reason ?? '', /credentials lack permission for ec2:CreateImage.*UnauthorizedOperation/);
  assert.equal(fx.log.attempts(bake.id), [1], 'tried once');
  assert.equal(fx.ec2.terminations, [done.instance_id]);
  assert.is((await fx.store.getGroup('web'))?.image, done.parent_image);
});

Engine('should end a bake failed when EC2 has no capacity, rather than retry it until the deadline', async ({ fx }) => {
  fx.ec2.failNext('launch', ec2Failure('InsufficientInstanceCapacity'), { times: 10 });
  const bake = await fx.queue(await fx.group());
  fx.engine().wake();
  const done = await fx.settle(bake.id);
  assert.is(done.outcome, 'failed');
  assert.match(done.reason ?? '', /^no capacity for .* in us-east-1 now; retry later or choose another type\/subnet \(InsufficientInstanceCapacity\)$/);
  assert.is(fx.ec2.count('launch'), 1);
  assert.equal(fx.ec2.instances(), []);
  assert.equal(fx.log.moves(bake.id), ['queued → launching', 'launching → cleaning', 'cleaning → done']);
});

Engine('should end a bake cleanup_failed when its cleanup keeps failing until the deadline, log every attempt, and free the group', async ({ fx }) => {
  const bake = await fx.placeIn('cleaning', await fx.group());
  await fx.store.releaseLease(bake.id, OWNER);
  // Not a failure that passes: cleaning retries it all the same, until its deadline.
  fx.ec2.failNext('terminate', ec2Failure('UnauthorizedOperation', 'TerminateInstances'), { times: Number.POSITIVE_INFINITY });
  fx.engine().wake();
  await eventually('three attempts', () => fx.log.attempts(bake.id).length >= 3);
  assert.equal(fx.log.attempts(bake.id).slice(0, 3), [1, 2, 3]);
  assert.is((await fx.store.getBake(bake.id))?.state, 'cleaning');
  fx.time.advance(fx.deadlines.forState('cleaning') + 1);
  const done = await fx.settle(bake.id);
  assert.is(done.outcome, 'cleanup_failed');
  assert.match(done.reason ?? '', 'cleanup did not finish before its deadline (last failure: credentials lack permission for ec2:TerminateInstances');
  assert.match(done.reason ?? '', `instance ${bake.instance_id} and certificate ${bake.certname} may be left behind`);
  assert.match(done.reason ?? '', 'the bake had ended unchanged: the Puppet run changed nothing');
  assert.equal(await fx.store.listBakes({ active: true, group_name: 'web' }), [], 'the group may bake again');
});

// --- retries

for (const code of ['RequestLimitExceeded', 'ECONNRESET', 'InternalError', 'ServiceUnavailable']) {
  Engine(`should wait out ${code} and retry, logging each attempt, without a second instance`, async ({ fx }) => {
    fx.ec2.failNext('launch', ec2Failure(code), { times: 2 });
    const bake = await fx.queue(await fx.group());
    fx.engine().wake();
    const booting = await fx.settle(bake.id, (each) => each.instance_id !== null);
    assert.equal(fx.log.attempts(bake.id), [1, 2]);
    const failures = fx.log.with('bake step failed');
    assert.ok(failures.every((line) => line.level === 'warn' && line.fields.state === 'launching'), JSON.stringify(failures));
    assert.match(String(failures[0]?.fields.error), code);
    assert.is(fx.ec2.count('launch'), 3);
    assert.equal(fx.ec2.instances().map((instance) => instance.id), [booting.instance_id]);
  });
}

Engine('should adopt the instance of a launch whose answer was lost, through its ClientToken', async ({ fx }) => {
  fx.ec2.failNext('launch', ec2Failure('ECONNRESET'), { after: true });
  const bake = await fx.queue(await fx.group());
  fx.engine().wake();
  const booting = await fx.settle(bake.id, (each) => each.instance_id !== null);
  assert.is(fx.ec2.count('launch'), 2);
  assert.equal(fx.ec2.launches.map((spec) => spec.clientToken), [bake.id, bake.id]);
  assert.equal(fx.ec2.instances().map((instance) => instance.id), [booting.instance_id]);
});

Engine('should count attempts afresh once a step got through', async ({ fx }) => {
  agentReports(fx, changedReport());
  fx.ec2.failNext('launch', ec2Failure('RequestLimitExceeded'), { times: 2 });
  fx.ec2.failNext('createImage', ec2Failure('RequestLimitExceeded', 'CreateImage'));
  const bake = await fx.queue(await fx.group());
  fx.engine().wake();
  const done = await fx.settle(bake.id);
  assert.is(done.outcome, 'baked');
  assert.equal(fx.log.attempts(bake.id), [1, 2, 1]);
  assert.is(fx.ec2.count('createImage'), 2);
  assert.is(fx.ec2.images().length, 1);
});

Engine('should wait out a store outage rather than fail the bake', async ({ fx }) => {
  agentReports(fx, unchangedReport());
  let outages = 2;
  const store = fx.store;
  const flaky: Store = new Proxy(store, {
    get(target, key) {
      if (key === 'transition') {
        const transition: Store['transition'] = (...args) =>
          outages-- > 0 ? Promise.reject(new StoreUnavailableError('connection lost')) : target.transition(...args);
        return transition;
      }
      const value: unknown = Reflect.get(target, key);
      // Bound to the store itself: its private fields do not exist on the proxy.
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const bake = await fx.queue(await fx.group());
  fx.engine({ env: { store: flaky } }).wake();
  const done = await fx.settle(bake.id);
  assert.is(done.outcome, 'unchanged');
  assert.equal(fx.log.attempts(bake.id), [1, 2]);
  assert.match(String(fx.log.with('bake step failed')[0]?.fields.error), 'store unavailable: connection lost');
});

// --- leases

Engine('should not drive a bake another sidecar holds the lease of', async ({ fx }) => {
  const group = await fx.group();
  const theirs = await fx.queue(group);
  await fx.lease(theirs.id, 'sidecar-b');
  agentReports(fx, unchangedReport());
  const ours = await fx.queue(await fx.group({ name: 'api' }));
  fx.engine().wake();
  // The free bake finishing shows the engine looked at both.
  await fx.settle(ours.id);
  const after = await fx.store.getBake(theirs.id);
  assert.is(after?.state, 'queued');
  assert.is(after?.lease_owner, 'sidecar-b');
  assert.equal(fx.log.moves(theirs.id), []);
  assert.ok(fx.ec2.launches.every((spec) => spec.clientToken !== theirs.id));
});

Engine('should take over a bake whose lease lapsed, count it, and finish it', async ({ fx }) => {
  const metrics = await Metrics.on();
  const bake = await abandoned(fx, 'awaiting_report', await fx.group());
  await fx.store.recordReport(bake.id, changedReport());
  fx.time.advance(LEASE_MS + 1);
  fx.engine({ env: { metrics } }).wake();
  const done = await fx.settle(bake.id);
  assert.is(done.outcome, 'baked');
  assert.match(await metrics.text(), /^autoami_lease_takeovers_total 1$/m);
});

Engine('should wait for a lapsing lease to lapse before taking the bake over', async ({ fx }) => {
  const bake = await abandoned(fx, 'queued', await fx.group());
  fx.time.advance(LEASE_MS - 1);
  const engine = fx.engine();
  engine.wake();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.is((await fx.store.getBake(bake.id))?.state, 'queued', 'one millisecond of lease left is still a lease');
  fx.time.advance(2);
  engine.wake();
  await fx.settle(bake.id, (each) => each.state !== 'queued');
});

Engine('should refuse the transition of a step whose lease was lost mid-step, and never do the step twice', async ({ fx }) => {
  const bake = await fx.placeIn('launching', await fx.group());
  await fx.store.releaseLease(bake.id, OWNER);
  // While RunInstances is under way this sidecar stalls past its lease, and another takes the bake.
  fx.ec2.intercept('launch', async () => {
    fx.time.advance(LEASE_MS + 1);
    await fx.lease(bake.id, 'sidecar-b');
  }, 1);
  const a = fx.engine();
  a.wake();
  await eventually('the first engine letting go', () => fx.ec2.count('launch') === 1 && a.active === 0);
  const stalled = await fx.store.getBake(bake.id);
  assert.is(stalled?.state, 'launching');
  assert.is(stalled?.instance_id, null, 'the launch was not recorded');
  assert.is(stalled?.lease_owner, 'sidecar-b', 'releasing did not take the lease from its holder');
  assert.equal(fx.log.moves(bake.id), []);

  fx.engine({ owner: 'sidecar-b' }).wake();
  const booting = await fx.settle(bake.id, (each) => each.instance_id !== null);
  assert.is(fx.ec2.instances().length, 1, 'the second launch adopted the first one instance');
  assert.is(booting.instance_id, fx.ec2.instances()[0]?.id);
  assert.equal(fx.log.moves(bake.id).filter((move) => move === 'launching → booting'), ['launching → booting']);
});

Engine('should let two sidecars on one store drive every bake exactly once', async ({ fx }) => {
  agentReports(fx, unchangedReport());
  const bakes: Bake[] = [];
  for (let index = 0; index < 6; index++) bakes.push(await fx.queue(await fx.group({ name: `web-${index}` })));
  const a = fx.engine({ concurrency: 4 });
  const b = fx.engine({ owner: 'sidecar-b', concurrency: 4 });
  a.wake();
  b.wake();
  for (const bake of bakes) assert.is((await fx.settle(bake.id)).outcome, 'unchanged');
  for (const bake of bakes) {
    const launches = fx.ec2.launches.filter((spec) => spec.clientToken === bake.id);
    assert.is(launches.length, 1, `bake ${bake.id} launched ${launches.length} times`);
    assert.equal(fx.log.moves(bake.id), [
      'queued → launching', 'launching → booting', 'booting → bootstrapping', 'bootstrapping → awaiting_report', 'awaiting_report → cleaning', 'cleaning → done',
    ]);
  }
  assert.is(fx.bootstrap.runs.length, 6, 'one agent run per bake');
});

Engine('should drive no more bakes at once than its concurrency', async ({ fx }) => {
  const group = await fx.group({ bootstrap: 'userdata' });
  const first = await fx.queue(group);
  const second = await fx.queue(await fx.group({ name: 'api', bootstrap: 'userdata' }));
  const engine = fx.engine({ concurrency: 1 });
  engine.wake();
  await fx.settle(first.id, (each) => each.state === 'awaiting_report');
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.is((await fx.store.getBake(second.id))?.state, 'queued', 'the one slot is taken by the waiting bake');
  await fx.store.recordReport(first.id, unchangedReport());
  engine.wake(first.id);
  await fx.settle(first.id);
  await fx.settle(second.id, (each) => each.state === 'awaiting_report');
});

// --- resuming

Engine('should resume a bake left in any state by a dead sidecar, without a second instance or image', async ({ fx }) => {
  agentReports(fx, changedReport());
  const states: BakeState[] = ['launching', 'booting', 'bootstrapping', 'awaiting_report', 'imaging', 'image_pending', 'promoted', 'publishing', 'cleaning'];
  const left = new Map<BakeState, Bake>();
  for (const state of states) left.set(state, await abandoned(fx, state, await fx.group({ name: `g-${state}` })));
  await fx.store.recordReport(left.get('awaiting_report')!.id, changedReport());
  // A launch that went through before the crash, never recorded.
  const launched = fx.ec2.seedInstance({ clientToken: left.get('launching')!.id, tags: { 'autoami:bake': left.get('launching')!.id } });
  fx.time.advance(LEASE_MS + 1);
  fx.engine({ concurrency: states.length }).wake();
  for (const [state, bake] of left) {
    const done = await fx.settle(bake.id);
    assert.is(done.outcome, state === 'cleaning' ? 'unchanged' : 'baked', `${state}: ${done.outcome} ${done.reason}`);
    const instances = fx.ec2.instances().filter((instance) => instance.tags['autoami:bake'] === bake.id);
    assert.is(instances.length, 1, `${state}: ${instances.length} instances`);
    assert.is(instances[0]?.state, 'terminated', `${state}: instance left ${instances[0]?.state}`);
    const images = fx.ec2.images().filter((image) => image.tags['autoami:bake'] === bake.id);
    assert.ok(images.length <= 1, `${state}: ${images.length} images`);
  }
  assert.is((await fx.store.getBake(left.get('launching')!.id))?.instance_id, launched.id);
});

Engine('should stop a step waiting on EC2 at once, leaving the bake in its state and its lease free', async ({ fx }) => {
  const bake = await fx.placeIn('booting', await fx.group());
  await fx.store.releaseLease(bake.id, OWNER);
  fx.ec2.intercept('waitForInstance', (call) => untilAborted(signalOf(call), 'the instance'));
  const engine = fx.engine();
  engine.wake();
  await eventually('the wait', () => fx.ec2.count('waitForInstance') === 1);
  const started = Date.now();
  await engine.stop(5_000);
  assert.ok(Date.now() - started < 1_000, `stop took ${Date.now() - started} ms`);
  const after = await fx.store.getBake(bake.id);
  assert.is(after?.state, 'booting');
  assert.is(after?.lease_owner, null);
  assert.equal(fx.log.attempts(bake.id), [], 'a stop is no failure of the bake');
  assert.equal(fx.log.with('bake step interrupted by stop').map((line) => line.fields.bake), [bake.id]);
});

Engine.run();
