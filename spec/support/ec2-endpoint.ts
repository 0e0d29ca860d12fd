/**
 * A local stand-in for Amazon EC2's Query API, for tests: the real @aws-sdk/client-ec2 talks
 * to it with `endpoint: url`. Timed state changes, eventual consistency and fault injection
 * let tests exercise the sidecar's waiting and retry paths without AWS.
 *
 *   npx tsx spec/support/ec2-endpoint.ts --port 0 [--image ami-0abc1234]... [--boot-ms N] [--image-ms N] [--copy-ms N]
 *
 * prints its URL on stdout and serves until SIGTERM/SIGINT. Every region is served from the one
 * URL: a request's region is the one its SigV4 signature is scoped to.
 */
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { TestClock } from './ec2/clock.ts';
import { Faults } from './ec2/faults.ts';
import { Ec2World, isRegion, REGIONS, type OptInStatus, type Timing } from './ec2/regions.ts';
import { createEc2Server, RequestCounts } from './ec2/server.ts';
import type { BaseImage } from './ec2/state.ts';
import { AutoScalingWorld } from './autoscaling/index.ts';
import { SsmWorld } from './ssm/index.ts';
import { regionView, type Ec2RegionView } from './ec2/views.ts';

export type { FaultSpec } from './ec2/faults.ts';
export type { ActionCounts } from './ec2/server.ts';
export type { BaseImage } from './ec2/state.ts';
export type { Ec2RegionView } from './ec2/views.ts';
export type { OptInStatus } from './ec2/regions.ts';
export type {
  ImageRecord,
  InstanceRecord,
  KeyPairRecord,
  LaunchTemplateRecord,
  LaunchTemplateVersionRecord,
  SecurityGroupRecord,
  SnapshotRecord,
} from './ec2/model.ts';
export { Faults } from './ec2/faults.ts';
export { RequestCounts } from './ec2/server.ts';
export { TestClock } from './ec2/clock.ts';
export { DEFAULT_EBS_KEY_ID, defaultKeyArn } from './ec2/kms.ts';
export { REGIONS } from './ec2/regions.ts';

/** Always present, in every region: a public Debian 12 AMI owned by another account (Owner=self leaves it out). */
export const DEBIAN_12_IMAGE_ID = 'ami-0deb1a12000000001';
export const DEBIAN_12_IMAGE_NAME = 'debian-12-amd64-20240101-1617';
export const DEFAULT_ACCOUNT_ID = '123456789012';

export interface Ec2EndpointOptions {
  /** 0 (default) picks a free port. The endpoint always listens on 127.0.0.1. */
  port?: number;
  /** More base AMIs, in every region: bare ids become public images of another account; objects say more. */
  images?: (string | BaseImage)[];
  /** pending → running. Default 100 ms. */
  bootMs?: number;
  /** Image (and its snapshots) pending → available/failed. Default 200 ms. */
  imageMs?: number;
  /** CopyImage: the copy (and its snapshots) pending → available/failed. Default 300 ms. */
  copyMs?: number;
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
  /** Where requests without a SigV4 credential scope go. Default us-east-1. */
  region?: string;
  /** Opt-in regions the account has not enabled. Default: all of them (af-south-1, ap-east-1, me-south-1, eu-south-1 ...). */
  optedOut?: string[];
  /** The answer to a request for a region not enabled. Default AuthFailure, as EC2 gives (HTTP 401 both ways). */
  notOptedInError?: 'AuthFailure' | 'OptInRequired';
  /** DescribeImageReferences answers InvalidAction, as where EC2 lacks it; same as faults.set(..., { unsupported: true }). */
  noImageReferences?: boolean;
  /** SSM's check of an aws:ec2:image value, after PutParameter answers. Default 50 ms. */
  ssmValidateMs?: number;
  /** Each step of an instance refresh (Pending → InProgress → ... → Successful). Default 100 ms. */
  refreshStepMs?: number;
  /** Public address of the Nth instance to reach running, e.g. to point SSH at a local host. */
  publicAddress?: (seq: number, instanceId: string) => { ip: string; dnsName: string };
}

/** The accessors of Ec2RegionView work on the default region. */
export interface Ec2Endpoint extends Ec2RegionView {
  /** `http://127.0.0.1:PORT`, for EC2Client({ endpoint }). */
  url: string;
  port: number;
  accountId: string;
  /** The default region. */
  region: string;
  counts: RequestCounts;
  faults: Faults;
  clock: TestClock;
  /** Parameter Store, answering requests signed for `ssm` on the same URL. */
  ssm: SsmWorld;
  /** Auto Scaling, answering requests signed for `autoscaling` on the same URL. */
  autoscaling: AutoScalingWorld;
  /** Another region's records; its state (with the base AMIs) is made on first use. */
  inRegion(region: string): Ec2RegionView;
  /** Enables or disables an opt-in region for the account; other regions throw. */
  setOptIn(region: string, optedIn: boolean): void;
  optInStatus(region: string): OptInStatus;
  /** Regions that have been used, by a request or an accessor, in order of first use. */
  regionsInUse(): string[];
  /**
   * Changes how long state changes take from now on, in every region: instances and images
   * made after this call use the new figures, ones already on their way keep theirs. With a
   * long imageMs a test holds one image pending and lets it through with clock.advance().
   */
  setTiming(timing: Partial<Timing>): void;
  stop(): Promise<void>;
}

export async function startEc2Endpoint(options: Ec2EndpointOptions = {}): Promise<Ec2Endpoint> {
  const clock = new TestClock({ manual: options.manualClock ?? false, ...(options.startTime !== undefined && { start: options.startTime }) });
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  const region = options.region ?? 'us-east-1';
  const baseImages: BaseImage[] = [
    { imageId: DEBIAN_12_IMAGE_ID, name: DEBIAN_12_IMAGE_NAME, description: 'Debian 12 (20240101-1617)' },
    ...(options.images ?? []).map((image) => (typeof image === 'string' ? { imageId: image } : image)),
  ];
  const world = new Ec2World(clock, {
    defaultRegion: region,
    baseImages,
    optedOut: options.optedOut ?? REGIONS.filter((r) => r.optIn).map((r) => r.name),
    notOptedInError: options.notOptedInError ?? 'AuthFailure',
    state: {
      accountId,
      bootMs: options.bootMs ?? 100,
      imageMs: options.imageMs ?? 200,
      copyMs: options.copyMs ?? 300,
      stopMs: options.stopMs ?? 50,
      terminateMs: options.terminateMs ?? 50,
      terminatedVisibleMs: options.terminatedVisibleMs ?? 60_000,
      deregisteredVisibleMs: options.deregisteredVisibleMs ?? 0,
      // Read when a change starts, by then `faults` below exists: faults.setStateDelayJitter sets it.
      extraDelayMs: (change) => faults.extraDelayMs(change),
      ...(options.publicAddress && { publicAddress: options.publicAddress }),
    },
  });
  // Made now, so a bad base image fails here rather than on the first request.
  world.state(region);
  const faults = new Faults(clock, options.seed ?? 1);
  if (options.noImageReferences) faults.set('DescribeImageReferences', { unsupported: true });
  const counts = new RequestCounts();
  const ssm = new SsmWorld(world, { validateMs: options.ssmValidateMs ?? 50 });
  const autoscaling = new AutoScalingWorld(world, { refreshStepMs: options.refreshStepMs ?? 100 });
  const server = createEc2Server({
    world,
    ssm,
    autoscaling,
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
    ...regionView(region, () => world.state(region)),
    url: `http://127.0.0.1:${port}`,
    port,
    accountId,
    counts,
    faults,
    clock,
    ssm,
    autoscaling,
    inRegion: (name) => {
      if (!isRegion(name)) throw new RangeError(`unknown region ${name}`);
      return regionView(name, () => world.state(name));
    },
    setOptIn: (name, optedIn) => world.setOptIn(name, optedIn),
    optInStatus: (name) => world.optInStatus(name),
    regionsInUse: () => world.regionsInUse(),
    setTiming: (timing) => world.setTiming(timing),
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
      'copy-ms': { type: 'string' },
      'stop-ms': { type: 'string' },
      'terminate-ms': { type: 'string' },
      seed: { type: 'string' },
      'account-id': { type: 'string' },
      region: { type: 'string' },
    },
    strict: true,
  });
  const opts: Ec2EndpointOptions = { images: values.image };
  const numbers = {
    port: 'port',
    bootMs: 'boot-ms',
    imageMs: 'image-ms',
    copyMs: 'copy-ms',
    stopMs: 'stop-ms',
    terminateMs: 'terminate-ms',
    seed: 'seed',
  } as const;
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
