/**
 * An Ec2Adapter on a fresh EC2 endpoint, for the adapter's specs (spec/ec2-adapter-*.test.ts
 * and spec/ec2-regions.test.ts), with the launch and image requests they make.
 */
import { randomUUID } from 'node:crypto';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { Ec2Adapter, type Ec2AdapterOptions } from '../../runtime/ec2/adapter.ts';
import { createEc2Client, type Ec2ClientOptions } from '../../runtime/ec2/client.ts';
import type { LaunchSpec } from '../../runtime/ec2/types.ts';
import { Metrics } from '../../runtime/metrics.ts';
import { DEBIAN_12_IMAGE_ID, startEc2Endpoint, type Ec2Endpoint, type Ec2EndpointOptions } from './ec2-endpoint.ts';
import { rejects } from './rejects.ts';

// The SDK's standard chain finds these first; the rest keeps the suite off this machine's AWS setup.
process.env.AWS_ACCESS_KEY_ID = 'AKIDTEST';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
process.env.AWS_CONFIG_FILE = '/nonexistent/autoami-test/config';
process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/autoami-test/credentials';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
delete process.env.AWS_PROFILE;
delete process.env.AWS_SESSION_TOKEN;

export const POLL_MS = 20;

export interface Rig {
  ep: Ec2Endpoint;
  ec2: Ec2Adapter;
  client: EC2Client;
}

export interface RigOptions {
  endpoint?: Ec2EndpointOptions;
  client?: Ec2ClientOptions;
  adapter?: Partial<Ec2AdapterOptions>;
}

export async function withRig(options: RigOptions, body: (rig: Rig) => Promise<void>): Promise<void> {
  const ep = await startEc2Endpoint(options.endpoint);
  const client = createEc2Client({ region: 'us-east-1', endpoint: ep.url, profile: undefined }, undefined, options.client);
  const ec2 = new Ec2Adapter({ client, region: 'us-east-1', endpoint: ep.url, pollIntervalMs: POLL_MS, metrics: Metrics.off(), ...options.adapter });
  try {
    await body({ ep, ec2, client });
  } finally {
    client.destroy();
    await ep.stop();
  }
}

export function launchSpec(overrides: Partial<LaunchSpec> = {}): LaunchSpec {
  return {
    image: DEBIAN_12_IMAGE_ID,
    type: 't3.micro',
    keyname: 'bake-key',
    subnet: 'subnet-0123456789abcdef0',
    securityGroup: 'sg-0123456789abcdef0',
    userData: '#!/bin/sh\necho "hello from autoami"\n',
    clientToken: randomUUID(),
    tags: { 'autoami:group': 'web', 'autoami:bake': 'b-1', Name: 'autoami-web' },
    encryptRoot: null,
    ...overrides,
  };
}

/**
 * A wait's deadline. Waits that should end on their own get HANG_MS, which only bounds a
 * hang (the endpoint moves states in milliseconds, but two busy cores may starve a test for
 * seconds); only the tests of the timeout itself give a short one.
 */
export const HANG_MS = 120_000;
export const within = (ms = HANG_MS): { deadline: number } => ({ deadline: Date.now() + ms });

export const rejection = (promise: Promise<unknown>): Promise<Error> => rejects(promise);

export async function running(rig: Rig, overrides: Partial<LaunchSpec> = {}): Promise<string> {
  const instance = await rig.ec2.launch(launchSpec(overrides));
  await rig.ec2.waitForInstance(instance.id, ['running'], within());
  return instance.id;
}

export const imageSpec = (instanceId: string, name: string) => ({
  instanceId,
  name,
  description: `AutoAMI bake of ${name}`,
  noReboot: true,
  tags: { 'autoami:group': 'web', 'autoami:parent-image': DEBIAN_12_IMAGE_ID },
});
