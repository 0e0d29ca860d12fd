/**
 * One lazily made client per service and region, and every call through one place that
 * maps its failure. The SDK loads with the first call, as EC2's does (runtime/ec2/calls.ts).
 */
import { toServiceError, type Service, type ServiceCall } from './failures.ts';

interface Sendable {
  destroy(): void;
}

export class ServiceCalls<C extends Sendable> {
  readonly service: Service;
  readonly region: string;
  readonly endpoint: string;
  readonly #make: () => Promise<C>;
  #client: Promise<C> | undefined;

  constructor(service: Service, region: string, endpoint: string | undefined, make: () => Promise<C>) {
    this.service = service;
    this.region = region;
    this.endpoint = endpoint ?? `https://${service}.${region}.amazonaws.com`;
    this.#make = make;
  }

  #connect(): Promise<C> {
    this.#client ??= this.#make().catch((error: unknown) => {
      this.#client = undefined;
      throw error;
    });
    return this.#client;
  }

  async call<T>(action: string, subject: string | undefined, send: (client: C) => Promise<T>): Promise<T> {
    const client = await this.#connect();
    try {
      return await send(client);
    } catch (error) {
      const call: ServiceCall = { service: this.service, action, region: this.region, endpoint: this.endpoint, ...(subject !== undefined && { subject }) };
      throw toServiceError(error, call);
    }
  }

  async destroy(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client) (await client.catch(() => undefined))?.destroy();
  }
}

/** An AWS error code, from an Ec2Error or anything the SDK threw. */
export function awsCodeOf(error: unknown): string | undefined {
  return (error as { awsCode?: string })?.awsCode;
}
