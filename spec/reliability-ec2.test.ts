/**
 * Issue 7, EC2 under every fault at once: one run of many groups through the real
 * `autoami serve` while the EC2 endpoint throttles a fifth of all calls, shows new
 * instances and images late, refuses some launches for capacity and fails one image.
 * Every bake must end `done` with a named outcome and a reason, and nothing is left running.
 */
import './support/aws-env.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { DatabaseConfig } from '../runtime/config.ts';
import { MysqlStore } from '../runtime/store/mysql-store.ts';
import { BAKE_OUTCOMES, type Bake } from '../runtime/store/store.ts';
import { reportFor, waitForBake } from './support/bake-harness.ts';
import { startEc2Endpoint, type Ec2Endpoint } from './support/ec2-endpoint.ts';
import { seedGroup } from './support/group-params.ts';
import { startMariadb } from './support/mariadb.ts';
import { callOnce } from './support/rpc.ts';
import { spawnSidecar, type SidecarProcess } from './support/sidecar-process.ts';
import { writeConfig } from './support/sidecar.ts';

const GROUPS = Array.from({ length: 16 }, (_, index) => `storm-${index}`);
/** Groups whose agent run changes nothing; every other one changes something. */
const QUIET = new Set(['storm-3', 'storm-11']);
const BASE_IMAGE = 'ami-0abc1234';
const IMAGE_FAILURE = { code: 'Client.InternalError', message: 'Snapshot of the root volume could not be completed' };
/** Every action a bake makes, so throttling and lag hit all of them, not a chosen few. */
const ACTIONS = ['RunInstances', 'DescribeInstances', 'TerminateInstances', 'CreateImage', 'DescribeImages', 'DeregisterImage', 'DeleteSnapshot', 'DescribeRegions'];
/**
 * InsufficientInstanceCapacity answers, 500 as on EC2, so the SDK retries them: a bake ends
 * `failed` for capacity only if one launch runs out of attempts, and then it must say so.
 */
const CAPACITY_FAILURES = 6;
/** Only bounds a hang: the storm's retries and polls take seconds, unless two busy cores slow them down. */
const HANG_MS = 300_000;

interface Context {
  endpoint: Ec2Endpoint;
  db: DatabaseConfig;
  store: MysqlStore;
  sidecar: SidecarProcess;
  socket: string;
}

const Storm = suite<Context>('EC2 faults all at once');

const call = callOnce;

Storm.before(async (context) => {
  context.endpoint = await startEc2Endpoint({ images: [BASE_IMAGE], bootMs: 300, imageMs: 800, terminateMs: 100, seed: 7 });
  context.db = await (await startMariadb()).createDatabase();
  context.store = new MysqlStore(context.db);
  await context.store.open();
  const { file, socket } = writeConfig(context.db, {
    aws: { region: 'us-east-1', endpoint: context.endpoint.url },
    puppet: { classifier: 'none' },
    bake: { poll_interval: '100ms', lease: '5s', report_timeout: '2m', concurrency: 32 },
  });
  context.socket = socket;
  context.sidecar = await spawnSidecar(file, socket);
});

Storm.after(async ({ sidecar, store, endpoint }) => {
  await sidecar?.stop();
  await store?.close();
  await endpoint?.stop();
});

Storm('should end every bake in a named state with a reason and leave no instance running', async ({ endpoint, store, sidecar, socket }) => {
  for (const name of GROUPS) {
    const reply = await call(socket, 'group.create', seedGroup({ name, image: BASE_IMAGE, bootstrap: 'userdata' }));
    assert.ok(reply.result, JSON.stringify(reply.error));
  }
  // Set after the groups exist: the storm is on the run, not on the set-up.
  const lag = { consistencyLagMs: 1500 };
  for (const action of ACTIONS) endpoint.faults.set(action, { throttleRate: 0.2, ...(action.startsWith('Describe') ? lag : {}) });
  endpoint.faults.set('RunInstances', { throttleRate: 0.2, insufficientCapacity: CAPACITY_FAILURES });
  endpoint.faults.set('CreateImage', { throttleRate: 0.2, ...lag, failImages: 1, imageFailure: IMAGE_FAILURE });
  endpoint.faults.set('TerminateInstances', { throttleRate: 0.2, ...lag });

  const run = await call(socket, 'bake.run', { groups: GROUPS });
  assert.ok(run.result, JSON.stringify(run.error));
  const rows = run.result.bakes as { group: string; bake: string }[];
  assert.is(rows.length, GROUPS.length);

  // The scripted agent: report each instance that comes up; a bake may also end before that.
  const reported = new Set<string>();
  const done = await Promise.all(
    rows.map(async ({ group, bake: id }) => {
      const ready = await waitForBake(store, id, (bake) => bake.state === 'awaiting_report' || bake.outcome !== null, HANG_MS);
      if (ready.state === 'awaiting_report') {
        const quiet = QUIET.has(group);
        const report = reportFor(ready.certname!, quiet ? { status: 'unchanged', changed: 0, changed_resources: [] } : {});
        const reply = await call(socket, 'report.submit', report);
        assert.is(reply.result?.state, 'recorded', JSON.stringify(reply));
        reported.add(id);
      }
      return waitForBake(store, id, (bake) => bake.state === 'done', HANG_MS);
    }),
  );
  const summary = JSON.stringify(done.map((bake) => [bake.group_name, bake.outcome, bake.reason]), null, 1);

  for (const bake of done) {
    assert.ok((BAKE_OUTCOMES as readonly string[]).includes(bake.outcome ?? ''), `${bake.group_name}: outcome ${bake.outcome}\n${summary}`);
    assert.ok(bake.reason && bake.reason.trim().length > 0, `${bake.group_name} has no reason\n${summary}`);
  }

  // Exactly one image failed on EC2, and its bake says so by name; the group stays where it was.
  const failedImages = endpoint.images().filter((image) => image.state === 'failed');
  assert.is(failedImages.length, 1, summary);
  const failedImage = failedImages[0]!.imageId;
  const doomed = done.find((bake) => bake.image_id === failedImage) as Bake;
  assert.ok(doomed, `no bake owns ${failedImage}\n${summary}`);
  assert.is(doomed.outcome, 'failed');
  assert.match(doomed.reason!, failedImage);
  assert.match(doomed.reason!, IMAGE_FAILURE.message);
  assert.is((await store.getGroup(doomed.group_name))?.image, BASE_IMAGE);

  for (const bake of done.filter((each) => each !== doomed)) {
    if (!reported.has(bake.id)) {
      // Ended before its instance was up: only an EC2 refusal may do that, and it is named.
      assert.is(bake.outcome, 'failed', summary);
      assert.match(bake.reason!, /capacity|throttl/i, summary);
    } else if (QUIET.has(bake.group_name)) {
      assert.is(bake.outcome, 'unchanged', summary);
    } else {
      assert.is(bake.outcome, 'baked', summary);
      assert.is((await store.getGroup(bake.group_name))?.image, bake.image_id);
      assert.is(endpoint.image(bake.image_id!)?.state, 'available');
    }
  }

  const live = endpoint.instances().filter((instance) => instance.state === 'running' || instance.state === 'pending');
  assert.equal(live.map((instance) => `${instance.instanceId} ${instance.tags.get('autoami:group')}`), [], 'no instance left running');

  // The faults really happened: throttling across actions and every capacity refusal.
  assert.is(endpoint.counts.errors('RunInstances', 'InsufficientInstanceCapacity'), CAPACITY_FAILURES);
  const throttledActions = ACTIONS.filter((action) => endpoint.counts.errors(action, 'RequestLimitExceeded') > 0);
  assert.ok(throttledActions.length >= 4, JSON.stringify(endpoint.counts.all()));

  assert.is(sidecar.child.exitCode, null, sidecar.log());
  const status = await call(socket, 'status');
  assert.is(status.result?.store_ok, true, JSON.stringify(status));
});

Storm.run();
