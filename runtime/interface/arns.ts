/**
 * ARN shapes the sidecar alone checks (delivery options). They hold `/`, which the shared
 * patterns (patterns.ts) leave out because Puppet's regular expression literals end at it,
 * and no other language needs them.
 */
import { PATTERNS } from './patterns.ts';

const partition = 'arn:aws(-[a-z]+)*';

export const ARNS = {
  /** An AWS Organizations organization. */
  org: `${partition}:organizations::[0-9]{12}:organization/o-[a-z0-9]{10,32}`,
  /** An organizational unit. */
  ou: `${partition}:organizations::[0-9]{12}:ou/o-[a-z0-9]{10,32}/ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}`,
  /** A KMS key (single- or multi-Region), as CopyImage and RunInstances take KmsKeyId. */
  kms_key: `${partition}:kms:${PATTERNS.region}:[0-9]{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`,
} as const;

export const ARN_WORDS: Readonly<Record<keyof typeof ARNS, string>> = {
  org: 'an organization ARN such as arn:aws:organizations::123456789012:organization/o-exampleorgid',
  ou: 'an organizational unit ARN such as arn:aws:organizations::123456789012:ou/o-exampleorgid/ou-ab12-cd34ef56',
  kms_key: 'a KMS key ARN such as arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
};

export const arnPattern = (name: keyof typeof ARNS): RegExp => new RegExp(`^${ARNS[name]}$`);
