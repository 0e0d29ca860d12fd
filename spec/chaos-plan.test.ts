/** The chaos run's fault plan: a pure function of the seed, with the faults the run promises. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_SHAPE, describePlan, makePlan, seedFrom } from './chaos/plan.ts';

const Plan = suite('chaos fault plan');

Plan('should make the same plan from the same seed', () => {
  assert.equal(makePlan(1234), makePlan(1234));
  assert.is(describePlan(makePlan(99)), describePlan(makePlan(99)));
});

Plan('should make another plan from another seed', () => {
  assert.not.equal(makePlan(1234).kills, makePlan(1235).kills);
  assert.is.not(makePlan(1234).endpointSeed, makePlan(1235).endpointSeed);
});

Plan('should plan at least 20 kills of either sidecar, in time order, each restarted', () => {
  for (const seed of [1, 2, 3, 1234, 987654]) {
    const { kills } = makePlan(seed);
    assert.ok(kills.length >= 20, `seed ${seed}: ${kills.length} kills`);
    assert.equal(new Set(kills.map((kill) => kill.target)), new Set([0, 1]), `seed ${seed} kills only one sidecar`);
    for (const [n, kill] of kills.entries()) {
      assert.ok(kill.restartAfterMs > 0, `seed ${seed}: kill ${n} is not restarted`);
      if (n > 0) assert.ok(kill.atMs > kills[n - 1]!.atMs, `seed ${seed}: kill ${n} is out of order`);
    }
  }
});

Plan('should restart MariaDB once while the sidecars are being killed', () => {
  const plan = makePlan(42);
  assert.ok(plan.mariadbRestart.atMs > plan.kills[0]!.atMs && plan.mariadbRestart.atMs < plan.kills.at(-1)!.atMs, JSON.stringify(plan.mariadbRestart));
  assert.ok(plan.mariadbRestart.downMs > 0);
});

Plan('should run every group in exactly one wave', () => {
  const plan = makePlan(7);
  assert.is(plan.groups.length, DEFAULT_SHAPE.groups);
  assert.equal(plan.waves.flatMap((wave) => wave.groups).sort(), [...plan.groups].sort());
  assert.ok(plan.groups.includes(plan.defectGroup));
});

Plan('should take the seed from CHAOS_SEED and refuse one that is not a number', () => {
  assert.is(seedFrom({ CHAOS_SEED: '1234' }), 1234);
  assert.ok(Number.isInteger(seedFrom({})));
  assert.throws(() => seedFrom({ CHAOS_SEED: '12ab' }), /CHAOS_SEED must be a whole number/);
});

Plan.run();
