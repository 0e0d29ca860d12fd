/**
 * The `autoami` report processor inside the real `puppet apply`: it never changes how the
 * run ends, spools when the sidecar is down, and never touches the socket for a node
 * that is not a bake instance.
 */
import './support/aws-env.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../runtime/config.ts';
import { silentLogger } from '../runtime/log.ts';
import { startSidecar } from '../runtime/sidecar.ts';
import { EmbeddedStore } from '../runtime/store/embedded-store.ts';
import { applyAs, waitForBake } from './support/bake-harness.ts';
import { puppetEnv } from './support/puppet.ts';
import { tempDir } from './support/tmp.ts';

const CERTNAME = 'web-i-0123456789abcdef0.autoami';

function configIn(dir: string): string {
  const file = join(dir, 'autoami.yaml');
  const stateDir = join(dir, 'state');
  mkdirSync(join(stateDir, 'spool'), { recursive: true });
  writeFileSync(
    file,
    stringify({
      socket: join(dir, 'run', 'autoami.sock'),
      state_dir: stateDir,
      aws: { region: 'us-east-1', endpoint: 'http://127.0.0.1:1' },
      puppet: { classifier: 'none' },
      bake: { poll_interval: '50ms' },
    }),
  );
  return file;
}

const Processor = suite('autoami report processor');

Processor('should leave the run as it was and spool the report while the sidecar is down', async () => {
  const dir = tempDir();
  const configFile = configIn(dir);
  const puppet = puppetEnv({ AUTOAMI_CONFIG: configFile });
  const target = join(dir, 'motd');
  const manifest = `file { '${target}': content => "hello\\n" }`;
  const plain = await puppet.run(['apply', '--reports', 'none', '--certname', CERTNAME, '--detailed-exitcodes', '-e', `file { '${target}.plain': content => "x" }`]);
  const withProcessor = await applyAs(puppet, CERTNAME, manifest);
  assert.is(withProcessor.status, plain.status, withProcessor.stderr);
  assert.is(withProcessor.status, 2);
  assert.not.match(withProcessor.stderr, /^Error/m);
  const spooled = readdirSync(join(dir, 'state', 'spool')).filter((name) => name.endsWith('.json'));
  assert.is(spooled.length, 1);
  const summary = JSON.parse(readFileSync(join(dir, 'state', 'spool', spooled[0]!), 'utf8')) as Record<string, unknown>;
  assert.is(summary.host, CERTNAME);
  assert.is(summary.status, 'changed');
  assert.is(summary.changed, 1);
  assert.equal(summary.changed_resources, [`File[${target}]`]);
  assert.type(summary.transaction_uuid, 'string');

  // A bake is waiting for this certname when the sidecar comes back: the spool is replayed.
  const store = new EmbeddedStore(join(dir, 'state', 'store.json'));
  await store.open();
  const deadline = Date.now() + 600_000;
  await store.createBake({ id: 'bake-spool', run_id: 'run', group_name: 'web', region: 'us-east-1', parent_image: 'ami-0abc1234', deadline });
  await store.acquireLease('bake-spool', 'spec', deadline, Date.now());
  await store.transition('bake-spool', 'spec', 'queued', { state: 'awaiting_report', instance_id: 'i-0123456789abcdef0', certname: CERTNAME });
  await store.close();
  const sidecar = await startSidecar(await loadConfig(configFile), silentLogger);
  try {
    const bake = await waitForBake(sidecar.store, 'bake-spool', (each) => each.report !== null);
    assert.is(bake.report?.transaction_uuid, summary.transaction_uuid);
    assert.equal(readdirSync(join(dir, 'state', 'spool')).filter((name) => name.endsWith('.json')), []);
  } finally {
    await sidecar.stop();
  }
});

Processor('should never touch the socket for a node that is not a bake instance', async () => {
  const dir = tempDir();
  const configFile = configIn(dir);
  mkdirSync(join(dir, 'run'), { recursive: true });
  let connections = 0;
  const listener = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(join(dir, 'run', 'autoami.sock'), resolve));
  try {
    const puppet = puppetEnv({ AUTOAMI_CONFIG: configFile });
    const result = await applyAs(puppet, 'web01.example.com', `notify { 'hello': }`);
    assert.is(result.status, 2, result.stderr);
    assert.is(connections, 0);
    assert.equal(readdirSync(join(dir, 'state', 'spool')), []);
  } finally {
    listener.close();
  }
});

Processor.run();
