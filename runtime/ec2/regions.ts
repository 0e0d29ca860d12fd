/**
 * Groups may live in different regions; each region gets one client and one adapter (so
 * one batched poller per kind and one adaptive rate limiter per region), made on first use.
 *
 * The AWS SDK is loaded on the first EC2 call, not at start-up: @aws-sdk/client-ec2 alone
 * costs most of a second and ~85 MB, and a sidecar must answer reports and faces at once.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Metrics } from '../metrics.ts';
import type { Sleep } from '../sleep.ts';
import type { Ec2ClientOptions } from './client.ts';
import type { Ec2, ImageSpec, LaunchSpec, Tags, WaitOptions } from './types.ts';

export interface Ec2RegionsOptions {
  readonly clock?: Clock;
  readonly sleep?: Sleep;
  readonly pollIntervalMs?: number;
  readonly client?: Ec2ClientOptions;
  readonly metrics: Metrics;
}

/** Stands in for a region's adapter until the SDK is loaded, then hands every call on. */
class DeferredEc2 implements Ec2 {
  readonly region: string;
  readonly #load: () => Promise<Ec2>;
  #adapter: Promise<Ec2> | undefined;

  constructor(region: string, load: () => Promise<Ec2>) {
    this.region = region;
    this.#load = load;
  }

  #ec2(): Promise<Ec2> {
    return (this.#adapter ??= this.#load());
  }

  async ping() { return (await this.#ec2()).ping(); }
  async launch(spec: LaunchSpec) { return (await this.#ec2()).launch(spec); }
  async findInstance(server: string) { return (await this.#ec2()).findInstance(server); }
  async describeInstances(ids: readonly string[]) { return (await this.#ec2()).describeInstances(ids); }
  async findTagged(tags: Tags) { return (await this.#ec2()).findTagged(tags); }
  async waitForInstance(id: string, states: readonly string[], options: WaitOptions) { return (await this.#ec2()).waitForInstance(id, states, options); }
  async terminate(ids: readonly string[]) { return (await this.#ec2()).terminate(ids); }
  async createImage(spec: ImageSpec) { return (await this.#ec2()).createImage(spec); }
  async findImageByName(name: string) { return (await this.#ec2()).findImageByName(name); }
  async describeImages(ids: readonly string[]) { return (await this.#ec2()).describeImages(ids); }
  async waitForImage(id: string, options: WaitOptions) { return (await this.#ec2()).waitForImage(id, options); }
  async listOwnImages(tagFilter?: Tags) { return (await this.#ec2()).listOwnImages(tagFilter); }
  async deregisterImage(id: string) { return (await this.#ec2()).deregisterImage(id); }
}

export class Ec2Regions {
  private readonly aws: Config['aws'];
  private readonly options: Ec2RegionsOptions;
  private readonly byRegion = new Map<string, { ec2: Ec2; client: EC2Client | undefined }>();

  constructor(aws: Config['aws'], options: Ec2RegionsOptions) {
    this.aws = aws;
    this.options = options;
  }

  /** The configured region when none is named. */
  get(region: string = this.aws.region): Ec2 {
    let entry = this.byRegion.get(region);
    if (!entry) {
      const made: { ec2: Ec2; client: EC2Client | undefined } = { ec2: new DeferredEc2(region, () => this.load(region, made)), client: undefined };
      entry = made;
      this.byRegion.set(region, entry);
    }
    return entry.ec2;
  }

  private async load(region: string, entry: { client: EC2Client | undefined }): Promise<Ec2> {
    const [{ Ec2Adapter }, { createEc2Client }] = await Promise.all([import('./adapter.ts'), import('./client.ts')]);
    const client = createEc2Client(this.aws, region, this.options.client);
    entry.client = client;
    const { clock, sleep, pollIntervalMs, metrics } = this.options;
    return new Ec2Adapter({
      client,
      region,
      metrics,
      ...(this.aws.endpoint !== undefined && { endpoint: this.aws.endpoint }),
      ...(clock && { clock }),
      ...(sleep && { sleep }),
      ...(pollIntervalMs !== undefined && { pollIntervalMs }),
    });
  }

  /** Regions used so far. */
  regions(): string[] {
    return [...this.byRegion.keys()];
  }

  /** Closes the kept-alive connections; for shutdown. */
  destroy(): void {
    for (const { client } of this.byRegion.values()) client?.destroy();
    this.byRegion.clear();
  }
}
