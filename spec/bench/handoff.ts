/**
 * What the `autoami` report processor adds to a Puppet run, on the real `puppet apply` of a
 * small catalog, with runs of `--reports autoami` and `--reports none` alternating (the order
 * flips every pair, so drift in the machine's load falls on both sides).
 *
 * handoff_processor_*: the processor's own cost, timed inside the same runs by Puppet's clock
 * (spec/bench/handoff-timer.rb): loading it plus its `process`, per report, and that as a
 * share of the run's wall time. Only the processor's work is inside that clock, so the share
 * moves when the processor does, not when the machine is busy.
 * handoff_ratio_*: the whole run's wall time over `--reports none`, with a bootstrap interval
 * over the pairs. Two runs of about 3 s each differ by more than the processor costs, so
 * these are context.
 *
 * Untracked: certname web01.example.com, which the processor drops by name. Tracked: the
 * certname of a bake in awaiting_report (a fresh one per run), whose summary goes over the
 * socket to the running sidecar and is recorded.
 */
import { join } from 'node:path';
import { MysqlStore } from '../../runtime/store/mysql-store.ts';
import { startMariadb } from '../support/mariadb.ts';
import { puppetEnv, type PuppetEnv } from '../support/puppet.ts';
import { spawnSidecar } from '../support/sidecar-process.ts';
import { writeConfig } from '../support/sidecar.ts';
import { tempDir } from '../support/tmp.ts';
import { builtSidecar, serviceNodeFlags } from './built-sidecar.ts';
import { takeTimes, timerEnv, type ProcessorTimes } from './handoff-timer.ts';
import { bootstrapInterval, median, round, type Interval } from './stats.ts';
import type { BenchResult, Figure } from './table.ts';
import { trackedBakes, type TrackedBake } from './tracked-bakes.ts';

const PAIRS = 11;
const UNTRACKED_CERTNAME = 'web01.example.com';
/**
 * The processor may take at most 2 % of a run: the budget the whole-run ratio had (≤ 1.02),
 * now held against the processor's own time.
 */
const SHARE_LIMIT_PERCENT = 2;

type Reports = 'none' | 'autoami';

interface Run {
  readonly wallMs: number;
  readonly processor: ProcessorTimes;
}

/** Index i of each side is pair i: the two runs made back to back. */
interface Pairs {
  none: Run[];
  autoami: Run[];
}

async function timedApply(puppet: PuppetEnv, reports: Reports, certname: string, manifest: string, timesFile: string): Promise<Run> {
  const start = performance.now();
  const args = ['apply', '--reports', reports, '--certname', certname, '--detailed-exitcodes', '-e', manifest];
  const result = await puppet.run(args, timerEnv(timesFile));
  const wallMs = performance.now() - start;
  if (result.status !== 0 && result.status !== 2) throw new Error(`puppet apply --reports ${reports} exited ${result.status}:\n${result.stderr}`);
  if (/autoami/i.test(result.stderr)) throw new Error(`the report processor complained:\n${result.stderr}`);
  const processor = takeTimes(timesFile);
  if (processor.reports !== reports) throw new Error(`the processor timer saw reports=${processor.reports} in a --reports ${reports} run`);
  // A fresh puppet loads the processor on its first report; with none it must load nothing.
  if ((reports === 'autoami') !== (processor.loadMs > 0)) throw new Error(`--reports ${reports} spent ${processor.loadMs} ms loading report processors`);
  return { wallMs, processor };
}

/** `pairs` runs of each, alternating which goes first; `certname(i)` names the i-th pair's node. */
async function alternate(puppet: PuppetEnv, manifest: string, pairs: number, certname: (pair: number) => string): Promise<Pairs> {
  const timesFile = join(tempDir('hot'), 'times.json');
  const out: Pairs = { none: [], autoami: [] };
  for (let pair = 0; pair < pairs; pair++) {
    const order: Reports[] = pair % 2 === 0 ? ['none', 'autoami'] : ['autoami', 'none'];
    for (const reports of order) out[reports].push(await timedApply(puppet, reports, certname(pair), manifest, timesFile));
  }
  return out;
}

const walls = (runs: readonly Run[]) => runs.map((run) => run.wallMs);
const asPairs = (pairs: Pairs) => pairs.none.map((none, pair) => ({ none: none.wallMs, autoami: pairs.autoami[pair]!.wallMs }));
const ratioOfMedians = (pairs: readonly { none: number; autoami: number }[]) => median(pairs.map((pair) => pair.autoami)) / median(pairs.map((pair) => pair.none));
const ratio = (pairs: Pairs) => ratioOfMedians(asPairs(pairs));
/** Each pair ran back to back, so its own ratio is the least touched by the machine's load drifting. */
const pairRatio = (pairs: Pairs) => round(median(asPairs(pairs).map((pair) => pair.autoami / pair.none)), 3);
const medians = (pairs: Pairs) => `${Math.round(median(walls(pairs.autoami)))} / ${Math.round(median(walls(pairs.none)))} ms`;

const processorMs = (pairs: Pairs) => median(pairs.autoami.map((run) => run.processor.totalMs));
/** Per run, the processor's time over that same run's wall time: percent. */
const processorShare = (pairs: Pairs) => median(pairs.autoami.map((run) => (100 * run.processor.totalMs) / run.wallMs));
const processorParts = (pairs: Pairs) =>
  `${round(median(pairs.autoami.map((run) => run.processor.loadMs)), 1)} / ${round(median(pairs.autoami.map((run) => run.processor.totalMs - run.processor.loadMs)), 2)} ms`;
/** What the two medians of whole runs differ by, beside what the processor took: the gap is noise. */
const wallGap = (pairs: Pairs) => `${Math.round(median(walls(pairs.autoami)) - median(walls(pairs.none)))} ms (processor ${round(processorMs(pairs), 1)} ms)`;

const ratioInterval = (pairs: Pairs): Interval => bootstrapInterval(asPairs(pairs), ratioOfMedians);
const intervalText = ({ low, high }: Interval) => `${round(low, 3).toFixed(3)} to ${round(high, 3).toFixed(3)}`;

async function allRecorded(store: MysqlStore, bakes: readonly TrackedBake[]): Promise<void> {
  for (const bake of bakes) {
    const row = await store.getBake(bake.id);
    if (!row?.report) throw new Error(`the report of ${bake.certname} never reached its bake: the handoff did not happen`);
  }
}

export async function handoffBench({ progress }: { progress: (line: string) => void }): Promise<BenchResult> {
  const db = await (await startMariadb()).createDatabase();
  const store = new MysqlStore(db);
  await store.open();
  // Made before the sidecar starts, so its engine never sees them unleased.
  const bakes = await trackedBakes(store, 'handoff', PAIRS);
  const { file, socket } = writeConfig(db, { puppet: { classifier: 'none' } });
  const sidecar = await spawnSidecar(file, socket, 30_000, builtSidecar(), serviceNodeFlags());
  try {
    const puppet = puppetEnv({ AUTOAMI_CONFIG: file });
    const manifest = `file { '${join(tempDir(), 'motd')}': content => "bench\\n" } notify { 'autoami bench': }`;
    progress('handoff: warming up puppet');
    await alternate(puppet, manifest, 1, () => UNTRACKED_CERTNAME);
    progress(`handoff: ${PAIRS} pairs of puppet apply, untracked certname`);
    const untracked = await alternate(puppet, manifest, PAIRS, () => UNTRACKED_CERTNAME);
    progress(`handoff: ${PAIRS} pairs of puppet apply, tracked certnames`);
    const tracked = await alternate(puppet, manifest, PAIRS, (pair) => bakes[pair]!.certname);
    await allRecorded(store, bakes);
    const figures: Figure[] = [
      { key: 'handoff_processor_share_untracked', value: round(processorShare(untracked), 3), unit: '%', target: { op: '<=', limit: SHARE_LIMIT_PERCENT } },
      { key: 'handoff_processor_ms_untracked', value: round(processorMs(untracked), 1), unit: 'ms', target: null },
      { key: 'handoff_processor_ms_tracked', value: round(processorMs(tracked), 1), unit: 'ms', target: null },
      // Whole runs: their noise is wider than the processor's cost, so no target (see the intervals).
      { key: 'handoff_ratio_untracked', value: round(ratio(untracked), 3), unit: '', target: null },
      { key: 'handoff_ratio_tracked', value: round(ratio(tracked), 3), unit: '', target: null },
    ];
    return {
      title: 'Report handoff: the autoami processor inside puppet apply, and --reports autoami over --reports none',
      figures,
      details: [
        ['processor median, load / the rest, untracked', processorParts(untracked)],
        ['processor median, load / the rest, tracked', processorParts(tracked)],
        ['processor share of the run, tracked', `${round(processorShare(tracked), 3)} %`],
        ['handoff_ratio_untracked, 95 % interval (bootstrap over pairs)', intervalText(ratioInterval(untracked))],
        ['handoff_ratio_tracked, 95 % interval (bootstrap over pairs)', intervalText(ratioInterval(tracked))],
        ['untracked median wall, autoami / none', medians(untracked)],
        ['tracked median wall, autoami / none', medians(tracked)],
        ['median wall difference, untracked', wallGap(untracked)],
        ['median wall difference, tracked', wallGap(tracked)],
        ['median of the per-pair ratios, untracked / tracked', `${pairRatio(untracked)} / ${pairRatio(tracked)}`],
        ['report handling with --reports none, median', `${round(median(untracked.none.map((run) => run.processor.totalMs)), 2)} ms`],
        ['runs per side', String(PAIRS)],
      ],
    };
  } finally {
    await sidecar.stop();
    await store.close();
  }
}
