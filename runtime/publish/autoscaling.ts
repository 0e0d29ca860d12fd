/** Auto Scaling, as a publication uses it: find a group, start a refresh, follow it. */
import type { AutoScalingClient, InstanceRefresh } from '@aws-sdk/client-auto-scaling';
import type { ServiceCalls } from './calls.ts';

export interface AsgInfo {
  readonly name: string;
  /** The launch template the group launches from, when it uses one. */
  readonly launchTemplateId: string | null;
  readonly launchTemplateVersion: string | null;
}

/** Ends of a refresh; anything else is still moving. */
export const REFRESH_ENDS = ['Successful', 'Failed', 'Cancelled', 'RollbackSuccessful', 'RollbackFailed', 'Baseline'] as const;

export interface RefreshInfo {
  readonly id: string;
  readonly status: string;
  readonly reason: string | null;
  readonly startedAt: number | null;
  readonly percentage: number | null;
}

export interface RefreshRequest {
  readonly asg: string;
  readonly minHealthyPercentage: number;
  readonly skipMatching: boolean;
  /** The launch template version to refresh onto, when the group launches from one the channel publishes. */
  readonly launchTemplate: { readonly id: string; readonly version: string } | null;
}

const toRefresh = (refresh: InstanceRefresh): RefreshInfo => ({
  id: refresh.InstanceRefreshId ?? '',
  status: refresh.Status ?? 'Unknown',
  reason: refresh.StatusReason ?? null,
  startedAt: refresh.StartTime ? refresh.StartTime.getTime() : null,
  percentage: refresh.PercentageComplete ?? null,
});

export class AutoScaling {
  readonly region: string;
  readonly #calls: ServiceCalls<AutoScalingClient>;

  constructor(calls: ServiceCalls<AutoScalingClient>) {
    this.region = calls.region;
    this.#calls = calls;
  }

  /** Undefined when there is no such group (Auto Scaling leaves it out rather than failing). */
  describeGroup(name: string): Promise<AsgInfo | undefined> {
    return this.#calls.call('DescribeAutoScalingGroups', name, async (client) => {
      const { DescribeAutoScalingGroupsCommand } = await import('@aws-sdk/client-auto-scaling');
      const out = await client.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }));
      const group = out.AutoScalingGroups?.find((each) => each.AutoScalingGroupName === name);
      if (!group) return undefined;
      const template = group.LaunchTemplate ?? group.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
      return { name, launchTemplateId: template?.LaunchTemplateId ?? null, launchTemplateVersion: template?.Version ?? null };
    });
  }

  /** With a launch template version, AutoRollback too: a refresh that fails puts the group back on what it ran before. */
  startRefresh(request: RefreshRequest): Promise<string> {
    return this.#calls.call('StartInstanceRefresh', request.asg, async (client) => {
      const { StartInstanceRefreshCommand } = await import('@aws-sdk/client-auto-scaling');
      const out = await client.send(
        new StartInstanceRefreshCommand({
          AutoScalingGroupName: request.asg,
          Strategy: 'Rolling',
          ...(request.launchTemplate && {
            DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: request.launchTemplate.id, Version: request.launchTemplate.version } },
          }),
          // Auto Scaling rolls back only to a configuration it can name: a launch template version given here.
          Preferences: { MinHealthyPercentage: request.minHealthyPercentage, SkipMatching: request.skipMatching, AutoRollback: request.launchTemplate !== null },
        }),
      );
      return out.InstanceRefreshId ?? '';
    });
  }

  /** The group's refreshes, newest first (one page: the newest are what a publication looks for). */
  refreshes(asg: string, ids?: readonly string[]): Promise<RefreshInfo[]> {
    return this.#calls.call('DescribeInstanceRefreshes', asg, async (client) => {
      const { DescribeInstanceRefreshesCommand } = await import('@aws-sdk/client-auto-scaling');
      const out = await client.send(new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: asg, ...(ids && { InstanceRefreshIds: [...ids] }) }));
      return (out.InstanceRefreshes ?? []).map(toRefresh);
    });
  }
}
