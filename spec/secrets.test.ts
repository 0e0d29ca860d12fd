/**
 * Secrets (issue 7): a distinctive --enc-pass and database password go through real flows
 * (the faces, a bake with a PE console that checks the password, the report processor, a
 * sidecar on MariaDB logging at debug, broken configs) and appear in no output, log line or
 * error: not as sent, not JSON-escaped, not base64, not even their random core.
 */
import './support/aws-env.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConnection } from 'mysql2/promise';
import { stringify } from 'yaml';
import type { DatabaseConfig } from '../runtime/config.ts';
import { MysqlStore } from '../runtime/store/mysql-store.ts';
import { applyAs } from './support/bake-harness.ts';
import { startEc2Endpoint, type Ec2Endpoint } from './support/ec2-endpoint.ts';
import { keyfile } from './support/group-params.ts';
import { startMariadb } from './support/mariadb.ts';
import { startPeConsole, type PeConsoleStandIn } from './support/pe-console.ts';
import { makePki } from './support/pki.ts';
import { puppetEnv, type PuppetEnv, type PuppetResult } from './support/puppet.ts';
import { spawnSidecar, type SidecarProcess } from './support/sidecar-process.ts';
import { writeConfig } from './support/sidecar.ts';
import { tempDir } from './support/tmp.ts';

const BIN = fileURLToPath(new URL('../runtime/bin/autoami.js', import.meta.url));
// Quotes and backslashes make the JSON- and YAML-escaped forms differ from the raw one.
const core = () => randomBytes(8).toString('hex');
const ENC_PASS = `Enc-Pa$$"\\-${core()}`;
const WRONG_ENC_PASS = `Wrong-Enc-Pa$$"\\-${core()}`;
const DB_PASS = `Db-Pa$$'"\\-${core()}`;
const WRONG_DB_PASS = `Wrong-Db-Pa$$'"\\-${core()}`;
// YAML reads an unquoted run of digits as a number, a shape config checks must not echo either.
const NUMERIC_DB_PASS = String(randomInt(100_000_000, 999_999_999));
const SECRETS = [ENC_PASS, WRONG_ENC_PASS, DB_PASS, WRONG_DB_PASS];

/** Every shape a secret could take in text; the random core catches any other escaping. */
function leaks(text: string): string[] {
  const found = SECRETS.flatMap((secret) => {
    const bytes = Buffer.from(secret);
    const forms = [secret, JSON.stringify(secret).slice(1, -1), bytes.toString('base64'), bytes.toString('base64url'), encodeURIComponent(secret), secret.slice(-16)];
    return forms.filter((form) => text.includes(form)).map((form) => `${secret} as ${form}`);
  });
  return text.includes(NUMERIC_DB_PASS) ? [...found, NUMERIC_DB_PASS] : found;
}

function assertNoSecret(label: string, text: string): void {
  assert.equal(leaks(text), [], `${label} shows a secret:\n${text.slice(0, 2000)}`);
}

/** The bakes' one-time CSR challenges, read from the user-data: the one place they belong. */
const CHALLENGES: string[] = [];

function assertNoChallenge(label: string, text: string): void {
  const found = CHALLENGES.filter((secret) => text.includes(secret) || text.includes(secret.toUpperCase()) || text.includes(Buffer.from(secret).toString('base64')));
  assert.equal(found.length, 0, `${label} shows a bake's challenge secret`);
}

const outputOf = (result: PuppetResult) => `${result.stdout}\n${result.stderr}`;

interface Context {
  db: DatabaseConfig;
  endpoint: Ec2Endpoint;
  console: PeConsoleStandIn;
  sidecar: SidecarProcess;
  store: MysqlStore;
  puppet: PuppetEnv;
  keyfile: string;
  /** The console's logins, changed by a test as an administrator would. */
  users: Record<string, string>;
}

const Secrets = suite<Context>('secrets');

Secrets.before(async (context) => {
  const mariadb = await startMariadb();
  const db = await mariadb.createDatabase();
  const root = await createConnection({ socketPath: mariadb.socketPath, user: 'root' });
  for (const host of ['localhost', '127.0.0.1']) await root.query('ALTER USER ?@? IDENTIFIED BY ?', [db.user, host, DB_PASS]);
  await root.end();
  context.db = { ...db, password: DB_PASS };
  context.endpoint = await startEc2Endpoint({ images: ['ami-0abc1234'], bootMs: 50, imageMs: 150, terminateMs: 20 });
  const pki = makePki();
  // `rotated` logs in with the second password until a test removes it, as if an administrator changed it.
  context.users = { admin: ENC_PASS, rotated: WRONG_ENC_PASS };
  context.console = await startPeConsole(pki, { users: context.users, groups: [{ id: randomUUID(), name: 'wordpress' }] });
  const { file, socket } = writeConfig(context.db, {
    aws: { region: 'us-east-1', endpoint: context.endpoint.url },
    puppet: { localcacert: pki.caCert, classifier: 'pe' },
    bake: { poll_interval: '50ms', lease: '2s', report_timeout: '60s' },
  });
  // Debug logging for this sidecar only: the most it ever writes must hold no secret either.
  const level = process.env.AUTOAMI_LOG_LEVEL;
  process.env.AUTOAMI_LOG_LEVEL = 'debug';
  try {
    context.sidecar = await spawnSidecar(file, socket);
  } finally {
    if (level === undefined) delete process.env.AUTOAMI_LOG_LEVEL;
    else process.env.AUTOAMI_LOG_LEVEL = level;
  }
  context.store = new MysqlStore(context.db);
  await context.store.open();
  context.puppet = puppetEnv({ AUTOAMI_CONFIG: file });
  context.keyfile = keyfile();
});

Secrets.after(async ({ sidecar, endpoint, console, store }) => {
  await store.close();
  await sidecar.stop();
  await endpoint.stop();
  await console.close();
});

function newGroup(context: Context, name: string, password: string, overrides: Record<string, string> = {}): string[] {
  const options: Record<string, string> = {
    '--image': 'ami-0abc1234', '--type': 't3.micro', '--keyname': 'deploy', '--keyfile': context.keyfile, '--login': 'ec2-user',
    '--puppetserver': 'puppet.example.com', '--node-group': 'wordpress', '--enc-user': password === WRONG_ENC_PASS ? 'rotated' : 'admin', '--enc-pass': password,
    '--enc-server': '127.0.0.1', '--enc-port': String(context.console.port), '--bootstrap': 'userdata', ...overrides,
  };
  return ['autoami', 'new_group', ...Object.entries(options).flat(), name];
}

Secrets('should create groups through the face, at debug level, without echoing the password', async (context) => {
  for (const [name, password] of [['wordpress', ENC_PASS], ['wrongpass', WRONG_ENC_PASS]] as const) {
    const result = await context.puppet.run([...newGroup(context, name, password), '--debug']);
    assert.is(result.status, 0, result.stderr);
    assertNoSecret(`new_group ${name}`, outputOf(result));
  }
});

Secrets('should show the password as [redacted] in every rendering of groups', async ({ puppet }) => {
  for (const format of [[], ['--render-as', 'json'], ['--render-as', 'yaml']]) {
    const result = await puppet.run(['autoami', 'groups', ...format]);
    assert.is(result.status, 0, result.stderr);
    assertNoSecret(`groups ${format.join(' ')}`, outputOf(result));
    if (format.length) assert.match(result.stdout, /\[redacted\]/);
  }
});

Secrets('should keep the password out of every refusal that involves it', async (context) => {
  const refusals: [string, string[], RegExp][] = [
    ['a taken name', newGroup(context, 'wordpress', ENC_PASS), /^Error: name: /],
    ['a bad --enc-server', newGroup(context, 'other', ENC_PASS, { '--enc-server': 'bad host!' }), /^Error: enc_server: /],
    ['a password with a control character', newGroup(context, 'other', `${ENC_PASS}\u001b`), /^Error: enc_pass: \(value hidden\) contains control/],
    ['an over-long password', newGroup(context, 'other', ENC_PASS.repeat(40)), /^Error: enc_pass: longer than/],
    ['a missing key file', newGroup(context, 'other', ENC_PASS, { '--keyfile': '/nonexistent.pem' }), /^Error: keyfile: /],
    ['a password the console refuses', newGroup(context, 'other', `${ENC_PASS}-not`), /^Error: puppet\.classifier is pe, but group other cannot be pinned .*refused login "admin"/],
  ];
  const results = await Promise.all(refusals.map(([, args]) => context.puppet.run(args)));
  for (const [index, [what, , message]] of refusals.entries()) {
    const result = results[index]!;
    assert.is(result.status, 1, `${what}: ${result.stderr}`);
    assert.is(result.errorLines.length, 1, `${what}: ${result.stderr}`);
    assert.match(result.errorLines[0]!, message);
    assertNoSecret(what, outputOf(result));
  }
});

/** Only bounds a hang: Puppet starting the face and the bake launching take seconds, unless two busy cores slow them down. */
const HANG_MS = 180_000;

async function awaitingCertname(store: MysqlStore, group: string): Promise<string> {
  const deadline = Date.now() + HANG_MS;
  while (Date.now() < deadline) {
    const bake = (await store.listBakes({ group_name: group, active: true })).find((each) => each.state === 'awaiting_report');
    if (bake?.certname) return bake.certname;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no bake of ${group} awaiting its report within ${HANG_MS / 1000} s`);
}

Secrets('should bake with the password and keep it out of progress, report, history, list and status', async (context) => {
  const { puppet, store, endpoint, console } = context;
  // The console no longer takes the password wrongpass was defined with, nor the token new_group's check got with it.
  delete context.users.rotated;
  console.revokeTokens();
  const run = puppet.run(['autoami', 'run', '--groups', 'wordpress,wrongpass', '--wait']);
  const certname = await awaitingCertname(store, 'wordpress');
  // The instance's agent run, with the real report processor: its output is the processor's log.
  const applied = await applyAs(puppet, certname, `file { '${join(tempDir(), 'motd')}': content => "baked\\n" }`);
  assert.is(applied.status, 2, applied.stderr);
  assertNoSecret('the report processor', outputOf(applied));
  const ran = await Promise.race([run, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`run --wait did not return within ${HANG_MS / 1000} s`)), HANG_MS).unref())]);
  for (const instance of endpoint.instances()) {
    const challenge = /^CHALLENGE_YAML='"([0-9a-f]{64})"'$/m.exec(endpoint.userData(instance.instanceId) ?? '')?.[1];
    if (challenge) CHALLENGES.push(challenge);
  }
  assert.ok(CHALLENGES.length > 0, 'no bake handed out a challenge');
  assertNoChallenge('run --wait', outputOf(ran));
  // One bake failed (the console refused the wrong password), so --wait exits 1.
  assert.is(ran.status, 1, outputOf(ran));
  assert.match(ran.stdout, /^wordpress\s+done\s+baked/m, ran.stdout);
  assert.match(ran.stdout, /^wrongpass\s+done\s+failed/m, ran.stdout);
  assertNoSecret('run --wait', outputOf(ran));
  assert.ok(console.issued.includes('admin'), 'the console never issued a token: the password was not used');
  const wrong = await puppet.run(['autoami', 'history', 'wrongpass', '--render-as', 'json']);
  assert.match(wrong.stdout, /refused login/);
  const views = [['history', 'wordpress'], ['history', 'wordpress', '--render-as', 'json'], ['list'], ['status', '--render-as', 'json']];
  for (const args of views.map((view) => ['autoami', ...view])) {
    const result = await puppet.run(args);
    assert.is(result.status, 0, result.stderr);
    assertNoSecret(args.join(' '), outputOf(result));
    assertNoChallenge(args.join(' '), outputOf(result));
  }
  assertNoSecret('history wrongpass', outputOf(wrong));
  for (const instance of endpoint.instances()) {
    assertNoSecret(`user data of ${instance.instanceId}`, endpoint.userData(instance.instanceId) ?? '');
    assertNoSecret(`tags of ${instance.instanceId}`, JSON.stringify([...instance.tags]));
  }
  for (const image of endpoint.images()) assertNoSecret(`image ${image.imageId}`, JSON.stringify({ ...image, tags: [...image.tags] }));
  assertNoSecret('the bakes table', JSON.stringify(await store.listBakes()));
  assertNoChallenge('the bakes table', JSON.stringify(await store.listBakes()));
});

/** `autoami CMD --config FILE` as a service manager starts it: its whole output. */
function cli(command: string, config: Record<string, unknown>): { status: number | null; output: string } {
  const dir = tempDir();
  const file = join(dir, 'autoami.yaml');
  writeFileSync(file, typeof config.raw === 'string' ? config.raw : stringify({ socket: join(dir, 's.sock'), state_dir: join(dir, 'state'), ...config }));
  const run = spawnSync(process.execPath, [BIN, command, '--config', file], { encoding: 'utf8', timeout: HANG_MS });
  return { status: run.status, output: `${run.stdout}\n${run.stderr}` };
}

Secrets('should name a refused or malformed database password without showing it', async (context) => {
  const { socket_path, user, name } = context.db;
  const database = (password: unknown) => ({ socket_path, user, name, password });
  const dir = tempDir();
  const broken = [
    `socket: ${join(dir, 's.sock')}`, `state_dir: ${join(dir, 'state')}`, 'database:', `  user: ${user}`,
    `  password: ${WRONG_DB_PASS}: "unclosed`, `  name: ${name}`,
  ].join('\n');
  const cases: [string, string, Record<string, unknown>, RegExp][] = [
    ['serve with a refused password', 'serve', { database: database(WRONG_DB_PASS) }, /store unavailable: .*ER_ACCESS_DENIED_ERROR/],
    ['migrate with a refused password', 'migrate', { database: database(WRONG_DB_PASS) }, /store unavailable: .*ER_ACCESS_DENIED_ERROR/],
    ['a YAML error on the password line', 'migrate', { raw: broken }, /not valid YAML: .* at line 5/],
    ['a password YAML reads as a number', 'migrate', { raw: `database:\n  user: ${user}\n  password: ${NUMERIC_DB_PASS}\n` }, /database\.password: expected a non-empty/],
  ];
  for (const [what, command, config, message] of cases) {
    const { status, output } = cli(command, config);
    assert.is(status, 2, `${what}: ${output}`);
    assert.match(output, message, what);
    assertNoSecret(what, output);
  }
  // The face reads the same file for its socket: its YAML error must not quote the line either.
  const configFile = join(dir, 'broken.yaml');
  writeFileSync(configFile, broken);
  const face = await context.puppet.run(['autoami', 'groups'], { AUTOAMI_CONFIG: configFile });
  assert.is(face.status, 1, face.stderr);
  assertNoSecret('the face on a broken config', outputOf(face));
});

Secrets("should have kept every secret out of the sidecar's debug log", ({ sidecar }) => {
  assert.match(sidecar.log(), /"level":"debug"|"level":"info"/);
  assertNoSecret('the sidecar log', sidecar.log());
  assert.ok(CHALLENGES.length > 0, 'the bake test handed out no challenge to look for');
  assertNoChallenge('the sidecar log', sidecar.log());
});

Secrets.run();
