/**
 * The bake end to end inside one sidecar: MariaDB, the EC2 endpoint, and the real report
 * processor loaded by `puppet apply --reports autoami` playing the instance's agent run.
 */
import './support/aws-env.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyAs, inState, reportFor, waitForBake } from './support/bake-harness.ts';
import { startEc2Endpoint, type Ec2Endpoint } from './support/ec2-endpoint.ts';
import { seedGroup } from './support/group-params.ts';
import { startMariadb } from './support/mariadb.ts';
import { puppetEnv, type PuppetEnv } from './support/puppet.ts';
import { session, type RawClient } from './support/rpc.ts';
import { startTestSidecar, type TestSidecar } from './support/sidecar.ts';
import { tempDir } from './support/tmp.ts';

/** How long a bake waits for its report. Far beyond a real `puppet apply` on two busy cores. */
const REPORT_TIMEOUT_MS = 60 * 60_000;

interface Context {
  /** Moves the sidecar's clock forward, e.g. past a report timeout, without waiting for it. */
  skip(ms: number): void;
  endpoint: Ec2Endpoint;
  sidecar: TestSidecar;
  puppet: PuppetEnv;
  client: RawClient;
}

const Bake = suite<Context>('bake');

Bake.before(async (context) => {
  // Terminated instances stay visible for the whole suite: tests look at them after other bakes.
  context.endpoint = await startEc2Endpoint({ images: ['ami-0abc1234'], bootMs: 50, imageMs: 150, terminateMs: 20, terminatedVisibleMs: 3_600_000 });
  const db = await (await startMariadb()).createDatabase();
  let offset = 0;
  context.skip = (ms) => void (offset += ms);
  context.sidecar = await startTestSidecar(
    db,
    {
      aws: { region: 'us-east-1', endpoint: context.endpoint.url },
      puppet: { classifier: 'none' },
      bake: { poll_interval: '50ms', lease: '2s', report_timeout: `${REPORT_TIMEOUT_MS / 60_000}m`, concurrency: 32 },
    },
    { clock: { now: () => Date.now() + offset } },
  );
  context.puppet = puppetEnv({ AUTOAMI_CONFIG: context.sidecar.configFile });
  context.client = await session(context.sidecar.socketPath);
});

Bake.after(async ({ sidecar, endpoint, client }) => {
  client.close();
  await sidecar.stop();
  await endpoint.stop();
});

async function defineGroup(client: RawClient, name: string, keep = 2, settings: Record<string, unknown> = {}): Promise<void> {
  const reply = await client.call('group.create', seedGroup({ name, bootstrap: 'userdata', keep, ...settings }));
  assert.ok(reply.result, JSON.stringify(reply.error));
}

async function startRun(client: RawClient, groups: string[]): Promise<string[]> {
  const reply = await client.call('bake.run', { groups });
  assert.ok(reply.result, JSON.stringify(reply.error));
  return (reply.result.bakes as { bake: string }[]).map((row) => row.bake);
}

Bake('should bake a changed run into a new AMI, promote it and terminate the instance', async ({ client, sidecar, puppet, endpoint }) => {
  await defineGroup(client, 'web');
  const [bakeId] = await startRun(client, ['web']);
  const waiting = await waitForBake(sidecar.store, bakeId!, inState('awaiting_report'));
  const instance = endpoint.instance(waiting.instance_id!)!;
  assert.is(instance.tags.get('autoami:bake'), bakeId);
  assert.is(instance.metadataOptions.httpTokens, 'required');
  assert.match(endpoint.userData(instance.instanceId) ?? '', /#!/);
  const target = join(tempDir(), 'motd');
  const applied = await applyAs(puppet, waiting.certname!, `file { '${target}': content => "baked\\n" }`);
  assert.is(applied.status, 2, applied.stderr);
  const done = await waitForBake(sidecar.store, bakeId!, inState('done'));
  assert.is(done.outcome, 'baked', done.reason ?? '');
  assert.is(done.report?.changed, 1);
  assert.equal(done.report?.changed_resources, [`File[${target}]`]);
  const group = await sidecar.store.getGroup('web');
  assert.is(group?.image, done.image_id);
  const image = endpoint.image(done.image_id!)!;
  assert.is(image.state, 'available');
  assert.is(image.tags.get('autoami:parent-image'), 'ami-0abc1234');
  assert.is(image.tags.get('autoami:group'), 'web');
  assert.match(image.name, /^autoami-web-\d{8}T\d{6}\.\d{3}Z$/);
  assert.is(endpoint.instance(waiting.instance_id!)?.state, 'terminated');
  const lineage = await sidecar.store.listImages('web');
  assert.is(lineage[0]?.parent_image, 'ami-0abc1234');
});

Bake('should make no AMI for an unchanged run', async ({ client, sidecar, puppet, endpoint }) => {
  await defineGroup(client, 'quiet');
  const images = endpoint.images().length;
  const [bakeId] = await startRun(client, ['quiet']);
  const waiting = await waitForBake(sidecar.store, bakeId!, inState('awaiting_report'));
  const applied = await applyAs(puppet, waiting.certname!, '');
  assert.is(applied.status, 0, applied.stderr);
  const done = await waitForBake(sidecar.store, bakeId!, inState('done'));
  assert.is(done.outcome, 'unchanged');
  assert.is(endpoint.images().length, images);
  assert.is((await sidecar.store.getGroup('quiet'))?.image, 'ami-0abc1234');
  assert.is(endpoint.instance(waiting.instance_id!)?.state, 'terminated');
});

// Puppet marks corrective_change only in agent runs (puppet apply keeps no transaction
// state), so the report is the processor's summary of one; e2e.test.ts has a real agent's.
Bake('should make no AMI for a run that only repaired drift, and bake it under --bake-on any', async ({ client, sidecar, endpoint }) => {
  await defineGroup(client, 'drifted');
  const images = endpoint.images().length;
  const drift = { changed: 1, corrective_change: 1, changed_resources: ['File[/etc/hosts]'], corrective_resources: ['File[/etc/hosts]'] };
  const [bakeId] = await startRun(client, ['drifted']);
  const waiting = await waitForBake(sidecar.store, bakeId!, inState('awaiting_report'));
  assert.is((await client.call('report.submit', reportFor(waiting.certname!, drift))).result?.state, 'recorded');
  const done = await waitForBake(sidecar.store, bakeId!, inState('done'));
  assert.is(done.outcome, 'unchanged', done.reason ?? '');
  assert.is(done.reason, 'every change repaired drift on the fresh instance (corrective, not intentional): File[/etc/hosts]; --bake-on any would bake it');
  assert.is(endpoint.images().length, images);

  assert.ok((await client.call('group.update', { name: 'drifted', bake_on: 'any' })).result);
  const [second] = await startRun(client, ['drifted']);
  const again = await waitForBake(sidecar.store, second!, inState('awaiting_report'));
  assert.is((await client.call('report.submit', reportFor(again.certname!, drift))).result?.state, 'recorded');
  const baked = await waitForBake(sidecar.store, second!, inState('done'));
  assert.is(baked.outcome, 'baked', baked.reason ?? '');
});

Bake('should make no AMI for a run whose changes are all to ignored resources', async ({ client, sidecar, puppet, endpoint }) => {
  await defineGroup(client, 'chatty', 2, { ignore_resources: ['Exec[apt_update]', 'Notify[*]'] });
  const images = endpoint.images().length;
  const [bakeId] = await startRun(client, ['chatty']);
  const waiting = await waitForBake(sidecar.store, bakeId!, inState('awaiting_report'));
  // A notify changes on every run: exactly what a group ignores.
  const applied = await applyAs(puppet, waiting.certname!, "notify { 'hello': } notify { 'bye': }");
  assert.is(applied.status, 2, applied.stderr);
  const done = await waitForBake(sidecar.store, bakeId!, inState('done'));
  assert.is(done.outcome, 'unchanged', done.reason ?? '');
  assert.match(done.reason ?? '', /^only ignored resources changed: Notify\[(hello|bye)\], Notify\[(hello|bye)\]$/);
  assert.is(endpoint.images().length, images);
});

Bake('should record a failed run and make no AMI', async ({ client, sidecar, puppet, endpoint }) => {
  await defineGroup(client, 'broken');
  const images = endpoint.images().length;
  const [bakeId] = await startRun(client, ['broken']);
  const waiting = await waitForBake(sidecar.store, bakeId!, inState('awaiting_report'));
  const applied = await applyAs(puppet, waiting.certname!, "exec { 'explode': command => '/bin/false' }");
  assert.is(applied.status, 4, applied.stderr);
  const done = await waitForBake(sidecar.store, bakeId!, inState('done'));
  assert.is(done.outcome, 'failed_run');
  assert.equal(done.report?.failed_resources, ['Exec[explode]']);
  assert.match(done.reason ?? '', /Exec\[explode\]/);
  assert.is(endpoint.images().length, images);
  assert.is(endpoint.instance(waiting.instance_id!)?.state, 'terminated');
});

Bake('should time out without a report and terminate the instance', async ({ client, sidecar, endpoint, skip }) => {
  await defineGroup(client, 'silent');
  const [bakeId] = await startRun(client, ['silent']);
  await waitForBake(sidecar.store, bakeId!, inState('awaiting_report'));
  // The only bake in progress: past its report timeout at once, instead of after an hour.
  skip(REPORT_TIMEOUT_MS + 1000);
  const done = await waitForBake(sidecar.store, bakeId!, inState('done'));
  assert.is(done.outcome, 'timed_out');
  assert.match(done.reason ?? '', /awaiting_report/);
  assert.is(endpoint.instance(done.instance_id!)?.state, 'terminated');
});

Bake('should bake 20 groups in parallel', async ({ client, sidecar }) => {
  const names = Array.from({ length: 20 }, (_, index) => `fleet-${index}`);
  for (const name of names) await defineGroup(client, name);
  const bakeIds = await startRun(client, names);
  assert.is(bakeIds.length, 20);
  // Every instance is up and waiting before any report exists: they ran side by side.
  const waiting = await Promise.all(bakeIds.map((id) => waitForBake(sidecar.store, id, inState('awaiting_report'))));
  for (const bake of waiting) {
    const reply = await client.call('report.submit', reportFor(bake.certname!));
    assert.is(reply.result?.state, 'recorded', JSON.stringify(reply));
  }
  const done = await Promise.all(bakeIds.map((id) => waitForBake(sidecar.store, id, inState('done'))));
  assert.ok(done.every((bake) => bake.outcome === 'baked'), JSON.stringify(done.map((bake) => [bake.outcome, bake.reason])));
});

Bake('should keep a report once and ignore other nodes', async ({ client, sidecar }) => {
  await defineGroup(client, 'twice');
  const [bakeId] = await startRun(client, ['twice']);
  const waiting = await waitForBake(sidecar.store, bakeId!, inState('awaiting_report'));
  const report = reportFor(waiting.certname!, { changed: 0, status: 'unchanged', changed_resources: [] });
  assert.is((await client.call('report.submit', report)).result.state, 'recorded');
  assert.is((await client.call('report.submit', { ...report, changed: 5 })).result.state, 'duplicate');
  assert.is((await client.call('report.submit', reportFor('web01.example.com'))).result.state, 'ignored');
  assert.is((await client.call('report.submit', reportFor('web-i-0123456789abcdef0.autoami'))).result.state, 'unknown_certname');
  assert.is((await waitForBake(sidecar.store, bakeId!, inState('done'))).outcome, 'unchanged');
});

Bake("should keep the facts a bake instance's report carries as its group's, and a newer bake's in their place", async ({ client, sidecar }) => {
  await defineGroup(client, 'factful');
  const facts = { os: { family: 'Debian', release: { major: '12' } }, networking: { ip: '10.0.0.7' }, tags: ['a', 'b'], empty: null };
  const [first] = await startRun(client, ['factful']);
  const waiting = await waitForBake(sidecar.store, first!, inState('awaiting_report'));
  const unchanged = { changed: 0, status: 'unchanged', changed_resources: [] };
  assert.is((await client.call('report.submit', { ...reportFor(waiting.certname!, unchanged), facts })).result?.state, 'recorded');
  assert.equal(await sidecar.store.getFacts('factful'), {
    group_name: 'factful', bake_id: first, certname: waiting.certname, instance_id: waiting.instance_id, environment: 'production', facts,
    recorded_at: (await sidecar.store.getFacts('factful'))!.recorded_at,
  });
  // A duplicate report brings nothing new.
  assert.is((await client.call('report.submit', { ...reportFor(waiting.certname!, unchanged), facts: { other: true } })).result?.state, 'duplicate');
  assert.equal((await sidecar.store.getFacts('factful'))?.facts, facts);
  await waitForBake(sidecar.store, first!, inState('done'));

  const [second] = await startRun(client, ['factful']);
  const next = await waitForBake(sidecar.store, second!, inState('awaiting_report'));
  const newer = { ...facts, networking: { ip: '10.0.0.8' } };
  assert.is((await client.call('report.submit', { ...reportFor(next.certname!, unchanged), facts: newer })).result?.state, 'recorded');
  assert.equal([(await sidecar.store.getFacts('factful'))?.bake_id, (await sidecar.store.getFacts('factful'))?.facts], [second, newer]);
  await waitForBake(sidecar.store, second!, inState('done'));
  // Facts that are not an object are refused by name, and the report with them.
  const bad = await client.call('report.submit', { ...reportFor(next.certname!), facts: ['not', 'an', 'object'] });
  assert.match(bad.error?.message ?? '', /^facts: expected a JSON object/);
});

Bake('should not start a second bake for a group that is still baking', async ({ client, sidecar }) => {
  await defineGroup(client, 'busy');
  const [first] = await startRun(client, ['busy']);
  const again = await client.call('bake.run', { groups: ['busy'] });
  const row = (again.result.bakes as { bake: string; reason: string }[])[0]!;
  assert.is(row.bake, first);
  assert.match(row.reason, /already baking/);
  const waiting = await waitForBake(sidecar.store, first!, inState('awaiting_report'));
  await client.call('report.submit', reportFor(waiting.certname!, { changed: 0, status: 'unchanged', changed_resources: [] }));
  await waitForBake(sidecar.store, first!, inState('done'));
});

// Counted as RunInstances calls: the endpoint forgets terminated instances after a while, so
// how many it shows can drop during a slow test.
const launches = (endpoint: Ec2Endpoint) => endpoint.counts.total('RunInstances');

Bake('should say what would be launched under noop, and launch nothing', async ({ client, endpoint }) => {
  const before = launches(endpoint);
  const reply = await client.call('bake.run', { groups: ['web'], noop: true });
  assert.is(reply.result.noop, true);
  assert.is(reply.result.bakes[0].state, 'would launch');
  assert.is(launches(endpoint), before);
});

Bake('should deregister images beyond --keep with their snapshots, never the base or current image', async ({ client, sidecar, endpoint }) => {
  await defineGroup(client, 'retained', 1);
  const baked: string[] = [];
  let firstSnapshots: string[] = [];
  for (let round = 0; round < 2; round++) {
    if (round === 1) firstSnapshots = endpoint.image(baked[0]!)!.blockDevices.map((device) => device.snapshotId);
    const [bakeId] = await startRun(client, ['retained']);
    const waiting = await waitForBake(sidecar.store, bakeId!, inState('awaiting_report'));
    await client.call('report.submit', reportFor(waiting.certname!));
    const done = await waitForBake(sidecar.store, bakeId!, inState('done'));
    assert.is(done.outcome, 'baked', done.reason ?? '');
    baked.push(done.image_id!);
  }
  const [first, second] = baked;
  assert.is((await sidecar.store.getGroup('retained'))?.image, second);
  assert.is(endpoint.image(first!)?.state ?? 'deregistered', 'deregistered', 'the older image is deregistered');
  assert.ok(firstSnapshots.length > 0);
  const remaining = new Set(endpoint.snapshots().map((snapshot) => snapshot.snapshotId));
  assert.ok(firstSnapshots.every((id) => !remaining.has(id)), 'its snapshots are deleted too');
  assert.is(endpoint.image(second!)?.state, 'available');
  assert.ok(endpoint.image('ami-0abc1234'), 'the base image is never touched');
  const lineage = await sidecar.store.listImages('retained');
  assert.ok(lineage.find((image) => image.image_id === first)?.deregistered_at);
});

Bake("should boot a group with its own template and keep a failed instance when asked", async ({ client, sidecar, endpoint }) => {
  const template = join(tempDir(), 'custom.sh.hbs');
  writeFileSync(template, '#!/bin/bash\n# custom bootstrap for {{shell role}}\necho {{shell server}}\n');
  const reply = await client.call('group.create', seedGroup({ name: 'custom', bootstrap: 'userdata', template, keep_failed: true }));
  assert.ok(reply.result, JSON.stringify(reply.error));
  const [bakeId] = await startRun(client, ['custom']);
  const waiting = await waitForBake(sidecar.store, bakeId!, inState('awaiting_report'));
  assert.match(endpoint.userData(waiting.instance_id!) ?? '', /^# custom bootstrap for 'custom'$/m);
  await client.call('report.submit', reportFor(waiting.certname!, { status: 'failed', changed: 0, failed: 1, failed_resources: ['Package[x]'] }));
  const done = await waitForBake(sidecar.store, bakeId!, inState('done'));
  assert.is(done.outcome, 'failed_run');
  assert.is(endpoint.instance(waiting.instance_id!)?.state, 'running', 'kept for inspection');
});

Bake('should follow a run with --wait through puppet and exit 1 when a bake failed', async ({ client, sidecar, puppet }) => {
  await defineGroup(client, 'cli-ok');
  await defineGroup(client, 'cli-bad');
  const running = puppet.run(['autoami', 'run', '--groups', 'cli-ok,cli-bad', '--wait']);
  // Only bounds a hang: Puppet starts the face within seconds, unless two busy cores slow it down.
  const deadline = Date.now() + 180_000;
  let bakes = await sidecar.store.listBakes({ active: true });
  while (bakes.filter((bake) => bake.group_name.startsWith('cli-')).length < 2 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    bakes = await sidecar.store.listBakes({ active: true });
  }
  for (const bake of bakes.filter((each) => each.group_name.startsWith('cli-'))) {
    const waiting = await waitForBake(sidecar.store, bake.id, inState('awaiting_report'));
    const failed = bake.group_name === 'cli-bad';
    await client.call('report.submit', reportFor(waiting.certname!, failed ? { status: 'failed', changed: 0, failed: 1, failed_resources: ['Service[nginx]'] } : {}));
  }
  const result = await running;
  assert.is(result.status, 1, result.stderr);
  // Progress lines as states change; intermediate ones may pass between two polls, the last never.
  assert.match(result.stdout, /^cli-ok: done \(i-[0-9a-f]+ baked ami-[0-9a-f]+\): /m, result.stdout);
  assert.match(result.stdout, /^cli-bad: done \(i-[0-9a-f]+ failed_run\): the Puppet run failed .*Service\[nginx\]/m, result.stdout);
  assert.match(result.stdout, /^cli-ok\s+done\s+baked\s+i-[0-9a-f]+\s+ami-[0-9a-f]+/m);
  assert.match(result.stdout, /^cli-bad\s+done\s+failed_run/m);
});

Bake('should show history and roll back through puppet', async ({ puppet, sidecar }) => {
  const history = await puppet.run(['autoami', 'history', 'web', '--render-as', 'json']);
  assert.is(history.status, 0, history.stderr);
  const rows = JSON.parse(history.stdout) as { outcome: string; image: string; parent: string; current: boolean }[];
  assert.is(rows[0]?.outcome, 'baked');
  assert.is(rows[0]?.parent, 'ami-0abc1234');
  assert.is(rows[0]?.current, true);
  const table = await puppet.run(['autoami', 'history', 'web']);
  assert.match(table.stdout, /^TIME\s+EVENT\s+OUTCOME\s+CHANNEL\s+BY\s+AMI\s+PARENT/);
  const rollback = await puppet.run(['autoami', 'rollback', 'web']);
  assert.is(rollback.status, 0, rollback.stderr);
  assert.is(rollback.stdout.trim(), `Rolled web channel latest back to ami-0abc1234 (was ${rows[0]!.image}); by region: us-east-1=ami-0abc1234; channel latest has no targets to publish to`);
  assert.is((await sidecar.store.getGroup('web'))?.image, 'ami-0abc1234');
  const again = await puppet.run(['autoami', 'rollback', 'web']);
  assert.is(again.status, 1);
  assert.match(again.errorLines[0]!, /on its base image/);
  const unknown = await puppet.run(['autoami', 'rollback', 'web', '--to', 'ami-0123456789abcdef0']);
  assert.match(unknown.errorLines[0]!, /^Error: to: ami-0123456789abcdef0 is not an image of group web/);
});

Bake('should say what --noop would launch through puppet', async ({ puppet, endpoint }) => {
  const before = launches(endpoint);
  const result = await puppet.run(['autoami', 'run', '--groups', 'web', '--noop']);
  assert.is(result.status, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /^web\s+would launch/m);
  assert.is(launches(endpoint), before, JSON.stringify(endpoint.counts.all()));
});

Bake.run();
