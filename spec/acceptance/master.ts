/**
 * The acceptance checks on a booted Puppet master (started by spec/acceptance/run, which
 * boots the container and passes its PID 1). Everything inside runs through
 * `nsenter -t <PID 1> -a` as root, the way an operator would type it; the EC2 stand-in
 * (spec/support/ec2-endpoint.ts) runs here on the host, on 127.0.0.1 of the network both
 * share, and the bake instance's "boot" runs its user data in the master with a private
 * agent (as spec/support/instance-boot.ts does on the test host), against the master's
 * Puppet Server.
 *
 *   node --import tsx spec/acceptance/master.ts --pid PID --root DIR --release R --fqdn HOST \
 *     --tarball /root/ccaum-autoami-X.tar.gz --work DIR [--boot-state running|degraded]
 *
 * In order: the boot (no failed unit); `puppet module install --ignore-dependencies` of the
 * tarball (the README's offline line); the README's class declaration verbatim, plus
 * db_socket, aws_endpoint (the stand-in), autosign => true and metrics_listen; the first
 * apply (changes, no warning); puppet.conf's reports and autosign, and Puppet Server
 * running with them (restarted as the README says); mariadb, puppetserver and autoami
 * active; the files and modes the README states; `systemd-analyze security autoami` <= 2.0;
 * the keyfile installed as the README says and the README's new_group (values pointing at
 * this world, plus --bootstrap userdata); one bake from user data through Puppet Server with
 * policy autosigning; `systemctl restart autoami` during `run --wait` (< 10 s, the --wait
 * ends within seconds, another --wait follows the bake to `baked`); a second apply that
 * changes nothing; /metrics showing the bake; no report-processor or sidecar error and no
 * secret in any output or log.
 *
 * Each check prints `ok` or `FAIL` with what it checked and, when it fails, the evidence.
 * When a step the rest needs fails (the install, the first apply, new_group), the run stops
 * there, with that failure and its evidence. Exits 1 if any check failed. Every wait has a
 * bound: a hang ends as a failure. Command outputs and logs go to WORK/logs (spec/acceptance/run
 * keeps them after a failed run).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AWS_TEST_ENV } from '../support/aws-env.ts';
import { DEBIAN_12_IMAGE_ID, startEc2Endpoint, type Ec2Endpoint } from '../support/ec2-endpoint.ts';
import { reportProcessorProblems, secretLines, sidecarErrors } from '../support/log-findings.ts';
import { bakeDoneLine, classDeclaration, classParameters, keyfileInstall, metricSamples, moduleInstallCommand, newGroupCommand, overallExposure, readmeAuthRules, readmeCatalogRule, readmeClassBlock } from './readme.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const { values: argv } = parseArgs({
  options: {
    pid: { type: 'string' },
    root: { type: 'string' },
    release: { type: 'string' },
    fqdn: { type: 'string' },
    tarball: { type: 'string' },
    work: { type: 'string' },
    'boot-state': { type: 'string', default: 'running' },
  },
});
for (const name of ['pid', 'root', 'release', 'fqdn', 'tarball', 'work'] as const) {
  if (!argv[name]) throw new Error(`spec/acceptance/master.ts: --${name} is required (run it through spec/acceptance/run)`);
}
const PID = argv.pid!;
const ROOT = argv.root!;
const FQDN = argv.fqdn!;
const WORK = argv.work!;
const LOGS = join(WORK, 'logs');
mkdirSync(LOGS, { recursive: true });

const GROUP_SECRET = 'acceptance-console-secret';
const METRICS = '127.0.0.1:9777';
/** What each bake instance's Puppet run manages: the shared "disk" a baked AMI carries on. */
const DISK = '/var/lib/autoami-acceptance/disk';
/** The private Puppet directories of the simulated instances' agent (as privateAgentArgs()). */
const AGENT = '/var/lib/autoami-acceptance/agent';
const MINUTE = 60_000;

// ---------------------------------------------------------------------------------------
// Running things in the master.

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

// Colour codes Puppet's console output carries (a chunk may split one: rarely, and only cosmetic).
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** argv as root in the master, with a clean environment; killed (and marked) after timeoutMs. */
function inside(
  args: readonly string[],
  options: { timeoutMs: number; input?: string; env?: Record<string, string>; onStdout?: (text: string) => void },
): Promise<Result> {
  const env = Object.entries({ PATH, HOME: '/root', LANG: 'C.UTF-8', USER: 'root', ...options.env }).map(([k, v]) => `${k}=${v}`);
  const started = Date.now();
  const child = spawn('nsenter', ['-t', PID, '-a', '/usr/bin/env', '-i', ...env, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString().replace(ANSI, '');
    options.onStdout?.(stdout);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString().replace(ANSI, '')));
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: Date.now() - started, timedOut });
    });
  });
}

const sh = (script: string, timeoutMs = 2 * MINUTE, env?: Record<string, string>) => inside(['bash', '-c', script], { timeoutMs, env });

function describe(result: Result, limit = 6000): string {
  const head = result.timedOut ? `timed out after ${Math.round(result.ms / 1000)} s` : `exit ${result.status} after ${(result.ms / 1000).toFixed(1)} s`;
  const tail = (text: string) => (text.length > limit ? `[... ${text.length - limit} characters before]\n${text.slice(-limit)}` : text);
  return `${head}\n--- stdout\n${tail(result.stdout).trimEnd()}\n--- stderr\n${tail(result.stderr).trimEnd()}`;
}

/** Keeps a copy of a command's output under WORK/logs (kept with --keep). */
function save(name: string, result: Result): void {
  writeFileSync(join(LOGS, name), describe(result, Infinity) + '\n');
}

// ---------------------------------------------------------------------------------------
// Checks.

const results: { name: string; ok: boolean }[] = [];

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');
}

/** Records one check: prints what it checked, and on failure the evidence. */
function check(name: string, ok: boolean, evidence: string | (() => string) = ''): boolean {
  results.push({ name, ok });
  console.log(`${ok ? 'ok  ' : 'FAIL'}  ${name}`);
  if (!ok) {
    const text = typeof evidence === 'function' ? evidence() : evidence;
    if (text) console.log(indent(text));
  }
  return ok;
}

/** A check whose body may throw; a throw is its failure, with the error as evidence. */
/** README auth.conf rules, for this master's certname, first in Puppet Server's rules. */
function addAuthRules(rules: string): void {
  const auth = join(ROOT, 'etc/puppet/puppetserver/conf.d/auth.conf');
  const text = readFileSync(auth, 'utf8');
  const at = text.indexOf('rules: [') + 'rules: ['.length;
  writeFileSync(auth, `${text.slice(0, at)}\n${rules.replaceAll('puppet.example.com', FQDN)},\n${text.slice(at)}`);
}

async function attempt(name: string, body: () => Promise<string | void>): Promise<boolean> {
  try {
    const note = await body();
    return check(name + (note ? ` (${note})` : ''), true);
  } catch (error) {
    return check(name, false, error instanceof Error ? error.message : String(error));
  }
}

class Failed extends Error {}
function must(ok: unknown, evidence: string): asserts ok {
  if (!ok) throw new Failed(evidence);
}

function note(text: string): void {
  console.log(indent(text));
}

function section(title: string): void {
  console.log(`-- ${title}`);
}

// ---------------------------------------------------------------------------------------
// The master's pieces.

async function journal(unit: string, lines = 80): Promise<string> {
  return (await sh(`journalctl --no-pager -o short-iso -u ${unit} -n ${lines}`, MINUTE)).stdout;
}

async function puppetserverLog(): Promise<string> {
  return (await sh('cat /var/log/puppetserver/puppetserver.log 2>/dev/null', MINUTE)).stdout;
}

async function diagnostics(): Promise<string> {
  const server = (await puppetserverLog()).split('\n').filter((line) => /autoami|autosign|ERROR|WARN/i.test(line)).slice(-25).join('\n');
  return `--- journalctl -u autoami (last 40)\n${(await journal('autoami', 40)).trimEnd()}\n--- puppetserver.log (autoami, autosign, WARN, ERROR; last 25)\n${server}`;
}

async function unitActiveSince(unit: string): Promise<number> {
  const out = (await sh(`systemctl show -p ActiveEnterTimestamp --timestamp=unix ${unit}`, MINUTE)).stdout;
  return Number(/@(\d+)/.exec(out)?.[1] ?? 0);
}

async function puppetSetting(name: string, section = 'server'): Promise<string> {
  const result = await sh(`puppet config print ${name} --section ${section}`, 2 * MINUTE);
  return result.stdout.trim();
}

interface Stat {
  mode: string;
  owner: string;
  group: string;
  type: string;
}

async function stat(path: string): Promise<Stat | undefined> {
  const result = await sh(`stat -c '%a %U %G %F' -- '${path}'`, MINUTE);
  if (result.status !== 0) return undefined;
  const [mode, owner, group, ...type] = result.stdout.trim().split(' ');
  return { mode: mode!.padStart(4, '0'), owner: owner!, group: group!, type: type.join(' ') };
}

/** Watches the stand-in for running instances with user data and boots each once in the master. */
function instanceBooter(endpoint: Ec2Endpoint) {
  const seen = new Set<string>();
  const booted: { instanceId: string; result: Result }[] = [];
  const running: Promise<void>[] = [];
  const timer = setInterval(() => {
    for (const instance of endpoint.instances()) {
      if (seen.has(instance.instanceId) || instance.state !== 'running') continue;
      seen.add(instance.instanceId);
      const script = endpoint.userData(instance.instanceId);
      if (script === undefined) continue;
      const names = ['confdir', 'vardir', 'rundir', 'logdir', 'ssldir', 'publicdir', 'codedir'];
      const env = { AUTOAMI_INSTANCE_ID: instance.instanceId, AUTOAMI_PUPPET_ARGS: names.map((name) => `--${name} ${AGENT}/${name}`).join(' ') };
      note(`instance ${instance.instanceId} is running: its user data runs in the master`);
      running.push(
        inside(['bash', '-s'], { input: script, env, timeoutMs: 15 * MINUTE }).then((result) => {
          save(`boot-${instance.instanceId}.log`, result);
          booted.push({ instanceId: instance.instanceId, result });
        }),
      );
    }
  }, 200);
  return {
    booted,
    async stop() {
      clearInterval(timer);
      await Promise.all(running);
    },
  };
}

function writeSite(release: number): void {
  const dir = join(ROOT, 'etc/puppet/code/environments/production/manifests');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'site.pp'),
    [
      '# The acceptance run\'s bake instances: each run writes its role\'s release to the "disk".',
      'node default {',
      "  $role = $trusted['extensions']['pp_role']",
      '  if $role =~ String[1] {',
      `    file { "${DISK}/\${role}.conf":`,
      '      ensure  => file,',
      `      content => "\${role} release ${release}\\n",`,
      '    }',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const dbPassword = /db_password\s*=>\s*Sensitive\('([^']+)'\)/.exec(readme)?.[1] ?? 'autoamipassword';
  const secrets = [dbPassword, GROUP_SECRET];
  const outputs: Record<string, string> = {};

  section(`the master: Debian ${argv.release}, ${FQDN}, PID 1 ${PID} on the host`);
  const versions = await sh(
    "echo \"debian $(cat /etc/debian_version), puppet $(puppet --version), puppetserver $(dpkg-query -W -f '${Version}' puppetserver)," +
      " mariadb $(dpkg-query -W -f '${Version}' mariadb-server), node $(node --version 2>&1), systemd $(dpkg-query -W -f '${Version}' systemd)," +
      " puppetlabs-mysql $(dpkg-query -W -f '${Version}' puppet-module-puppetlabs-mysql), -stdlib $(dpkg-query -W -f '${Version}' puppet-module-puppetlabs-stdlib)," +
      " -inifile $(dpkg-query -W -f '${Version}' puppet-module-puppetlabs-inifile)\"",
  );
  note(versions.stdout.trim() || describe(versions));
  const failedUnits = await sh('systemctl --failed --plain --no-legend --no-pager');
  check(`booted with systemd as PID 1: ${argv['boot-state']}, no failed unit`, argv['boot-state'] === 'running' && failedUnits.stdout.trim() === '', () => `systemctl --failed:\n${failedUnits.stdout}`);

  const endpoint = await startEc2Endpoint({ bootMs: 300, imageMs: 800, terminatedVisibleMs: 3_600_000, publicAddress: () => ({ ip: '127.0.0.1', dnsName: 'localhost' }) });
  note(`EC2 stand-in on the host: ${endpoint.url}`);
  try {
    await run(readme, secrets, outputs, endpoint);
  } catch (error) {
    check('the run went through (an unexpected error stopped it)', false, error instanceof Error ? (error.stack ?? error.message) : String(error));
  } finally {
    await endpoint.stop();
  }

  const failed = results.filter((result) => !result.ok);
  console.log(`== ${results.length - failed.length} passed, ${failed.length} failed, in ${Math.round((Date.now() - started) / 1000)} s (logs: ${LOGS})`);
  for (const result of failed) console.log(`   FAIL  ${result.name}`);
  process.exitCode = failed.length === 0 ? 0 : 1;
}

async function run(readme: string, secrets: string[], outputs: Record<string, string>, endpoint: Ec2Endpoint): Promise<void> {
  // ---- Install on a Puppet master: `puppet module install` the built tarball.
  section('install (README "Install on a Puppet master")');
  // The README's offline line (the Forge is out of reach), with the tarball built here.
  const readmeInstall = moduleInstallCommand(readme);
  check('README has the offline `puppet module install --ignore-dependencies pkg/...tar.gz` line', readmeInstall !== undefined, 'not found under "## Install on a Puppet master": puppet module install TARBALL --ignore-dependencies is used');
  const installArgv = readmeInstall ? readmeInstall.map((word) => (/^pkg\/.*\.tar\.gz$/.test(word) ? argv.tarball! : word)) : ['puppet', 'module', 'install', argv.tarball!, '--ignore-dependencies'];
  const install = await inside(installArgv, { timeoutMs: 5 * MINUTE });
  save('module-install.log', install);
  if (!check(installArgv.join(' '), install.status === 0, describe(install))) return;
  const modulepath = await puppetSetting('modulepath', 'main');
  const moduleDir = (
    await sh(`for d in ${modulepath.split(':').map((d) => `'${d}'`).join(' ')}; do [ -f "$d/autoami/metadata.json" ] && echo "$d/autoami" && break; done`)
  ).stdout.trim();
  if (!check('the module is on the modulepath', moduleDir !== '', `modulepath ${modulepath}`)) return;
  const initPp = (await sh(`cat '${moduleDir}/manifests/init.pp'`)).stdout;
  const commonYaml = (await sh(`cat '${moduleDir}/data/common.yaml'`)).stdout;
  const params = classParameters(initPp, commonYaml);

  // ---- The class, as the README declares it, plus what this test world needs.
  section('the class (README "Then declare the class on the master")');
  const block = readmeClassBlock(readme);
  if (!check('README has the class declaration block', block !== undefined, 'no ```puppet block declaring class autoami under "## Install on a Puppet master"')) return;
  // What the README's declaration needs here, and which upcoming class features the issue names.
  const wanted: [string, string, string][] = [
    ['db_socket', "'/run/mysqld/mysqld.sock'", 'MariaDB listens on its socket only'],
    ['aws_endpoint', `'${endpoint.url}'`, 'the EC2 stand-in'],
    ['autosign', 'true', 'policy autosigning by the sidecar'],
    ['metrics_listen', `'${METRICS}'`, 'the metrics endpoint'],
  ];
  const extra: Record<string, string> = {};
  for (const [name, value, why] of wanted) {
    if (check(`class autoami takes ${name} (${why})`, params.has(name), `the installed class has no parameter ${name}: it is left out of the declaration`)) extra[name] = value;
  }
  const classifierDefault = params.get('puppet_classifier');
  if (!check("puppet_classifier defaults to 'none'", classifierDefault === "'none'", `its default is ${classifierDefault ?? '(not found)'}: the declaration gives puppet_classifier => 'none' so that the bake can run`)) {
    extra.puppet_classifier = "'none'";
  }
  const manifest = classDeclaration(block!, 'autoami', extra);
  writeFileSync(join(ROOT, 'root/autoami-master.pp'), manifest);
  note(`/root/autoami-master.pp:\n${indent(manifest)}`);

  // Outside the class, as an operator would: credentials for the SDK's standard chain (the
  // stand-in checks no signature) in a drop-in, and the bake instances' site.pp.
  mkdirSync(join(ROOT, 'etc/systemd/system/autoami.service.d'), { recursive: true });
  writeFileSync(
    join(ROOT, 'etc/systemd/system/autoami.service.d/aws-credentials.conf'),
    `[Service]\n${Object.entries(AWS_TEST_ENV).map(([k, v]) => `Environment=${k}=${v}`).join('\n')}\n`,
    { mode: 0o600 },
  );
  writeSite(1);
  await sh(`mkdir -p ${DISK} ${AGENT}/{confdir,vardir,rundir,logdir,ssldir,publicdir,codedir}`);

  const apply = () => inside(['puppet', 'apply', '--detailed-exitcodes', '--color', 'false', '/root/autoami-master.pp'], { timeoutMs: 20 * MINUTE });
  const warnings = (result: Result) => `${result.stdout}\n${result.stderr}`.split('\n').filter((line) => /^\s*(Warning|Error)\b|\b(Warning|Error):/.test(line));
  const first = await apply();
  save('apply-1.log', first);
  outputs['first apply'] = first.stdout + first.stderr;
  const applied = check('puppet apply (first): exit 2, changes and no failure', first.status === 2, describe(first));
  check('puppet apply (first): no warning or error in its output', !first.timedOut && warnings(first).length === 0, () => warnings(first).join('\n') || describe(first));
  if (!applied && first.status !== 0) {
    check('the rest of the run (needs the class applied)', false, 'the first apply failed: nothing to check on the master');
    return;
  }

  // ---- puppet.conf: the report processor and policy autosigning, and whether the running
  // Puppet Server has them.
  section('puppet.conf and Puppet Server');
  const confdir = await puppetSetting('confdir', 'main');
  const reports = await puppetSetting('reports');
  let emulated: string[] = [];
  if (!check(`puppet.conf [server] reports includes autoami (${reports})`, reports.split(/[,\s]+/).includes('autoami'), 'the apply did not add autoami to reports (manage_puppet_conf): it is added by hand (puppet config set) so that the bake can run')) {
    await sh(`puppet config set --section server reports '${[...reports.split(/[,\s]+/).filter(Boolean), 'autoami'].join(',')}'`);
    emulated.push('reports');
  }
  const autosign = await puppetSetting('autosign');
  const autosignCommand = autosign.startsWith('/') ? (await sh(`test -x '${autosign}' && test -f '${autosign}'`)).status === 0 : false;
  if (!check(`puppet.conf [server] autosign is an executable policy command (${autosign})`, autosignCommand, 'the apply did not set policy autosigning (autosign => true): the README\'s CA API rules go into auth.conf instead, so that the sidecar signs through the CA API')) {
    const rules = readmeAuthRules(readme);
    must(rules, 'README has no auth.conf rules under "### On the master"');
    addAuthRules(rules!);
    emulated.push('auth.conf');
  }
  // The catalog check's rule goes in either way: Puppet Server's default auth.conf denies the
  // catalog API to every certificate, the master's own included.
  const catalogRule = readmeCatalogRule(readme);
  must(catalogRule, 'README has no auth.conf rule for /puppet/v4/catalog under "### On the master"');
  addAuthRules(catalogRule!);
  emulated.push('auth.conf catalog rule');
  const confChanged = Number((await sh(`stat -c %Y '${confdir}/puppet.conf'`)).stdout.trim());
  const serverSince = await unitActiveSince('puppetserver');
  // Puppet Server reads reports and autosign when it starts: either the apply restarted it
  // (puppetserver_service) or the README tells the operator to.
  const readmeRestarts = /after the first run,\s+`systemctl restart puppetserver`/.test(readme);
  const current = serverSince >= confChanged;
  check(
    current
      ? 'Puppet Server runs with the applied puppet.conf (the apply restarted it)'
      : 'Puppet Server runs with the applied puppet.conf: the README says to `systemctl restart puppetserver` after the first run',
    serverSince > 0 && (current || readmeRestarts),
    serverSince === 0
      ? 'Puppet Server is not running'
      : `puppet.conf changed at ${new Date(confChanged * 1000).toISOString()}, Puppet Server active since ${new Date(serverSince * 1000).toISOString()}:` +
          ' the new reports and autosign take effect only when it restarts, and neither did the apply restart it nor does the README say to; it is restarted here',
  );
  if (emulated.length > 0 || !current) {
    note(`systemctl restart puppetserver (${emulated.length > 0 ? `after the hand-made ${emulated.join(', ')}` : 'for the applied puppet.conf'})`);
    const restart = await sh('systemctl restart puppetserver', 15 * MINUTE);
    must(restart.status === 0, `systemctl restart puppetserver: ${describe(restart)}\n${await journal('puppetserver', 30)}`);
  }

  // ---- Services, modes, hardening.
  section('services, files, hardening');
  for (const unit of ['mariadb', 'puppetserver', 'autoami']) {
    const active = await sh(`systemctl is-active ${unit}; sleep 3; systemctl is-active ${unit}`);
    const states = active.stdout.trim().split('\n');
    const ok = states.length === 2 && states.every((state) => state === 'active');
    check(`${unit} is active (and stays so)`, ok, ok ? '' : `${states.join(', ')}\n${(await sh(`systemctl status --no-pager -n 30 ${unit}`)).stdout}`);
  }
  const expected: [string, Partial<Stat>, string][] = [
    [`${confdir}/autoami.yaml`, { mode: '0640', owner: 'root', group: 'puppet', type: 'regular file' }, 'autoami.yaml 0640, group puppet'],
    [`${confdir}/autoami.dbpass`, { mode: '0600', owner: 'autoami', type: 'regular file' }, 'the password in a separate 0600 file'],
    ['/run/autoami', { group: 'puppet', type: 'directory' }, 'its socket directory /run/autoami group puppet'],
    ['/run/autoami/autoami.sock', { mode: '0660', group: 'puppet', type: 'socket' }, 'socket: /run/autoami/autoami.sock # 0660'],
    ['/var/lib/autoami', { owner: 'autoami', type: 'directory' }, 'state_dir'],
    ['/var/lib/autoami/spool', { mode: '0770', group: 'puppet', type: 'directory' }, 'spool/ writable by the puppet group'],
    ['/etc/systemd/system/autoami.service', { mode: '0644', owner: 'root', type: 'regular file' }, 'a hardened systemd unit (autoami.service)'],
    ['/opt/autoami', { owner: 'root', type: 'directory' }, 'installs the sidecar under /opt/autoami'],
    ['/usr/local/bin/autoami', { mode: '0755', owner: 'root' }, 'the autoami command'],
  ];
  for (const [path, want, readmeSays] of expected) {
    const got = await stat(path);
    const wrong = got ? Object.entries(want).filter(([key, value]) => got[key as keyof Stat] !== value) : [];
    check(
      `${path}: ${Object.values(want).join(' ')} (README: ${readmeSays})`,
      got !== undefined && wrong.length === 0,
      got ? wrong.map(([key, value]) => `${key} is ${got[key as keyof Stat]}, expected ${value}`).join('\n') : 'missing',
    );
  }
  const writable = await sh("find /opt/autoami \\( ! -user root -o -perm -g+w -o -perm -o+w \\) -printf '%M %u %p\\n' | head -n 20");
  check('nothing under /opt/autoami is writable by anyone but root', writable.status === 0 && writable.stdout.trim() === '', describe(writable));
  const security = await sh('systemd-analyze security --no-pager autoami.service');
  save('systemd-analyze-security.log', security);
  const exposure = overallExposure(security.stdout);
  check(`systemd-analyze security autoami: exposure ${exposure ?? '?'} <= 2.0`, exposure !== undefined && exposure <= 2.0, () =>
    security.stdout.split('\n').filter((line) => /^✗|Overall/.test(line.trim())).join('\n') || describe(security),
  );

  // ---- The group, as the README's Commands section creates it.
  section('new_group (README "Commands")');
  const help = await inside(['puppet', 'help', 'autoami', 'new_group'], { timeoutMs: 3 * MINUTE });
  check('puppet help autoami new_group describes --bootstrap', help.status === 0 && /--bootstrap/.test(help.stdout), describe(help));
  const command = newGroupCommand(readme);
  must(command, 'README has no `puppet autoami new_group ...` command under "## Commands"');
  const { argv: groupArgv, group, keyfile } = command;
  const substitutions: Record<string, string> = { '--image': DEBIAN_12_IMAGE_ID, '--puppetserver': FQDN, '--enc-pass': GROUP_SECRET };
  const args = groupArgv.map((word, i) => substitutions[groupArgv[i - 1] ?? ''] ?? word);
  if (!args.includes('--bootstrap')) args.splice(args.length - 1, 0, '--bootstrap', 'userdata');
  // The keyfile where the README names it, installed the way the README says (its
  // `install ... deploy.pem` command, run where a fresh deploy.pem was made).
  const installKey = keyfileInstall(readme);
  check('README says how to install the keyfile (`install ... deploy.pem ...`)', installKey !== undefined, 'no `install -d ... deploy.pem ...` command near --keyfile in the README: the key is installed with install -o autoami -g autoami -m 0600');
  const key = await sh(
    `set -e; rm -rf /root/keyfile; mkdir -m 0700 /root/keyfile; cd /root/keyfile; ssh-keygen -q -t ed25519 -N '' -C autoami-acceptance -f deploy.pem;` +
      ` ${installKey ?? `install -d -m 0755 "$(dirname '${keyfile}')" && install -o autoami -g autoami -m 0600 deploy.pem '${keyfile}'`}; stat -c '%a %U %G' '${keyfile}'`,
  );
  check(`keyfile ${keyfile}: ${installKey ?? 'install -o autoami -g autoami -m 0600'} (${key.stdout.trim() || 'failed'})`, key.status === 0, describe(key));
  const created = await inside(args, { timeoutMs: 3 * MINUTE });
  save('new-group.log', created);
  outputs['new_group'] = created.stdout + created.stderr;
  if (!check(`${args.join(' ').replace(GROUP_SECRET, '[secret]')}`, created.status === 0, () => `${describe(created)}\n${'-'.repeat(3)}\n`)) {
    note(await diagnostics());
    return;
  }

  // ---- One bake through the running Puppet Server, from user data, autosigned.
  section('a bake (userdata bootstrap, policy autosigning)');
  const booter = instanceBooter(endpoint);
  try {
    const bake = await inside(['puppet', 'autoami', 'run', '--groups', group, '--wait'], { timeoutMs: 12 * MINUTE });
    save('bake-1.log', bake);
    outputs['bake 1'] = bake.stdout + bake.stderr;
    const done = bakeDoneLine(bake.stdout, group);
    const firstInstance = done?.instance;
    const baked = check(`puppet autoami run --groups ${group} --wait: ${done?.line ?? 'no done line'}`, bake.status === 0 && done?.outcome === 'baked');
    if (!baked) note(`${describe(bake)}\n${bootEvidence(booter.booted)}\n${await diagnostics()}`);
    if (baked && done) {
      const image = endpoint.image(done.image!);
      check(`the new AMI ${done.image} is tagged with its group and parent`, image?.tags.get('autoami:group') === group && image.tags.get('autoami:parent-image') === DEBIAN_12_IMAGE_ID, JSON.stringify(image && Object.fromEntries(image.tags)));
      check(`the bake instance ${done.instance} was terminated`, endpoint.instance(done.instance)?.state === 'terminated', `state ${endpoint.instance(done.instance)?.state}`);
      // Policy autosigning signs when the request comes in; the sidecar's CA API signing
      // (puppet_ca_signing) only once the bake polls, so the agent would have waited for it.
      const boot = booter.booted.find((each) => each.instanceId === done.instance);
      const waited = boot ? `${boot.result.stdout}\n${boot.result.stderr}`.split('\n').filter((line) => /Couldn't fetch certificate|Did not receive certificate|not been signed|Will try again/i.test(line)) : [];
      check(
        `the instance's certificate was signed as its request came in (policy autosigning: ${await puppetSetting('autosign')})`,
        boot !== undefined && boot.result.status === 0 && waited.length === 0,
        boot ? `${waited.join('\n')}\n${describe(boot.result, 3000)}` : 'the instance never ran its user data',
      );
      const disk = await sh(`cat '${DISK}/${group}.conf'`);
      check("the instance's agent applied the role's catalog", disk.stdout === `${group} release 1\n`, describe(disk));
    }

    // ---- systemctl restart autoami in the middle of a `run --wait`.
    section('systemctl restart autoami during puppet autoami run --wait');
    writeSite(2);
    let restartAt: 'awaiting_report' | 'timer' | undefined;
    let restarted: Promise<Result> | undefined;
    let restartIssuedAt = 0;
    const secondStarted = Date.now();
    const trigger = (why: 'awaiting_report' | 'timer') => {
      if (restarted) return;
      restartAt = why;
      restartIssuedAt = Date.now();
      restarted = sh('systemctl restart autoami', MINUTE);
    };
    const fallback = setTimeout(() => trigger('timer'), 3 * MINUTE);
    const second = await inside(['puppet', 'autoami', 'run', '--groups', group, '--wait'], {
      timeoutMs: 12 * MINUTE,
      onStdout: (text) => {
        if (new RegExp(`^${group}: awaiting_report\\b`, 'm').test(text)) trigger('awaiting_report');
      },
    });
    clearTimeout(fallback);
    save('bake-2.log', second);
    outputs['bake 2'] = second.stdout + second.stderr;
    const restart = restarted ? await restarted : undefined;
    if (restart) {
      note(`restarted at ${restartAt === 'awaiting_report' ? 'awaiting_report' : 'the 3-minute mark (no awaiting_report line seen)'}`);
      check(`systemctl restart autoami took ${(restart.ms / 1000).toFixed(1)} s (< 10 s)`, restart.status === 0 && restart.ms < 10_000, describe(restart));
    } else {
      check('systemctl restart autoami ran during the run --wait', false, `the run --wait ended before the restart:\n${describe(second)}`);
    }
    // README: a --wait ends within seconds with a line saying so (exit 1) when the sidecar
    // stops; the bakes go on when it is back, and `run --wait` again follows them.
    const secondDone = bakeDoneLine(second.stdout, group);
    const endedAfterRestart = restart ? second.ms - (restartIssuedAt - secondStarted) : Infinity;
    check(
      `the run --wait in flight ended ${restart ? `${(endedAfterRestart / 1000).toFixed(1)} s after the restart began` : ''} (<= 30 s, README: "within seconds"): exit ${second.timedOut ? 'none (timed out)' : second.status}`,
      !second.timedOut && (secondDone !== undefined || endedAfterRestart <= 30_000),
      describe(second),
    );
    if (!secondDone) note(`its last lines:\n${indent(`${second.stdout}\n${second.stderr}`.trim().split('\n').slice(-3).join('\n'))}`);
    let followed = second;
    if (!secondDone) {
      followed = await inside(['puppet', 'autoami', 'run', '--groups', group, '--wait'], { timeoutMs: 12 * MINUTE });
      save('bake-2-followed.log', followed);
      outputs['bake 2 followed'] = followed.stdout + followed.stderr;
    }
    const followedDone = bakeDoneLine(followed.stdout, group);
    const followedOk = check(
      `${secondDone ? 'the same' : 'another'} run --wait follows the bake to its end: ${followedDone?.line ?? 'no done line'}`,
      followed.status === 0 && followedDone?.outcome === 'baked' && followedDone.instance !== firstInstance,
      () => describe(followed),
    );
    if (!followedOk) note(`${bootEvidence(booter.booted)}\n${await diagnostics()}`);
    await attempt('the bake in flight during the restart is the one that completed (history: two bakes, the newest baked)', async () => {
      const history = await inside(['puppet', 'autoami', 'history', group, '--render-as', 'json'], { timeoutMs: 3 * MINUTE });
      let rows: { outcome: string; image: string | null }[] = [];
      try {
        rows = JSON.parse(history.stdout) as typeof rows;
      } catch {
        throw new Failed(describe(history));
      }
      must(rows.length === 2 && rows[0]!.outcome === 'baked', `history: ${JSON.stringify(rows)}`);
      return `newest ${rows[0]!.outcome} ${rows[0]!.image}`;
    });
    const after = await sh('systemctl is-active autoami');
    check('autoami is active after the restart', after.stdout.trim() === 'active', `${after.stdout}${await journal('autoami', 30)}`);
  } finally {
    await booter.stop();
  }

  // ---- A second apply changes nothing.
  section('second apply');
  const again = await apply();
  save('apply-2.log', again);
  outputs['second apply'] = again.stdout + again.stderr;
  check('puppet apply (second): exit 0, no change', again.status === 0, describe(again));
  check('puppet apply (second): no warning or error in its output', !again.timedOut && warnings(again).length === 0, () => warnings(again).join('\n') || describe(again));

  // ---- Metrics show the bakes just run.
  section(`metrics (${METRICS})`);
  const metrics = await sh(`curl -fsS --max-time 10 http://${METRICS}/metrics`);
  save('metrics.txt', metrics);
  const samples = metricSamples(metrics.stdout).filter((sample) => sample.value >= 1 && (sample.labels.includes(`"${group}"`) || /baked/.test(sample.name + sample.labels)));
  check(`curl ${METRICS}/metrics shows the bakes of ${group}`, metrics.status === 0 && samples.length > 0, () => describe(metrics, 3000));
  if (samples.length > 0) note(samples.slice(0, 5).map((sample) => sample.line).join('\n'));

  // ---- The logs.
  section('logs');
  const serverLog = await puppetserverLog();
  const sidecarLog = (await sh('journalctl --no-pager -o cat -u autoami', MINUTE)).stdout;
  writeFileSync(join(LOGS, 'puppetserver.log'), serverLog);
  writeFileSync(join(LOGS, 'autoami.journal'), sidecarLog);
  const processor = reportProcessorProblems(serverLog);
  check('the report processor logged no warning or error in Puppet Server', processor.length === 0, processor.join('\n'));
  const sidecar = sidecarErrors(sidecarLog);
  check('the sidecar logged no error', sidecar.length === 0, sidecar.slice(0, 20).join('\n'));
  const leaked = secretLines({ ...outputs, puppetserver: serverLog, sidecar: sidecarLog }, secrets);
  check('no secret (database password, console password) in any output or log', leaked.length === 0, leaked.slice(0, 20).join('\n'));
}

function bootEvidence(booted: readonly { instanceId: string; result: Result }[]): string {
  if (booted.length === 0) return '--- no instance booted from user data (yet)';
  return booted.map(({ instanceId, result }) => `--- user data of ${instanceId}: ${describe(result, 3000)}`).join('\n');
}

await main();
