/**
 * The SSM and Auto Scaling clients, built as the EC2 one is (runtime/ec2/client.ts): the
 * SDK's own credential chain unless `aws.profile` names one, adaptive retries, short
 * connect timeouts, and `aws.endpoints` for a private or stand-in endpoint.
 */
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Config } from '../config.ts';

const MAX_ATTEMPTS = 10;

function common(aws: Config['aws'], region: string, endpoint: string | undefined) {
  return {
    region,
    // Adaptive slows every call of the client down once the service throttles, rather than
    // spending the retries of a publish against ThrottlingException.
    retryMode: 'adaptive',
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
    ...(endpoint !== undefined && { endpoint }),
    ...(aws.profile !== undefined && { profile: aws.profile }),
  };
}

export async function createSsmClient(aws: Config['aws'], region: string): Promise<SSMClient> {
  const { SSMClient } = await import('@aws-sdk/client-ssm');
  return new SSMClient(common(aws, region, aws.endpoints.ssm));
}

export async function createAutoScalingClient(aws: Config['aws'], region: string): Promise<AutoScalingClient> {
  const { AutoScalingClient } = await import('@aws-sdk/client-auto-scaling');
  return new AutoScalingClient(common(aws, region, aws.endpoints.autoscaling));
}
