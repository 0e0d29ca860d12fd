import type { TestClock } from './clock.ts';
import { Ec2Fault } from './errors.ts';
import { Ec2State, type BaseImage, type StateOptions } from './state.ts';

export interface RegionInfo {
  name: string;
  /** Launched after March 2019: the account has to enable it before using it. */
  optIn: boolean;
}

const ALWAYS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ap-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
  'ca-central-1',
  'eu-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-north-1',
  'sa-east-1',
];
const OPT_IN = [
  'af-south-1',
  'ap-east-1',
  'ap-south-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-7',
  'ca-west-1',
  'eu-south-1',
  'eu-south-2',
  'eu-central-2',
  'il-central-1',
  'me-south-1',
  'me-central-1',
  'mx-central-1',
];

/** The commercial partition's regions. */
export const REGIONS: readonly RegionInfo[] = [
  ...ALWAYS.map((name) => ({ name, optIn: false })),
  ...OPT_IN.map((name) => ({ name, optIn: true })),
];

export type OptInStatus = 'opt-in-not-required' | 'opted-in' | 'not-opted-in';

export function isRegion(name: string): boolean {
  return REGIONS.some((r) => r.name === name);
}

/**
 * The region a request is for, from its SigV4 credential scope `AKID/DATE/REGION/SERVICE/aws4_request`
 * (the Authorization header, or X-Amz-Credential on a presigned request). Tests aim every client
 * at one URL, so the signature is the only place the region shows.
 */
export function signedRegion(authorization: string | undefined, queryCredential: string | undefined): string | undefined {
  const scope = /Credential=([^,\s]+)/.exec(authorization ?? '')?.[1] ?? queryCredential;
  const parts = scope?.split('/');
  return parts && parts.length === 5 ? parts[2] : undefined;
}

/** The service a request is signed for (`ec2`, `ssm`, `autoscaling`), from the same credential scope. */
export function signedService(authorization: string | undefined, queryCredential: string | undefined): string | undefined {
  const scope = /Credential=([^,\s]+)/.exec(authorization ?? '')?.[1] ?? queryCredential;
  const parts = scope?.split('/');
  return parts && parts.length === 5 ? parts[3] : undefined;
}

/** How long state changes take; shared by every region and changed together. */
export type Timing = Pick<StateOptions, 'bootMs' | 'imageMs' | 'copyMs' | 'stopMs' | 'terminateMs'>;

export interface WorldOptions {
  defaultRegion: string;
  /** Account, timing and visibility, the same for every region. */
  state: Omit<StateOptions, 'region'>;
  /** Present in every region, with the same ids. */
  baseImages: BaseImage[];
  /** Opt-in regions the account has not enabled. */
  optedOut: readonly string[];
  /**
   * What a request for a region the account has not enabled gets. Real EC2 answers
   * AuthFailure (HTTP 401); OptInRequired is there for callers written against it.
   */
  notOptedInError: 'AuthFailure' | 'OptInRequired';
}

/**
 * Every region of one account: one Ec2State per region, made on first use, all on one clock.
 * Regions share nothing else, as on AWS: an id made in one is unknown in the others.
 */
export class Ec2World {
  readonly clock: TestClock;
  readonly defaultRegion: string;
  private readonly options: WorldOptions;
  private readonly stateOptions: Omit<StateOptions, 'region'>;
  private readonly states = new Map<string, Ec2State>();
  private readonly optedIn = new Set<string>();

  constructor(clock: TestClock, options: WorldOptions) {
    this.clock = clock;
    this.options = options;
    this.stateOptions = { ...options.state };
    this.defaultRegion = options.defaultRegion;
    if (!isRegion(this.defaultRegion)) throw new RangeError(`unknown region ${this.defaultRegion}`);
    for (const name of options.optedOut) this.checkOptIn(name);
    for (const r of REGIONS) if (r.optIn && !options.optedOut.includes(r.name)) this.optedIn.add(r.name);
    // Unsigned requests go to the default region, which therefore has to be usable.
    if (this.optInStatus(this.defaultRegion) === 'not-opted-in') this.optedIn.add(this.defaultRegion);
  }

  get accountId(): string {
    return this.stateOptions.accountId;
  }

  optInStatus(region: string): OptInStatus {
    const info = REGIONS.find((r) => r.name === region);
    if (!info?.optIn) return 'opt-in-not-required';
    return this.optedIn.has(region) ? 'opted-in' : 'not-opted-in';
  }

  setOptIn(region: string, optedIn: boolean): void {
    this.checkOptIn(region);
    if (optedIn) this.optedIn.add(region);
    else this.optedIn.delete(region);
  }

  /** The state a request signed for `region` works on; refuses what the account cannot use. */
  forRequest(region: string | undefined): Ec2State {
    const name = region ?? this.defaultRegion;
    if (!isRegion(name)) {
      throw new Ec2Fault('AuthFailure', 'AWS was not able to validate the provided access credentials', 401);
    }
    if (this.optInStatus(name) === 'not-opted-in') {
      if (this.options.notOptedInError === 'OptInRequired') {
        throw new Ec2Fault('OptInRequired', 'You are not subscribed to this service. Please go to http://aws.amazon.com to subscribe.', 401);
      }
      throw new Ec2Fault('AuthFailure', 'AWS was not able to validate the provided access credentials', 401);
    }
    return this.state(name);
  }

  /** A region's state whatever the account's opt-in, for the endpoint's own accessors. */
  state(region: string): Ec2State {
    let state = this.states.get(region);
    if (!state) {
      if (!isRegion(region)) throw new RangeError(`unknown region ${region}`);
      state = new Ec2State(this.clock, { ...this.stateOptions, region });
      for (const base of this.options.baseImages) state.addBaseImage(base);
      this.states.set(region, state);
    }
    return state;
  }

  /** Regions whose state exists, in the order they were first used. */
  regionsInUse(): string[] {
    return [...this.states.keys()];
  }

  setTiming(timing: Partial<Timing>): void {
    for (const key of ['bootMs', 'imageMs', 'copyMs', 'stopMs', 'terminateMs'] as const) {
      const value = timing[key];
      if (value === undefined) continue;
      this.stateOptions[key] = value;
      for (const state of this.states.values()) state.options[key] = value;
    }
  }

  private checkOptIn(region: string): void {
    if (!REGIONS.find((r) => r.name === region)?.optIn) {
      throw new RangeError(`${region} is not an opt-in region`);
    }
  }
}
