/**
 * Publication targets checked before a group is stored: names SSM would refuse, and launch
 * templates and Auto Scaling groups that do not exist in the group's region. One line
 * names the option and the value; nothing is stored.
 */
import { ValidationError } from '../errors.ts';
import type { PublishSource } from '../publish/source.ts';
import { checkSsmName, targetsOf, type TargetSettings } from '../publish/targets.ts';

export async function checkTargets(settings: TargetSettings & { readonly region: string }, publish: PublishSource): Promise<void> {
  const targets = targetsOf(settings);
  const seen = new Map<string, string>();
  for (const target of targets) {
    const key = `${target.kind}\n${target.value}`;
    const other = seen.get(key);
    if (other !== undefined) {
      // Two channels writing one target would take turns overwriting each other.
      const why = other === target.channel ? `is given twice in channel ${other}` : `is in channels ${other} and ${target.channel}; a target belongs to one channel`;
      throw new ValidationError(target.kind, `${JSON.stringify(target.value)} ${why}`);
    }
    seen.set(key, target.channel);
    if (target.kind === 'ssm_parameter') checkSsmName(target.kind, target.value);
  }
  await Promise.all(
    targets.map(async (target) => {
      if (target.kind === 'launch_template' && !(await publish.launchTemplates(settings.region).describe(target.value))) {
        throw new ValidationError(target.kind, `${JSON.stringify(target.value)} is not a launch template in ${settings.region}`);
      }
      if (target.kind === 'instance_refresh' && !(await publish.autoscaling(settings.region).describeGroup(target.value))) {
        throw new ValidationError(target.kind, `${JSON.stringify(target.value)} is not an Auto Scaling group in ${settings.region}`);
      }
    }),
  );
}
