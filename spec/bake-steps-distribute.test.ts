/**
 * The `distributing` step on its own, in a fake environment: a group that copies to two
 * regions, shares with an account and an organization, deprecates after 90 days and encrypts
 * with a key per region. What it writes before each call, what it asks EC2, how it resumes,
 * and how a region's failure ends it. `promoted`, which follows, is spec/bake-steps-protect.test.ts.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyToken } from '../runtime/bake/delivery.ts';
import { step } from '../runtime/bake/steps.ts';
import { Ec2Error } from '../runtime/errors.ts';
import type { Bake, Distribution, DistributionStep, GroupSettings } from '../runtime/store/store.ts';
import { movedTo, reread, type StepContext } from './support/bake-step-checks.ts';
import { BASE_IMAGE, FakeBakeEnv, LEASE_MS, REGION } from './support/fake-bake-env.ts';
import { ec2Failure } from './support/fake-ec2-faults.ts';
import { toMinute } from './support/fake-ec2-records.ts';
import { rejects } from './support/rejects.ts';

const HOME = REGION;
const WEST = 'eu-west-1';
const SOUTH = 'ap-southeast-2';
const COPY_TO = [WEST, SOUTH];
const REGIONS = [HOME, ...COPY_TO];
const ACCOUNT = '210987654321';
const ORG = 'arn:aws:organizations::123456789012:organization/o-exampleorg1';
const DAY = 86_400_000;
// A key of its own in each region, so a copy made with another region's key shows.
const KEYS: Record<string, string> = {
  [HOME]: 'arn:aws:kms:us-east-1:123456789012:key/11111111-1111-4111-8111-111111111111',
  [WEST]: 'arn:aws:kms:eu-west-1:123456789012:key/22222222-2222-4222-8222-222222222222',
  [SOUTH]: 'arn:aws:kms:ap-southeast-2:123456789012:key/33333333-3333-4333-8333-333333333333',
};
const DELIVERY: Partial<GroupSettings> = {
  copy_to: COPY_TO, share_with: [ACCOUNT, ORG], deprecate_after: '90d', encrypt: true, kms_key: REGIONS.map((region) => `${region}=${KEYS[region]}`),
};

const Steps = suite<StepContext>('bake steps: distributing');

Steps.before.each(async (context) => {
  context.fx = await FakeBakeEnv.open();
});

Steps.after.each(({ fx }) => fx.close());

/** A bake just moved to distributing by the step before it, its home image available. */
async function distributing(fx: FakeBakeEnv): Promise<Bake> {
  const pending = await fx.placeIn('image_pending', await fx.group(DELIVERY));
  assert.is(await step(fx.env, pending), 'moved');
  return movedTo(fx, pending, 'distributing');
}

/** The methods `region` was asked for since `mark` calls. */
const methodsSince = (fx: FakeBakeEnv, region: string, mark = 0) => fx.ec2s.get(region).calls.slice(mark).map((call) => call.method);

/** Each region's image of a bake, from its distribution. */
const imagesOf = (bake: Bake) => REGIONS.map((region) => [region, bake.distribution[region]?.image_id ?? ''] as const);

/** Every region's image is shared as asked: launch by both, volumes of its snapshots by the account alone. */
function assertShared(fx: FakeBakeEnv, bake: Bake): void {
  for (const [region, id] of imagesOf(bake)) {
    const sharing = fx.ec2s.get(region).sharing(id);
    assert.equal(sharing.launch, [ACCOUNT, ORG], `launch permission in ${region}`);
    assert.equal(Object.values(sharing.snapshots), [[ACCOUNT]], `snapshot permission in ${region}`);
  }
}

Steps('should write every region to the bake, home at sharing and copies at copying, before its first EC2 call', async ({ fx }) => {
  const bake = await distributing(fx);
  assert.equal(bake.distribution, {});
  const seen: Record<string, Distribution> = {};
  const look = (region: string) => async () => {
    seen[region] = (await reread(fx, bake)).distribution;
  };
  // The home region's share is the step's very first call; each copy region's first is its copy.
  fx.ec2.intercept('shareImage', look(HOME), 1);
  for (const region of COPY_TO) fx.ec2s.get(region).intercept('copyImage', look(region), 1);
  assert.is(await step(fx.env, bake), 'moved');
  const plan: Distribution = {
    [HOME]: { image_id: bake.image_id, step: 'sharing' },
    [WEST]: { image_id: null, step: 'copying' },
    [SOUTH]: { image_id: null, step: 'copying' },
  };
  assert.equal(seen[HOME], plan);
  for (const region of COPY_TO) {
    assert.equal(Object.keys(seen[region] ?? {}).sort(), [...REGIONS].sort(), `every region planned before the copy to ${region}`);
    assert.equal(seen[region]?.[region], plan[region]);
  }
});

Steps('should record each step of a region, with its image, before that step call', async ({ fx }) => {
  const bake = await distributing(fx);
  const seen: string[] = [];
  const calledAt = { waitForImage: 'copied', shareImage: 'sharing', deprecateImage: 'deprecating' } as const;
  for (const region of REGIONS) {
    for (const method of Object.keys(calledAt) as (keyof typeof calledAt)[]) {
      fx.ec2s.get(region).intercept(method, async (call) => {
        const recorded = (await reread(fx, bake)).distribution[region];
        seen.push(`${region} ${method} at ${recorded?.step}${recorded?.image_id === call.args[0] ? '' : ` on ${recorded?.image_id}`}`);
      });
    }
  }
  assert.is(await step(fx.env, bake), 'moved');
  const expected = REGIONS.flatMap((region) =>
    Object.entries(calledAt).filter(([method]) => region !== HOME || method !== 'waitForImage').map(([method, at]) => `${region} ${method} at ${at}`),
  );
  assert.equal(seen.sort(), expected.sort());
});

Steps('should copy to both regions at once, from the home image, with the token of the bake and region and that region key', async ({ fx }) => {
  const bake = await distributing(fx);
  const askedBeforeWaiting: number[] = [];
  for (const region of COPY_TO) {
    fx.ec2s.get(region).intercept('waitForImage', () => {
      askedBeforeWaiting.push(COPY_TO.reduce((sum, each) => sum + fx.ec2s.get(each).count('copyImage'), 0));
    });
  }
  assert.is(await step(fx.env, bake), 'moved');
  assert.equal(askedBeforeWaiting, [2, 2], 'both copies asked for before waiting on either');
  for (const region of COPY_TO) {
    const ec2 = fx.ec2s.get(region);
    const [spec, ...more] = ec2.copySpecs;
    assert.equal(more, []);
    const { sourceRegion, sourceImageId, name, clientToken, encrypted, kmsKeyId } = spec!;
    assert.equal(
      { sourceRegion, sourceImageId, name, clientToken, encrypted, kmsKeyId },
      { sourceRegion: HOME, sourceImageId: bake.image_id, name: bake.image_name, clientToken: copyToken(bake.id, region), encrypted: true, kmsKeyId: KEYS[region] },
    );
    const [copy] = ec2.images();
    assert.equal(ec2.encryption(copy!.id), { encrypted: true, kmsKeyId: KEYS[region]! });
  }
});

Steps('should get back the same copy when a CopyImage whose answer was lost is retried', async ({ fx }) => {
  const bake = await distributing(fx);
  const west = fx.ec2s.get(WEST);
  west.failNext('copyImage', ec2Failure('ECONNRESET', 'CopyImage', WEST), { after: true });
  await rejects(step(fx.env, bake), Ec2Error);
  const interrupted = await reread(fx, bake);
  assert.is(interrupted.state, 'distributing');
  assert.equal(interrupted.distribution[WEST], { image_id: null, step: 'copying' }, 'the copy was made but its id never came back');
  assert.is(await step(fx.env, interrupted), 'moved');
  assert.is(west.count('copyImage'), 2);
  const [copy, ...more] = west.images();
  assert.equal(more, [], 'one copy in the region');
  const promoted = await movedTo(fx, bake, 'promoted');
  assert.equal(promoted.distribution[WEST], { image_id: copy!.id, step: 'done' });
  assert.equal((await fx.store.listImages('web'))[0]?.copies[WEST], copy!.id);
});

/** A failure that stops the step once the west region has recorded `at`, the others going on as they may. */
const STOP_AT: Record<Exclude<DistributionStep, 'copying'>, (fx: FakeBakeEnv) => void> = {
  copied: (fx) => fx.ec2s.get(WEST).failNext('waitForImage', ec2Failure('RequestLimitExceeded', 'DescribeImages', WEST)),
  // Granted, but the answer lost: the resumed step grants again.
  sharing: (fx) => fx.ec2s.get(WEST).failNext('shareImage', ec2Failure('ECONNRESET', 'ModifyImageAttribute', WEST), { after: true }),
  deprecating: (fx) => fx.ec2s.get(WEST).failNext('deprecateImage', ec2Failure('ECONNRESET', 'EnableImageDeprecation', WEST), { after: true }),
  done: (fx) => fx.ec2s.get(SOUTH).failNext('copyImage', ec2Failure('RequestLimitExceeded', 'CopyImage', SOUTH)),
};
/** What the resumed step asks of the west region: only the recorded step's call and those after it. */
const RESUMED_WITH: Record<keyof typeof STOP_AT, string[]> = {
  copied: ['waitForImage', 'shareImage', 'describeImages', 'deprecateImage'],
  sharing: ['shareImage', 'describeImages', 'deprecateImage'],
  deprecating: ['describeImages', 'deprecateImage'],
  done: [],
};

for (const at of Object.keys(STOP_AT) as (keyof typeof STOP_AT)[]) {
  Steps(`should resume a region recorded at ${at} with no second copy and nothing left unshared or undeprecated`, async ({ fx }) => {
    const bake = await distributing(fx);
    STOP_AT[at](fx);
    await rejects(step(fx.env, bake), Ec2Error);
    const stopped = await reread(fx, bake);
    assert.is(stopped.distribution[WEST]?.step, at);
    const mark = fx.ec2s.get(WEST).calls.length;
    assert.is(await step(fx.env, stopped), 'moved');
    assert.equal(methodsSince(fx, WEST, mark), RESUMED_WITH[at]);
    const promoted = await movedTo(fx, bake, 'promoted');
    for (const region of COPY_TO) {
      assert.is(fx.ec2s.get(region).images().length, 1, `one copy in ${region}`);
      assert.is(fx.ec2s.get(region).count('copyImage'), region === SOUTH && at === 'done' ? 2 : 1);
    }
    assertShared(fx, promoted);
    for (const [region, id] of imagesOf(promoted)) assert.ok(fx.ec2s.get(region).image(id)?.deprecationTime, `deprecation in ${region}`);
  });
}

Steps('should deprecate each region image 90 days after that image was made, whenever the call is made', async ({ fx }) => {
  const bake = await distributing(fx);
  // The home image was made before the step runs, and each copy well before its deprecation call.
  fx.time.advance(10 * 60_000 + 1_234);
  assert.is(await step(fx.env, bake), 'moved');
  const promoted = await movedTo(fx, bake, 'promoted');
  for (const [region, id] of imagesOf(promoted)) {
    const image = fx.ec2s.get(region).image(id)!;
    assert.ok(Date.parse(image.creationDate!) < fx.time.now() - 60_000, `the ${region} image was made a while ago`);
    assert.is(image.deprecationTime, new Date(toMinute(Date.parse(image.creationDate!) + 90 * DAY)).toISOString(), region);
  }
});

const PERMANENT = [
  { code: 'OptInRequired', region: SOUTH, method: 'copyImage', action: 'CopyImage' },
  { code: 'AuthFailure', region: WEST, method: 'shareImage', action: 'ModifyImageAttribute' },
] as const;

for (const { code, region, method, action } of PERMANENT) {
  Steps(`should end the bake failed, naming ${region} and ${code}, and leave the group where it was when ${action} fails for good there`, async ({ fx }) => {
    const bake = await distributing(fx);
    fx.ec2s.get(region).failNext(method, ec2Failure(code, action, region));
    assert.is(await step(fx.env, bake), 'moved');
    const cleaning = await movedTo(fx, bake, 'cleaning');
    assert.is(cleaning.outcome, 'failed');
    assert.match(cleaning.reason ?? '', `${region}: ${code}`);
    assert.match(cleaning.reason ?? '', `the image ${bake.image_id} is kept in ${HOME} and the group stays on ${BASE_IMAGE}`);
    assert.is((await fx.store.getGroup('web'))?.image, BASE_IMAGE);
    assert.equal(await fx.store.listImages('web'), []);
  });
}

Steps('should throw for the engine to retry, leaving the bake distributing, when a region is throttled', async ({ fx }) => {
  const bake = await distributing(fx);
  fx.ec2s.get(SOUTH).failNext('copyImage', ec2Failure('RequestLimitExceeded', 'CopyImage', SOUTH));
  const error = await rejects(step(fx.env, bake), Ec2Error);
  assert.is(error.awsCode, 'RequestLimitExceeded');
  const after = await reread(fx, bake);
  assert.is(after.state, 'distributing');
  assert.is(after.outcome, null);
  assert.equal(after.distribution[SOUTH], { image_id: null, step: 'copying' });
  assert.is((await fx.store.getGroup('web'))?.image, BASE_IMAGE);
});

Steps('should return lost and call EC2 no further once another sidecar has taken the lease', async ({ fx }) => {
  const bake = await distributing(fx);
  const marks = REGIONS.map((region) => fx.ec2s.get(region).calls.length);
  // Taken over while this sidecar's first calls are out, its lease having lapsed.
  fx.ec2.intercept('shareImage', async () => {
    assert.ok(await fx.store.acquireLease(bake.id, 'sidecar-b', fx.at(2 * LEASE_MS), fx.at(LEASE_MS + 1)));
  }, 1);
  assert.is(await step(fx.env, bake), 'lost');
  assert.equal(REGIONS.map((region, n) => methodsSince(fx, region, marks[n])), [['shareImage'], ['copyImage'], ['copyImage']]);
  const after = await reread(fx, bake);
  assert.is(after.state, 'distributing');
  assert.is(after.lease_owner, 'sidecar-b');
  assert.is((await fx.store.getGroup('web'))?.image, BASE_IMAGE);
});

Steps('should move the group once every region is done, with both copies in its one lineage row', async ({ fx }) => {
  const bake = await distributing(fx);
  assert.is(await step(fx.env, bake), 'moved');
  const promoted = await movedTo(fx, bake, 'promoted');
  const copies = Object.fromEntries(COPY_TO.map((region) => [region, fx.ec2s.get(region).images()[0]?.id]));
  assert.equal(promoted.distribution, {
    [HOME]: { image_id: bake.image_id, step: 'done' },
    [WEST]: { image_id: copies[WEST], step: 'done' },
    [SOUTH]: { image_id: copies[SOUTH], step: 'done' },
  });
  assert.is((await fx.store.getGroup('web'))?.image, bake.image_id);
  assert.equal(await fx.store.listImages('web'), [{
    image_id: bake.image_id!, group_name: 'web', region: HOME, name: bake.image_name!, parent_image: BASE_IMAGE, bake_id: bake.id,
    config_version: '1700000000', changed_resources: ['File[/etc/motd]'], created_at: fx.at(0), deregistered_at: null, copies, retention_note: null, catalog_hash: null,
  }]);
  assertShared(fx, promoted);
});

Steps.run();
