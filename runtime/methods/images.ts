/**
 * `puppet node_aws images` and `new_ami`: the account's AMIs, and an AMI from a running
 * instance. Waiting happens here, with progress lines, so the face stays a thin shim.
 */
import type { Clock } from '../clock.ts';
import type { CallContext } from '../dispatcher.ts';
import { ValidationError } from '../errors.ts';
import type { Ec2Source } from '../ec2/source.ts';
import type { ImageInfo } from '../ec2/types.ts';
import { amiName } from '../ami-name.ts';
import type { ParamsFor } from '../interface/methods.ts';
import { TAG } from '../tags.ts';

export interface ImageRow {
  region: string;
  id: string;
  name: string;
  state: string;
  architecture: string | null;
  description: string | null;
  public: boolean;
  root_device_type: string | null;
  creation_date: string | null;
  encrypted: boolean;
  deprecation_time: string | null;
  deregistration_protection: string | null;
}

const IMAGE_WAIT_MS = 60 * 60_000;
const TERMINATE_WAIT_MS = 10 * 60_000;

function imageRow(region: string, image: ImageInfo): ImageRow {
  return {
    region,
    id: image.id,
    name: image.name,
    state: image.state,
    architecture: image.architecture,
    description: image.description,
    public: image.public,
    root_device_type: image.rootDeviceType,
    creation_date: image.creationDate,
    encrypted: image.encrypted,
    deprecation_time: image.deprecationTime,
    deregistration_protection: image.deregistrationProtection,
  };
}

export function imageHandlers(deps: { ec2: Ec2Source; defaultRegion: string; clock: Clock }) {
  const regionOf = (params: { readonly region?: string }) => params.region ?? deps.defaultRegion;
  return {
    /** Region by region in the order asked, newest first within each. */
    async 'image.list'(params: ParamsFor<'image.list'>): Promise<ImageRow[]> {
      const regions = params.region.length > 0 ? [...new Set(params.region)] : [deps.defaultRegion];
      const listed = await Promise.all(
        regions.map(async (region) =>
          (await deps.ec2.get(region).listOwnImages())
            .map((image) => imageRow(region, image))
            .sort((a, b) => (b.creation_date ?? '').localeCompare(a.creation_date ?? '') || a.id.localeCompare(b.id)),
        ),
      );
      return listed.flat();
    },

    async 'image.create'(params: ParamsFor<'image.create'>, context: CallContext) {
      const region = regionOf(params);
      const ec2 = deps.ec2.get(region);
      const server = params.server;
      const instance = await ec2.findInstance(server);
      if (!instance) throw new ValidationError('server', `no running or stopped instance with id or public DNS name ${JSON.stringify(server)} in ${region}`);
      if (instance.rootDeviceType && instance.rootDeviceType !== 'ebs') {
        throw new ValidationError('server', `${instance.id} is ${instance.rootDeviceType}-backed; only EBS-backed instances can be imaged`);
      }
      const group = instance.tags[TAG.group];
      const name = amiName(group ?? instance.id, deps.clock.now());
      const version = params.manifest_version;
      const tags: Record<string, string> = { [TAG.name]: name, [TAG.parentImage]: instance.imageId, [TAG.configVersion]: version };
      if (group) tags[TAG.group] = group;
      context.progress({ line: `Imaging ${instance.id} as ${name}` });
      const imageId = await ec2.createImage({
        instanceId: instance.id,
        name,
        description: params.description,
        noReboot: params.no_reboot,
        tags,
      }, { signal: context.signal });
      let state = 'pending';
      if (params.terminate) {
        const image = await ec2.waitForImage(imageId, {
          deadline: deps.clock.now() + IMAGE_WAIT_MS,
          onState: (next) => context.progress({ line: `${imageId} is ${next}` }),
          signal: context.signal,
        });
        state = image.state;
        await ec2.terminate([instance.id]);
        await ec2.waitForInstance(instance.id, ['terminated'], { deadline: deps.clock.now() + TERMINATE_WAIT_MS, signal: context.signal });
        context.progress({ line: `Terminated ${instance.id}` });
      }
      return { image_id: imageId, name, instance_id: instance.id, state, terminated: params.terminate };
    },
  };
}
