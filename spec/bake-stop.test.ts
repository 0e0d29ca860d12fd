/**
 * Stopping a sidecar while its bakes wait on EC2: the waits end at once, the bakes stay in
 * their state with their leases released, and the next sidecar on the store resumes them.
 * The embedded store and the EC2 endpoint, which holds the image pending until told.
 */
import './support/aws-env.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../runtime/config.ts';
import { silentLogger } from '../runtime/log.ts';
import { startSidecar, type Sidecar } from '../runtime/sidecar.ts';
import { inState, reportFor, waitForBake } from './support/bake-harness.ts';
import { startEc2Endpoint, type Ec2Endpoint } from './support/ec2-endpoint.ts';
import { seedGroup } from './support/group-params.ts';
import { callOnce } from './support/rpc.ts';
import { startTestSidecar, type TestSidecar } from './support/sidecar.ts';

/** Longer than any test: the image is pending until the endpoint's clock is advanced past it. */
const HELD_IMAGE_MS = 24 * 60 * 60_000;
/** The engine's own bound on a stop: a driver still busy past it is left behind, its lease unreleased. */
const ENGINE_GRACE_MS = 2_000;

interface Context {
  endpoint: Ec2Endpoint;
  first: TestSidecar;
  second: Sidecar | undefined;
}

const Stop = suite<Context>('sidecar stop during a bake');

Stop.before(async (context) => {
  context.endpoint = await startEc2Endpoint({ images: ['ami-0abc1234'], bootMs: 20, terminateMs: 20, imageMs: HELD_IMAGE_MS });
  context.first = await startTestSidecar(undefined, {
    aws: { region: 'us-east-1', endpoint: context.endpoint.url },
    puppet: { classifier: 'none' },
    // A lease far longer than the test: the next sidecar can take the bake only if the first released it.
    bake: { poll_interval: '50ms', lease: '10m', report_timeout: '60m' },
  });
});

Stop.after(async ({ first, second, endpoint }) => {
  await second?.stop();
  await first.stop();
  await endpoint.stop();
});

Stop('should end a bake waiting for its image at once, leave it in image_pending, and let the next sidecar finish it', async (context) => {
  const { endpoint, first } = context;
  const created = await callOnce(first.socketPath, 'group.create', seedGroup({ name: 'held', bootstrap: 'userdata' }));
  assert.ok(created.result, JSON.stringify(created.error));
  const run = await callOnce(first.socketPath, 'bake.run', { groups: ['held'] });
  assert.ok(run.result, JSON.stringify(run.error));
  const bakeId = (run.result.bakes as { bake: string }[])[0]!.bake;
  const ready = await waitForBake(first.store, bakeId, inState('awaiting_report'));
  const reported = await callOnce(first.socketPath, 'report.submit', reportFor(ready.certname!));
  assert.is(reported.result?.state, 'recorded', JSON.stringify(reported));
  const pending = await waitForBake(first.store, bakeId, inState('image_pending'));
  // The driver is inside waitForImage once the image has been asked about.
  const asked = endpoint.counts.total('DescribeImages');
  await waitFor(() => endpoint.counts.total('DescribeImages') > asked);

  const started = Date.now();
  await first.stop();
  const took = Date.now() - started;
  assert.ok(took < ENGINE_GRACE_MS, `stop took ${took} ms: the engine waited out its grace for a driver still polling`);

  context.second = await startSidecar(await loadConfig(first.configFile), silentLogger);
  const kept = await context.second.store.getBake(bakeId);
  assert.is(kept?.outcome, null, kept?.reason ?? '');
  assert.is(kept?.image_id, pending.image_id);
  assert.ok(kept?.state === 'image_pending', `state ${kept?.state}`);
  assert.is(endpoint.image(pending.image_id!)?.state, 'pending');

  endpoint.clock.advance(HELD_IMAGE_MS);
  const done = await waitForBake(context.second.store, bakeId, inState('done'));
  assert.is(done.outcome, 'baked', done.reason ?? '');
  assert.is((await context.second.store.getGroup('held'))?.image, pending.image_id);
});

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > deadline) assert.unreachable('the bake never polled its image');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Stop.run();
