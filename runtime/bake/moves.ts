/** How a step ends: the bake's next state, written with its deadline as one conditional transition. */
import type { Bake, BakeState, BakeUpdate } from '../store/store.ts';
import type { BakeEnv } from './env.ts';

export type StepResult = 'moved' | 'wait' | 'lost';

/** States in which the bake's instance may still get its certificate signed. */
const SIGNING_STATES: ReadonlySet<BakeState> = new Set(['launching', 'booting', 'bootstrapping', 'awaiting_report', 'verifying']);

/** A move within one state (a verification's steps) keeps the state's deadline: the state as a whole has it. */
export async function move(env: BakeEnv, bake: Bake, update: Omit<BakeUpdate, 'deadline'>): Promise<StepResult> {
  const deadline = update.state === bake.state ? bake.deadline : env.clock.now() + env.deadlines.forState(update.state);
  // Past signing, an unspent challenge is forgotten: nothing may be signed for this bake any more.
  const forget = SIGNING_STATES.has(update.state) ? {} : { challenge_hash: null };
  const moved = await env.store.transition(bake.id, env.owner, bake.state, { ...update, ...forget, deadline });
  if (moved) env.log.info('bake moved', { bake: bake.id, group: bake.group_name, from: bake.state, to: moved.state, outcome: moved.outcome });
  return moved ? 'moved' : 'lost';
}

export function finish(env: BakeEnv, bake: Bake, outcome: NonNullable<BakeUpdate['outcome']>, reason: string): Promise<StepResult> {
  return move(env, bake, { state: 'cleaning', outcome, reason });
}
