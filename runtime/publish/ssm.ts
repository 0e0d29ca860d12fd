/** Parameter Store, as a publication uses it: read a parameter, write an image id, tag it. */
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Clock } from '../clock.ts';
import { Pacer } from '../ec2/pacer.ts';
import type { Sleep } from '../sleep.ts';
import { awsCodeOf, type ServiceCalls } from './calls.ts';

/** PutParameter's default throughput on Parameter Store is a few calls a second per account and region. */
const PUT_PARAMETER_BUCKET = { size: 3, refillPerSecond: 3 };

export interface ParameterValue {
  readonly value: string;
  readonly version: number;
}

export class SsmParameters {
  readonly region: string;
  readonly #calls: ServiceCalls<SSMClient>;
  readonly #puts: Pacer;

  constructor(calls: ServiceCalls<SSMClient>, sleep: Sleep, clock?: Clock) {
    this.region = calls.region;
    this.#calls = calls;
    this.#puts = new Pacer(PUT_PARAMETER_BUCKET, sleep, clock);
  }

  /** Undefined when there is no such parameter. */
  async get(name: string): Promise<ParameterValue | undefined> {
    try {
      return await this.#calls.call('GetParameter', name, async (client) => {
        const { GetParameterCommand } = await import('@aws-sdk/client-ssm');
        const out = await client.send(new GetParameterCommand({ Name: name }));
        return { value: out.Parameter?.Value ?? '', version: out.Parameter?.Version ?? 0 };
      });
    } catch (error) {
      if (awsCodeOf(error) === 'ParameterNotFound') return undefined;
      throw error;
    }
  }

  /**
   * An image id as `aws:ec2:image`, which SSM checks after it answers: the version it
   * returns shows only once the image passed (see `get`). Tags only on a new parameter:
   * SSM refuses tags on an overwrite, and `tag` covers both.
   */
  async putImage(name: string, imageId: string, description: string, signal?: AbortSignal): Promise<number> {
    await this.#puts.take(signal);
    return this.#calls.call('PutParameter', name, async (client) => {
      const { PutParameterCommand } = await import('@aws-sdk/client-ssm');
      const out = await client.send(
        new PutParameterCommand({ Name: name, Value: imageId, Type: 'String', DataType: 'aws:ec2:image', Overwrite: true, Description: description }),
      );
      return out.Version ?? 0;
    });
  }

  async tag(name: string, tags: Record<string, string>): Promise<void> {
    await this.#calls.call('AddTagsToResource', name, async (client) => {
      const { AddTagsToResourceCommand } = await import('@aws-sdk/client-ssm');
      await client.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: name, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));
    });
  }
}
