/**
 * A throwaway OpenSSH server on 127.0.0.1 with its own host key, client key pair and
 * config, for tests of the ssh bootstrap. Every command runs from an argv array.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import type { SshTarget } from '../../runtime/bootstrap/types.ts';
import { tempDir } from './tmp.ts';

const SSHD = '/usr/sbin/sshd';
/** Created only where sudo exists: without it a non-root login cannot become root. */
export const TEST_USER = 'autoami-test';

export interface TestSshd {
  readonly port: number;
  /** root, or TEST_USER when sudo is installed (see bootstrapLogin). */
  readonly target: SshTarget;
  /** The known_hosts file a test should hand to runOverSsh (absent until the first login). */
  readonly knownHostsFile: string;
  /** sshd's own log (-e), for a failing test's message. */
  log(): string;
  stop(): Promise<void>;
}

function run(argv: readonly string[]): string {
  const [command, ...args] = argv;
  const result = spawnSync(command!, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${argv.join(' ')} failed (${result.status}): ${result.stderr || result.error?.message}`);
  return result.stdout;
}

const has = (argv: readonly string[]): boolean => spawnSync(argv[0]!, argv.slice(1)).status === 0;

/**
 * `argv` until it succeeds or `done()` holds, a few times: another test process (a second
 * suite run) may hold the lock on /etc/passwd, or have just made the same change.
 */
function settle(argv: readonly string[], done: () => boolean): boolean {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (let attempt = 0; attempt < 10; attempt++) {
    if (done() || has(argv)) return true;
    Atomics.wait(nap, 0, 0, 200 * (attempt + 1));
  }
  return done();
}

const exists = (): boolean => has(['id', '-u', TEST_USER]);
// useradd leaves the password `!` (locked), and sshd without PAM refuses locked accounts
// even for keys; `*` allows no password either, but is not locked.
const unlocked = (): boolean => spawnSync('getent', ['shadow', TEST_USER], { encoding: 'utf8' }).stdout.split(':')[1] === '*';

/** TEST_USER, created on first use (home in a temp dir); null when useradd is refused. */
export function testUser(): string | null {
  if (!settle(['useradd', '--create-home', '--home-dir', join(tempDir('home'), TEST_USER), '--shell', '/bin/bash', TEST_USER], exists)) return null;
  return settle(['usermod', '-p', '*', TEST_USER], unlocked) ? TEST_USER : null;
}

export const sudoInstalled = (): boolean => has(['sh', '-c', 'command -v sudo']);

let login: string | undefined;

/**
 * The account the bootstrap logs in as: TEST_USER with passwordless sudo when sudo is
 * installed (the realistic case: `sudo -n bash -s`), else root.
 */
export function bootstrapLogin(): string {
  if (login) return login;
  const user = sudoInstalled() ? testUser() : null;
  if (user) {
    mkdirSync('/etc/sudoers.d', { recursive: true });
    const file = `/etc/sudoers.d/${user}`;
    const rule = `${user} ALL=(ALL) NOPASSWD: ALL\n`;
    // Another test process's sudo may be reading it: replaced whole, never truncated in place.
    if (!existsSync(file) || readFileSync(file, 'utf8') !== rule) {
      // sudo skips names with a dot: the half-written file is never read.
      writeFileSync(`${file}.${process.pid}`, rule, { mode: 0o440 });
      renameSync(`${file}.${process.pid}`, file);
    }
  }
  login = user ?? 'root';
  return login;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

interface Keys {
  readonly dir: string;
  readonly hostKey: string;
  readonly userKey: string;
}

/** Made once per test process: ssh-keygen is the slow part. */
let keys: Keys | undefined;

function makeKeys(): Keys {
  if (keys) return keys;
  const dir = tempDir('sshd');
  // sshd reads authorized_keys as the logging-in user, who must be able to reach it.
  chmodSync(dir, 0o755);
  const hostKey = join(dir, 'host_ed25519');
  const userKey = join(dir, 'user_ed25519');
  run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'autoami-test-host', '-f', hostKey]);
  run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'autoami-test-user', '-f', userKey]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${userKey}.pub`), { mode: 0o644 });
  keys = { dir, hostKey, userKey };
  return keys;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});

export interface SshdOptions {
  /** Listen here (a test may have pointed a client at it before sshd is up). */
  readonly port?: number;
  /** The login the target names; default bootstrapLogin(). */
  readonly login?: string;
  /** sshd's SetEnv: variables every session gets, as an instance's image could set them. */
  readonly setEnv?: Readonly<Record<string, string>>;
  /** sshd's ForceCommand: run instead of what the client asked for (e.g. to keep a copy of its stdin). */
  readonly forceCommand?: string;
}

export async function startSshd(options: SshdOptions = {}): Promise<TestSshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install openssh-server (apt-get install openssh-server)`);
  // A free port may be taken by another test process before sshd binds it: then sshd
  // exits at once, and a port of our own choosing is simply chosen again.
  for (let attempt = 1; ; attempt++) {
    const started = await launchSshd(options.port ?? (await freePort()), options);
    if (typeof started !== 'string') return started;
    if (options.port !== undefined || attempt === 5) throw new Error(started);
  }
}

function forceCommand(command: string): string {
  if (/\p{Cc}/u.test(command)) throw new Error(`ForceCommand cannot carry ${JSON.stringify(command)}`);
  return `ForceCommand ${command}`;
}

/** The running sshd, or why it did not start. */
async function launchSshd(port: number, options: SshdOptions): Promise<TestSshd | string> {
  const { dir, hostKey, userKey } = makeKeys();
  const state = tempDir('sshd-run');
  const config = join(state, 'sshd_config');
  const pidFile = join(state, 'sshd.pid');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${pidFile}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // Temp dirs are not laid out the way StrictModes insists on.
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'UseDNS no',
      'LogLevel VERBOSE',
      ...Object.entries(options.setEnv ?? {}).map(([name, value]) => {
        if (!/^[A-Z_][A-Z0-9_]*$/.test(name) || /["\\\p{Cc}]/u.test(value)) throw new Error(`SetEnv cannot carry ${name}=${JSON.stringify(value)}`);
        return `SetEnv ${name}="${value}"`;
      }),
      ...(options.forceCommand === undefined ? [] : [forceCommand(options.forceCommand)]),
      '',
    ].join('\n'),
  );
  // Privilege separation's chroot; Debian creates it at boot, containers often lack it.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let log = '';
  child.stderr!.on('data', (chunk) => (log += chunk));
  const exited = new Promise<void>((resolve) => child.on('close', () => (running.delete(child), resolve())));
  // sshd writes its pid file once it has bound the port: only then is what answers there ours.
  // The deadline only bounds a hang: sshd listens within a second unless the machine is very busy.
  const deadline = Date.now() + 60_000;
  while (!(existsSync(pidFile) && (await accepts(port)))) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await exited;
      return `sshd did not start on 127.0.0.1:${port} (exit ${child.exitCode ?? child.signalCode}): ${log}`;
    }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`sshd did not listen on 127.0.0.1:${port} within 60 s: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    target: { host: '127.0.0.1', port, login: options.login ?? bootstrapLogin(), keyfile: userKey },
    knownHostsFile: join(state, 'known_hosts'),
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
