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
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { DEBIAN_12_IMAGE_ID, startEc2Endpoint, type Ec2Endpoint } from './support/ec2-endpoint.ts';
import { bootInstances, privateAgentArgs } from './support/instance-boot.ts';
import { startMariadb } from './support/mariadb.ts';
import { puppetEnv, type PuppetEnv } from './support/puppet.ts';
import { SERVER_CERTNAME, startPuppetServer, type PuppetServer } from './support/puppetserver.ts';
import { reportProcessorProblems, secretLines, sidecarErrors } from './support/log-findings.ts';
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
  /** Each group's release number in site.pp; bumping one is the code change. */
  releases: Record<string, number>;
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

E2e.before(async (context) => {
  const [server, db, endpoint, sshd] = await Promise.all([
    startPuppetServer({ reports: 'autoami', authRules: README_AUTH_RULES }),
    startMariadb(),
    startEc2Endpoint({ bootMs: 300, imageMs: 800, terminatedVisibleMs: 3_600_000, publicAddress: () => ({ ip: '127.0.0.1', dnsName: 'localhost' }) }),
    startSshd({ login: 'root', setEnv: { AUTOAMI_PUPPET_ARGS: privateAgentArgs(tempDir('e2e-ssh-agent')) } }),
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
  const config = {
    socket,
    state_dir: context.stateDir,
    database: { host, port, user, password, name },
    aws: { region: 'us-east-1', endpoint: endpoint.url },
    puppet: { server: SERVER_CERTNAME, port: server.port, hostcert: server.hostcert, hostprivkey: server.hostprivkey, localcacert: server.localcacert, classifier: 'none' },
    bake: { ssh_port: sshd.port, poll_interval: '250ms', report_timeout: '4m' },
  };
  writeFileSync(configFile, stringify(config), { mode: 0o640 });
  context.sidecar = await spawnSidecar(configFile, socket, 30_000, bin);
  context.puppet = puppetEnv({ AUTOAMI_CONFIG: configFile }, [server.modulesDir]);
});

E2e.after(async (context) => {
  await context.sidecar?.stop();
  await Promise.all([context.server?.stop(), context.endpoint?.stop(), context.sshd?.stop()]);
});

async function face(context: Context, args: readonly string[]): Promise<string> {
  const result = await context.puppet.run(args);
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

async function threeRuns(context: Context, group: string, bootstrap: 'ssh' | 'userdata'): Promise<void> {
  context.releases[group] = 1;
  writeSite(context);
  await face(context, [
    'autoami', 'new_group', '--enc-user', 'admin', '--enc-pass', ENC_PASSWORD, '--image', DEBIAN_12_IMAGE_ID,
    '--keyfile', context.sshd.target.keyfile, '--keyname', 'e2e', '--login', 'root', '--node-group', group,
    '--puppetserver', SERVER_CERTNAME, '--type', 't3.micro', '--bootstrap', bootstrap, group,
  ]);
  const certname = (instanceId: string) => `${group}-${instanceId}.autoami`;

  // 1. A new role: the agent's run changes the disk, so it is baked.
  const first = await bake(context, group, 'baked');
  // autosign is off, so only the sidecar's CA API call can have signed it; cleaning then revokes it.
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
  }
  assert.is(booter.booted.length, 3, `only the userdata group's bakes boot from user data: ${JSON.stringify(booter.booted.map((each) => each.instanceId))}`);
  for (const boot of booter.booted) assert.is(boot.exitCode, 0, boot.output);
  assert.equal(spooled(context), [], 'every report went straight from Puppet Server to the sidecar');
});

E2e('should log no AutoAMI error or warning and no secret in Puppet Server and the sidecar logs', (context) => {
  const logs = { puppetserver: context.server.log(), sidecar: context.sidecar.log() };
  const lines = (found: string[]) => `\n${found.join('\n')}`;
  const processor = reportProcessorProblems(logs.puppetserver);
  assert.equal(processor, [], `the report processor logged a problem:${lines(processor)}`);
  const sidecar = sidecarErrors(logs.sidecar);
  assert.equal(sidecar, [], `the sidecar logged errors:${lines(sidecar)}`);
  const secrets = secretLines(logs, [ENC_PASSWORD, context.dbPassword]);
  assert.equal(secrets, [], `a secret reached a log:${lines(secrets)}`);
  // The processor did run in this server: its log holds reports from the bake certnames.
  assert.ok(context.endpoint.images().some((image) => image.tags.has('autoami:group')), 'no bake was imaged, so the logs prove nothing');
});

E2e.run();
