/** Which EC2 states end a wait badly, and how that failure reads. */
import { Ec2Error } from '../errors.ts';
import type { ImageInfo, InstanceInfo } from './types.ts';

/** Instances that can still be used (everything but shutting-down and terminated). */
export const LIVE_INSTANCE_STATES = ['pending', 'running', 'stopping', 'stopped'];

// Image states EC2 never moves on from by itself.
const IMAGE_DEAD_ENDS = new Set(['failed', 'error', 'invalid', 'deregistered', 'disabled']);

export function instanceDeadEnd(instance: InstanceInfo, wanted: readonly string[]): Ec2Error | undefined {
  const gone = instance.state === 'terminated' || (instance.state === 'shutting-down' && !wanted.includes('terminated'));
  if (!gone) return undefined;
  return new Ec2Error(
    'InstanceTerminated',
    `instance ${instance.id} is ${instance.state} and will never be ${wanted.join(' or ')}`,
    { field: 'instance' },
  );
}

export function imageDeadEnd(image: ImageInfo, wanted: readonly string[]): Ec2Error | undefined {
  if (!IMAGE_DEAD_ENDS.has(image.state)) return undefined;
  const name = image.name ? ` (${image.name})` : '';
  const reason = image.stateReason ? `: ${image.stateReason}` : ' (EC2 gave no reason)';
  const code = image.state === 'failed' || image.state === 'error' ? 'ImageFailed' : 'ImageUnavailable';
  return new Ec2Error(code, `image ${image.id}${name} ${image.state}${reason}; wanted ${wanted.join(' or ')}`, { field: 'image' });
}
