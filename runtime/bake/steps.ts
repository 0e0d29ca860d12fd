/**
 * One step per bake state. Each step does its side effect idempotently and
 * then writes the next state, so a sidecar that dies anywhere resumes with the same step.
 * A step returns 'wait' when it has nothing to do until later (a report, a signature).
 */
import { amiName } from '../ami-name.ts';
import { certnameFor } from '../bootstrap/script.ts';
import { Ec2Error, PuppetApiError } from '../errors.ts';
import { madeImage, type Bake, type CatalogCheck, type Group } from '../store/store.ts';
import { TAG } from '../tags.ts';
import { addressOf, launchForAgent, runAgentOverSsh, signWhenReady } from './agent-run.ts';
import { checkAfterRun, checkCatalog, withBaseUpdate } from './catalog-check.ts';
import { kmsKeyFor } from './delivery.ts';
import { distribute } from './distribute.ts';
import type { BakeEnv, StepEnv } from './env.ts';
import { judge, onNewBase } from './judge.ts';
import { finish, move, type StepResult } from './moves.ts';
import { moveProtection } from './protection.ts';
import { publishLatest } from './publishing.ts';
import { applyRetention } from './retention.ts';
import { disposeOfUnverified, verify } from './verification.ts';

export { finish, type StepResult } from './moves.ts';

/**
 * Cleaning that cannot finish (EC2 or the console keeps failing) must not hold its group
 * forever: the bake ends named, with what is left behind, and the group may bake again.
 */
export function abandonCleanup(env: BakeEnv, bake: Bake, lastFailure: string | undefined): Promise<StepResult> {
  const leftBehind = bake.instance_id ? `; instance ${bake.instance_id} and certificate ${bake.certname ?? '-'} may be left behind` : '';
  const before = `${bake.outcome ?? 'bake'}${bake.reason ? `: ${bake.reason}` : ''}`;
  const why = lastFailure ? ` (last failure: ${lastFailure})` : '';
  return move(env, bake, { state: 'done', outcome: 'cleanup_failed', reason: `cleanup did not finish before its deadline${why}${leftBehind}; the bake had ended ${before}` });
}

const deadlineOf = (bake: Bake) => bake.deadline;

/**
 * Terminates every live instance tagged with this bake but `keep`, the recorded one. A
 * resumed launch adopts its instance through the ClientToken, so normally there are none;
 * this is the net for any other, which nothing else would ever stop. Only once an instance
 * is recorded (booting on): before, an attempt still under way could yet record its own.
 * A bake this process launched in one go has none (runtime/bake/launch-ledger.ts) and is not
 * looked for, unless a verification launched more under the same tag.
 */
async function terminateStrays(env: BakeEnv, bake: Bake, keep: string | null): Promise<void> {
  if (env.launches.isClean(bake.id) && bake.verify_step === null) return;
  const ec2 = env.ec2.get(bake.region);
  const strays = (await ec2.findTagged({ [TAG.bake]: bake.id })).map((instance) => instance.id).filter((id) => id !== keep);
  if (strays.length === 0) return;
  env.log.warn('terminating instances of an interrupted launch', { bake: bake.id, instances: strays });
  await ec2.terminate(strays);
}

/** The bake id is the instance's ClientToken and the source of its secret (see launchForAgent). */
async function launch(env: StepEnv, bake: Bake, group: Group): Promise<StepResult> {
  const first = env.launches.attempt(bake.id);
  const launched = await launchForAgent(env, bake, group, {
    image: bake.parent_image,
    token: bake.id,
    purpose: 'bake',
    noop: false,
    // An encrypted root volume makes the home image encrypted too, with no extra copy to wait for.
    encryptRoot: group.encrypt ? { kmsKeyId: kmsKeyFor(group, bake.region) } : null,
  });
  if (launched === 'lost') {
    env.launches.forget(bake.id);
    return 'lost';
  }
  const { instance, expected } = launched;
  const recorded = { state: 'booting', instance_id: instance.id, certname: certnameFor(group.name, instance.id) } as const;
  const result = await move(env, bake, expected === undefined ? recorded : { ...recorded, expect_challenge: expected });
  if (result === 'moved' && first) env.launches.launched(bake.id);
  return result;
}

async function boot(env: StepEnv, bake: Bake, group: Group): Promise<StepResult> {
  const running = await env.waits.around(bake, 'boot', (timing) =>
    env.ec2.get(bake.region).waitForInstance(bake.instance_id!, ['running'], { deadline: deadlineOf(bake), signal: env.signal, ...timing }),
  );
  await terminateStrays(env, bake, bake.instance_id);
  const pinned = await env.classifier.pin(group, bake.certname!);
  if (pinned.state === 'pinned') env.log.info('pinned', { bake: bake.id, certname: bake.certname, group: group.node_group });
  if (group.bootstrap === 'userdata') return move(env, bake, { state: 'awaiting_report' });
  if (!addressOf(running)) return finish(env, bake, 'failed', `${running.id} has no address to reach over SSH`);
  return move(env, bake, { state: 'bootstrapping' });
}

async function bootstrap(env: StepEnv, bake: Bake, group: Group): Promise<StepResult> {
  const instance = (await env.ec2.get(bake.region).describeInstances([bake.instance_id!])).get(bake.instance_id!);
  if (!instance || instance.state !== 'running') return finish(env, bake, 'failed', `${bake.instance_id} is ${instance?.state ?? 'gone'}; cannot bootstrap it`);
  const run = await runAgentOverSsh(env, bake, group, addressOf(instance)!, env.secrets(bake.id), false);
  if (run.state === 'lost') return 'lost';
  if (run.outcome.state === 'failed') return finish(env, bake, 'failed', run.outcome.reason);
  return move(env, bake, { state: 'awaiting_report' });
}

const NO_CHECK: CatalogCheck = {
  state: 'unchecked', reason: 'the catalog check needs puppet.hostcert, puppet.hostprivkey and puppet.localcacert in autoami.yaml', hash: null, reference: null, diff: null, compile_ms: null,
};

/** The check is recorded before anything is launched, so a resumed bake does not compile again. */
async function checkThenLaunch(env: BakeEnv, bake: Bake, group: Group): Promise<StepResult> {
  let check = bake.check;
  if (check === null) {
    check = withBaseUpdate(env.catalogCheck ? await checkCatalog(env.catalogCheck, group) : NO_CHECK, bake.base_update);
    if (!(await env.store.setCheck(bake.id, env.owner, 'queued', check))) return 'lost';
    env.log.info('catalog checked', { bake: bake.id, group: group.name, state: check.state, reason: check.reason, compile_ms: check.compile_ms });
  }
  if (check.state === 'unchanged') return finish(env, bake, 'unchanged', check.reason);
  return move(env, bake, { state: 'launching' });
}

async function awaitReport(env: BakeEnv, bake: Bake, group: Group): Promise<StepResult> {
  if (!bake.report) {
    if (group.bootstrap === 'userdata') await signWhenReady(env, bake);
    return 'wait';
  }
  if (bake.check?.state === 'unchecked' && bake.check.hash === null && env.catalogCheck && bake.report.status !== 'failed') {
    const learned = await checkAfterRun(env.catalogCheck, group, bake.check, bake.report.configuration_version);
    // Recorded once: a resumed step finds the hash and does not compile again.
    if (learned) return (await env.store.setCheck(bake.id, env.owner, 'awaiting_report', learned)) ? awaitReport(env, { ...bake, check: learned }, group) : 'lost';
  }
  const verdict = onNewBase(judge(bake.report, group), bake.base_update);
  if (verdict.state === 'unchanged') {
    // The image the group is on needed nothing for this catalog: it is that image's reference now.
    if (bake.check?.hash) await env.store.setCatalogHash(group.name, bake.parent_image, bake.check.hash);
    return finish(env, bake, 'unchanged', verdict.reason);
  }
  if (verdict.state === 'failed_run') return finish(env, bake, 'failed_run', verdict.reason);
  // The name is fixed before CreateImage so a retried create finds the same image.
  return move(env, bake, { state: 'imaging', image_name: amiName(group.name, env.clock.now()), reason: verdict.reason });
}

async function image(env: StepEnv, bake: Bake): Promise<StepResult> {
  const version = bake.report?.configuration_version ?? 'unknown';
  const tags: Record<string, string> = {
    [TAG.name]: bake.image_name!,
    [TAG.group]: bake.group_name,
    [TAG.bake]: bake.id,
    [TAG.parentImage]: bake.parent_image,
    [TAG.configVersion]: version,
  };
  const spec = {
    instanceId: bake.instance_id!,
    name: bake.image_name!,
    description: `AutoAMI ${bake.group_name}, Puppet config ${version}`.slice(0, 255),
    noReboot: false,
    tags,
  };
  const imageId = await env.ec2.get(bake.region).createImage(spec, { signal: env.signal });
  return move(env, bake, { state: 'image_pending', image_id: imageId });
}

async function awaitImage(env: StepEnv, bake: Bake, group: Group): Promise<StepResult> {
  try {
    await env.waits.around(bake, 'image', (timing) => env.ec2.get(bake.region).waitForImage(bake.image_id!, { deadline: deadlineOf(bake), signal: env.signal, ...timing }));
  } catch (error) {
    if (error instanceof Ec2Error && error.awsCode !== 'WaitTimeout') {
      return finish(env, bake, 'failed', `${error.message}; the group stays on ${bake.parent_image}`);
    }
    throw error;
  }
  // Verified before anything else sees the image: distributing is where the group moves to it.
  if (group.verify) return move(env, bake, { state: 'verifying', verify_step: 'launching' });
  return move(env, bake, { state: 'distributing' });
}

/**
 * The group has moved to the bake's image (distribute did it with the lineage row):
 * protection moves with it, from the image the bake started from when that was one of ours.
 */
async function protect(env: StepEnv, bake: Bake, group: Group): Promise<StepResult> {
  const lineage = await env.store.listImages(bake.group_name);
  const made = lineage.find((image) => image.image_id === bake.image_id);
  // A group defined on one of its own older images keeps that base as the operator left it.
  const parent = bake.parent_image === group.base_image ? undefined : lineage.find((image) => image.image_id === bake.parent_image);
  await moveProtection(env.ec2, made, parent);
  // Started from a new base, the bake's parent is not the image the group was on: which one
  // that was is not kept, so every other live image of the group is released (releasing an
  // unprotected one changes nothing). Rare, and a handful of images.
  if (bake.base_update) for (const other of lineage) if (other.image_id !== made?.image_id) await moveProtection(env.ec2, undefined, other);
  return move(env, bake, { state: 'publishing' });
}

const FAILURES = new Set(['failed', 'failed_run']);

/**
 * A console that refuses the group's login (a wrong --enc-pass: the pin failed the same way)
 * will refuse it on every retry, and each retry is one more failed login against the
 * account: give the unpin up rather than hold the cleanup forever. Other failures are retried.
 */
async function unpin(env: BakeEnv, bake: Bake, group: Group, certname: string): Promise<void> {
  try {
    await env.classifier.unpin(group, certname);
  } catch (error) {
    if (!(error instanceof PuppetApiError && (error.status === 401 || error.status === 403))) throw error;
    env.log.warn('node left pinned: the console refused the login', { bake: bake.id, certname, error: error.message });
  }
}

async function terminateAndWait(env: StepEnv, bake: Bake, instance: string): Promise<void> {
  const ec2 = env.ec2.get(bake.region);
  try {
    await ec2.terminate([instance]);
    await env.waits.around(bake, 'terminate', (timing) => ec2.waitForInstance(instance, ['terminated'], { deadline: deadlineOf(bake), signal: env.signal, ...timing }));
  } catch (error) {
    // Already gone is as good as terminated; anything else is retried by the driver.
    if (!(error instanceof Ec2Error && error.awsCode === 'InvalidInstanceID.NotFound')) throw error;
  }
}

async function clean(env: StepEnv, bake: Bake, group: Group | undefined): Promise<StepResult> {
  // A bake its catalog check ended went from queued straight here: it never launched anything.
  if (bake.check?.state === 'unchanged' && bake.instance_id === null) return move(env, bake, { state: 'done' });
  await terminateStrays(env, bake, bake.instance_id);
  const keep = group?.keep_failed === true && FAILURES.has(bake.outcome ?? '');
  if (bake.instance_id && keep) env.log.warn('failed instance kept for inspection', { bake: bake.id, instance: bake.instance_id });
  // The verification instance goes whatever the outcome: it only ever ran in noop.
  for (const instance of [keep ? null : bake.instance_id, bake.verify_instance_id]) if (instance) await terminateAndWait(env, bake, instance);
  for (const certname of [keep ? null : bake.certname, bake.verify_certname]) {
    if (!certname) continue;
    if (group) await unpin(env, bake, group, certname);
    await env.ca?.clean(certname);
  }
  if (group) await disposeOfUnverified(env, bake, group);
  if (madeImage(bake.outcome) && group) await applyRetention(env, group);
  const result = await move(env, bake, { state: 'done' });
  env.launches.forget(bake.id);
  return result;
}

/** A step ended by `env.signal` throws WaitAborted and leaves the bake as it was, for whoever resumes it. */
export async function step(env: StepEnv, bake: Bake): Promise<StepResult> {
  const group = await env.store.getGroup(bake.group_name);
  if (bake.state === 'cleaning') return clean(env, bake, group);
  if (!group) return finish(env, bake, 'failed', `group ${bake.group_name} was deleted during the bake`);
  switch (bake.state) {
    case 'queued':
      return checkThenLaunch(env, bake, group);
    case 'launching':
      return launch(env, bake, group);
    case 'booting':
      return boot(env, bake, group);
    case 'bootstrapping':
      return bootstrap(env, bake, group);
    case 'awaiting_report':
      return awaitReport(env, bake, group);
    case 'imaging':
      return image(env, bake);
    case 'image_pending':
      return awaitImage(env, bake, group);
    case 'verifying':
      return verify(env, bake, group);
    case 'distributing':
      return distribute(env, bake, group);
    case 'promoted':
      return protect(env, bake, group);
    case 'publishing':
      return publishLatest(env, bake, group);
    case 'done':
      return 'lost';
  }
}
