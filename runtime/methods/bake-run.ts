/**
 * `puppet autoami run`: queue one bake per group (never a second one for a group that is
 * still baking), then, with --wait, report each state change until every bake is done.
 */
import type { CallContext } from '../dispatcher.ts';
import { AutoamiError, ErrorCode, NotFoundError } from '../errors.ts';
import type { ParamsFor } from '../interface/methods.ts';
import type { IdSource } from '../random.ts';
import { sleepUnlessAborted } from '../sleep.ts';
import { madeImage, type Bake, type Group } from '../store/store.ts';
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
const FAILED_OUTCOMES = new Set(['failed', 'failed_run', 'timed_out', 'cleanup_failed', 'published_with_errors']);

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

export function runHandler(env: BakeEnv, engine: BakeEngine, ids: IdSource) {
  return async (params: ParamsFor<'bake.run'>, context: CallContext): Promise<RunResult> => {
    const groups = await selectGroups(env, params.groups);
    const active = new Map((await env.store.listBakes({ active: true })).map((bake) => [bake.group_name, bake]));
    if (params.noop) {
      const rows = groups.map((group) => ({
        group: group.name,
        bake: active.get(group.name)?.id ?? null,
        state: active.has(group.name) ? 'already baking' : 'would launch',
        outcome: null,
        instance_id: null,
        // Nothing is baked under --noop: the source AMI belongs in the reason, not under "new AMI".
        image: null,
        reason: `${group.type} in ${group.region} from ${group.image}, bootstrap ${group.bootstrap}`,
      }));
      return { run_id: null, noop: true, waited: false, failed: false, bakes: rows };
    }
    const runId = ids();
    const earlier = new Set<string>();
    for (const group of groups) {
      const running = active.get(group.name);
      if (running) {
        // Its outcome is this run's answer for the group too: --wait follows it rather than report its state of the moment.
        earlier.add(running.id);
        continue;
      }
      const deadline = env.clock.now() + env.deadlines.forState('queued');
      const check = params.force ? FORCED : null;
      await env.store.createBake({ id: ids(), run_id: runId, group_name: group.name, region: group.region, parent_image: group.image, deadline, check });
    }
    engine.wake();
    const bakes = params.wait ? await follow(env, runId, earlier, context) : await getBakes(env, runId, earlier);
    const rows = bakes.map((bake) => {
      if (!earlier.has(bake.id)) return row(bake);
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
