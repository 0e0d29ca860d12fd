/**
 * The whole loop on real parts: Debian's Puppet Server with the built module installed and
 * `reports = autoami`, the built sidecar on MariaDB, the EC2 endpoint, and real agents —
 * reached over a real sshd in ssh mode, started from their user data in userdata mode. Each
 * "instance" is this machine with private Puppet directories, so its disk outlives it the
 * way a baked AMI carries it to the next instance.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { stringify } from 'yaml';
import type { DatabaseConfig } from '../runtime/config.ts';
import { PP_INSTANCE_ID_OID, PP_ROLE_OID } from '../runtime/puppet/types.ts';
import { randomSecret } from '../runtime/random.ts';
import { DEBIAN_12_IMAGE_ID, startEc2Endpoint, type Ec2Endpoint } from './support/ec2-endpoint.ts';
import { bootInstances, privateAgentArgs } from './support/instance-boot.ts';
import { startMariadb } from './support/mariadb.ts';
import { makePki, type Pki } from './support/pki.ts';
import { puppetEnv, type PuppetEnv } from './support/puppet.ts';
import { SERVER_CERTNAME, startPuppetServer, type PuppetServer } from './support/puppetserver.ts';
import { bootstrapChallenges, reportProcessorProblems, secretLines, sidecarErrors } from './support/log-findings.ts';
import { spawnSidecar, type SidecarProcess } from './support/sidecar-process.ts';
import { startSshd, type TestSshd } from './support/sshd.ts';
import { tempDir } from './support/tmp.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const metadata = JSON.parse(readFileSync(join(ROOT, 'metadata.json'), 'utf8')) as { name: string; version: string };

interface Context {
  server: PuppetServer;
  endpoint: Ec2Endpoint;
  sshd: TestSshd;
  sidecar: SidecarProcess;
  puppet: PuppetEnv;
  stateDir: string;
  /** What every instance's Puppet run manages: the shared "disk". */
  disk: string;
  dbPassword: string;
  database: DatabaseConfig;
  /** Each group's release number in site.pp; bumping one is the code change. */
  releases: Record<string, number>;
  /** Every script an ssh "instance" was sent (sshd's ForceCommand keeps a copy). */
  sshScripts: string;
  /** What the policy autosign command said, as Puppet Server ran it. */
  autosignLog: string;
  /** The output of every face run and every user-data boot: command output that must hold no secret. */
  outputs: string[];
  /** A key pair of someone who knows bake certnames and nothing else. */
  forger: Pki;
  forgeries: { certname: string; challengePassword: string | null }[];
  /** What restarting the sidecar in policy-only mode needs. */
  configFile: string;
  config: Record<string, any>;
  bin: string;
  /** The logs of sidecars stopped before the current one. */
  earlierSidecarLogs: string[];
}

const E2e = suite<Context>('end to end');

const ENC_PASSWORD = 'console-secret';

// The CA rules the README tells operators to add, for the master's own certname.
const README_AUTH_RULES = [
  `{ match-request: { path: "/puppet-ca/v1/certificate_status", type: path, method: [get, put, delete] }, allow: [ "${SERVER_CERTNAME}" ], sort-order: 400, name: "autoami certificate_status" }`,
  `{ match-request: { path: "/puppet-ca/v1/certificate_request", type: path, method: get }, allow: [ "${SERVER_CERTNAME}" ], sort-order: 400, name: "autoami certificate_request" }`,
];

function writeSite(context: Context): void {
  const releases = Object.entries(context.releases).map(([group, release]) => `    '${group}' => ${release},`);
  context.server.writeSite(
    [
      'node default {',
      "  $role = $trusted['extensions']['pp_role']",
      '  $release = {',
      ...releases,
      '  }[$role]',
      `  file { "${context.disk}/\${role}.conf":`,
      '    ensure  => file,',
      '    content => "${role} release ${release}\\n",',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
}

function installBuiltModule(server: PuppetServer): string {
  const out = tempDir('e2e-build');
  const build = spawnSync('npm', ['run', '-s', 'build', '--', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.is(build.status, 0, `npm run build failed:\n${build.stdout}${build.stderr}`);
  const scratch = tempDir('e2e-pm');
  const tarball = join(out, `${metadata.name}-${metadata.version}.tar.gz`);
  const args = ['module', 'install', tarball, '--ignore-dependencies', '--target-dir', server.modulesDir, '--confdir', join(scratch, 'conf'), '--vardir', join(scratch, 'var')];
  const install = spawnSync('puppet', args, { encoding: 'utf8', timeout: 120_000 });
  assert.is(install.status, 0, `puppet module install failed:\n${install.stdout}${install.stderr}`);
  return join(server.modulesDir, 'autoami', 'files', 'sidecar', 'runtime', 'bin', 'autoami.js');
}

/** The policy group: Puppet Server's autosign command hands its certnames to AutoAMI's. */
const POLICY_GROUP = 'pol';

/**
 * puppet.conf `autosign` for this run: certnames of POLICY_GROUP go to AutoAMI's autosign
 * command, as `autosign = .../autoami-autosign` sends every certname in a real setup; every
 * other certname is refused here, so only the sidecar's CA API call can sign those.
 */
function autosignWrapper(node: string, command: string, configFile: string, log: string): string {
  const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
  return [
    '#!/bin/sh',
    'case "$1" in',
    `  ${POLICY_GROUP}-i-*) exec ${quote(node)} ${quote(command)} "$1" --config ${quote(configFile)} 2>>${quote(log)} ;;`,
    '  *) cat >/dev/null; exit 1 ;;',
    'esac',
    '',
  ].join('\n');
}

E2e.before(async (context) => {
  const autosignDir = tempDir('e2e-autosign');
  const autosignCommand = join(autosignDir, 'autosign');
  // Refuses everything until the module is installed and the real wrapper replaces it.
  writeFileSync(autosignCommand, '#!/bin/sh\ncat >/dev/null\nexit 1\n', { mode: 0o755 });
  context.autosignLog = join(autosignDir, 'autosign.log');
  writeFileSync(context.autosignLog, '');
  context.sshScripts = join(tempDir('e2e-ssh-scripts'), 'scripts');
  context.outputs = [];
  context.forgeries = [];
  context.forger = makePki('Not the Puppet CA');
  const [server, db, endpoint, sshd] = await Promise.all([
    startPuppetServer({ reports: 'autoami', authRules: README_AUTH_RULES, autosign: autosignCommand }),
    startMariadb(),
    startEc2Endpoint({ bootMs: 300, imageMs: 800, terminatedVisibleMs: 3_600_000, publicAddress: () => ({ ip: '127.0.0.1', dnsName: 'localhost' }) }),
    // The sidecar asks for `bash -s`; this runs it too, keeping a copy of the script for the secret checks.
    startSshd({ login: 'root', setEnv: { AUTOAMI_PUPPET_ARGS: privateAgentArgs(tempDir('e2e-ssh-agent')) }, forceCommand: `tee -a ${context.sshScripts} | bash -s` }),
  ]);
  Object.assign(context, { server, endpoint, sshd, releases: {}, disk: tempDir('e2e-disk') });
  const bin = installBuiltModule(server);
  const run = tempDir('e2e-run');
  context.stateDir = join(run, 'state');
  // Where both the report processor inside Puppet Server and the faces look by default.
  const configFile = join(server.confdir, 'autoami.yaml');
  const socket = join(run, 'autoami.sock');
  const database = await db.createDatabase();
  const { host, port, user, password, name } = database;
  context.dbPassword = password;
  context.database = database;
  const config = {
    socket,
    state_dir: context.stateDir,
    database: { host, port, user, password, name },
    aws: { region: 'us-east-1', endpoint: endpoint.url },
    puppet: { server: SERVER_CERTNAME, port: server.port, hostcert: server.hostcert, hostprivkey: server.hostprivkey, localcacert: server.localcacert, classifier: 'none' },
    bake: { ssh_port: sshd.port, poll_interval: '250ms', report_timeout: '4m' },
  };
  writeFileSync(configFile, stringify(config), { mode: 0o640 });
  writeFileSync(autosignCommand, autosignWrapper(process.execPath, join(bin, '..', 'autoami-autosign.js'), configFile, context.autosignLog), { mode: 0o755 });
  Object.assign(context, { configFile, config, bin, earlierSidecarLogs: [] });
  context.sidecar = await spawnSidecar(configFile, socket, 30_000, bin);
  context.puppet = puppetEnv({ AUTOAMI_CONFIG: configFile }, [server.modulesDir]);
});

E2e.after(async (context) => {
  await context.sidecar?.stop();
  await Promise.all([context.server?.stop(), context.endpoint?.stop(), context.sshd?.stop()]);
});

async function face(context: Context, args: readonly string[]): Promise<string> {
  const result = await context.puppet.run(args);
  context.outputs.push(result.stdout, result.stderr);
  assert.is(result.status, 0, `puppet ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}\n--- sidecar:\n${context.sidecar.log().slice(-3000)}`);
  return result.stdout;
}

async function bake(context: Context, group: string, expect: 'baked' | 'unchanged'): Promise<{ instanceId: string; image: string | null }> {
  const out = await face(context, ['autoami', 'run', '--groups', group, '--wait']);
  const match = new RegExp(`^${group}: done \\((i-[0-9a-f]+) (baked (ami-[0-9a-f]+)|unchanged)\\)`, 'm').exec(out);
  assert.ok(match, `no done line for ${group} in:\n${out}\n--- puppetserver:\n${context.server.log().slice(-3000)}`);
  assert.is(match[2]!.split(' ')[0], expect, out);
  return { instanceId: match[1]!, image: match[3] ?? null };
}

async function currentImage(context: Context, group: string): Promise<string> {
  const groups = JSON.parse(await face(context, ['autoami', 'groups', '--render-as', 'json'])) as { name: string; image: string }[];
  return groups.find((each) => each.name === group)!.image;
}

function groupImages(context: Context, group: string) {
  return context.endpoint.images().filter((image) => image.tags.get('autoami:group') === group);
}

async function newGroup(context: Context, group: string, bootstrap: 'ssh' | 'userdata'): Promise<void> {
  context.releases[group] = 1;
  writeSite(context);
  await face(context, [
    'autoami', 'new_group', '--enc-user', 'admin', '--enc-pass', ENC_PASSWORD, '--image', DEBIAN_12_IMAGE_ID,
    '--keyfile', context.sshd.target.keyfile, '--keyname', 'e2e', '--login', 'root', '--node-group', group,
    '--puppetserver', SERVER_CERTNAME, '--type', 't3.micro', '--bootstrap', bootstrap, group,
  ]);
}

async function threeRuns(context: Context, group: string, bootstrap: 'ssh' | 'userdata'): Promise<void> {
  await newGroup(context, group, bootstrap);
  const certname = (instanceId: string) => `${group}-${instanceId}.autoami`;

  // 1. A new role: the agent's run changes the disk, so it is baked.
  const first = await bake(context, group, 'baked');
  // The autosign command refuses these groups, so only the sidecar's CA API call can have signed it; cleaning then revokes it.
  const inventory = readFileSync(join(context.server.cadir, 'inventory.txt'), 'utf8');
  assert.match(inventory, `/CN=${certname(first.instanceId)}`, 'the CA issued the bake instance a certificate');
  assert.not.ok(existsSync(join(context.server.cadir, 'signed', `${certname(first.instanceId)}.pem`)), 'the finished bake cleaned its certificate');
  assert.is(readFileSync(join(context.disk, `${group}.conf`), 'utf8'), `${group} release 1\n`);
  assert.is(await currentImage(context, group), first.image);
  assert.is(context.endpoint.image(first.image!)?.tags.get('autoami:parent-image'), DEBIAN_12_IMAGE_ID);

  // 2. No code change: the instance from that AMI already has it all; nothing is baked.
  const second = await bake(context, group, 'unchanged');
  assert.is.not(second.instanceId, first.instanceId);
  assert.is(groupImages(context, group).length, 1);
  assert.is(await currentImage(context, group), first.image);

  // 3. The manifest changes: a new AMI whose parent is the first.
  context.releases[group] = 2;
  writeSite(context);
  const third = await bake(context, group, 'baked');
  assert.is.not(third.image, first.image);
  assert.is(readFileSync(join(context.disk, `${group}.conf`), 'utf8'), `${group} release 2\n`);
  assert.is(context.endpoint.image(third.image!)?.tags.get('autoami:parent-image'), first.image);

  for (const { instanceId } of [first, second, third]) {
    assert.is(context.endpoint.instance(instanceId)?.state, 'terminated', `${instanceId} was left running`);
  }

  const launched = /^Successfully launched instance at (\S+)$/m.exec(await face(context, ['node_aws', 'launch', group]));
  assert.ok(launched, 'node_aws launch said where');
  const newest = context.endpoint.instances().filter((instance) => instance.tags.get('autoami:group') === group).at(-1)!;
  assert.is(newest.imageId, third.image, 'node_aws launch starts from the newest AMI');

  const history = JSON.parse(await face(context, ['autoami', 'history', group, '--render-as', 'json'])) as {
    outcome: string; image: string | null; parent: string; changed_resources: string[]; current: boolean;
  }[];
  assert.equal(history.map((row) => row.outcome), ['baked', 'unchanged', 'baked']);
  assert.equal(history.map((row) => row.image), [third.image, null, first.image]);
  assert.equal(history.map((row) => row.parent), [first.image, first.image, DEBIAN_12_IMAGE_ID]);
  assert.ok(history[0]!.changed_resources.includes(`File[${context.disk}/${group}.conf]`), JSON.stringify(history[0]));
  assert.is(history[0]!.current, true);
}

function spooled(context: Context): string[] {
  const spool = join(context.stateDir, 'spool');
  return existsSync(spool) ? readdirSync(spool) : [];
}

// Both modes at once, as `puppet autoami run` bakes groups side by side: half the wall time.
E2e('should bake, skip and rebake one group over ssh and one from user data', async (context) => {
  const booter = bootInstances(context.endpoint, privateAgentArgs(tempDir('e2e-ud-agent')));
  try {
    await Promise.all([threeRuns(context, 'web', 'ssh'), threeRuns(context, 'db', 'userdata')]);
  } finally {
    await booter.stop();
    context.outputs.push(...booter.booted.map((boot) => boot.output));
  }
  assert.is(booter.booted.length, 3, `only the userdata group's bakes boot from user data: ${JSON.stringify(booter.booted.map((each) => each.instanceId))}`);
  for (const boot of booter.booted) assert.is(boot.exitCode, 0, boot.output);
  assert.equal(spooled(context), [], 'every report went straight from Puppet Server to the sidecar');
});

/**
 * Puppet Server's CA API as anyone who can reach it may use it (no client certificate), or,
 * `asMaster`, with the master's certificate: the test watching, which auth.conf lets read CSRs.
 */
function caCall(context: Context, method: 'GET' | 'PUT' | 'DELETE', path: string, body?: string, asMaster = false): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'Content-Type': 'text/plain' };
    const client = asMaster ? { cert: readFileSync(context.server.hostcert), key: readFileSync(context.server.hostprivkey) } : {};
    const options = { host: '127.0.0.1', port: context.server.port, path: `/puppet-ca/v1/${path}`, method, headers, rejectUnauthorized: false, timeout: 60_000, ...client };
    const req = request(options, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 60 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Polls `probe` until it answers something; only bounds a hang (the sidecar looks every poll interval). */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const answer = await probe();
    if (answer !== undefined) return answer;
    if (Date.now() > deadline) throw new Error(`${what}: not within 120 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Has the CSR of `certname` a status other than 200? Watched as the master: auth.conf keeps CSRs from anyone else. */
async function csrGone(context: Context, certname: string): Promise<true | undefined> {
  const waiting = await caCall(context, 'GET', `certificate_request/${certname}`, undefined, true);
  if (waiting.status === 404) return true;
  if (waiting.status !== 200) throw new Error(`reading the CSR of ${certname} was answered ${waiting.status}: ${waiting.text}`);
  return undefined;
}

const autosignSaid = (context: Context) => readFileSync(context.autosignLog, 'utf8').split('\n').filter((line) => line.startsWith('autoami autosign:'));

/**
 * Someone who reads an instance's certname (say, from a log or the EC2 console) and races
 * its agent: a CSR with that certname and pp_instance_id, first without a challengePassword,
 * then with a guessed one. Each is refused and stays unsigned. With the CA API the sidecar
 * removes it; in policy-only mode nothing does (an operator would, as the test does here).
 * Only then does the instance's own agent start.
 */
async function forge(context: Context, instanceId: string, mode: 'ca' | 'policy'): Promise<void> {
  const group = context.endpoint.instance(instanceId)?.tags.get('autoami:group') ?? '';
  const certname = `${group}-${instanceId}.autoami`;
  for (const challengePassword of [null, randomSecret()]) {
    const csr = context.forger.makeCsr({
      certname, extensions: { [PP_INSTANCE_ID_OID]: instanceId, [PP_ROLE_OID]: group }, keyType: 'rsa', stringMask: 'nombstr',
      ...(challengePassword === null ? {} : { challengePassword }),
    });
    const said = autosignSaid(context).length;
    const put = await caCall(context, 'PUT', `certificate_request/${certname}`, csr);
    if (put.status !== 200) throw new Error(`the forged CSR for ${certname} was answered ${put.status}: ${put.text}`);
    if (mode === 'ca') {
      await until(`the sidecar removing the forged CSR for ${certname}`, () => csrGone(context, certname));
    } else {
      // Puppet Server asked the autosign command as the CSR came in: it has answered by now.
      if (autosignSaid(context).length !== said + 1) throw new Error(`the autosign command was not asked about ${certname}: ${autosignSaid(context).join('\n')}`);
      if (await csrGone(context, certname)) throw new Error(`the forged CSR for ${certname} is gone, not waiting unsigned`);
      const removed = await caCall(context, 'DELETE', `certificate_status/${certname}`, undefined, true);
      if (removed.status !== 204) throw new Error(`removing the forged CSR for ${certname} was answered ${removed.status}: ${removed.text}`);
    }
    const certificate = await caCall(context, 'GET', `certificate/${certname}`);
    if (certificate.status !== 404) throw new Error(`${certname} has a certificate after a forged CSR (${certificate.status})`);
    context.forgeries.push({ certname, challengePassword });
  }
}

/** Bakes `group` (user data) with a forger racing each of its instances; the certname of the instance baked. */
async function bakeForged(context: Context, group: string, mode: 'ca' | 'policy'): Promise<{ certname: string; instanceId: string }> {
  // A forgery that goes wrong fails the test at once, not when the bake times out.
  let forgeFailed!: (error: unknown) => void;
  const forging = new Promise<never>((_, reject) => (forgeFailed = reject));
  forging.catch(() => undefined);
  const beforeBoot = (instanceId: string) => forge(context, instanceId, mode).catch((error: unknown) => (forgeFailed(error), Promise.reject(error)));
  const booter = bootInstances(context.endpoint, privateAgentArgs(tempDir(`e2e-${group}-agent`)), { beforeBoot });
  let baked: { instanceId: string };
  try {
    await newGroup(context, group, 'userdata');
    baked = await Promise.race([bake(context, group, 'baked'), forging]);
  } finally {
    await booter.stop();
    context.outputs.push(...booter.booted.map((boot) => boot.output));
  }
  assert.is(booter.booted.length, 1);
  assert.is(booter.booted[0]!.exitCode, 0, booter.booted[0]!.output);
  const certname = `${group}-${baked.instanceId}.autoami`;
  assert.equal(context.forgeries.filter((forgery) => forgery.certname === certname).map((forgery) => forgery.challengePassword === null), [true, false]);
  // One certificate for the certname, and no forged CSR was ever signed (checked after each one): it is the agent's.
  const inventory = readFileSync(join(context.server.cadir, 'inventory.txt'), 'utf8');
  assert.is(inventory.split('\n').filter((line) => line.endsWith(`/CN=${certname}`)).length, 1, inventory);
  return { certname, instanceId: baked.instanceId };
}

E2e('should refuse CSRs forged from the certname on the CA API path, remove them, and sign the instance its own', async (context) => {
  const { certname } = await bakeForged(context, 'forged', 'ca');
  // The sidecar refused each forgery by name, never signing it, and removed it for the agent's own.
  const refused = context.sidecar.log().split('\n').filter((line) => line.includes('"certificate refused"') && line.includes(`"certname":"${certname}"`));
  assert.equal(refused.map((line) => JSON.parse(line).reason as string), [
    `the CSR for ${certname} carries no challengePassword; the CSR was removed, so the instance can ask again`,
    `the CSR for ${certname} carries a wrong challengePassword; the CSR was removed, so the instance can ask again`,
  ]);
  // The autosign command refuses this group outright: only the sidecar's CA API call can have signed the agent's CSR.
  assert.not.ok(autosignSaid(context).some((line) => line.includes(certname)));
});

E2e('should refuse CSRs forged from the certname on the policy autosign path, leave them unsigned, and sign the instance its own', async (context) => {
  // Policy-only, as `autosign => true, puppet_ca_signing => false` sets it up: the sidecar without the CA API.
  context.earlierSidecarLogs.push(context.sidecar.log());
  await context.sidecar.stop();
  const { hostcert, hostprivkey, localcacert, ...puppet } = context.config.puppet;
  writeFileSync(context.configFile, stringify({ ...context.config, puppet }), { mode: 0o640 });
  context.sidecar = await spawnSidecar(context.configFile, context.config.socket, 30_000, context.bin);
  const { certname, instanceId } = await bakeForged(context, POLICY_GROUP, 'policy');
  // Puppet Server asked the autosign command at each submission: it refused both forgeries by name and signed the agent's CSR.
  const said = autosignSaid(context).filter((line) => line.includes(certname));
  assert.equal(said.slice(0, 2), [
    `autoami autosign: not signing ${certname}: the CSR for ${certname} carries no challengePassword`,
    `autoami autosign: not signing ${certname}: the CSR for ${certname} carries a wrong challengePassword`,
  ]);
  assert.match(said[2] ?? '', new RegExp(`^autoami autosign: signing ${certname.replace(/\./g, '\\.')}: bake \\S+ on ${instanceId}$`));
  assert.is(said.length, 3, said.join('\n'));
});

E2e('should log no AutoAMI error or warning and no secret in Puppet Server and the sidecar logs', async (context) => {
  const logs: Record<string, string> = {
    puppetserver: context.server.log(),
    sidecar: [...context.earlierSidecarLogs, context.sidecar.log()].join('\n'),
    'autosign command': readFileSync(context.autosignLog, 'utf8'),
    'command output': context.outputs.join('\n'),
  };
  const lines = (found: string[]) => `\n${found.join('\n')}`;
  const processor = reportProcessorProblems(logs.puppetserver!);
  assert.equal(processor, [], `the report processor logged a problem:${lines(processor)}`);
  const sidecar = sidecarErrors(logs.sidecar!);
  assert.equal(sidecar, [], `the sidecar logged errors:${lines(sidecar)}`);
  // Each bake's one-time secret, from where alone it belongs: the user-data and what ssh was sent.
  const scripts = [...context.endpoint.instances().map((instance) => context.endpoint.userData(instance.instanceId) ?? ''), readFileSync(context.sshScripts, 'utf8')];
  const challenges = bootstrapChallenges(scripts);
  // Three ssh bakes and five from user data.
  assert.ok(challenges.length >= 8, `only ${challenges.length} challenges found`);
  const secrets = secretLines(logs, [ENC_PASSWORD, context.dbPassword, ...challenges]);
  assert.equal(secrets, [], `a secret reached a log:${lines(secrets)}`);
  // The store keeps hashes only.
  const { host, port, user, password, name } = context.database;
  const conn = await createConnection({ host, port, user, password, database: name });
  const [rows] = await conn.query<RowDataPacket[]>('SELECT * FROM `bakes`').finally(() => conn.end());
  const table = JSON.stringify(rows);
  assert.equal(challenges.filter((challenge) => table.includes(challenge)), [], 'the bakes table holds a challenge in clear');
  // The processor did run in this server: its log holds reports from the bake certnames.
  assert.ok(context.endpoint.images().some((image) => image.tags.has('autoami:group')), 'no bake was imaged, so the logs prove nothing');
});

E2e.run();
