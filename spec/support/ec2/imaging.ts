import { newId, type ImageRecord, type InstanceRecord, type SnapshotRecord, type StateReason, type Tags } from './model.ts';
import type { Ec2State } from './state.ts';

export interface ImageRequest {
  name: string;
  description?: string;
  imageTags: Tags;
  snapshotTags: Tags;
  failure?: StateReason;
}

/** A pending image backed by fresh pending snapshots; both settle after imageMs. */
function registerImage(
  state: Ec2State,
  req: ImageRequest,
  devices: { deviceName: string; volumeId: string; size: number }[],
  describe: (imageId: string, device: { volumeId: string }) => string,
): ImageRecord {
  const now = state.clock.now();
  const imageId = newId('ami');
  const snapshots: SnapshotRecord[] = devices.map((device) => ({
    seq: state.nextSeq(),
    createdAt: now,
    snapshotId: newId('snap'),
    volumeId: device.volumeId,
    ownerId: state.accountId,
    state: 'pending',
    progress: '0%',
    description: describe(imageId, device),
    volumeSize: device.size,
    tags: new Map(req.snapshotTags),
  }));
  const image: ImageRecord = {
    seq: state.nextSeq(),
    createdAt: now,
    imageId,
    name: req.name,
    ownerId: state.accountId,
    public: false,
    state: 'pending',
    architecture: 'x86_64',
    rootDeviceName: '/dev/xvda',
    blockDevices: devices.map((device, n) => ({
      deviceName: device.deviceName,
      snapshotId: snapshots[n]?.snapshotId ?? '',
      volumeSize: device.size,
      volumeType: 'gp3',
      deleteOnTermination: true,
    })),
    tags: new Map(req.imageTags),
    launchPermissions: new Set(),
  };
  if (req.description !== undefined) image.description = req.description;
  for (const snapshot of snapshots) state.snapshots.set(snapshot.snapshotId, snapshot);
  state.images.set(imageId, image);
  state.clock.after(state.options.imageMs, () => {
    if (image.state !== 'pending') return;
    if (req.failure) {
      image.state = 'failed';
      image.stateReason = req.failure;
    } else {
      image.state = 'available';
    }
    for (const snapshot of snapshots) {
      snapshot.state = req.failure ? 'error' : 'completed';
      snapshot.progress = req.failure ? snapshot.progress : '100%';
    }
  });
  return image;
}

export function createImage(state: Ec2State, instance: InstanceRecord, req: ImageRequest & { noReboot: boolean }): ImageRecord {
  const device = { deviceName: instance.rootDeviceName, volumeId: instance.volume.volumeId, size: instance.volume.sizeGiB };
  const image = registerImage(state, req, [device], (imageId) => `Created by CreateImage(${instance.instanceId}) for ${imageId}`);
  image.sourceInstanceId = instance.instanceId;
  image.noReboot = req.noReboot;
  return image;
}

export function copyImage(state: Ec2State, source: ImageRecord, req: ImageRequest & { sourceRegion: string }): ImageRecord {
  const devices = source.blockDevices.map((d) => ({
    deviceName: d.deviceName,
    volumeId: state.snapshots.get(d.snapshotId)?.volumeId ?? 'vol-ffffffff',
    size: d.volumeSize,
  }));
  const image = registerImage(state, req, devices, (imageId) => `Copied for DestinationAmi ${imageId} from SourceAmi ${source.imageId}`);
  image.sourceImageId = source.imageId;
  image.sourceRegion = req.sourceRegion;
  return image;
}

/** Returns the snapshots it deleted, when asked to delete them. */
export function deregister(state: Ec2State, image: ImageRecord, deleteSnapshots: boolean): string[] {
  image.state = 'deregistered';
  image.deregisteredAt = state.clock.now();
  if (state.options.deregisteredVisibleMs > 0) {
    state.clock.after(state.options.deregisteredVisibleMs, () => state.images.delete(image.imageId));
  } else {
    state.images.delete(image.imageId);
  }
  if (!deleteSnapshots) return [];
  const deleted = image.blockDevices.map((d) => d.snapshotId).filter((id) => state.snapshots.get(id)?.ownerId === state.accountId);
  for (const id of deleted) state.snapshots.delete(id);
  return deleted;
}
