import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { certnameFor, isAutoamiCertname, renderBootstrapScript, userDataFor } from '../runtime/bootstrap/script.ts';
import { checkCsrForBake } from '../runtime/puppet/ca.ts';
import { challengeHash } from '../runtime/puppet/challenge.ts';
import { parseCsr } from '../runtime/puppet/csr.ts';
import { PP_INSTANCE_ID_OID } from '../runtime/puppet/types.ts';
import { REMOTE_COMMAND_ROOT, REMOTE_COMMAND_SUDO, runOverSsh, sshArgv, type SshAttempt } from '../runtime/bootstrap/ssh.ts';
import type { BootstrapScriptInput } from '../runtime/bootstrap/types.ts';
import { shellPattern } from '../runtime/interface/patterns.ts';
import { requirePuppet } from './support/puppet.ts';
import { freePort, startSshd, sudoInstalled, testUser, type TestSshd } from './support/sshd.ts';
import { tempDir } from './support/tmp.ts';

const ID = 'i-0123456789abcdef0';
/** The bake's one-time secret as the sidecar makes it: 64 hex digits. */
const CHALLENGE = 'c0ffee'.padEnd(64, '0123456789abcdef');
const input = (over: Partial<BootstrapScriptInput> = {}): BootstrapScriptInput => ({
  certname: certnameFor('web', ID), server: '127.0.0.1', serverPort: 1, instanceId: ID, role: 'web', environment: null, waitForCert: 0,
  challenge: CHALLENGE, noop: false, ...over,
});
/** What csr_attributes.yaml holds for instance `id` of role `role`. */
const attributes = (id: string, role: string) => ({ custom_attributes: { '1.2.840.113549.1.9.7': CHALLENGE }, extension_requests: { pp_instance_id: id, pp_role: role } });

/** The real puppet, in private dirs (AUTOAMI_PUPPET_ARGS); port 1 on loopback refuses at once. */
function agentDirs() {
  const root = tempDir('agent');
  return { confdir: join(root, 'conf'), args: `--confdir ${join(root, 'conf')} --vardir ${join(root, 'var')} --logdir ${join(root, 'log')} --rundir ${join(root, 'run')}` };
}

function runScript(script: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('/bin/bash', ['-s'], { cwd: tempDir('cwd'), env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(script);
  });
}

const agentConf = (confdir: string) => readFileSync(join(confdir, 'puppet.conf'), 'utf8');

/** The CSR the agent would submit: Puppet's own code, reading the csr_attributes.yaml in `confdir`. */
function puppetCsr(confdir: string, certname: string): string {
  const ruby = [
    'require "puppet"',
    'Puppet.initialize_settings(["--confdir", ARGV[0], "--vardir", ARGV[1]])',
    'Puppet::SSL::Oids.register_puppet_oids',
    'puts Puppet::X509::CertProvider.new.create_request(ARGV[2], OpenSSL::PKey::RSA.new(2048)).to_pem',
  ].join('\n');
  const run = spawnSync('ruby', ['-e', ruby, confdir, tempDir('vardir'), certname], { encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  return run.stdout;
}
const csr = (confdir: string) => parse(readFileSync(join(confdir, 'csr_attributes.yaml'), 'utf8'));

const Certname = suite('certname');

Certname('should be <group>-<instance id>.autoami', () => {
  assert.is(certnameFor('web', ID), `web-${ID}.autoami`);
});

Certname('should recognise AutoAMI certnames and no other', () => {
  assert.ok(isAutoamiCertname(`web-${ID}.autoami`));
  assert.ok(isAutoamiCertname('db_main-i-0123abcd.autoami'));
  for (const name of ['web.example.com', 'web-i-123.autoami', `Web-${ID}.autoami`, `web-${ID}.autoami.example.com`, `${ID}.autoami`, '']) {
    assert.not.ok(isAutoamiCertname(name), name);
  }
});

Certname.run();

const Render = suite('render');
const hostile = `x'y"$(touch CANARY)\`touch CANARY\`;touch CANARY \\`;

Render.before(() => requirePuppet());

Render('should produce a bash script that parses, with every value single-quoted', () => {
  const script = renderBootstrapScript(input({ server: hostile, role: hostile, environment: 'production' }));
  assert.ok(script.startsWith('#!/bin/bash\n'));
  assert.is(spawnSync('bash', ['-n'], { input: script }).status, 0);
  assert.ok(script.includes(`SERVER='x'\\''y"$(touch CANARY)\`touch CANARY\`;touch CANARY \\'\n`));
});

Render('should run the agent in noop only for a verification', () => {
  const agentLine = (script: string) => script.split('\n').find((line) => line.includes('--detailed-exitcodes')) ?? '';
  const verification = renderBootstrapScript(input({ noop: true }));
  assert.is(spawnSync('bash', ['-n'], { input: verification }).status, 0);
  assert.match(verification, /^NOOP=--noop$/m);
  assert.match(agentLine(verification), / \$NOOP /);
  assert.match(renderBootstrapScript(input()), /^NOOP=$/m);
  assert.match(userDataFor({ group: 'web', server: 'p', serverPort: 1, environment: null, waitForCert: 0, challenge: CHALLENGE, noop: true }), /^NOOP=--noop$/m);
});

Render('should reject values that quoting cannot make safe for puppet', () => {
  assert.throws(() => renderBootstrapScript(input({ server: 'a\nserver = evil' })), /server contains a control character/);
  assert.throws(() => renderBootstrapScript(input({ role: 'web\u0085' })), /role contains a control character/);
  assert.throws(() => renderBootstrapScript(input({ certname: '--debug' })), /certname starts with "-"/);
  assert.throws(() => renderBootstrapScript(input({ serverPort: 0 })), /serverPort must be an integer/);
  assert.throws(() => renderBootstrapScript(input({ environment: '' })), /environment is empty/);
});

Render('should refuse a challenge that is not 32 or more letters and digits, without showing it', () => {
  for (const challenge of ['', 'short', `${CHALLENGE}\n`, `${CHALLENGE}'`, `${CHALLENGE}"`, `${CHALLENGE} x`, 'x'.repeat(256)]) {
    assert.throws(
      () => renderBootstrapScript(input({ challenge })),
      (error: Error) => /challenge must be 32 to 255 letters and digits \(value hidden\)/.test(error.message) && (challenge === '' || !error.message.includes(challenge)),
      JSON.stringify(challenge),
    );
  }
  assert.throws(() => userDataFor({ group: 'web', server: 'p', serverPort: 1, environment: null, waitForCert: 0, challenge: 'short', noop: false }), /value hidden/);
});

Render('should configure the real agent and pass its failure code through', async () => {
  const { confdir, args } = agentDirs();
  const weird = `web"'\\ $(touch CANARY) é\u2028`;
  const script = renderBootstrapScript(input({ role: weird, environment: 'staging' }));
  const { code, output } = await runScript(script, { AUTOAMI_PUPPET_ARGS: args });
  assert.is(code, 1, output);
  assert.equal(csr(confdir), { custom_attributes: { '1.2.840.113549.1.9.7': CHALLENGE }, extension_requests: { pp_instance_id: ID, pp_role: weird } });
  // The secret is root's alone on the instance, and the agent run never prints it.
  assert.is(statSync(join(confdir, 'csr_attributes.yaml')).mode & 0o777, 0o600);
  assert.not.ok(output.includes(CHALLENGE), output);
  // What Puppet makes of that file is what the sidecar reads and signs.
  const request = puppetCsr(confdir, certnameFor('web', ID));
  const info = parseCsr(request);
  assert.equal([info.challengePassword, info.extensions[PP_INSTANCE_ID_OID]], [CHALLENGE, ID]);
  assert.equal(checkCsrForBake(request, certnameFor('web', ID), ID, challengeHash(CHALLENGE)), { state: 'allowed' });
  const conf = agentConf(confdir);
  assert.match(conf, /^\[agent\]$/m);
  for (const line of [`certname = web-${ID}.autoami`, 'server = 127.0.0.1', 'masterport = 1', 'environment = staging']) assert.ok(conf.includes(line), conf);
  assert.match(output, /agent run did not complete \(exit 1\)/);
});

Render('should hand hostile values to puppet as literal text', async () => {
  const { confdir, args } = agentDirs();
  const cwd = tempDir('cwd');
  const script = renderBootstrapScript(input({ server: hostile.replace(/CANARY/g, join(cwd, 'CANARY')) }));
  const { code, output } = await runScript(script, { AUTOAMI_PUPPET_ARGS: args });
  assert.is(code, 1, output);
  assert.ok(agentConf(confdir).includes(`server = ${hostile.replace(/CANARY/g, join(cwd, 'CANARY'))}`));
  assert.not.ok(existsSync(join(cwd, 'CANARY')), 'a value was executed');
});

Render('should exit 3 with a clear message when puppet is absent', async () => {
  const { code, output } = await runScript(renderBootstrapScript(input()), { PATH: '/nonexistent' });
  assert.is(code, 3);
  assert.match(output, /no puppet agent found/);
});

Render('should make user-data that works out the instance id on the instance', async () => {
  const { confdir, args } = agentDirs();
  const script = userDataFor({ group: 'web', server: '127.0.0.1', serverPort: 1, environment: null, waitForCert: 0, challenge: CHALLENGE, noop: false });
  assert.ok(script.startsWith('#!/bin/bash\n'));
  // The sidecar's own instance-id pattern, not a copy of it.
  assert.ok(script.includes(`ID_PATTERN='${shellPattern('instance_id')}'\n`), script);
  const run = await runScript(script, { AUTOAMI_PUPPET_ARGS: args, AUTOAMI_INSTANCE_ID: 'i-0123abcd' });
  assert.is(run.code, 1, run.output);
  assert.equal(csr(confdir), attributes('i-0123abcd', 'web'));
  assert.not.ok(run.output.includes(CHALLENGE), run.output);
  assert.ok(agentConf(confdir).includes('certname = web-i-0123abcd.autoami'));
  const bogus = await runScript(script, { AUTOAMI_PUPPET_ARGS: args, AUTOAMI_INSTANCE_ID: 'i-1$(id)' });
  assert.is(bogus.code, 3);
  assert.match(bogus.output, /cannot tell this instance's id/);
});

Render('should name the path of a missing or broken custom template', () => {
  const dir = tempDir('tpl');
  const missing = join(dir, 'missing.sh.hbs');
  assert.throws(() => renderBootstrapScript(input(), missing), (e: Error) => e.message.includes(`bootstrap template ${missing} cannot be read`));
  const cases = { 'unclosed.hbs': '{{#if server}}x', 'raw.hbs': 'echo {{server}}', 'helper.hbs': '{{lookup . "server"}}', 'field.hbs': '{{shell nope}}' };
  for (const [name, source] of Object.entries(cases)) {
    writeFileSync(join(dir, name), source);
    assert.throws(() => renderBootstrapScript(input(), join(dir, name)), (e: Error) => e.message.includes(`bootstrap template ${join(dir, name)} is broken`), name);
  }
  writeFileSync(join(dir, 'own.hbs'), '#!/bin/sh\necho {{shell certname}} {{shell role}}\n');
  assert.is(renderBootstrapScript(input(), join(dir, 'own.hbs')), `#!/bin/sh\necho 'web-${ID}.autoami' 'web'\n`);
});

Render.run();

const Ssh = suite('ssh');
let sshd: TestSshd;
/**
 * The deadline of a run that should succeed or fail on its own: it only bounds a hang, so it
 * is far beyond what ssh, sshd and the agent take even on two busy cores.
 */
const HANG_MS = 180_000;
const soon = (ms = HANG_MS) => Date.now() + ms;

Ssh.before(async () => {
  sshd = await startSshd();
});
Ssh.after(async () => sshd.stop());

Ssh('should build an argv with the key, known_hosts and a constant remote command', () => {
  const target = { host: '10.0.0.5', port: 22, login: 'ec2-user', keyfile: '/keys/a b%.pem' };
  const argv = sshArgv(target, { knownHostsFile: '/state dir/known_hosts', connectTimeoutS: 10 });
  assert.equal(argv.slice(0, 5), ['-T', '-i', '/keys/a b%%.pem', '-p', '22']);
  for (const option of ['BatchMode=yes', 'IdentitiesOnly=yes', 'StrictHostKeyChecking=accept-new', 'UserKnownHostsFile="/state dir/known_hosts"', 'ConnectTimeout=10']) {
    assert.ok(argv.includes(option), option);
  }
  assert.equal(argv.slice(-5), ['-l', 'ec2-user', '10.0.0.5', '--', REMOTE_COMMAND_SUDO]);
  assert.is(sshArgv({ ...target, login: 'root' }, { knownHostsFile: '/k', connectTimeoutS: 1 }).at(-1), REMOTE_COMMAND_ROOT);
  for (const host of ['-oProxyCommand=x', 'a@b', 'a b', 'a;b']) assert.throws(() => sshArgv({ ...target, host }, { knownHostsFile: '/k', connectTimeoutS: 1 }), /not a host/);
  assert.throws(() => sshArgv({ ...target, login: '-x' }, { knownHostsFile: '/k', connectTimeoutS: 1 }), /not a user name/);
});

Ssh('should send the script over stdin verbatim, never on argv, and capture its output', async () => {
  // A pass-through `ssh` first on PATH records the argv the real client gets.
  const bin = tempDir('bin');
  const log = join(bin, 'argv');
  writeFileSync(join(bin, 'ssh'), `#!/bin/sh\nprintf '%s\\n' "$@" >> '${log}'\nexec /usr/bin/ssh "$@"\n`, { mode: 0o755 });
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  const script = `echo "out $(id -u)"; echo 'err '"'"'$(reboot)'"'"' \`x\`' >&2\n`;
  const outcome = await runOverSsh({ target: sshd.target, knownHostsFile: sshd.knownHostsFile, script, deadline: soon() }).finally(() => (process.env.PATH = path));
  assert.is(outcome.state, 'ran', JSON.stringify(outcome) + sshd.log());
  assert.match(outcome.output, /^out 0$/m);
  assert.match(outcome.output, /^err '\$\(reboot\)' `x`$/m);
  const argv = readFileSync(log, 'utf8');
  assert.ok(argv.includes(sshd.target.keyfile) && !argv.includes('echo') && !argv.includes('reboot'), argv);
  assert.ok(existsSync(sshd.knownHostsFile), 'the host key was recorded');
});

Ssh('should report a non-zero exit with the tail of the output', async () => {
  const script = 'for i in $(seq 1 40); do echo "line $i"; done\nexit 7\n';
  const outcome = await runOverSsh({ target: sshd.target, knownHostsFile: sshd.knownHostsFile, script, deadline: soon() });
  assert.is(outcome.state, 'failed');
  if (outcome.state !== 'failed') return;
  assert.match(outcome.reason, /^bootstrap script exited 7: /);
  assert.ok(outcome.reason.endsWith('line 40') && !outcome.reason.includes('line 20\n'), outcome.reason);
});

Ssh('should keep only the last 64 KiB of output', async () => {
  const script = 'head -c 300000 /dev/zero | tr "\\0" x; echo; echo THE-END\n';
  const outcome = await runOverSsh({ target: sshd.target, knownHostsFile: sshd.knownHostsFile, script, deadline: soon() });
  assert.is(outcome.state, 'ran');
  assert.ok(outcome.output.length <= 64 * 1024 && outcome.output.trimEnd().endsWith('THE-END'), String(outcome.output.length));
});

Ssh('should run the rendered bootstrap script with the real agent', async () => {
  const { confdir, args } = agentDirs();
  const script = `export AUTOAMI_PUPPET_ARGS='${args}'\n${renderBootstrapScript(input())}`;
  const outcome = await runOverSsh({ target: sshd.target, knownHostsFile: sshd.knownHostsFile, script, deadline: soon() });
  assert.is(outcome.state, 'failed');
  if (outcome.state === 'failed') assert.match(outcome.reason, /^bootstrap script exited 1: [\s\S]*agent run did not complete/);
  assert.equal(csr(confdir), attributes(ID, 'web'));
  assert.not.ok(outcome.output.includes(CHALLENGE), outcome.output);
});

Ssh('should go through sudo -n for a non-root login', async () => {
  const user = testUser();
  if (!user) return console.warn('  (skipped: useradd refused, no non-root account)');
  const outcome = await runOverSsh({ target: { ...sshd.target, login: user }, knownHostsFile: sshd.knownHostsFile, script: 'id -u\n', deadline: soon() });
  if (sudoInstalled()) {
    assert.is(outcome.state, 'ran', JSON.stringify(outcome));
    assert.match(outcome.output, /^0$/m);
  } else {
    assert.is(outcome.state, 'failed');
    if (outcome.state === 'failed') assert.match(outcome.reason, /^bootstrap script exited 127: [\s\S]*sudo/);
  }
});

Ssh('should retry until sshd answers', async () => {
  const port = await freePort();
  const target = { ...sshd.target, port };
  const attempts: (number | null)[] = [];
  // sshd comes up only once an attempt has been refused: the retry is certain, whatever the load.
  let starting: Promise<void> | undefined;
  let late: TestSshd | undefined;
  let lateError: unknown;
  const onAttempt = (attempt: SshAttempt) => {
    attempts.push(attempt.exitCode);
    starting ??= startSshd({ port }).then((started) => void (late = started), (error: unknown) => void (lateError = error));
  };
  const outcome = await runOverSsh({ target, knownHostsFile: join(tempDir('kh'), 'known_hosts'), script: 'echo up\n', deadline: soon(), retryDelayMs: 200, onAttempt });
  await starting;
  await late?.stop();
  assert.is(lateError, undefined, String(lateError));
  assert.is(outcome.state, 'ran', JSON.stringify(outcome));
  assert.ok(attempts.length > 1 && attempts.slice(0, -1).every((code) => code === 255), String(attempts));
  assert.match(outcome.output, /^up$/m);
});

Ssh('should fail naming host:port, the time waited and what ssh said last when nothing answers by the deadline', async () => {
  const port = await freePort();
  // Time on a clock of the test's own: every wait between attempts moves it 100 s, so the
  // deadline falls after the third attempt however long the real attempts take.
  let now = 1_000_000;
  const clock = { now: () => now };
  const sleep = async (ms: number) => void (now += ms);
  const outputs: string[] = [];
  const attempts: (number | null)[] = [];
  const onAttempt = (attempt: SshAttempt) => (attempts.push(attempt.exitCode), outputs.push(attempt.output));
  const outcome = await runOverSsh({ target: { ...sshd.target, port }, knownHostsFile: join(tempDir('kh'), 'known_hosts'), script: 'true\n', deadline: now + 250_000, clock, sleep, retryDelayMs: 100_000, onAttempt });
  assert.equal(attempts, [255, 255, 255]);
  // ssh's own words are OpenSSH's: the reason quotes its last line, whatever it says.
  const last = outputs.at(-1)!.trimEnd().split('\n').at(-1)!;
  assert.ok(last !== '', 'ssh said nothing');
  assert.equal(outcome, { state: 'failed', reason: `sshd on 127.0.0.1:${port} did not answer within 200s (last: ${last})`, output: outputs.at(-1)! });
});

Ssh.run();
