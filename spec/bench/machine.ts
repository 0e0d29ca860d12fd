/** What the figures were measured on, for the header of every run and for BENCHMARKS.md. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

function firstLine(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return result.status === 0 ? (result.stdout.split('\n')[0] ?? '').trim() : `${command} not found`;
}

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown OS';
  } catch {
    return 'unknown OS';
  }
}

export const loadNow = (): string => loadavg().map((average) => average.toFixed(2)).join(' ');

export function machine(): string[] {
  return [
    `CPU: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}, RAM ${Math.round(totalmem() / 2 ** 30)} GiB, ${osName()}`,
    `Node ${process.version}; ${firstLine('mariadbd', ['--version']).replace(/\s+for .*$/, '')}; Puppet ${firstLine('puppet', ['--version'])}`,
    `load average at start: ${loadNow()}`,
  ];
}
