/**
 * A group's publication targets, read from its settings: each `[CHANNEL:]VALUE` entry of
 * --ssm-parameter, --launch-template and --instance-refresh becomes one target in one
 * channel. SSM parameters are written in every region the image is in; launch templates
 * and Auto Scaling groups live in the group's own region.
 */
import { ValidationError } from '../errors.ts';
import { CHANNEL, DEFAULT_CHANNEL } from '../interface/targets.ts';
import type { Group } from '../store/store.ts';

export const TARGET_KINDS = ['ssm_parameter', 'launch_template', 'instance_refresh'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export interface Target {
  readonly kind: TargetKind;
  readonly channel: string;
  /** The parameter name, template id or name, or Auto Scaling group name. */
  readonly value: string;
}

const PREFIXED = new RegExp(`^(${CHANNEL}):(.+)$`);

export function parseTarget(kind: TargetKind, entry: string): Target {
  const prefixed = PREFIXED.exec(entry);
  return prefixed ? { kind, channel: prefixed[1]!, value: prefixed[2]! } : { kind, channel: DEFAULT_CHANNEL, value: entry };
}

export type TargetSettings = Pick<Group, TargetKind>;

export function targetsOf(group: TargetSettings, channel?: string): Target[] {
  const all = TARGET_KINDS.flatMap((kind) => group[kind].map((entry) => parseTarget(kind, entry)));
  return channel === undefined ? all : all.filter((target) => target.channel === channel);
}

/** Every channel the group publishes to; latest always, so a bake has somewhere to record. */
export function channelsOf(group: TargetSettings): string[] {
  return [...new Set([DEFAULT_CHANNEL, ...targetsOf(group).map((target) => target.channel)])].sort();
}

/** The key a target's progress is kept under; SSM targets have one per region. */
export function targetKey(target: Target, region: string): string {
  const kind = target.kind === 'ssm_parameter' ? 'ssm' : target.kind === 'launch_template' ? 'launch-template' : 'instance-refresh';
  return `${kind}:${region}:${target.value}`;
}

/** How history and messages name a target: the option and value. */
export function targetLabel(target: Target, region: string, home: string): string {
  const option = target.kind.replaceAll('_', '-');
  return region === home ? `--${option} ${target.value}` : `--${option} ${target.value} (${region})`;
}

const MAX_SSM_LEVELS = 15;

/**
 * SSM's naming rules beyond the characters the option's pattern allows, each refused in
 * its own words; the same rules SSM applies, so a name passing here is not refused later.
 * A name only read may be AWS's own public one (`/aws/service/...`), which no account may write.
 */
export function checkSsmName(field: string, name: string, use: 'write' | 'read' = 'write'): void {
  const bad = (why: string) => new ValidationError(field, `${JSON.stringify(name)} is not a name SSM accepts: ${why}`);
  if (name.includes('/') && !name.startsWith('/')) throw bad('a name with a hierarchy must begin with /');
  if (name.endsWith('/') || name.includes('//')) throw bad('a hierarchy level is empty');
  const first = name.startsWith('/') ? name.slice(1).split('/')[0]! : name;
  if (use === 'write' && /^(aws|ssm)/i.test(first)) throw bad('it may not begin with aws or ssm (any case)');
  const levels = name.split('/').filter((part) => part !== '').length;
  if (levels > MAX_SSM_LEVELS) throw bad(`it has ${levels} hierarchy levels, more than ${MAX_SSM_LEVELS}`);
}
