/**
 * startup_ms: from spawning `autoami serve` (built, MySQL backend, schema already current)
 * to its first answered `hello`, the moment the report processor and the faces can use it.
 * The median of several starts; the first start (empty database: it migrates) and starts
 * from the TypeScript sources through tsx (development only) are shown apart.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AWS_TEST_ENV } from '../support/aws-env.ts';
import { startMariadb } from '../support/mariadb.ts';
import { connect } from '../support/rpc.ts';
import { writeConfig } from '../support/sidecar.ts';
import { builtSidecar, serviceNodeFlags } from './built-sidecar.ts';
import { median, round } from './stats.ts';
import type { BenchResult } from './table.ts';

const SOURCE_BIN = fileURLToPath(new URL('../../runtime/bin/autoami.js', import.meta.url));
const STARTS = 7;
const SOURCE_STARTS = 3;
const TIMEOUT_MS = 20_000;
const RETRY_MS = 2;

async function answersHello(socket: string): Promise<boolean> {
  try {
    const client = await connect(socket);
    try {
      return Boolean((await client.call('hello', { protocol: 1, client: 'bench' })).result);
    } finally {
      client.close();
    }
  } catch {
    return false;
  }
}

/** CPU time (user + system) a process has used so far, ms; /proc counts in clock ticks (100 Hz). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export interface Start {
  readonly wallMs: number;
  /** What the sidecar itself used: on a loaded machine wall time also holds others' turns. */
  readonly cpuMs: number;
}

/** One start, timed to the first answered hello; the sidecar is stopped again after. */
export async function timeStart(bin: string, configFile: string, socket: string): Promise<Start> {
  const start = performance.now();
  const child = spawn(process.execPath, [...serviceNodeFlags(), bin, 'serve', '--config', configFile], { env: { ...process.env, ...AWS_TEST_ENV }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    while (!(await answersHello(socket))) {
      if (child.exitCode !== null) throw new Error(`autoami serve exited with ${child.exitCode}: ${stderr}`);
      if (performance.now() - start > TIMEOUT_MS) throw new Error(`autoami serve did not answer within ${TIMEOUT_MS} ms: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
    return { wallMs: performance.now() - start, cpuMs: cpuMs(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

export async function startupBench({ progress }: { progress: (line: string) => void }): Promise<BenchResult> {
  const db = await (await startMariadb()).createDatabase();
  const { file, socket } = writeConfig(db, { puppet: { classifier: 'none' } });
  progress('startup: compiling the sidecar as the build does');
  const bin = builtSidecar();
  progress('startup: first start (migrates an empty database)');
  const first = await timeStart(bin, file, socket);
  const starts: Start[] = [];
  for (let i = 0; i < STARTS; i++) {
    progress(`startup: start ${i + 1} of ${STARTS}`);
    starts.push(await timeStart(bin, file, socket));
  }
  const fromSource: Start[] = [];
  for (let i = 0; i < SOURCE_STARTS; i++) {
    progress(`startup: from source through tsx, start ${i + 1} of ${SOURCE_STARTS}`);
    fromSource.push(await timeStart(SOURCE_BIN, file, socket));
  }
  const walls = starts.map((one) => one.wallMs);
  return {
    title: 'Sidecar start-up (autoami serve, built, MySQL backend)',
    figures: [{ key: 'startup_ms', value: Math.round(median(walls)), unit: 'ms', target: { op: '<=', limit: 500 } }],
    details: [
      ['first start, empty database (migrations)', `${Math.round(first.wallMs)} ms`],
      [`starts (${STARTS}), wall`, walls.map((ms) => Math.round(ms)).join(', ')],
      ['fastest / slowest', `${round(Math.min(...walls), 0)} / ${round(Math.max(...walls), 0)} ms`],
      ['CPU time of the sidecar to serving, median', `${Math.round(median(starts.map((one) => one.cpuMs)))} ms`],
      [`from the sources through tsx, median of ${SOURCE_STARTS} (development only)`, `${Math.round(median(fromSource.map((one) => one.wallMs)))} ms`],
    ],
  };
}
