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
  readonly launchTemplate?: string;
  /** Another region the call names (CopyImage's source), for messages. */
  readonly sourceRegion?: string;
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
const PERMISSION_CODES = new Set(['UnauthorizedOperation', 'AuthFailure', 'AccessDenied', 'AccessDeniedException', 'Blocked']);
/**
 * EC2 here does not know the action: an older partition, a region that has not got it yet,
 * or an endpoint that is not quite EC2. A caller with another way to the same answer takes it.
 */
const UNSUPPORTED_ACTION_CODES = new Set(['InvalidAction', 'UnsupportedOperation']);
const REJECTED_CREDENTIAL_CODES = new Set(['InvalidClientTokenId', 'SignatureDoesNotMatch', 'ExpiredToken', 'RequestExpired']);

/** [field, noun, context key] of an error that names a missing or malformed resource. */
const RESOURCE_CODES: Record<string, readonly [string, string, keyof CallContext]> = {
  'InvalidAMIID.NotFound': ['image', 'image', 'image'],
  'InvalidAMIID.Malformed': ['image', 'image', 'image'],
  'InvalidAMIID.Unavailable': ['image', 'image', 'image'],
  'InvalidInstanceID.NotFound': ['instance', 'instance', 'instance'],
  'InvalidInstanceID.Malformed': ['instance', 'instance', 'instance'],
  'InvalidSnapshot.NotFound': ['snapshot', 'snapshot', 'snapshot'],
  'InvalidSnapshotID.Malformed': ['snapshot', 'snapshot', 'snapshot'],
  'InvalidLaunchTemplateId.NotFound': ['launch_template', 'launch template', 'launchTemplate'],
  'InvalidLaunchTemplateId.Malformed': ['launch_template', 'launch template', 'launchTemplate'],
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

/** EC2 answered that it does not offer the action at all (InvalidAction, UnsupportedOperation). */
export function isUnsupportedAction(error: unknown): boolean {
  return UNSUPPORTED_ACTION_CODES.has(error instanceof Ec2Error ? error.awsCode : awsCodeOf(error));
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
    // CopyImage names its image in the source region, not the one the call is sent to.
    const where = key === 'image' && ctx.sourceRegion ? ctx.sourceRegion : ctx.region;
    let what: string;
    if (id === undefined) what = `${e.message} in ${where}`;
    else if (code.endsWith('.Malformed')) what = `${JSON.stringify(id)} is not a valid ${noun} id`;
    else if (code.endsWith('.Unavailable')) what = `${id} is not available in ${where}: ${e.message}`;
    else what = `${id} does not exist in ${where}`;
    return new Ec2Error(code, `${field}: ${what} (${code})`, { ...cause, field });
  }
  if (code === 'InsufficientInstanceCapacity' || code === 'InsufficientCapacity') {
    const type = ctx.instanceType ?? 'this instance type';
    return new Ec2Error(code, `no capacity for ${type} in ${ctx.region} now; retry later or choose another type/subnet (${code})`, { ...cause, field: 'type' });
  }
  if (code === 'OptInRequired') {
    // Not the credentials: the account has not enabled the region (or subscribed to the image's product).
    const where = ctx.sourceRegion && ctx.sourceRegion !== ctx.region ? `${ctx.region} or ${ctx.sourceRegion}` : ctx.region;
    const message = `ec2:${ctx.action} needs an opt-in: enable ${where} for the account (or subscribe to the image's product): ${e.message} (${code})`;
    return new Ec2Error(code, message, { ...cause, field: 'region' });
  }
  if (UNSUPPORTED_ACTION_CODES.has(code)) {
    return new Ec2Error(code, `EC2 at ${ctx.endpoint} does not offer ${ctx.action} in ${ctx.region}: ${e.message} (${code})`, cause);
  }
  if (PERMISSION_CODES.has(code)) {
    const on = ctx.image ?? ctx.instance ?? ctx.snapshot;
    // EC2 also answers AuthFailure for a region the account has not enabled, and says no more.
    const hint = code === 'AuthFailure' ? `; or ${ctx.region} is an opt-in region the account has not enabled` : '';
    return new Ec2Error(code, `credentials lack permission for ec2:${ctx.action}${on ? ` on ${on}` : ''} in ${ctx.region}: ${e.message}${hint} (${code})`, cause);
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
