/**
 * Delivery survives its sidecar: SIGKILL at each step of `distributing`, EC2 having acted but
 * its answer not yet back, then a new sidecar: every region ends with exactly one image of
 * the bake, shared, deprecation-scheduled and protected.
 */
import './support/aws-env.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bake, DistributionStep } from '../runtime/store/store.ts';
import { inState, waitForBake } from './support/bake-harness.ts';
import { COPY_REGIONS, HOME, assertShared, call, deliveredGroup, imageOfBake, startBake } from './support/delivery-rig.ts';
import { closeCrashRig, crashConfig, openCrashRig, until, type CrashRig } from './support/crash-rig.ts';
import type { Ec2Endpoint } from './support/ec2-endpoint.ts';
import { spawnSidecar } from './support/sidecar-process.ts';

type Context = CrashRig;

const REGIONS = [HOME, ...COPY_REGIONS];
const COPY_MS = 400;
/** Far longer than the kill takes, so the sidecar dies while EC2 has acted and the answer is still on its way. */
const HELD_MS = 30_000;

const Crash = suite<Context>('distribution after SIGKILL');

Crash.before((context) => openCrashRig(context, { bootMs: 100, imageMs: 300, copyMs: COPY_MS, terminateMs: 50, terminatedVisibleMs: 3_600_000 }));
Crash.after(closeCrashRig);

/**
 * How each kill point is held: the EC2 call of that step takes effect and its answer is held,
 * or (for `copied`) the copies stay pending. `ready` says the kill may land: the store shows
 * the step and EC2 has seen its call.
 */
interface KillPoint {
  readonly step: DistributionStep;
  readonly hold: (endpoint: Ec2Endpoint) => void;
  readonly ready: (endpoint: Ec2Endpoint, bake: Bake) => boolean;
}

const atStep = (bake: Bake, step: DistributionStep, regions: readonly string[]) => regions.every((region) => bake.distribution[region]?.step === step);

const POINTS: readonly KillPoint[] = [
  {
    step: 'copying',
    hold: (endpoint) => endpoint.faults.set('CopyImage', { replyDelayMs: HELD_MS }),
    ready: (endpoint, bake) => atStep(bake, 'copying', COPY_REGIONS) && endpoint.counts.ok('CopyImage') >= COPY_REGIONS.length,
  },
  {
    step: 'copied',
    // Copies keep the delay they were made with: long enough for the kill, short enough to wait out after it.
    hold: (endpoint) => endpoint.setTiming({ copyMs: 5_000 }),
    ready: (_, bake) => atStep(bake, 'copied', COPY_REGIONS),
  },
  {
    step: 'sharing',
    hold: (endpoint) => endpoint.faults.set('ModifyImageAttribute', { replyDelayMs: HELD_MS }),
    ready: (endpoint, bake) => atStep(bake, 'sharing', REGIONS) && endpoint.counts.ok('ModifyImageAttribute') >= REGIONS.length,
  },
  {
    step: 'deprecating',
    hold: (endpoint) => endpoint.faults.set('EnableImageDeprecation', { replyDelayMs: HELD_MS }),
    ready: (endpoint, bake) => atStep(bake, 'deprecating', REGIONS) && endpoint.counts.ok('EnableImageDeprecation') >= REGIONS.length,
  },
];

for (const point of POINTS) {
  Crash(`should deliver once, with nothing missing, when the sidecar is killed in ${point.step}`, async (context) => {
    const { endpoint, store } = context;
    const { file, socket } = crashConfig(context, HOME);
    endpoint.faults.clear();
    endpoint.counts.reset();
    endpoint.setTiming({ copyMs: COPY_MS });
    const group = `kill-${point.step}`;
    let sidecar = await spawnSidecar(file, socket);
    await call(socket, 'group.create', deliveredGroup(group));
    point.hold(endpoint);
    const bakeId = await startBake(socket, store, group);
    await until(`the bake reaching ${point.step}`, async () => {
      const bake = await store.getBake(bakeId);
      return bake !== undefined && bake.state === 'distributing' && point.ready(endpoint, bake);
    });
    const killed = new Promise((resolve) => sidecar.child.once('exit', resolve));
    sidecar.child.kill('SIGKILL');
    await killed;
    assert.is((await store.getBake(bakeId))?.state, 'distributing', 'the kill came later than planned');
    // EC2 answers again (copies already pending keep their delay), and a new sidecar resumes the bake.
    endpoint.faults.clear();
    endpoint.setTiming({ copyMs: COPY_MS });
    sidecar = await spawnSidecar(file, socket);
    try {
      const done = await waitForBake(store, bakeId, inState('done'));
      assert.is(done.outcome, 'baked', `${done.outcome}: ${done.reason}`);
      const lineage = (await store.listImages(group)).find((image) => image.image_id === done.image_id);
      for (const region of REGIONS) {
        const image = imageOfBake(endpoint, region, bakeId);
        assert.is(image.imageId, region === HOME ? done.image_id : lineage?.copies[region]);
        assertShared(endpoint, region, image);
        assert.ok(image.deprecationTime !== undefined, `${region}: no deprecation scheduled`);
        assert.ok(image.deregistrationProtection.enabled, `${region}: not protected`);
      }
      assert.is((await store.getGroup(group))?.image, done.image_id);
      // The resumed CopyImage got its copy back by its token, not rescued by the name being taken.
      assert.equal(endpoint.counts.of('CopyImage').errors, {}, JSON.stringify(endpoint.counts.of('CopyImage')));
    } finally {
      await sidecar.stop();
    }
  });
}

Crash.run();
