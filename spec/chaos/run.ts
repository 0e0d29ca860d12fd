/**
 * `npm run chaos`: chaos runs, one world each, one after the other, then a table.
 *
 *   npm run chaos -- [--runs N] [--seed S] [--repeat] [--jobs J] [--verbose]
 *
 * Seeds: S (or CHAOS_SEED), then S+1, S+2 ... for --runs N; a fresh S from the clock when
 * neither is given. `--repeat` runs the one seed N times instead, to show a failing seed
 * fails again the same way. `--jobs J` runs J worlds at a time. CHAOS_DEFECT=lose-report makes the harness lose one report on
 * purpose (the group is the seed's pick). CHAOS_LOG_DIR=dir keeps every sidecar's output
 * under dir/SEED/. Exit status 1 when any run failed.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Defect } from './agent.ts';
import { CHECK_NAMES } from './checks.ts';
import { seedFrom } from './plan.ts';
import { failureReport, runChaos, type ChaosResult } from './world.ts';

const DEFECTS: readonly Exclude<Defect, null>[] = ['lose-report'];

function defectFrom(env: NodeJS.ProcessEnv): Defect {
  const raw = env.CHAOS_DEFECT;
  if (raw === undefined || raw === '') return null;
  if (!(DEFECTS as readonly string[]).includes(raw)) throw new Error(`CHAOS_DEFECT must be one of ${DEFECTS.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw as Defect;
}

const HEAD = ['seed', 'kills', 'db restarts', 'bakes by outcome', 'calls', 'throttled', 'failed images', 'checks passed/failed', 'failed checks', 'time'];

function row(result: ChaosResult): string[] {
  const outcomes = Object.entries(result.outcomes).sort(([a], [b]) => a.localeCompare(b)).map(([outcome, n]) => `${outcome} ${n}`).join(', ');
  const failed = result.checks.filter((check) => !check.passed);
  return [
    String(result.seed),
    String(result.kills),
    String(result.mariadbRestarts),
    outcomes,
    String(result.calls),
    String(result.throttled),
    String(result.failedImages),
    `${result.checks.length - failed.length}/${failed.length}`,
    failed.map((check) => check.name).join(',') || (result.passed ? '-' : 'not settled'),
    `${(result.ms / 1000).toFixed(0)} s`,
  ];
}

function table(rows: readonly string[][]): string {
  const all = [HEAD, ...rows];
  const widths = HEAD.map((_, column) => Math.max(...all.map((cells) => cells[column]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(HEAD), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { runs: { type: 'string', default: '1' }, seed: { type: 'string' }, repeat: { type: 'boolean', default: false }, verbose: { type: 'boolean', default: false }, jobs: { type: 'string', default: '1' } } });
  if (!/^\d+$/.test(values.runs) || Number(values.runs) < 1) throw new Error(`--runs wants a whole number above 0, got ${JSON.stringify(values.runs)}`);
  const first = seedFrom(values.seed !== undefined ? { CHAOS_SEED: values.seed } : process.env);
  const defect = defectFrom(process.env);
  const runs = Number(values.runs);
  if (!/^\d+$/.test(values.jobs) || Number(values.jobs) < 1) throw new Error(`--jobs wants a whole number above 0, got ${JSON.stringify(values.jobs)}`);
  const jobs = Number(values.jobs);
  const seeds = Array.from({ length: runs }, (_, n) => (values.repeat ? first : first + n));
  process.stdout.write(`chaos: ${runs} run(s), seeds ${seeds.join(' ')}${defect ? `, defect ${defect}` : ''}; checks: ${CHECK_NAMES.join(', ')}\n`);
  // Each run is its own world (MariaDB, endpoint, sidecars), so runs may overlap; most of a run is waiting.
  const rows = new Map<number, string[]>();
  let failures = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < seeds.length) {
      const n = next++;
      const seed = seeds[n]!;
      process.stdout.write(`== CHAOS_SEED=${seed} started\n`);
      const logDir = process.env.CHAOS_LOG_DIR ? join(process.env.CHAOS_LOG_DIR, `${seed}-${n}`) : undefined;
      if (logDir) mkdirSync(logDir, { recursive: true });
      const log = values.verbose ? (line: string) => process.stdout.write(`${jobs > 1 ? `${seed} ` : ''}${line}\n`) : undefined;
      let result: ChaosResult;
      try {
        result = await runChaos({ seed, defect, ...(logDir && { logDir }), ...(log && { log }) });
      } catch (error) {
        // A world that could not be built (no MariaDB, a broken build) fails the run, not the others.
        failures += 1;
        process.stdout.write(`CHAOS_SEED=${seed}: the run broke: ${error instanceof Error ? error.stack : String(error)}\n`);
        rows.set(n, [String(seed), ...HEAD.slice(1, -2).map(() => '-'), 'run broke', '-']);
        continue;
      }
      rows.set(n, row(result));
      if (!result.passed) {
        failures += 1;
        process.stdout.write(`${failureReport(result)}\n`);
      }
      process.stdout.write(`${table([row(result)])}\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, seeds.length) }, worker));
  process.stdout.write(`\n${table([...rows].sort(([a], [b]) => a - b).map(([, cells]) => cells))}\nchaos: ${runs - failures} passed, ${failures} failed\n`);
  return failures === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (error: unknown) => {
    process.stderr.write(`spec/chaos/run.ts: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(2);
  },
);
