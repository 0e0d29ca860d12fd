/**
 * Where a group's images go, worked out from its settings alone: the regions, the KMS key
 * in each, and the CopyImage token of each copy. Both the group checks at `new_group` and
 * the `distributing` step read these, so what was accepted is what is done.
 */
import { createHash } from 'node:crypto';
import type { GroupSettings, ImageRecord } from '../store/store.ts';

type Delivery = Pick<GroupSettings, 'region' | 'copy_to' | 'encrypt' | 'kms_key'>;

/** The home region first, then the copies in the order given. */
export const deliveryRegions = (group: Pick<GroupSettings, 'region' | 'copy_to'>): string[] => [group.region, ...group.copy_to];

/** `REGION=ARN` / `default=ARN` entries as a map; the schema has checked each entry's shape. */
export function kmsKeyMap(entries: readonly string[]): Map<string, string> {
  const keys = new Map<string, string>();
  for (const entry of entries) {
    const at = entry.indexOf('=');
    keys.set(entry.slice(0, at), entry.slice(at + 1));
  }
  return keys;
}

/** `arn:PARTITION:kms:REGION:ACCOUNT:key/ID` → its parts. */
export function kmsKeyParts(arn: string): { region: string; keyId: string } {
  const [, , , region = '', , resource = ''] = arn.split(':');
  return { region, keyId: resource.slice('key/'.length) };
}

/**
 * The key `region`'s images are encrypted with; null means the account's default EBS key
 * there. A `default` key serves the regions without their own: as given in its own region,
 * and elsewhere only as a multi-Region key (`mrk-`), whose replicas share its id. Any other
 * key works in its region only, which the group checks refuse beforehand.
 */
export function kmsKeyFor(group: Delivery, region: string): string | null {
  if (!group.encrypt) return null;
  const keys = kmsKeyMap(group.kms_key);
  const own = keys.get(region);
  if (own !== undefined) return own;
  const fallback = keys.get('default');
  if (fallback === undefined) return null;
  const parts = kmsKeyParts(fallback);
  if (parts.region === region) return fallback;
  return parts.keyId.startsWith('mrk-') ? fallback.split(':').map((part, n) => (n === 3 ? region : part)).join(':') : null;
}

/**
 * The CopyImage ClientToken of the bake's copy to `region`: fixed by the bake and region, so
 * a retried or resumed copy, on any sidecar, gets back the copy already made (64 characters,
 * CopyImage's limit).
 */
export const copyToken = (bakeId: string, region: string): string =>
  createHash('sha256').update(`autoami-copy\0${bakeId}\0${region}`).digest('hex');

/** An image of the lineage in every region it exists in: home first, then its copies. */
export const regionalIds = (image: Pick<ImageRecord, 'region' | 'image_id' | 'copies'>): [region: string, imageId: string][] => [
  [image.region, image.image_id],
  ...Object.entries(image.copies),
];
