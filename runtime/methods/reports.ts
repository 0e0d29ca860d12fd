/**
 * Reports from the `autoami` report processor, live over the socket or replayed from the
 * spool it writes when the sidecar is down. A report is kept once per bake.
 */
import { mkdir, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isAutoamiCertname } from '../bootstrap/script.ts';
import { StoreUnavailableError, asAutoamiError } from '../errors.ts';
import { METHODS, type ParamsFor } from '../interface/methods.ts';
import { validate } from '../interface/schema.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { REPORT_SHAPE } from '../store/bake-table.ts';
import type { ReportSummary, Store } from '../store/store.ts';
import { fill } from '../store/table.ts';

export type ReportState = 'recorded' | 'duplicate' | 'ignored' | 'unknown_certname';
/** Live over the socket, or replayed from the spool. */
export type ReportSource = 'socket' | 'spool';

export interface ReportDeps {
  readonly store: Store;
  /** Called with the bake id when a report was recorded, to judge it at once. */
  readonly onRecorded: (bakeId: string) => void;
  readonly metrics: Metrics;
}

export async function submitReport(deps: ReportDeps, params: ParamsFor<'report.submit'>, source: ReportSource): Promise<{ state: ReportState; bake?: string }> {
  const handled = await keepReport(deps, params);
  deps.metrics.reportHandled(source, handled.state);
  return handled;
}

/** What the store keeps of a report: absent optional fields take their defaults (null). */
const summaryOf = (params: ParamsFor<'report.submit'>): ReportSummary => fill(REPORT_SHAPE, params);

async function keepReport(deps: ReportDeps, params: ParamsFor<'report.submit'>): Promise<{ state: ReportState; bake?: string }> {
  // Most reports a master sees are of nodes AutoAMI does not bake: answered before anything is built.
  if (!isAutoamiCertname(params.host)) return { state: 'ignored' };
  const report = summaryOf(params);
  const bake = await deps.store.findBakeByCertname(report.host);
  if (!bake) return { state: 'unknown_certname' };
  // The noop run on a new image: its facts are the image's, not a bake instance's, so only the run is kept.
  if (report.host === bake.verify_certname) {
    const kept = await deps.store.recordVerifyReport(bake.id, report);
    if (kept) deps.onRecorded(bake.id);
    return { state: kept ? 'recorded' : 'duplicate', bake: bake.id };
  }
  // The facts go first, so a store failure between the two loses neither: the report's retry
  // (or the spool) brings them again. The next run's catalog check compiles with them.
  if (!bake.report && params.facts && bake.instance_id) {
    await deps.store.recordFacts({
      group_name: bake.group_name, bake_id: bake.id, certname: report.host, instance_id: bake.instance_id, environment: report.environment, facts: params.facts,
    });
  }
  const recorded = await deps.store.recordReport(bake.id, report);
  if (recorded) deps.onRecorded(bake.id);
  return { state: recorded ? 'recorded' : 'duplicate', bake: bake.id };
}

/**
 * Replays spooled reports oldest first. A file is removed once its report is handled; a
 * store outage leaves it for the next pass; an unreadable one is set aside, not lost.
 */
export async function replaySpool(deps: ReportDeps, spoolDir: string, log: Logger): Promise<number> {
  const schema = METHODS['report.submit'].params;
  let names: string[];
  try {
    names = (await readdir(spoolDir)).filter((name) => name.endsWith('.json')).sort();
  } catch {
    return 0;
  }
  let handled = 0;
  for (const name of names) {
    const file = join(spoolDir, name);
    try {
      const params = await validate(schema, JSON.parse(await readFile(file, 'utf8')));
      const result = await submitReport(deps, params, 'spool');
      await unlink(file);
      handled++;
      log.info('spooled report replayed', { file: name, state: result.state });
    } catch (error) {
      if (error instanceof StoreUnavailableError) return handled;
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      const rejected = join(spoolDir, 'rejected');
      await mkdir(rejected, { recursive: true });
      await rename(file, join(rejected, name)).catch(() => undefined);
      deps.metrics.reportHandled('spool', 'rejected');
      log.warn('spooled report set aside', { file: name, error: asAutoamiError(error).message });
    }
  }
  return handled;
}
