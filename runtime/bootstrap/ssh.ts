/**
 * ssh mode: the system `ssh` client runs the bootstrap script on a new instance, retrying
 * until its sshd answers. Values only ever travel as argv elements, the script over stdin.
 */
import { spawn } from 'node:child_process';
import { systemClock, type Clock } from '../clock.ts';
import { realSleep, type Sleep } from '../sleep.ts';
import type { BootstrapOutcome, SshTarget } from './types.ts';

/** Constant strings: nothing is ever interpolated into what the remote shell parses. */
export const REMOTE_COMMAND_ROOT = 'bash -s';
export const REMOTE_COMMAND_SUDO = 'sudo -n bash -s';

/** ssh's own failures (refused, timed out, key not yet installed) all exit 255. */
const SSH_FAILED = 255;
const OUTPUT_LIMIT = 64 * 1024;
const TAIL_LINES = 15;

export interface SshArgvOptions {
  readonly knownHostsFile: string;
  readonly connectTimeoutS: number;
  /** Names the known_hosts entry instead of the host (e.g. the instance id): EC2 recycles addresses. */
  readonly hostKeyAlias?: string;
}

export interface SshAttempt {
  readonly attempt: number;
  readonly exitCode: number | null;
  readonly output: string;
}

export interface SshRunOptions extends Omit<SshArgvOptions, 'connectTimeoutS'> {
  readonly target: SshTarget;
  readonly script: string;
  /** Epoch ms on `clock`; ssh is stopped there even mid-script. */
  readonly deadline: number;
  readonly clock?: Clock;
  readonly sleep?: Sleep;
  readonly retryDelayMs?: number;
  readonly connectTimeoutS?: number;
  readonly onAttempt?: (attempt: SshAttempt) => void;
}

// ssh expands %-tokens and `~` in these paths; a path with `"` or `\` cannot be quoted safely.
function configPath(what: string, path: string): string {
  if (/["\\\p{Cc}]/u.test(path)) throw new Error(`ssh ${what} path cannot contain quotes, backslashes or control characters: ${JSON.stringify(path)}`);
  return path.replace(/%/g, '%%');
}

/** The argv after `ssh`. Pure, so tests can show no value reaches a shell or the command. */
export function sshArgv(target: SshTarget, options: SshArgvOptions): string[] {
  // A host or login ssh could read as an option, or as user@host, is refused outright.
  if (!/^[A-Za-z0-9_.:[\]-]+$/.test(target.host) || target.host.startsWith('-')) throw new Error(`ssh host is not a host name or address: ${JSON.stringify(target.host)}`);
  if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]*$/.test(target.login)) throw new Error(`ssh login is not a user name: ${JSON.stringify(target.login)}`);
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) throw new Error(`ssh port must be 1-65535, got ${target.port}`);
  const argv = ['-T', '-i', configPath('keyfile', target.keyfile), '-p', String(target.port)];
  argv.push('-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=accept-new');
  // Quoted: UserKnownHostsFile takes a space-separated list.
  argv.push('-o', `UserKnownHostsFile="${configPath('known_hosts', options.knownHostsFile)}"`);
  if (options.hostKeyAlias !== undefined) {
    if (!/^[A-Za-z0-9_.:-]+$/.test(options.hostKeyAlias)) throw new Error(`ssh host key alias is not a plain name: ${JSON.stringify(options.hostKeyAlias)}`);
    argv.push('-o', `HostKeyAlias=${options.hostKeyAlias}`);
  }
  argv.push('-o', `ConnectTimeout=${Math.max(1, Math.ceil(options.connectTimeoutS))}`, '-o', 'ServerAliveInterval=15');
  argv.push('-l', target.login, target.host, '--', target.login === 'root' ? REMOTE_COMMAND_ROOT : REMOTE_COMMAND_SUDO);
  return argv;
}

/** Keeps the last `limit` bytes: a chatty agent run must not grow the sidecar's memory. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0]!.length >= this.limit) this.size -= this.chunks.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

interface AttemptResult {
  readonly exitCode: number | null;
  readonly output: string;
  readonly error?: Error;
  readonly timedOut: boolean;
}

function attemptOnce(argv: string[], script: string, budgetMs: number): Promise<AttemptResult> {
  return new Promise((resolve) => {
    const child = spawn('ssh', argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    const output = new TailBuffer(OUTPUT_LIMIT);
    let timedOut = false;
    let spawnError: Error | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, Math.max(0, budgetMs));
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
    // ssh that fails to connect exits without reading stdin: EPIPE here is expected.
    child.stdin.on('error', () => {});
    child.on('error', (error) => (spawnError = error));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code, output: output.text(), timedOut, ...(spawnError ? { error: spawnError } : {}) });
    });
    child.stdin.end(script);
  });
}

function tail(output: string, lines = TAIL_LINES): string {
  return output.trimEnd().split('\n').slice(-lines).join('\n');
}

export async function runOverSsh(options: SshRunOptions): Promise<BootstrapOutcome> {
  const { target, script, deadline, onAttempt } = options;
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? realSleep;
  const retryDelayMs = options.retryDelayMs ?? 5000;
  const connectTimeoutS = options.connectTimeoutS ?? 10;
  const where = `${target.host}:${target.port}`;
  const started = clock.now();
  let lastOutput = '';
  for (let attempt = 1; clock.now() < deadline; attempt++) {
    const remainingMs = deadline - clock.now();
    let argv: string[];
    try {
      argv = sshArgv(target, { ...options, connectTimeoutS: Math.min(connectTimeoutS, remainingMs / 1000) });
    } catch (error) {
      // A bad host or path fails this bake with the reason, not the sidecar's step loop.
      return { state: 'failed', reason: (error as Error).message, output: '' };
    }
    const result = await attemptOnce(argv, script, remainingMs);
    onAttempt?.({ attempt, exitCode: result.exitCode, output: result.output });
    if (result.error) return { state: 'failed', reason: `cannot run ssh: ${result.error.message}`, output: result.output };
    // Cut off without a byte of output: still connecting, so report it as sshd not answering.
    if (result.timedOut && result.output.trim() === '') break;
    if (result.timedOut) {
      const reason = `bootstrap over ssh on ${where} did not finish by the deadline: ${tail(result.output, 3)}`;
      return { state: 'failed', reason, output: result.output };
    }
    if (result.exitCode === 0) return { state: 'ran', exitCode: 0, output: result.output };
    if (result.exitCode !== SSH_FAILED) {
      const reason = `bootstrap script exited ${result.exitCode ?? 'on a signal'}: ${tail(result.output)}`;
      return { state: 'failed', reason, output: result.output };
    }
    // A changed host key will not change back by waiting; say so now, not at the deadline.
    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(result.output)) {
      return { state: 'failed', reason: `ssh to ${where} refused: host key differs from the one in ${options.knownHostsFile}`, output: result.output };
    }
    lastOutput = result.output;
    if (clock.now() + retryDelayMs >= deadline) break;
    await sleep(retryDelayMs);
  }
  const waited = Math.round((clock.now() - started) / 1000);
  const last = tail(lastOutput, 1);
  const reason = `sshd on ${where} did not answer within ${waited}s${last ? ` (last: ${last})` : ''}`;
  return { state: 'failed', reason, output: lastOutput };
}
