/**
 * `puppet autoami run`: queue one bake per group (never a second one for a group that is
 * still baking), then, with --wait, report each state change until every bake is done.
 */
import type { CallContext } from '../dispatcher.ts';
import { AutoamiError, ErrorCode, NotFoundError } from '../errors.ts';
import type { ParamsFor } from '../interface/methods.ts';
import type { IdSource } from '../random.ts';
import { sleepUnlessAborted } from '../sleep.ts';
import { madeImage, type Bake, type BaseUpdate, type Group } from '../store/store.ts';
import { baseUpdateFor, describeBaseUpdate, resolveBaseImage } from '../bake/base-image.ts';
import type { BakeEngine } from '../bake/engine.ts';
import type { BakeEnv } from '../bake/env.ts';
import { FORCED } from '../bake/catalog-check.ts';

export interface RunRow {
  group: string;
  bake: string | null;
  state: string;
  outcome: string | null;
  instance_id: string | null;
  image: string | null;
  reason: string | null;
}

export interface RunResult {
  run_id: string | null;
  noop: boolean;
  waited: boolean;
  failed: boolean;
  bakes: RunRow[];
}

// published_with_errors counts: the image was made, but a fleet it was meant for is not on it.
// unverified too: the role does not converge, which whoever changed it needs to hear.
const FAILED_OUTCOMES = new Set(['failed', 'failed_run', 'unverified', 'timed_out', 'cleanup_failed', 'published_with_errors']);

function row(bake: Bake): RunRow {
  return {
    group: bake.group_name,
    bake: bake.id,
    state: bake.state,
    outcome: bake.outcome,
    instance_id: bake.instance_id,
    image: madeImage(bake.outcome) ? bake.image_id : null,
    reason: bake.reason,
  };
}

function progressLine(bake: Bake): string {
  const detail = [bake.instance_id, bake.state === 'done' ? bake.outcome : null, bake.image_id].filter(Boolean).join(' ');
  return `${bake.group_name}: ${bake.state}${detail ? ` (${detail})` : ''}${bake.state === 'done' && bake.reason ? `: ${bake.reason}` : ''}`;
}

async function selectGroups(env: BakeEnv, names: readonly string[]): Promise<Group[]> {
  const all = await env.store.listGroups();
  if (names.length === 0) return all;
  return names.map((name) => {
    const group = all.find((each) => each.name === name);
    if (!group) throw new NotFoundError('group', name, 'groups');
    return group;
  });
}

/**
 * Reports every state change of `ids` until each is done. The bakes do not depend on the
 * call: when the sidecar stops or the client hangs up, following ends and they go on.
 */
async function follow(env: BakeEnv, runId: string, earlier: ReadonlySet<string>, context: CallContext): Promise<Bake[]> {
  const seen = new Map<string, string>();
  for (;;) {
    const bakes = await getBakes(env, runId, earlier);
    for (const bake of bakes) {
      const line = progressLine(bake);
      if (seen.get(bake.id) !== line) context.progress({ line, group: bake.group_name, state: bake.state, outcome: bake.outcome });
      seen.set(bake.id, line);
    }
    if (bakes.every((bake) => bake.state === 'done')) return bakes;
    await sleepUnlessAborted(env.sleep, env.tickMs, context.signal);
    if (context.signal.aborted) {
      throw new AutoamiError(
        ErrorCode.ShuttingDown,
        `the sidecar is stopping, so it stopped following run ${runId}; its bakes go on once a sidecar runs again: \`puppet autoami run --wait\` follows bakes already under way`,
      );
    }
  }
}

/** The run's own bakes in one query, and the few earlier ones it follows by id: a poll of a big run stays one query. */
async function getBakes(env: BakeEnv, runId: string, earlier: ReadonlySet<string>): Promise<Bake[]> {
  const [own, ...others] = await Promise.all([env.store.listBakes({ run_id: runId }), ...[...earlier].map((id) => env.store.getBake(id))]);
  return [...own, ...others.filter((bake): bake is Bake => bake !== undefined)];
}

/** Where a group's next bake starts, and what its base image had to do with that. */
interface Start {
  readonly parent: string;
  readonly update: BaseUpdate | null;
  /** The base the group's image is built on, first learned now: to record, with nothing to bake for. */
  readonly learned: string | null;
  /** What the resolution found, for the run's answer; null for a group that follows no base. */
  readonly note: string | null;
}

/**
 * A group that follows a base image starts from a new one, which is then the bake's reason
 * to bake; from its own image otherwise. A base that does not resolve never stops the run:
 * the bake starts from the group's image, as if it followed none, and says why.
 */
async function startOf(env: BakeEnv, group: Group): Promise<Start> {
  const sources = { ssm: (region: string) => env.publish.ssm(region), ec2: (region: string) => env.ec2.get(region) };
  const resolved = await resolveBaseImage(sources, group);
  if (resolved === null) return { parent: group.image, update: null, learned: null, note: null };
  if (resolved.state === 'unresolved') {
    env.log.warn('base image not resolved; the bake starts from the group image', { group: group.name, source: resolved.source, reason: resolved.reason });
    return { parent: group.image, update: null, learned: null, note: `base image not resolved: ${resolved.reason}` };
  }
  const update = baseUpdateFor(group, resolved);
  if (update) return { parent: update.to, update, learned: null, note: describeBaseUpdate(update) };
  const learned = group.followed_base === null ? resolved.image : null;
  return { parent: group.image, update: null, learned, note: `base image ${resolved.image} from ${resolved.source} is the one its image is built on` };
}

export function runHandler(env: BakeEnv, engine: BakeEngine, ids: IdSource) {
  return async (params: ParamsFor<'bake.run'>, context: CallContext): Promise<RunResult> => {
    const groups = await selectGroups(env, params.groups);
    const active = new Map((await env.store.listBakes({ active: true })).map((bake) => [bake.group_name, bake]));
    // Resolved together: each is a call to AWS, and a run of many groups should not wait on them one by one.
    const starts = new Map(await Promise.all(groups.filter((group) => !active.has(group.name)).map(async (group) => [group.name, await startOf(env, group)] as const)));
    if (params.noop) {
      const rows = groups.map((group) => {
        const start = starts.get(group.name);
        return {
          group: group.name,
          bake: active.get(group.name)?.id ?? null,
          state: active.has(group.name) ? 'already baking' : 'would launch',
          outcome: null,
          instance_id: null,
          // Nothing is baked under --noop: the source AMI belongs in the reason, not under "new AMI".
          image: null,
          reason: `${group.type} in ${group.region} from ${start?.parent ?? group.image}, bootstrap ${group.bootstrap}${start?.note ? `; ${start.note}` : ''}`,
        };
      });
      return { run_id: null, noop: true, waited: false, failed: false, bakes: rows };
    }
    const runId = ids();
    const earlier = new Set<string>();
    const notes = new Map<string, string>();
    for (const group of groups) {
      const running = active.get(group.name);
      if (running) {
        // Its outcome is this run's answer for the group too: --wait follows it rather than report its state of the moment.
        earlier.add(running.id);
        continue;
      }
      const start = starts.get(group.name)!;
      if (start.learned !== null) await env.store.setFollowedBase(group.name, start.learned);
      const deadline = env.clock.now() + env.deadlines.forState('queued');
      const check = params.force ? FORCED : null;
      const id = ids();
      if (start.note !== null) notes.set(id, start.note);
      await env.store.createBake({ id, run_id: runId, group_name: group.name, region: group.region, parent_image: start.parent, deadline, check, base_update: start.update });
    }
    engine.wake();
    const bakes = params.wait ? await follow(env, runId, earlier, context) : await getBakes(env, runId, earlier);
    const rows = bakes.map((bake) => {
      // Until the bake has a reason of its own, what its base resolved to is the news.
      if (!earlier.has(bake.id)) return { ...row(bake), reason: bake.reason ?? notes.get(bake.id) ?? null };
      const already = `already baking in bake ${bake.id} (run ${bake.run_id}); not started twice`;
      return { ...row(bake), reason: bake.state === 'done' ? `${already}; it ended ${bake.outcome}: ${bake.reason ?? '-'}` : already };
    });
    return {
      run_id: runId,
      noop: false,
      waited: Boolean(params.wait),
      // Without --wait an earlier bake's outcome is not this run's news; with it, it is the group's result.
      failed: bakes.some((bake) => (params.wait || !earlier.has(bake.id)) && bake.outcome !== null && FAILED_OUTCOMES.has(bake.outcome)),
      bakes: rows,
    };
  };
}
