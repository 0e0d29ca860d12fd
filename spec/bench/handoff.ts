/**
 * handoff_ratio_[un]tracked: what the `autoami` report processor adds to a Puppet run.
 * Wall time of the real `puppet apply --reports autoami` over `--reports none` on the same
 * small catalog, medians of alternating runs (the order flips every pair, so drift in the
 * machine's load falls on both sides). Untracked: certname web01.example.com, which the
 * processor drops by name. Tracked: the certname of a bake in awaiting_report (a fresh one
 * per run), whose summary goes over the socket to the running sidecar and is recorded.
 */
import { join } from 'node:path';
import { MysqlStore } from '../../runtime/store/mysql-store.ts';
import { startMariadb } from '../support/mariadb.ts';
import { puppetEnv, type PuppetEnv } from '../support/puppet.ts';
import { spawnSidecar } from '../support/sidecar-process.ts';
import { writeConfig } from '../support/sidecar.ts';
import { tempDir } from '../support/tmp.ts';
import { builtSidecar, serviceNodeFlags } from './built-sidecar.ts';
import { median, round } from './stats.ts';
import type { BenchResult, Figure } from './table.ts';
import { trackedBakes, type TrackedBake } from './tracked-bakes.ts';

const PAIRS = 11;
const UNTRACKED_CERTNAME = 'web01.example.com';

type Reports = 'none' | 'autoami';

interface Pairs {
  none: number[];
  autoami: number[];
}

async function timedApply(puppet: PuppetEnv, reports: Reports, certname: string, manifest: string): Promise<number> {
  const start = performance.now();
  const result = await puppet.run(['apply', '--reports', reports, '--certname', certname, '--detailed-exitcodes', '-e', manifest]);
  const took = performance.now() - start;
  if (result.status !== 0 && result.status !== 2) throw new Error(`puppet apply --reports ${reports} exited ${result.status}:\n${result.stderr}`);
  if (/autoami/i.test(result.stderr)) throw new Error(`the report processor complained:\n${result.stderr}`);
  return took;
}

/** `pairs` runs of each, alternating which goes first; `certname(i)` names the i-th pair's node. */
async function alternate(puppet: PuppetEnv, manifest: string, pairs: number, certname: (pair: number) => string): Promise<Pairs> {
  const out: Pairs = { none: [], autoami: [] };
  for (let pair = 0; pair < pairs; pair++) {
    const order: Reports[] = pair % 2 === 0 ? ['none', 'autoami'] : ['autoami', 'none'];
    for (const reports of order) out[reports].push(await timedApply(puppet, reports, certname(pair), manifest));
  }
  return out;
}

const ratio = (pairs: Pairs) => median(pairs.autoami) / median(pairs.none);
/** Each pair ran back to back, so its own ratio is the least touched by the machine's load drifting. */
const pairRatio = (pairs: Pairs) => round(median(pairs.autoami.map((ms, pair) => ms / pairs.none[pair]!)), 3);
const medians = (pairs: Pairs) => `${Math.round(median(pairs.autoami))} / ${Math.round(median(pairs.none))} ms`;

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
      { key: 'handoff_ratio_untracked', value: round(ratio(untracked), 3), unit: '', target: { op: '<=', limit: 1.02 } },
      { key: 'handoff_ratio_tracked', value: round(ratio(tracked), 3), unit: '', target: null },
    ];
    return {
      title: 'Report handoff: puppet apply --reports autoami over --reports none',
      figures,
      details: [
        ['untracked median, autoami / none', medians(untracked)],
        ['tracked median, autoami / none', medians(tracked)],
        ['median of the per-pair ratios, untracked / tracked', `${pairRatio(untracked)} / ${pairRatio(tracked)}`],
        ['runs per side', String(PAIRS)],
      ],
    };
  } finally {
    await sidecar.stop();
    await store.close();
  }
}
