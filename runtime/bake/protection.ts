/**
 * Deregistration protection follows the group: its current image is protected in every
 * region, and an image the group moves away from is released, so that retention may retire
 * it later. Base images are another account's (or the operator's own) and never touched.
 */
import type { Ec2Source } from '../ec2/source.ts';
import type { ImageRecord } from '../store/store.ts';
import { regionalIds } from './delivery.ts';

export async function setProtection(ec2: Ec2Source, image: ImageRecord, enabled: boolean): Promise<void> {
  await Promise.all(regionalIds(image).map(([region, id]) => ec2.get(region).setDeregistrationProtection(id, enabled)));
}

/**
 * Protect `to` first and only then release `from`: a sidecar stopped between the two leaves
 * one image too many protected (retention releases it before retiring it), never none.
 */
export async function moveProtection(ec2: Ec2Source, to: ImageRecord | undefined, from: ImageRecord | undefined): Promise<void> {
  if (to && to.deregistered_at === null) await setProtection(ec2, to, true);
  if (from && from.deregistered_at === null && from.image_id !== to?.image_id) await setProtection(ec2, from, false);
}
