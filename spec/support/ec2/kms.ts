import { createHash } from 'node:crypto';

/**
 * Just enough of KMS for EBS encryption: every identifier form EC2 accepts resolves to a key
 * ARN, and the account's AWS-managed EBS key (alias/aws/ebs) has one fixed key id in every
 * region. There is no key store: any well-formed key exists, in the region its ARN names.
 */
export const DEFAULT_EBS_KEY_ID = '0a1e5d7c-aaaa-4eb5-8d0b-00000000eb50';
export const DEFAULT_EBS_ALIAS = 'alias/aws/ebs';

export interface ResolvedKey {
  arn: string;
  /** The region the key lives in; EBS can only use keys of the volume's own region. */
  region: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEY_ARN = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):key\/(.+)$/;
const ALIAS_ARN = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):(alias\/.+)$/;

export function defaultKeyArn(region: string, accountId: string): string {
  return `arn:aws:kms:${region}:${accountId}:key/${DEFAULT_EBS_KEY_ID}`;
}

export function isDefaultKey(arn: string | undefined): boolean {
  return arn?.endsWith(`:key/${DEFAULT_EBS_KEY_ID}`) ?? false;
}

/** A customer alias stands for a key whose id is derived from the alias, so it is stable. */
function aliasKeyId(alias: string): string {
  const hex = createHash('sha256').update(alias).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function byAlias(alias: string, region: string, accountId: string): ResolvedKey {
  if (alias === DEFAULT_EBS_ALIAS) return { arn: defaultKeyArn(region, accountId), region };
  return { arn: `arn:aws:kms:${region}:${accountId}:key/${aliasKeyId(alias)}`, region };
}

/**
 * Key id, alias, key ARN or alias ARN → the key; bare ids and aliases are looked up in `region`.
 * Undefined when it is none of those: EC2 checks keys only once the work starts, so callers
 * turn that into a failed resource rather than a refused request.
 */
export function resolveKey(keyId: string, region: string, accountId: string): ResolvedKey | undefined {
  if (UUID.test(keyId)) return { arn: `arn:aws:kms:${region}:${accountId}:key/${keyId}`, region };
  if (keyId.startsWith('alias/') && keyId.length > 6) return byAlias(keyId, region, accountId);
  const key = KEY_ARN.exec(keyId);
  if (key) return { arn: keyId, region: key[1] as string };
  const alias = ALIAS_ARN.exec(keyId);
  if (alias) return byAlias(alias[3] as string, alias[1] as string, alias[2] as string);
  return undefined;
}

/** The key a volume in `region` would use, or undefined when EBS could not use it there. */
export function usableKey(keyId: string, region: string, accountId: string): string | undefined {
  const key = resolveKey(keyId, region, accountId);
  return key && key.region === region ? key.arn : undefined;
}
