/**
 * What the store contract's tests share (spec/store.test.ts and spec/support/*-contract.ts):
 * a backing to open stores over, a clock that stands still, and records to fill them with.
 */
import * as assert from 'uvu/assert';
import type { Clock } from '../../runtime/clock.ts';
import type { CatalogCheck, GroupSettings, ImageRecord, NewBake, ReportSummary, Store } from '../../runtime/store/store.ts';

/** One place to keep data; `make()` gives a new, unopened store over it, stamping times with `clock` (the system's by default). */
export interface Backing {
  make(clock?: Clock): Store;
  /** Whether two stores may be open on it at once, as two masters on one MySQL. */
  readonly shared: boolean;
  /** Everything the backend keeps of its bakes, as it lies on disk or in the tables. */
  raw(): Promise<string>;
}

/** A clock that stands still until the test moves it. */
export class FakeClock implements Clock {
  constructor(public time: number) {}
  now(): number {
    return this.time;
  }
}

export const settings = (over: Partial<GroupSettings> = {}): GroupSettings => ({
  name: 'wordpress', image: 'ami-0abc1234', type: 't3.micro', keyname: 'deploy', keyfile: '/etc/autoami/deploy.pem',
  login: 'ec2-user', puppetserver: 'puppet.example.com', node_group: 'wordpress', enc_user: 'admin', enc_pass: 'secret',
  enc_server: null, enc_port: 443, region: 'us-east-1', subnet: null, security_group: null, bootstrap: 'ssh', keep: 3, template: null, keep_failed: false,
  keep_days: null, copy_to: [], encrypt: false, kms_key: [], share_with: [], deprecate_after: null,
  ssm_parameter: [], launch_template: [], instance_refresh: [], min_healthy_percentage: 90, refresh_replace_all: false, bake_on: 'intentional', ignore_resources: [],
  base_image_from: null, base_image_filter: null, base_image_owner: null,
  verify: false,
  ...over,
});

export async function using<T>(store: Store, body: (store: Store) => Promise<T>): Promise<T> {
  await store.open();
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

/** Fixed times (epoch ms), so lease expiry is decided by the test and not by the clock. */
export const at = (seconds: number): number => Date.UTC(2030, 0, 1) + seconds * 1000;

export const bake = (id: string, over: Partial<NewBake> = {}): NewBake => ({
  id, run_id: 'run-1', group_name: 'wordpress', region: 'us-east-1', parent_image: 'ami-0abc1234', deadline: at(3600), ...over,
});

export const report = (over: Partial<ReportSummary> = {}): ReportSummary => ({
  host: 'wordpress-i-0abc.autoami', transaction_uuid: 'a1b2c3d4-0000-4000-8000-000000000001', configuration_version: '1700000000',
  status: 'changed', environment: 'production', time: '2030-01-01T00:05:00.123Z', changed: 3, failed: 0, failed_to_restart: 0,
  corrective_change: 1, changed_resources: ['Package[nginx]', `File[/etc/it's "quoted" \\ 🔑]`, 'Service[nginx]'], failed_resources: [],
  corrective_resources: ['Service[nginx]'], noop: false, pending_resources: [], ...over,
});

export const image = (id: string, seconds: number, over: Partial<ImageRecord> = {}): ImageRecord => ({
  image_id: id, group_name: 'wordpress', region: 'us-east-1', name: `autoami-wordpress-${seconds}`, parent_image: 'ami-0abc1234',
  bake_id: 'b1', config_version: '1700000000', changed_resources: ['Package[nginx]', "File['x']"], created_at: at(seconds),
  deregistered_at: null, copies: {}, retention_note: null, catalog_hash: null, ...over,
});

/** A `sha256:<hex>` digest made of one repeated hex digit: distinct, valid, and readable in a failure. */
export const digest = (digit: string): string => `sha256:${digit.repeat(64)}`;

/** What a catalog check that compiled and compared finds: a changed catalog. */
export const catalogCheck = (over: Partial<CatalogCheck> = {}): CatalogCheck => ({
  state: 'changed', reason: '3 resources differ', hash: digest('b'), reference: digest('a'),
  diff: {
    added: ['File[/etc/motd]'], removed: ["Package['telnet']"], changed: [{ ref: 'Service[nginx]', parameters: ['ensure', 'enable'] }], edgesChanged: true,
  },
  compile_ms: 1234, ...over,
});

/** Group settings unlike every default of the distribution fields, so a field dropped on the way shows. */
export const distributed = {
  keep_days: 30, copy_to: ['eu-west-1', 'ap-southeast-2'], encrypt: true,
  kms_key: ['default=arn:aws:kms:us-east-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef', 'eu-west-1=arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
  share_with: ['123456789012', 'arn:aws:organizations::123456789012:organization/o-exampleorgid'], deprecate_after: '90d',
} as const satisfies Partial<GroupSettings>;

/** Group settings unlike every default of the publication fields, for the same reason. */
export const published = {
  ssm_parameter: ['/autoami/wordpress/latest', 'prod:/autoami/wordpress/prod'], launch_template: ['lt-0123456789abcdef0', 'prod:wordpress-web'],
  instance_refresh: ['prod:asg-wordpress'], min_healthy_percentage: 50, refresh_replace_all: true,
} as const satisfies Partial<GroupSettings>;

/** Group settings unlike every default of the base image fields, for the same reason; a store does not judge the combination. */
export const following = {
  base_image_from: '/aws/service/debian/release/12/latest/amd64', base_image_filter: "debian-12-amd64-* (o'brien)", base_image_owner: '136693071363',
} as const satisfies Partial<GroupSettings>;

/** Group settings unlike every default of the judgement fields, for the same reason. */
export const judged = {
  bake_on: 'any', ignore_resources: ['Exec[apt_update]', 'Notify[*]'],
} as const satisfies Partial<GroupSettings>;

/** A new bake, queued and leased by `owner` until at(60). */
export async function leased(store: Store, id: string, owner = 'm1'): Promise<void> {
  await store.createBake(bake(id));
  assert.ok(await store.acquireLease(id, owner, at(60), at(0)));
}
