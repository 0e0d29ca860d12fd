/**
 * Groups may live in different regions; each region gets one client and one adapter (so
 * one batched poller per kind and one adaptive rate limiter per region), made on first use.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Sleep } from '../sleep.ts';
import { Ec2Adapter } from './adapter.ts';
import { createEc2Client, type Ec2ClientOptions } from './client.ts';
import type { Ec2 } from './types.ts';

export interface Ec2RegionsOptions {
  readonly clock?: Clock;
  readonly sleep?: Sleep;
  readonly pollIntervalMs?: number;
  readonly client?: Ec2ClientOptions;
}

export class Ec2Regions {
  private readonly aws: Config['aws'];
  private readonly options: Ec2RegionsOptions;
  private readonly byRegion = new Map<string, { client: EC2Client; adapter: Ec2Adapter }>();

  constructor(aws: Config['aws'], options: Ec2RegionsOptions = {}) {
    this.aws = aws;
    this.options = options;
  }

  /** The configured region when none is named. */
  get(region: string = this.aws.region): Ec2 {
    let entry = this.byRegion.get(region);
    if (!entry) {
      const client = createEc2Client(this.aws, region, this.options.client);
      const { clock, sleep, pollIntervalMs } = this.options;
      const adapter = new Ec2Adapter({
        client,
        region,
        ...(this.aws.endpoint !== undefined && { endpoint: this.aws.endpoint }),
        ...(clock && { clock }),
        ...(sleep && { sleep }),
        ...(pollIntervalMs !== undefined && { pollIntervalMs }),
      });
      entry = { client, adapter };
      this.byRegion.set(region, entry);
    }
    return entry.adapter;
  }

  /** Regions used so far. */
  regions(): string[] {
    return [...this.byRegion.keys()];
  }

  /** Closes the kept-alive connections; for shutdown. */
  destroy(): void {
    for (const { client } of this.byRegion.values()) client.destroy();
    this.byRegion.clear();
  }
}
