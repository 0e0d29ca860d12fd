/**
 * What the bake step specs (spec/bake-steps-*.test.ts) share: each runs one step in a fake
 * environment, then checks the one transition it wrote, reading the bake back from the store
 * because a step hands back only whether it moved.
 */
import * as assert from 'uvu/assert';
import { challengeHash } from '../../runtime/puppet/challenge.ts';
import type { Bake, BakeState } from '../../runtime/store/store.ts';
import { type FakeBakeEnv, secretFor } from './fake-bake-env.ts';
import { clockTime } from './fake-clock.ts';

export interface StepContext {
  fx: FakeBakeEnv;
}

export async function reread(fx: FakeBakeEnv, bake: Bake): Promise<Bake> {
  const fresh = await fx.store.getBake(bake.id);
  if (!fresh) throw new Error(`bake ${bake.id} is gone`);
  return fresh;
}

/** The step's transition landed in `state`, with that state's deadline counted from now. */
export async function movedTo(fx: FakeBakeEnv, bake: Bake, state: BakeState): Promise<Bake> {
  const fresh = await reread(fx, bake);
  assert.is(fresh.state, state, `${fresh.state}: ${fresh.reason}`);
  if (state !== 'done') assert.is(clockTime(fresh.deadline), fx.time.now() + fx.deadlines.forState(state), `the deadline of ${state}`);
  return fresh;
}

export const hashOf = (bake: Bake) => challengeHash(secretFor(bake.id));
