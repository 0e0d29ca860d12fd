/** Where a group's images go: its regions, the KMS key in each, and each copy's CopyImage token. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyToken, deliveryRegions, kmsKeyFor, regionalIds } from '../runtime/bake/delivery.ts';

const KEY_EAST = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_WEST = 'arn:aws:kms:eu-west-1:123456789012:key/abcd1234-ab12-cd34-ef56-abcdef123456';
const MRK = 'arn:aws:kms:us-east-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef';

const group = (overrides: Partial<{ copy_to: string[]; encrypt: boolean; kms_key: string[] }> = {}) => ({
  region: 'us-east-1', copy_to: ['eu-west-1', 'ap-southeast-2'], encrypt: true, kms_key: [] as string[], ...overrides,
});

const Regions = suite('deliveryRegions');

Regions('should list the home region first, then the copies in the order given', () => {
  assert.equal(deliveryRegions(group()), ['us-east-1', 'eu-west-1', 'ap-southeast-2']);
  assert.equal(deliveryRegions(group({ copy_to: [] })), ['us-east-1']);
});

Regions('should name an image of the lineage in every region it is in, home first', () => {
  assert.equal(regionalIds({ region: 'us-east-1', image_id: 'ami-0aaaaaaa', copies: { 'eu-west-1': 'ami-0bbbbbbb' } }), [
    ['us-east-1', 'ami-0aaaaaaa'],
    ['eu-west-1', 'ami-0bbbbbbb'],
  ]);
});

Regions.run();

const Keys = suite('kmsKeyFor');

Keys('should give no key when the group does not encrypt, whatever keys it names', () => {
  assert.is(kmsKeyFor(group({ encrypt: false, kms_key: [`default=${KEY_EAST}`] }), 'us-east-1'), null);
});

Keys("should give null (the account's default EBS key) when no key is named", () => {
  assert.is(kmsKeyFor(group(), 'eu-west-1'), null);
});

Keys("should prefer a region's own key to the default", () => {
  const keys = group({ kms_key: [`default=${KEY_EAST}`, `eu-west-1=${KEY_WEST}`] });
  assert.is(kmsKeyFor(keys, 'eu-west-1'), KEY_WEST);
  assert.is(kmsKeyFor(keys, 'us-east-1'), KEY_EAST);
});

Keys('should use a single-Region default key in its own region only', () => {
  assert.is(kmsKeyFor(group({ kms_key: [`default=${KEY_EAST}`] }), 'ap-southeast-2'), null);
});

Keys("should use a multi-Region default key's replica in every region", () => {
  assert.is(kmsKeyFor(group({ kms_key: [`default=${MRK}`] }), 'ap-southeast-2'), MRK.replace('us-east-1', 'ap-southeast-2'));
  assert.is(kmsKeyFor(group({ kms_key: [`default=${MRK}`] }), 'us-east-1'), MRK);
});

Keys.run();

const Tokens = suite('copyToken');

Tokens('should be the same for the same bake and region, on any sidecar', () => {
  assert.is(copyToken('bake-1', 'eu-west-1'), copyToken('bake-1', 'eu-west-1'));
});

Tokens('should differ by bake and by region', () => {
  const tokens = new Set([copyToken('bake-1', 'eu-west-1'), copyToken('bake-1', 'us-west-2'), copyToken('bake-2', 'eu-west-1')]);
  assert.is(tokens.size, 3);
});

Tokens("should fit CopyImage's 64-character ClientToken", () => {
  assert.match(copyToken('a'.repeat(200), 'ap-southeast-2'), /^[0-9a-f]{64}$/);
});

Tokens.run();
