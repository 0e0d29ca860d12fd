/** SDK calls with failures mapped to Ec2Error, and the paged Describe calls everything builds on. */
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  type DescribeImagesCommandInput,
  type EC2Client,
  type Filter,
} from '@aws-sdk/client-ec2';
import type { Ec2Error } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import { toEc2Error, type CallContext } from './failures.ts';
import { toImageInfo, toInstanceInfo } from './records.ts';
import type { ImageInfo, InstanceInfo } from './types.ts';

export type Call = Omit<CallContext, 'region' | 'endpoint'>;

export class Ec2Calls {
  readonly client: EC2Client;
  readonly region: string;
  readonly endpoint: string;
  readonly #metrics: Metrics;

  constructor(client: EC2Client, region: string, endpoint: string, metrics: Metrics) {
    this.client = client;
    this.region = region;
    this.endpoint = endpoint;
    this.#metrics = metrics;
    metrics.watchEc2Client(client);
  }

  /** Every EC2 call goes through here: failures mapped, each call counted by action. */
  async call<T>(context: Call, send: (client: EC2Client) => Promise<T>): Promise<T> {
    try {
      const answer = await send(this.client);
      this.#metrics.ec2Called(context.action, null);
      return answer;
    } catch (error) {
      const failure = toEc2Error(error, { ...context, region: this.region, endpoint: this.endpoint });
      this.#metrics.ec2Called(context.action, failure);
      throw failure;
    }
  }

  /** The error EC2 would have sent, for cases decided without (or after) a round trip. */
  failure(code: string, message: string, context: Call): Ec2Error {
    return toEc2Error(Object.assign(new Error(message), { name: code }), { ...context, region: this.region, endpoint: this.endpoint });
  }

  /** Every page; by filter, so an id EC2 does not show yet is absent rather than an error. */
  async instances(Filters: Filter[]): Promise<Map<string, InstanceInfo>> {
    const out = new Map<string, InstanceInfo>();
    let NextToken: string | undefined;
    do {
      const page = await this.call({ action: 'DescribeInstances' }, (c) => c.send(new DescribeInstancesCommand({ Filters, NextToken })));
      for (const reservation of page.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          if (instance.InstanceId) out.set(instance.InstanceId, toInstanceInfo(instance));
        }
      }
      NextToken = page.NextToken || undefined;
    } while (NextToken);
    return out;
  }

  async images(input: Omit<DescribeImagesCommandInput, 'NextToken'>, context: Call = { action: 'DescribeImages' }): Promise<Map<string, ImageInfo>> {
    const out = new Map<string, ImageInfo>();
    let NextToken: string | undefined;
    do {
      const page = await this.call(context, (c) => c.send(new DescribeImagesCommand({ ...input, NextToken })));
      for (const image of page.Images ?? []) if (image.ImageId) out.set(image.ImageId, toImageInfo(image));
      NextToken = page.NextToken || undefined;
    } while (NextToken);
    return out;
  }
}
