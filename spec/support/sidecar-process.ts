/** The real `autoami serve` CLI as a child process, as an operator starts it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import { AWS_TEST_ENV } from './aws-env.ts';

const BIN = fileURLToPath(new URL('../../runtime/bin/autoami.js', import.meta.url));

// One exit hook for all of them: no sidecar outlives the test process.
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export interface SidecarProcess {
  readonly child: ChildProcess;
  readonly log: () => string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
}

function accepting(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** `bin`: another build of the CLI, e.g. the one inside an installed module; `nodeFlags`: as a service unit gives them. */
export async function spawnSidecar(configFile: string, socketPath: string, timeoutMs = 120_000, bin = BIN, nodeFlags: readonly string[] = []): Promise<SidecarProcess> {
  const env = { ...process.env, ...AWS_TEST_ENV };
  const child = spawn(process.execPath, [...nodeFlags, bin, 'serve', '--config', configFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve((exited = code))));
  children.add(child);
  child.once('exit', () => children.delete(child));
  const deadline = Date.now() + timeoutMs;
  while (!(await accepting(socketPath))) {
    if (exited !== undefined) throw new Error(`autoami serve exited with ${exited}: ${output}`);
    if (Date.now() > deadline) throw new Error(`autoami serve did not listen on ${socketPath} within ${timeoutMs} ms: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    child,
    log: () => output,
    async stop() {
      if (exited === undefined) child.kill('SIGTERM');
      return exit;
    },
  };
}
