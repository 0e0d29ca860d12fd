/**
 * The fixture of spec/e2e.test.ts, the whole loop on real parts: Debian's Puppet Server with
 * the built module installed, `reports = autoami` and an autosign command, MariaDB, the EC2
 * endpoint, an sshd whose "instances" run a private agent, and the built sidecar; with the
 * faces that drive a bake through them.
 */
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { DatabaseConfig } from '../../runtime/config.ts';
import { DEBIAN_12_IMAGE_ID, startEc2Endpoint, type Ec2Endpoint } from './ec2-endpoint.ts';
import { privateAgentArgs } from './instance-boot.ts';
import { startMariadb } from './mariadb.ts';
import { makePki, type Pki } from './pki.ts';
import { puppetEnv, type PuppetEnv } from './puppet.ts';
import { SERVER_CERTNAME, startPuppetServer, type PuppetServer } from './puppetserver.ts';
import { spawnSidecar, type SidecarProcess } from './sidecar-process.ts';
import { startSshd, type TestSshd } from './sshd.ts';
import { tempDir } from './tmp.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const metadata = JSON.parse(readFileSync(join(ROOT, 'metadata.json'), 'utf8')) as { name: string; version: string };

export interface Context {
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
  /** Roles that also get a notify, which changes on every run: a role whose image can never converge. */
  everyRun: string[];
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

export const ENC_PASSWORD = 'console-secret';

// The CA and catalog rules the README tells operators to add, for the master's own certname.
const README_AUTH_RULES = [
  `{ match-request: { path: "/puppet/v4/catalog", type: path, method: post }, allow: [ "${SERVER_CERTNAME}" ], sort-order: 400, name: "autoami catalog check" }`,
  `{ match-request: { path: "/puppet-ca/v1/certificate_status", type: path, method: [get, put, delete] }, allow: [ "${SERVER_CERTNAME}" ], sort-order: 400, name: "autoami certificate_status" }`,
  `{ match-request: { path: "/puppet-ca/v1/certificate_request", type: path, method: get }, allow: [ "${SERVER_CERTNAME}" ], sort-order: 400, name: "autoami certificate_request" }`,
];

/**
 * production's config_version names the code, as a shop's commit id does: a digest of
 * site.pp. It lets a bake that launched without facts record the catalog its run had.
 */
function writeConfigVersion(server: PuppetServer): void {
  const environment = join(server.codedir, 'environments', 'production');
  writeFileSync(join(environment, 'config_version.sh'), '#!/bin/sh\nsha256sum "$(dirname "$0")/manifests/site.pp" | cut -c1-16\n', { mode: 0o755 });
  writeFileSync(join(environment, 'environment.conf'), 'config_version = config_version.sh\n');
}

export function writeSite(context: Context): void {
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
      ...(context.everyRun.length > 0 ? [`  if $role in ${JSON.stringify(context.everyRun)} {`, '    notify { "${role} changes on every run": }', '  }'] : []),
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
export const POLICY_GROUP = 'pol';

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

/** Starts every part, installs the built module and the sidecar: the suite's `before`. */
export async function startLoop(context: Context): Promise<void> {
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
  Object.assign(context, { server, endpoint, sshd, releases: {}, everyRun: [], disk: tempDir('e2e-disk') });
  writeConfigVersion(server);
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
    aws: { region: 'us-east-1', endpoint: endpoint.url, endpoints: { ssm: endpoint.url, autoscaling: endpoint.url } },
    puppet: { server: SERVER_CERTNAME, port: server.port, hostcert: server.hostcert, hostprivkey: server.hostprivkey, localcacert: server.localcacert, classifier: 'none' },
    bake: { ssh_port: sshd.port, poll_interval: '250ms', report_timeout: '4m' },
  };
  writeFileSync(configFile, stringify(config), { mode: 0o640 });
  writeFileSync(autosignCommand, autosignWrapper(process.execPath, join(bin, '..', 'autoami-autosign.js'), configFile, context.autosignLog), { mode: 0o755 });
  Object.assign(context, { configFile, config, bin, earlierSidecarLogs: [] });
  context.sidecar = await spawnSidecar(configFile, socket, 30_000, bin);
  context.puppet = puppetEnv({ AUTOAMI_CONFIG: configFile }, [server.modulesDir]);
}

/** The suite's `after`. */
export async function stopLoop(context: Context): Promise<void> {
  await context.sidecar?.stop();
  await Promise.all([context.server?.stop(), context.endpoint?.stop(), context.sshd?.stop()]);
}

export async function face(context: Context, args: readonly string[]): Promise<string> {
  const result = await context.puppet.run(args);
  context.outputs.push(result.stdout, result.stderr);
  assert.is(result.status, 0, `puppet ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}\n--- sidecar:\n${context.sidecar.log().slice(-3000)}`);
  return result.stdout;
}

export async function bake(context: Context, group: string, expect: 'baked' | 'unchanged', more: readonly string[] = []): Promise<{ instanceId: string; image: string | null }> {
  const out = await face(context, ['autoami', 'run', '--groups', group, '--wait', ...more]);
  const match = new RegExp(`^${group}: done \\((i-[0-9a-f]+) (baked (ami-[0-9a-f]+)|unchanged)\\)`, 'm').exec(out);
  assert.ok(match, `no done line for ${group} in:\n${out}\n--- puppetserver:\n${context.server.log().slice(-3000)}`);
  assert.is(match[2]!.split(' ')[0], expect, out);
  return { instanceId: match[1]!, image: match[3] ?? null };
}

/** A run whose catalog check finds the group's catalog unchanged: it launches nothing and says so. */
export async function skipped(context: Context, group: string): Promise<void> {
  const launched = () => context.endpoint.instances().filter((instance) => instance.tags.get('autoami:group') === group).length;
  const before = launched();
  const out = await face(context, ['autoami', 'run', '--groups', group, '--wait']);
  assert.match(out, new RegExp(`^${group}: done \\(unchanged\\): catalog unchanged$`, 'm'), out);
  assert.is(launched(), before, `a run of ${group} with an unchanged catalog launched an instance`);
}

export async function currentImage(context: Context, group: string): Promise<string> {
  const groups = JSON.parse(await face(context, ['autoami', 'groups', '--render-as', 'json'])) as { name: string; image: string }[];
  return groups.find((each) => each.name === group)!.image;
}

export function groupImages(context: Context, group: string) {
  return context.endpoint.images().filter((image) => image.tags.get('autoami:group') === group);
}

/** `more`: further new_group options, as an operator adds them (e.g. `--copy-to`). */
export async function newGroup(context: Context, group: string, bootstrap: 'ssh' | 'userdata', more: readonly string[] = []): Promise<void> {
  context.releases[group] = 1;
  writeSite(context);
  await face(context, [
    'autoami', 'new_group', '--enc-user', 'admin', '--enc-pass', ENC_PASSWORD, '--image', DEBIAN_12_IMAGE_ID,
    '--keyfile', context.sshd.target.keyfile, '--keyname', 'e2e', '--login', 'root', '--node-group', group,
    '--puppetserver', SERVER_CERTNAME, '--type', 't3.micro', '--bootstrap', bootstrap, ...more, group,
  ]);
}
