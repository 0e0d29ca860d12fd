/**
 * The bake survives its sidecar: SIGKILL in each state and a restart finish every bake
 * with no instance left running and no AMI made twice; two sidecars on one MySQL bake
 * each group exactly once.
 */
import './support/aws-env.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { DatabaseConfig } from '../runtime/config.ts';
import { MysqlStore } from '../runtime/store/mysql-store.ts';
import type { BakeState } from '../runtime/store/store.ts';
import { inState, reportFor, waitForBake } from './support/bake-harness.ts';
import { startEc2Endpoint, type Ec2Endpoint } from './support/ec2-endpoint.ts';
import { seedGroup } from './support/group-params.ts';
import { startMariadb } from './support/mariadb.ts';
import { callOnce } from './support/rpc.ts';
import { spawnSidecar } from './support/sidecar-process.ts';
import { writeConfig } from './support/sidecar.ts';

interface Context {
  endpoint: Ec2Endpoint;
  db: DatabaseConfig;
  store: MysqlStore;
}

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

Crash.before(async (context) => {
  context.endpoint = await startEc2Endpoint({ images: ['ami-0abc1234'], bootMs: 600, imageMs: 1200, terminateMs: 800 });
  context.db = await (await startMariadb()).createDatabase();
  context.store = new MysqlStore(context.db);
  await context.store.open();
});

Crash.after(async ({ endpoint, store }) => {
  await store.close();
  await endpoint.stop();
});

const killPoints: BakeState[] = ['launching', 'booting', 'awaiting_report', 'imaging', 'image_pending', 'cleaning'];

for (const point of killPoints) {
  Crash(`should finish a bake whose sidecar was killed in ${point}`, async (context) => {
    const { endpoint, store } = context;
    const { file, socket } = sidecarConfig(context);
    const group = `crash-${point.replace(/_/g, '-')}`;
    // Throttled calls keep the bake in `launching` or `imaging` long enough to be killed there.
    const throttled = { error: { code: 'RequestLimitExceeded', status: 503, times: 3 } };
    endpoint.faults.set('RunInstances', point === 'launching' ? throttled : {});
    endpoint.faults.set('CreateImage', point === 'imaging' ? throttled : {});
    let sidecar = await spawnSidecar(file, socket);
    await call(socket, 'group.create', seedGroup({ name: group, bootstrap: 'userdata' }));
    const run = await call(socket, 'bake.run', { groups: [group] });
    const bakeId = run.bakes[0].bake as string;
    const order: BakeState[] = ['queued', 'launching', 'booting', 'bootstrapping', 'awaiting_report', 'imaging', 'image_pending', 'promoted', 'cleaning', 'done'];
    const reached = (state: BakeState) => (bake: { state: BakeState }) => order.indexOf(bake.state) >= order.indexOf(state);
    let reported = false;
    const report = async (via: string) => {
      const bake = await waitForBake(store, bakeId, inState('awaiting_report'));
      await call(via, 'report.submit', reportFor(bake.certname!));
      reported = true;
    };
    if (order.indexOf(point) > order.indexOf('awaiting_report')) await report(socket);
    const observed = await waitForBake(store, bakeId, reached(point), 20_000);
    sidecar.child.kill('SIGKILL');
    assert.is(observed.state, point, 'the kill came later than planned');
    await new Promise((resolve) => sidecar.child.once('exit', resolve));
    sidecar = await spawnSidecar(file, socket);
    try {
      if (!reported) await report(socket);
      const done = await waitForBake(store, bakeId, inState('done'), 30_000);
      assert.is(done.outcome, 'baked', `${done.outcome}: ${done.reason}`);
      assert.is((await store.getGroup(group))?.image, done.image_id);
      assertClean(endpoint, [bakeId]);
    } finally {
      await sidecar.stop();
    }
  });
}

const Shared = suite<Context>('two sidecars on one MySQL');

Shared.before(async (context) => {
  context.endpoint = await startEc2Endpoint({ images: ['ami-0abc1234'], bootMs: 100, imageMs: 200, terminateMs: 50 });
  context.db = await (await startMariadb()).createDatabase();
  context.store = new MysqlStore(context.db);
  await context.store.open();
});

Shared.after(async ({ endpoint, store }) => {
  await store.close();
  await endpoint.stop();
});

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
