import { defaultKeyArn } from './kms.ts';
import { newId, type ImageRecord, type InstanceRecord, type SnapshotRecord, type StateReason, type Tags } from './model.ts';
import type { Ec2State } from './state.ts';

export interface ImageRequest {
  name: string;
  description?: string;
  imageTags: Tags;
  snapshotTags: Tags;
  failure?: StateReason;
}

interface DeviceSpec {
  deviceName: string;
  volumeId: string;
  size: number;
  encrypted: boolean;
  kmsKeyId?: string;
  describe: (imageId: string) => string;
}

/** A pending image backed by fresh pending snapshots; both settle after `delayMs`. */
function registerImage(state: Ec2State, req: ImageRequest, devices: DeviceSpec[], delayMs: number): ImageRecord {
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
    description: device.describe(imageId),
    volumeSize: device.size,
    tags: new Map(req.snapshotTags),
    encrypted: device.encrypted,
    ...(device.kmsKeyId !== undefined && { kmsKeyId: device.kmsKeyId }),
    createVolumePermissions: new Set(),
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
      encrypted: device.encrypted,
    })),
    tags: new Map(req.imageTags),
    launchPermissions: new Set(),
    deregistrationProtection: { enabled: false, cooldown: false },
  };
  if (req.description !== undefined) image.description = req.description;
  for (const snapshot of snapshots) state.snapshots.set(snapshot.snapshotId, snapshot);
  state.images.set(imageId, image);
  state.clock.after(delayMs, () => {
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

/** Snapshots of an encrypted volume are encrypted with the volume's key. */
export function createImage(state: Ec2State, instance: InstanceRecord, req: ImageRequest & { noReboot: boolean }): ImageRecord {
  const { volume } = instance;
  const device: DeviceSpec = {
    deviceName: instance.rootDeviceName,
    volumeId: volume.volumeId,
    size: volume.sizeGiB,
    encrypted: volume.encrypted,
    ...(volume.kmsKeyId !== undefined && { kmsKeyId: volume.kmsKeyId }),
    describe: (imageId) => `Created by CreateImage(${instance.instanceId}) for ${imageId}`,
  };
  const image = registerImage(state, req, [device], state.delayMs('image'));
  image.sourceInstanceId = instance.instanceId;
  image.noReboot = req.noReboot;
  return image;
}

export interface CopyRequest extends ImageRequest {
  sourceRegion: string;
  /** Encrypted=true was asked for; encrypted sources stay encrypted regardless. */
  encrypt: boolean;
  /** A usable key of the destination region; without it encrypted copies use the AWS-managed key. */
  kmsKeyArn?: string;
}

/**
 * `state` is the destination region, where the copy and its snapshots live. Copied snapshots
 * name no volume (EC2 shows vol-ffffffff) and are never encrypted with the source region's key:
 * keys do not leave their region.
 */
export function copyImage(state: Ec2State, source: ImageRecord, req: CopyRequest): ImageRecord {
  const devices = source.blockDevices.map((d): DeviceSpec => {
    const encrypted = d.encrypted || req.encrypt;
    return {
      deviceName: d.deviceName,
      volumeId: 'vol-ffffffff',
      size: d.volumeSize,
      encrypted,
      ...(encrypted && { kmsKeyId: req.kmsKeyArn ?? defaultKeyArn(state.region, state.accountId) }),
      describe: (imageId) => `Copied for DestinationAmi ${imageId} from SourceAmi ${source.imageId} for SourceSnapshot ${d.snapshotId}`,
    };
  });
  const image = registerImage(state, req, devices, state.delayMs('copy'));
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
