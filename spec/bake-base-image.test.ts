/**
 * A group that follows a base image, in the fake bake environment: `run` resolves its SSM
 * parameter, and a new base launches a bake from it that bakes even though neither the
 * catalog nor the Puppet run changed anything, saying so, and moves the group's base.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { BakeEngine } from '../runtime/bake/engine.ts';
import type { CallContext } from '../runtime/dispatcher.ts';
import { historyHandlers } from '../runtime/methods/history.ts';
import { runHandler, type RunResult } from '../runtime/methods/bake-run.ts';
import type { PublishSource } from '../runtime/publish/source.ts';
import type { SsmParameters } from '../runtime/publish/ssm.ts';
import { catalogHash, normaliseCatalog } from '../runtime/puppet/catalog-digest.ts';
import type { Group } from '../runtime/store/store.ts';
import { catalogOf } from './support/fake-catalogs.ts';
import { BASE_IMAGE, FakeBakeEnv, OWNER, SENSITIVE_KEY, unchangedReport } from './support/fake-bake-env.ts';

interface Context {
  fx: FakeBakeEnv;
  /** Name → value: Parameter Store in the group's region, as the publisher leaves it. */
  parameters: Map<string, string>;
  engine: BakeEngine;
  run: (params?: { noop?: boolean }) => Promise<RunResult>;
}

const Follow = suite<Context>('bake from a new base image');

const PARAMETER = '/aws/service/debian/release/12/latest/amd64';
const NEW_BASE = 'ami-0fedcba9876543210';
const CERTNAME = 'web-i-0123456789abcdef0.autoami';
const INSTANCE = 'i-0123456789abcdef0';
const ROLE = { 'File[/etc/web.conf]': { content: 'release 1\n', mode: '0644' }, 'Package[nginx]': { ensure: 'installed' } };
const hashOfRole = catalogHash(normaliseCatalog(catalogOf(CERTNAME, ROLE), { certname: CERTNAME, instanceId: INSTANCE, sensitiveKey: SENSITIVE_KEY }));

/** Parameter Store that only reads: a run resolves a base and writes nothing there. */
function readingOnly(parameters: Map<string, string>): PublishSource {
  const refuse = (what: string): never => {
    throw new Error(`a run that follows a base image asked for ${what}`);
  };
  // Only `get` is there to call: the cast stands for the rest of the client, which a run never touches.
  const ssm = { get: async (name: string) => (parameters.has(name) ? { value: parameters.get(name)!, version: 1 } : undefined) } as unknown as SsmParameters;
  return { ssm: () => ssm, autoscaling: () => refuse('Auto Scaling'), launchTemplates: () => refuse('launch templates') };
}

Follow.before.each(async (context) => {
  const fx = await FakeBakeEnv.open();
  const parameters = new Map([[PARAMETER, BASE_IMAGE]]);
  const env = { publish: readingOnly(parameters) };
  const engine = fx.engine({ env });
  let ids = 0;
  const call: CallContext = { session: { hello: true }, progress: () => undefined, signal: new AbortController().signal };
  const handler = runHandler(fx.envFor(OWNER, env), engine, () => `id-${++ids}`);
  Object.assign(context, { fx, parameters, engine, run: (params = {}) => handler({ groups: [], wait: false, force: false, noop: false, ...params }, call) });
  // Whatever instance runs Puppet, the run changes nothing: the role is on the image already.
  fx.bootstrap.agent = async (run) => {
    const bake = await fx.store.findBakeByCertname(run.certname);
    await fx.store.recordReport(bake!.id, unchangedReport());
    return { state: 'ran', exitCode: 0, output: '' };
  };
});

Follow.after.each(({ fx }) => fx.close());

/** A group whose image embodies the role's catalog, as after a bake; the server compiles that catalog again. */
async function settledGroup(fx: FakeBakeEnv): Promise<Group> {
  const group = await fx.group({ base_image_from: PARAMETER });
  await fx.store.recordFacts({ group_name: 'web', bake_id: 'earlier', certname: CERTNAME, instance_id: INSTANCE, environment: 'production', facts: { os: { family: 'Debian' } } });
  assert.ok(await fx.store.setCatalogHash('web', group.image, hashOfRole));
  fx.catalogs.catalog = catalogOf(CERTNAME, ROLE);
  return group;
}

Follow('should launch nothing while the base is the one the image is built on, then bake from a new base though nothing else changed', async ({ fx, parameters, run }) => {
  await settledGroup(fx);

  const first = await run();
  assert.is(first.bakes[0]?.reason, `base image ${BASE_IMAGE} from ${PARAMETER} is the one its image is built on`);
  const unchanged = await fx.settle(first.bakes[0]!.bake!);
  assert.equal([unchanged.outcome, unchanged.reason, unchanged.base_update, unchanged.parent_image], ['unchanged', 'catalog unchanged', null, BASE_IMAGE]);
  assert.is(fx.ec2.count('launch'), 0);
  assert.is((await fx.store.getGroup('web'))?.followed_base, BASE_IMAGE, 'the first resolution records the base, with nothing to bake for');

  // A day later Debian publishes a new image: the parameter moves.
  fx.time.advance(86_400_000);
  parameters.set(PARAMETER, NEW_BASE);
  const noop = await run({ noop: true });
  assert.is(noop.bakes[0]?.reason, `t3.micro in us-east-1 from ${NEW_BASE}, bootstrap ssh; a new base image ${NEW_BASE} (was ${BASE_IMAGE}) from ${PARAMETER}`);
  assert.is(fx.ec2.count('launch'), 0, '--noop launches nothing');

  const second = await run();
  const baked = await fx.settle(second.bakes[0]!.bake!);
  assert.is(baked.outcome, 'baked', baked.reason ?? '');
  assert.equal(baked.base_update, { from: BASE_IMAGE, to: NEW_BASE, source: PARAMETER });
  assert.equal([baked.check?.state, baked.check?.reason], ['changed', `catalog unchanged, but a new base image ${NEW_BASE} (was ${BASE_IMAGE}) from ${PARAMETER}`]);
  assert.is(baked.reason, `a new base image ${NEW_BASE} (was ${BASE_IMAGE}) from ${PARAMETER}; the Puppet run changed nothing`);
  assert.equal(fx.ec2.launches.map((launch) => launch.image), [NEW_BASE], 'launched from the fresh base, not from the group image');
  const group = await fx.store.getGroup('web');
  assert.equal([group?.image, group?.followed_base, group?.catalog_hash], [baked.image_id, NEW_BASE, hashOfRole]);
  assert.is((await fx.store.listImages('web'))[0]?.parent_image, NEW_BASE);

  const history = await historyHandlers(fx.store)['group.history']({ name: 'web' });
  assert.equal(history.map((row) => [row.outcome, row.base]), [['baked', `${NEW_BASE} (was ${BASE_IMAGE}) from ${PARAMETER}`], ['unchanged', null]]);

  // The group is on the new base now: the next run has nothing to bake for again.
  const third = await run();
  assert.is((await fx.settle(third.bakes[0]!.bake!)).reason, 'catalog unchanged');
  assert.is(fx.ec2.count('launch'), 1);
});

Follow('should bake from the group image, saying why, when the base does not resolve', async ({ fx, parameters, run }) => {
  const group = await settledGroup(fx);
  parameters.clear();
  const result = await run();
  assert.is(result.failed, false);
  assert.is(result.bakes[0]?.reason, `base image not resolved: there is no SSM parameter ${PARAMETER} in us-east-1`);
  const bake = await fx.settle(result.bakes[0]!.bake!);
  assert.equal([bake.parent_image, bake.base_update, bake.reason], [group.image, null, 'catalog unchanged']);
  assert.match(fx.log.text(), 'base image not resolved');
  assert.is((await fx.store.getGroup('web'))?.followed_base, null);
});

Follow('should record a failed bake from a new base without moving the group, and try the base again next run', async ({ fx, parameters, run }) => {
  await settledGroup(fx);
  await fx.store.setFollowedBase('web', BASE_IMAGE);
  parameters.set(PARAMETER, NEW_BASE);
  fx.bootstrap.agent = async () => ({ state: 'failed', reason: 'ssh: connection refused', output: '' });
  const failed = await fx.settle((await run()).bakes[0]!.bake!);
  assert.equal([failed.outcome, failed.base_update?.to], ['failed', NEW_BASE]);
  assert.equal([(await fx.store.getGroup('web'))?.image, (await fx.store.getGroup('web'))?.followed_base], [BASE_IMAGE, BASE_IMAGE]);
  const again = await run({ noop: true });
  assert.match(again.bakes[0]?.reason ?? '', `a new base image ${NEW_BASE} (was ${BASE_IMAGE})`);
});

Follow('should move deregistration protection from the image the group was on to the one baked on a new base', async ({ fx, parameters, run }) => {
  await settledGroup(fx);
  await fx.store.setFollowedBase('web', BASE_IMAGE);
  parameters.set(PARAMETER, NEW_BASE);
  const first = await fx.settle((await run()).bakes[0]!.bake!);
  assert.is(fx.ec2.image(first.image_id!)?.deregistrationProtection, 'enabled-without-cooldown');
  // The next base: the bake's parent is that base, not the image the group is on, which is released all the same.
  parameters.set(PARAMETER, 'ami-0aaaabbbbccccdddd');
  const second = await fx.settle((await run()).bakes[0]!.bake!);
  assert.is(second.outcome, 'baked', second.reason ?? '');
  assert.equal([fx.ec2.image(first.image_id!)?.deregistrationProtection, fx.ec2.image(second.image_id!)?.deregistrationProtection], ['disabled', 'enabled-without-cooldown']);
});

Follow.run();
