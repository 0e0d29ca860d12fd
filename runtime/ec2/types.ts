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
  /** Every EBS volume of the image is encrypted. */
  readonly encrypted: boolean;
  /** ISO time EC2 deprecates the image at; null when none is scheduled. */
  readonly deprecationTime: string | null;
  /** DescribeImages' `deregistrationProtection`: `disabled`, `enabled`, or `disabled-until ...` after a cooldown. */
  readonly deregistrationProtection: string | null;
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
  /**
   * Encrypt the root volume at launch (so the image made from it is encrypted), with this
   * KMS key or, when null, the account's default EBS key. Null: the volume is as the base image's.
   */
  readonly encryptRoot: { readonly kmsKeyId: string | null } | null;
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

/** CopyImage, called in the destination region. */
export interface CopySpec {
  readonly sourceImageId: string;
  readonly sourceRegion: string;
  readonly name: string;
  readonly description: string;
  /** CopyImage ClientToken: the same token never makes a second copy. */
  readonly clientToken: string;
  readonly encrypted: boolean;
  /** Null: the account's default EBS key for the destination region (when encrypted). */
  readonly kmsKeyId: string | null;
  /** Added to the source image's own tags, which are copied (CopyImageTags). */
  readonly tags: Tags;
}

/** What still uses an image, as DescribeImageReferences names it. */
export interface ImageReference {
  readonly imageId: string;
  /** `ec2:Instance` or `ec2:LaunchTemplate` */
  readonly resourceType: string;
  /** The resource's ARN. */
  readonly arn: string;
}

export interface RegionInfo {
  readonly name: string;
  /** `opt-in-not-required`, `opted-in` or `not-opted-in`. */
  readonly optInStatus: string;
}

export interface Abortable {
  /**
   * Aborting ends the call's waiting (a wait's polling, the launch pacer's queue) at once
   * with WaitAborted, instead of at its deadline: the sidecar stops, or its client hung up.
   */
  readonly signal?: AbortSignal;
}

/** Where a wait's change fell, in milliseconds since the wait began: after `notYetMs`, by `seenMs`. */
export interface WaitWindow {
  /** When the last look that still found the old state was asked (0 when none did). */
  readonly notYetMs: number;
  /** When the first look that found a wanted state was answered. */
  readonly seenMs: number;
}

/** When the change a wait is for is likely, from earlier waits; milliseconds since the wait began. */
export interface WaitExpectation {
  /** The first close look; before it the waiter looks only now and then, for a dead end. */
  readonly expectedMs: number;
  /** By when earlier waits had surely seen it: a look that misses goes here next, when that is sooner than a whole interval. */
  readonly latestMs: number;
}

export interface WaitOptions extends Abortable {
  /** Absolute deadline in clock milliseconds. */
  readonly deadline: number;
  /** Called whenever the observed state changes, e.g. for progress lines. */
  readonly onState?: (state: string) => void;
  /** Without one, the wait looks every poll interval from the start. */
  readonly expect?: WaitExpectation;
  /** Called once, when a wanted state is seen, with where the change fell. */
  readonly onObserved?: (window: WaitWindow) => void;
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
  /**
   * The available image of `owner` (an account id, `self`, `amazon` or `aws-marketplace`)
   * whose name matches `namePattern` (`*` and `?` wildcards) created last; undefined when none.
   */
  newestImage(owner: string, namePattern: string): Promise<ImageInfo | undefined>;
  /** Deregisters the image, then deletes its snapshots. */
  deregisterImage(id: string): Promise<{ imageId: string; snapshotIds: string[] }>;
  /** CreateTags on the image: a tag set twice is the same tag. */
  tagImage(id: string, tags: Tags): Promise<void>;

  /** Every region of the account's partition, opted in or not (DescribeRegions AllRegions). */
  listRegions(): Promise<RegionInfo[]>;
  /**
   * CopyImage into this region; returns the new image's id. A token already used returns
   * the image it made, so a retried or resumed copy never makes a second one.
   */
  copyImage(spec: CopySpec, options?: Abortable): Promise<string>;
  /**
   * Launch permission on the image for each principal (account id, organization ARN, OU
   * ARN), and create-volume permission on its snapshots for each account id, so the
   * account may also copy the image. Granting what is already granted changes nothing.
   */
  shareImage(id: string, principals: readonly string[]): Promise<void>;
  /** EnableImageDeprecation at `at` (clock milliseconds; EC2 rounds to the minute). */
  deprecateImage(id: string, at: number): Promise<void>;
  /** Enable or DisableImageDeregistrationProtection (no cooldown); already so is fine. */
  setDeregistrationProtection(id: string, enabled: boolean): Promise<void>;
  /**
   * Launch templates (any version) and live instances that use any of `ids`, from
   * DescribeImageReferences; where EC2 does not offer it, from DescribeLaunchTemplates,
   * DescribeLaunchTemplateVersions and DescribeInstances filtered by image id.
   */
  imageReferences(ids: readonly string[]): Promise<ImageReference[]>;
}
