/**
 * Per region, the services a publication writes to, each made on first use: a sidecar
 * whose groups publish nowhere never loads the SSM or Auto Scaling SDK.
 */
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Sleep } from '../sleep.ts';
import { AutoScaling } from './autoscaling.ts';
import { ServiceCalls } from './calls.ts';
import { createAutoScalingClient, createSsmClient } from './clients.ts';
import { LaunchTemplates } from './launch-templates.ts';
import { SsmParameters } from './ssm.ts';

export interface PublishSource {
  ssm(region: string): SsmParameters;
  autoscaling(region: string): AutoScaling;
  launchTemplates(region: string): LaunchTemplates;
}

export class PublishRegions implements PublishSource {
  readonly #aws: Config['aws'];
  readonly #sleep: Sleep;
  readonly #clock: Clock | undefined;
  readonly #made = new Map<string, SsmParameters | AutoScaling | LaunchTemplates>();
  readonly #calls: ServiceCalls<{ destroy(): void }>[] = [];

  constructor(aws: Config['aws'], sleep: Sleep, clock?: Clock) {
    this.#aws = aws;
    this.#sleep = sleep;
    this.#clock = clock;
  }

  #once<T extends SsmParameters | AutoScaling | LaunchTemplates>(key: string, make: () => T): T {
    let made = this.#made.get(key) as T | undefined;
    if (!made) {
      made = make();
      this.#made.set(key, made);
    }
    return made;
  }

  ssm(region: string): SsmParameters {
    return this.#once(`ssm:${region}`, () => {
      const calls = new ServiceCalls('ssm', region, this.#aws.endpoints.ssm, () => createSsmClient(this.#aws, region));
      this.#calls.push(calls);
      return new SsmParameters(calls, this.#sleep, this.#clock);
    });
  }

  autoscaling(region: string): AutoScaling {
    return this.#once(`autoscaling:${region}`, () => {
      const calls = new ServiceCalls('autoscaling', region, this.#aws.endpoints.autoscaling, () => createAutoScalingClient(this.#aws, region));
      this.#calls.push(calls);
      return new AutoScaling(calls);
    });
  }

  launchTemplates(region: string): LaunchTemplates {
    return this.#once(`ec2:${region}`, () => {
      // Its own EC2 client: launch templates are few calls, and the bake's client keeps its pacing to itself.
      const calls = new ServiceCalls('ec2', region, this.#aws.endpoint, async () => (await import('../ec2/client.ts')).createEc2Client(this.#aws, region));
      this.#calls.push(calls);
      return new LaunchTemplates(calls);
    });
  }

  async destroy(): Promise<void> {
    await Promise.all(this.#calls.map((calls) => calls.destroy()));
    this.#calls.length = 0;
    this.#made.clear();
  }
}
