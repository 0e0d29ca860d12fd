/**
 * The Ec2 interface over @aws-sdk/client-ec2. Every SDK failure leaves here as an Ec2Error
 * (runtime/ec2/failures.ts); every wait goes through one shared poller per resource kind.
 */
// Types only: the SDK is loaded by the first call (runtime/ec2/calls.ts), not with this module.
import type { CreateImageCommandInput } from '@aws-sdk/client-ec2';
import type { Clock } from '../clock.ts';
import { Ec2Error } from '../errors.ts';
import { jsPattern } from '../interface/patterns.ts';
import type { Metrics } from '../metrics.ts';
import { sleepOrAbort, type Sleep } from '../sleep.ts';
import { Ec2Calls, endpointLabel, type ClientSource } from './calls.ts';
import * as distribution from './distribution-calls.ts';
import { launchContext, rootDeviceToEncrypt, runInstancesInput } from './launch-input.ts';
import { paceAttempts } from './paced-attempts.ts';
import { RUN_INSTANCES_BUCKET, Pacer } from './pacer.ts';
import { chunked, DEFAULT_POLL_INTERVAL_MS, Poller } from './poller.ts';
import { tagList, toInstanceInfo } from './records.ts';
import { imageReferences } from './references.ts';
import { imageDeadEnd, instanceDeadEnd, LIVE_INSTANCE_STATES } from './states.ts';
import { Terminations } from './terminations.ts';
import type {
  Abortable, CopySpec, Ec2, ImageInfo, ImageReference, ImageSpec, InstanceInfo, LaunchSpec, RegionInfo, Tags, WaitOptions,
} from './types.ts';

export interface Ec2AdapterOptions {
  readonly client: ClientSource;
  readonly region: string;
  /** Only for messages ("cannot reach EC2 in … at …"); default the regional AWS endpoint. */
  readonly endpoint?: string;
  readonly clock?: Clock;
  readonly sleep?: Sleep;
  /** Default 2 s; tests use ~20 ms. */
  readonly pollIntervalMs?: number;
  /** DescribeImages page size for listOwnImages, 5..1000. */
  readonly pageSize?: number;
  /** Counts calls and throttles; `Metrics.off()` counts nothing. */
  readonly metrics: Metrics;
}

const INSTANCE_ID = jsPattern('instance_id');
const IMAGE_ID = jsPattern('image_id');
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** Filter values take `*` and `?` as wildcards; a name or DNS name must match only itself. */
const literal = (value: string): string => value.replace(/[\\*?]/g, '\\$&');

const isCode = (error: unknown, code: string): error is Ec2Error => error instanceof Ec2Error && error.awsCode === code;

/**
 * Latest CreationDate first; an image EC2 shows without one cannot be called newer. Two made
 * in the same second are told apart by name, which publishers stamp with the build's time.
 */
function newestOf(images: readonly ImageInfo[]): ImageInfo | undefined {
  const created = (image: ImageInfo) => (image.creationDate === null ? Number.NEGATIVE_INFINITY : Date.parse(image.creationDate));
  return [...images].sort((a, b) => created(b) - created(a) || b.name.localeCompare(a.name) || b.id.localeCompare(a.id))[0];
}

export class Ec2Adapter implements Ec2 {
  readonly region: string;
  private readonly calls: Ec2Calls;
  private readonly sleep: Sleep;
  private readonly pollIntervalMs: number;
  private readonly pageSize: number;
  private readonly instancePoller: Poller<InstanceInfo>;
  private readonly imagePoller: Poller<ImageInfo>;
  private readonly launches: Pacer;
  private readonly terminations: Terminations;

  constructor(options: Ec2AdapterOptions) {
    this.region = options.region;
    this.calls = new Ec2Calls(options.client, options.region, endpointLabel({ endpoint: options.endpoint }, options.region), options.metrics);
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.pageSize = options.pageSize ?? 1000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()));
    const shared = { intervalMs: this.pollIntervalMs, sleep: this.sleep, ...(options.clock && { clock: options.clock }) };
    this.launches = new Pacer(RUN_INSTANCES_BUCKET, this.sleep, options.clock);
    this.terminations = new Terminations({
      send: async (ids) => {
        const context = { action: 'TerminateInstances', instance: ids.join(', ') };
        await this.calls.call(context, (c, sdk) => c.send(new sdk.TerminateInstancesCommand({ InstanceIds: ids })));
      },
      sleep: this.sleep,
      ...(options.clock && { clock: options.clock }),
    });
    this.instancePoller = new Poller({
      ...shared,
      noun: 'instance',
      describe: (ids) => this.calls.instances([{ Name: 'instance-id', Values: ids }]),
      stateOf: (i) => i.state,
      deadEnd: instanceDeadEnd,
    });
    this.imagePoller = new Poller({
      ...shared,
      noun: 'image',
      describe: (ids) => this.calls.images({ Filters: [{ Name: 'image-id', Values: ids }] }),
      stateOf: (i) => i.state,
      deadEnd: imageDeadEnd,
    });
  }

  async ping(): Promise<void> {
    try {
      await this.calls.call({ action: 'DescribeRegions' }, (c, sdk) => c.send(new sdk.DescribeRegionsCommand({ RegionNames: [this.region] })));
    } catch (error) {
      // A region that is none, or one the account has not enabled, is refused as a credentials failure before the request is read.
      const code = isCode(error, 'InvalidParameterValue') ? 'InvalidParameterValue' : isCode(error, 'AuthFailure') ? 'AuthFailure' : undefined;
      if (code === undefined) throw error;
      const why = error instanceof Error ? error.message : String(error);
      const message = `aws.region: EC2 at ${this.calls.endpoint} refused region ${this.region} (not a region, not enabled for the account, or credentials it does not take): ${why}`;
      throw new Ec2Error(code, message, { cause: error, field: 'aws.region' });
    }
  }

  async launch(spec: LaunchSpec, options: Abortable = {}): Promise<InstanceInfo> {
    // Looked up before the pacer's turn: DescribeImages does not draw on RunInstances' bucket.
    const input = runInstancesInput(spec, await rootDeviceToEncrypt(this.calls, spec));
    await this.launches.take(options.signal);
    const out = await this.calls.call(launchContext(spec), (c, sdk) => c.send(paceAttempts(new sdk.RunInstancesCommand(input), this.launches, options.signal)));
    const instance = out.Instances?.[0];
    if (!instance?.InstanceId) throw new Ec2Error('InvalidResponse', `RunInstances in ${this.region} answered without an instance`);
    return toInstanceInfo(instance);
  }

  async findInstance(server: string): Promise<InstanceInfo | undefined> {
    const by = server.startsWith('i-') ? 'instance-id' : IPV4.test(server) ? 'ip-address' : 'dns-name';
    const found = await this.calls.instances([
      { Name: by, Values: [literal(server)] },
      { Name: 'instance-state-name', Values: LIVE_INSTANCE_STATES },
    ]);
    return found.values().next().value;
  }

  async describeInstances(ids: readonly string[]): Promise<Map<string, InstanceInfo>> {
    const parts = await Promise.all(chunked(ids).map((chunk) => this.calls.instances([{ Name: 'instance-id', Values: chunk }])));
    return new Map(parts.flatMap((part) => [...part]));
  }

  async findTagged(tags: Tags): Promise<InstanceInfo[]> {
    const Filters = Object.entries(tags).map(([key, value]) => ({ Name: `tag:${key}`, Values: [literal(value)] }));
    const found = await this.calls.instances([...Filters, { Name: 'instance-state-name', Values: LIVE_INSTANCE_STATES }]);
    return [...found.values()];
  }

  waitForInstance(id: string, states: readonly string[], options: WaitOptions): Promise<InstanceInfo> {
    // A malformed id would never match the filter and only fail at the deadline.
    if (!INSTANCE_ID.test(id)) return Promise.reject(this.calls.failure('InvalidInstanceID.Malformed', id, { action: 'DescribeInstances', instance: id }));
    return this.instancePoller.wait(id, states, options);
  }

  /** Gathered with other bakes' terminations into few calls (runtime/ec2/terminations.ts). */
  terminate(ids: readonly string[]): Promise<void> {
    return this.terminations.terminate(ids);
  }

  async createImage(spec: ImageSpec, options: Abortable = {}): Promise<string> {
    const tags = tagList(spec.tags);
    const input: CreateImageCommandInput = {
      InstanceId: spec.instanceId,
      Name: spec.name,
      ...(spec.description && { Description: spec.description }),
      NoReboot: spec.noReboot,
      ...(tags.length && { TagSpecifications: [{ ResourceType: 'image', Tags: tags }, { ResourceType: 'snapshot', Tags: tags }] }),
    };
    try {
      const out = await this.calls.call({ action: 'CreateImage', instance: spec.instanceId }, (c, sdk) => c.send(new sdk.CreateImageCommand(input)));
      if (!out.ImageId) throw new Ec2Error('InvalidResponse', `CreateImage in ${this.region} answered without an image id`);
      return out.ImageId;
    } catch (error) {
      if (!isCode(error, 'InvalidAMIName.Duplicate')) throw error;
      return this.imageIdNamed(spec.name, error, options.signal);
    }
  }

  /** A retried create: the name is taken, by our own earlier call unless the caller reuses names. */
  private async imageIdNamed(name: string, duplicate: Ec2Error, signal: AbortSignal | undefined): Promise<string> {
    // DescribeImages may lag behind CreateImage; the duplicate error proves the image exists.
    for (let attempt = 0; attempt < 10; attempt++) {
      const image = await this.findImageByName(name);
      if (image) return image.id;
      await sleepOrAbort(this.sleep, this.pollIntervalMs, signal, `image ${JSON.stringify(name)} to show in DescribeImages`);
    }
    const message = `image name ${JSON.stringify(name)} is taken in ${this.region}, but no image of this account shows it`;
    throw new Ec2Error('InvalidAMIName.Duplicate', message, { cause: duplicate, field: 'name' });
  }

  async findImageByName(name: string): Promise<ImageInfo | undefined> {
    const found = await this.calls.images({ Owners: ['self'], Filters: [{ Name: 'name', Values: [literal(name)] }] });
    return [...found.values()].find((image) => image.state !== 'deregistered');
  }

  async describeImages(ids: readonly string[]): Promise<Map<string, ImageInfo>> {
    const parts = await Promise.all(chunked(ids).map((chunk) => this.calls.images({ Filters: [{ Name: 'image-id', Values: chunk }] })));
    return new Map(parts.flatMap((part) => [...part]));
  }

  waitForImage(id: string, options: WaitOptions): Promise<ImageInfo> {
    if (!IMAGE_ID.test(id)) return Promise.reject(this.calls.failure('InvalidAMIID.Malformed', id, { action: 'DescribeImages', image: id }));
    return this.imagePoller.wait(id, ['available'], options);
  }

  async listOwnImages(tagFilter: Tags = {}): Promise<ImageInfo[]> {
    const Filters = Object.entries(tagFilter).map(([key, value]) => ({ Name: `tag:${key}`, Values: [literal(value)] }));
    const found = await this.calls.images({ Owners: ['self'], ...(Filters.length && { Filters }), MaxResults: this.pageSize });
    return [...found.values()];
  }

  async newestImage(owner: string, namePattern: string): Promise<ImageInfo | undefined> {
    const found = await this.calls.images({
      Owners: [owner],
      Filters: [{ Name: 'name', Values: [namePattern] }, { Name: 'state', Values: ['available'] }],
    });
    return newestOf([...found.values()]);
  }

  async deregisterImage(id: string): Promise<{ imageId: string; snapshotIds: string[] }> {
    const context = { action: 'DescribeImages', image: id };
    // By id, not filter: an image that is not there is an error here, with EC2's own code.
    const image = (await this.calls.images({ ImageIds: [id] }, context)).get(id);
    if (!image) throw this.calls.failure('InvalidAMIID.NotFound', `The image id '[${id}]' does not exist`, context);
    const snapshotIds = [...image.snapshotIds];
    await this.calls.call({ action: 'DeregisterImage', image: id }, (c, sdk) => c.send(new sdk.DeregisterImageCommand({ ImageId: id })));
    for (const snapshot of snapshotIds) {
      try {
        await this.calls.call({ action: 'DeleteSnapshot', snapshot }, (c, sdk) => c.send(new sdk.DeleteSnapshotCommand({ SnapshotId: snapshot })));
      } catch (error) {
        // Already gone (an earlier, interrupted deregister) is what we wanted anyway.
        if (!isCode(error, 'InvalidSnapshot.NotFound')) throw error;
      }
    }
    return { imageId: id, snapshotIds };
  }

  async tagImage(id: string, tags: Tags): Promise<void> {
    await this.calls.call({ action: 'CreateTags', image: id }, (c, sdk) => c.send(new sdk.CreateTagsCommand({ Resources: [id], Tags: tagList(tags) })));
  }

  listRegions(): Promise<RegionInfo[]> {
    return distribution.listRegions(this.calls);
  }

  async copyImage(spec: CopySpec, options: Abortable = {}): Promise<string> {
    const input = distribution.copyImageInput(spec);
    try {
      const out = await this.calls.call(distribution.copyContext(spec), (c, sdk) => c.send(new sdk.CopyImageCommand(input)));
      if (!out.ImageId) throw new Ec2Error('InvalidResponse', `CopyImage in ${this.region} answered without an image id`);
      return out.ImageId;
    } catch (error) {
      // EC2 no longer knows the token, or another one made the copy: names are unique per group and time, so it is ours.
      if (!isCode(error, 'InvalidAMIName.Duplicate')) throw error;
      return this.imageIdNamed(spec.name, error, options.signal);
    }
  }

  shareImage(id: string, principals: readonly string[]): Promise<void> {
    return distribution.shareImage(this.calls, id, principals);
  }

  deprecateImage(id: string, at: number): Promise<void> {
    return distribution.deprecateImage(this.calls, id, at);
  }

  setDeregistrationProtection(id: string, enabled: boolean): Promise<void> {
    return distribution.setDeregistrationProtection(this.calls, id, enabled);
  }

  imageReferences(ids: readonly string[]): Promise<ImageReference[]> {
    return imageReferences(this.calls, ids);
  }
}
