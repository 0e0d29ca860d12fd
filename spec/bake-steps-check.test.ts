/**
 * The catalog check a queued bake makes before launching, in a fake environment whose
 * Puppet Server answers scripted catalogs: what it records, when it launches, and how the
 * group's reference catalog follows its image.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { step } from '../runtime/bake/steps.ts';
import { catalogHash, normaliseCatalog } from '../runtime/puppet/catalog-digest.ts';
import type { Group } from '../runtime/store/store.ts';
import { movedTo, reread, type StepContext } from './support/bake-step-checks.ts';
import { catalogOf } from './support/fake-catalogs.ts';
import { BASE_IMAGE, FakeBakeEnv, OWNER, SENSITIVE_KEY, unchangedReport } from './support/fake-bake-env.ts';

const Check = suite<StepContext>('bake steps: catalog check');

const CERTNAME = 'web-i-0123456789abcdef0.autoami';
const INSTANCE = 'i-0123456789abcdef0';
const ROLE = { 'File[/etc/web.conf]': { content: 'release 1\n', mode: '0644' }, 'Package[nginx]': { ensure: 'installed' } };

Check.before.each(async (context) => {
  context.fx = await FakeBakeEnv.open();
});

Check.after.each(({ fx }) => fx.close());

/** The group's latest bake instance reported these facts. */
async function withFacts(fx: FakeBakeEnv, group: Group): Promise<void> {
  await fx.store.recordFacts({ group_name: group.name, bake_id: 'earlier', certname: CERTNAME, instance_id: INSTANCE, environment: 'production', facts: { os: { family: 'Debian' } } });
}

/** The hash the check computes for `resources` compiled for the facts' instance. */
const hashOf = (resources: Record<string, Record<string, unknown>>) =>
  catalogHash(normaliseCatalog(catalogOf(CERTNAME, resources), { certname: CERTNAME, instanceId: INSTANCE, sensitiveKey: SENSITIVE_KEY }));

Check('should launch unchecked, saying so, while no bake instance of the group has reported facts', async ({ fx }) => {
  const bake = await fx.placeIn('queued', await fx.group());
  assert.is(await step(fx.env, bake), 'moved');
  const launching = await movedTo(fx, bake, 'launching');
  assert.equal(launching.check, { state: 'unchecked', reason: 'no facts yet: no bake instance of the group has reported, so the catalog was not checked', hash: null, reference: null, diff: null, compile_ms: null });
  assert.equal(fx.catalogs.calls, []);
});

Check("should compile with the latest instance's facts and trusted facts on the group's server, and launch when no reference is known", async ({ fx }) => {
  const group = await fx.group();
  await withFacts(fx, group);
  fx.catalogs.catalog = catalogOf(CERTNAME, ROLE);
  const bake = await fx.placeIn('queued', group);
  assert.is(await step(fx.env, bake), 'moved');
  assert.equal(fx.catalogs.calls, [{
    server: 'puppet.example.com',
    request: { certname: CERTNAME, environment: 'production', facts: { os: { family: 'Debian' } }, extensions: { pp_role: 'web', pp_instance_id: INSTANCE } },
  }]);
  const launching = await movedTo(fx, bake, 'launching');
  assert.equal(launching.check, { state: 'changed', reason: `no catalog is known for ${BASE_IMAGE}, the image the group is on`, hash: hashOf(ROLE), reference: null, diff: null, compile_ms: 42 });
  assert.ok(await fx.store.getCatalog(hashOf(ROLE)), 'the compiled catalog is kept for the next difference');
});

Check('should end the bake unchanged, launching nothing, when the catalog is the one of the image the group is on', async ({ fx }) => {
  const group = await fx.group();
  await withFacts(fx, group);
  assert.ok(await fx.store.setCatalogHash(group.name, group.image, hashOf(ROLE)));
  // Another instance's certname and id in the catalog do not make it another catalog.
  fx.catalogs.catalog = catalogOf(CERTNAME, ROLE);
  const bake = await fx.placeIn('queued', (await fx.store.getGroup('web'))!);
  assert.is(await step(fx.env, bake), 'moved');
  const cleaning = await movedTo(fx, bake, 'cleaning');
  assert.equal([cleaning.outcome, cleaning.reason, cleaning.check?.state], ['unchanged', 'catalog unchanged', 'unchanged']);
  assert.is(await step(fx.env, await fx.lease(bake.id)), 'moved');
  assert.is((await reread(fx, bake)).state, 'done');
  assert.equal(fx.ec2.calls, [], 'nothing was launched, looked for or terminated');
});

Check('should launch when the catalog differs, naming the resources and parameters that changed', async ({ fx }) => {
  const group = await fx.group();
  await withFacts(fx, group);
  fx.catalogs.catalog = catalogOf(CERTNAME, ROLE);
  const first = await fx.placeIn('queued', group);
  await step(fx.env, first);
  await fx.store.setCatalogHash(group.name, group.image, hashOf(ROLE));
  const next = { 'File[/etc/web.conf]': { content: 'release 2\n', mode: '0644' }, 'Service[nginx]': { ensure: 'running' } };
  fx.catalogs.catalog = catalogOf(CERTNAME, next);
  const bake = await fx.placeIn('queued', (await fx.store.getGroup('web'))!);
  assert.is(await step(fx.env, bake), 'moved');
  const launching = await movedTo(fx, bake, 'launching');
  assert.is(launching.check?.state, 'changed');
  assert.is(launching.check?.reason, 'catalog changed: added Service[nginx]; removed Package[nginx]; changed File[/etc/web.conf] (content)');
  assert.equal(launching.check?.diff, { added: ['Service[nginx]'], removed: ['Package[nginx]'], changed: [{ ref: 'File[/etc/web.conf]', parameters: ['content'] }], edgesChanged: true });
  assert.equal([launching.check?.reference, launching.check?.hash], [hashOf(ROLE), hashOf(next)]);
});

Check("should launch unchecked with the server's words when the catalog does not compile", async ({ fx }) => {
  const group = await fx.group();
  await withFacts(fx, group);
  fx.catalogs.failure = 'POST https://puppet.example.com:8140/puppet/v4/catalog answered 403: Forbidden request (auth.conf must allow this master\'s certname on /puppet/v4/catalog; see the README)';
  const bake = await fx.placeIn('queued', group);
  assert.is(await step(fx.env, bake), 'moved');
  const launching = await movedTo(fx, bake, 'launching');
  assert.equal([launching.check?.state, launching.check?.reason], ['unchecked', `the catalog was not checked: ${fx.catalogs.failure}`]);
});

Check('should compile once: a resumed queued bake goes on with the check it recorded', async ({ fx }) => {
  const group = await fx.group();
  await withFacts(fx, group);
  fx.catalogs.catalog = catalogOf(CERTNAME, ROLE);
  const bake = await fx.placeIn('queued', group);
  const check = { state: 'changed' as const, reason: 'recorded before a kill', hash: hashOf(ROLE), reference: null, diff: null, compile_ms: 7 };
  assert.ok(await fx.store.setCheck(bake.id, OWNER, 'queued', check));
  assert.is(await step(fx.env, await reread(fx, bake)), 'moved');
  assert.equal(fx.catalogs.calls, []);
  assert.equal((await movedTo(fx, bake, 'launching')).check, check);
});

Check('should launch unchecked, naming the settings, without a master certificate to compile with', async ({ fx }) => {
  const bake = await fx.placeIn('queued', await fx.group());
  assert.is(await step({ ...fx.env, catalogCheck: null }, bake), 'moved');
  assert.match((await movedTo(fx, bake, 'launching')).check?.reason ?? '', 'puppet.hostcert, puppet.hostprivkey and puppet.localcacert');
});

Check("should make the checked catalog the reference of the group's image when the agent then changed nothing", async ({ fx }) => {
  const group = await fx.group();
  const bake = await fx.placeIn('awaiting_report', group);
  const check = { state: 'changed' as const, reason: 'no catalog is known', hash: hashOf(ROLE), reference: null, diff: null, compile_ms: 7 };
  assert.ok(await fx.store.setCheck(bake.id, OWNER, 'awaiting_report', check));
  await fx.store.recordReport(bake.id, unchangedReport());
  assert.is(await step(fx.env, await reread(fx, bake)), 'moved');
  assert.is((await movedTo(fx, bake, 'cleaning')).outcome, 'unchanged');
  assert.is((await fx.store.getGroup('web'))?.catalog_hash, hashOf(ROLE));
});

Check('should record the catalog after the run of a bake that launched without facts, when the code is provably the one it ran', async ({ fx }) => {
  const group = await fx.group();
  for (const [version, learned] of [['1700000000', true], ['1700000099', false]] as const) {
    const bake = await fx.placeIn('awaiting_report', group);
    const unchecked = { state: 'unchecked' as const, reason: 'no facts yet', hash: null, reference: null, diff: null, compile_ms: null };
    assert.ok(await fx.store.setCheck(bake.id, OWNER, 'awaiting_report', unchecked));
    // The run brought the group its first facts; the server compiles the code of version `version` now.
    await withFacts(fx, group);
    fx.catalogs.catalog = catalogOf(CERTNAME, ROLE, version);
    await fx.store.recordReport(bake.id, unchangedReport());
    assert.is(await step(fx.env, await reread(fx, bake)), 'moved');
    const cleaning = await movedTo(fx, bake, 'cleaning');
    if (learned) {
      assert.is(cleaning.check?.hash, hashOf(ROLE));
      assert.is(cleaning.check?.reason, 'no facts yet; after the run, its catalog (configuration version 1700000000) was recorded');
      assert.is((await fx.store.getGroup('web'))?.catalog_hash, hashOf(ROLE));
    } else {
      assert.equal(cleaning.check, unchecked, 'a compile of other code is not the run\'s catalog');
    }
  }
});

Check.run();
