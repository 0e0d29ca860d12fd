/**
 * What the publication specs share: a launch template and an Auto Scaling group made the
 * way an operator has them (through the real EC2 SDK, and the Auto Scaling endpoint's own
 * set-up), and reads of what each target holds now.
 */
import { CreateLaunchTemplateCommand, EC2Client } from '@aws-sdk/client-ec2';
import { AWS_TEST_ENV } from './aws-env.ts';
import type { Ec2Endpoint } from './ec2-endpoint.ts';

/** A template in `region` as an operator made it: the base image, a type of its own. */
export async function makeTemplate(endpoint: Ec2Endpoint, region: string, name: string, imageId = 'ami-0abc1234'): Promise<string> {
  const ec2 = new EC2Client({ region, endpoint: endpoint.url, credentials: { accessKeyId: AWS_TEST_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: AWS_TEST_ENV.AWS_SECRET_ACCESS_KEY } });
  try {
    const made = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: name, LaunchTemplateData: { ImageId: imageId, InstanceType: 'm5.large' } }));
    return made.LaunchTemplate!.LaunchTemplateId!;
  } finally {
    ec2.destroy();
  }
}

/** An Auto Scaling group launching from version 1 of `templateId`, as refreshes with rollback want it. */
export function makeAsg(endpoint: Ec2Endpoint, region: string, name: string, templateId: string): void {
  endpoint.autoscaling.createGroup(region, { name, launchTemplateId: templateId, version: '1', desired: 2, min: 1, max: 4 });
}

/** The template's default version: its number and image. */
export function defaultVersion(endpoint: Ec2Endpoint, region: string, templateId: string): { number: number; imageId: string | undefined; instanceType: string | undefined; count: number } {
  const template = endpoint.inRegion(region).launchTemplate(templateId)!;
  const version = template.versions[template.defaultVersion - 1]!;
  return { number: template.defaultVersion, imageId: version.data.imageId, instanceType: version.data.instanceType, count: template.versions.length };
}
