/**
 * What still uses an image: launch templates (any version) and live instances. EC2 answers
 * that in one call, DescribeImageReferences; where it does not offer the action (an older
 * partition, a stand-in), the same records come from the launch templates' versions and
 * the instances, each filtered by image id.
 */
import type { ImageReference as SdkImageReference, LaunchTemplate, ResourceTypeRequest } from '@aws-sdk/client-ec2';
import { Ec2Error } from '../errors.ts';
import type { Ec2Calls } from './calls.ts';
import { isUnsupportedAction } from './failures.ts';
import { chunked } from './poller.ts';
import { LIVE_INSTANCE_STATES } from './states.ts';
import type { ImageReference } from './types.ts';

/** DescribeImageReferences takes at most this many image ids a call. */
const IMAGE_IDS_PER_REFERENCE_CALL = 10;
/** version-depth's ceiling, which is also EC2's limit of versions per template: every version. */
const EVERY_VERSION = '10000';
/** Between DescribeLaunchTemplates and asking for its versions, a template may be deleted. */
const TEMPLATE_GONE = new Set(['InvalidLaunchTemplateId.NotFound', 'InvalidLaunchTemplateName.NotFoundException']);

export const INSTANCE = 'ec2:Instance' as const;
export const LAUNCH_TEMPLATE = 'ec2:LaunchTemplate' as const;

export async function imageReferences(calls: Ec2Calls, ids: readonly string[]): Promise<ImageReference[]> {
  const wanted = [...new Set(ids)];
  if (!wanted.length) return [];
  let found: ImageReference[];
  try {
    found = await fromReferenceCall(calls, wanted);
  } catch (error) {
    if (!isUnsupportedAction(error)) throw error;
    found = await fromTemplatesAndInstances(calls, wanted);
  }
  return unique(found);
}

const RESOURCE_TYPES: ResourceTypeRequest[] = [
  // Live only, as the fallback: a terminated instance holds nothing back.
  { ResourceType: INSTANCE, ResourceTypeOptions: [{ OptionName: 'state-name', OptionValues: LIVE_INSTANCE_STATES }] },
  // The default looks at a template's 10 latest versions; an older one still launches the image when asked for by number.
  { ResourceType: LAUNCH_TEMPLATE, ResourceTypeOptions: [{ OptionName: 'version-depth', OptionValues: [EVERY_VERSION] }] },
];

async function fromReferenceCall(calls: Ec2Calls, ids: string[]): Promise<ImageReference[]> {
  const out: ImageReference[] = [];
  for (const chunk of chunked(ids, IMAGE_IDS_PER_REFERENCE_CALL)) out.push(...(await referencesOf(calls, chunk)));
  return out;
}

async function referencesOf(calls: Ec2Calls, ImageIds: string[]): Promise<ImageReference[]> {
  try {
    // No image in the context: EC2's own message names the ids it does not know, which one id of ten would not.
    const pages = await calls.pages({ action: 'DescribeImageReferences' }, (c, sdk, NextToken) =>
      c.send(new sdk.DescribeImageReferencesCommand({ ImageIds, ResourceTypes: RESOURCE_TYPES, NextToken })),
    );
    return pages.flatMap((page) => (page.ImageReferences ?? []).flatMap(toReference));
  } catch (error) {
    // One image gone (deregistered by hand, say) fails the call for all; alone it is one nothing uses, as in the fallback.
    if (!(error instanceof Ec2Error) || error.awsCode !== 'InvalidAMIID.NotFound') throw error;
    if (ImageIds.length === 1) return [];
    const out: ImageReference[] = [];
    for (const id of ImageIds) out.push(...(await referencesOf(calls, [id])));
    return out;
  }
}

function toReference(ref: SdkImageReference): ImageReference[] {
  if (!ref.ImageId || !ref.ResourceType || !ref.Arn) return [];
  return [{ imageId: ref.ImageId, resourceType: ref.ResourceType, arn: ref.Arn }];
}

/**
 * The ARNs are built as EC2 writes them. The account is the reservation's OwnerId for an
 * instance, and for a template the account in its CreatedBy ARN (DescribeLaunchTemplates
 * lists only the caller's own templates, so whoever created one did so in this account);
 * a template without CreatedBy takes the account the instances showed, if any.
 */
async function fromTemplatesAndInstances(calls: Ec2Calls, ids: string[]): Promise<ImageReference[]> {
  const arn = (account: string, resource: string) => `arn:${partitionOf(calls.region)}:ec2:${calls.region}:${account}:${resource}`;
  const out: ImageReference[] = [];
  let seenAccount = '';
  for (const chunk of chunked(ids)) {
    const Filters = [{ Name: 'image-id', Values: chunk }, { Name: 'instance-state-name', Values: LIVE_INSTANCE_STATES }];
    const pages = await calls.pages({ action: 'DescribeInstances' }, (c, sdk, NextToken) => c.send(new sdk.DescribeInstancesCommand({ Filters, NextToken })));
    for (const reservation of pages.flatMap((page) => page.Reservations ?? [])) {
      const account = reservation.OwnerId ?? '';
      seenAccount ||= account;
      for (const instance of reservation.Instances ?? []) {
        if (instance.InstanceId && instance.ImageId && chunk.includes(instance.ImageId)) {
          out.push({ imageId: instance.ImageId, resourceType: INSTANCE, arn: arn(account, `instance/${instance.InstanceId}`) });
        }
      }
    }
  }
  const templates = await calls.pages({ action: 'DescribeLaunchTemplates' }, (c, sdk, NextToken) =>
    c.send(new sdk.DescribeLaunchTemplatesCommand({ NextToken, MaxResults: 200 })),
  );
  // One template after another: an account may have hundreds, and each is its own call.
  for (const template of templates.flatMap((page) => page.LaunchTemplates ?? [])) {
    const id = template.LaunchTemplateId;
    if (!id) continue;
    const account = accountOf(template) ?? seenAccount;
    for (const image of await imagesOfTemplate(calls, id, ids)) {
      out.push({ imageId: image, resourceType: LAUNCH_TEMPLATE, arn: arn(account, `launch-template/${id}`) });
    }
  }
  return out;
}

/** Which of `ids` any version of the template launches. */
async function imagesOfTemplate(calls: Ec2Calls, templateId: string, ids: string[]): Promise<Set<string>> {
  const used = new Set<string>();
  for (const chunk of chunked(ids)) {
    const Filters = [{ Name: 'image-id', Values: chunk }];
    try {
      // No Versions: every version of the template, not only its default or latest.
      const pages = await calls.pages({ action: 'DescribeLaunchTemplateVersions', launchTemplate: templateId }, (c, sdk, NextToken) =>
        c.send(new sdk.DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: templateId, Filters, NextToken, MaxResults: 200 })),
      );
      for (const version of pages.flatMap((page) => page.LaunchTemplateVersions ?? [])) {
        const image = version.LaunchTemplateData?.ImageId;
        if (image && chunk.includes(image)) used.add(image);
      }
    } catch (error) {
      if (error instanceof Ec2Error && TEMPLATE_GONE.has(error.awsCode)) return used;
      throw error;
    }
  }
  return used;
}

/** `arn:aws:iam::123456789012:user/x`, `arn:aws:sts::123456789012:assumed-role/…`: the fifth field. */
function accountOf(template: LaunchTemplate): string | undefined {
  const account = template.CreatedBy?.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : undefined;
}

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  return 'aws';
}

function unique(references: ImageReference[]): ImageReference[] {
  const byKey = new Map(references.map((r) => [`${r.imageId} ${r.resourceType} ${r.arn}`, r]));
  return [...byKey.values()].sort((a, b) => a.imageId.localeCompare(b.imageId) || a.resourceType.localeCompare(b.resourceType) || a.arn.localeCompare(b.arn));
}
