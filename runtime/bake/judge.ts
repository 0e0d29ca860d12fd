/**
 * Report judgement (docs/ARCHITECTURE.md §2): a run that changed something and failed
 * nothing is baked; a clean run with no change is left alone; anything that failed is
 * recorded as failed.
 */
import type { ReportSummary } from '../store/store.ts';

export type Verdict =
  | { readonly state: 'bake'; readonly reason: string }
  | { readonly state: 'unchanged'; readonly reason: string }
  | { readonly state: 'failed_run'; readonly reason: string };

function listed(titles: readonly string[]): string {
  const shown = titles.slice(0, 5).join(', ');
  return titles.length > 5 ? `${shown} and ${titles.length - 5} more` : shown;
}

export function judge(report: ReportSummary): Verdict {
  const failures = report.failed + report.failed_to_restart;
  if (report.status === 'failed' || failures > 0) {
    const which = report.failed_resources.length > 0 ? `: ${listed(report.failed_resources)}` : '';
    return { state: 'failed_run', reason: `the Puppet run failed (status ${report.status}, ${failures} failed resources${which})` };
  }
  if (report.changed > 0) {
    const which = report.changed_resources.length > 0 ? `: ${listed(report.changed_resources)}` : '';
    return { state: 'bake', reason: `${report.changed} resources changed${which}` };
  }
  return { state: 'unchanged', reason: 'the Puppet run changed nothing' };
}
