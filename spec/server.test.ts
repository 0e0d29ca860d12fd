import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { lstatSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Dispatcher } from '../runtime/dispatcher.ts';
import { silentLogger } from '../runtime/log.ts';
import { listen } from '../runtime/server.ts';
import { connect, session } from './support/rpc.ts';
import { startTestSidecar, type TestSidecar } from './support/sidecar.ts';
import { tempDir } from './support/tmp.ts';

const Protocol = suite<{ sidecar: TestSidecar }>('server protocol');

Protocol.before(async (context) => {
  context.sidecar = await startTestSidecar();
});
Protocol.after(async ({ sidecar }) => sidecar.stop());

Protocol('should answer hello with the protocol and version', async ({ sidecar }) => {
  const client = await connect(sidecar.socketPath);
  const reply = await client.call('hello', { protocol: 1 });
  assert.is(reply.result.protocol, 1);
  assert.is(reply.result.server, 'autoami');
  assert.type(reply.result.version, 'string');
  client.close();
});

Protocol('should refuse a protocol mismatch with a clear error', async ({ sidecar }) => {
  const client = await connect(sidecar.socketPath);
  const reply = await client.call('hello', { protocol: 99 });
  assert.is(reply.error.code, -32001);
  assert.match(reply.error.message, /client speaks protocol 99.*speaks 1/);
  client.close();
});

Protocol('should refuse calls before hello', async ({ sidecar }) => {
  const client = await connect(sidecar.socketPath);
  const reply = await client.call('group.list', {});
  assert.is(reply.error.code, -32001);
  assert.match(reply.error.message, /call hello/);
  client.close();
});

Protocol('should answer bad JSON with a parse error and keep serving', async ({ sidecar }) => {
  const client = await session(sidecar.socketPath);
  client.send('{"jsonrpc":"2.0", nope\n');
  const reply = await client.next();
  assert.is(reply.error.code, -32700);
  assert.is(reply.id, null);
  const after = await client.call('group.list', {});
  assert.equal(after.result, []);
  client.close();
});

Protocol('should answer invalid UTF-8 with a parse error', async ({ sidecar }) => {
  const client = await session(sidecar.socketPath);
  client.send(Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":7,"method":"status","params":{"x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}\n')]));
  const reply = await client.next();
  assert.is(reply.error.code, -32700);
  client.close();
});

Protocol('should refuse an oversized line and serve the next one', async ({ sidecar }) => {
  const client = await session(sidecar.socketPath);
  const other = await session(sidecar.socketPath);
  client.send(`{"jsonrpc":"2.0","id":1,"method":"status","params":{"pad":"${'x'.repeat(1024 * 1024 + 10)}"}}\n`);
  const reply = await client.next();
  assert.is(reply.error.code, -32000);
  assert.match(reply.error.message, /1 MiB/);
  const after = await client.call('group.list', {});
  assert.equal(after.result, []);
  const fromOther = await other.call('group.list', {});
  assert.equal(fromOther.result, []);
  client.close();
  other.close();
});

Protocol('should answer an unknown method with method not found', async ({ sidecar }) => {
  const client = await session(sidecar.socketPath);
  const reply = await client.call('group.explode', {});
  assert.is(reply.error.code, -32601);
  assert.match(reply.error.message, /group\.explode/);
  client.close();
});

Protocol('should name the field in invalid params', async ({ sidecar }) => {
  const client = await session(sidecar.socketPath);
  const reply = await client.call('group.delete', { name: 42 });
  assert.is(reply.error.code, -32602);
  assert.is(reply.error.data.field, 'name');
  assert.match(reply.error.message, /^name: expected a string/);
  const unknown = await client.call('group.list', { surprise: true });
  assert.is(unknown.error.data.field, 'surprise');
  client.close();
});

Protocol('should refuse batches and non-object requests', async ({ sidecar }) => {
  const client = await session(sidecar.socketPath);
  client.send('[{"jsonrpc":"2.0","id":1,"method":"status"}]\n');
  assert.match((await client.next()).error.message, /batch/);
  client.send('{"jsonrpc":"1.0","id":2,"method":"status"}\n');
  const wrongVersion = await client.next();
  assert.is(wrongVersion.error.code, -32600);
  assert.is(wrongVersion.id, 2);
  client.close();
});

Protocol('should create the socket with mode 0660', ({ sidecar }) => {
  assert.is(statSync(sidecar.socketPath).mode & 0o777, 0o660);
});

const Lifecycle = suite('server lifecycle');

Lifecycle('should replace a stale socket file', async () => {
  const path = join(tempDir(), 's.sock');
  // A sidecar killed outright leaves its socket file behind with nobody listening.
  const crashed = `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  spawnSync(process.execPath, ['-e', crashed]);
  assert.ok(lstatSync(path).isSocket());
  const server = await listen(path, new Dispatcher({} as never, 'test'), silentLogger);
  const client = await connect(path);
  assert.ok((await client.call('hello', { protocol: 1 })).result);
  client.close();
  await server.close();
});

Lifecycle('should refuse a socket another sidecar listens on', async () => {
  const path = join(tempDir(), 's.sock');
  const first = await listen(path, new Dispatcher({} as never, 'test'), silentLogger);
  try {
    await listen(path, new Dispatcher({} as never, 'test'), silentLogger);
    assert.unreachable('second listen should fail');
  } catch (error) {
    assert.match((error as Error).message, /already listening/);
  }
  await first.close();
});

Lifecycle('should refuse a socket path that is a regular file', async () => {
  const path = join(tempDir(), 'not-a-socket');
  writeFileSync(path, 'data');
  try {
    await listen(path, new Dispatcher({} as never, 'test'), silentLogger);
    assert.unreachable('listen should fail');
  } catch (error) {
    assert.match((error as Error).message, /not a socket/);
  }
});

Lifecycle('should answer in-flight calls before closing', async () => {
  const path = join(tempDir(), 's.sock');
  let release!: () => void;
  let entered!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const inside = new Promise<void>((resolve) => (entered = resolve));
  const handlers = { status: async () => (entered(), await gate, { done: true }) };
  const server = await listen(path, new Dispatcher(handlers as never, 'test'), silentLogger);
  const client = await session(path);
  const pending = client.call('status', {});
  // Closed once the call is being handled, not after a guess at how long that takes.
  await inside;
  const closing = server.close();
  const late = await connect(path).then(
    () => 'connected',
    () => 'refused',
  );
  assert.is(late, 'refused');
  release();
  assert.equal((await pending).result, { done: true });
  await closing;
});

Lifecycle('should send heartbeats to a long call only, and stop once it is answered', async () => {
  const path = join(tempDir(), 's.sock');
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const handlers = { status: async () => (await gate, { done: true }), 'group.list': async () => [] };
  const server = await listen(path, new Dispatcher(handlers as never, 'test'), silentLogger, { heartbeatMs: 100 });
  try {
    const client = await session(path);
    client.send('{"jsonrpc":"2.0","id":"slow","method":"status","params":{}}\n');
    // Three heartbeats of the slow call; quick calls meanwhile are answered and never beaten.
    const beats: Record<string, any>[] = [];
    while (beats.length < 3) {
      const message = await client.next(10_000);
      if (message.method === 'progress') beats.push(message);
      else assert.is(message.id, 'quick', 'only answers to the quick calls come between heartbeats');
      if (message.method === 'progress' && beats.length < 3) client.send('{"jsonrpc":"2.0","id":"quick","method":"group.list","params":{}}\n');
    }
    for (const beat of beats) assert.equal(beat.params, { id: 'slow', heartbeat: true });
    release();
    let answer: Record<string, any>;
    do answer = await client.next(10_000);
    while (answer.id !== 'slow');
    assert.equal(answer.result, { done: true });
    // Several sweeps go by: a heartbeat now would be for a call already answered.
    await new Promise((resolve) => setTimeout(resolve, 400));
    client.send('{"jsonrpc":"2.0","id":"last","method":"group.list","params":{}}\n');
    const after = await client.next(10_000);
    assert.is(after.id, 'last', `no heartbeat after the answer, got ${JSON.stringify(after)}`);
    client.close();
  } finally {
    release();
    await server.close();
  }
});

Protocol.run();
Lifecycle.run();
