/**
 * Report judgement (docs/ARCHITECTURE.md §2): any failure is recorded as failed; a run whose
 * changes count is baked; one whose changes do not is left alone, saying why. A change
 * counts unless the group ignores its resource, and, with `--bake-on intentional` (the
 * default), unless it only repaired drift on the fresh instance (Puppet's corrective_change).
 */
import type { BakeOn } from '../interface/resource-refs.ts';
import type { BaseUpdate, ReportSummary } from '../store/store.ts';
import { describeBaseUpdate } from './base-image.ts';
import { listed } from './listing.ts';
import { ignoredBy } from './resource-filter.ts';

export type Verdict =
  | { readonly state: 'bake'; readonly reason: string }
  | { readonly state: 'unchanged'; readonly reason: string }
  | { readonly state: 'failed_run'; readonly reason: string };

export interface JudgePolicy {
  readonly bake_on: BakeOn;
  readonly ignore_resources: readonly string[];
}

/** Resources named in a verdict's reason. */
const NAMED = 5;

/**
 * `(status S, N failed resources: ...)` for a run that failed anywhere, naming at most
 * `most`; null for one that did not. A bake's run and a verification's are failed alike.
 */
export function failureOf(report: ReportSummary, most: number): string | null {
  const failures = report.failed + report.failed_to_restart;
  if (report.status !== 'failed' && failures === 0) return null;
  const which = report.failed_resources.length > 0 ? `: ${listed(report.failed_resources, most)}` : '';
  return `(status ${report.status}, ${failures} failed resources${which})`;
}

export function judge(report: ReportSummary, policy: JudgePolicy): Verdict {
  const failure = failureOf(report, NAMED);
  if (failure) return { state: 'failed_run', reason: `the Puppet run failed ${failure}` };
  if (report.changed === 0) return { state: 'unchanged', reason: 'the Puppet run changed nothing' };

  const ignored = ignoredBy(policy.ignore_resources);
  const corrective = new Set(report.corrective_resources);
  const kept = report.changed_resources.filter((title) => !ignored(title));
  const skipped = report.changed_resources.filter(ignored);
  const counting = policy.bake_on === 'any' ? kept : kept.filter((title) => !corrective.has(title));
  // The processor sends a bounded number of titles: a change it could not name might be
  // anything, so it counts.
  const unnamed = Math.max(0, report.changed - report.changed_resources.length);
  if (counting.length > 0 || unnamed > 0) {
    const which = counting.length > 0 ? `: ${listed(counting, NAMED)}` : '';
    const aside = skipped.length > 0 ? ` (changes to ignored ${listed(skipped, NAMED)} do not count)` : '';
    return { state: 'bake', reason: `${counting.length + unnamed} resources changed${which}${aside}` };
  }
  if (kept.length > 0) {
    return {
      state: 'unchanged',
      reason: `every change repaired drift on the fresh instance (corrective, not intentional): ${listed(kept, NAMED)}; --bake-on any would bake it`,
    };
  }
  return { state: 'unchanged', reason: `only ignored resources changed: ${listed(skipped, NAMED)}` };
}

/**
 * A bake that started from a new base image bakes whatever its run changed: the image is the
 * role on that base, which nothing the group had yet. A failed run is still a failure.
 */
export function onNewBase(verdict: Verdict, update: BaseUpdate | null): Verdict {
  if (update === null || verdict.state === 'failed_run') return verdict;
  if (verdict.state === 'bake') return { state: 'bake', reason: `${verdict.reason}, on ${describeBaseUpdate(update)}` };
  return { state: 'bake', reason: `${describeBaseUpdate(update)}; ${verdict.reason}` };
}
