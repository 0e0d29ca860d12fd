/**
 * A Node.js major other than the one running, for running the suite on it: the npm registry's
 * `node` package carries the official Linux builds, so it installs with npm alone. Kept in a
 * cache (`$AUTOAMI_NODE_CACHE`, else ~/.cache/autoami/node) so a second run downloads nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { minimumNode } from '../runtime/bin/node-version.js';

/** The oldest major the project supports: package.json's engines.node, as the sidecar reads it. */
const OLDEST_MAJOR = minimumNode((JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }).engines.node)[0];

function cacheRoot(): string {
  return process.env.AUTOAMI_NODE_CACHE ?? join(homedir(), '.cache', 'autoami', 'node');
}

function versionOf(binary: string): string | null {
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.trim() : null;
}

/** The path of a `node` binary of this major, installed from the npm registry when not cached. */
export async function nodeRelease(major: string): Promise<string> {
  if (!/^\d+$/.test(major) || Number(major) < OLDEST_MAJOR) {
    throw new Error(`--node ${JSON.stringify(major)}: give a Node.js major number, ${OLDEST_MAJOR} or later`);
  }
  const home = join(cacheRoot(), major);
  const binary = join(home, 'node_modules', 'node', 'bin', 'node');
  if (existsSync(binary) && versionOf(binary)?.startsWith(`v${major}.`)) return binary;

  // Installed beside the cache entry and renamed into place, so an interrupted install is never reused.
  mkdirSync(cacheRoot(), { recursive: true });
  const staging = `${home}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const install = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', staging, `node@${major}`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const staged = join(staging, 'node_modules', 'node', 'bin', 'node');
  const version = install.status === 0 && existsSync(staged) ? versionOf(staged) : null;
  if (!version?.startsWith(`v${major}.`)) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`npm install node@${major} gave no Node.js ${major} binary (npm exit ${install.status}): ${install.stderr.trim().split('\n').at(-1) ?? ''}`);
  }
  rmSync(home, { recursive: true, force: true });
  renameSync(staging, home);
  return binary;
}
