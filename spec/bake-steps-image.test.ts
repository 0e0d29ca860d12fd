/**
 * The bake steps from the agent's report to the promoted image (awaiting_report, imaging,
 * image_pending, promoted), each on its own in a fake environment: what it does in EC2 and
 * Puppet, and the one transition it writes. The engine around them is spec/bake-engine.test.ts.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { step } from '../runtime/bake/steps.ts';
import { amiName } from '../runtime/ami-name.ts';
import { hashOf, movedTo, reread, type StepContext } from './support/bake-step-checks.ts';
import { BASE_IMAGE, FakeBakeEnv, OWNER, changedReport, failedReport, unchangedReport } from './support/fake-bake-env.ts';

const Steps = suite<StepContext>('bake steps: image');

Steps.before.each(async (context) => {
  context.fx = await FakeBakeEnv.open();
});

Steps.after.each(({ fx }) => fx.close());

// --- awaiting_report

Steps('should wait, touching nothing, while no report has come in ssh mode', async ({ fx }) => {
  const bake = await fx.placeIn('awaiting_report', await fx.group());
  assert.is(await step(fx.env, bake), 'wait');
  assert.equal(await reread(fx, bake), bake);
  assert.equal(fx.ca.requests, []);
});

Steps('should sign the instance CSR while waiting for the report in userdata mode', async ({ fx }) => {
  const bake = await fx.placeIn('awaiting_report', await fx.group({ bootstrap: 'userdata' }));
  await fx.store.setChallenge(bake.id, OWNER, 'awaiting_report', hashOf(bake));
  assert.is(await step(fx.env, await reread(fx, bake)), 'wait');
  assert.equal(fx.ca.signed, [bake.certname]);
  assert.is((await reread(fx, bake)).challenge_hash, null);
  assert.is((await reread(fx, bake)).state, 'awaiting_report');
});

Steps('should go to imaging on a changed run, with the AMI name fixed now and the secret forgotten', async ({ fx }) => {
  const bake = await fx.placeIn('awaiting_report', await fx.group());
  await fx.store.setChallenge(bake.id, OWNER, 'awaiting_report', hashOf(bake));
  await fx.store.recordReport(bake.id, changedReport());
  assert.is(await step(fx.env, await reread(fx, bake)), 'moved');
  const imaging = await movedTo(fx, bake, 'imaging');
  assert.is(imaging.image_name, amiName('web', fx.time.now()));
  assert.is(imaging.reason, '1 resources changed: File[/etc/motd]');
  assert.is(imaging.challenge_hash, null);
  assert.equal(fx.ec2.imageSpecs, [], 'the image is the next step');
});

Steps('should clean up as unchanged after a run that changed nothing', async ({ fx }) => {
  const bake = await fx.placeIn('awaiting_report', await fx.group());
  await fx.store.recordReport(bake.id, unchangedReport());
  assert.is(await step(fx.env, await reread(fx, bake)), 'moved');
  const cleaning = await movedTo(fx, bake, 'cleaning');
  assert.is(cleaning.outcome, 'unchanged');
  assert.is(cleaning.reason, 'the Puppet run changed nothing');
});

Steps('should clean up as failed_run after a run with failures', async ({ fx }) => {
  const bake = await fx.placeIn('awaiting_report', await fx.group());
  await fx.store.recordReport(bake.id, failedReport());
  assert.is(await step(fx.env, await reread(fx, bake)), 'moved');
  const cleaning = await movedTo(fx, bake, 'cleaning');
  assert.is(cleaning.outcome, 'failed_run');
  assert.match(cleaning.reason ?? '', 'Package[nginx]');
});

// --- imaging

Steps('should create the image from the instance, with reboot, under the fixed name and its lineage tags', async ({ fx }) => {
  const bake = await fx.placeIn('imaging', await fx.group());
  assert.is(await step(fx.env, bake), 'moved');
  assert.equal(fx.ec2.imageSpecs, [{
    instanceId: bake.instance_id!, name: bake.image_name!, description: 'AutoAMI web, Puppet config 1700000000', noReboot: false,
    tags: {
      Name: bake.image_name!, 'autoami:group': 'web', 'autoami:bake': bake.id, 'autoami:parent-image': BASE_IMAGE, 'autoami:config-version': '1700000000',
    },
  }]);
  const pending = await movedTo(fx, bake, 'image_pending');
  assert.is(pending.image_id, fx.ec2.images()[0]?.id);
});

Steps('should find the image an interrupted attempt created by its name instead of making a second', async ({ fx }) => {
  const bake = await fx.placeIn('imaging', await fx.group());
  const earlier = fx.ec2.seedImage({ name: bake.image_name!, state: 'pending' });
  assert.is(await step(fx.env, bake), 'moved');
  assert.is(fx.ec2.images().length, 1);
  assert.is((await reread(fx, bake)).image_id, earlier.id);
});

// --- image_pending

Steps('should hand the image on to distributing once available, the group not moved yet', async ({ fx }) => {
  const group = await fx.group();
  const bake = await fx.placeIn('imaging', group);
  await step(fx.env, bake);
  const pending = await reread(fx, bake);
  assert.is(fx.ec2.image(pending.image_id!)?.state, 'pending');
  assert.is(await step(fx.env, pending), 'moved');
  const distributing = await movedTo(fx, bake, 'distributing');
  assert.equal(distributing.distribution, {});
  assert.is((await fx.store.getGroup('web'))?.image, BASE_IMAGE);
  assert.equal(await fx.store.listImages('web'), []);
});

Steps('should promote the image when a group delivers nowhere else: the group moves to it and its lineage row is written', async ({ fx }) => {
  const group = await fx.group();
  const bake = await fx.placeIn('imaging', group);
  await step(fx.env, bake);
  await step(fx.env, await reread(fx, bake));
  assert.is(await step(fx.env, await reread(fx, bake)), 'moved');
  const promoted = await movedTo(fx, bake, 'promoted');
  assert.equal(promoted.distribution, { [group.region]: { image_id: promoted.image_id, step: 'done' } });
  assert.is((await fx.store.getGroup('web'))?.image, promoted.image_id);
  const [row, ...more] = await fx.store.listImages('web');
  assert.equal(more, []);
  assert.equal(row, {
    image_id: promoted.image_id!, group_name: 'web', region: group.region, name: bake.image_name!, parent_image: BASE_IMAGE, bake_id: bake.id,
    config_version: '1700000000', changed_resources: ['File[/etc/motd]'], created_at: fx.at(0), deregistered_at: null, copies: {}, retention_note: null, catalog_hash: null,
  });
  assert.equal(fx.ec2.calls.filter((call) => ['copyImage', 'shareImage', 'deprecateImage'].includes(call.method)), [], 'nothing to copy, share or deprecate');
});

Steps('should end the bake failed when EC2 fails the image, naming why, and leave the group where it was', async ({ fx }) => {
  const bake = await fx.placeIn('imaging', await fx.group());
  fx.ec2.imageFailure = 'Snapshot of the root volume could not be completed';
  await step(fx.env, bake);
  const pending = await reread(fx, bake);
  assert.is(await step(fx.env, pending), 'moved');
  const cleaning = await movedTo(fx, bake, 'cleaning');
  assert.is(cleaning.outcome, 'failed');
  assert.match(cleaning.reason ?? '', 'Snapshot of the root volume could not be completed');
  assert.match(cleaning.reason ?? '', `the group stays on ${BASE_IMAGE}`);
  assert.is((await fx.store.getGroup('web'))?.image, BASE_IMAGE);
  assert.equal(await fx.store.listImages('web'), []);
});

// --- promoted

Steps('should publish a promoted bake to channel latest, then clean it up as baked, keeping its reason', async ({ fx }) => {
  const bake = await fx.placeIn('promoted', await fx.group());
  assert.is(await step(fx.env, bake), 'moved');
  const publishing = await movedTo(fx, bake, 'publishing');
  assert.is(await step(fx.env, publishing), 'moved');
  const cleaning = await movedTo(fx, bake, 'cleaning');
  assert.is(cleaning.outcome, 'baked');
  assert.is(cleaning.reason, '1 resources changed');
  const publication = await fx.store.getPublication(bake.id);
  assert.equal([publication?.channel, publication?.trigger, publication?.image_id, publication?.outcome], ['latest', 'bake', bake.image_id, 'published']);
});

Steps.run();
