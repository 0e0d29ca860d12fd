/**
 * `metrics.listen`: a real sidecar (embedded store, the EC2 endpoint) bakes, and its
 * /metrics over HTTP shows the bake, its EC2 calls, its report, a spool replay and a
 * lease taken over; a config without `metrics` opens no port.
 */
import './support/aws-env.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../runtime/config.ts';
import { ConfigError } from '../runtime/errors.ts';
import { Metrics } from '../runtime/metrics.ts';
import { EmbeddedStore } from '../runtime/store/embedded-store.ts';
import { inState, reportFor, waitForBake } from './support/bake-harness.ts';
import { startEc2Endpoint, type Ec2Endpoint } from './support/ec2-endpoint.ts';
import { seedGroup } from './support/group-params.ts';
import { session, type RawClient } from './support/rpc.ts';
import { startTestSidecar, type TestSidecar } from './support/sidecar.ts';
import { tempDir } from './support/tmp.ts';

// --- config ------------------------------------------------------------------------------------

const Config = suite('metrics config');

async function refusal(text: string): Promise<ConfigError> {
  try {
    await parseConfig(text, '/etc/autoami.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw assert.unreachable(`accepted ${text}`);
}

Config('should leave metrics off when the config has no metrics section', async () => {
  assert.is((await parseConfig('', '/x.yaml')).metrics.listen, undefined);
  assert.is((await parseConfig('metrics: {}', '/x.yaml')).metrics.listen, undefined);
});

Config('should read an IPv4 or bracketed IPv6 listen address', async () => {
  assert.equal((await parseConfig("metrics: { listen: '127.0.0.1:9777' }", '/x.yaml')).metrics.listen, { host: '127.0.0.1', port: 9777 });
  assert.equal((await parseConfig("metrics: { listen: '[::1]:9100' }", '/x.yaml')).metrics.listen, { host: '::1', port: 9100 });
});

Config('should refuse a bad metrics.listen in one line naming the key and the value', async () => {
  const cases: [string, string][] = [
    ['9777', '9777'],
    ["'localhost:9777'", '"localhost:9777"'],
    ["'127.0.0.1'", '"127.0.0.1"'],
    ["'127.0.0.1:99999'", '"127.0.0.1:99999"'],
    ["'::1:9777'", '"::1:9777"'],
    ["'[127.0.0.1]:9777'", '"[127.0.0.1]:9777"'],
    ["'127.0.0.1:'", '"127.0.0.1:"'],
    ['[1, 2]', '[1,2]'],
  ];
  for (const [value, shown] of cases) {
    const error = await refusal(`metrics: { listen: ${value} }`);
    assert.is(error.key, 'metrics.listen', value);
    assert.ok(error.message.startsWith('config metrics.listen: '), error.message);
    assert.ok(error.message.includes(shown), `${error.message} should show ${shown}`);
    assert.not.match(error.message, /\n/);
  }
});

Config('should refuse an unknown key under metrics', async () => {
  const error = await refusal('metrics: { port: 9777 }');
  assert.is(error.key, 'metrics.port');
  assert.match(error.message, /unknown key \(known: listen\)/);
});

Config.run();

// --- scrape ------------------------------------------------------------------------------------

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition; enough of the format for prom-client's output. */
function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    out.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return out;
}

/** The value of the one sample with exactly these labels; undefined when there is none. */
function valueOf(all: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return all.find((sample) => sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === wanted)?.value;
}

/**
 * The TCP addresses this process listens on, as the kernel has them (`127.0.0.1:9777`;
 * IPv6 in the kernel's hex): what a port scan of this host would find of ours.
 */
function listening(): Set<string> {
  const ours = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (socket) ours.add(socket[1]!);
    } catch {
      // The fd was closed since the listing.
    }
  }
  const out = new Set<string>();
  for (const table of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
      if (state !== '0A' || !local || !inode || !ours.has(inode)) continue;
      const [hex, port] = local.split(':');
      // IPv4 is the kernel's 32-bit word in host order: little-endian on x86 and arm64.
      const host = hex!.length === 8 ? hex!.match(/../g)!.reverse().map((byte) => parseInt(byte, 16)).join('.') : hex!;
      out.add(`${host}:${parseInt(port!, 16)}`);
    }
  }
  return out;
}

const added = (before: Set<string>, after: Set<string>): string[] => [...after].filter((address) => !before.has(address));

// --- store -------------------------------------------------------------------------------------

const Watch = suite('metrics store watch');

Watch('should count a store outage by operation and show no active bakes it cannot read', async () => {
  const metrics = await Metrics.on();
  // Never opened: every call fails as an unreachable store does.
  const raw = new EmbeddedStore(join(tempDir(), 'store.json'));
  const store = metrics.watchStore(raw);
  assert.is(store.backend, raw.backend);
  for (let i = 0; i < 2; i++) await store.getGroup('web').then(() => assert.unreachable('read a closed store'), () => undefined);
  // A scrape reads the active bakes, and fails too; counters are read before that read ends, so the next scrape shows it.
  await metrics.text();
  const all = samples(await metrics.text());
  assert.is(valueOf(all, 'autoami_store_errors_total', { operation: 'getGroup', kind: 'unavailable' }), 2);
  assert.ok((valueOf(all, 'autoami_store_errors_total', { operation: 'listBakes', kind: 'unavailable' }) ?? 0) >= 1);
  // No series rather than zeros: the store could not say.
  assert.not.ok(all.some((sample) => sample.name === 'autoami_bakes_active'));
});

Watch('should not count answers such as a name already taken', async () => {
  const metrics = await Metrics.on();
  const raw = new EmbeddedStore(join(tempDir(), 'store.json'));
  await raw.open();
  const store = metrics.watchStore(raw);
  try {
    const bake = { id: 'b-1', run_id: 'r-1', group_name: 'web', region: 'us-east-1', parent_image: 'ami-0abc1234', deadline: Date.now() + 60_000 };
    await store.createBake(bake);
    await store.createBake(bake).then(() => assert.unreachable('created a bake twice'), () => undefined);
    const all = samples(await metrics.text());
    assert.not.ok(all.some((sample) => sample.name === 'autoami_store_errors_total'));
    assert.is(valueOf(all, 'autoami_bakes_active', { state: 'queued' }), 1);
  } finally {
    await store.close();
  }
});

Watch('should count nothing and leave the store as it is when metrics are off', async () => {
  const metrics = Metrics.off();
  const raw = new EmbeddedStore(join(tempDir(), 'store.json'));
  assert.is(metrics.watchStore(raw), raw);
  assert.not.ok(metrics.enabled);
  assert.is(await metrics.text(), '');
});

Watch.run();

// --- sidecar -----------------------------------------------------------------------------------

interface Context {
  endpoint: Ec2Endpoint;
  sidecar: TestSidecar;
  client: RawClient;
  url: string;
  /** TCP addresses listened on before the sidecar started. */
  listeningBefore: Set<string>;
}

const Scrape = suite<Context>('metrics endpoint');

Scrape.before(async (context) => {
  context.endpoint = await startEc2Endpoint({ images: ['ami-0abc1234'], bootMs: 50, imageMs: 150, terminateMs: 20 });
  context.listeningBefore = listening();
  context.sidecar = await startTestSidecar(undefined, {
    aws: { region: 'us-east-1', endpoint: context.endpoint.url },
    puppet: { classifier: 'none' },
    bake: { poll_interval: '50ms', lease: '2s' },
    metrics: { listen: '127.0.0.1:0' },
  });
  context.url = context.sidecar.metricsServer!.url;
  context.client = await session(context.sidecar.socketPath);
});

Scrape.after(async ({ sidecar, endpoint, client }) => {
  client.close();
  await sidecar.stop();
  await endpoint.stop();
});

async function scrape(url: string): Promise<Sample[]> {
  const response = await fetch(url);
  assert.is(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return samples(await response.text());
}

Scrape('should listen on the configured address only', async ({ sidecar, listeningBefore }) => {
  const { host, port } = sidecar.metricsServer!.address;
  assert.is(host, '127.0.0.1');
  assert.ok(port > 0);
  assert.equal(added(listeningBefore, listening()), [`127.0.0.1:${port}`]);
});

Scrape('should count a bake to done with its outcome, duration, report and EC2 calls', async ({ client, sidecar, endpoint, url }) => {
  // One throttled RunInstances that the SDK's retry gets through: a throttle, still one call.
  endpoint.faults.set('RunInstances', { error: { code: 'RequestLimitExceeded', message: 'Request limit exceeded.', status: 503, times: 1 } });
  const created = await client.call('group.create', seedGroup({ name: 'web', bootstrap: 'userdata' }));
  assert.ok(created.result, JSON.stringify(created.error));
  const run = await client.call('bake.run', { groups: ['web'] });
  assert.ok(run.result, JSON.stringify(run.error));
  const bakeId: string = run.result.bakes[0].bake;
  const waiting = await waitForBake(sidecar.store, bakeId, inState('awaiting_report'));
  const before = await scrape(url);
  assert.is(valueOf(before, 'autoami_bakes_active', { state: 'awaiting_report' }), 1);
  assert.is(valueOf(before, 'autoami_bakes_finished_total', { outcome: 'baked' }), 0);
  const reply = await client.call('report.submit', reportFor(waiting.certname!));
  assert.is(reply.result?.state, 'recorded', JSON.stringify(reply));
  const done = await waitForBake(sidecar.store, bakeId, inState('done'));
  assert.is(done.outcome, 'baked', done.reason ?? '');

  const after = await scrape(url);
  assert.is(valueOf(after, 'autoami_bakes_finished_total', { outcome: 'baked' }), 1);
  assert.is(valueOf(after, 'autoami_bakes_finished_total', { outcome: 'failed' }), 0);
  assert.is(valueOf(after, 'autoami_bake_transitions_total', { from: 'queued', to: 'launching', outcome: '' }), 1);
  assert.is(valueOf(after, 'autoami_bake_transitions_total', { from: 'cleaning', to: 'done', outcome: 'baked' }), 1);
  assert.is(valueOf(after, 'autoami_bake_duration_seconds_count', { outcome: 'baked' }), 1);
  assert.is(valueOf(after, 'autoami_bake_duration_seconds_bucket', { outcome: 'baked', le: '+Inf' }), 1);
  assert.is(valueOf(after, 'autoami_bakes_active', { state: 'awaiting_report' }), 0);
  assert.is(valueOf(after, 'autoami_reports_total', { source: 'socket', state: 'recorded' }), 1);
  assert.is(valueOf(after, 'autoami_ec2_calls_total', { action: 'RunInstances' }), 1);
  assert.is(valueOf(after, 'autoami_ec2_calls_total', { action: 'CreateImage' }), 1);
  assert.ok((valueOf(after, 'autoami_ec2_calls_total', { action: 'TerminateInstances' }) ?? 0) >= 1);
  assert.ok((valueOf(after, 'autoami_ec2_calls_total', { action: 'DescribeInstances' }) ?? 0) >= 1);
  assert.is(valueOf(after, 'autoami_ec2_throttles_total', { action: 'RunInstances' }), 1);
  assert.is(valueOf(after, 'autoami_ec2_call_errors_total', { action: 'RunInstances', code: 'RequestLimitExceeded' }), undefined);
  assert.is(endpoint.counts.total('RunInstances'), 2);
  assert.is(valueOf(after, 'autoami_lease_takeovers_total'), 0);
  assert.ok(after.some((sample) => sample.name === 'autoami_build_info' && sample.value === 1));
});

Scrape('should count spooled reports replayed and set aside', async ({ sidecar, url }) => {
  const spool = join(sidecar.dir, 'state', 'spool');
  mkdirSync(spool, { recursive: true });
  writeFileSync(join(spool, '0001-a.json'), JSON.stringify(reportFor('web01.example.com')));
  writeFileSync(join(spool, '0002-b.json'), '{ not json');
  assert.is(await sidecar.bakes.replay(), 1);
  const after = await scrape(url);
  assert.is(valueOf(after, 'autoami_reports_total', { source: 'spool', state: 'ignored' }), 1);
  assert.is(valueOf(after, 'autoami_reports_total', { source: 'spool', state: 'rejected' }), 1);
});

Scrape('should count a lease taken over from a sidecar that let it lapse', async ({ sidecar, url }) => {
  const { store } = sidecar;
  const now = Date.now();
  const bake = await store.createBake({
    id: 'takeover-0001',
    run_id: 'run-takeover',
    group_name: 'gone',
    region: 'us-east-1',
    parent_image: 'ami-0abc1234',
    deadline: now + 3_600_000,
  });
  // Leased by another sidecar that then died: its lease ran out a while ago.
  const leased = await store.acquireLease(bake.id, 'elsewhere:1:dead', now - 60_000, now);
  assert.is(leased?.lease_owner, 'elsewhere:1:dead');
  sidecar.bakes.engine.wake();
  const done = await waitForBake(store, bake.id, inState('done'));
  assert.is(done.outcome, 'failed');
  const after = await scrape(url);
  assert.is(valueOf(after, 'autoami_lease_takeovers_total'), 1);
  assert.is(valueOf(after, 'autoami_bakes_finished_total', { outcome: 'failed' }), 1);
});

Scrape('should answer only GET and HEAD on /metrics', async ({ url }) => {
  assert.is((await fetch(url.replace(/\/metrics$/, '/'))).status, 404);
  assert.is((await fetch(url, { method: 'POST' })).status, 405);
  const head = await fetch(url, { method: 'HEAD' });
  assert.is(head.status, 200);
  assert.is(await head.text(), '');
});

Scrape.run();

// --- off and stop ------------------------------------------------------------------------------

const Lifecycle = suite('metrics lifecycle');

Lifecycle('should open no port when the config has no metrics', async () => {
  const before = listening();
  const sidecar = await startTestSidecar();
  try {
    assert.is(sidecar.metricsServer, null);
    assert.not.ok(sidecar.metrics.enabled);
    assert.equal(added(before, listening()), []);
  } finally {
    await sidecar.stop();
  }
});

Lifecycle('should close the metrics port when the sidecar stops', async () => {
  const sidecar = await startTestSidecar(undefined, { metrics: { listen: '127.0.0.1:0' } });
  const { url, address } = sidecar.metricsServer!;
  // A kept-alive scrape connection must not hold the stop.
  assert.is((await fetch(url)).status, 200);
  await sidecar.stop();
  assert.not.ok(listening().has(`127.0.0.1:${address.port}`));
  await fetch(url).then(
    () => assert.unreachable('answered after stop'),
    (error: unknown) => assert.instance(error, TypeError),
  );
});

Lifecycle('should refuse to start when the metrics port is taken, naming metrics.listen', async () => {
  const first = await startTestSidecar(undefined, { metrics: { listen: '127.0.0.1:0' } });
  try {
    const taken = `127.0.0.1:${first.metricsServer!.address.port}`;
    let refused: unknown;
    await startTestSidecar(undefined, { metrics: { listen: taken } }).then(
      (second) => second.stop(),
      (error: unknown) => (refused = error),
    );
    assert.instance(refused, ConfigError);
    assert.is(refused instanceof ConfigError && refused.key, 'metrics.listen');
    assert.match(String(refused), `cannot listen on ${taken}: EADDRINUSE`);
  } finally {
    await first.stop();
  }
});

Lifecycle.run();
