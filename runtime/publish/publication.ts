/**
 * Runs one publication: every target of one channel gets the image. Each target's step is
 * written before its call, and each call is idempotent (a parameter already holding the
 * image is left alone; a launch template version is made under a ClientToken fixed per
 * publication and template; an instance refresh started since the step was written is
 * found by DescribeInstanceRefreshes before another is started), so a sidecar killed
 * anywhere resumes with no second version and no second refresh.
 *
 * SSM parameters and launch templates go first, in parallel; instance refreshes follow,
 * onto the launch template versions just made. A failed target never undoes the others:
 * the publication ends `published_with_errors`, naming it, and the channel stays where it was.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { Ec2Error } from '../errors.ts';
import { isPassingEc2Failure } from '../ec2/failures.ts';
import type { Logger } from '../log.ts';
import { sleepUnlessAborted, type Sleep } from '../sleep.ts';
import type { Group, Publication, PublicationOutcome, PublicationProgress, Store, TargetProgress, TargetStep } from '../store/store.ts';
import { TAG } from '../tags.ts';
import { REFRESH_ENDS, type RefreshInfo } from './autoscaling.ts';
import { awsCodeOf } from './calls.ts';
import type { PublishSource } from './source.ts';
import { targetKey, targetLabel, targetsOf, type Target } from './targets.ts';

export interface PublishEnv {
  readonly store: Store;
  readonly publish: PublishSource;
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly log: Logger;
  /** How often a refresh or an SSM check is looked at, at first. */
  readonly tickMs: number;
  readonly signal: AbortSignal;
}

export interface PublishRequest {
  readonly publication: Publication;
  readonly group: Group;
  /**
   * `forward` makes a new launch template version from the current default; `rollback`
   * makes default the newest version that already holds the image, and only makes one if none does.
   */
  readonly mode: 'forward' | 'rollback';
  /** Whether the channel's Auto Scaling groups are refreshed. */
  readonly refresh: boolean;
  /** Waits (a refresh, SSM's check) end here, and the target with them. */
  readonly deadline: number;
}

export type PublishResult =
  | { readonly state: PublicationOutcome; readonly reason: string | null }
  | { readonly state: 'lost'; readonly reason: string };

/** SSM checks an aws:ec2:image value after PutParameter answers; this long is plenty. */
const SSM_CHECK_MS = 120_000;
/** A refresh runs for minutes to hours: looking every tick for all of it would be most of the calls. */
const MAX_REFRESH_LOOK_MS = 30_000;
const DENSE_LOOKS_MS = 3 * 60_000;

class Lost extends Error {}

/** A target that will not get there: the publication ends naming it. */
class TargetFailed extends Error {}

const fresh = (step: TargetStep, since: number | null = null): TargetProgress => ({ step, version: null, replaced: null, refresh_id: null, since, detail: null });

interface Item {
  readonly key: string;
  readonly target: Target;
  readonly region: string;
  readonly label: string;
}

function itemsOf(request: PublishRequest): Item[] {
  const { publication, group } = request;
  return targetsOf(group, publication.channel).flatMap((target) => {
    const regions = target.kind === 'ssm_parameter' ? Object.keys(publication.images).sort() : [group.region];
    return regions.map((region) => ({ key: targetKey(target, region), target, region, label: targetLabel(target, region, group.region) }));
  });
}

function firstStep(item: Item, request: PublishRequest): TargetProgress {
  if (item.target.kind === 'ssm_parameter') return fresh('writing');
  if (item.target.kind === 'launch_template') return fresh('versioning');
  return request.refresh ? fresh('starting') : fresh('skipped');
}

/** Writes go one after another, each carrying every target's latest step (as distribution does). */
function recorder(store: Store, id: string, start: PublicationProgress) {
  let current = start;
  let chain: Promise<void> = Promise.resolve();
  return {
    get: () => current,
    record(key: string, next: TargetProgress): Promise<void> {
      chain = chain.then(async () => {
        current = { ...current, [key]: next };
        if (!(await store.setPublicationProgress(id, current))) throw new Lost();
      });
      return chain;
    },
  };
}
type Recorder = ReturnType<typeof recorder>;

/** A version's ClientToken: the same for every attempt of this publication on this template. */
const versionToken = (publicationId: string, key: string): string => createHash('sha256').update(`${publicationId}\n${key}`).digest('hex').slice(0, 64);

async function publishParameter(env: PublishEnv, request: PublishRequest, item: Item, progress: Recorder): Promise<void> {
  const ssm = env.publish.ssm(item.region);
  const name = item.target.value;
  const imageId = request.publication.images[item.region]!;
  let state = progress.get()[item.key]!;
  for (;;) {
    switch (state.step) {
      case 'writing': {
        const now = await ssm.get(name);
        if (now?.value === imageId) {
          state = { ...fresh('confirming', env.clock.now()), version: now.version };
        } else {
          const version = await ssm.putImage(name, imageId, `AutoAMI ${request.group.name}, channel ${request.publication.channel}`, env.signal);
          state = { ...fresh('confirming', env.clock.now()), version };
        }
        await progress.record(item.key, state);
        break;
      }
      case 'confirming': {
        const until = Math.min(request.deadline, (state.since ?? env.clock.now()) + SSM_CHECK_MS);
        for (;;) {
          const now = await ssm.get(name);
          if (now?.value === imageId) break;
          if (env.clock.now() >= until) {
            throw new TargetFailed(`${item.label}: SSM did not take ${imageId} (it checks an aws:ec2:image value after answering: is the image available in ${item.region}?)`);
          }
          await sleepUnlessAborted(env.sleep, closeLook(env), env.signal);
        }
        await ssm.tag(name, { [TAG.group]: request.group.name, [TAG.channel]: request.publication.channel });
        await progress.record(item.key, (state = { ...state, step: 'done' }));
        return;
      }
      default:
        return;
    }
  }
}

async function publishTemplate(env: PublishEnv, request: PublishRequest, item: Item, progress: Recorder): Promise<void> {
  const templates = env.publish.launchTemplates(item.region);
  const imageId = request.publication.images[item.region]!;
  let state = progress.get()[item.key]!;
  for (;;) {
    switch (state.step) {
      case 'versioning': {
        const template = await templates.describe(item.target.value);
        if (!template) throw new TargetFailed(`${item.label}: no such launch template in ${item.region}`);
        const holding = await templates.versionWithImage(template.id, imageId);
        let version: number;
        if (holding !== undefined && (holding === template.defaultVersion || request.mode === 'rollback')) {
          // Already the default, or a rollback back to a version made for this image: no new version.
          version = holding;
        } else {
          const description = `AutoAMI ${request.group.name} ${request.publication.channel}: ${imageId}`;
          version = await templates.createVersion(template.id, template.defaultVersion, imageId, description, versionToken(request.publication.id, item.key));
        }
        state = { ...fresh('defaulting'), version, replaced: template.defaultVersion, detail: template.id };
        await progress.record(item.key, state);
        break;
      }
      case 'defaulting':
        await templates.setDefault(state.detail!, state.version!);
        await progress.record(item.key, (state = { ...state, step: 'done' }));
        return;
      default:
        return;
    }
  }
}

/** The launch template version to refresh onto: the one this publication made default, when the group launches from that template. */
function desiredTemplate(progress: PublicationProgress, launchTemplateId: string | null): { id: string; version: string } | null {
  if (!launchTemplateId) return null;
  const made = Object.entries(progress).find(([key, entry]) => key.startsWith('launch-template:') && entry.step === 'done' && entry.detail === launchTemplateId);
  return made ? { id: launchTemplateId, version: String(made[1].version) } : null;
}

/**
 * Half a tick: these waits are what a publication's length is made of, and each look is one
 * cheap Get or Describe; a bake's waits on EC2 are minutes long and keep the whole tick.
 */
const closeLook = (env: PublishEnv): number => Math.max(1, Math.floor(env.tickMs / 2));

/** Close looks for the first minutes, which small groups finish within; then fewer, as the refresh has shown it is long. */
function lookInterval(env: PublishEnv, startedAt: number): number {
  const elapsed = env.clock.now() - startedAt;
  return elapsed < DENSE_LOOKS_MS ? closeLook(env) : Math.min(MAX_REFRESH_LOOK_MS, Math.max(env.tickMs, Math.floor(elapsed / 20)));
}

async function refreshGroup(env: PublishEnv, request: PublishRequest, item: Item, progress: Recorder): Promise<void> {
  const autoscaling = env.publish.autoscaling(item.region);
  const asg = item.target.value;
  let state = progress.get()[item.key]!;
  for (;;) {
    switch (state.step) {
      case 'starting': {
        // The newest refresh before ours is written down before ours is asked for: a resumed
        // start takes any refresh newer than it for its own rather than start a second.
        const listed = await autoscaling.refreshes(asg);
        if (state.since === null) {
          state = { ...state, since: env.clock.now(), refresh_id: listed[0]?.id ?? null };
          await progress.record(item.key, state);
        }
        const baseline = state.refresh_id === null ? listed.length : listed.findIndex((refresh) => refresh.id === state.refresh_id);
        let id = baseline > 0 ? listed[0]!.id : undefined;
        if (id === undefined) {
          const group = await autoscaling.describeGroup(asg);
          if (!group) throw new TargetFailed(`${item.label}: no such Auto Scaling group in ${item.region}`);
          try {
            id = await autoscaling.startRefresh({
              asg,
              minHealthyPercentage: request.group.min_healthy_percentage,
              skipMatching: !request.group.refresh_replace_all,
              launchTemplate: desiredTemplate(progress.get(), group.launchTemplateId),
            });
          } catch (error) {
            if (/^InstanceRefreshInProgress(Fault)?$/.test(awsCodeOf(error) ?? '')) throw new TargetFailed(`${item.label}: another instance refresh is in progress on it; none was started`);
            throw error;
          }
        }
        state = { ...state, step: 'following', refresh_id: id };
        await progress.record(item.key, state);
        break;
      }
      case 'following': {
        const started = state.since ?? env.clock.now();
        let last: RefreshInfo | undefined;
        for (;;) {
          last = (await autoscaling.refreshes(asg, [state.refresh_id!])).find((refresh) => refresh.id === state.refresh_id);
          if (last && (REFRESH_ENDS as readonly string[]).includes(last.status)) break;
          if (env.clock.now() >= request.deadline) {
            throw new TargetFailed(`${item.label}: instance refresh ${state.refresh_id} is still ${last?.status ?? 'unknown'} at the deadline; it goes on without AutoAMI`);
          }
          await sleepUnlessAborted(env.sleep, lookInterval(env, started), env.signal);
        }
        if (last.status !== 'Successful') {
          await progress.record(item.key, { ...state, step: 'failed', detail: last.status });
          const why = last.reason ? `: ${last.reason}` : '';
          throw new TargetFailed(`${item.label}: instance refresh ${state.refresh_id} ended ${last.status}${why}`);
        }
        await progress.record(item.key, (state = { ...state, step: 'done', detail: last.status }));
        return;
      }
      default:
        return;
    }
  }
}

const RUNNERS = { ssm_parameter: publishParameter, launch_template: publishTemplate, instance_refresh: refreshGroup } as const;

/**
 * One target to its end. What will not pass becomes its failure; a passing one (throttled
 * after every retry, the network) goes up, and the whole publication is tried again later.
 */
async function runItem(env: PublishEnv, request: PublishRequest, item: Item, progress: Recorder): Promise<void> {
  try {
    await RUNNERS[item.target.kind](env, request, item, progress);
  } catch (error) {
    if (error instanceof Lost || env.signal.aborted) throw error;
    if (error instanceof Ec2Error && isPassingEc2Failure(error)) throw error;
    const message = error instanceof TargetFailed ? error.message : `${item.label}: ${(error as Error).message}`;
    const current = progress.get()[item.key]!;
    if (current.step !== 'failed') await progress.record(item.key, { ...current, step: 'failed', detail: message });
    throw new TargetFailed(message);
  }
}

async function runAll(env: PublishEnv, request: PublishRequest, items: Item[], progress: Recorder): Promise<string[]> {
  const outcomes = await Promise.allSettled(items.map((item) => runItem(env, request, item, progress)));
  const errors = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
  const lost = errors.find((error) => error instanceof Lost);
  if (lost) throw lost;
  const other = errors.find((error) => !(error instanceof TargetFailed));
  if (other) throw other;
  return errors.map((error) => (error as TargetFailed).message);
}

function summary(items: Item[], progress: PublicationProgress, failures: string[]): string | null {
  if (failures.length === 0) return null;
  const done = items.filter((item) => progress[item.key]?.step === 'done').map((item) => item.label);
  const kept = done.length > 0 ? `; published all the same: ${done.join(', ')}` : '';
  return `${failures.join('; ')}${kept}`;
}

/**
 * Drives the publication to its end and records the outcome. Throws what should be tried
 * again (a passing AWS failure, the store), and returns `lost` when someone else finished it.
 */
export async function runPublication(env: PublishEnv, request: PublishRequest): Promise<PublishResult> {
  const { publication } = request;
  if (publication.outcome !== null) return { state: publication.outcome, reason: publication.reason };
  const items = itemsOf(request);
  const progress = recorder(env.store, publication.id, publication.progress);
  try {
    // The plan first, so a resumed publication knows every target it owes.
    for (const item of items) if (!publication.progress[item.key]) await progress.record(item.key, firstStep(item, request));
    const first = await runAll(env, request, items.filter((item) => item.target.kind !== 'instance_refresh'), progress);
    const then = await runAll(env, request, items.filter((item) => item.target.kind === 'instance_refresh'), progress);
    const failures = [...first, ...then];
    const outcome: PublicationOutcome = failures.length === 0 ? 'published' : 'published_with_errors';
    const reason = summary(items, progress.get(), failures);
    if (!(await env.store.finishPublication(publication.id, outcome, reason))) {
      const now = await env.store.getPublication(publication.id);
      return now?.outcome ? { state: now.outcome, reason: now.reason } : { state: 'lost', reason: 'the publication was finished elsewhere' };
    }
    env.log.info('published', { group: request.group.name, channel: publication.channel, image: publication.image_id, outcome, targets: items.length });
    return { state: outcome, reason };
  } catch (error) {
    if (error instanceof Lost) return { state: 'lost', reason: 'the publication was finished elsewhere' };
    throw error;
  }
}
