/**
 * One contract for both store backends, then what only one backend can show:
 * the embedded file's lock and crash safety, MySQL's migrations and unreachable servers.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import type { DatabaseConfig } from '../runtime/config.ts';
import { ConflictError, StoreUnavailableError, ValidationError } from '../runtime/errors.ts';
import { EMBEDDED_SCHEMA_VERSION, EmbeddedStore } from '../runtime/store/embedded-store.ts';
import { MIGRATIONS, migrate } from '../runtime/store/migrations.ts';
import { MysqlStore } from '../runtime/store/mysql-store.ts';
import { bakeContract } from './support/bake-contract.ts';
import { catalogCheckContract } from './support/catalog-check-contract.ts';
import { challengeContract } from './support/challenge-contract.ts';
import { distributionContract } from './support/distribution-contract.ts';
import { factsContract, groupFacts } from './support/facts-contract.ts';
import { groupUpdateContract } from './support/group-update-contract.ts';
import { lineageContract } from './support/lineage-contract.ts';
import { publication, publicationContract } from './support/publication-contract.ts';
import { recordContract } from './support/record-contract.ts';
import { rejects } from './support/rejects.ts';
import { FakeClock, at, catalogCheck, digest, image, report, settings, using, type Backing } from './support/store-fixtures.ts';
import { startMariadb } from './support/mariadb.ts';
import { tempDir } from './support/tmp.ts';
import { waitHistoryContract } from './support/wait-history-contract.ts';

const NASTY = "'; DROP TABLE groups; --";

function contract(name: string, fresh: () => Promise<Backing>) {
  const test = suite(`store contract (${name})`);

  test('should create a group and get it back with base_image and its clock\'s time', async () => {
    const clock = new FakeClock(Date.UTC(2030, 0, 2, 3, 4, 5, 678));
    await using((await fresh()).make(clock), async (store) => {
      const created = await store.createGroup(settings());
      assert.equal(created, { ...settings(), base_image: 'ami-0abc1234', catalog_hash: null, followed_base: null, created_at: clock.time, updated_at: clock.time });
      assert.equal(await store.getGroup('wordpress'), created);
      assert.is(await store.getGroup('nope'), undefined);
    });
  });

  test('should list groups sorted by name', async () => {
    await using((await fresh()).make(), async (store) => {
      assert.equal(await store.listGroups(), []);
      for (const n of ['web', 'App', 'db', 'app-2']) await store.createGroup(settings({ name: n }));
      assert.equal((await store.listGroups()).map((g) => g.name), ['App', 'app-2', 'db', 'web']);
    });
  });

  test('should delete a group and return false for an unknown one', async () => {
    await using((await fresh()).make(), async (store) => {
      await store.createGroup(settings());
      await store.createGroup(settings({ name: 'other' }));
      assert.is(await store.deleteGroup('wordpress'), true);
      assert.is(await store.deleteGroup('wordpress'), false);
      assert.is(await store.deleteGroup('never'), false);
      assert.equal((await store.listGroups()).map((g) => g.name), ['other']);
    });
  });

  test('should refuse a duplicate name with ConflictError on name and change nothing', async () => {
    await using((await fresh()).make(), async (store) => {
      const first = await store.createGroup(settings());
      const error = await rejects(store.createGroup(settings({ image: 'ami-0ffff', keep: 9 })), ConflictError);
      assert.equal(error.data, { field: 'name' });
      assert.match(error.message, 'group "wordpress" already exists');
      assert.equal(await store.listGroups(), [first]);
    });
  });

  test('should round-trip SQL metacharacters, backslashes, unicode and nulls exactly', async () => {
    const odd = settings({
      name: NASTY, keyname: `${NASTY} \\' \\\\ %_ "`, enc_pass: `p\\a'ss"\`\u0000\n\t${NASTY}`, enc_user: 'ключ-🔑-鍵',
      keyfile: 'C:\\keys\\n\\0.pem', enc_server: 'enc.example.com', subnet: 'subnet-0abc', security_group: "sg-'x'",
      bootstrap: 'userdata', enc_port: 65535, keep: 0, template: `/etc/autoami/${NASTY}.sh.hbs`, keep_failed: true,
    });
    const backing = await fresh();
    const created = await using(backing.make(), (store) => store.createGroup(odd));
    await using(backing.make(), async (store) => {
      assert.equal(await store.getGroup(NASTY), created);
      assert.is((await store.getGroup(NASTY))?.enc_pass, odd.enc_pass);
      assert.equal(await store.listGroups(), [created]);
      assert.is(await store.deleteGroup(NASTY), true);
    });
  });

  test('should keep data across close and reopen', async () => {
    const backing = await fresh();
    const created = await using(backing.make(), (store) => store.createGroup(settings()));
    await using(backing.make(), async (store) => assert.equal(await store.listGroups(), [created]));
    await using(backing.make(), async (store) => assert.equal(await store.getGroup('wordpress'), created));
  });

  test('should record the base a group was built on, and a bake started from a new base, stamped by its clock', async () => {
    const backing = await fresh();
    const clock = new FakeClock(at(0));
    const update = { from: 'ami-0abc1234', to: 'ami-0fedcba987654321f', source: '/aws/service/debian/release/12/latest/amd64' };
    await using(backing.make(clock), async (store) => {
      await store.createGroup(settings({ base_image_from: '/aws/service/debian/release/12/latest/amd64' }));
      clock.time = at(7);
      assert.ok(await store.setFollowedBase('wordpress', 'ami-0fedcba987654321f'));
      assert.not.ok(await store.setFollowedBase('nope', 'ami-0fedcba987654321f'));
      await store.createBake({ id: 'b1', run_id: 'r1', group_name: 'wordpress', region: 'us-east-1', parent_image: update.to, deadline: at(60), base_update: update });
    });
    await using(backing.make(), async (store) => {
      const group = await store.getGroup('wordpress');
      assert.equal([group?.base_image_from, group?.followed_base, group?.updated_at], ['/aws/service/debian/release/12/latest/amd64', 'ami-0fedcba987654321f', at(7)]);
      assert.equal((await store.getBake('b1'))?.base_update, update);
      assert.ok(await store.setFollowedBase('wordpress', null));
      assert.is((await store.getGroup('wordpress'))?.followed_base, null);
    });
  });

  test('should refuse use after close with StoreUnavailableError', async () => {
    const store = (await fresh()).make();
    await using(store, async () => undefined);
    await rejects(store.listGroups(), StoreUnavailableError);
    await rejects(store.ping(), StoreUnavailableError);
  });

  bakeContract(test, fresh);
  catalogCheckContract(test, fresh);
  challengeContract(test, fresh);
  distributionContract(test, fresh);
  factsContract(test, fresh);
  groupUpdateContract(test, fresh);
  lineageContract(test, fresh);
  publicationContract(test, fresh);
  recordContract(test, fresh);
  waitHistoryContract(test, fresh);
  return test;
}

// ---- embedded ------------------------------------------------------------------------

const embeddedPath = (): string => join(tempDir(), 'state', 'store.json');
const Embedded = contract('embedded', async () => {
  const path = embeddedPath();
  return { make: (clock) => new EmbeddedStore(path, { clock }), shared: false, raw: async () => readFileSync(path, 'utf8') };
});

Embedded('should create the state dir 0700 and write a schema_version', async () => {
  const path = embeddedPath();
  await using(new EmbeddedStore(path), (store) => store.createGroup(settings()));
  assert.is(statSync(join(path, '..')).mode & 0o777, 0o700);
  assert.is(JSON.parse(readFileSync(path, 'utf8')).schema_version, EMBEDDED_SCHEMA_VERSION);
});

Embedded('should open a v1 file (groups only), keep its groups and write it back as the current version', async () => {
  const path = embeddedPath();
  const { template: _template, keep_failed: _keepFailed, ...v3 } = settings({ name: NASTY });
  const { keep_days: _1, copy_to: _2, encrypt: _3, kms_key: _4, share_with: _5, deprecate_after: _6, ...unpublished } = v3;
  const { ssm_parameter: _p1, launch_template: _p2, instance_refresh: _p3, min_healthy_percentage: _p4, refresh_replace_all: _p5, bake_on: _j1, ignore_resources: _j2, ...before } = unpublished;
  const stored = { ...before, base_image: 'ami-0abc1234', created_at: '2024-05-01T10:00:00.000Z', updated_at: '2024-05-02T12:00:00+02:00' };
  const group = { ...settings({ name: NASTY }), base_image: 'ami-0abc1234', catalog_hash: null, followed_base: null, created_at: Date.UTC(2024, 4, 1, 10), updated_at: Date.UTC(2024, 4, 2, 10) };
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ schema_version: 1, groups: [stored] }, null, 2)}\n`);
  await using(new EmbeddedStore(path), async (store) => {
    assert.equal(await store.listGroups(), [group]);
    assert.equal([await store.listBakes(), await store.listImages(NASTY)], [[], []]);
    assert.is(JSON.parse(readFileSync(path, 'utf8')).schema_version, 1, 'opening alone rewrites nothing');
    await store.createGroup(settings());
  });
  const written = JSON.parse(readFileSync(path, 'utf8'));
  assert.equal([written.schema_version, written.bakes, written.images, written.publications], [EMBEDDED_SCHEMA_VERSION, [], [], []]);
  // Times stay readable in the file: ISO-8601 UTC.
  assert.equal([written.groups[0].created_at, written.groups[0].updated_at], ['2024-05-01T10:00:00.000Z', '2024-05-02T10:00:00.000Z']);
  await using(new EmbeddedStore(path), async (store) => assert.equal(await store.getGroup(NASTY), group));
});

Embedded('should open a v3 file with a bake under way and give it no challenge', async () => {
  const path = embeddedPath();
  const bake = {
    id: 'b1', run_id: 'r1', group_name: 'web', region: 'us-east-1', parent_image: 'ami-1', deadline: '2030-01-01T00:00:00.000Z',
    state: 'awaiting_report', outcome: null, reason: null, instance_id: 'i-0abc', certname: 'web-i-0abc.autoami', image_id: null,
    image_name: null, report: null, lease_owner: null, lease_expires: null, created_at: '2029-12-31T23:00:00.000Z',
    updated_at: '2029-12-31T23:00:00.000Z', finished_at: null,
  };
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ schema_version: 3, groups: [], bakes: [bake], images: [] }, null, 2)}\n`);
  await using(new EmbeddedStore(path), async (store) => {
    assert.equal(await store.getBake('b1'), {
      ...bake, deadline: at(0), created_at: at(-3600), updated_at: at(-3600), challenge_hash: null, distribution: {}, check: null, base_update: null, ...NOT_VERIFIED,
    });
    assert.ok(await store.acquireLease('b1', 'm1', at(60), at(0)));
    assert.ok(await store.setChallenge('b1', 'm1', 'awaiting_report', `sha256:${'0'.repeat(64)}`));
  });
  const written = JSON.parse(readFileSync(path, 'utf8'));
  assert.equal([written.schema_version, written.bakes[0].challenge_hash], [EMBEDDED_SCHEMA_VERSION, `sha256:${'0'.repeat(64)}`]);
});

Embedded('should open a v4 file and give its groups, bakes and images the distribution defaults', async () => {
  const path = embeddedPath();
  const { keep_days: _1, copy_to: _2, encrypt: _3, kms_key: _4, share_with: _5, deprecate_after: _6, ...unpublished } = settings();
  const { ssm_parameter: _p1, launch_template: _p2, instance_refresh: _p3, min_healthy_percentage: _p4, refresh_replace_all: _p5, bake_on: _j1, ignore_resources: _j2, ...before } = unpublished;
  const group = { ...before, base_image: 'ami-0abc1234', created_at: '2029-12-01T00:00:00.000Z', updated_at: '2029-12-01T00:00:00.000Z' };
  const bake = {
    id: 'b1', run_id: 'r1', group_name: 'wordpress', region: 'us-east-1', parent_image: 'ami-1', deadline: '2030-01-01T00:00:00.000Z',
    state: 'image_pending', outcome: null, reason: null, instance_id: 'i-0abc', certname: null, image_id: 'ami-0new', image_name: 'autoami-wordpress-1',
    report: null, lease_owner: null, lease_expires: null, created_at: '2029-12-31T23:00:00.000Z', updated_at: '2029-12-31T23:00:00.000Z',
    finished_at: null, challenge_hash: null,
  };
  const { copies: _7, retention_note: _8, ...lineage } = image('ami-0old', -86_400);
  mkdirSync(join(path, '..'), { recursive: true });
  const old = { ...lineage, created_at: '2029-12-31T00:00:00.000Z' };
  writeFileSync(path, `${JSON.stringify({ schema_version: 4, groups: [group], bakes: [bake], images: [old] }, null, 2)}\n`);
  await using(new EmbeddedStore(path), async (store) => {
    assert.equal(await store.getGroup('wordpress'), { ...settings(), base_image: 'ami-0abc1234', catalog_hash: null, followed_base: null, created_at: Date.UTC(2029, 11, 1), updated_at: Date.UTC(2029, 11, 1) });
    assert.equal(await store.getBake('b1'), { ...bake, deadline: at(0), created_at: at(-3600), updated_at: at(-3600), distribution: {}, check: null, base_update: null, ...NOT_VERIFIED });
    assert.equal(await store.listImages('wordpress'), [image('ami-0old', -86_400)]);
    // A bake under way when the sidecar was upgraded goes on to distribute.
    assert.ok(await store.acquireLease('b1', 'm1', at(60), at(0)));
    assert.ok(await store.transition('b1', 'm1', 'image_pending', { state: 'distributing' }));
    assert.ok(await store.setDistribution('b1', 'm1', { 'us-east-1': { image_id: 'ami-0new', step: 'sharing' } }));
    await store.setRetentionNote('ami-0old', 'kept: still launched');
  });
  const written = JSON.parse(readFileSync(path, 'utf8'));
  assert.equal(
    [written.schema_version, written.groups[0].copy_to, written.groups[0].encrypt, written.bakes[0].distribution, written.images[0].copies, written.images[0].retention_note],
    [EMBEDDED_SCHEMA_VERSION, [], false, { 'us-east-1': { image_id: 'ami-0new', step: 'sharing' } }, {}, 'kept: still launched'],
  );
});

Embedded('should open a v5 file, give its groups no targets and go on to publish a bake under way', async () => {
  const path = embeddedPath();
  const { ssm_parameter: _1, launch_template: _2, instance_refresh: _3, min_healthy_percentage: _4, refresh_replace_all: _5, bake_on: _j1, ignore_resources: _j2, ...before } = settings();
  const group = { ...before, base_image: 'ami-0abc1234', created_at: '2029-12-01T00:00:00.000Z', updated_at: '2029-12-01T00:00:00.000Z' };
  const bake = {
    id: 'b1', run_id: 'r1', group_name: 'wordpress', region: 'us-east-1', parent_image: 'ami-1', deadline: '2030-01-01T00:00:00.000Z',
    state: 'promoted', outcome: null, reason: null, instance_id: 'i-0abc', certname: null, image_id: 'ami-0new', image_name: 'autoami-wordpress-1',
    report: null, lease_owner: null, lease_expires: null, created_at: '2029-12-31T23:00:00.000Z', updated_at: '2029-12-31T23:00:00.000Z',
    finished_at: null, challenge_hash: null, distribution: { 'us-east-1': { image_id: 'ami-0new', step: 'done' } },
  };
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ schema_version: 5, groups: [group], bakes: [bake], images: [] }, null, 2)}\n`);
  await using(new EmbeddedStore(path), async (store) => {
    assert.equal(await store.getGroup('wordpress'), { ...settings(), base_image: 'ami-0abc1234', catalog_hash: null, followed_base: null, created_at: Date.UTC(2029, 11, 1), updated_at: Date.UTC(2029, 11, 1) });
    assert.equal(await store.listPublications('wordpress'), []);
    // A bake promoted when the sidecar was upgraded goes on to publish.
    assert.ok(await store.acquireLease('b1', 'm1', at(60), at(0)));
    assert.ok(await store.transition('b1', 'm1', 'promoted', { state: 'publishing' }));
    await store.startPublication(publication('b1'));
    assert.ok(await store.transition('b1', 'm1', 'publishing', { state: 'done', outcome: 'published_with_errors' }));
  });
  const written = JSON.parse(readFileSync(path, 'utf8'));
  assert.equal(
    [written.schema_version, written.groups[0].ssm_parameter, written.groups[0].min_healthy_percentage, written.bakes[0].outcome, written.publications.map((p: { id: string }) => p.id)],
    [EMBEDDED_SCHEMA_VERSION, [], 90, 'published_with_errors', ['b1']],
  );
});

Embedded('should open a v6 file, judge its groups by intentional changes and read a report from before corrective titles', async () => {
  const path = embeddedPath();
  const { bake_on: _1, ignore_resources: _2, ...before } = settings();
  const group = { ...before, base_image: 'ami-0abc1234', created_at: '2029-12-01T00:00:00.000Z', updated_at: '2029-12-01T00:00:00.000Z' };
  const { corrective_resources: _3, ...oldReport } = report();
  const bake = {
    id: 'b1', run_id: 'r1', group_name: 'wordpress', region: 'us-east-1', parent_image: 'ami-1', deadline: '2030-01-01T00:00:00.000Z',
    state: 'awaiting_report', outcome: null, reason: null, instance_id: 'i-0abc', certname: 'wordpress-i-0abc.autoami', image_id: null, image_name: null,
    report: oldReport, lease_owner: null, lease_expires: null, created_at: '2029-12-31T23:00:00.000Z', updated_at: '2029-12-31T23:00:00.000Z',
    finished_at: null, challenge_hash: null, distribution: {},
  };
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ schema_version: 6, groups: [group], bakes: [bake], images: [], publications: [] }, null, 2)}\n`);
  await using(new EmbeddedStore(path), async (store) => {
    assert.equal(await store.getGroup('wordpress'), { ...settings(), base_image: 'ami-0abc1234', catalog_hash: null, followed_base: null, created_at: Date.UTC(2029, 11, 1), updated_at: Date.UTC(2029, 11, 1) });
    assert.equal((await store.getBake('b1'))?.report, { ...oldReport, corrective_resources: [] });
    await store.updateGroup('wordpress', { ignore_resources: ['Exec[apt_update]'] });
  });
  const written = JSON.parse(readFileSync(path, 'utf8'));
  assert.equal([written.schema_version, written.groups[0].bake_on, written.groups[0].ignore_resources], [EMBEDDED_SCHEMA_VERSION, 'intentional', ['Exec[apt_update]']]);
});

Embedded('should open a v7 file with no facts, and keep the facts a bake under way goes on to report', async () => {
  const path = embeddedPath();
  const group = { ...settings(), base_image: 'ami-0abc1234', created_at: '2029-12-01T00:00:00.000Z', updated_at: '2029-12-01T00:00:00.000Z' };
  const bake = {
    id: 'b1', run_id: 'r1', group_name: 'wordpress', region: 'us-east-1', parent_image: 'ami-1', deadline: '2030-01-01T00:00:00.000Z',
    state: 'awaiting_report', outcome: null, reason: null, instance_id: 'i-0abc', certname: 'wordpress-i-0abc.autoami', image_id: null, image_name: null,
    report: null, lease_owner: null, lease_expires: null, created_at: '2029-12-31T23:00:00.000Z', updated_at: '2029-12-31T23:00:00.000Z',
    finished_at: null, challenge_hash: null, distribution: {},
  };
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ schema_version: 7, groups: [group], bakes: [bake], images: [], publications: [] }, null, 2)}\n`);
  await using(new EmbeddedStore(path, { clock: new FakeClock(at(5)) }), async (store) => {
    assert.equal(await store.getGroup('wordpress'), { ...settings(), base_image: 'ami-0abc1234', catalog_hash: null, followed_base: null, created_at: Date.UTC(2029, 11, 1), updated_at: Date.UTC(2029, 11, 1) });
    assert.is(await store.getFacts('wordpress'), undefined);
    assert.ok(await store.recordReport('b1', report()));
    await store.recordFacts(groupFacts('wordpress', { bake_id: 'b1', certname: 'wordpress-i-0abc.autoami' }));
  });
  const written = JSON.parse(readFileSync(path, 'utf8'));
  assert.equal(
    [written.schema_version, written.bakes[0].report, written.facts],
    [EMBEDDED_SCHEMA_VERSION, report(), [{ ...groupFacts('wordpress', { bake_id: 'b1', certname: 'wordpress-i-0abc.autoami' }), recorded_at: '2030-01-01T00:00:05.000Z' }]],
  );
});

/** What a bake from before verification reads back with. */
const NOT_VERIFIED = { verify_step: null, verify_instance_id: null, verify_certname: null, verify_report: null } as const;

Embedded('should open a v9 file, giving its groups no verification and its bakes none under way', async () => {
  const path = embeddedPath();
  const { verify: _1, ...before } = settings();
  const group = { ...before, base_image: 'ami-0abc1234', catalog_hash: null, created_at: '2029-12-01T00:00:00.000Z', updated_at: '2029-12-01T00:00:00.000Z' };
  const bake = {
    id: 'b1', run_id: 'r1', group_name: 'wordpress', region: 'us-east-1', parent_image: 'ami-0abc1234', deadline: '2030-01-01T00:00:00.000Z',
    state: 'image_pending', outcome: null, reason: '1 resources changed', instance_id: 'i-1', certname: 'wordpress-i-1.autoami', image_id: 'ami-0new', image_name: 'autoami-wordpress-1',
    report: null, lease_owner: null, lease_expires: null, created_at: '2029-12-31T23:00:00.000Z', updated_at: '2029-12-31T23:00:00.000Z',
    finished_at: null, challenge_hash: null, distribution: {}, check: null,
  };
  mkdirSync(join(path, '..'), { recursive: true });
  const file = { schema_version: 9, groups: [group], bakes: [bake], images: [], publications: [], facts: [], catalogs: [] };
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
  await using(new EmbeddedStore(path, { clock: new FakeClock(at(5)) }), async (store) => {
    assert.is((await store.getGroup('wordpress'))?.verify, false);
    const read = await store.getBake('b1');
    assert.equal([read?.verify_step, read?.verify_instance_id, read?.verify_certname, read?.verify_report], [null, null, null, null]);
    // A group may start verifying, and the bake under way is verified before it is distributed.
    assert.is((await store.updateGroup('wordpress', { verify: true }))?.verify, true);
    assert.ok(await store.acquireLease('b1', 'm1', at(60), at(0)));
    assert.ok(await store.transition('b1', 'm1', 'image_pending', { state: 'verifying', verify_step: 'launching', deadline: at(600) }));
  });
  const written = JSON.parse(readFileSync(path, 'utf8'));
  assert.equal([written.schema_version, written.groups[0].verify, written.bakes[0].verify_step], [EMBEDDED_SCHEMA_VERSION, true, 'launching']);
});

Embedded('should open a v8 file, giving its bakes no check and its groups and images no catalog, and check a bake under way', async () => {
  const path = embeddedPath();
  const group = { ...settings(), base_image: 'ami-0abc1234', created_at: '2029-12-01T00:00:00.000Z', updated_at: '2029-12-01T00:00:00.000Z' };
  const bake = {
    id: 'b1', run_id: 'r1', group_name: 'wordpress', region: 'us-east-1', parent_image: 'ami-0old', deadline: '2030-01-01T00:00:00.000Z',
    state: 'queued', outcome: null, reason: null, instance_id: null, certname: null, image_id: null, image_name: null,
    report: null, lease_owner: null, lease_expires: null, created_at: '2029-12-31T23:00:00.000Z', updated_at: '2029-12-31T23:00:00.000Z',
    finished_at: null, challenge_hash: null, distribution: {},
  };
  const { catalog_hash: _1, ...lineage } = image('ami-0old', -86_400);
  const old = { ...lineage, created_at: '2029-12-31T00:00:00.000Z' };
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ schema_version: 8, groups: [group], bakes: [bake], images: [old], publications: [], facts: [] }, null, 2)}\n`);
  await using(new EmbeddedStore(path, { clock: new FakeClock(at(5)) }), async (store) => {
    assert.equal(await store.getGroup('wordpress'), { ...settings(), base_image: 'ami-0abc1234', catalog_hash: null, followed_base: null, created_at: Date.UTC(2029, 11, 1), updated_at: Date.UTC(2029, 11, 1) });
    assert.equal(await store.getBake('b1'), { ...bake, deadline: at(0), created_at: at(-3600), updated_at: at(-3600), check: null, base_update: null, ...NOT_VERIFIED });
    assert.equal(await store.listImages('wordpress'), [image('ami-0old', -86_400)]);
    assert.is(await store.getCatalog(digest('b')), undefined);
    // A bake queued when the sidecar was upgraded is checked before it launches.
    assert.ok(await store.acquireLease('b1', 'm1', at(60), at(0)));
    assert.ok(await store.setCheck('b1', 'm1', 'queued', catalogCheck({ reference: null, diff: null })));
    await store.putCatalog(digest('b'), { resources: [] });
    assert.ok(await store.setCatalogHash('wordpress', 'ami-0abc1234', digest('b')));
  });
  const written = JSON.parse(readFileSync(path, 'utf8'));
  assert.equal(
    [written.schema_version, written.bakes[0].check, written.groups[0].catalog_hash, written.images[0].catalog_hash, written.catalogs],
    [EMBEDDED_SCHEMA_VERSION, catalogCheck({ reference: null, diff: null }), digest('b'), null, [{ hash: digest('b'), catalog: { resources: [] }, created_at: '2030-01-01T00:00:05.000Z' }]],
  );
});

Embedded('should open a v10 file, giving its groups no base to follow and its bakes no new base, and follow one from then on', async () => {
  const path = embeddedPath();
  const { base_image_from: _1, base_image_filter: _2, base_image_owner: _3, ...before } = settings();
  const group = { ...before, base_image: 'ami-0abc1234', catalog_hash: null, created_at: '2029-12-01T00:00:00.000Z', updated_at: '2029-12-01T00:00:00.000Z' };
  const bake = {
    id: 'b1', run_id: 'r1', group_name: 'wordpress', region: 'us-east-1', parent_image: 'ami-0abc1234', deadline: '2030-01-01T00:00:00.000Z',
    state: 'queued', outcome: null, reason: null, instance_id: null, certname: null, image_id: null, image_name: null,
    report: null, lease_owner: null, lease_expires: null, created_at: '2029-12-31T23:00:00.000Z', updated_at: '2029-12-31T23:00:00.000Z',
    finished_at: null, challenge_hash: null, distribution: {}, check: null,
    verify_step: null, verify_instance_id: null, verify_certname: null, verify_report: null,
  };
  mkdirSync(join(path, '..'), { recursive: true });
  const v10 = { schema_version: 10, groups: [group], bakes: [bake], images: [], publications: [], facts: [], catalogs: [] };
  writeFileSync(path, `${JSON.stringify(v10, null, 2)}\n`);
  await using(new EmbeddedStore(path, { clock: new FakeClock(at(5)) }), async (store) => {
    const upgraded = await store.getGroup('wordpress');
    assert.equal([upgraded?.base_image_from, upgraded?.base_image_filter, upgraded?.base_image_owner, upgraded?.followed_base], [null, null, null, null]);
    assert.is((await store.getBake('b1'))?.base_update, null);
    await store.updateGroup('wordpress', { base_image_filter: 'debian-12-amd64-*', base_image_owner: '136693071363' });
    assert.ok(await store.setFollowedBase('wordpress', 'ami-0abc1234'));
  });
  const written = JSON.parse(readFileSync(path, 'utf8'));
  assert.equal(
    [written.schema_version, written.groups[0].base_image_filter, written.groups[0].base_image_owner, written.groups[0].followed_base, written.bakes[0].base_update],
    [EMBEDDED_SCHEMA_VERSION, 'debian-12-amd64-*', '136693071363', 'ami-0abc1234', null],
  );
});

Embedded('should refuse a file holding a catalog or check its tables cannot read, naming the record and the field', async () => {
  const path = embeddedPath();
  await using(new EmbeddedStore(path), async (store) => {
    await store.putCatalog(digest('a'), { resources: [] });
    await store.createBake({ id: 'b1', run_id: 'r1', group_name: 'web', region: 'us-east-1', parent_image: 'ami-1', deadline: at(0) });
  });
  const file = JSON.parse(readFileSync(path, 'utf8'));
  const cases = [
    ['catalogs', `catalog "${digest('a')}" whose catalog: is `, { ...file.catalogs[0], catalog: ['a list'] }],
    ['catalogs', 'catalog "sha256:short" whose hash: is ', { ...file.catalogs[0], hash: 'sha256:short' }],
    ['bakes', 'bake "b1" whose check: is ', { ...file.bakes[0], check: catalogCheck({ state: 'maybe' as never }) }],
    ['bakes', 'bake "b1" whose check: is ', { ...file.bakes[0], check: { ...catalogCheck(), hash: 'md5:0' } }],
  ] as const;
  for (const [list, message, record] of cases) {
    const text = JSON.stringify({ ...file, [list]: [record] });
    writeFileSync(path, text);
    assert.match((await rejects(new EmbeddedStore(path).open(), StoreUnavailableError)).message, message);
    assert.is(readFileSync(path, 'utf8'), text);
  }
  const { catalogs: _1, ...without } = file;
  writeFileSync(path, JSON.stringify(without));
  assert.match((await rejects(new EmbeddedStore(path).open(), StoreUnavailableError)).message, 'has no catalogs array');
});

Embedded('should refuse a file holding facts its table cannot read, naming the group and the field', async () => {
  const path = embeddedPath();
  await using(new EmbeddedStore(path), (store) => store.recordFacts(groupFacts('wordpress')));
  const file = JSON.parse(readFileSync(path, 'utf8'));
  for (const [field, value] of [['facts', ['a list']], ['facts', 'text'], ['facts', null], ['environment', 7], ['recorded_at', '2030-01-01 00:00'], ['certname', undefined]] as const) {
    const text = JSON.stringify({ ...file, facts: [{ ...file.facts[0], [field]: value }] });
    writeFileSync(path, text);
    const error = await rejects(new EmbeddedStore(path).open(), StoreUnavailableError);
    assert.match(error.message, `holds facts record "wordpress" whose ${field}: is `);
    assert.is(readFileSync(path, 'utf8'), text);
  }
  const { facts: _1, ...without } = file;
  writeFileSync(path, JSON.stringify(without));
  assert.match((await rejects(new EmbeddedStore(path).open(), StoreUnavailableError)).message, 'has no facts array');
});

Embedded('should refuse a file holding a publication its table cannot read, naming it and the field', async () => {
  const path = embeddedPath();
  await using(new EmbeddedStore(path), (store) => store.startPublication(publication('p1')));
  const file = JSON.parse(readFileSync(path, 'utf8'));
  for (const [field, value] of [['trigger', 'cron'], ['progress', { 'ssm:us-east-1:/x': { step: 'done' } }], ['outcome', 'failed'], ['requested_by', undefined]] as const) {
    const text = JSON.stringify({ ...file, publications: [{ ...file.publications[0], [field]: value }] });
    writeFileSync(path, text);
    const error = await rejects(new EmbeddedStore(path).open(), StoreUnavailableError);
    assert.match(error.message, `holds publication "p1" whose ${field}: is `);
    assert.is(readFileSync(path, 'utf8'), text);
  }
});

Embedded('should refuse a file holding a field its table cannot read, naming the record and field', async () => {
  const path = embeddedPath();
  const created = await using(new EmbeddedStore(path), (store) => store.createBake({
    id: 'b1', run_id: 'r1', group_name: 'web', region: 'us-east-1', parent_image: 'ami-1', deadline: at(0),
  }));
  const file = JSON.parse(readFileSync(path, 'utf8'));
  assert.is(file.bakes[0].deadline, '2030-01-01T00:00:00.000Z');
  const corrupt = [
    ['deadline', '2030-01-01 00:00'], ['state', 'baking'], ['report', { host: 'h' }], ['created_at', undefined],
    ['distribution', { 'us-east-1': { image_id: null, step: 'flying' } }], ['distribution', { 'us-east-1': 'ami-1' }], ['distribution', []],
  ] as const;
  for (const [field, value] of corrupt) {
    const text = JSON.stringify({ ...file, bakes: [{ ...file.bakes[0], [field]: value }] });
    writeFileSync(path, text);
    const error = await rejects(new EmbeddedStore(path).open(), StoreUnavailableError);
    assert.match(error.message, `holds bake "b1" whose ${field}: is `);
    assert.is(readFileSync(path, 'utf8'), text);
  }
  writeFileSync(path, JSON.stringify(file));
  await using(new EmbeddedStore(path), async (store) => assert.equal(await store.getBake('b1'), created));
});

Embedded('should refuse a file whose bakes lack ids, leaving it untouched', async () => {
  const path = embeddedPath();
  mkdirSync(join(path, '..'), { recursive: true });
  const text = '{"schema_version": 2, "groups": [], "bakes": [{"state": "queued"}], "images": []}';
  writeFileSync(path, text);
  assert.match((await rejects(new EmbeddedStore(path).open(), StoreUnavailableError)).message, 'holds a bake with no id');
  assert.is(readFileSync(path, 'utf8'), text);
});

Embedded('should refuse a second store on the same file, naming the holding pid', async () => {
  const path = embeddedPath();
  await using(new EmbeddedStore(path), async () => {
    const error = await rejects(new EmbeddedStore(path).open(), StoreUnavailableError);
    assert.match(error.message, `process ${process.pid}`);
  });
  assert.not.ok(existsSync(`${path}.lock`));
});

Embedded('should take over a lock left by a dead pid', async () => {
  const path = embeddedPath();
  await using(new EmbeddedStore(path), (store) => store.createGroup(settings()));
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  writeFileSync(`${path}.lock`, `${dead}\n`);
  await using(new EmbeddedStore(path), async (store) => {
    assert.is(readFileSync(`${path}.lock`, 'utf8').trim(), String(process.pid));
    assert.is((await store.listGroups()).length, 1);
  });
});

Embedded('should name the path of a corrupt file and leave it as it was', async () => {
  const path = embeddedPath();
  await using(new EmbeddedStore(path), (store) => store.createGroup(settings()));
  const broken = '{"schema_version": 1, "groups": [{"name": "wordp';
  writeFileSync(path, broken);
  const error = await rejects(new EmbeddedStore(path).open(), StoreUnavailableError);
  assert.match(error.message, path);
  assert.is(readFileSync(path, 'utf8'), broken);
  assert.not.ok(existsSync(`${path}.lock`));
  writeFileSync(path, '{"schema_version": 99, "groups": []}');
  assert.match((await rejects(new EmbeddedStore(path).open(), StoreUnavailableError)).message, 'newer');
});

Embedded('should ignore a temp file left by a crashed write and read the last good data', async () => {
  const path = embeddedPath();
  const created = await using(new EmbeddedStore(path), (store) => store.createGroup(settings()));
  writeFileSync(`${path}.tmp-4242-7`, '{"schema_version": 1, "groups": [');
  await using(new EmbeddedStore(path), async (store) => assert.equal(await store.listGroups(), [created]));
  assert.equal(readdirSync(join(path, '..')).sort(), ['store.json']);
});

Embedded('should leave a complete file when the writer is SIGKILLed mid-stream', async () => {
  const path = embeddedPath();
  const module = pathToFileURL(join(import.meta.dirname, '../runtime/store/embedded-store.ts')).href;
  const script = `const { EmbeddedStore } = await import(${JSON.stringify(module)});
    const store = new EmbeddedStore(process.argv[1]); await store.open();
    for (let i = 0; ; i++) { await store.createGroup({ ...JSON.parse(process.argv[2]), name: 'g' + String(i).padStart(5, '0') }); process.stdout.write(i + '\\n'); }`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, path, JSON.stringify(settings())]);
  let reported = -1;
  let stderr = '';
  // Only bounds a hang: thirty writes take well under a second, unless two busy cores slow them down.
  const guard = setTimeout(() => child.kill('SIGKILL'), 180_000);
  await new Promise<void>((resolve) => {
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      reported = Number(chunk.toString().match(/\d+/g)?.pop() ?? reported);
      if (reported >= 30) child.kill('SIGKILL');
    });
    child.on('exit', () => resolve());
  });
  clearTimeout(guard);
  assert.ok(reported >= 30, `writer reported ${reported}: ${stderr}`);
  const names = await using(new EmbeddedStore(path), async (store) => (await store.listGroups()).map((g) => g.name));
  assert.ok(names.length > reported, `only ${names.length} groups after ${reported + 1} acknowledged`);
  assert.equal(names, names.map((_, i) => `g${String(i).padStart(5, '0')}`));
});

Embedded.run();

// ---- MySQL ---------------------------------------------------------------------------

async function asRoot<T>(db: DatabaseConfig, sql: string): Promise<T> {
  const server = await startMariadb();
  const conn = await createConnection({ socketPath: server.socketPath, user: server.rootUser, database: db.name });
  try {
    return (await conn.query(sql))[0] as T;
  } finally {
    await conn.end();
  }
}

const freshDb = async (): Promise<DatabaseConfig> => (await startMariadb()).createDatabase();
const Mysql = contract('mysql', async () => {
  const db = await freshDb();
  return { make: (clock) => new MysqlStore(db, { clock }), shared: true, raw: async () => JSON.stringify(await asRoot<RowDataPacket[]>(db, 'SELECT * FROM `bakes`')) };
});

Mysql('should upgrade a database from before the challenge column, keeping its bakes', async () => {
  const db = await freshDb();
  const server = await startMariadb();
  const conn = await createConnection({ socketPath: server.socketPath, user: 'root', database: db.name });
  try {
    // As a sidecar of the release before left it: migrations 1-3 and a bake under way.
    assert.equal(await migrate(conn, MIGRATIONS.filter((migration) => migration.version <= 3)), [1, 2, 3]);
    await conn.query(
      "INSERT INTO `bakes` (`id`, `run_id`, `group_name`, `region`, `parent_image`, `state`, `instance_id`, `certname`, `deadline`, `created_at`, `updated_at`) " +
        "VALUES ('b1', 'r1', 'web', 'us-east-1', 'ami-1', 'awaiting_report', 'i-0abc', 'web-i-0abc.autoami', '2030-01-01 00:00:00', '2029-12-31 23:00:00', '2029-12-31 23:00:00')",
    );
  } finally {
    await conn.end();
  }
  await using(new MysqlStore(db), async (store) => {
    const bake = await store.getBake('b1');
    assert.equal([bake?.state, bake?.certname, bake?.challenge_hash], ['awaiting_report', 'web-i-0abc.autoami', null]);
    assert.equal([bake?.deadline, bake?.created_at], [at(0), at(-3600)]);
    assert.ok(await store.acquireLease('b1', 'm1', at(60), at(0)));
    assert.is((await store.setChallenge('b1', 'm1', 'awaiting_report', `sha256:${'0'.repeat(64)}`))?.challenge_hash, `sha256:${'0'.repeat(64)}`);
  });
  const versions = await asRoot<RowDataPacket[]>(db, 'SELECT `version` FROM `schema_migrations` ORDER BY `version`');
  assert.equal(versions.map((row) => row.version), MIGRATIONS.map((migration) => migration.version));
});

/** A group as the first release wrote it: only the columns of migration 1. */
const OLDEST_GROUP_ROW =
  "INSERT INTO `groups` (`name`, `image`, `base_image`, `type`, `keyname`, `keyfile`, `login`, `puppetserver`, `node_group`, `enc_user`, " +
  "`enc_pass`, `enc_port`, `region`, `bootstrap`, `keep`, `created_at`, `updated_at`) VALUES ('wordpress', 'ami-0abc1234', 'ami-0abc1234', " +
  "'t3.micro', 'deploy', '/etc/autoami/deploy.pem', 'ec2-user', 'puppet.example.com', 'wordpress', 'admin', 'secret', 443, 'us-east-1', 'ssh', 3, " +
  "'2029-12-01 00:00:00', '2029-12-01 00:00:00')";

Mysql('should upgrade a database from before distribution, reading its rows with the defaults', async () => {
  const db = await freshDb();
  const server = await startMariadb();
  const conn = await createConnection({ socketPath: server.socketPath, user: 'root', database: db.name });
  try {
    // As a sidecar of the release before left it: migrations 1-4, a group, a bake being imaged and an image.
    assert.equal(await migrate(conn, MIGRATIONS.filter((migration) => migration.version <= 4)), [1, 2, 3, 4]);
    await conn.query(OLDEST_GROUP_ROW);
    await conn.query(
      "INSERT INTO `bakes` (`id`, `run_id`, `group_name`, `region`, `parent_image`, `state`, `image_id`, `deadline`, `created_at`, `updated_at`) " +
        "VALUES ('b1', 'r1', 'wordpress', 'us-east-1', 'ami-1', 'image_pending', 'ami-0new', '2030-01-01 00:00:00', '2029-12-31 23:00:00', '2029-12-31 23:00:00')",
    );
    await conn.query(
      "INSERT INTO `images` (`image_id`, `group_name`, `region`, `name`, `parent_image`, `bake_id`, `config_version`, `changed_resources`, `created_at`) " +
        "VALUES ('ami-0old', 'wordpress', 'us-east-1', 'autoami-wordpress--86400', 'ami-0abc1234', 'b1', '1700000000', '[\"Package[nginx]\",\"File[''x'']\"]', '2029-12-31 00:00:00')",
    );
  } finally {
    await conn.end();
  }
  await using(new MysqlStore(db), async (store) => {
    assert.equal(await store.getGroup('wordpress'), { ...settings(), base_image: 'ami-0abc1234', catalog_hash: null, followed_base: null, created_at: Date.UTC(2029, 11, 1), updated_at: Date.UTC(2029, 11, 1) });
    const bake = await store.getBake('b1');
    assert.equal([bake?.state, bake?.image_id, bake?.distribution], ['image_pending', 'ami-0new', {}]);
    assert.equal(await store.listImages('wordpress'), [image('ami-0old', -86_400)]);
    // A bake under way when the sidecar was upgraded goes on to distribute.
    assert.ok(await store.acquireLease('b1', 'm1', at(60), at(0)));
    assert.ok(await store.transition('b1', 'm1', 'image_pending', { state: 'distributing' }));
    const distribution = { 'us-east-1': { image_id: 'ami-0new', step: 'sharing' } } as const;
    assert.equal((await store.setDistribution('b1', 'm1', distribution))?.distribution, distribution);
    await store.setRetentionNote('ami-0old', 'kept: still launched');
    assert.is((await store.listImages('wordpress'))[0]?.retention_note, 'kept: still launched');
  });
});

Mysql('should upgrade a database from before publication, giving its groups no targets and publishing a bake under way', async () => {
  const db = await freshDb();
  const server = await startMariadb();
  const conn = await createConnection({ socketPath: server.socketPath, user: 'root', database: db.name });
  try {
    // As a sidecar of the release before left it: migrations 1-5, a group with a copy region and a promoted bake.
    assert.equal(await migrate(conn, MIGRATIONS.filter((migration) => migration.version <= 5)), [1, 2, 3, 4, 5]);
    await conn.query(
      "INSERT INTO `groups` (`name`, `image`, `base_image`, `type`, `keyname`, `keyfile`, `login`, `puppetserver`, `node_group`, `enc_user`, " +
        "`enc_pass`, `enc_port`, `region`, `bootstrap`, `keep`, `copy_to`, `created_at`, `updated_at`) VALUES ('wordpress', 'ami-0abc1234', 'ami-0abc1234', " +
        "'t3.micro', 'deploy', '/etc/autoami/deploy.pem', 'ec2-user', 'puppet.example.com', 'wordpress', 'admin', 'secret', 443, 'us-east-1', 'ssh', 3, " +
        "'[\"eu-west-1\"]', '2029-12-01 00:00:00', '2029-12-01 00:00:00')",
    );
    await conn.query(
      "INSERT INTO `bakes` (`id`, `run_id`, `group_name`, `region`, `parent_image`, `state`, `image_id`, `deadline`, `created_at`, `updated_at`) " +
        "VALUES ('b1', 'r1', 'wordpress', 'us-east-1', 'ami-1', 'promoted', 'ami-0new', '2030-01-01 00:00:00', '2029-12-31 23:00:00', '2029-12-31 23:00:00')",
    );
  } finally {
    await conn.end();
  }
  await using(new MysqlStore(db), async (store) => {
    const group = { ...settings({ copy_to: ['eu-west-1'] }), base_image: 'ami-0abc1234', catalog_hash: null, followed_base: null, created_at: Date.UTC(2029, 11, 1), updated_at: Date.UTC(2029, 11, 1) };
    assert.equal(await store.getGroup('wordpress'), group);
    assert.equal(await store.listPublications('wordpress'), []);
    assert.ok(await store.acquireLease('b1', 'm1', at(60), at(0)));
    assert.ok(await store.transition('b1', 'm1', 'promoted', { state: 'publishing' }));
    await store.startPublication(publication('b1'));
    assert.ok(await store.finishPublication('b1', 'published_with_errors', 'ssm /x: AccessDenied'));
    assert.is((await store.transition('b1', 'm1', 'publishing', { state: 'done', outcome: 'published_with_errors' }))?.outcome, 'published_with_errors');
    assert.equal((await store.updateGroup('wordpress', { instance_refresh: ['asg-1'] }))?.instance_refresh, ['asg-1']);
  });
  const versions = await asRoot<RowDataPacket[]>(db, 'SELECT `version` FROM `schema_migrations` ORDER BY `version`');
  assert.equal(versions.map((row) => row.version), MIGRATIONS.map((migration) => migration.version));
});

Mysql('should upgrade a database from before judgement settings, judging its groups by intentional changes and reading old reports', async () => {
  const db = await freshDb();
  const server = await startMariadb();
  const conn = await createConnection({ socketPath: server.socketPath, user: 'root', database: db.name });
  const { corrective_resources: _1, ...oldReport } = report();
  try {
    // As a sidecar of the release before left it: migrations 1-6, a group and a bake whose report came from the processor before.
    assert.equal(await migrate(conn, MIGRATIONS.filter((migration) => migration.version <= 6)), [1, 2, 3, 4, 5, 6]);
    await conn.query(OLDEST_GROUP_ROW);
    await conn.query(
      "INSERT INTO `bakes` (`id`, `run_id`, `group_name`, `region`, `parent_image`, `state`, `report`, `deadline`, `created_at`, `updated_at`) " +
        "VALUES ('b1', 'r1', 'wordpress', 'us-east-1', 'ami-1', 'awaiting_report', ?, '2030-01-01 00:00:00', '2029-12-31 23:00:00', '2029-12-31 23:00:00')",
      [JSON.stringify(oldReport)],
    );
  } finally {
    await conn.end();
  }
  await using(new MysqlStore(db), async (store) => {
    const group = await store.getGroup('wordpress');
    assert.equal([group?.bake_on, group?.ignore_resources], ['intentional', []]);
    assert.equal((await store.getBake('b1'))?.report, { ...oldReport, corrective_resources: [] });
    assert.equal((await store.updateGroup('wordpress', { bake_on: 'any', ignore_resources: ['Notify[*]'] }))?.ignore_resources, ['Notify[*]']);
  });
  const versions = await asRoot<RowDataPacket[]>(db, 'SELECT `version` FROM `schema_migrations` ORDER BY `version`');
  assert.equal(versions.map((row) => row.version), MIGRATIONS.map((migration) => migration.version));
});

Mysql('should upgrade a database from before group facts, having none and keeping those a bake under way goes on to report', async () => {
  const db = await freshDb();
  const server = await startMariadb();
  const conn = await createConnection({ socketPath: server.socketPath, user: 'root', database: db.name });
  try {
    // As a sidecar of the release before left it: migrations 1-7 and a bake awaiting its report.
    assert.equal(await migrate(conn, MIGRATIONS.filter((migration) => migration.version <= 7)), [1, 2, 3, 4, 5, 6, 7]);
    await conn.query(
      "INSERT INTO `bakes` (`id`, `run_id`, `group_name`, `region`, `parent_image`, `state`, `instance_id`, `certname`, `deadline`, `created_at`, `updated_at`) " +
        "VALUES ('b1', 'r1', 'wordpress', 'us-east-1', 'ami-1', 'awaiting_report', 'i-0abc', 'wordpress-i-0abc.autoami', '2030-01-01 00:00:00', '2029-12-31 23:00:00', '2029-12-31 23:00:00')",
    );
  } finally {
    await conn.end();
  }
  const facts = groupFacts('wordpress', { bake_id: 'b1', certname: 'wordpress-i-0abc.autoami' });
  await using(new MysqlStore(db, { clock: new FakeClock(at(5)) }), async (store) => {
    assert.is(await store.getFacts('wordpress'), undefined);
    await store.recordFacts(facts);
    assert.ok(await store.recordReport('b1', report()));
    assert.equal(await store.getFacts('wordpress'), { ...facts, recorded_at: at(5) });
  });
  const versions = await asRoot<RowDataPacket[]>(db, 'SELECT `version` FROM `schema_migrations` ORDER BY `version`');
  assert.equal(versions.map((row) => row.version), MIGRATIONS.map((migration) => migration.version));
});

Mysql('should upgrade a database from before the catalog check, reading its rows with no check and no catalog', async () => {
  const db = await freshDb();
  const server = await startMariadb();
  const conn = await createConnection({ socketPath: server.socketPath, user: 'root', database: db.name });
  try {
    // As a sidecar of the release before left it: migrations 1-8, a group, a queued bake and an image.
    assert.equal(await migrate(conn, MIGRATIONS.filter((migration) => migration.version <= 8)), [1, 2, 3, 4, 5, 6, 7, 8]);
    await conn.query(
      "INSERT INTO `groups` (`name`, `image`, `base_image`, `type`, `keyname`, `keyfile`, `login`, `puppetserver`, `node_group`, `enc_user`, " +
        "`enc_pass`, `enc_port`, `region`, `bootstrap`, `keep`, `created_at`, `updated_at`) VALUES ('wordpress', 'ami-0old', 'ami-0abc1234', " +
        "'t3.micro', 'deploy', '/etc/autoami/deploy.pem', 'ec2-user', 'puppet.example.com', 'wordpress', 'admin', 'secret', 443, 'us-east-1', 'ssh', 3, " +
        "'2029-12-01 00:00:00', '2029-12-01 00:00:00')",
    );
    await conn.query(
      "INSERT INTO `bakes` (`id`, `run_id`, `group_name`, `region`, `parent_image`, `state`, `deadline`, `created_at`, `updated_at`) " +
        "VALUES ('b1', 'r1', 'wordpress', 'us-east-1', 'ami-0old', 'queued', '2030-01-01 00:00:00', '2029-12-31 23:00:00', '2029-12-31 23:00:00')",
    );
    await conn.query(
      "INSERT INTO `images` (`image_id`, `group_name`, `region`, `name`, `parent_image`, `bake_id`, `config_version`, `changed_resources`, `created_at`) " +
        "VALUES ('ami-0old', 'wordpress', 'us-east-1', 'autoami-wordpress--86400', 'ami-0abc1234', 'b1', '1700000000', '[\"Package[nginx]\",\"File[''x'']\"]', '2029-12-31 00:00:00')",
    );
  } finally {
    await conn.end();
  }
  await using(new MysqlStore(db, { clock: new FakeClock(at(5)) }), async (store) => {
    const group = { ...settings({ image: 'ami-0old' }), base_image: 'ami-0abc1234', catalog_hash: null, followed_base: null, created_at: Date.UTC(2029, 11, 1), updated_at: Date.UTC(2029, 11, 1) };
    assert.equal(await store.getGroup('wordpress'), group);
    assert.is((await store.getBake('b1'))?.check, null);
    assert.equal(await store.listImages('wordpress'), [image('ami-0old', -86_400)]);
    assert.is(await store.getCatalog(digest('b')), undefined);
    // A bake queued when the sidecar was upgraded is checked before it launches, and its image promoted with its catalog.
    assert.ok(await store.acquireLease('b1', 'm1', at(60), at(0)));
    assert.equal((await store.setCheck('b1', 'm1', 'queued', catalogCheck({ reference: null, diff: null })))?.check, catalogCheck({ reference: null, diff: null }));
    await store.putCatalog(digest('b'), { resources: [] });
    assert.equal(await store.getCatalog(digest('b')), { resources: [] });
    assert.ok(await store.setCatalogHash('wordpress', 'ami-0old', digest('a')));
    await store.promote(image('ami-0new', 10, { catalog_hash: digest('b') }));
    assert.equal([(await store.getGroup('wordpress'))?.catalog_hash, (await store.listImages('wordpress'))[0]?.catalog_hash], [digest('b'), digest('b')]);
  });
  const versions = await asRoot<RowDataPacket[]>(db, 'SELECT `version` FROM `schema_migrations` ORDER BY `version`');
  assert.equal(versions.map((row) => row.version), MIGRATIONS.map((migration) => migration.version));
});

Mysql('should upgrade a database from before base images, its groups following none and its bakes from no new base', async () => {
  const db = await freshDb();
  const server = await startMariadb();
  const conn = await createConnection({ socketPath: server.socketPath, user: 'root', database: db.name });
  try {
    // As a sidecar of the release before left it: migrations 1-10, a group and a queued bake.
    assert.equal(await migrate(conn, MIGRATIONS.filter((migration) => migration.version <= 10)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await conn.query(OLDEST_GROUP_ROW);
    await conn.query(
      "INSERT INTO `bakes` (`id`, `run_id`, `group_name`, `region`, `parent_image`, `state`, `deadline`, `created_at`, `updated_at`) " +
        "VALUES ('b1', 'r1', 'wordpress', 'us-east-1', 'ami-0abc1234', 'queued', '2030-01-01 00:00:00', '2029-12-31 23:00:00', '2029-12-31 23:00:00')",
    );
  } finally {
    await conn.end();
  }
  const update = { from: 'ami-0abc1234', to: 'ami-0fedcba987654321f', source: '/aws/service/debian/release/12/latest/amd64' };
  await using(new MysqlStore(db, { clock: new FakeClock(at(5)) }), async (store) => {
    const group = await store.getGroup('wordpress');
    assert.equal([group?.base_image_from, group?.base_image_filter, group?.base_image_owner, group?.followed_base], [null, null, null, null]);
    assert.is((await store.getBake('b1'))?.base_update, null);
    const following = await store.updateGroup('wordpress', { base_image_from: update.source });
    assert.is(following?.base_image_from, update.source);
    assert.ok(await store.setFollowedBase('wordpress', update.from));
    await store.createBake({ id: 'b2', run_id: 'r2', group_name: 'wordpress', region: 'us-east-1', parent_image: update.to, deadline: at(60), base_update: update });
    assert.equal([(await store.getGroup('wordpress'))?.followed_base, (await store.getBake('b2'))?.base_update], [update.from, update]);
  });
  const versions = await asRoot<RowDataPacket[]>(db, 'SELECT `version` FROM `schema_migrations` ORDER BY `version`');
  assert.equal(versions.map((row) => row.version), MIGRATIONS.map((migration) => migration.version));
});

Mysql('should refuse a row whose check, catalog hash or catalog it cannot read, naming the column', async () => {
  const db = await freshDb();
  await using(new MysqlStore(db), async (store) => {
    await store.createGroup(settings());
    await store.createBake({ id: 'b1', run_id: 'r1', group_name: 'wordpress', region: 'us-east-1', parent_image: 'ami-1', deadline: at(0) });
    await store.putCatalog(digest('a'), { resources: [] });
  });
  const cases = [
    ['bakes', 'check', 'not json', (store: MysqlStore) => store.getBake('b1')],
    ['bakes', 'check', '{"state": "maybe", "reason": "", "hash": null, "reference": null, "diff": null, "compile_ms": null}', (store: MysqlStore) => store.getBake('b1')],
    ['bakes', 'base_update', '{"from": null, "source": "/aws/x"}', (store: MysqlStore) => store.getBake('b1')],
    ['groups', 'catalog_hash', 'sha256:short', (store: MysqlStore) => store.getGroup('wordpress')],
    ['catalogs', 'catalog', '["a list"]', (store: MysqlStore) => store.getCatalog(digest('a'))],
  ] as const;
  for (const [table, column, text, read] of cases) {
    await asRoot(db, `UPDATE \`${table}\` SET \`${column}\` = '${text}'`);
    await using(new MysqlStore(db), async (store) => {
      const error = await rejects(read(store as MysqlStore), ValidationError);
      assert.is(error.field, column, text);
    });
    await asRoot(db, `UPDATE \`${table}\` SET \`${column}\` = NULL`).catch(() => undefined);
  }
});

Mysql('should refuse a facts row whose facts is not a JSON object, naming the column', async () => {
  const db = await freshDb();
  await using(new MysqlStore(db), (store) => store.recordFacts(groupFacts('wordpress')));
  for (const text of ['not json', '["a list"]', '"text"', 'null', '7', '{"cut": ']) {
    await asRoot(db, `UPDATE \`group_facts\` SET \`facts\` = '${text}'`);
    await using(new MysqlStore(db), async (store) => {
      const error = await rejects(store.getFacts('wordpress'), ValidationError);
      assert.is(error.field, 'facts', text);
      assert.match(error.message, 'is not a JSON object');
    });
  }
});

Mysql('should refuse a publication row whose trigger, outcome or progress it cannot read, naming the column', async () => {
  const db = await freshDb();
  await using(new MysqlStore(db), (store) => store.startPublication(publication('p1')));
  for (const [column, text] of [['trigger', 'cron'], ['outcome', 'failed'], ['progress', '{"ssm:us-east-1:/x": {"step": "done"}}'], ['progress', 'not json']] as const) {
    await asRoot(db, `UPDATE \`publications\` SET \`${column}\` = '${text}'`);
    await using(new MysqlStore(db), async (store) => {
      const error = await rejects(store.getPublication('p1'), ValidationError);
      assert.is(error.field, column, text);
    });
    await asRoot(db, "UPDATE `publications` SET `trigger` = 'bake', `outcome` = NULL, `progress` = '{}'");
  }
});

Mysql('should refuse a row whose regional images or copies it cannot read, naming the column', async () => {
  const db = await freshDb();
  await using(new MysqlStore(db), async (store) => {
    await store.createBake({ id: 'b1', run_id: 'r1', group_name: 'wordpress', region: 'us-east-1', parent_image: 'ami-1', deadline: at(0) });
    await store.promote(image('ami-1', 0));
  });
  const cases = [
    ['bakes', 'distribution', '{"us-east-1": {"image_id": null, "step": "flying"}}'],
    ['bakes', 'distribution', '{"us-east-1": "ami-1"}'],
    ['bakes', 'distribution', 'not json'],
    ['images', 'copies', '{"eu-west-1": 7}'],
    ['images', 'copies', '["ami-1"]'],
  ] as const;
  for (const [table, column, text] of cases) {
    await asRoot(db, `UPDATE \`${table}\` SET \`${column}\` = '${text}'`);
    await using(new MysqlStore(db), async (store) => {
      const error = await rejects(table === 'bakes' ? store.getBake('b1') : store.listImages('wordpress'), ValidationError);
      assert.is(error.field, column, text);
      assert.match(error.message, `is not a map of region`);
    });
  }
});

Mysql('should apply each migration once when stores open together, and again open cleanly', async () => {
  const db = await freshDb();
  const stores = [new MysqlStore(db), new MysqlStore(db), new MysqlStore(db)];
  await Promise.all(stores.map((s) => s.open()));
  await Promise.all(stores.map((s) => s.close()));
  await using(new MysqlStore(db), async () => undefined);
  const rows = await asRoot<RowDataPacket[]>(db, 'SELECT version, COUNT(*) AS n FROM schema_migrations GROUP BY version ORDER BY version');
  assert.equal(rows.map((r) => [r.version, Number(r.n)]), MIGRATIONS.map((m) => [m.version, 1]));
  const server = await startMariadb();
  const conn = await createConnection({ socketPath: server.socketPath, user: 'root', database: db.name });
  assert.equal(await migrate(conn).finally(() => conn.end()), []);
});

Mysql('should survive re-running every migration statement, as after a kill before its row was written', async () => {
  const db = await freshDb();
  await using(new MysqlStore(db), (store) => store.createBake({
    id: 'b1', run_id: 'r1', group_name: 'wordpress', region: 'us-east-1', parent_image: 'ami-1', deadline: at(0),
  }));
  const server = await startMariadb();
  const conn = await createConnection({ socketPath: server.socketPath, user: 'root', database: db.name });
  try {
    // As if every migration's statements had run but none of their rows was written.
    await conn.query('DELETE FROM `schema_migrations`');
  } finally {
    await conn.end();
  }
  await using(new MysqlStore(db), async (store) => assert.is((await store.getBake('b1'))?.state, 'queued'));
  const check = await createConnection({ socketPath: server.socketPath, user: 'root', database: db.name });
  try {
    const [rows] = await check.query('SELECT `version` FROM `schema_migrations` ORDER BY `version`');
    assert.equal((rows as { version: number }[]).map((row) => row.version), MIGRATIONS.map((migration) => migration.version));
  } finally {
    await check.end();
  }
});

async function unavailable(db: DatabaseConfig, where: string): Promise<void> {
  const error = await rejects(new MysqlStore(db).open(), StoreUnavailableError);
  assert.match(error.message, where);
  assert.not.match(error.message, db.password);
  assert.ok(error.cause, 'keeps the driver error as cause');
}

Mysql('should report a missing socket, a refused port and a wrong password as unavailable', async () => {
  const db = await freshDb();
  await unavailable({ ...db, socket_path: '/nonexistent/autoami/mysqld.sock' }, '/nonexistent/autoami/mysqld.sock');
  await unavailable({ ...db, socket_path: undefined, host: '127.0.0.1', port: 1 }, '127.0.0.1:1');
  await unavailable({ ...db, password: `${db.password}-wrong` }, db.socket_path ?? '');
});

Mysql('should report a stopped server as unavailable on ping and writes, without the password', async () => {
  const db = await freshDb();
  const store = new MysqlStore(db);
  await store.open();
  await store.ping();
  await (await startMariadb()).stop();
  try {
    for (const attempt of [store.ping(), store.createGroup(settings()), store.listGroups()]) {
      const error = await rejects(attempt, StoreUnavailableError);
      assert.not.match(error.message, db.password);
    }
  } finally {
    await store.close();
  }
});

Mysql.run();
