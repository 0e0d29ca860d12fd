/**
 * Groups may live in different regions; each region gets one client and one adapter (so
 * one batched poller per kind, one launch pacer and one adaptive rate limiter per region),
 * made on first use.
 *
 * `get` hands out the region's Ec2Adapter itself, so an EC2 call is added to the Ec2
 * interface and the adapter and nowhere else. That works because the adapter is cheap to
 * make: it loads the SDK and builds its client on its first call (runtime/ec2/calls.ts),
 * so a sidecar answers reports and faces at once rather than after the SDK has loaded.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Clock } from '../clock.ts';
import type { Metrics } from '../metrics.ts';
import type { Sleep } from '../sleep.ts';
import { Ec2Adapter } from './adapter.ts';
import type { Ec2ClientOptions, Ec2Settings } from './client.ts';
import type { Ec2Source } from './source.ts';

export interface Ec2RegionsOptions {
  readonly clock?: Clock;
  readonly sleep?: Sleep;
  readonly pollIntervalMs?: number;
  readonly client?: Ec2ClientOptions;
  readonly metrics: Metrics;
}

export class Ec2Regions implements Ec2Source {
  private readonly aws: Ec2Settings;
  private readonly options: Ec2RegionsOptions;
  private readonly adapters = new Map<string, Ec2Adapter>();
  /** Only the clients a call has needed; an adapter never called has none to close. */
  private readonly clients = new Set<EC2Client>();

  constructor(aws: Ec2Settings, options: Ec2RegionsOptions) {
    this.aws = aws;
    this.options = options;
  }

  /** The configured region when none is named. */
  get(region: string = this.aws.region): Ec2Adapter {
    let adapter = this.adapters.get(region);
    if (!adapter) {
      const { clock, sleep, pollIntervalMs, metrics } = this.options;
      adapter = new Ec2Adapter({
        client: () => this.connect(region),
        region,
        metrics,
        ...(this.aws.endpoint !== undefined && { endpoint: this.aws.endpoint }),
        ...(clock && { clock }),
        ...(sleep && { sleep }),
        ...(pollIntervalMs !== undefined && { pollIntervalMs }),
      });
      this.adapters.set(region, adapter);
    }
    return adapter;
  }

  private async connect(region: string): Promise<EC2Client> {
    const { createEc2Client } = await import('./client.ts');
    const client = createEc2Client(this.aws, region, this.options.client);
    this.clients.add(client);
    return client;
  }

  /** Regions used so far. */
  regions(): string[] {
    return [...this.adapters.keys()];
  }

  /** Closes the kept-alive connections; for shutdown. */
  destroy(): void {
    for (const client of this.clients) client.destroy();
    this.clients.clear();
    this.adapters.clear();
  }
}
