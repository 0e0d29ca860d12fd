/**
 * The bake survives its sidecar: SIGKILL in each state and a restart finish every bake
 * with no instance left running and no AMI made twice; two sidecars on one MySQL bake
 * each group exactly once.
 */
import './support/aws-env.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { BakeState } from '../runtime/store/store.ts';
import { inState, reportFor, waitForBake } from './support/bake-harness.ts';
import { closeCrashRig, openCrashRig, type CrashRig } from './support/crash-rig.ts';
import type { Ec2Endpoint } from './support/ec2-endpoint.ts';
import { seedGroup } from './support/group-params.ts';
import { callOnce } from './support/rpc.ts';
import { spawnSidecar } from './support/sidecar-process.ts';
import { writeConfig } from './support/sidecar.ts';

type Context = CrashRig;

/** assertClean counts terminated instances: they must stay visible however long the bakes around them take. */
const TERMINATED_VISIBLE_MS = 3_600_000;

const BAKE_CONFIG = { puppet: { classifier: 'none' }, bake: { poll_interval: '50ms', lease: '1s', report_timeout: '60s' } };

function sidecarConfig(context: Context) {
  return writeConfig(context.db, { aws: { region: 'us-east-1', endpoint: context.endpoint.url }, ...BAKE_CONFIG });
}

async function call(socket: string, method: string, params: unknown) {
  const reply = await callOnce(socket, method, params);
  assert.ok(reply.result, `${method}: ${JSON.stringify(reply.error)}`);
  return reply.result;
}

/** No instance of these bakes is still running, and each made at most one image. */
function assertClean(endpoint: Ec2Endpoint, bakeIds: readonly string[]) {
  for (const id of bakeIds) {
    const instances = endpoint.instances().filter((instance) => instance.tags.get('autoami:bake') === id);
    assert.is(instances.length, 1, `bake ${id} launched ${instances.length} instances`);
    assert.ok(instances.every((instance) => instance.state === 'terminated' || instance.state === 'shutting-down'), `bake ${id} left ${instances[0]?.state}`);
    const images = endpoint.images().filter((image) => image.tags.get('autoami:bake') === id);
    assert.ok(images.length <= 1, `bake ${id} made ${images.length} images`);
  }
}

const Crash = suite<Context>('bake after SIGKILL');

Crash.before((context) => openCrashRig(context, { bootMs: 600, imageMs: 1200, terminateMs: 800, terminatedVisibleMs: TERMINATED_VISIBLE_MS }));
Crash.after(closeCrashRig);

const killPoints: BakeState[] = ['launching', 'booting', 'awaiting_report', 'imaging', 'image_pending', 'cleaning'];

/**
 * What holds a bake in each kill point until the test has killed its sidecar: an EC2 call the
 * point depends on is throttled for as long as it takes (the engine waits "not now" out), so
 * the kill lands in that state however slow or fast the machine is. `awaiting_report` holds by
 * itself until the test reports.
 */
const HOLDS: Partial<Record<BakeState, string>> = {
  launching: 'RunInstances',
  booting: 'DescribeInstances',
  imaging: 'CreateImage',
  image_pending: 'DescribeImages',
  cleaning: 'TerminateInstances',
};
const THROTTLED = { error: { code: 'RequestLimitExceeded', status: 503 } };

for (const point of killPoints) {
  Crash(`should finish a bake whose sidecar was killed in ${point}`, async (context) => {
    const { endpoint, store } = context;
    const { file, socket } = sidecarConfig(context);
    const group = `crash-${point.replace(/_/g, '-')}`;
    const hold = HOLDS[point];
    endpoint.faults.clear();
    if (hold) endpoint.faults.set(hold, THROTTLED);
    let sidecar = await spawnSidecar(file, socket);
    await call(socket, 'group.create', seedGroup({ name: group, bootstrap: 'userdata' }));
    const run = await call(socket, 'bake.run', { groups: [group] });
    const bakeId = run.bakes[0].bake as string;
    const order: BakeState[] = ['queued', 'launching', 'booting', 'bootstrapping', 'awaiting_report', 'imaging', 'image_pending', 'distributing', 'promoted', 'cleaning', 'done'];
    const reached = (state: BakeState) => (bake: { state: BakeState }) => order.indexOf(bake.state) >= order.indexOf(state);
    let reported = false;
    const report = async (via: string) => {
      const bake = await waitForBake(store, bakeId, inState('awaiting_report'));
      await call(via, 'report.submit', reportFor(bake.certname!));
      reported = true;
    };
    if (order.indexOf(point) > order.indexOf('awaiting_report')) await report(socket);
    const observed = await waitForBake(store, bakeId, reached(point));
    const killed = new Promise((resolve) => sidecar.child.once('exit', resolve));
    sidecar.child.kill('SIGKILL');
    assert.is(observed.state, point, 'the kill came later than planned');
    await killed;
    // EC2 answers again, and a new sidecar takes the bake over from where the old one died.
    endpoint.faults.clear();
    sidecar = await spawnSidecar(file, socket);
    try {
      if (!reported) await report(socket);
      const done = await waitForBake(store, bakeId, inState('done'));
      assert.is(done.outcome, 'baked', `${done.outcome}: ${done.reason}`);
      assert.is((await store.getGroup(group))?.image, done.image_id);
      assertClean(endpoint, [bakeId]);
    } finally {
      await sidecar.stop();
    }
  });
}

const Shared = suite<Context>('two sidecars on one MySQL');

Shared.before((context) => openCrashRig(context, { bootMs: 100, imageMs: 200, terminateMs: 50, terminatedVisibleMs: TERMINATED_VISIBLE_MS }));
Shared.after(closeCrashRig);

Shared('should bake every group exactly once', async (context) => {
  const { endpoint, store } = context;
  const first = sidecarConfig(context);
  const second = sidecarConfig(context);
  const sidecars = await Promise.all([spawnSidecar(first.file, first.socket), spawnSidecar(second.file, second.socket)]);
  try {
    const names = Array.from({ length: 8 }, (_, index) => `shared-${index}`);
    for (const name of names) await call(first.socket, 'group.create', seedGroup({ name, bootstrap: 'userdata' }));
    const run = await call(second.socket, 'bake.run', { groups: names });
    const bakeIds = (run.bakes as { bake: string }[]).map((row) => row.bake);
    const waiting = await Promise.all(bakeIds.map((id) => waitForBake(store, id, inState('awaiting_report'))));
    // A report may reach either master.
    for (const [index, bake] of waiting.entries()) {
      await call(index % 2 === 0 ? first.socket : second.socket, 'report.submit', reportFor(bake.certname!));
    }
    const done = await Promise.all(bakeIds.map((id) => waitForBake(store, id, inState('done'))));
    assert.ok(done.every((bake) => bake.outcome === 'baked'), JSON.stringify(done.map((bake) => bake.reason)));
    assertClean(endpoint, bakeIds);
    assert.is(endpoint.counts.ok('CreateImage'), names.length);
  } finally {
    await Promise.all(sidecars.map((sidecar) => sidecar.stop()));
  }
});

Crash.run();
Shared.run();
