/**
 * The client side of the EC2 endpoint's own specs (spec/ec2-endpoint-*.test.ts): an SDK client
 * for a fresh endpoint, and the few calls those specs make over and over.
 */
import * as assert from 'uvu/assert';
import {
  CreateImageCommand,
  DescribeInstancesCommand,
  EC2Client,
  EC2ServiceException,
  RunInstancesCommand,
  type EC2ClientConfig,
  type Instance,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { DEBIAN_12_IMAGE_ID, startEc2Endpoint, type Ec2Endpoint, type Ec2EndpointOptions } from './ec2-endpoint.ts';

export const CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' };

export function clientFor(ep: Ec2Endpoint, extra: EC2ClientConfig = {}): EC2Client {
  return new EC2Client({ endpoint: ep.url, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1, ...extra });
}

/** A fresh endpoint on a manual clock (tests move time themselves) and a client for it. */
export async function withEc2(
  options: Ec2EndpointOptions,
  body: (ep: Ec2Endpoint, ec2: EC2Client) => Promise<void>,
): Promise<void> {
  const ep = await startEc2Endpoint({ manualClock: true, ...options });
  const ec2 = clientFor(ep);
  try {
    await body(ep, ec2);
  } finally {
    ec2.destroy();
    await ep.stop();
  }
}

export type SdkError = EC2ServiceException & { Code?: string };

export async function rejection(promise: Promise<unknown>): Promise<SdkError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EC2ServiceException) return error as SdkError;
    throw error;
  }
  assert.unreachable('expected the call to fail');
  throw new Error('unreachable');
}

export async function launch(ec2: EC2Client, input: Partial<RunInstancesCommandInput> = {}): Promise<Instance[]> {
  const reply = await ec2.send(new RunInstancesCommand({ ImageId: DEBIAN_12_IMAGE_ID, MinCount: 1, MaxCount: 1, ...input }));
  return reply.Instances ?? [];
}

export async function launchOne(ec2: EC2Client, input: Partial<RunInstancesCommandInput> = {}): Promise<string> {
  const [instance] = await launch(ec2, input);
  assert.ok(instance?.InstanceId);
  return instance.InstanceId;
}

export async function describeOne(ec2: EC2Client, instanceId: string): Promise<Instance> {
  const reply = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  const instance = reply.Reservations?.[0]?.Instances?.[0];
  assert.ok(instance, `no instance ${instanceId} in reply`);
  return instance;
}

export async function runningInstance(ep: Ec2Endpoint, ec2: EC2Client, input: Partial<RunInstancesCommandInput> = {}): Promise<string> {
  const id = await launchOne(ec2, input);
  ep.clock.advance(1000);
  return id;
}

export async function bakeImage(ep: Ec2Endpoint, ec2: EC2Client, name: string): Promise<string> {
  const instanceId = await runningInstance(ep, ec2);
  const { ImageId } = await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: name }));
  assert.ok(ImageId);
  ep.clock.advance(1000);
  return ImageId;
}

/** An EC2 id: the prefix and 17 hex digits. */
export const ID17 = (prefix: string): RegExp => new RegExp(`^${prefix}-[0-9a-f]{17}$`);
