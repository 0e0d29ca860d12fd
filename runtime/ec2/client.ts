/**
 * The one place an EC2Client is built. Credentials are never configured here: with no
 * `aws.profile` the SDK walks its standard chain (environment, shared files, SSO, the
 * instance's IMDS role), which is what an operator running on EC2 expects.
 */
import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import type { Config } from '../config.ts';

export interface Ec2ClientOptions {
  /** Attempts per call, the first included. Default 10: EC2 throttles busy accounts often. */
  readonly maxAttempts?: number;
  /** Default 5 s: an unreachable endpoint should fail fast rather than hang a bake. */
  readonly connectTimeoutMs?: number;
  /** Default 60 s; Describe calls on large accounts can be slow but never this slow. */
  readonly requestTimeoutMs?: number;
}

const DEFAULT_MAX_ATTEMPTS = 10;

/** What EC2 needs of the `aws` settings. */
export type Ec2Settings = Pick<Config['aws'], 'region' | 'endpoint' | 'profile'>;

export function createEc2Client(aws: Ec2Settings, region?: string, options: Ec2ClientOptions = {}): EC2Client {
  const config: EC2ClientConfig = {
    region: region ?? aws.region,
    // Adaptive adds a client-side rate limiter on top of backoff, so a sidecar baking many
    // groups slows itself down instead of burning its retries against RequestLimitExceeded.
    retryMode: 'adaptive',
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: options.connectTimeoutMs ?? 5_000,
      requestTimeout: options.requestTimeoutMs ?? 60_000,
    },
  };
  if (aws.endpoint !== undefined) config.endpoint = aws.endpoint;
  if (aws.profile !== undefined) config.profile = aws.profile;
  return new EC2Client(config);
}
