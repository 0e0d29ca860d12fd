/** new_group's delivery checks: each refusal one ValidationError naming the option and the value. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Ec2Source } from '../runtime/ec2/source.ts';
import type { Ec2, RegionInfo } from '../runtime/ec2/types.ts';
import { Ec2Error, ValidationError } from '../runtime/errors.ts';
import { checkDelivery } from '../runtime/methods/delivery-checks.ts';
import { settings } from './support/fake-bake-env.ts';
import type { GroupSettings } from '../runtime/store/store.ts';

const KEY_EAST = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_WEST = 'arn:aws:kms:eu-west-1:123456789012:key/abcd1234-ab12-cd34-ef56-abcdef123456';
const MRK = 'arn:aws:kms:us-east-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef';

const REGIONS: RegionInfo[] = [
  { name: 'us-east-1', optInStatus: 'opt-in-not-required' },
  { name: 'eu-west-1', optInStatus: 'opt-in-not-required' },
  { name: 'ap-southeast-2', optInStatus: 'opt-in-not-required' },
  { name: 'af-south-1', optInStatus: 'not-opted-in' },
];

/** Only listRegions is asked for; anything else would be a check calling EC2 when it must not. */
function regionsOnly(answer: () => Promise<RegionInfo[]>): Ec2Source & { asked: number } {
  const source = {
    asked: 0,
    get(): Ec2 {
      return new Proxy({} as Ec2, {
        get: (_, name) => {
          if (name !== 'listRegions') throw new Error(`the checks called ${String(name)}`);
          return () => (source.asked++, answer());
        },
      });
    },
  };
  return source;
}

async function refusal(overrides: Partial<GroupSettings>, ec2 = regionsOnly(async () => REGIONS)): Promise<ValidationError> {
  try {
    await checkDelivery(settings({ region: 'us-east-1', ...overrides }), ec2);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(overrides)}`);
}

const Checks = suite('checkDelivery');

Checks('should accept a group that delivers nowhere else without asking EC2', async () => {
  const ec2 = regionsOnly(async () => REGIONS);
  await checkDelivery(settings({ region: 'us-east-1' }), ec2);
  assert.is(ec2.asked, 0);
});

Checks('should accept copies, encryption with keys in every region, shares and deprecation', async () => {
  await checkDelivery(
    settings({
      region: 'us-east-1', copy_to: ['eu-west-1', 'ap-southeast-2'], encrypt: true, kms_key: [`default=${MRK}`, `eu-west-1=${KEY_WEST}`],
      share_with: ['210987654321'], deprecate_after: '90d',
    }),
    regionsOnly(async () => REGIONS),
  );
});

Checks('should refuse a region EC2 does not know, naming it', async () => {
  const error = await refusal({ copy_to: ['eu-west-1', 'xx-nowhere-9'] });
  assert.is(error.field, 'copy_to');
  assert.match(error.message, /"xx-nowhere-9" is not a region EC2 knows/);
});

Checks('should refuse a region the account has not opted in to', async () => {
  const error = await refusal({ copy_to: ['af-south-1'] });
  assert.is(error.field, 'copy_to');
  assert.match(error.message, /"af-south-1" is not enabled for this account/);
});

Checks("should refuse the group's own region as a copy, and a region given twice", async () => {
  assert.match((await refusal({ copy_to: ['us-east-1'] })).message, /^copy_to: "us-east-1" is the group's own region/);
  assert.match((await refusal({ copy_to: ['eu-west-1', 'eu-west-1'] })).message, /^copy_to: "eu-west-1" is given twice/);
});

Checks('should name the option when EC2 cannot be asked', async () => {
  const error = await refusal({ copy_to: ['eu-west-1'] }, regionsOnly(async () => { throw new Ec2Error('UnauthorizedOperation', 'not allowed to DescribeRegions'); }));
  assert.is(error.field, 'copy_to');
  assert.match(error.message, /cannot check eu-west-1 against EC2's regions: not allowed to DescribeRegions/);
});

Checks('should refuse a key without --encrypt', async () => {
  const error = await refusal({ kms_key: [`us-east-1=${KEY_EAST}`] });
  assert.is(error.field, 'kms_key');
  assert.match(error.message, /without encrypt/);
});

Checks('should refuse a key of another region, and a key for a region the group does not use', async () => {
  const other = await refusal({ copy_to: ['eu-west-1'], encrypt: true, kms_key: [`eu-west-1=${KEY_EAST}`] });
  assert.match(other.message, /is a key in us-east-1, not eu-west-1/);
  const unused = await refusal({ encrypt: true, kms_key: [`eu-west-1=${KEY_WEST}`] });
  assert.match(unused.message, /"eu-west-1" is not a region the group delivers to \(us-east-1\)/);
});

Checks('should refuse a single-Region default key that cannot serve a copy region', async () => {
  const error = await refusal({ copy_to: ['eu-west-1'], encrypt: true, kms_key: [`default=${KEY_EAST}`] });
  assert.is(error.field, 'kms_key');
  assert.match(error.message, /cannot encrypt in eu-west-1; add eu-west-1=KEY_ARN or use a multi-Region key/);
});

Checks("should refuse sharing images encrypted with the account's default key", async () => {
  const error = await refusal({ copy_to: ['eu-west-1'], encrypt: true, kms_key: [`us-east-1=${KEY_EAST}`], share_with: ['210987654321'] });
  assert.is(error.field, 'kms_key');
  assert.match(error.message, /need a customer managed key in eu-west-1/);
});

Checks('should refuse a deprecation under a minute or beyond ten years', async () => {
  assert.match((await refusal({ deprecate_after: '30s' })).message, /^deprecate_after: "30s" is under a minute/);
  assert.match((await refusal({ deprecate_after: '3651d' })).message, /^deprecate_after: "3651d" is more than 10 years/);
  assert.match((await refusal({ deprecate_after: '0d' })).message, /^deprecate_after: "0d" must be longer than zero/);
});

Checks.run();
