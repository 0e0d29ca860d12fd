/**
 * A master without a reachable PE console: new_group says so up front, and a bake whose
 * cleanup keeps failing ends `cleanup_failed` at its deadline instead of holding its group.
 * Real sidecar, EC2 endpoint and PE console stand-in over HTTPS.
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
import { startPeConsole, type PeConsoleStandIn } from './support/pe-console.ts';
import { makePki } from './support/pki.ts';
import { session, type RawClient } from './support/rpc.ts';
import { writeConfig } from './support/sidecar.ts';

const PASSWORD = 'c0nsole-pa55';
const NODE_GROUP = { id: '5c1e0c52-0000-4000-8000-000000000001', name: 'wordpress' };
const CLEANING_DEADLINE_MS = 15 * 60_000;

interface Context {
  endpoint: Ec2Endpoint;
  console: PeConsoleStandIn;
  sidecar: Sidecar;
  client: RawClient;
  lines: Record<string, unknown>[];
  skip(ms: number): void;
}

const Cleanup = suite<Context>('cleanup');

Cleanup.before(async (context) => {
  const pki = makePki();
  context.console = await startPeConsole(pki, { users: { admin: PASSWORD }, groups: [NODE_GROUP] });
  context.endpoint = await startEc2Endpoint({ images: ['ami-0abc1234'], bootMs: 20, imageMs: 50, terminateMs: 20, terminatedVisibleMs: 3_600_000 });
  const { file } = writeConfig(undefined, {
    aws: { region: 'us-east-1', endpoint: context.endpoint.url },
    puppet: { classifier: 'pe', localcacert: pki.caCert },
    bake: { poll_interval: '50ms', lease: '2s' },
  });
  context.lines = [];
  const log = createLogger('info', (line) => void context.lines.push(JSON.parse(line)));
  let offset = 0;
  context.skip = (ms) => void (offset += ms);
  context.sidecar = await startSidecar(await loadConfig(file), log, { clock: { now: () => Date.now() + offset } });
  context.client = await session(context.sidecar.server.path);
});

Cleanup.after(async ({ client, sidecar, endpoint, console }) => {
  client.close();
  await sidecar.stop();
  await endpoint.stop();
  await console.close().catch(() => undefined);
});

const peGroup = (name: string, port: number) =>
  seedGroup({ name, bootstrap: 'userdata', enc_user: 'admin', enc_pass: PASSWORD, enc_server: '127.0.0.1', enc_port: port });

Cleanup('should refuse new_group when puppet.classifier is pe and no console answers, and say what works without PE', async ({ client }) => {
  // Port 1 on loopback: nothing listens, as on an open-source master with no console on :4433.
  const reply = await client.call('group.create', peGroup('no-console', 1));
  assert.ok(reply.error, JSON.stringify(reply));
  assert.match(reply.error.message, /puppet\.classifier is pe, but group no-console cannot be pinned/);
  assert.match(reply.error.message, /ECONNREFUSED/);
  assert.match(reply.error.message, /puppet\.classifier: none/);
  assert.is(reply.error.data.field, 'enc_server');
  const groups = await client.call('group.list');
  assert.not.ok((groups.result as { name: string }[]).some((group) => group.name === 'no-console'), 'nothing was created');
});

Cleanup('should end a bake whose cleanup keeps failing as cleanup_failed, log every attempt, and let the group bake again', async (context) => {
  const { client, sidecar, endpoint, console, lines } = context;
  const created = await client.call('group.create', peGroup('stuck', console.port));
  assert.ok(created.result, JSON.stringify(created.error));
  const run = await client.call('bake.run', { groups: ['stuck'] });
  const bakeId: string = run.result.bakes[0].bake;
  const waiting = await waitForBake(sidecar.store, bakeId, inState('awaiting_report'));
  assert.equal(console.pinned(NODE_GROUP.id), [waiting.certname]);
  // The console goes away: every unpin of the cleanup now fails.
  await console.close();
  await client.call('report.submit', reportFor(waiting.certname!, { changed: 0, status: 'unchanged', changed_resources: [] }));
  const attempts = () => lines.filter((line) => line.message === 'bake step failed' && line.bake === bakeId).map((line) => line.attempt);
  const deadline = Date.now() + 120_000;
  while (attempts().length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(attempts().slice(0, 3), [1, 2, 3], 'each failed attempt is logged with its count');
  assert.is((await sidecar.store.getBake(bakeId))?.state, 'cleaning');

  context.skip(CLEANING_DEADLINE_MS + 1000);
  const done = await waitForBake(sidecar.store, bakeId, inState('done'));
  assert.is(done.outcome, 'cleanup_failed');
  assert.match(done.reason ?? '', /cleanup did not finish before its deadline/);
  assert.match(done.reason ?? '', /ECONNREFUSED/);
  assert.ok(done.reason?.includes(`instance ${waiting.instance_id}`), done.reason ?? '');
  assert.match(done.reason ?? '', /the bake had ended unchanged/);
  assert.is(endpoint.instance(waiting.instance_id!)?.state, 'terminated', 'what could be cleaned was');

  const again = await client.call('bake.run', { groups: ['stuck'] });
  assert.is.not(again.result.bakes[0].bake, bakeId, 'the group is free to bake again');
  assert.not.match(again.result.bakes[0].reason ?? '', /already baking/);
});

Cleanup.run();
