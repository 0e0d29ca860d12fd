/**
 * Proof by booting: a group with --verify launches its new image once more, runs the agent
 * there in noop, and moves to the image only when that run would change nothing. The steps
 * of `verifying` one by one in a fake environment, the verdict on its own, and what cleaning
 * does with a refused image.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { step } from '../runtime/bake/steps.ts';
import { judgeVerification, UNVERIFIED_TAG } from '../runtime/bake/verification.ts';
import { challengeHash } from '../runtime/puppet/challenge.ts';
import type { LaunchSpec } from '../runtime/ec2/types.ts';
import type { Bake, Group, ReportSummary } from '../runtime/store/store.ts';
import { movedTo, reread, type StepContext } from './support/bake-step-checks.ts';
import { BASE_IMAGE, FakeBakeEnv, OWNER, reportSummary, secretFor } from './support/fake-bake-env.ts';

const Verify = suite<StepContext>('bake steps: verifying');

Verify.before.each(async (context) => {
  context.fx = await FakeBakeEnv.open();
});

Verify.after.each(({ fx }) => fx.close());

const noopReport = (certname: string, pending: string[] = []): ReportSummary =>
  reportSummary({ host: certname, status: 'unchanged', noop: true, changed: 0, changed_resources: [], pending_resources: pending });

/** The image is available: a verifying group's bake goes on to verifying, and takes the steps up to the report. */
async function verifyUntilReport(fx: FakeBakeEnv, group: Group, pending: string[] = []): Promise<Bake> {
  const bake = await fx.placeIn('image_pending', group);
  assert.is(await step(fx.env, bake), 'moved');
  const launching = await movedTo(fx, bake, 'verifying');
  assert.is(launching.verify_step, 'launching');
  assert.is(await step(fx.env, launching), 'moved');
  const booting = await reread(fx, bake);
  assert.is(booting.verify_step, 'booting');
  assert.is(booting.deadline, launching.deadline, 'the steps of verifying share its deadline');
  assert.is(await step(fx.env, booting), 'moved');
  const next = await reread(fx, bake);
  fx.bootstrap.agent = async (run) => {
    // The agent's waitforcert: it waits for the signature, as a real one does.
    for (let polls = 0; polls < 100 && !fx.ca.signed.includes(run.certname); polls++) await fx.time.sleep(1_000);
    await fx.store.recordVerifyReport(bake.id, noopReport(run.certname, pending));
    return { state: 'ran', exitCode: 0, output: '' };
  };
  if (next.verify_step === 'bootstrapping') assert.is(await step(fx.env, next), 'moved');
  const awaiting = await reread(fx, bake);
  assert.is(awaiting.verify_step, 'awaiting_report');
  return awaiting;
}

Verify('should boot the new image like the bake instance, run the agent there in noop, and distribute the image it found converged', async ({ fx }) => {
  const group = await fx.group({ verify: true, subnet: 'subnet-0abc', security_group: 'sg-0abc' });
  const awaiting = await verifyUntilReport(fx, group);
  const verifier = fx.ec2.instance(awaiting.verify_instance_id!)!;
  assert.is(verifier.imageId, awaiting.image_id, 'launched from the new image');
  const launches = fx.ec2.calls.filter((call) => call.method === 'launch').map((call) => call.args[0] as LaunchSpec);
  const spec = launches.find((launch) => launch.image === awaiting.image_id)!;
  assert.equal([spec.type, spec.subnet, spec.securityGroup, spec.clientToken], ['t3.micro', 'subnet-0abc', 'sg-0abc', `${awaiting.id}-verify`]);
  assert.equal(verifier.tags['autoami:bake'], awaiting.id);
  assert.is(awaiting.verify_certname, `web-${verifier.id}.autoami`);
  const [run] = fx.bootstrap.runs;
  assert.equal([run?.certname, run?.instanceId, run?.noop, run?.challenge], [awaiting.verify_certname, verifier.id, true, secretFor(`${awaiting.id}-verify`)]);
  assert.equal(fx.ca.requests, [{ certname: awaiting.verify_certname, instanceId: verifier.id, hash: challengeHash(secretFor(`${awaiting.id}-verify`)) }]);
  assert.ok(fx.classifier.pins.includes(awaiting.verify_certname!), 'classified as the role, like the bake instance');
  assert.is(await step(fx.env, awaiting), 'moved');
  const distributing = await movedTo(fx, awaiting, 'distributing');
  assert.is(distributing.verify_step, 'verified');
  assert.match(distributing.reason!, /^1 resources changed; verified: a noop run on the new image \(i-[0-9a-f]+\) found nothing to change$/);
  assert.is(distributing.challenge_hash, null, 'nothing is signed for the bake any more');
});

Verify('should refuse an image whose noop run would still change something: the group stays, the image is deregistered, both instances go', async ({ fx }) => {
  const group = await fx.group({ verify: true });
  const awaiting = await verifyUntilReport(fx, group, ['Notify[every run]', 'Exec[apt_update]']);
  assert.is(await step(fx.env, awaiting), 'moved');
  const cleaning = await movedTo(fx, awaiting, 'cleaning');
  assert.is(cleaning.outcome, 'unverified');
  assert.is(cleaning.reason, `2 resources would still change on the new image (${awaiting.verify_instance_id}): Notify[every run], Exec[apt_update]; the group stays on ${BASE_IMAGE}`);
  assert.is(await step(fx.env, await fx.lease(awaiting.id)), 'moved');
  assert.is((await reread(fx, awaiting)).state, 'done');
  assert.equal(fx.ec2.deregistrations, [awaiting.image_id]);
  for (const id of [awaiting.instance_id!, awaiting.verify_instance_id!]) assert.is(fx.ec2.instance(id)?.state, 'terminated', id);
  assert.equal(fx.ca.cleaned.sort(), [awaiting.certname!, awaiting.verify_certname!].sort());
  assert.equal(fx.classifier.unpins.sort(), [awaiting.certname!, awaiting.verify_certname!].sort());
  const after = (await fx.store.getGroup('web'))!;
  assert.equal([after.image, after.catalog_hash], [BASE_IMAGE, null]);
  assert.equal(await fx.store.listImages('web'), [], 'no lineage row for an image the group never moved to');
});

Verify('should keep a refused image tagged autoami:unverified with --keep-failed, still terminating the verification instance', async ({ fx }) => {
  const group = await fx.group({ verify: true, keep_failed: true });
  const awaiting = await verifyUntilReport(fx, group, ['Notify[every run]']);
  await step(fx.env, awaiting);
  await step(fx.env, await fx.lease(awaiting.id));
  const done = await reread(fx, awaiting);
  assert.is(done.state, 'done');
  assert.equal(fx.ec2.deregistrations, []);
  assert.match(fx.ec2.image(awaiting.image_id!)?.tags[UNVERIFIED_TAG] ?? '', /^1 resources would still change on the new image/);
  assert.is(fx.ec2.instance(awaiting.verify_instance_id!)?.state, 'terminated');
});

Verify('should get back the verification instance it launched when the launch step runs again', async ({ fx }) => {
  const group = await fx.group({ verify: true });
  const bake = await fx.placeIn('image_pending', group);
  await step(fx.env, bake);
  const launching = await reread(fx, bake);
  assert.is(await step(fx.env, launching), 'moved');
  const first = (await reread(fx, bake)).verify_instance_id;
  // The same step again, as a sidecar killed before its write would run it: the ClientToken answers.
  assert.is(await step(fx.env, launching), 'moved');
  assert.is((await reread(fx, bake)).verify_instance_id, first);
  assert.equal(fx.ec2.instances().filter((instance) => instance.imageId === bake.image_id).map((instance) => instance.id), [first]);
});

Verify('should hand a user-data verification its own secret and noop, and sign its CSR while awaiting the report', async ({ fx }) => {
  const group = await fx.group({ verify: true, bootstrap: 'userdata' });
  const bake = await fx.placeIn('image_pending', group);
  await step(fx.env, bake);
  await step(fx.env, await reread(fx, bake));
  const booting = await reread(fx, bake);
  assert.is(booting.challenge_hash, challengeHash(secretFor(`${bake.id}-verify`)));
  assert.equal(fx.bootstrap.userDatas.at(-1), { group: 'web', server: 'puppet.example.com', challenge: secretFor(`${bake.id}-verify`), noop: true });
  assert.is(await step(fx.env, booting), 'moved');
  const awaiting = await reread(fx, bake);
  assert.is(awaiting.verify_step, 'awaiting_report');
  assert.is(await step(fx.env, awaiting), 'wait');
  assert.equal(fx.ca.signed, [awaiting.verify_certname]);
});

Verify('should deregister the image of a bake that timed out verifying, and keep the image of one that verified and then failed', async ({ fx }) => {
  const group = await fx.group({ verify: true });
  const stuck = await verifyUntilReport(fx, group);
  // What the engine writes when verifying outlives its deadline.
  await fx.store.transition(stuck.id, OWNER, 'verifying', { state: 'cleaning', outcome: 'timed_out', reason: 'no progress in verifying before its deadline', deadline: fx.at(60_000) });
  assert.is(await step(fx.env, await fx.lease(stuck.id)), 'moved');
  assert.equal(fx.ec2.deregistrations, [stuck.image_id]);

  // Verified, then a region refused the copy: the home image is kept, as for any bake.
  const verified = await verifyUntilReport(fx, group);
  await step(fx.env, verified);
  await fx.store.transition(verified.id, OWNER, 'distributing', { state: 'cleaning', outcome: 'failed', reason: 'eu-west-1: CopyImage refused', deadline: fx.at(60_000) });
  assert.is(await step(fx.env, await fx.lease(verified.id)), 'moved');
  assert.equal(fx.ec2.deregistrations, [stuck.image_id]);
});

const Verdict = suite('verification verdict');

Verdict('should pass a noop run with nothing pending, and one whose only pending changes the group ignores', () => {
  const none = noopReport('web-i-1.autoami');
  assert.is(judgeVerification(none, { ignore_resources: [] }, 'i-1').state, 'verified');
  const ignored = noopReport('web-i-1.autoami', ['Exec[apt_update]', 'Notify[tick 1]']);
  assert.is(judgeVerification(ignored, { ignore_resources: ['Exec[apt_update]', 'Notify[*]'] }, 'i-1').state, 'verified');
  assert.is(judgeVerification(ignored, { ignore_resources: ['Exec[apt_update]'] }, 'i-1').reason, '1 resources would still change on the new image (i-1): Notify[tick 1]');
});

Verdict('should refuse a failed run, and a run that was not in noop but changed something', () => {
  const failed = reportSummary({ host: 'web-i-1.autoami', status: 'failed', noop: true, changed: 0, failed: 1, failed_resources: ['Service[nginx]'] });
  assert.equal(judgeVerification(failed, { ignore_resources: [] }, 'i-1'), {
    state: 'unverified', reason: 'the noop run on the new image (i-1) failed (status failed, 1 failed resources: Service[nginx])',
  });
  const applied = reportSummary({ host: 'web-i-1.autoami', noop: false, changed: 2, changed_resources: ['File[/etc/motd]'] });
  assert.is(judgeVerification(applied, { ignore_resources: [] }, 'i-1').reason, '2 resources would still change on the new image (i-1): File[/etc/motd]');
});

Verify.run();
Verdict.run();
