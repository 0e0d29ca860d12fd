import { Ec2Fault } from '../errors.ts';
import { checkId, type InstanceRecord } from '../model.ts';
import { applyFilters, paginate, type FilterFields } from '../query.ts';
import { tagSet } from '../render.ts';
import type { XmlObject } from '../wire.ts';
import type { ActionContext, Handler } from './common.ts';

/**
 * Root volumes are the only ones modelled: one per instance, attached from launch and deleted
 * with the instance (DeleteOnTermination), so a terminated instance has none.
 */
interface VolumeRow {
  seq: number;
  instance: InstanceRecord;
  tags: Map<string, string>;
}

const VOLUME_FILTERS: FilterFields<VolumeRow> = {
  'volume-id': (v) => v.instance.volume.volumeId,
  status: () => 'in-use',
  size: (v) => String(v.instance.volume.sizeGiB),
  'availability-zone': (v) => v.instance.availabilityZone,
  'volume-type': () => 'gp3',
  encrypted: (v) => String(v.instance.volume.encrypted),
  'snapshot-id': () => undefined,
  'attachment.instance-id': (v) => v.instance.instanceId,
  'attachment.device': (v) => v.instance.rootDeviceName,
  'attachment.status': () => 'attached',
  'attachment.delete-on-termination': () => 'true',
};

function rows(ctx: ActionContext): VolumeRow[] {
  return ctx.state
    .visibleInstances(ctx.lagMs)
    .filter((i) => i.state !== 'terminated')
    .map((instance) => ({ seq: instance.seq, instance, tags: instance.volume.tags }));
}

function volumeXml(ctx: ActionContext, { instance }: VolumeRow): XmlObject {
  const { volume } = instance;
  const attached = new Date(instance.launchTime).toISOString();
  return {
    volumeId: volume.volumeId,
    size: volume.sizeGiB,
    snapshotId: ctx.state.images.get(instance.imageId)?.blockDevices[0]?.snapshotId ?? '',
    availabilityZone: instance.availabilityZone,
    status: 'in-use',
    createTime: attached,
    attachmentSet: [
      {
        volumeId: volume.volumeId,
        instanceId: instance.instanceId,
        device: instance.rootDeviceName,
        status: 'attached',
        attachTime: attached,
        deleteOnTermination: true,
      },
    ],
    volumeType: 'gp3',
    iops: 3000,
    throughput: 125,
    encrypted: volume.encrypted,
    kmsKeyId: volume.kmsKeyId,
    tagSet: volume.tags.size ? tagSet(volume.tags) : undefined,
    multiAttachEnabled: false,
  };
}

export const describeVolumes: Handler = (p, ctx) => {
  const ids = p.strings('VolumeId');
  let records = rows(ctx);
  if (ids.length) {
    for (const id of ids) checkId('vol', id);
    const missing = ids.filter((id) => !records.some((r) => r.instance.volume.volumeId === id));
    if (missing.length) {
      const message = missing.length === 1 ? `The volume '${missing[0]}' does not exist.` : `The volumes '${missing.join(', ')}' do not exist.`;
      throw new Ec2Fault('InvalidVolume.NotFound', message);
    }
    records = records.filter((r) => ids.includes(r.instance.volume.volumeId));
  }
  const page = paginate(applyFilters(records, p, VOLUME_FILTERS), p, ctx.action, { min: 5, max: 500 });
  return { volumeSet: page.items.map((row) => volumeXml(ctx, row)), nextToken: page.nextToken };
};
