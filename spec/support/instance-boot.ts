/**
 * Plays cloud-init for the EC2 endpoint's instances: once an instance is running, its
 * user-data script runs here as a booting instance would run it, as root, with the test
 * knobs the script honours (its instance id, private Puppet directories).
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Ec2Endpoint } from './ec2-endpoint.ts';

export interface BootedInstance {
  readonly instanceId: string;
  readonly exitCode: number | null;
  readonly output: string;
}

export interface InstanceBooter {
  readonly booted: readonly BootedInstance[];
  /** Stops watching and waits for scripts already running. */
  stop(): Promise<void>;
}

/**
 * Puppet arguments that keep an agent's every directory under `root`: Debian's puppet
 * puts ssldir and publicdir outside confdir, so each is named.
 */
export function privateAgentArgs(root: string): string {
  const names = ['confdir', 'vardir', 'rundir', 'logdir', 'ssldir', 'publicdir', 'codedir'];
  for (const name of names) mkdirSync(join(root, name), { recursive: true });
  return names.map((name) => `--${name} ${join(root, name)}`).join(' ');
}

function runScript(script: string, env: NodeJS.ProcessEnv): Promise<{ exitCode: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-s'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (exitCode) => resolve({ exitCode, output }));
    child.stdin.end(script);
  });
}

export interface BootOptions {
  readonly pollMs?: number;
  /**
   * Runs once an instance is running, before its user-data does: what happens on the network
   * between the two (say, someone else's CSR for its certname). A failure is put in the output.
   */
  readonly beforeBoot?: (instanceId: string) => Promise<void>;
}

/**
 * Watches `endpoint` for running instances that carry user data and boots each once.
 * `puppetArgs`: one set for all (instances that run one after another, sharing a "disk"),
 * or one per instance, for instances that boot side by side.
 */
export function bootInstances(endpoint: Ec2Endpoint, puppetArgs: string | ((instanceId: string) => string), options: BootOptions = {}): InstanceBooter {
  const { pollMs = 100, beforeBoot } = options;
  const seen = new Set<string>();
  const booted: BootedInstance[] = [];
  const scripts: Promise<void>[] = [];
  let stopped = false;
  const timer = setInterval(() => {
    if (stopped) return;
    for (const instance of endpoint.instances()) {
      if (seen.has(instance.instanceId) || instance.state !== 'running') continue;
      const script = endpoint.userData(instance.instanceId);
      seen.add(instance.instanceId);
      if (script === undefined) continue;
      const args = typeof puppetArgs === 'string' ? puppetArgs : puppetArgs(instance.instanceId);
      const env = { ...process.env, AUTOAMI_INSTANCE_ID: instance.instanceId, AUTOAMI_PUPPET_ARGS: args };
      const before = beforeBoot ? beforeBoot(instance.instanceId).then(() => '', (error: unknown) => `beforeBoot failed: ${String(error)}\n`) : Promise.resolve('');
      scripts.push(
        before.then(async (failure) => {
          const result = await runScript(script, env);
          booted.push({ instanceId: instance.instanceId, exitCode: result.exitCode, output: `${failure}${result.output}` });
        }),
      );
    }
  }, pollMs);
  return {
    booted,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all(scripts);
    },
  };
}
