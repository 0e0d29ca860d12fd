/**
 * SDK calls with failures mapped to Ec2Error, and the paged Describe calls everything builds on.
 *
 * The SDK is only imported for the first call, never with this module: @aws-sdk/client-ec2
 * alone costs most of a second and ~85 MB, and a sidecar must answer reports and faces at once.
 */
import type { DescribeImagesCommandInput, EC2Client, Filter, Image } from '@aws-sdk/client-ec2';
import type { Config } from '../config.ts';
import type { Ec2Error } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import { toEc2Error, type CallContext } from './failures.ts';
import { toImageInfo, toInstanceInfo } from './records.ts';
import type { ImageInfo, InstanceInfo } from './types.ts';

export type Call = Omit<CallContext, 'region' | 'endpoint'>;

/** The SDK module, for its command classes. */
export type Sdk = typeof import('@aws-sdk/client-ec2');

/** A client, or how to make one when the first call needs it (and the SDK is loaded anyway). */
export type ClientSource = EC2Client | (() => Promise<EC2Client>);

/** What error messages call "where": the configured endpoint, else the regional one. */
export function endpointLabel(aws: Pick<Config['aws'], 'endpoint'>, region: string): string {
  return aws.endpoint ?? `https://ec2.${region}.amazonaws.com`;
}

export class Ec2Calls {
  readonly region: string;
  readonly endpoint: string;
  readonly #metrics: Metrics;
  readonly #source: ClientSource;
  #ready: Promise<{ client: EC2Client; sdk: Sdk }> | undefined;

  constructor(client: ClientSource, region: string, endpoint: string, metrics: Metrics) {
    this.#source = client;
    this.region = region;
    this.endpoint = endpoint;
    this.#metrics = metrics;
  }

  #connect(): Promise<{ client: EC2Client; sdk: Sdk }> {
    this.#ready ??= (async () => {
      const source = this.#source;
      const [sdk, client] = await Promise.all([import('@aws-sdk/client-ec2'), typeof source === 'function' ? source() : source]);
      this.#metrics.watchEc2Client(client);
      return { client, sdk };
    })().catch((error: unknown) => {
      // Not kept: the next call tries again rather than failing the same way for good.
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  /** Every EC2 call goes through here: failures mapped, each call counted by action. */
  async call<T>(context: Call, send: (client: EC2Client, sdk: Sdk) => Promise<T>): Promise<T> {
    const { client, sdk } = await this.#connect();
    try {
      const answer = await send(client, sdk);
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
    const pages = await this.pages({ action: 'DescribeInstances' }, (c, sdk, NextToken) => c.send(new sdk.DescribeInstancesCommand({ Filters, NextToken })));
    const out = new Map<string, InstanceInfo>();
    for (const reservation of pages.flatMap((page) => page.Reservations ?? [])) {
      for (const instance of reservation.Instances ?? []) {
        if (instance.InstanceId) out.set(instance.InstanceId, toInstanceInfo(instance));
      }
    }
    return out;
  }

  /** Every page of a paged call, in order; `send` gets the page's NextToken. */
  async pages<P extends { NextToken?: string | undefined }>(
    context: Call,
    send: (client: EC2Client, sdk: Sdk, NextToken: string | undefined) => Promise<P>,
  ): Promise<P[]> {
    const out: P[] = [];
    let NextToken: string | undefined;
    do {
      const token = NextToken;
      const page = await this.call(context, (c, sdk) => send(c, sdk, token));
      out.push(page);
      NextToken = page.NextToken || undefined;
    } while (NextToken);
    return out;
  }

  /**
   * One image in the SDK's shape, for what ImageInfo leaves out (the root device name). By
   * id, not filter: an image that is not there is EC2's own InvalidAMIID.NotFound.
   */
  async imageById(id: string, context: Call = { action: 'DescribeImages', image: id }): Promise<Image> {
    const out = await this.call(context, (c, sdk) => c.send(new sdk.DescribeImagesCommand({ ImageIds: [id] })));
    const image = out.Images?.find((each) => each.ImageId === id);
    if (!image) throw this.failure('InvalidAMIID.NotFound', `The image id '[${id}]' does not exist`, context);
    return image;
  }

  async images(input: Omit<DescribeImagesCommandInput, 'NextToken'>, context: Call = { action: 'DescribeImages' }): Promise<Map<string, ImageInfo>> {
    const pages = await this.pages(context, (c, sdk, NextToken) => c.send(new sdk.DescribeImagesCommand({ ...input, NextToken })));
    const out = new Map<string, ImageInfo>();
    for (const image of pages.flatMap((page) => page.Images ?? [])) if (image.ImageId) out.set(image.ImageId, toImageInfo(image));
    return out;
  }
}
