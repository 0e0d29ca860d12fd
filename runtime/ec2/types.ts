/**
 * What the rest of the sidecar knows of EC2: plain records and the operations AutoAMI
 * performs. The SDK's shapes stay inside runtime/ec2/.
 */

export type Tags = Readonly<Record<string, string>>;

export interface InstanceInfo {
  readonly id: string;
  /** pending | running | shutting-down | terminated | stopping | stopped */
  readonly state: string;
  readonly imageId: string;
  readonly type: string;
  readonly publicDns: string | null;
  readonly publicIp: string | null;
  readonly privateIp: string | null;
  readonly launchTime: string | null;
  readonly rootDeviceType: string | null;
  readonly tags: Tags;
}

export interface ImageInfo {
  readonly id: string;
  readonly name: string;
  /** pending | available | failed | deregistered | ... */
  readonly state: string;
  readonly stateReason: string | null;
  readonly architecture: string | null;
  readonly description: string | null;
  readonly public: boolean;
  readonly rootDeviceType: string | null;
  readonly creationDate: string | null;
  readonly ownerId: string | null;
  readonly snapshotIds: readonly string[];
  readonly tags: Tags;
}

export interface LaunchSpec {
  readonly image: string;
  readonly type: string;
  readonly keyname: string;
  readonly subnet: string | null;
  readonly securityGroup: string | null;
  /** Plain text; the adapter base64-encodes it. */
  readonly userData: string | null;
  /** RunInstances ClientToken: the same token never launches a second instance. */
  readonly clientToken: string;
  /** Put on the instance and its volumes at launch. */
  readonly tags: Tags;
}

export interface ImageSpec {
  readonly instanceId: string;
  /** Unique per account; a retried create finds the image by this name. */
  readonly name: string;
  readonly description: string;
  readonly noReboot: boolean;
  /** Put on the image and its snapshots at create. */
  readonly tags: Tags;
}

export interface Abortable {
  /**
   * Aborting ends the call's waiting (a wait's polling, the launch pacer's queue) at once
   * with WaitAborted, instead of at its deadline: the sidecar stops, or its client hung up.
   */
  readonly signal?: AbortSignal;
}

export interface WaitOptions extends Abortable {
  /** Absolute deadline in clock milliseconds. */
  readonly deadline: number;
  /** Called whenever the observed state changes, e.g. for progress lines. */
  readonly onState?: (state: string) => void;
}

export interface Ec2 {
  readonly region: string;
  /** Cheap reachability and credentials check (DescribeRegions). */
  ping(): Promise<void>;
  /** Waits its turn in the region's RunInstances pacer first. */
  launch(spec: LaunchSpec, options?: Abortable): Promise<InstanceInfo>;
  /** By instance id (`i-...`) or public DNS name; undefined when no live instance matches. */
  findInstance(server: string): Promise<InstanceInfo | undefined>;
  /** By filter, so ids not yet visible (eventual consistency) are simply absent. */
  describeInstances(ids: readonly string[]): Promise<Map<string, InstanceInfo>>;
  /** Live instances (not shutting-down or terminated) carrying every one of `tags`. */
  findTagged(tags: Tags): Promise<InstanceInfo[]>;
  /** Resolves once the instance is in one of `states`; Ec2WaitTimeout past the deadline, WaitAborted when `signal` aborts. */
  waitForInstance(id: string, states: readonly string[], options: WaitOptions): Promise<InstanceInfo>;
  terminate(ids: readonly string[]): Promise<void>;
  /** Returns the image id; a name already taken by this account returns that image's id (waiting for DescribeImages to show it). */
  createImage(spec: ImageSpec, options?: Abortable): Promise<string>;
  findImageByName(name: string): Promise<ImageInfo | undefined>;
  describeImages(ids: readonly string[]): Promise<Map<string, ImageInfo>>;
  /** Resolves when available; an image that ends `failed` is an Ec2Error naming the reason; WaitAborted when `signal` aborts. */
  waitForImage(id: string, options: WaitOptions): Promise<ImageInfo>;
  /** Images owned by this account, every page, optionally narrowed by tag. */
  listOwnImages(tagFilter?: Tags): Promise<ImageInfo[]>;
  /** Deregisters the image, then deletes its snapshots. */
  deregisterImage(id: string): Promise<{ imageId: string; snapshotIds: string[] }>;
}
