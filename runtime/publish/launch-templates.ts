/** Launch templates, as a publication uses them: a new version with only the image changed, made default. */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ServiceCalls } from './calls.ts';

export interface TemplateInfo {
  readonly id: string;
  readonly name: string;
  readonly defaultVersion: number;
  readonly latestVersion: number;
}

const isId = (template: string): boolean => /^lt-[0-9a-f]{17}$/.test(template);

export class LaunchTemplates {
  readonly region: string;
  readonly #calls: ServiceCalls<EC2Client>;

  constructor(calls: ServiceCalls<EC2Client>) {
    this.region = calls.region;
    this.#calls = calls;
  }

  /** Undefined when EC2 has no such template in the region. */
  async describe(template: string): Promise<TemplateInfo | undefined> {
    try {
      return await this.#calls.call('DescribeLaunchTemplates', template, async (client) => {
        const { DescribeLaunchTemplatesCommand } = await import('@aws-sdk/client-ec2');
        const out = await client.send(new DescribeLaunchTemplatesCommand(isId(template) ? { LaunchTemplateIds: [template] } : { LaunchTemplateNames: [template] }));
        const found = out.LaunchTemplates?.[0];
        if (!found?.LaunchTemplateId) return undefined;
        return { id: found.LaunchTemplateId, name: found.LaunchTemplateName ?? '', defaultVersion: found.DefaultVersionNumber ?? 1, latestVersion: found.LatestVersionNumber ?? 1 };
      });
    } catch (error) {
      const code = (error as { awsCode?: string }).awsCode ?? '';
      if (code === 'InvalidLaunchTemplateId.NotFound' || code === 'InvalidLaunchTemplateName.NotFoundException') return undefined;
      throw error;
    }
  }

  /** The newest version whose image is `imageId`, if any. */
  async versionWithImage(templateId: string, imageId: string): Promise<number | undefined> {
    return this.#calls.call('DescribeLaunchTemplateVersions', templateId, async (client) => {
      const { DescribeLaunchTemplateVersionsCommand } = await import('@aws-sdk/client-ec2');
      const out = await client.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: templateId, Filters: [{ Name: 'image-id', Values: [imageId] }] }));
      const numbers = (out.LaunchTemplateVersions ?? []).map((version) => version.VersionNumber ?? 0);
      return numbers.length > 0 ? Math.max(...numbers) : undefined;
    });
  }

  /**
   * A copy of `sourceVersion` with only the image changed. `clientToken` makes a retry (or a
   * resumed publication) get back the version the first call made rather than a second.
   */
  createVersion(templateId: string, sourceVersion: number, imageId: string, description: string, clientToken: string): Promise<number> {
    return this.#calls.call('CreateLaunchTemplateVersion', templateId, async (client) => {
      const { CreateLaunchTemplateVersionCommand } = await import('@aws-sdk/client-ec2');
      const out = await client.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: templateId,
          SourceVersion: String(sourceVersion),
          VersionDescription: description.slice(0, 255),
          LaunchTemplateData: { ImageId: imageId },
          ClientToken: clientToken,
        }),
      );
      return out.LaunchTemplateVersion?.VersionNumber ?? 0;
    });
  }

  async setDefault(templateId: string, version: number): Promise<void> {
    await this.#calls.call('ModifyLaunchTemplate', templateId, async (client) => {
      const { ModifyLaunchTemplateCommand } = await import('@aws-sdk/client-ec2');
      await client.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: templateId, DefaultVersion: String(version) }));
    });
  }
}
