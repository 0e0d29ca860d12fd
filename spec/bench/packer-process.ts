/**
 * `packer build` as a child process in its own process group, so a SIGKILL takes its plugin
 * processes with it, as a lost machine or a killed CI job would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { packerEnv } from './packer-template.ts';

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // The group is already gone.
    }
  }
});

export interface PackerBuild {
  readonly child: ChildProcess;
  /** Exit code (null when killed) and all output, once it has exited. */
  readonly exited: Promise<{ code: number | null; output: string }>;
  /** SIGKILL to Packer and its plugins. */
  kill(): void;
}

export interface PackerRequest {
  template: string;
  dir: string;
  endpoint: string;
  amiName: string;
  pollSeconds?: number;
}

export function startPacker(req: PackerRequest): PackerBuild {
  const args = ['build', '-color=false', '-var', `endpoint=${req.endpoint}`, '-var', `ami_name=${req.amiName}`, req.template];
  const child = spawn('packer', args, { cwd: req.dir, env: packerEnv(req.dir, req.pollSeconds), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    // A missing packer binary fails the bench here, loudly.
    child.once('error', (error) => (running.delete(child), reject(new Error(`packer: ${error.message}`))));
    child.once('exit', (code) => (running.delete(child), resolve({ code, output })));
  });
  return {
    child,
    exited,
    kill() {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    },
  };
}
