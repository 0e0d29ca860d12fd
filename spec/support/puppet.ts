/**
 * The real `puppet` binary with module/ on its modulepath as module `autoami`, in a
 * private confdir/vardir so tests never touch the machine's Puppet.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './tmp.ts';

export const MODULE_DIR = fileURLToPath(new URL('../../module', import.meta.url));

export interface PuppetResult {
  status: number | null;
  stdout: string;
  /** stderr without the sandbox's harmless Facter permission noise. */
  stderr: string;
  errorLines: string[];
}

export interface PuppetEnv {
  readonly modulepath: string;
  readonly confdir: string;
  readonly vardir: string;
  run(args: readonly string[], env?: Record<string, string>): Promise<PuppetResult>;
}

export function requirePuppet(): void {
  const probe = spawnSync('puppet', ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error('the `puppet` binary is missing: install Debian puppet-agent (see .ci/run)');
}

// ANSI colour codes Puppet adds to console errors.
const colour = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** `modulesBefore`: module directories searched ahead of module/, as another installed module would be. */
export function puppetEnv(baseEnv: Record<string, string> = {}, modulesBefore: readonly string[] = []): PuppetEnv {
  requirePuppet();
  const root = tempDir('pp');
  const modulepath = join(root, 'modules');
  const confdir = join(root, 'conf');
  const vardir = join(root, 'var');
  for (const dir of [modulepath, confdir, vardir]) mkdirSync(dir, { recursive: true });
  symlinkSync(MODULE_DIR, join(modulepath, 'autoami'));
  return {
    modulepath,
    confdir,
    vardir,
    run(args, env = {}) {
      const argv = [...args, '--modulepath', [...modulesBefore, modulepath].join(':'), '--confdir', confdir, '--vardir', vardir];
      return puppetResult(spawn('puppet', argv, { env: { ...process.env, ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
    },
  };
}

/** Collects a finished puppet child: colour stripped, the sandbox's Facter noise dropped. */
export function puppetResult(child: ChildProcess): Promise<PuppetResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) =>
    child.on('close', (status) => {
      const cleaned = stderr
        .replace(colour, '')
        .split('\n')
        .filter((line) => line.trim() !== '' && !/\/proc\/1\/environ|Permission denied.*environ/.test(line));
      resolve({ status, stdout: stdout.replace(colour, ''), stderr: cleaned.join('\n'), errorLines: cleaned });
    }),
  );
}
