/**
 * Report judgement (docs/ARCHITECTURE.md §2): any failure is recorded as failed; a run whose
 * changes count is baked; one whose changes do not is left alone, saying why. A change
 * counts unless the group ignores its resource, and, with `--bake-on intentional` (the
 * default), unless it only repaired drift on the fresh instance (Puppet's corrective_change).
 */
import type { BakeOn } from '../interface/resource-refs.ts';
import type { BaseUpdate, ReportSummary } from '../store/store.ts';
import { describeBaseUpdate } from './base-image.ts';
import { ignoredBy } from './resource-filter.ts';

export type Verdict =
  | { readonly state: 'bake'; readonly reason: string }
  | { readonly state: 'unchanged'; readonly reason: string }
  | { readonly state: 'failed_run'; readonly reason: string };

export interface JudgePolicy {
  readonly bake_on: BakeOn;
  readonly ignore_resources: readonly string[];
}

function listed(titles: readonly string[]): string {
  const shown = titles.slice(0, 5).join(', ');
  return titles.length > 5 ? `${shown} and ${titles.length - 5} more` : shown;
}

export function judge(report: ReportSummary, policy: JudgePolicy): Verdict {
  const failures = report.failed + report.failed_to_restart;
  if (report.status === 'failed' || failures > 0) {
    const which = report.failed_resources.length > 0 ? `: ${listed(report.failed_resources)}` : '';
    return { state: 'failed_run', reason: `the Puppet run failed (status ${report.status}, ${failures} failed resources${which})` };
  }
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
    const which = counting.length > 0 ? `: ${listed(counting)}` : '';
    const aside = skipped.length > 0 ? ` (changes to ignored ${listed(skipped)} do not count)` : '';
    return { state: 'bake', reason: `${counting.length + unnamed} resources changed${which}${aside}` };
  }
  if (kept.length > 0) {
    return {
      state: 'unchanged',
      reason: `every change repaired drift on the fresh instance (corrective, not intentional): ${listed(kept)}; --bake-on any would bake it`,
    };
  }
  return { state: 'unchanged', reason: `only ignored resources changed: ${listed(skipped)}` };
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
