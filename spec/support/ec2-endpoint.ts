/**
 * A local stand-in for Amazon EC2's Query API, for tests: the real @aws-sdk/client-ec2 talks
 * to it with `endpoint: url`. Timed state changes, eventual consistency and fault injection
 * let tests exercise the sidecar's waiting and retry paths without AWS.
 *
 *   npx tsx spec/support/ec2-endpoint.ts --port 0 [--image ami-0abc1234]... [--boot-ms N] [--image-ms N]
 *
 * prints its URL on stdout and serves until SIGTERM/SIGINT.
 */
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { TestClock } from './ec2/clock.ts';
import { Faults } from './ec2/faults.ts';
import type { ImageRecord, InstanceRecord, SnapshotRecord } from './ec2/model.ts';
import { createEc2Server, RequestCounts } from './ec2/server.ts';
import { Ec2State, type BaseImage } from './ec2/state.ts';

export type { FaultSpec } from './ec2/faults.ts';
export type { ActionCounts } from './ec2/server.ts';
export type { BaseImage } from './ec2/state.ts';
export type { ImageRecord, InstanceRecord, SnapshotRecord } from './ec2/model.ts';
export { Faults } from './ec2/faults.ts';
export { RequestCounts } from './ec2/server.ts';
export { TestClock } from './ec2/clock.ts';

/** Always present: a public Debian 12 AMI owned by another account (Owner=self leaves it out). */
export const DEBIAN_12_IMAGE_ID = 'ami-0deb1a12000000001';
export const DEBIAN_12_IMAGE_NAME = 'debian-12-amd64-20240101-1617';
export const DEFAULT_ACCOUNT_ID = '123456789012';

export interface Ec2EndpointOptions {
  /** 0 (default) picks a free port. The endpoint always listens on 127.0.0.1. */
  port?: number;
  /** More base AMIs: bare ids become public images of another account; objects say more. */
  images?: (string | BaseImage)[];
  /** pending → running. Default 100 ms. */
  bootMs?: number;
  /** Image (and its snapshots) pending → available/failed. Default 200 ms. */
  imageMs?: number;
  /** stopping → stopped. Default 50 ms. */
  stopMs?: number;
  /** shutting-down → terminated. Default 50 ms. */
  terminateMs?: number;
  /** Terminated instances stay describable this long. Default 60 000 ms. */
  terminatedVisibleMs?: number;
  /** Deregistered images stay describable (state `deregistered`) this long. Default 0: gone at once. */
  deregisteredVisibleMs?: number;
  /** Seed of the PRNG behind throttleRate. Default 1. */
  seed?: number;
  /** Time only moves through endpoint.clock.advance()/runAll(). Default false (real time). */
  manualClock?: boolean;
  /** Epoch ms a manual clock starts at. */
  startTime?: number;
  accountId?: string;
  region?: string;
  /** Public address of the Nth instance to reach running, e.g. to point SSH at a local host. */
  publicAddress?: (seq: number, instanceId: string) => { ip: string; dnsName: string };
}

export interface Ec2Endpoint {
  /** `http://127.0.0.1:PORT`, for EC2Client({ endpoint }). */
  url: string;
  port: number;
  accountId: string;
  region: string;
  counts: RequestCounts;
  faults: Faults;
  clock: TestClock;
  /** Copies of the current records (tags are Maps), in creation order. */
  instances(): InstanceRecord[];
  instance(instanceId: string): InstanceRecord | undefined;
  images(): ImageRecord[];
  image(imageId: string): ImageRecord | undefined;
  snapshots(): SnapshotRecord[];
  /** The instance's user data decoded from base64, as the instance would read it. */
  userData(instanceId: string): string | undefined;
  /**
   * Changes how long state changes take from now on: instances and images made after this
   * call use the new figures, ones already on their way keep theirs. With a long imageMs a
   * test holds one image pending and lets it through with clock.advance() when it chooses.
   */
  setTiming(timing: Partial<Pick<Ec2EndpointOptions, 'bootMs' | 'imageMs' | 'stopMs' | 'terminateMs'>>): void;
  stop(): Promise<void>;
}

const bySeq = <T extends { seq: number }>(records: Iterable<T>): T[] =>
  [...records].sort((a, b) => a.seq - b.seq).map((r) => structuredClone(r));

export async function startEc2Endpoint(options: Ec2EndpointOptions = {}): Promise<Ec2Endpoint> {
  const clock = new TestClock({ manual: options.manualClock ?? false, ...(options.startTime !== undefined && { start: options.startTime }) });
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  const region = options.region ?? 'us-east-1';
  const state = new Ec2State(clock, {
    accountId,
    region,
    bootMs: options.bootMs ?? 100,
    imageMs: options.imageMs ?? 200,
    stopMs: options.stopMs ?? 50,
    terminateMs: options.terminateMs ?? 50,
    terminatedVisibleMs: options.terminatedVisibleMs ?? 60_000,
    deregisteredVisibleMs: options.deregisteredVisibleMs ?? 0,
    ...(options.publicAddress && { publicAddress: options.publicAddress }),
  });
  state.addBaseImage({
    imageId: DEBIAN_12_IMAGE_ID,
    name: DEBIAN_12_IMAGE_NAME,
    description: 'Debian 12 (20240101-1617)',
  });
  for (const image of options.images ?? []) {
    state.addBaseImage(typeof image === 'string' ? { imageId: image } : image);
  }
  const faults = new Faults(clock, options.seed ?? 1);
  const counts = new RequestCounts();
  const server = createEc2Server({
    state,
    faults,
    counts,
    onCrash: (error) => process.stderr.write(`ec2-endpoint: handler crashed: ${(error as Error)?.stack ?? String(error)}\n`),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    accountId,
    region,
    counts,
    faults,
    clock,
    instances: () => bySeq(state.instances.values()),
    instance: (id) => {
      const record = state.instances.get(id);
      return record && structuredClone(record);
    },
    images: () => bySeq(state.images.values()),
    image: (id) => {
      const record = state.images.get(id);
      return record && structuredClone(record);
    },
    snapshots: () => bySeq(state.snapshots.values()),
    userData: (id) => {
      const encoded = state.instances.get(id)?.userData;
      return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
    },
    setTiming: (timing) => {
      for (const key of ['bootMs', 'imageMs', 'stopMs', 'terminateMs'] as const) {
        const value = timing[key];
        if (value !== undefined) state.options[key] = value;
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        clock.dispose();
        // The SDK keeps connections alive; close() alone would wait for them.
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function intFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`--${name} wants a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '0' },
      image: { type: 'string', multiple: true, default: [] },
      'boot-ms': { type: 'string' },
      'image-ms': { type: 'string' },
      'stop-ms': { type: 'string' },
      'terminate-ms': { type: 'string' },
      seed: { type: 'string' },
      'account-id': { type: 'string' },
      region: { type: 'string' },
    },
    strict: true,
  });
  const opts: Ec2EndpointOptions = { images: values.image };
  const numbers = { port: 'port', bootMs: 'boot-ms', imageMs: 'image-ms', stopMs: 'stop-ms', terminateMs: 'terminate-ms', seed: 'seed' } as const;
  for (const [key, flag] of Object.entries(numbers) as [keyof typeof numbers, (typeof numbers)[keyof typeof numbers]][]) {
    const value = intFlag(flag, values[flag]);
    if (value !== undefined) opts[key] = value;
  }
  if (values['account-id'] !== undefined) opts.accountId = values['account-id'];
  if (values.region !== undefined) opts.region = values.region;

  const endpoint = await startEc2Endpoint(opts);
  process.stdout.write(`${endpoint.url}\n`);
  const shutdown = (): void => {
    void endpoint.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`ec2-endpoint: ${(error as Error).message}\n`);
    process.exit(2);
  });
}
