/**
 * Proof by booting (docs/ARCHITECTURE.md §2b). A group with `--verify` launches its new image
 * once more, runs the agent on it in noop against the same server, and lets the group move
 * to the image only when that run would change nothing and failed nowhere. `verifying` is
 * one durable state; its steps (`verify_step`) are each written before their side effect.
 */
import { certnameFor } from '../bootstrap/script.ts';
import { Ec2Error } from '../errors.ts';
import { madeImage, type Bake, type Group, type ReportSummary } from '../store/store.ts';
import { addressOf, launchForAgent, runAgentOverSsh, signWhenReady } from './agent-run.ts';
import type { BakeEnv, StepEnv } from './env.ts';
import { finish, move, type StepResult } from './moves.ts';
import { failureOf } from './judge.ts';
import { listed } from './listing.ts';
import { ignoredBy } from './resource-filter.ts';
import { IMAGE_GONE } from './retention.ts';

/** The tag on an image a verification refused and --keep-failed kept. */
export const UNVERIFIED_TAG = 'autoami:unverified';

/** Its own ClientToken and secret, apart from the bake instance's: a resumed launch gets back this instance. */
const verifyToken = (bake: Bake): string => `${bake.id}-verify`;

export type VerifyVerdict = { readonly state: 'verified'; readonly reason: string } | { readonly state: 'unverified'; readonly reason: string };

/** Resources named in the reason: these are what the operator has to go and fix. */
const NAMED = 10;

/**
 * A converged image has nothing left to change. A run that was not in noop (a group's own
 * bootstrap template may ignore the flag) proves the same only by changing nothing. The
 * group's ignored resources are ignored here too: they never count as a change of the role.
 */
export function judgeVerification(report: ReportSummary, group: Pick<Group, 'ignore_resources'>, instance: string): VerifyVerdict {
  const failure = failureOf(report, NAMED);
  if (failure) return { state: 'unverified', reason: `the noop run on the new image (${instance}) failed ${failure}` };
  const ignored = ignoredBy(group.ignore_resources);
  const pending = (report.noop ? report.pending_resources : report.changed_resources).filter((title) => !ignored(title));
  const unnamed = report.noop ? 0 : Math.max(0, report.changed - report.changed_resources.length);
  if (pending.length + unnamed > 0) {
    return { state: 'unverified', reason: `${pending.length + unnamed} resources would still change on the new image (${instance}): ${listed(pending, NAMED)}` };
  }
  return { state: 'verified', reason: `a noop run on the new image (${instance}) found nothing to change` };
}

async function launch(env: StepEnv, bake: Bake, group: Group): Promise<StepResult> {
  // The image's volumes are what they are: an encrypted image launches encrypted.
  const launched = await launchForAgent(env, bake, group, { image: bake.image_id!, token: verifyToken(bake), purpose: 'verify', noop: true, encryptRoot: null });
  if (launched === 'lost') return 'lost';
  const { instance, expected } = launched;
  const recorded = { state: 'verifying', verify_step: 'booting', verify_instance_id: instance.id, verify_certname: certnameFor(group.name, instance.id) } as const;
  return move(env, bake, expected === undefined ? recorded : { ...recorded, expect_challenge: expected });
}

async function boot(env: StepEnv, bake: Bake, group: Group): Promise<StepResult> {
  const running = await env.waits.around(bake, 'boot', (timing) =>
    env.ec2.get(bake.region).waitForInstance(bake.verify_instance_id!, ['running'], { deadline: bake.deadline, signal: env.signal, ...timing }),
  );
  // Classified like the bake instance, so the noop run compiles the same role.
  await env.classifier.pin(group, bake.verify_certname!);
  if (group.bootstrap === 'userdata') return move(env, bake, { state: 'verifying', verify_step: 'awaiting_report' });
  if (!addressOf(running)) return finish(env, bake, 'unverified', `${running.id} has no address to reach over SSH`);
  return move(env, bake, { state: 'verifying', verify_step: 'bootstrapping' });
}

async function bootstrap(env: StepEnv, bake: Bake, group: Group): Promise<StepResult> {
  const instance = (await env.ec2.get(bake.region).describeInstances([bake.verify_instance_id!])).get(bake.verify_instance_id!);
  if (!instance || instance.state !== 'running') {
    return finish(env, bake, 'unverified', `the verification instance ${bake.verify_instance_id} is ${instance?.state ?? 'gone'}; cannot run the agent on it`);
  }
  const run = await runAgentOverSsh(env, bake, group, addressOf(instance)!, env.secrets(verifyToken(bake)), true);
  if (run.state === 'lost') return 'lost';
  if (run.outcome.state === 'failed') return finish(env, bake, 'unverified', `the noop run on the new image did not happen: ${run.outcome.reason}`);
  return move(env, bake, { state: 'verifying', verify_step: 'awaiting_report' });
}

async function awaitReport(env: StepEnv, bake: Bake, group: Group): Promise<StepResult> {
  if (!bake.verify_report) {
    if (group.bootstrap === 'userdata') await signWhenReady(env, bake);
    return 'wait';
  }
  const verdict = judgeVerification(bake.verify_report, group, bake.verify_instance_id!);
  env.log.info('image verified', { bake: bake.id, image: bake.image_id, state: verdict.state, reason: verdict.reason });
  if (verdict.state === 'unverified') return finish(env, bake, 'unverified', `${verdict.reason}; the group stays on ${bake.parent_image}`);
  return move(env, bake, { state: 'distributing', verify_step: 'verified', reason: `${bake.reason ?? 'baked'}; verified: ${verdict.reason}` });
}

export function verify(env: StepEnv, bake: Bake, group: Group): Promise<StepResult> {
  switch (bake.verify_step) {
    case 'launching':
    case null:
      return launch(env, bake, group);
    case 'booting':
      return boot(env, bake, group);
    case 'bootstrapping':
      return bootstrap(env, bake, group);
    case 'awaiting_report':
      return awaitReport(env, bake, group);
    case 'verified':
      // Written together with the move to distributing: a verifying bake never has it.
      return finish(env, bake, 'failed', `bake ${bake.id} is verifying with its verification already passed`);
  }
}

/**
 * An image whose verification did not pass (refused, or timed out or failed on the way) is
 * nobody's: the group never moved to it. It is deregistered with its snapshots, or, with
 * --keep-failed, kept and tagged for inspection. Both are idempotent for the cleaning retry.
 */
export async function disposeOfUnverified(env: BakeEnv, bake: Bake, group: Group): Promise<void> {
  if (bake.verify_step === null || bake.verify_step === 'verified' || bake.image_id === null || madeImage(bake.outcome)) return;
  const ec2 = env.ec2.get(bake.region);
  if (group.keep_failed) {
    await ec2.tagImage(bake.image_id, { [UNVERIFIED_TAG]: (bake.reason ?? bake.outcome ?? 'unverified').slice(0, 256) });
    env.log.warn('unverified image kept for inspection', { bake: bake.id, image: bake.image_id });
    return;
  }
  try {
    await ec2.deregisterImage(bake.image_id);
    env.log.info('unverified image deregistered', { bake: bake.id, image: bake.image_id });
  } catch (error) {
    if (!(error instanceof Ec2Error && IMAGE_GONE.has(error.awsCode))) throw error;
  }
}
