/**
 * Following a base image (docs/ARCHITECTURE.md §2a): a group names the base it is built on
 * by an SSM parameter that holds an image id (AWS and distributions publish them) or by an
 * AMI name pattern and its owner, and `run` resolves it in the group's region. A base other
 * than the one the group's image was built on is a reason to bake, from that new base.
 */
import { AutoamiError, ValidationError } from '../errors.ts';
import type { Ec2 } from '../ec2/types.ts';
import { jsPattern } from '../interface/patterns.ts';
import type { SsmParameters } from '../publish/ssm.ts';
import { checkSsmName } from '../publish/targets.ts';
import type { BaseUpdate, Group, GroupSettings } from '../store/store.ts';

/** Only what resolving reads, so the bake core's fakes need not be whole services. */
export interface BaseImageSources {
  ssm(region: string): Pick<SsmParameters, 'get'>;
  ec2(region: string): Pick<Ec2, 'newestImage'>;
}

export type BaseResolution =
  | { readonly state: 'resolved'; readonly image: string; readonly source: string }
  | { readonly state: 'unresolved'; readonly source: string; readonly reason: string };

type Following = Pick<GroupSettings, 'base_image_from' | 'base_image_filter' | 'base_image_owner' | 'region'>;

const IMAGE_ID = jsPattern('image_id');
/** A parameter holding something else is quoted in the reason, but not at any length. */
const QUOTED_MAX = 64;

/** How reasons and history name what the group follows; null when it follows no base. */
export function followedSource(group: Following): string | null {
  if (group.base_image_from !== null) return group.base_image_from;
  if (group.base_image_filter !== null) return `${group.base_image_filter} owned by ${group.base_image_owner ?? '-'}`;
  return null;
}

/**
 * The combinations the options' patterns cannot refuse, each in one line naming the option
 * and the value. A parameter may be AWS's own (`/aws/service/...`), so only SSM's rules for
 * reading a name apply.
 */
export function checkBaseImageSettings(settings: Following): void {
  const { base_image_from: from, base_image_filter: filter, base_image_owner: owner } = settings;
  if (from !== null && filter !== null) {
    throw new ValidationError('base_image_filter', `${JSON.stringify(filter)} cannot be given with --base-image-from ${JSON.stringify(from)}: a group follows one base image`);
  }
  if (from !== null) checkSsmName('base_image_from', from, 'read');
  if (filter !== null && owner === null) {
    throw new ValidationError('base_image_filter', `${JSON.stringify(filter)} needs --base-image-owner: whose images to look at (an account id, self, amazon or aws-marketplace)`);
  }
  if (owner !== null && filter === null) {
    throw new ValidationError('base_image_owner', `${JSON.stringify(owner)} is given without --base-image-filter, the name pattern of that owner's images to follow`);
  }
}

/**
 * The image the group's base resolves to now; null when it follows none. Whatever keeps it
 * from resolving (no such parameter, no matching image, AWS not answering) is a reason,
 * never a failure: the group then bakes from its own image, as one following nothing does.
 */
export async function resolveBaseImage(sources: BaseImageSources, group: Following): Promise<BaseResolution | null> {
  const source = followedSource(group);
  if (source === null) return null;
  const unresolved = (reason: string): BaseResolution => ({ state: 'unresolved', source, reason });
  try {
    if (group.base_image_from !== null) {
      const name = group.base_image_from;
      const parameter = await sources.ssm(group.region).get(name);
      if (!parameter) return unresolved(`there is no SSM parameter ${name} in ${group.region}`);
      if (!IMAGE_ID.test(parameter.value)) {
        const shown = parameter.value.length > QUOTED_MAX ? `${parameter.value.slice(0, QUOTED_MAX)}...` : parameter.value;
        return unresolved(`SSM parameter ${name} in ${group.region} holds ${JSON.stringify(shown)}, not an image id`);
      }
      return { state: 'resolved', image: parameter.value, source };
    }
    const owner = group.base_image_owner!;
    const newest = await sources.ec2(group.region).newestImage(owner, group.base_image_filter!);
    if (!newest) return unresolved(`no available image of ${owner} in ${group.region} has a name matching ${group.base_image_filter}`);
    return { state: 'resolved', image: newest.id, source };
  } catch (error) {
    if (!(error instanceof AutoamiError)) throw error;
    return unresolved(`${source} could not be resolved in ${group.region}: ${error.message}`);
  }
}

/**
 * What a resolved base means for the next bake. A group that has not recorded its base yet
 * was built on the image it was defined with; when that is the resolved one, there is
 * nothing new, only the base to record.
 */
export function baseUpdateFor(group: Group, resolved: Extract<BaseResolution, { state: 'resolved' }>): BaseUpdate | null {
  const current = group.followed_base ?? group.base_image;
  if (resolved.image === current || resolved.image === group.image) return null;
  return { from: current, to: resolved.image, source: resolved.source };
}

/** The words a bake's check and judgement give a new base. */
export const describeBaseUpdate = (update: BaseUpdate): string =>
  `a new base image ${update.to}${update.from === null ? '' : ` (was ${update.from})`} from ${update.source}`;
