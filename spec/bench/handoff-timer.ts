/**
 * What Puppet spends in its report processors inside one `puppet apply`, as the bench-only
 * spec/bench/handoff-timer.rb measures it with Puppet's own clock. The shipped processor
 * carries no timing code: the timer is loaded into `puppet` through RUBYOPT.
 */
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TIMER = fileURLToPath(new URL('./handoff-timer.rb', import.meta.url));
const TIMES_VARIABLE = 'AUTOAMI_BENCH_PROCESSOR_TIMES';

export interface ProcessorTimes {
  /** Puppet's `reports` setting in that run. */
  readonly reports: string;
  /** Inside Puppet::Reports.report: loading the processor's Ruby files. */
  readonly loadMs: number;
  /** All of Puppet's report processing: the load, the report's dup and extend, and `process`. */
  readonly totalMs: number;
}

/** The environment that makes one `puppet apply` write its processor times to `timesFile`. */
export function timerEnv(timesFile: string): Record<string, string> {
  // RUBYOPT is split on whitespace, so a path with a space would load something else.
  if (/\s/.test(TIMER)) throw new Error(`the processor timer's path has whitespace, which RUBYOPT cannot carry: ${TIMER}`);
  const inherited = process.env.RUBYOPT?.trim();
  return { RUBYOPT: inherited ? `${inherited} -r${TIMER}` : `-r${TIMER}`, [TIMES_VARIABLE]: timesFile };
}

function milliseconds(parsed: Record<string, unknown>, key: string): number {
  const value = parsed[key];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`the processor timer wrote ${key}=${JSON.stringify(value)}`);
  return value;
}

/** Reads and removes what the timer wrote in one run; a run that wrote nothing fails loudly. */
export function takeTimes(timesFile: string): ProcessorTimes {
  let text: string;
  try {
    text = readFileSync(timesFile, 'utf8');
  } catch (error) {
    throw new Error(`the processor timer wrote nothing to ${timesFile}: RUBYOPT did not reach puppet, or Puppet processed no report (${String(error)})`);
  }
  rmSync(timesFile);
  const parsed = JSON.parse(text) as Record<string, unknown>;
  if (typeof parsed.reports !== 'string') throw new Error(`the processor timer wrote no reports setting: ${text}`);
  return { reports: parsed.reports, loadMs: milliseconds(parsed, 'load_ms'), totalMs: milliseconds(parsed, 'total_ms') };
}
