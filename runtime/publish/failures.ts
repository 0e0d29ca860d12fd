/**
 * SSM and Auto Scaling failures in an operator's words. They are Ec2Errors (ErrorCode.Ec2
 * covers every AWS call the sidecar makes), so the engine waits out the same "not now"
 * failures (throttling, the network, 5xx) it waits out for EC2.
 */
import { Ec2Error } from '../errors.ts';
import { isRetryable, toEc2Error } from '../ec2/failures.ts';

export type Service = 'ssm' | 'autoscaling' | 'ec2';

export interface ServiceCall {
  readonly service: Service;
  readonly action: string;
  readonly region: string;
  readonly endpoint: string;
  /** What the call is about, e.g. the parameter or Auto Scaling group, for the message. */
  readonly subject?: string;
}

type SdkError = Error & { $metadata?: { httpStatusCode?: number } };

const PERMISSION = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation']);
const REJECTED = new Set(['UnrecognizedClientException', 'InvalidClientTokenId', 'SignatureDoesNotMatch', 'ExpiredToken', 'ExpiredTokenException']);
const THROTTLED = new Set(['ThrottlingException', 'Throttling', 'TooManyUpdates']);

export function toServiceError(error: unknown, call: ServiceCall): Ec2Error {
  if (error instanceof Ec2Error) return error;
  const e = (error instanceof Error ? error : new Error(String(error))) as SdkError;
  const on = call.subject ? ` on ${call.subject}` : '';
  // Network and credential failures read the same for every service: say so in EC2's words, then name the service.
  const generic = toEc2Error(error, { action: call.action, region: call.region, endpoint: call.endpoint });
  const code = generic.awsCode;
  const cause = { cause: error };
  if (PERMISSION.has(code)) return new Ec2Error(code, `credentials lack permission for ${call.service}:${call.action}${on} in ${call.region}: ${e.message} (${code})`, cause);
  if (REJECTED.has(code)) {
    return new Ec2Error(code, `${call.service} in ${call.region} rejected the AWS credentials (or the account has not enabled the region): ${e.message} (${code})`, cause);
  }
  if (THROTTLED.has(code)) return new Ec2Error('Throttling', `${call.service} kept throttling ${call.action} in ${call.region} after every retry; try again later (${code})`, cause);
  if (generic.message.startsWith('cannot reach EC2')) {
    return new Ec2Error(code, generic.message.replace('cannot reach EC2', `cannot reach ${call.service}`).replace('aws.endpoint', `aws.endpoints.${call.service}`), cause);
  }
  if (code === 'NoCredentials') return generic;
  const status = e.$metadata?.httpStatusCode;
  const passing = isRetryable(error) && status !== undefined && status >= 500 ? 'InternalError' : code;
  return new Ec2Error(passing, `${call.service}:${call.action}${on} failed in ${call.region}: ${e.message} (${code})`, cause);
}
