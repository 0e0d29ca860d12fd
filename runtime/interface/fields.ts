/**
 * Field shapes used by more than one method. Each is `as const`, so a method built from
 * them keeps the literal facts (`required: true`, `type: 'integer'`) its params type is
 * inferred from.
 */
import { ARNS, ARN_WORDS } from './arns.ts';
import { PATTERNS, PATTERN_WORDS, jsPattern } from './patterns.ts';
import type { FieldDef } from './schema.ts';

export const groupName = {
  type: 'string',
  summary: 'The group (role) name',
  placeholder: 'NAME',
  required: true,
  pattern: jsPattern('group_name'),
  expected: PATTERN_WORDS.group_name,
} as const satisfies FieldDef;

export const amiId = {
  type: 'string',
  summary: 'An AMI id',
  placeholder: 'AMI',
  pattern: jsPattern('image_id'),
  expected: PATTERN_WORDS.image_id,
} as const satisfies FieldDef;

export const hostName = {
  type: 'string',
  summary: 'A host name',
  placeholder: 'HOST',
  maxLength: 253,
  pattern: /^(?=.{1,253}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/,
  expected: 'a DNS host name such as puppet.example.com',
} as const satisfies FieldDef;

export const region = {
  type: 'string',
  summary: 'AWS region',
  placeholder: 'REGION',
  maxLength: 32,
  pattern: jsPattern('region'),
  expected: PATTERN_WORDS.region,
} as const satisfies FieldDef;

export const subnetId = {
  type: 'string',
  summary: 'VPC subnet to launch into',
  placeholder: 'SUBNET',
  pattern: jsPattern('subnet_id'),
  expected: PATTERN_WORDS.subnet_id,
} as const satisfies FieldDef;

export const securityGroupId = {
  type: 'string',
  summary: 'Security group for the instance',
  placeholder: 'SG',
  pattern: jsPattern('security_group_id'),
  expected: PATTERN_WORDS.security_group_id,
} as const satisfies FieldDef;

export const instanceType = {
  type: 'string',
  summary: 'EC2 instance type',
  placeholder: 'TYPE',
  maxLength: 64,
  pattern: /^[a-z][a-z0-9-]*\.[a-z0-9]+$/,
  expected: 'an instance type such as t3.micro',
} as const satisfies FieldDef;

/** Free-form names (key pairs, node groups, logins to the console): printable text. */
export function label(summary: string, placeholder: string, maxLength = 255) {
  return { type: 'string', summary, placeholder, maxLength } as const satisfies FieldDef;
}

/** Who a group's images are shared with: an account, an organization or an organizational unit. */
export const sharePrincipal = {
  type: 'string[]',
  summary: 'Accounts (12 digits), organization ARNs or OU ARNs that may launch the images, comma-separated',
  placeholder: 'ACCOUNT|ARN[,...]',
  maxLength: 256,
  pattern: new RegExp(`^(${PATTERNS.account_id}|${ARNS.org}|${ARNS.ou})$`),
  expected: `${PATTERN_WORDS.account_id}, ${ARN_WORDS.org} or ${ARN_WORDS.ou}`,
} as const satisfies FieldDef;

/** `REGION=KEY_ARN`, or `default=KEY_ARN` for every region without its own. */
export const kmsKeyMapping = {
  type: 'string[]',
  summary: 'KMS key for the encrypted images, per region (REGION=KEY_ARN) or for all (default=KEY_ARN), comma-separated',
  placeholder: 'REGION=KEY_ARN[,...]',
  maxLength: 512,
  pattern: new RegExp(`^(default|${PATTERNS.region})=${ARNS.kms_key}$`),
  expected: `REGION=ARN or default=ARN, the ARN ${ARN_WORDS.kms_key}`,
} as const satisfies FieldDef;
