/**
 * Whole records in the store contract: every field of a group, a bake (its catalog check
 * too), an image, a publication and a group's facts read back exactly, and the clock's times stamped on them.
 * Registered onto the one contract suite in spec/store.test.ts.
 */
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { challengeHash } from '../../runtime/puppet/challenge.ts';
import { BAKE_TABLE, BASE_UPDATE_SHAPE, REPORT_SHAPE } from '../../runtime/store/bake-table.ts';
import { CHANGED_RESOURCE_SHAPE, CHECK_SHAPE, DIFF_SHAPE } from '../../runtime/store/catalog-table.ts';
import { FACTS_TABLE } from '../../runtime/store/facts-table.ts';
import { GROUP_TABLE } from '../../runtime/store/group-table.ts';
import { IMAGE_TABLE } from '../../runtime/store/image-table.ts';
import { PUBLICATION_TABLE, TARGET_PROGRESS_SHAPE } from '../../runtime/store/publication-table.ts';
import type {
  Bake, BaseUpdate, CatalogCheck, Distribution, Group, GroupFacts, GroupSettings, ImageRecord, Publication, ReportSummary, TargetProgress,
} from '../../runtime/store/store.ts';
import type { Shape } from '../../runtime/store/table.ts';
import { FakeClock, at, bake, catalogCheck, digest, distributed, following, image, judged, published, settings, using, type Backing } from './store-fixtures.ts';

/**
 * Every field holds something other than nothing and other than its default, so a field a
 * backend failed to write or read back would show as a difference.
 */
function everyFieldSet<R>(shape: Shape<R>, record: R, what: string): void {
  for (const key in shape) {
    const value: unknown = record[key];
    const empty = value === null || value === undefined || (typeof value === 'object' && Object.keys(value).length === 0);
    assert.not.ok(empty, `${what}.${key} is empty`);
    assert.not.equal(value, shape[key].default, `${what}.${key} holds its default`);
  }
}

export function recordContract(test: Test, fresh: () => Promise<Backing>): void {
  test('should keep a group, a bake and an image with every field set, and read each back exactly', async () => {
    const backing = await fresh();
    const clock = new FakeClock(at(0) + 101);
    const full: GroupSettings = {
      name: 'full', image: 'ami-0f0000001', type: 'm7i-flex.2xlarge', keyname: 'other-key', keyfile: '/etc/autoami/other.pem', login: 'admin',
      puppetserver: 'puppet2.example.com', node_group: 'full nodes', enc_user: 'ops', enc_pass: "p'ss", enc_server: 'enc.example.com',
      enc_port: 8443, region: 'eu-west-1', subnet: 'subnet-0abc', security_group: 'sg-0abc', bootstrap: 'userdata', keep: 7,
      template: '/etc/autoami/full.sh.hbs', keep_failed: true, ...distributed, ...published, ...judged, ...following,
      verify: true,
    };
    const fullReport: ReportSummary = {
      host: 'full-i-0f00000000000001.autoami', transaction_uuid: 'a1b2c3d4-0000-4000-8000-0000000000ff', configuration_version: 'v42',
      status: 'failed', environment: 'staging', time: '2030-01-01T00:05:00.123+02:00', changed: 4, failed: 1, failed_to_restart: 2,
      corrective_change: 3, changed_resources: ['Package[nginx]', 'File[/x]'], failed_resources: ["Service['nginx']"],
      corrective_resources: ['File[/x]'], noop: true, pending_resources: ['Notify[again]'],
    };
    const verifyReport: ReportSummary = { ...fullReport, host: 'full-i-0f00000000000002.autoami', transaction_uuid: 'a1b2c3d4-0000-4000-8000-0000000000fe' };
    const verification = { verify_instance_id: 'i-0f00000000000002', verify_certname: 'full-i-0f00000000000002.autoami' };
    const distribution: Distribution = {
      'eu-west-1': { image_id: 'ami-0f0000003', step: 'done' },
      'ap-southeast-2': { image_id: 'ami-0f0000004', step: 'deprecating' },
    };
    const copies = { 'ap-southeast-2': 'ami-0f0000004' };
    const check: CatalogCheck = catalogCheck({ state: 'forced', reason: "forced by o'brien", hash: digest('c'), reference: digest('d'), compile_ms: 987 });
    const baseUpdate: BaseUpdate = { from: 'ami-0f0000008', to: 'ami-0f0000001', source: "debian-12-amd64-* (o'brien) owned by 136693071363" };
    const secret = challengeHash('a1'.repeat(32));
    const last = challengeHash('b2'.repeat(32));
    const written = await using(backing.make(clock), async (store) => {
      await store.createGroup(full);
      clock.time = at(10) + 202;
      assert.ok(await store.setGroupImage('full', 'ami-0f0000002', digest('d')));
      assert.ok(await store.setFollowedBase('full', 'ami-0f0000009'));
      const group = (await store.getGroup('full'))!;

      clock.time = at(20) + 303;
      await store.createBake({ id: 'full-bake', run_id: 'run-9', group_name: 'full', region: 'eu-west-1', parent_image: 'ami-0f0000001', deadline: at(100), base_update: baseUpdate });
      assert.ok(await store.acquireLease('full-bake', 'm1', at(600), at(20)));
      assert.ok(await store.setChallenge('full-bake', 'm1', 'queued', secret));
      assert.ok(await store.setCheck('full-bake', 'm1', 'queued', check));
      clock.time = at(30) + 404;
      const instance = { instance_id: 'i-0f00000000000001', certname: 'full-i-0f00000000000001.autoami', deadline: at(200) + 5 };
      assert.ok(await store.transition('full-bake', 'm1', 'queued', { state: 'launching', ...instance, expect_challenge: secret }));
      assert.ok(await store.transition('full-bake', 'm1', 'launching', { state: 'imaging', image_name: 'autoami-full-1', reason: 'changed 4', challenge_hash: null }));
      assert.ok(await store.transition('full-bake', 'm1', 'imaging', { state: 'image_pending', image_id: 'ami-0f0000003' }));
      assert.ok(await store.recordReport('full-bake', fullReport));
      assert.ok(await store.transition('full-bake', 'm1', 'image_pending', { state: 'verifying', verify_step: 'launching' }));
      assert.ok(await store.transition('full-bake', 'm1', 'verifying', { state: 'verifying', verify_step: 'awaiting_report', ...verification }));
      assert.ok(await store.recordVerifyReport('full-bake', verifyReport));
      assert.not.ok(await store.recordVerifyReport('full-bake', fullReport), 'a verification report is kept once');
      assert.ok(await store.transition('full-bake', 'm1', 'verifying', { state: 'distributing', verify_step: 'verified' }));
      assert.ok(await store.setDistribution('full-bake', 'm1', distribution));
      clock.time = at(40) + 505;
      assert.ok(await store.transition('full-bake', 'm1', 'distributing', { state: 'done', outcome: 'baked', deadline: at(300) + 6 }));
      // A finished bake has no lease and no challenge; taken again here only so that every field holds something.
      assert.ok(await store.acquireLease('full-bake', 'm2', at(900) + 7, at(50)));
      clock.time = at(50) + 606;
      const bake = (await store.setChallenge('full-bake', 'm2', 'done', last))!;

      clock.time = at(60) + 707;
      await store.promote({
        image_id: 'ami-0f0000003', group_name: 'full', region: 'eu-west-1', name: 'autoami-full-1', parent_image: 'ami-0f0000001',
        bake_id: 'full-bake', config_version: 'v42', changed_resources: ['Package[nginx]', 'File[/x]'], created_at: at(45) + 8, deregistered_at: null,
        copies, retention_note: null, catalog_hash: digest('c'),
      });
      await store.markImageDeregistered('ami-0f0000003', at(70) + 9);
      await store.setRetentionNote('ami-0f0000003', "kept: 'asg-full' launches it");
      return { group, bake };
    });

    const group: Group = {
      ...full, image: 'ami-0f0000002', base_image: 'ami-0f0000001', catalog_hash: digest('d'), followed_base: 'ami-0f0000009', created_at: at(0) + 101, updated_at: at(10) + 202,
    };
    const bake: Bake = {
      id: 'full-bake', run_id: 'run-9', group_name: 'full', region: 'eu-west-1', parent_image: 'ami-0f0000001', deadline: at(300) + 6,
      state: 'done', outcome: 'baked', reason: 'changed 4', instance_id: 'i-0f00000000000001', certname: 'full-i-0f00000000000001.autoami',
      image_id: 'ami-0f0000003', image_name: 'autoami-full-1', report: fullReport, lease_owner: 'm2', lease_expires: at(900) + 7,
      created_at: at(20) + 303, updated_at: at(50) + 606, finished_at: at(40) + 505, challenge_hash: last, distribution, check, base_update: baseUpdate,
      verify_step: 'verified', ...verification, verify_report: verifyReport,
    };
    const image: ImageRecord = {
      image_id: 'ami-0f0000003', group_name: 'full', region: 'eu-west-1', name: 'autoami-full-1', parent_image: 'ami-0f0000001', bake_id: 'full-bake',
      config_version: 'v42', changed_resources: ['Package[nginx]', 'File[/x]'], created_at: at(45) + 8, deregistered_at: at(70) + 9,
      copies, retention_note: "kept: 'asg-full' launches it", catalog_hash: digest('c'),
    };
    // Promotion points the group at the new image and its catalog.
    const promoted: Group = { ...group, image: 'ami-0f0000003', catalog_hash: digest('c'), updated_at: at(60) + 707 };
    everyFieldSet(GROUP_TABLE, group, 'group');
    everyFieldSet(BAKE_TABLE, bake, 'bake');
    everyFieldSet(REPORT_SHAPE, fullReport, 'report');
    everyFieldSet(CHECK_SHAPE, check, 'check');
    everyFieldSet(BASE_UPDATE_SHAPE, baseUpdate, 'base_update');
    everyFieldSet(DIFF_SHAPE, check.diff!, 'check.diff');
    everyFieldSet(CHANGED_RESOURCE_SHAPE, check.diff!.changed[0]!, 'check.diff.changed');
    everyFieldSet(IMAGE_TABLE, image, 'image');
    assert.equal(written, { group, bake });
    // Read back by a store that did not write them: what the backend kept, not what it remembered.
    await using(backing.make(), async (store) => {
      assert.equal(await store.getGroup('full'), promoted);
      assert.equal(await store.listGroups(), [promoted]);
      assert.equal(await store.getBake('full-bake'), bake);
      assert.equal(await store.findBakeByCertname(bake.certname!), bake);
      assert.equal(await store.findBakeByCertname(verification.verify_certname), bake);
      assert.equal(await store.listBakes(), [bake]);
      assert.equal(await store.listImages('full'), [image]);
    });
  });

  test('should keep a publication with every field set, and read it back exactly', async () => {
    const backing = await fresh();
    const clock = new FakeClock(at(0) + 101);
    const refresh: TargetProgress = { step: 'failed', version: 3, replaced: 2, refresh_id: 'f3a1-22', since: at(5) + 7, detail: "Cancelled: 'asg-full'" };
    const progress = { 'instance-refresh:eu-west-1:asg-full': refresh, 'ssm:ap-southeast-2:/autoami/full': { ...refresh, step: 'done' as const } };
    const written = await using(backing.make(clock), async (store) => {
      await store.startPublication({
        id: 'pub-full', group_name: 'full', channel: 'prod', image_id: 'ami-0f0000003', images: { 'eu-west-1': 'ami-0f0000003', 'ap-southeast-2': 'ami-0f0000004' },
        trigger: 'rollback', requested_by: "o'brien",
      });
      clock.time = at(10) + 202;
      assert.ok(await store.setPublicationProgress('pub-full', progress));
      clock.time = at(20) + 303;
      assert.ok(await store.finishPublication('pub-full', 'published_with_errors', 'instance refresh asg-full: Cancelled'));
      return store.getPublication('pub-full');
    });
    const publication: Publication = {
      id: 'pub-full', group_name: 'full', channel: 'prod', image_id: 'ami-0f0000003', images: { 'eu-west-1': 'ami-0f0000003', 'ap-southeast-2': 'ami-0f0000004' },
      trigger: 'rollback', requested_by: "o'brien", progress, outcome: 'published_with_errors', reason: 'instance refresh asg-full: Cancelled',
      created_at: at(0) + 101, updated_at: at(20) + 303, finished_at: at(20) + 303,
    };
    everyFieldSet(PUBLICATION_TABLE, publication, 'publication');
    everyFieldSet(TARGET_PROGRESS_SHAPE, refresh, 'progress');
    assert.equal(written, publication);
    await using(backing.make(), async (store) => {
      assert.equal(await store.getPublication('pub-full'), publication);
      assert.equal(await store.listPublications('full'), [publication]);
    });
  });

  test('should keep a group\'s facts with every field set, and read them back exactly', async () => {
    const backing = await fresh();
    const facts: GroupFacts = {
      group_name: 'full', bake_id: 'full-bake', certname: 'full-i-0f00000000000001.autoami', instance_id: 'i-0f00000000000001', environment: 'staging',
      facts: { os: { family: 'Debian', release: { major: '12' } }, processors: { count: 4 }, virtual: 'kvm', is_virtual: true, dmi: null, "o'brien": ['a', 1] },
      recorded_at: at(30) + 404,
    };
    const { recorded_at: _, ...given } = facts;
    await using(backing.make(new FakeClock(facts.recorded_at)), (store) => store.recordFacts(given));
    everyFieldSet(FACTS_TABLE, facts, 'facts');
    await using(backing.make(), async (store) => assert.equal(await store.getFacts('full'), facts));
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
