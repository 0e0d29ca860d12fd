/**
 * How a group names the base image it follows: an SSM parameter holding an image id (AWS
 * publishes them, e.g. /aws/service/debian/release/12/latest/amd64), or an AMI name pattern
 * and its owner. Resolving either is in runtime/bake/base-image.ts. The sidecar alone checks
 * these: SSM names hold `/`, which Puppet's regular expression literals end at (see arns.ts).
 */
import { PATTERNS } from './patterns.ts';
import { SSM_PARAMETER_NAME } from './targets.ts';

export const BASE_PARAMETER_WORDS = 'an SSM parameter name holding an image id, such as /aws/service/debian/release/12/latest/amd64';

/**
 * An AMI name as EC2 allows one (3 to 128 of letters, digits, ( ) [ ] space . / - ' @ _),
 * with the filter wildcards * and ?; a pattern may be shorter than a name, as `debian-*` is.
 */
export const AMI_NAME_PATTERN = "[a-zA-Z0-9()\\[\\] ./'@_*?-]{1,128}";
export const AMI_NAME_PATTERN_WORDS = "an AMI name pattern such as debian-12-amd64-* (letters, digits, ( ) [ ] space . / - ' @ _, and * or ? as wildcards)";

/** The owner aliases DescribeImages takes besides an account id. */
export const OWNER_ALIASES = ['self', 'amazon', 'aws-marketplace'] as const;
export const BASE_OWNER_WORDS = `a 12-digit AWS account id or ${OWNER_ALIASES.join(', ')}`;

export const baseParameterPattern = (): RegExp => new RegExp(`^${SSM_PARAMETER_NAME}$`);
export const amiNamePattern = (): RegExp => new RegExp(`^${AMI_NAME_PATTERN}$`);
export const baseOwnerPattern = (): RegExp => new RegExp(`^(${PATTERNS.account_id}|${OWNER_ALIASES.join('|')})$`);
