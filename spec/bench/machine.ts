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

/** Cumulative CPU time of the whole machine, in the kernel's ticks. */
export interface CpuTimes {
  readonly steal: number;
  readonly total: number;
}

/**
 * The aggregate `cpu` line of /proc/stat (user nice system idle iowait irq softirq steal
 * ...). Guest time is already inside user, so only the first eight fields add up.
 */
export function cpuTimes(stat: string): CpuTimes {
  const line = /^cpu\s+([\d ]+)$/m.exec(stat)?.[1];
  const fields = line?.trim().split(/\s+/).map(Number) ?? [];
  if (fields.length < 8) throw new Error(`/proc/stat: no aggregate cpu line with 8 fields in ${JSON.stringify(stat.slice(0, 80))}`);
  return { steal: fields[7]!, total: fields.slice(0, 8).reduce((sum, ticks) => sum + ticks, 0) };
}

export const cpuNow = (): CpuTimes => cpuTimes(readFileSync('/proc/stat', 'utf8'));

/**
 * Share of the machine's CPU time the hypervisor gave to others between two readings. On
 * a shared host it is what turns a tail latency from the code's figure into the host's.
 */
export function stolenShare(from: CpuTimes, to: CpuTimes): number {
  const total = to.total - from.total;
  return total > 0 ? (to.steal - from.steal) / total : 0;
}

export const percentOf = (share: number): string => `${(share * 100).toFixed(1)} %`;

export const loadNow = (): string => loadavg().map((average) => average.toFixed(2)).join(' ');

export function machine(): string[] {
  return [
    `CPU: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}, RAM ${Math.round(totalmem() / 2 ** 30)} GiB, ${osName()}`,
    `Node ${process.version}; ${firstLine('mariadbd', ['--version']).replace(/\s+for .*$/, '')}; Puppet ${firstLine('puppet', ['--version'])}`,
    `load average at start: ${loadNow()}`,
  ];
}
