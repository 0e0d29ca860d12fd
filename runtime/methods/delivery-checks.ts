/**
 * The checks on a new group's delivery options that its schema alone cannot make: how the
 * options fit together, and (when it copies) which regions EC2 has for the account. Each
 * refusal is one ValidationError naming the option and the value, before anything is stored.
 */
import { deliveryRegions, kmsKeyFor, kmsKeyMap, kmsKeyParts } from '../bake/delivery.ts';
import { parseDuration } from '../duration.ts';
import type { Ec2Source } from '../ec2/source.ts';
import { AutoamiError, ValidationError } from '../errors.ts';
import type { GroupSettings } from '../store/store.ts';

const TEN_YEARS = 3650 * 86_400_000;

function twice(field: string, values: readonly string[]): void {
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value)) throw new ValidationError(field, `${JSON.stringify(value)} is given twice`);
    seen.add(value);
  }
}

function checkCopyTo(settings: GroupSettings): void {
  twice('copy_to', settings.copy_to);
  if (settings.copy_to.includes(settings.region)) {
    throw new ValidationError('copy_to', `${JSON.stringify(settings.region)} is the group's own region (region); copies go to the other regions`);
  }
}

async function checkRegions(settings: GroupSettings, ec2: Ec2Source): Promise<void> {
  if (settings.copy_to.length === 0) return;
  let known;
  try {
    known = new Map((await ec2.get(settings.region).listRegions()).map((region) => [region.name, region.optInStatus]));
  } catch (error) {
    const reason = error instanceof AutoamiError ? error.message : String(error);
    throw new ValidationError('copy_to', `cannot check ${settings.copy_to.join(',')} against EC2's regions: ${reason}`, error);
  }
  for (const region of settings.copy_to) {
    const status = known.get(region);
    if (status === undefined) throw new ValidationError('copy_to', `${JSON.stringify(region)} is not a region EC2 knows for this account`);
    if (status === 'not-opted-in') throw new ValidationError('copy_to', `${JSON.stringify(region)} is not enabled for this account; opt in to it first`);
  }
}

function checkKeys(settings: GroupSettings): void {
  if (settings.kms_key.length === 0) return;
  if (!settings.encrypt) throw new ValidationError('kms_key', `${JSON.stringify(settings.kms_key.join(','))} is given without encrypt; add --encrypt`);
  const regions = deliveryRegions(settings);
  twice('kms_key', settings.kms_key.map((entry) => entry.slice(0, entry.indexOf('='))));
  for (const [where, arn] of kmsKeyMap(settings.kms_key)) {
    if (where === 'default') continue;
    if (!regions.includes(where)) throw new ValidationError('kms_key', `${JSON.stringify(where)} is not a region the group delivers to (${regions.join(', ')})`);
    // CopyImage takes the key of the destination region only, a multi-Region key's replica included.
    const { region } = kmsKeyParts(arn);
    if (region !== where) throw new ValidationError('kms_key', `${JSON.stringify(arn)} is a key in ${region}, not ${where}`);
  }
  const fallback = kmsKeyMap(settings.kms_key).get('default');
  for (const region of regions) {
    if (fallback !== undefined && kmsKeyFor(settings, region) === null) {
      throw new ValidationError('kms_key', `default=${fallback} is a key in ${kmsKeyParts(fallback).region} and cannot encrypt in ${region}; add ${region}=KEY_ARN or use a multi-Region key (mrk-)`);
    }
  }
}

/** EC2 refuses to share snapshots encrypted with the account's default key, so every region needs a key of the group's own. */
function checkShares(settings: GroupSettings): void {
  twice('share_with', settings.share_with);
  if (!settings.encrypt || settings.share_with.length === 0) return;
  const without = deliveryRegions(settings).filter((region) => kmsKeyFor(settings, region) === null);
  if (without.length > 0) {
    throw new ValidationError('kms_key', `images shared with ${settings.share_with.join(',')} need a customer managed key in ${without.join(', ')}: EC2 does not share what the default EBS key encrypts`);
  }
}

function checkDeprecation(settings: GroupSettings): void {
  if (settings.deprecate_after === null) return;
  let after: number;
  try {
    after = parseDuration(settings.deprecate_after, 'deprecate_after');
  } catch (error) {
    throw new ValidationError('deprecate_after', `${JSON.stringify(settings.deprecate_after)} must be longer than zero`, error);
  }
  if (after < 60_000) throw new ValidationError('deprecate_after', `${JSON.stringify(settings.deprecate_after)} is under a minute, EC2's granularity`);
  if (after > TEN_YEARS) throw new ValidationError('deprecate_after', `${JSON.stringify(settings.deprecate_after)} is more than 10 years, EC2's limit`);
}

export async function checkDelivery(settings: GroupSettings, ec2: Ec2Source): Promise<void> {
  // The regions first: the keys and shares are judged against them.
  checkCopyTo(settings);
  await checkRegions(settings, ec2);
  checkKeys(settings);
  checkShares(settings);
  checkDeprecation(settings);
}
