/**
 * `run --wait` as the master uses it: it follows a group's bake even when an earlier run
 * started it, and it never holds the sidecar's stop open (SIGTERM, `systemctl restart`).
 * Real sidecars on the embedded store and the EC2 endpoint.
 */
import './support/aws-env.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../runtime/config.ts';
import { createLogger } from '../runtime/log.ts';
import { startSidecar, type Sidecar } from '../runtime/sidecar.ts';
import { inState, reportFor, waitForBake } from './support/bake-harness.ts';
import { startEc2Endpoint, type Ec2Endpoint } from './support/ec2-endpoint.ts';
import { seedGroup } from './support/group-params.ts';
import { session } from './support/rpc.ts';
import { writeConfig } from './support/sidecar.ts';

interface Context {
  endpoint: Ec2Endpoint;
}

interface Started {
  sidecar: Sidecar;
  warnings: string[];
}

async function start(endpoint: Ec2Endpoint): Promise<Started> {
  const { file } = writeConfig(undefined, { aws: { region: 'us-east-1', endpoint: endpoint.url }, puppet: { classifier: 'none' }, bake: { poll_interval: '50ms', lease: '2s' } });
  const warnings: string[] = [];
  const log = createLogger('info', (line) => {
    const entry = JSON.parse(line) as { level: string; message: string };
    if (entry.level === 'warn' || entry.level === 'error') warnings.push(entry.message);
  });
  return { sidecar: await startSidecar(await loadConfig(file), log), warnings };
}

const RunWait = suite<Context>('run --wait');

RunWait.before(async (context) => {
  context.endpoint = await startEc2Endpoint({ images: ['ami-0abc1234'], bootMs: 20, imageMs: 50, terminateMs: 20, terminatedVisibleMs: 3_600_000 });
});

RunWait.after(({ endpoint }) => endpoint.stop());

RunWait('should follow a bake an earlier run started and fail with its outcome', async ({ endpoint }) => {
  const { sidecar } = await start(endpoint);
  const client = await session(sidecar.server.path);
  try {
    assert.ok((await client.call('group.create', seedGroup({ name: 'web', bootstrap: 'userdata' }))).result);
    const first = await client.call('bake.run', { groups: ['web'] });
    const earlier: string = first.result.bakes[0].bake;
    const waiting = await waitForBake(sidecar.store, earlier, inState('awaiting_report'));
    const following = client.call('bake.run', { groups: ['web'], wait: true });
    const again = await session(sidecar.server.path);
    await again.call('report.submit', reportFor(waiting.certname!, { status: 'failed', changed: 0, failed: 1, failed_resources: ['Service[nginx]'] }));
    again.close();
    const reply = await following;
    assert.ok(reply.result, JSON.stringify(reply.error));
    const [row] = reply.result.bakes;
    assert.is(row.bake, earlier, 'no second bake for the group');
    assert.is(row.state, 'done');
    assert.is(row.outcome, 'failed_run');
    assert.match(row.reason, new RegExp(`^already baking in bake ${earlier} \\(run ${first.result.run_id}\\); not started twice; it ended failed_run: `));
    assert.is(reply.result.failed, true, 'the group did not bake, so the run failed');
  } finally {
    client.close();
    await sidecar.stop();
  }
});

RunWait('should end a --wait call when the sidecar stops and tell the client', async ({ endpoint }) => {
  const { sidecar, warnings } = await start(endpoint);
  const client = await session(sidecar.server.path);
  assert.ok((await client.call('group.create', seedGroup({ name: 'db', bootstrap: 'userdata' }))).result);
  const following = client.call('bake.run', { groups: ['db'], wait: true });
  // Stopped while the bake waits for its agent's report, the longest wait of all.
  await waitForBake(sidecar.store, (await firstActive(sidecar)).id, inState('awaiting_report'));
  await sidecar.stop();
  const reply = await following;
  client.close();
  assert.is(reply.error?.code, -32050, JSON.stringify(reply));
  assert.match(reply.error.message, /the sidecar is stopping, so it stopped following run [0-9a-f-]+; its bakes go on/);
  assert.equal(warnings.filter((message) => message === 'stopped with calls still running'), [], 'the call ended by itself, not by the stop grace');
});

RunWait('should end a --wait call whose client hung up, so a later stop has nothing to wait for', async ({ endpoint }) => {
  const { sidecar, warnings } = await start(endpoint);
  const client = await session(sidecar.server.path);
  assert.ok((await client.call('group.create', seedGroup({ name: 'cache', bootstrap: 'userdata' }))).result);
  client.send(`${JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'bake.run', params: { groups: ['cache'], wait: true } })}\n`);
  await firstActive(sidecar);
  client.close();
  await sidecar.stop();
  assert.equal(warnings.filter((message) => message === 'stopped with calls still running'), []);
});

RunWait('should show no new AMI under --noop, only the source in the reason', async ({ endpoint }) => {
  const { sidecar } = await start(endpoint);
  const client = await session(sidecar.server.path);
  try {
    assert.ok((await client.call('group.create', seedGroup({ name: 'noop' }))).result);
    const reply = await client.call('bake.run', { groups: ['noop'], noop: true });
    const [row] = reply.result.bakes;
    assert.is(row.image, null);
    assert.match(row.reason, /from ami-0abc1234/);
  } finally {
    client.close();
    await sidecar.stop();
  }
});

/** The one active bake, once the run has queued it. */
async function firstActive(sidecar: Sidecar) {
  // Only bounds a hang: the run queues its bake at once, unless two busy cores delay it.
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const [bake] = await sidecar.store.listBakes({ active: true });
    if (bake) return bake;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('no bake was queued within 60 s');
}

RunWait.run();
