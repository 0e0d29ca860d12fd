/**
 * What the in-memory EC2 keeps of an instance and an image, and how EC2 would describe
 * each at a moment of the fake clock: the state comes from the record's timeline, never
 * from a stored field, so moving the clock is all it takes to boot, image or terminate.
 */
import type { ImageInfo, InstanceInfo, Tags } from '../../runtime/ec2/types.ts';

export interface FakeInstance {
  readonly id: string;
  readonly clientToken: string | null;
  readonly imageId: string;
  readonly type: string;
  readonly tags: Tags;
  readonly userData: string | null;
  readonly launchedAt: number;
  readonly bootMs: number;
  readonly addressed: boolean;
  terminatingAt: number | null;
  /** A state set by the test (stopped by hand, terminated by someone else), over the timeline. */
  forced: string | null;
}

export interface FakeImage {
  readonly id: string;
  readonly name: string;
  readonly tags: Tags;
  readonly createdAt: number;
  readonly readyMs: number;
  readonly failure: string | null;
  readonly snapshotIds: readonly string[];
  deregistered: boolean;
}

/** EC2's own times are ISO strings, whatever the store keeps. */
const iso = (ms: number): string => new Date(ms).toISOString();
export const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

function instanceState(instance: FakeInstance, now: number, terminateMs: number): string {
  if (instance.forced) return instance.forced;
  if (instance.terminatingAt !== null) return now >= instance.terminatingAt + terminateMs ? 'terminated' : 'shutting-down';
  return now >= instance.launchedAt + instance.bootMs ? 'running' : 'pending';
}

export function describeInstance(instance: FakeInstance, now: number, terminateMs: number): InstanceInfo {
  const state = instanceState(instance, now, terminateMs);
  const reachable = instance.addressed && state === 'running';
  const n = Number.parseInt(instance.id.slice(2), 16);
  return {
    id: instance.id, state, imageId: instance.imageId, type: instance.type,
    publicDns: reachable ? `ec2-203-0-113-${n % 250}.compute-1.amazonaws.com` : null,
    publicIp: reachable ? `203.0.113.${n % 250}` : null,
    privateIp: instance.addressed ? `10.0.0.${n % 250}` : null,
    launchTime: iso(instance.launchedAt), rootDeviceType: 'ebs', tags: instance.tags,
  };
}

export function describeImage(image: FakeImage, now: number): ImageInfo {
  const ready = now >= image.createdAt + image.readyMs;
  const state = image.deregistered ? 'deregistered' : !ready ? 'pending' : image.failure ? 'failed' : 'available';
  return {
    id: image.id, name: image.name, state, stateReason: state === 'failed' ? image.failure : null, architecture: 'x86_64',
    description: null, public: false, rootDeviceType: 'ebs', creationDate: iso(image.createdAt), ownerId: '123456789012',
    snapshotIds: image.snapshotIds, tags: image.tags,
  };
}
