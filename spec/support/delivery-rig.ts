/**
 * What the delivery specs share: the group they bake, a bake driven to its end through the
 * sidecar's methods (the report comes as the report processor would send it), and a look at
 * each region's images as the EC2 endpoint holds them.
 */
import * as assert from 'uvu/assert';
import type { Bake, Store } from '../../runtime/store/store.ts';
import { inState, reportFor, waitForBake } from './bake-harness.ts';
import type { Ec2Endpoint, ImageRecord } from './ec2-endpoint.ts';
import { seedGroup } from './group-params.ts';
import { callOnce } from './rpc.ts';

export const HOME = 'us-east-1';
export const COPY_REGIONS = ['eu-west-1', 'ap-southeast-2'] as const;
export const SHARED_ACCOUNT = '210987654321';
export const DAY_MS = 86_400_000;

/** A customer managed key in each region (the endpoint takes any well-formed key of the region). */
export const keyIn = (region: string, account = '123456789012') => `arn:aws:kms:${region}:${account}:key/1234abcd-12ab-34cd-56ef-${region.replace(/[^0-9]/g, '').padStart(12, '0')}`;

/** new_group's params for a group delivered to every copy region, encrypted, shared and scheduled for deprecation. */
export function deliveredGroup(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return seedGroup({
    name,
    image: 'ami-0abc1234',
    bootstrap: 'userdata',
    region: HOME,
    copy_to: [...COPY_REGIONS],
    encrypt: true,
    kms_key: [HOME, ...COPY_REGIONS].map((region) => `${region}=${keyIn(region)}`),
    share_with: [SHARED_ACCOUNT],
    deprecate_after: '90d',
    ...overrides,
  });
}

export async function call(socket: string, method: string, params: unknown = {}) {
  const reply = await callOnce(socket, method, params);
  assert.ok(reply.result !== undefined, `${method}: ${JSON.stringify(reply.error)}`);
  return reply.result;
}

/** Starts a bake of `group` and hands it the changed report an agent run would have produced; resolves with its id. */
export async function startBake(socket: string, store: Store, group: string): Promise<string> {
  const run = await call(socket, 'bake.run', { groups: [group] });
  const bakeId = run.bakes[0].bake as string;
  const waiting = await waitForBake(store, bakeId, inState('awaiting_report'));
  await call(socket, 'report.submit', reportFor(waiting.certname!));
  return bakeId;
}

/** One bake to its end; asserts the outcome. */
export async function bakeOnce(socket: string, store: Store, group: string, outcome = 'baked'): Promise<Bake> {
  const done = await waitForBake(store, await startBake(socket, store, group), inState('done'));
  assert.is(done.outcome, outcome, `${done.outcome}: ${done.reason}`);
  return done;
}

/** Every image a bake made in `region`, deregistered ones included: more than one is a duplicate. */
export function imagesOfBake(endpoint: Ec2Endpoint, region: string, bakeId: string): ImageRecord[] {
  return endpoint.inRegion(region).images().filter((image) => image.tags.get('autoami:bake') === bakeId);
}

/** The bake's one live image in `region`. */
export function imageOfBake(endpoint: Ec2Endpoint, region: string, bakeId: string): ImageRecord {
  const images = imagesOfBake(endpoint, region, bakeId);
  assert.is(images.length, 1, `bake ${bakeId} has ${images.length} images in ${region}: ${images.map((image) => image.imageId).join(', ')}`);
  return images[0]!;
}

/** The image is shared as the group asks: launch permission, and create-volume permission on every snapshot. */
export function assertShared(endpoint: Ec2Endpoint, region: string, image: ImageRecord, account = SHARED_ACCOUNT): void {
  assert.ok(image.launchPermissions.has(account), `${region} ${image.imageId} is not shared with ${account}`);
  for (const device of image.blockDevices) {
    const snapshot = endpoint.inRegion(region).snapshot(device.snapshotId);
    assert.ok(snapshot?.createVolumePermissions.has(account), `${region} ${device.snapshotId} grants ${account} no create-volume permission`);
  }
}
