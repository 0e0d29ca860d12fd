/**
 * SDK errors → Ec2Error with words an operator can act on. EC2's own code always stays
 * in `awsCode` (and at the end of the message) and the SDK error in `cause`, so nothing
 * is lost for whoever debugs further.
 */
import { Ec2Error } from '../errors.ts';

/** What a call was about, so a failure can name it. */
export interface CallContext {
  /** EC2 action, e.g. RunInstances. */
  readonly action: string;
  readonly region: string;
  /** Where the SDK sends requests, for "cannot reach" messages. */
  readonly endpoint: string;
  readonly image?: string;
  readonly instance?: string;
  readonly snapshot?: string;
  readonly instanceType?: string;
  readonly keyname?: string;
  readonly subnet?: string;
  readonly securityGroup?: string;
}

type SdkErrorLike = Error & {
  Code?: string;
  code?: string;
  errors?: unknown[];
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
};

const NETWORK_CODES = new Set([
  'ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED',
]);
const THROTTLING_CODES = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'RequestThrottled', 'EC2ThrottledException']);
const PERMISSION_CODES = new Set(['UnauthorizedOperation', 'AuthFailure', 'AccessDenied', 'AccessDeniedException', 'OptInRequired', 'Blocked']);
const REJECTED_CREDENTIAL_CODES = new Set(['InvalidClientTokenId', 'SignatureDoesNotMatch', 'ExpiredToken', 'RequestExpired']);

/** [field, noun, context key] of an error that names a missing or malformed resource. */
const RESOURCE_CODES: Record<string, readonly [string, string, keyof CallContext]> = {
  'InvalidAMIID.NotFound': ['image', 'image', 'image'],
  'InvalidAMIID.Malformed': ['image', 'image', 'image'],
  'InvalidAMIID.Unavailable': ['image', 'image', 'image'],
  'InvalidInstanceID.NotFound': ['instance', 'instance', 'instance'],
  'InvalidInstanceID.Malformed': ['instance', 'instance', 'instance'],
  'InvalidSnapshot.NotFound': ['snapshot', 'snapshot', 'snapshot'],
  'InvalidKeyPair.NotFound': ['keyname', 'key pair', 'keyname'],
  'InvalidSubnetID.NotFound': ['subnet', 'subnet', 'subnet'],
  'InvalidGroup.NotFound': ['security_group', 'security group', 'securityGroup'],
};

function asSdkError(error: unknown): SdkErrorLike {
  return (error instanceof Error ? error : new Error(String(error))) as SdkErrorLike;
}

/** Node's socket error code, looking through AggregateError (happy eyeballs) and `cause`. */
function networkCode(error: unknown, depth = 0): string | undefined {
  if (depth > 4 || error === null || typeof error !== 'object') return undefined;
  const e = error as SdkErrorLike;
  if (e.name === 'TimeoutError') return 'TimeoutError';
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
  for (const inner of e.errors ?? []) {
    const code = networkCode(inner, depth + 1);
    if (code) return code;
  }
  return networkCode((e as { cause?: unknown }).cause, depth + 1);
}

function awsCodeOf(error: unknown): string {
  const e = asSdkError(error);
  return e.Code ?? networkCode(e) ?? e.name;
}

/** EC2 refused for its request rate (an SDK error, or an Ec2Error after the retries). */
export function isThrottling(error: unknown): boolean {
  return THROTTLING_CODES.has(error instanceof Ec2Error ? error.awsCode : awsCodeOf(error));
}

/** Worth asking again later: throttling, EC2-side trouble, the network. Never a client error. */
export function isRetryable(error: unknown): boolean {
  // Judge an already-mapped failure by the SDK error it wraps.
  const e = asSdkError(error instanceof Ec2Error && error.cause !== undefined ? error.cause : error);
  if (THROTTLING_CODES.has(awsCodeOf(e)) || networkCode(e)) return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && status >= 500;
}

function isCredentialProviderError(e: SdkErrorLike): boolean {
  return e.name === 'CredentialsProviderError' || (e.$metadata?.httpStatusCode === undefined && /could not load credentials/i.test(e.message));
}

export function toEc2Error(error: unknown, ctx: CallContext): Ec2Error {
  if (error instanceof Ec2Error) return error;
  const e = asSdkError(error);
  const cause = { cause: error };
  const net = networkCode(e);
  if (net) {
    const hint = net === 'ENOTFOUND' || net === 'EAI_AGAIN' ? '; is aws.region (or aws.endpoint) right?' : '';
    return new Ec2Error(net, `cannot reach EC2 in ${ctx.region} at ${ctx.endpoint} (${net}: ${e.message})${hint}`, cause);
  }
  if (isCredentialProviderError(e)) {
    return new Ec2Error(
      'NoCredentials',
      `no AWS credentials found: ${e.message}; set aws.profile, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or give this host an instance role`,
      cause,
    );
  }
  const code = awsCodeOf(e);
  const resource = RESOURCE_CODES[code];
  if (resource) {
    const [field, noun, key] = resource;
    const id = ctx[key];
    let what: string;
    if (id === undefined) what = `${e.message} in ${ctx.region}`;
    else if (code.endsWith('.Malformed')) what = `${JSON.stringify(id)} is not a valid ${noun} id`;
    else if (code.endsWith('.Unavailable')) what = `${id} is not available in ${ctx.region}: ${e.message}`;
    else what = `${id} does not exist in ${ctx.region}`;
    return new Ec2Error(code, `${field}: ${what} (${code})`, { ...cause, field });
  }
  if (code === 'InsufficientInstanceCapacity' || code === 'InsufficientCapacity') {
    const type = ctx.instanceType ?? 'this instance type';
    return new Ec2Error(code, `no capacity for ${type} in ${ctx.region} now; retry later or choose another type/subnet (${code})`, { ...cause, field: 'type' });
  }
  if (PERMISSION_CODES.has(code)) {
    const on = ctx.image ?? ctx.instance ?? ctx.snapshot;
    return new Ec2Error(code, `credentials lack permission for ec2:${ctx.action}${on ? ` on ${on}` : ''} in ${ctx.region}: ${e.message} (${code})`, cause);
  }
  if (REJECTED_CREDENTIAL_CODES.has(code)) {
    return new Ec2Error(code, `EC2 in ${ctx.region} rejected the AWS credentials: ${e.message} (${code})`, cause);
  }
  if (THROTTLING_CODES.has(code)) {
    return new Ec2Error(code, `EC2 kept throttling ${ctx.action} in ${ctx.region} after every retry; try again later (${code})`, cause);
  }
  return new Ec2Error(code, `${ctx.action} failed in ${ctx.region}: ${e.message} (${code})`, cause);
}

/** EC2 errors past the SDK's own retries that still say "not now" rather than "no". */
const PASSING_CODES = new Set([...THROTTLING_CODES, ...NETWORK_CODES, 'TimeoutError', 'ServiceUnavailable', 'Unavailable', 'InternalError']);

/**
 * Whether a bake should wait out this failure (its deadline bounds the wait) instead of
 * ending on it. Capacity shortages are not among them: they tend to last, and the operator
 * has a choice to make (another type or subnet), so the bake ends and says so.
 */
export function isPassingEc2Failure(error: unknown): boolean {
  return error instanceof Ec2Error && PASSING_CODES.has(error.awsCode);
}
