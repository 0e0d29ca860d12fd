/**
 * The bake and lineage half of the store contract, registered onto the one contract suite
 * in spec/store.test.ts so both backends answer the very same tests.
 */
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Clock } from '../../runtime/clock.ts';
import { ConflictError, ValidationError } from '../../runtime/errors.ts';
import { challengeHash } from '../../runtime/puppet/challenge.ts';
import { BAKE_TABLE, REPORT_SHAPE } from '../../runtime/store/bake-table.ts';
import { GROUP_TABLE } from '../../runtime/store/group-table.ts';
import { IMAGE_TABLE } from '../../runtime/store/image-table.ts';
import type { Bake, Group, GroupSettings, ImageRecord, NewBake, ReportSummary, Store } from '../../runtime/store/store.ts';
import type { Shape } from '../../runtime/store/table.ts';
import { rejects } from './rejects.ts';

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

export { rejects };

/** Fixed times (epoch ms), so lease expiry is decided by the test and not by the clock. */
export const at = (seconds: number): number => Date.UTC(2030, 0, 1) + seconds * 1000;

const bake = (id: string, over: Partial<NewBake> = {}): NewBake => ({
  id, run_id: 'run-1', group_name: 'wordpress', region: 'us-east-1', parent_image: 'ami-0abc1234', deadline: at(3600), ...over,
});

const report = (over: Partial<ReportSummary> = {}): ReportSummary => ({
  host: 'wordpress-i-0abc.autoami', transaction_uuid: 'a1b2c3d4-0000-4000-8000-000000000001', configuration_version: '1700000000',
  status: 'changed', environment: 'production', time: '2030-01-01T00:05:00.123Z', changed: 3, failed: 0, failed_to_restart: 0,
  corrective_change: 1, changed_resources: ['Package[nginx]', `File[/etc/it's "quoted" \\ 🔑]`, 'Service[nginx]'], failed_resources: [],
  ...over,
});

const image = (id: string, seconds: number, over: Partial<ImageRecord> = {}): ImageRecord => ({
  image_id: id, group_name: 'wordpress', region: 'us-east-1', name: `autoami-wordpress-${seconds}`, parent_image: 'ami-0abc1234',
  bake_id: 'b1', config_version: '1700000000', changed_resources: ['Package[nginx]', "File['x']"], created_at: at(seconds),
  deregistered_at: null, ...over,
});

/**
 * Every field holds something other than nothing and other than its default, so a field a
 * backend failed to write or read back would show as a difference.
 */
function everyFieldSet<R>(shape: Shape<R>, record: R, what: string): void {
  for (const key in shape) {
    const value: unknown = record[key];
    assert.ok(value !== null && value !== undefined && !(Array.isArray(value) && value.length === 0), `${what}.${key} is empty`);
    assert.not.equal(value, shape[key].default, `${what}.${key} holds its default`);
  }
}

/** A new bake, queued and leased by `owner` until at(60). */
async function leased(store: Store, id: string, owner = 'm1'): Promise<void> {
  await store.createBake(bake(id));
  assert.ok(await store.acquireLease(id, owner, at(60), at(0)));
}

export function bakeContract(test: Test, fresh: () => Promise<Backing>): void {
  const withStore = async (body: (store: Store) => Promise<void>) => using((await fresh()).make(), body);

  test('should create a bake queued, without outcome or report, stamped by its clock, and keep it', async () => {
    const backing = await fresh();
    const clock = new FakeClock(at(-60) + 123);
    const created = await using(backing.make(clock), (store) => store.createBake(bake('b1', { deadline: at(3600) + 7 })));
    assert.equal(created, {
      ...bake('b1'), deadline: at(3600) + 7, state: 'queued', outcome: null, reason: null, instance_id: null,
      certname: null, image_id: null, image_name: null, report: null, lease_owner: null, lease_expires: null,
      created_at: clock.time, updated_at: clock.time, finished_at: null, challenge_hash: null,
    });
    await using(backing.make(), async (store) => {
      assert.equal(await store.getBake('b1'), created);
      assert.is(await store.getBake('nope'), undefined);
    });
  });

  test('should refuse a reused bake id with ConflictError on id, and a deadline that is not whole epoch milliseconds', async () => {
    await withStore(async (store) => {
      const first = await store.createBake(bake('b1'));
      assert.equal((await rejects(store.createBake(bake('b1', { run_id: 'run-2' })), ConflictError)).data, { field: 'id' });
      for (const deadline of [Number.NaN, at(0) + 0.5, -1, Date.UTC(10000, 0, 1), '2030-01-01T00:00:00Z' as never]) {
        assert.equal((await rejects(store.createBake(bake('b2', { deadline })), ValidationError)).field, 'deadline');
      }
      assert.equal(await store.listBakes(), [first]);
    });
  });

  test('should list bakes oldest first, filtered by active, group and run', async () => {
    await withStore(async (store) => {
      await store.createBake(bake('b1'));
      await store.createBake(bake('b2', { group_name: 'db' }));
      await leased(store, 'b3');
      await store.createBake(bake('b4', { run_id: 'run-2' }));
      assert.ok(await store.transition('b3', 'm1', 'queued', { state: 'done', outcome: 'unchanged' }));
      const ids = async (filter?: Parameters<Store['listBakes']>[0]) => (await store.listBakes(filter)).map((b) => b.id);
      assert.equal(await ids(), ['b1', 'b2', 'b3', 'b4']);
      assert.equal(await ids({ active: true }), ['b1', 'b2', 'b4']);
      assert.equal(await ids({ active: false }), ['b1', 'b2', 'b3', 'b4']);
      assert.equal(await ids({ group_name: 'wordpress' }), ['b1', 'b3', 'b4']);
      assert.equal(await ids({ run_id: 'run-1', group_name: 'wordpress', active: true }), ['b1']);
      assert.equal(await ids({ group_name: "'; --" }), []);
    });
  });

  test('should find a bake by certname, and refuse a certname another bake has', async () => {
    await withStore(async (store) => {
      await leased(store, 'b1');
      await leased(store, 'b2');
      const certname = 'wordpress-i-0abc.autoami';
      const moved = await store.transition('b1', 'm1', 'queued', { state: 'launching', instance_id: 'i-0abc', certname });
      assert.equal(await store.findBakeByCertname(certname), moved);
      assert.is(await store.findBakeByCertname('other.autoami'), undefined);
      const before = await store.getBake('b2');
      const clash = store.transition('b2', 'm1', 'queued', { state: 'launching', certname });
      assert.equal((await rejects(clash, ConflictError)).data, { field: 'certname' });
      assert.equal(await store.getBake('b2'), before);
    });
  });

  test('should take a free lease, refuse a held one, take over an expired one and let the owner renew', async () => {
    await withStore(async (store) => {
      await store.createBake(bake('b1'));
      assert.is(await store.acquireLease('nope', 'm1', at(60), at(0)), undefined);
      const taken = await store.acquireLease('b1', 'm1', at(60), at(0));
      assert.equal([taken?.lease_owner, taken?.lease_expires], ['m1', at(60)]);
      assert.is(await store.acquireLease('b1', 'm2', at(90), at(30)), undefined);
      assert.is(await store.acquireLease('b1', 'm2', at(90), at(60)), undefined, 'expiry equal to now is not yet past');
      assert.equal(await store.getBake('b1'), taken);
      const renewed = await store.acquireLease('b1', 'm1', at(120), at(50));
      assert.equal([renewed?.lease_owner, renewed?.lease_expires], ['m1', at(120)]);
      const over = await store.acquireLease('b1', 'm2', at(200), at(121));
      assert.equal([over?.lease_owner, over?.lease_expires], ['m2', at(200)]);
      assert.is(await store.acquireLease('b1', 'm1', at(300), at(130)), undefined);
    });
  });

  test('should release a lease only for its owner', async () => {
    await withStore(async (store) => {
      await leased(store, 'b1');
      await store.releaseLease('b1', 'm2');
      assert.is((await store.getBake('b1'))?.lease_owner, 'm1');
      await store.releaseLease('b1', 'm1');
      assert.equal([(await store.getBake('b1'))?.lease_owner, (await store.getBake('b1'))?.lease_expires], [null, null]);
      assert.is((await store.acquireLease('b1', 'm2', at(60), at(0)))?.lease_owner, 'm2');
    });
  });

  test('should refuse a transition from the wrong state or by a non-owner, changing nothing', async () => {
    await withStore(async (store) => {
      await store.createBake(bake('b0'));
      assert.is(await store.transition('b0', 'm1', 'queued', { state: 'launching' }), undefined, 'no lease held');
      await leased(store, 'b1');
      const before = await store.getBake('b1');
      assert.is(await store.transition('b1', 'm1', 'booting', { state: 'bootstrapping', reason: 'x' }), undefined);
      assert.is(await store.transition('b1', 'm2', 'queued', { state: 'launching', reason: 'x' }), undefined);
      assert.is(await store.transition('nope', 'm1', 'queued', { state: 'launching' }), undefined);
      assert.equal(await store.getBake('b1'), before);
      await rejects(store.transition('b1', 'm1', 'queued', { state: 'baking' as never }), ValidationError);
    });
  });

  test('should move a bake, set only the given fields, and finish it at done without a lease', async () => {
    await withStore(async (store) => {
      await leased(store, 'b1');
      const before = (await store.getBake('b1'))!;
      const launched = (await store.transition('b1', 'm1', 'queued', { state: 'launching', instance_id: 'i-0abc', deadline: at(600) }))!;
      assert.equal(launched, { ...before, state: 'launching', instance_id: 'i-0abc', deadline: at(600), updated_at: launched.updated_at });
      assert.equal(await store.getBake('b1'), launched);
      assert.ok(launched.updated_at >= before.updated_at);
      const done = await store.transition('b1', 'm1', 'launching', { state: 'done', outcome: 'failed', reason: "EC2 said 'no'" });
      assert.equal([done?.state, done?.outcome, done?.reason, done?.instance_id], ['done', 'failed', "EC2 said 'no'", 'i-0abc']);
      assert.equal([done?.lease_owner, done?.lease_expires], [null, null]);
      assert.ok(done && done.finished_at !== null && done.finished_at >= launched.updated_at);
      assert.is(await store.transition('b1', 'm1', 'done', { state: 'cleaning' }), undefined);
    });
  });

  // The one-time CSR challenge: a 64-hex-digit secret like the sidecar's, and the digest kept of it.
  const SECRET = 'c4'.repeat(32);
  const HASH = challengeHash(SECRET);

  test('should record a challenge hash only for the lease holder in the given state, and keep it', async () => {
    const backing = await fresh();
    await using(backing.make(), async (store) => {
      await leased(store, 'b1');
      assert.is(await store.setChallenge('b1', 'm2', 'queued', HASH), undefined, 'not the lease holder');
      assert.is(await store.setChallenge('b1', 'm1', 'launching', HASH), undefined, 'not in that state');
      assert.is(await store.setChallenge('nope', 'm1', 'queued', HASH), undefined);
      assert.is((await store.getBake('b1'))?.challenge_hash, null);
      const set = await store.setChallenge('b1', 'm1', 'queued', HASH);
      assert.equal([set?.challenge_hash, set?.state], [HASH, 'queued']);
      // A new secret replaces the old one's hash.
      const other = challengeHash('d5'.repeat(32));
      assert.is((await store.setChallenge('b1', 'm1', 'queued', other))?.challenge_hash, other);
      assert.is((await store.setChallenge('b1', 'm1', 'queued', HASH))?.challenge_hash, HASH);
    });
    await using(backing.make(), async (store) => assert.is((await store.getBake('b1'))?.challenge_hash, HASH));
  });

  test('should take nothing but a sha256 digest as a challenge, without echoing what it was given', async () => {
    await withStore(async (store) => {
      await leased(store, 'b1');
      for (const value of [SECRET, HASH.slice('sha256:'.length), `${HASH}0`, HASH.toUpperCase(), '']) {
        const error = await rejects(store.setChallenge('b1', 'm1', 'queued', value), ValidationError);
        assert.is(error.field, 'challenge_hash');
        if (value) assert.not.ok(error.message.includes(value), error.message);
      }
      await rejects(store.clearChallenge('b1', SECRET), ValidationError);
      // A transition may forget a challenge, never set one.
      await rejects(store.transition('b1', 'm1', 'queued', { state: 'launching', challenge_hash: HASH as never }), ValidationError);
      assert.is((await store.getBake('b1'))?.challenge_hash, null);
    });
  });

  test('should spend a challenge once, and only the one it was given', async () => {
    await withStore(async (store) => {
      await leased(store, 'b1');
      await store.setChallenge('b1', 'm1', 'queued', HASH);
      assert.is(await store.clearChallenge('b1', challengeHash('e6'.repeat(32))), false, 'another hash');
      assert.is(await store.clearChallenge('nope', HASH), false);
      assert.is((await store.getBake('b1'))?.challenge_hash, HASH);
      // No lease needed: policy autosign spends it from whichever sidecar is asked.
      assert.is(await store.clearChallenge('b1', HASH), true);
      assert.is(await store.clearChallenge('b1', HASH), false, 'spent');
      assert.is((await store.getBake('b1'))?.challenge_hash, null);
      assert.is((await store.getBake('b1'))?.lease_owner, 'm1');
    });
  });

  test('should let exactly one of several racing callers spend a challenge', async () => {
    const backing = await fresh();
    await using(backing.make(), async (one) => {
      const other = backing.shared ? backing.make() : one;
      if (other !== one) await other.open();
      try {
        await leased(one, 'b1');
        for (let i = 0; i < 5; i++) {
          await one.setChallenge('b1', 'm1', 'queued', HASH);
          const results = await Promise.all([one, other, one, other].map((store) => store.clearChallenge('b1', HASH)));
          assert.is(results.filter(Boolean).length, 1, `round ${i}: ${JSON.stringify(results)}`);
        }
      } finally {
        if (other !== one) await other.close();
      }
    });
  });

  test('should forget the challenge on a transition that clears it, and keep it on one that does not', async () => {
    await withStore(async (store) => {
      await leased(store, 'b1');
      await store.setChallenge('b1', 'm1', 'queued', HASH);
      const launching = await store.transition('b1', 'm1', 'queued', { state: 'launching', instance_id: 'i-0abc' });
      assert.is(launching?.challenge_hash, HASH);
      const cleaning = await store.transition('b1', 'm1', 'launching', { state: 'cleaning', outcome: 'failed', challenge_hash: null });
      assert.is(cleaning?.challenge_hash, null);
      assert.is((await store.getBake('b1'))?.challenge_hash, null);
    });
  });

  test('should move on a condition on the challenge only while it still holds, and never store the condition', async () => {
    await withStore(async (store) => {
      await leased(store, 'b1');
      await store.setChallenge('b1', 'm1', 'queued', HASH);
      const before = await store.getBake('b1');
      const other = challengeHash('f7'.repeat(32));
      assert.is(await store.transition('b1', 'm1', 'queued', { state: 'launching', instance_id: 'i-0abc', expect_challenge: other }), undefined);
      assert.equal(await store.getBake('b1'), before);
      await rejects(store.transition('b1', 'm1', 'queued', { state: 'launching', expect_challenge: SECRET }), ValidationError);
      const moved = await store.transition('b1', 'm1', 'queued', { state: 'launching', instance_id: 'i-0abc', expect_challenge: HASH });
      assert.equal([moved?.state, moved?.instance_id, moved?.challenge_hash], ['launching', 'i-0abc', HASH]);
      assert.not.ok(moved && 'expect_challenge' in moved);
    });
  });

  test('should keep only the digest: the secret is nowhere in what the backend stores', async () => {
    const backing = await fresh();
    await using(backing.make(), async (store) => {
      await leased(store, 'b1');
      await store.setChallenge('b1', 'm1', 'queued', HASH);
    });
    const raw = await backing.raw();
    assert.ok(raw.includes(HASH), 'the digest is stored, so the raw view is the right one');
    for (const form of [SECRET, SECRET.toUpperCase(), Buffer.from(SECRET).toString('base64'), Buffer.from(SECRET, 'hex').toString('base64'), SECRET.slice(8, 40)]) {
      assert.not.ok(raw.includes(form), `the store holds ${form}`);
    }
  });

  test('should let exactly one of two racing masters take a lease', async () => {
    const backing = await fresh();
    await using(backing.make(), async (one) => {
      // The embedded file admits one sidecar, so there the race is two callers of one store.
      const other = backing.shared ? backing.make() : one;
      if (other !== one) await other.open();
      try {
        for (let i = 0; i < 10; i++) {
          await one.createBake(bake(`race-${i}`));
          const results = await Promise.all([
            one.acquireLease(`race-${i}`, 'm1', at(60), at(0)),
            other.acquireLease(`race-${i}`, 'm2', at(60), at(0)),
          ]);
          const winners = results.filter((r) => r !== undefined);
          assert.is(winners.length, 1, `race ${i}: ${JSON.stringify(results.map((r) => r?.lease_owner))}`);
          assert.is((await one.getBake(`race-${i}`))?.lease_owner, winners[0]?.lease_owner);
        }
      } finally {
        if (other !== one) await other.close();
      }
    });
  });

  test('should record a report once, keeping the first', async () => {
    const backing = await fresh();
    await using(backing.make(), async (store) => {
      await store.createBake(bake('b1'));
      assert.is(await store.recordReport('b1', report()), true);
      assert.is(await store.recordReport('b1', report({ transaction_uuid: 'second', status: 'failed', failed: 2 })), false);
      assert.is(await store.recordReport('nope', report()), false);
    });
    await using(backing.make(), async (store) => assert.equal((await store.getBake('b1'))?.report, report()));
  });

  test('should promote: point the group at the image and add lineage, harmlessly twice', async () => {
    await withStore(async (store) => {
      const group = await store.createGroup(settings());
      await store.promote(image('ami-0new', 10));
      await store.promote(image('ami-0new', 20, { name: 'retried' }));
      const after = await store.getGroup('wordpress');
      assert.equal([after?.image, after?.base_image], ['ami-0new', group.base_image]);
      assert.equal(await store.listImages('wordpress'), [image('ami-0new', 10)]);
    });
  });

  test('should list a group lineage newest first and keep it after the group is deleted', async () => {
    await withStore(async (store) => {
      await store.createGroup(settings());
      for (const [id, t] of [['ami-1', 0], ['ami-3', 20], ['ami-2', 10]] as const) await store.promote(image(id, t));
      await store.promote(image('ami-db', 30, { group_name: 'db' }));
      await store.deleteGroup('wordpress');
      assert.equal((await store.listImages('wordpress')).map((i) => i.image_id), ['ami-3', 'ami-2', 'ami-1']);
      assert.equal(await store.listImages('none'), []);
      assert.is(await store.getGroup('db'), undefined, 'promote never creates a group');
    });
  });

  test('should mark an image deregistered once, keeping the first time', async () => {
    await withStore(async (store) => {
      await store.promote(image('ami-1', 0));
      await store.markImageDeregistered('ami-1', at(86_400));
      await store.markImageDeregistered('ami-1', at(2 * 86_400));
      await store.markImageDeregistered('ami-none', at(2 * 86_400));
      assert.equal(await store.listImages('wordpress'), [image('ami-1', 0, { deregistered_at: at(86_400) })]);
    });
  });

  test('should set a group image, and answer false for an unknown group', async () => {
    await withStore(async (store) => {
      await store.createGroup(settings());
      assert.is(await store.setGroupImage('wordpress', 'ami-0back'), true);
      assert.is(await store.setGroupImage('wordpress', 'ami-0back'), true);
      const group = await store.getGroup('wordpress');
      assert.equal([group?.image, group?.base_image], ['ami-0back', 'ami-0abc1234']);
      assert.is(await store.setGroupImage('nope', 'ami-0back'), false);
      assert.is(await store.getGroup('nope'), undefined);
    });
  });

  test('should keep a group, a bake and an image with every field set, and read each back exactly', async () => {
    const backing = await fresh();
    const clock = new FakeClock(at(0) + 101);
    const full: GroupSettings = {
      name: 'full', image: 'ami-0f0000001', type: 'm7i-flex.2xlarge', keyname: 'other-key', keyfile: '/etc/autoami/other.pem', login: 'admin',
      puppetserver: 'puppet2.example.com', node_group: 'full nodes', enc_user: 'ops', enc_pass: "p'ss", enc_server: 'enc.example.com',
      enc_port: 8443, region: 'eu-west-1', subnet: 'subnet-0abc', security_group: 'sg-0abc', bootstrap: 'userdata', keep: 7,
      template: '/etc/autoami/full.sh.hbs', keep_failed: true,
    };
    const fullReport: ReportSummary = {
      host: 'full-i-0f00000000000001.autoami', transaction_uuid: 'a1b2c3d4-0000-4000-8000-0000000000ff', configuration_version: 'v42',
      status: 'failed', environment: 'staging', time: '2030-01-01T00:05:00.123+02:00', changed: 4, failed: 1, failed_to_restart: 2,
      corrective_change: 3, changed_resources: ['Package[nginx]', 'File[/x]'], failed_resources: ["Service['nginx']"],
    };
    const secret = challengeHash('a1'.repeat(32));
    const last = challengeHash('b2'.repeat(32));
    const written = await using(backing.make(clock), async (store) => {
      await store.createGroup(full);
      clock.time = at(10) + 202;
      assert.ok(await store.setGroupImage('full', 'ami-0f0000002'));
      const group = (await store.getGroup('full'))!;

      clock.time = at(20) + 303;
      await store.createBake({ id: 'full-bake', run_id: 'run-9', group_name: 'full', region: 'eu-west-1', parent_image: 'ami-0f0000001', deadline: at(100) });
      assert.ok(await store.acquireLease('full-bake', 'm1', at(600), at(20)));
      assert.ok(await store.setChallenge('full-bake', 'm1', 'queued', secret));
      clock.time = at(30) + 404;
      const instance = { instance_id: 'i-0f00000000000001', certname: 'full-i-0f00000000000001.autoami', deadline: at(200) + 5 };
      assert.ok(await store.transition('full-bake', 'm1', 'queued', { state: 'launching', ...instance, expect_challenge: secret }));
      assert.ok(await store.transition('full-bake', 'm1', 'launching', { state: 'imaging', image_name: 'autoami-full-1', reason: 'changed 4', challenge_hash: null }));
      assert.ok(await store.transition('full-bake', 'm1', 'imaging', { state: 'image_pending', image_id: 'ami-0f0000003' }));
      assert.ok(await store.recordReport('full-bake', fullReport));
      clock.time = at(40) + 505;
      assert.ok(await store.transition('full-bake', 'm1', 'image_pending', { state: 'done', outcome: 'baked', deadline: at(300) + 6 }));
      // A finished bake has no lease and no challenge; taken again here only so that every field holds something.
      assert.ok(await store.acquireLease('full-bake', 'm2', at(900) + 7, at(50)));
      clock.time = at(50) + 606;
      const bake = (await store.setChallenge('full-bake', 'm2', 'done', last))!;

      clock.time = at(60) + 707;
      await store.promote({
        image_id: 'ami-0f0000003', group_name: 'full', region: 'eu-west-1', name: 'autoami-full-1', parent_image: 'ami-0f0000001',
        bake_id: 'full-bake', config_version: 'v42', changed_resources: ['Package[nginx]', 'File[/x]'], created_at: at(45) + 8, deregistered_at: null,
      });
      await store.markImageDeregistered('ami-0f0000003', at(70) + 9);
      return { group, bake };
    });

    const group: Group = { ...full, image: 'ami-0f0000002', base_image: 'ami-0f0000001', created_at: at(0) + 101, updated_at: at(10) + 202 };
    const bake: Bake = {
      id: 'full-bake', run_id: 'run-9', group_name: 'full', region: 'eu-west-1', parent_image: 'ami-0f0000001', deadline: at(300) + 6,
      state: 'done', outcome: 'baked', reason: 'changed 4', instance_id: 'i-0f00000000000001', certname: 'full-i-0f00000000000001.autoami',
      image_id: 'ami-0f0000003', image_name: 'autoami-full-1', report: fullReport, lease_owner: 'm2', lease_expires: at(900) + 7,
      created_at: at(20) + 303, updated_at: at(50) + 606, finished_at: at(40) + 505, challenge_hash: last,
    };
    const image: ImageRecord = {
      image_id: 'ami-0f0000003', group_name: 'full', region: 'eu-west-1', name: 'autoami-full-1', parent_image: 'ami-0f0000001', bake_id: 'full-bake',
      config_version: 'v42', changed_resources: ['Package[nginx]', 'File[/x]'], created_at: at(45) + 8, deregistered_at: at(70) + 9,
    };
    // Promotion points the group at the new image.
    const promoted: Group = { ...group, image: 'ami-0f0000003', updated_at: at(60) + 707 };
    everyFieldSet(GROUP_TABLE, group, 'group');
    everyFieldSet(BAKE_TABLE, bake, 'bake');
    everyFieldSet(REPORT_SHAPE, fullReport, 'report');
    everyFieldSet(IMAGE_TABLE, image, 'image');
    assert.equal(written, { group, bake });
    // Read back by a store that did not write them: what the backend kept, not what it remembered.
    await using(backing.make(), async (store) => {
      assert.equal(await store.getGroup('full'), promoted);
      assert.equal(await store.listGroups(), [promoted]);
      assert.equal(await store.getBake('full-bake'), bake);
      assert.equal(await store.findBakeByCertname(bake.certname!), bake);
      assert.equal(await store.listBakes(), [bake]);
      assert.equal(await store.listImages('full'), [image]);
    });
  });

  test('should stamp created_at, updated_at and finished_at with the clock it was given', async () => {
    const clock = new FakeClock(Date.UTC(2031, 5, 7, 8, 9, 10, 11));
    await using((await fresh()).make(clock), async (store) => {
      const start = clock.time;
      assert.equal([(await store.createGroup(settings())).created_at, (await store.getGroup('wordpress'))?.updated_at], [start, start]);
      const created = await store.createBake(bake('b1'));
      assert.equal([created.created_at, created.updated_at], [start, start]);
      assert.ok(await store.acquireLease('b1', 'm1', at(60), at(0)));
      clock.time += 1_001;
      assert.is((await store.transition('b1', 'm1', 'queued', { state: 'launching' }))?.updated_at, start + 1_001);
      clock.time += 1_001;
      const done = await store.transition('b1', 'm1', 'launching', { state: 'done', outcome: 'failed' });
      assert.equal([done?.updated_at, done?.finished_at, done?.created_at], [start + 2_002, start + 2_002, start]);
      clock.time += 1_001;
      await store.promote(image('ami-0new', 10));
      assert.equal([(await store.getGroup('wordpress'))?.created_at, (await store.getGroup('wordpress'))?.updated_at], [start, start + 3_003]);
    });
  });
}
