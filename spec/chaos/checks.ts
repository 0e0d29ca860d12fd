/**
 * What must hold once a chaos run has settled, however the faults fell. Each check names
 * what it found wrong, so a failure says which bake, group, instance or image.
 */
import { BAKE_OUTCOMES, madeImage, type Bake, type Group, type ImageRecord as LineageRow } from '../../runtime/store/store.ts';
import { TAG } from '../../runtime/tags.ts';
import type { SentReport } from './agent.ts';

/** What the checks look at: the store's records and the EC2 endpoint's. */
export interface Settled {
  readonly groups: readonly Group[];
  readonly bakes: readonly Bake[];
  readonly lineage: ReadonlyMap<string, readonly LineageRow[]>;
  readonly instances: readonly { instanceId: string; state: string; tags: ReadonlyMap<string, string> }[];
  /** Images made in the run (the base images left out), deregistered ones included. */
  readonly images: readonly { imageId: string; name: string; state: string; tags: ReadonlyMap<string, string> }[];
  readonly sent: readonly SentReport[];
  readonly sawWaiting: ReadonlySet<string>;
}

export const CHECK_NAMES = ['named_state', 'no_instance_left', 'no_duplicate_ami', 'no_report_lost', 'group_image_own'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export interface CheckResult {
  readonly name: CheckName;
  readonly passed: boolean;
  /** What is wrong, one line each; empty when it passed. */
  readonly problems: readonly string[];
}

/** Instances in these states still cost money or may yet run. */
const LIVE = new Set(['pending', 'running', 'stopping', 'stopped']);
/** Outcomes that end a bake without its report being the reason. */
const ENDED_OTHERWISE = new Set(['timed_out', 'failed', 'cleanup_failed']);

function namedState(s: Settled): string[] {
  const problems: string[] = [];
  for (const group of s.groups) if (!s.bakes.some((bake) => bake.group_name === group.name)) problems.push(`group ${group.name} has no bake`);
  for (const bake of s.bakes) {
    if (bake.state !== 'done') problems.push(`bake ${bake.id} (${bake.group_name}) left in ${bake.state}`);
    else if (bake.outcome === null || !(BAKE_OUTCOMES as readonly string[]).includes(bake.outcome)) problems.push(`bake ${bake.id} (${bake.group_name}) done with outcome ${String(bake.outcome)}`);
  }
  return problems;
}

function noInstanceLeft(s: Settled): string[] {
  return s.instances.filter((instance) => LIVE.has(instance.state)).map((instance) => `instance ${instance.instanceId} of bake ${instance.tags.get(TAG.bake) ?? '?'} is ${instance.state}`);
}

function duplicates<T>(items: readonly T[], key: (item: T) => string | undefined): Map<string, T[]> {
  const by = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    if (k === undefined) continue;
    by.set(k, [...(by.get(k) ?? []), item]);
  }
  return new Map([...by].filter(([, list]) => list.length > 1));
}

function noDuplicateAmi(s: Settled): string[] {
  const problems: string[] = [];
  for (const [bake, images] of duplicates(s.images, (image) => image.tags.get(TAG.bake))) problems.push(`bake ${bake} has ${images.length} AMIs: ${images.map((i) => i.imageId).join(', ')}`);
  for (const [name, images] of duplicates(s.images, (image) => image.name)) problems.push(`AMI name ${name} is on ${images.length} AMIs: ${images.map((i) => i.imageId).join(', ')}`);
  for (const image of s.images) if (image.tags.get(TAG.bake) === undefined) problems.push(`AMI ${image.imageId} (${image.name}) has no ${TAG.bake} tag`);
  return problems;
}

function noReportLost(s: Settled): string[] {
  const problems: string[] = [];
  const byId = new Map(s.bakes.map((bake) => [bake.id, bake]));
  for (const sent of s.sent) {
    const bake = byId.get(sent.bakeId);
    if (sent.final === null) problems.push(`report of bake ${sent.bakeId} (${sent.group}) never got an answer: ${sent.answers.slice(-3).join('; ')}`);
    else if (sent.final !== 'recorded' && sent.final !== 'duplicate') problems.push(`report of bake ${sent.bakeId} (${sent.group}) answered ${sent.final}`);
    else if (bake?.report?.transaction_uuid !== sent.transactionUuid) {
      problems.push(`report ${sent.transactionUuid} (${sent.final}) is not on bake ${sent.bakeId} (${sent.group}), which has ${bake?.report?.transaction_uuid ?? 'none'}`);
    }
  }
  for (const id of s.sawWaiting) {
    const bake = byId.get(id);
    if (!bake || bake.report !== null) continue;
    if (bake.outcome === null || !ENDED_OTHERWISE.has(bake.outcome)) problems.push(`bake ${id} (${bake.group_name}) reached awaiting_report, has no report and ended ${String(bake.outcome)}`);
  }
  for (const bake of s.bakes) if (madeImage(bake.outcome) && bake.report === null) problems.push(`bake ${bake.id} (${bake.group_name}) ended ${bake.outcome} without a report`);
  return problems;
}

function groupImageOwn(s: Settled): string[] {
  const problems: string[] = [];
  for (const group of s.groups) {
    if (group.image === group.base_image) continue;
    const row = (s.lineage.get(group.name) ?? []).find((each) => each.image_id === group.image);
    const bake = row ? s.bakes.find((each) => each.id === row.bake_id) : undefined;
    if (!row) problems.push(`group ${group.name} is on ${group.image}, neither its base ${group.base_image} nor in its lineage`);
    else if (!bake || bake.group_name !== group.name) problems.push(`group ${group.name} is on ${group.image}, made by bake ${String(row.bake_id)}, not one of its own`);
    else if (!madeImage(bake.outcome)) problems.push(`group ${group.name} is on ${group.image} of bake ${bake.id}, which ended ${String(bake.outcome)}`);
    else if (s.images.find((image) => image.imageId === group.image)?.state !== 'available') problems.push(`group ${group.name} is on ${group.image}, which EC2 does not show available`);
  }
  return problems;
}

const CHECKS: Record<CheckName, (s: Settled) => string[]> = {
  named_state: namedState,
  no_instance_left: noInstanceLeft,
  no_duplicate_ami: noDuplicateAmi,
  no_report_lost: noReportLost,
  group_image_own: groupImageOwn,
};

export function runChecks(settled: Settled): CheckResult[] {
  return CHECK_NAMES.map((name) => {
    const problems = CHECKS[name](settled);
    return { name, passed: problems.length === 0, problems };
  });
}
